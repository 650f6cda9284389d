"""Files peer to peer, the rules without a transport: the twin of assets/ephem/file_transfer.js.

Both are held to tests/vectors/files.json: what an offer may say, what a
received name becomes, which bytes make a picture, and the receiving side of
one transfer (chunks counted in order, a size that lies refused, the SHA-256
checked at the end, the chunk to resume from). `unique_path` is the Python
peer's own: where a received file is saved, never over another.
"""

import hashlib
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

CHUNK = 64 * 1024  # bytes per chunk we send (one DataChannel message)
MIN_CHUNK = 1024
MAX_CHUNK = 256 * 1024  # Chromium's and aiortc's max-message-size
MAX_BYTES = 2 * 1024**3  # hard cap per file, unless configured otherwise
ASK_ABOVE = 25 * 1024**2  # files above this wait for the receiver to accept
ACK_EVERY = 8  # the receiver acks every this many chunks (and the last)
MAX_NAME = 120
MAX_MIME = 100
LABEL = "file:"
_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_DROP = re.compile("[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LABEL = re.compile(r"^file:([A-Za-z0-9-]{8,64}):(\d{1,10})$")


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def sanitize_name(raw: object) -> str:
    """The last path component, without control or bidi-override characters, reserved
    characters or leading dots, at most MAX_NAME characters with the extension kept."""
    name = raw if isinstance(raw, str) else ""
    name = re.split(r"[/\\]", name)[-1]
    name = _DROP.sub("", name)
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = re.sub(r"[.\s]+$", "", re.sub(r"^[.\s]+", "", name.strip()))
    if _RESERVED.match(name):
        name = f"_{name}"
    if len(name) > MAX_NAME:
        dot = name.rfind(".")
        ext = name[dot:] if dot > 0 else ""
        keep = ext if 0 < len(ext) <= 16 else ""
        name = name[: MAX_NAME - len(keep)] + keep
    return name or "file"


def is_count(n: object) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 2**53 - 1


@dataclass(frozen=True)
class Offer:
    id: str
    name: str
    size: int
    mime: str
    sha256: str
    chunk: int

    def payload(self) -> dict:
        return {"id": self.id, "name": self.name, "size": self.size, "mime": self.mime, "sha256": self.sha256, "chunk": self.chunk}


def check_offer(payload: object, max_bytes: int = MAX_BYTES) -> Offer:
    """The offer, its name sanitised, or Refused (what the receiver answers with `file_cancel`)."""
    p = payload if isinstance(payload, dict) else {}
    if not isinstance(p.get("id"), str) or not _ID.match(p["id"]):
        raise Refused("invalid_offer", "The file offer has no valid id.")
    if not is_count(p.get("size")):
        raise Refused("invalid_offer", "The file offer has no valid size.")
    chunk = p.get("chunk")
    if not is_count(chunk) or not MIN_CHUNK <= chunk <= MAX_CHUNK:
        raise Refused("invalid_offer", "The file offer has no valid chunk size.")
    if not isinstance(p.get("sha256"), str) or not _HEX64.match(p["sha256"]):
        raise Refused("invalid_offer", "The file offer has no valid SHA-256.")
    if p["size"] > max_bytes:
        raise Refused("too_large", f"Files are limited to {format_bytes(max_bytes)}.")
    mime = p.get("mime") if isinstance(p.get("mime"), str) and len(p["mime"]) <= MAX_MIME else ""
    return Offer(p["id"], sanitize_name(p.get("name")), p["size"], mime, p["sha256"], chunk)


def chunk_count(size: int, chunk: int) -> int:
    return math.ceil(size / chunk)


def picture_type(head: bytes) -> str:
    """The picture type the first bytes prove, or "" (never SVG: it can carry scripts)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    return ""


def safe_type(head: bytes) -> str:
    return picture_type(head) or "application/octet-stream"


class Incoming:
    """The receiving side of one transfer; chunks in order, resent ones skipped."""

    def __init__(self, offer: Offer):
        self.offer = offer
        self.total = chunk_count(offer.size, offer.chunk)
        self.count = 0
        self.bytes = 0
        self.acked = 0
        self.hash = hashlib.sha256()
        self.head = b""

    @property
    def complete(self) -> bool:
        return self.count == self.total

    def take(self, index: int, data: bytes) -> bool:
        """True for fresh bytes (to keep), False for a chunk resent after a resume; Refused otherwise."""
        if index < self.count:
            return False
        if index > self.count:
            raise Refused("out_of_order", "A part of the file went missing.")
        expected = min(self.offer.chunk, self.offer.size - self.bytes)
        if index >= self.total or len(data) != expected:
            raise Refused("size_mismatch", "The file is not the size it was offered as.")
        self.hash.update(data)
        if len(self.head) < 16:
            self.head = bytes(data[:16])
        self.count += 1
        self.bytes += len(data)
        return True

    def ack_due(self) -> int | None:
        if self.count == self.acked or (self.count - self.acked < ACK_EVERY and not self.complete):
            return None
        self.acked = self.count
        return self.count

    def verify(self) -> str:
        """The safe type once complete and whole; Refused otherwise."""
        if not self.complete:
            raise Refused("size_mismatch", "The file is not the size it was offered as.")
        if self.hash.hexdigest() != self.offer.sha256:
            raise Refused("corrupt", "The file arrived damaged (its SHA-256 differs).")
        return safe_type(self.head)


class Meter:
    """Speed over the last few seconds, and the time left at that speed."""

    def __init__(self, window: float = 3.0):
        self.window = window
        self.samples: list[tuple[float, int]] = []

    def sample(self, done: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.pop(0)

    @property
    def speed(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def eta(self, remaining: int) -> float | None:
        return remaining / self.speed if self.speed > 0 else None


def format_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, 0
    units = ["KB", "MB", "GB", "TB"]
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    shown = round(value) if value >= 10 else round(value * 10) / 10
    return f"{shown:g} {units[unit]}"


def format_duration(seconds: float | None) -> str:
    """Time left as the browser's cards say it ("" while unknown)."""
    if seconds is None or seconds != seconds or seconds in (float("inf"), float("-inf")):
        return ""
    s = max(0, math.ceil(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {(s % 3600) // 60} min"


def channel_label(transfer_id: str, first: int) -> str:
    return f"{LABEL}{transfer_id}:{first}"


def parse_label(label: str) -> tuple[str, int] | None:
    match = _LABEL.match(label or "")
    return (match.group(1), int(match.group(2))) if match else None


def unique_path(folder: Path, name: str) -> Path:
    """`folder/name` (name sanitised again), or `name (2).ext` and so on: never over a file,
    never outside `folder`."""
    safe = sanitize_name(name)
    stem, dot, ext = safe.rpartition(".")
    if not stem:
        stem, dot, ext = safe, "", ""
    candidate, n = folder / safe, 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{stem} ({n}){dot}{ext}"
    if candidate.resolve().parent != folder.resolve():
        raise Refused("bad_name", "The file name points outside the downloads folder.")
    return candidate
