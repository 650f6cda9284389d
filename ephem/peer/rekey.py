"""Links that outlive the server connection: the twin of assets/ephem/rekey.js.

When the `/ephem` socket drops (ours, or the server restarts) every open link
is kept and marked `stale`: the peer_id it was made for is gone, so it cannot
be signaled until the peer is heard of again. Each connection gets a new
peer_id (contract), and the server announces the room's peers on the new one
(`join` ack, `peer_joined`) with their account ids: a stale, open link to
that account is that peer, re-keyed instead of rebuilt.
"""

from collections.abc import Iterable
from typing import Protocol


class Keyed(Protocol):
    peer_id: str
    account_id: str
    stale: bool

    @property
    def open(self) -> bool: ...


def place(links: Iterable[Keyed], peer: dict) -> tuple[str, Keyed | None]:
    """What to do with `peer` ({peer_id, account_id}), a connection the server
    says is in the room: ("known", link) made for this very connection;
    ("rekey", link) the one stale, open link to the same account; ("new", None)
    when there is none, or several (two tabs of one account were linked to us:
    which is which cannot be told, so neither is guessed)."""
    links = list(links)
    for link in links:
        if link.peer_id == peer["peer_id"]:
            return "known", link
    stale = [link for link in links if link.stale and link.open and link.account_id == peer["account_id"]]
    return ("rekey", stale[0]) if len(stale) == 1 else ("new", None)


def is_polite(mine: str, theirs: str) -> bool:
    """Contract: the smaller peer_id is polite; after a re-key both ends compare their new ids."""
    return mine < theirs
