"""Matchmaking: pair searchers in arrival order.

A searcher may name interests: while it is `strict` it is paired only with
someone sharing one of them; once its worker `relax`es it (after a wait), and
from the start for a searcher with none, it takes anyone who is not strict
either. A newcomer is paired with the longest-waiting searcher sharing an
interest, else with the longest-waiting one open to anyone.

`Matchmaker` is the seam: this in-memory queue serves one process; a Redis
implementation with the same calls serves several.
"""

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Protocol


@dataclass(frozen=True)
class Searcher:
    peer_id: str
    account_id: str
    name: str
    # Accounts never to be matched with: those this one blocked or was blocked by
    # (read at search time, so one side's list covers both directions).
    avoid: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    interests: frozenset[str] = field(default=frozenset(), compare=False)
    # Only someone sharing an interest will do (until relaxed).
    strict: bool = field(default=False, compare=False)

    def public(self) -> dict:
        return {"peer_id": self.peer_id, "account_id": self.account_id, "name": self.name}

    def to_json(self) -> dict:
        return {
            **self.public(),
            "avoid": sorted(self.avoid),
            "interests": sorted(self.interests),
            "strict": self.strict,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Searcher":
        return cls(
            data["peer_id"],
            data["account_id"],
            data["name"],
            frozenset(data.get("avoid", ())),
            frozenset(data.get("interests", ())),
            bool(data.get("strict", False)),
        )


@dataclass(frozen=True)
class Match:
    first: Searcher  # waited longer
    second: Searcher

    @property
    def shared(self) -> list[str]:
        """The interests both named."""
        return sorted(self.first.interests & self.second.interests)


class Matchmaker(Protocol):
    async def enqueue(self, searcher: Searcher) -> Match | None:
        """Pair with the longest-waiting compatible searcher, or start waiting."""

    async def relax(self, peer_id: str) -> Match | None:
        """A waiting searcher's wait for a shared interest is over: from now on
        it takes anyone not strict, starting with the longest waiting."""

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


def suits(waiting: Searcher, newcomer: Searcher) -> int:
    """0: not a pair; 1: a pair, both open to anyone; 2: a pair sharing an interest (preferred)."""
    if not compatible(waiting, newcomer):
        return 0
    if waiting.interests & newcomer.interests:
        return 2
    return 1 if not (waiting.strict or newcomer.strict) else 0


class InMemoryMatchmaker:
    """FIFO queue; every call completes without awaiting, so it is atomic on one event loop."""

    def __init__(self) -> None:
        self._queue: OrderedDict[str, Searcher] = OrderedDict()

    async def enqueue(self, searcher: Searcher) -> Match | None:
        if searcher.peer_id in self._queue:
            return None
        best, fit = None, 0
        for waiting in self._queue.values():
            how = suits(waiting, searcher)
            if how > fit:
                best, fit = waiting, how
                if fit == 2:
                    break
        if best is not None:
            del self._queue[best.peer_id]
            return Match(best, searcher)
        self._queue[searcher.peer_id] = searcher
        return None

    async def relax(self, peer_id: str) -> Match | None:
        searcher = self._queue.get(peer_id)
        if searcher is None:
            return None
        searcher = self._queue[peer_id] = replace(searcher, strict=False)  # keeps its place
        older = True
        for waiting in self._queue.values():
            if waiting is searcher:
                older = False
            elif suits(waiting, searcher):
                del self._queue[waiting.peer_id], self._queue[peer_id]
                return Match(waiting, searcher) if older else Match(searcher, waiting)
        return None

    async def cancel(self, peer_id: str) -> bool:
        return self._queue.pop(peer_id, None) is not None

    async def searching(self) -> int:
        return len(self._queue)

    async def renew(self, peer_ids: list[str]) -> tuple[list[str], list[str]]:
        # One process: a searcher is never lost, only matched or cancelled.
        return [p for p in peer_ids if p not in self._queue], []
