"""The typed rows the pages list: what a view shows of the domain, nothing more."""

import dataclasses


@dataclasses.dataclass
class MemberRow:
    account_id: str
    name: str
    me: bool
    online: bool = False
    # How the browser's link to this member runs, in words ("direct", "via relay
    # server (TURN, UDP)", "reconnecting", …), and its round trip in
    # milliseconds (-1: none; the page says it with the unit in its language).
    conn: str = ""
    rtt_ms: float = -1
    in_call: bool = False
    # The same for tests and styling: "direct", "relay-udp" | "relay-tcp" |
    # "relay-tls" | "relay" (the other side's relay), or "" while not connected.
    path: str = ""
    tone: str = "gray"  # the badge's color
    links: int = 0  # RTCPeerConnections the page has made to this member
    ice_restarts: int = 0  # ICE restarts on the current one
    host: bool = False  # brought together by the match: may remove invitees
    blocked: bool = False  # blocked by me


@dataclasses.dataclass
class IceCheckRow:
    """What the self-test found of one configured STUN or TURN URL."""

    url: str
    kind: str  # "STUN" | "TURN"
    result: str  # "works" | "no answer" | "refused credentials" | "not usable here"
    ok: bool


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
    online_names: str = ""  # their names, comma-separated
