"""The DataChannel envelope of the contract: `{v: 1, type, id, ts, from, payload}`.

Shared by every client written in Python; assets/ephem/envelope.js applies the
same rules (tests/vectors/ holds the cases both pass). Malformed frames are
dropped (None); unknown types pass through for the caller to ignore.
"""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from ephem.core.clock import iso, utcnow

MAX_TEXT = 4000  # characters in one chat message
MAX_FRAME = 64 * 1024  # characters in one frame, either way


@dataclass(frozen=True)
class Envelope:
    type: str
    id: str
    ts: str
    sender: str  # `from` on the wire
    payload: dict[str, Any]

    def frame(self) -> str:
        return json.dumps(
            {"v": 1, "type": self.type, "id": self.id, "ts": self.ts, "from": self.sender, "payload": self.payload},
            ensure_ascii=False,
            separators=(",", ":"),
        )


def make(type_: str, sender: str, payload: dict[str, Any]) -> Envelope:
    return Envelope(type_, str(uuid.uuid4()), iso(utcnow()), sender, payload)


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")  # json.loads would take NaN and Infinity


def parse(raw: object) -> Envelope | None:
    if not isinstance(raw, str) or len(raw) > MAX_FRAME:
        return None
    try:
        data = json.loads(raw, parse_constant=_not_json)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != 1 or isinstance(data.get("v"), bool):  # True == 1
        return None
    kind, ident, ts, sender, payload = (data.get(k) for k in ("type", "id", "ts", "from", "payload"))
    if not all(isinstance(v, str) for v in (kind, ident, ts, sender)) or not isinstance(payload, dict):
        return None
    if kind == "chat" and (not isinstance(payload.get("text"), str) or len(payload["text"]) > MAX_TEXT):
        return None
    if kind == "ack" and not isinstance(payload.get("of"), str):
        return None
    if kind == "hello" and not isinstance(payload.get("name"), str):
        return None
    if kind in ("typing", "call") and not isinstance(payload.get("active"), bool):
        return None
    return Envelope(kind, ident, ts, sender, payload)
