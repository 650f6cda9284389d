"""The typed rows the pages list: what a view shows of the domain, nothing more."""

import dataclasses


@dataclasses.dataclass
class MemberRow:
    account_id: str
    name: str
    me: bool
    online: bool = False
    # How the browser's link to this member runs ("direct", "relayed", …), and its round trip.
    conn: str = ""
    rtt: str = ""
    in_call: bool = False
    host: bool = False  # brought together by the match: may remove invitees
    blocked: bool = False  # blocked by me


@dataclasses.dataclass
class BlockRow:
    account_id: str
    name: str
    created_at: str


@dataclasses.dataclass
class LogLine:
    """A system line of the enclave's log; `who` is user text, isolated for bidi on render."""

    id: str
    who: str
    what: str
    ts: str


@dataclasses.dataclass
class EnclaveRow:
    id: str
    name: str
    members: str  # the names, comma-separated
    count: int
    online: int  # the others online now
    last_active_at: str
    expires_at: str
