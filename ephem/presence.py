"""Who is connected, and to which enclaves: in memory, per process."""

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Peer:
    peer_id: str
    account_id: str
    name: str
    sid: str
    enclaves: set[str] = field(default_factory=set)

    def public(self) -> dict:
        return {"peer_id": self.peer_id, "account_id": self.account_id, "name": self.name}


class Presence:
    def __init__(self) -> None:
        self._peers: dict[str, Peer] = {}
        self._by_enclave: dict[str, set[str]] = defaultdict(set)
        self._by_account: dict[str, set[str]] = defaultdict(set)

    def connect(self, peer: Peer) -> None:
        self._peers[peer.peer_id] = peer
        self._by_account[peer.account_id].add(peer.peer_id)

    def disconnect(self, peer_id: str) -> Peer | None:
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return None
        for enclave_id in peer.enclaves:
            self._discard(self._by_enclave, enclave_id, peer_id)
        self._discard(self._by_account, peer.account_id, peer_id)
        return peer

    def get(self, peer_id: str) -> Peer | None:
        return self._peers.get(peer_id)

    def join(self, enclave_id: str, peer: Peer) -> None:
        peer.enclaves.add(enclave_id)
        self._by_enclave[enclave_id].add(peer.peer_id)

    def leave(self, enclave_id: str, peer: Peer) -> bool:
        if enclave_id not in peer.enclaves:
            return False
        peer.enclaves.discard(enclave_id)
        self._discard(self._by_enclave, enclave_id, peer.peer_id)
        return True

    def peers_in(self, enclave_id: str) -> list[Peer]:
        return [self._peers[p] for p in sorted(self._by_enclave.get(enclave_id, ()))]

    def peers_of(self, account_id: str) -> list[Peer]:
        return [self._peers[p] for p in self._by_account.get(account_id, ())]

    def online(self, account_ids) -> set[str]:
        return {a for a in account_ids if self._by_account.get(a)}

    def online_accounts(self) -> int:
        return len(self._by_account)

    @staticmethod
    def _discard(index: dict[str, set[str]], key: str, peer_id: str) -> None:
        members = index.get(key)
        if members is not None:
            members.discard(peer_id)
            if not members:
                del index[key]
