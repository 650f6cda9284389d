"""Matchmaking: pair searchers in arrival order.

`Matchmaker` is the seam: this in-memory queue serves one process; a Redis
implementation with the same three calls serves several.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Searcher:
    peer_id: str
    account_id: str
    name: str
    # Accounts never to be matched with: those this one blocked or was blocked by
    # (read at search time, so one side's list covers both directions).
    avoid: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def public(self) -> dict:
        return {"peer_id": self.peer_id, "account_id": self.account_id, "name": self.name}


@dataclass(frozen=True)
class Match:
    first: Searcher  # waited longer
    second: Searcher


class Matchmaker(Protocol):
    async def enqueue(self, searcher: Searcher) -> Match | None:
        """Pair with the longest-waiting compatible searcher, or start waiting."""

    async def cancel(self, peer_id: str) -> bool:
        """Stop waiting; False when the peer was not waiting."""

    async def searching(self) -> int:
        """How many are waiting now."""

    async def renew(self, peer_ids: list[str]) -> tuple[list[str], list[str]]:
        """Keep this worker's searchers waiting. Returns (gone, lost): those no
        longer waiting (matched, by any worker, or lost), and of them those that
        were lost (e.g. Redis restarted), for their worker to enqueue again."""


def compatible(a: Searcher, b: Searcher) -> bool:
    # Never oneself, never another tab or device of one's own account, never a blocked pair.
    return (
        a.peer_id != b.peer_id
        and a.account_id != b.account_id
        and a.account_id not in b.avoid
        and b.account_id not in a.avoid
    )


class InMemoryMatchmaker:
    """FIFO queue; every call completes without awaiting, so it is atomic on one event loop."""

    def __init__(self) -> None:
        self._queue: OrderedDict[str, Searcher] = OrderedDict()

    async def enqueue(self, searcher: Searcher) -> Match | None:
        if searcher.peer_id in self._queue:
            return None
        for waiting in self._queue.values():
            if compatible(waiting, searcher):
                del self._queue[waiting.peer_id]
                return Match(waiting, searcher)
        self._queue[searcher.peer_id] = searcher
        return None

    async def cancel(self, peer_id: str) -> bool:
        return self._queue.pop(peer_id, None) is not None

    async def searching(self) -> int:
        return len(self._queue)

    async def renew(self, peer_ids: list[str]) -> tuple[list[str], list[str]]:
        # One process: a searcher is never lost, only matched or cancelled.
        return [p for p in peer_ids if p not in self._queue], []
