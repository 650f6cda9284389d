"""Who is connected, and to which enclave rooms.

`Presence` is the seam: `InMemoryPresence` serves one process,
`RedisPresence` (ephem.live.presence_redis) several. Connections are the hub's
own; what is shared is a `PeerInfo` per connection, renewed by the worker
that holds it so that a dead worker's connections lapse.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PeerInfo:
    peer_id: str
    account_id: str
    name: str
    sid: str

    def public(self) -> dict:
        return {"peer_id": self.peer_id, "account_id": self.account_id, "name": self.name}


@dataclass(slots=True)
class Peer:
    """A connection held by this worker, with the rooms it has joined (slots:
    one per connection, thousands per worker)."""

    peer_id: str
    account_id: str
    name: str
    sid: str
    enclaves: set[str] = field(default_factory=set)
    lang: str = "en"  # what its answers are said in (ephem.signaling.language)

    def info(self) -> PeerInfo:
        return PeerInfo(self.peer_id, self.account_id, self.name, self.sid)

    def public(self) -> dict:
        return self.info().public()


@dataclass(frozen=True)
class Departure:
    """A connection that is gone: who it was and which rooms it was in."""

    info: PeerInfo
    enclaves: tuple[str, ...]


class Presence(Protocol):
    async def connect(self, peer: Peer) -> None: ...
    async def disconnect(self, peer_id: str) -> Departure | None: ...
    async def join(self, enclave_id: str, peer: Peer) -> list[PeerInfo]:
        """Enter the room; returns who was there before, atomically, so of two
        peers joining at once exactly one sees the other (and offers to it)."""
    async def leave(self, enclave_id: str, peer_id: str) -> bool: ...
    async def get(self, peer_id: str) -> PeerInfo | None: ...
    async def in_room(self, enclave_id: str, peer_id: str) -> bool: ...
    async def peers_in(self, enclave_id: str) -> list[PeerInfo]: ...
    async def peers_of(self, account_id: str) -> list[PeerInfo]: ...
    async def online(self, account_ids) -> set[str]: ...
    async def online_accounts(self) -> int: ...

    async def renew(self, peers: list[Peer]) -> list[Peer]:
        """Keep these connections alive; returns those the store had lost."""

    async def lapsed(self) -> list[Departure]:
        """Connections whose worker stopped renewing them, now removed."""


class InMemoryPresence:
    def __init__(self) -> None:
        self._peers: dict[str, PeerInfo] = {}
        self._rooms: dict[str, set[str]] = defaultdict(set)
        self._rooms_of: dict[str, set[str]] = defaultdict(set)
        self._by_account: dict[str, set[str]] = defaultdict(set)

    async def connect(self, peer: Peer) -> None:
        self._peers[peer.peer_id] = peer.info()
        self._by_account[peer.account_id].add(peer.peer_id)

    async def disconnect(self, peer_id: str) -> Departure | None:
        info = self._peers.pop(peer_id, None)
        if info is None:
            return None
        rooms = tuple(sorted(self._rooms_of.pop(peer_id, set())))
        for enclave_id in rooms:
            _discard(self._rooms, enclave_id, peer_id)
        _discard(self._by_account, info.account_id, peer_id)
        return Departure(info, rooms)

    async def join(self, enclave_id: str, peer: Peer) -> list[PeerInfo]:
        before = [info for info in await self.peers_in(enclave_id) if info.peer_id != peer.peer_id]
        self._rooms[enclave_id].add(peer.peer_id)
        self._rooms_of[peer.peer_id].add(enclave_id)
        return before

    async def leave(self, enclave_id: str, peer_id: str) -> bool:
        if peer_id not in self._rooms.get(enclave_id, ()):
            return False
        _discard(self._rooms, enclave_id, peer_id)
        _discard(self._rooms_of, peer_id, enclave_id)
        return True

    async def get(self, peer_id: str) -> PeerInfo | None:
        return self._peers.get(peer_id)

    async def in_room(self, enclave_id: str, peer_id: str) -> bool:
        return peer_id in self._rooms.get(enclave_id, ())

    async def peers_in(self, enclave_id: str) -> list[PeerInfo]:
        return [self._peers[p] for p in sorted(self._rooms.get(enclave_id, ())) if p in self._peers]

    async def peers_of(self, account_id: str) -> list[PeerInfo]:
        return [self._peers[p] for p in sorted(self._by_account.get(account_id, ())) if p in self._peers]

    async def online(self, account_ids) -> set[str]:
        return {a for a in account_ids if self._by_account.get(a)}

    async def online_accounts(self) -> int:
        return len(self._by_account)

    async def renew(self, peers: list[Peer]) -> list[Peer]:
        return []  # one process: nothing can lapse or be lost

    async def lapsed(self) -> list[Departure]:
        return []


def _discard(index: dict[str, set[str]], key: str, value: str) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(value)
        if not members:
            del index[key]
