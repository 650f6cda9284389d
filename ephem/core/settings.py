"""Runtime settings, read once from the environment.

`REFLEX_DB_URL` picks the database (SQLite file by default, PostgreSQL by URL);
the `EPHEM_*` variables are the contract's knobs.
"""

import dataclasses
import functools
import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# Local state lives in a hidden folder: Reflex's dev reloader skips those, so
# SQLite's journal files do not restart the backend on every write.
DATA_DIR = ROOT / ".ephem"


def default_db_url() -> str:
    if url := os.environ.get("REFLEX_DB_URL"):
        return url
    DATA_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{DATA_DIR / 'ephem.db'}"


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = float(raw)
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw!r}")
    return value


def _secret() -> bytes:
    """The key for token hashes: `EPHEM_SECRET`, else a file made once.

    Several backends behind one database must share it, so production sets
    `EPHEM_SECRET`; the file keeps a single machine working out of the box.
    """
    if value := os.environ.get("EPHEM_SECRET"):
        return value.encode()
    path = Path(os.environ.get("EPHEM_SECRET_FILE") or DATA_DIR / "secret")
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = secrets.token_hex(32).encode()
        try:
            # O_EXCL: of two workers starting at once, one writes, both read it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as out:
            out.write(fresh)
        return fresh


@dataclass(frozen=True)
class Settings:
    db_url: str
    secret: bytes
    account_ttl: timedelta = timedelta(days=30)
    session_grace: timedelta = timedelta(seconds=600)
    enclave_ttl: timedelta = timedelta(days=30)
    # "Seen" is written at most this often per account: reads stay cheap.
    seen_interval: timedelta = timedelta(seconds=60)
    sweep_interval: timedelta = timedelta(seconds=60)
    sweep_batch: int = 500
    max_sessions_per_account: int = 20
    invite_ttl: timedelta = timedelta(hours=24)
    # A full mesh of peer connections grows with the square of the members.
    max_members: int = 8
    max_signal_bytes: int = 64 * 1024
    # Where invite links point; empty means the origin of the page that asked.
    public_url: str = ""
    # STUN/TURN servers handed to browsers; TURN gets short-lived credentials.
    ice_servers: tuple = ()
    turn_urls: tuple = ()
    turn_secret: str = ""
    turn_ttl: timedelta = timedelta(hours=1)
    # Several workers share matchmaking, presence and rate limits through Redis
    # when this is set (Reflex's own REFLEX_REDIS_URL); else one process holds them.
    redis_url: str = ""
    redis_prefix: str = "ephem"
    # A worker renews its connections this often over; a dead worker's lapse after it.
    presence_lease: float = 15.0
    # Sign-ups per client address: a burst, then this many per second.
    signup_burst: int = 10
    signup_rate: float = 0.5
    # A call with more cameras on than this sends lower-resolution video.
    call_video_crowd: int = 6


@functools.cache
def get_settings() -> Settings:
    settings = Settings(
        db_url=default_db_url(),
        secret=_secret(),
        account_ttl=timedelta(days=_number("EPHEM_ACCOUNT_TTL_DAYS", 30)),
        session_grace=timedelta(seconds=_number("EPHEM_SESSION_GRACE_SECONDS", 600)),
        enclave_ttl=timedelta(days=_number("EPHEM_ENCLAVE_TTL_DAYS", 30)),
        sweep_interval=timedelta(seconds=_number("EPHEM_SWEEP_INTERVAL_SECONDS", 60)),
        invite_ttl=timedelta(hours=_number("EPHEM_INVITE_TTL_HOURS", 24)),
        max_members=int(_number("EPHEM_MAX_MEMBERS", 8)),
        max_signal_bytes=int(_number("EPHEM_MAX_SIGNAL_BYTES", 64 * 1024)),
        public_url=os.environ.get("EPHEM_PUBLIC_URL", ""),
        ice_servers=tuple(json.loads(os.environ.get("EPHEM_ICE_SERVERS") or "[]")),
        turn_urls=tuple(u for u in os.environ.get("EPHEM_TURN_URLS", "").split(",") if u),
        turn_secret=os.environ.get("EPHEM_TURN_SECRET", ""),
        redis_url=os.environ.get("REFLEX_REDIS_URL", ""),
        redis_prefix=os.environ.get("EPHEM_REDIS_PREFIX", "ephem"),
        presence_lease=_number("EPHEM_PRESENCE_LEASE_SECONDS", 15),
        signup_burst=int(_number("EPHEM_SIGNUP_BURST", 10)),
        signup_rate=_number("EPHEM_SIGNUP_RATE", 0.5),
        call_video_crowd=int(_number("EPHEM_CALL_VIDEO_CROWD", 6)),
    )
    # "Seen" must be written well within the shortest lifetime it protects, or
    # short settings (tests, demos) would sweep what is in use.
    seen = min(settings.seen_interval, settings.session_grace / 3, settings.enclave_ttl / 3)
    return dataclasses.replace(settings, seen_interval=max(seen, timedelta(seconds=1)))
