"""Runtime settings, read once from the environment.

Each setting is declared once below, with its variable, default, type and
bound: `EPHEM_<FIELD>` unless it names another. Durations are read in the unit
their variable names and offered to the code as `timedelta` properties.
"""

import functools
import ipaddress
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

ROOT = Path(__file__).resolve().parents[2]


# Local state lives in a hidden folder: Reflex's dev reloader skips those, so
# SQLite's journal files do not restart the backend on every write.
DATA_DIR = ROOT / ".ephem"

# "Seen" is written at most this often per account: reads stay cheap.
SEEN_INTERVAL = timedelta(seconds=60)

# Hosting services hand out `postgres://` and `postgresql://`; SQLAlchemy maps
# the latter to whichever driver its version prefers. Name the one installed.
_POSTGRES_SCHEMES = ("postgres://", "postgresql://")
_POSTGRES_DRIVER = "postgresql+psycopg2://"


def normalize_db_url(url: str) -> str:
    """The URL with the installed PostgreSQL driver named; others unchanged."""
    for scheme in _POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return _POSTGRES_DRIVER + url[len(scheme):]
    return url


def _default_db_url() -> str:
    DATA_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{DATA_DIR / 'ephem.db'}"


def _secret_from_file(path: Path) -> bytes:
    """The key kept in `path`, made once when missing.

    Several backends behind one database must share it, so production sets
    `EPHEM_SECRET`; the file keeps a single machine working out of the box.
    """
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


def _json(value):
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None


def _comma_separated(value):
    return tuple(u.strip() for u in value.split(",") if u.strip()) if isinstance(value, str) else value


def _env(name: str, field: str) -> AliasChoices:
    """Read from `name`, still constructible as `Settings(field=...)`."""
    return AliasChoices(field, name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EPHEM_", env_ignore_empty=True, frozen=True, extra="ignore")

    db_url: str = Field(default_factory=_default_db_url, validation_alias=_env("REFLEX_DB_URL", "db_url"), min_length=1)
    secret_file: Path = DATA_DIR / "secret"
    # The key for token hashes; empty means the one kept in `secret_file`.
    secret: bytes = Field(b"", validate_default=True, min_length=16)
    account_ttl_days: float = Field(30, gt=0)
    session_grace_seconds: float = Field(600, gt=0)
    enclave_ttl_days: float = Field(30, gt=0)
    sweep_interval_seconds: float = Field(60, gt=0)
    sweep_batch: int = Field(500, ge=1)
    max_sessions_per_account: int = Field(20, ge=1)
    invite_ttl_hours: float = Field(24, gt=0)
    # A full mesh of peer connections grows with the square of the members.
    max_members: int = Field(8, ge=2)
    max_signal_bytes: int = Field(64 * 1024, ge=1)
    # Where invite links point; empty means the origin of the page that asked.
    public_url: str = ""
    # STUN/TURN servers handed to browsers; TURN gets short-lived credentials.
    ice_servers: Annotated[tuple[dict, ...], NoDecode, BeforeValidator(_json)] = ()
    turn_urls: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_separated)] = ()
    turn_secret: str = ""
    turn_ttl_seconds: int = Field(3600, ge=1)
    # Several workers share matchmaking, presence and rate limits through Redis
    # when this is set (Reflex's own REFLEX_REDIS_URL); else one process holds them.
    redis_url: str = Field("", validation_alias=_env("REFLEX_REDIS_URL", "redis_url"))
    redis_prefix: str = Field("ephem", min_length=1)
    # A worker renews its connections this often over; a dead worker's lapse after it.
    presence_lease_seconds: float = Field(15, gt=0)
    # Proxies (addresses or CIDRs) whose X-Forwarded-For is believed for the
    # client address that rate limits key on; none by default.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_separated)] = ()
    # Sign-ups per client address: a burst, then this many per second.
    signup_burst: int = Field(10, ge=1)
    signup_rate: float = Field(0.5, gt=0)
    # A searcher naming interests waits this long for someone sharing one, then takes anyone.
    interest_wait_seconds: float = Field(10, ge=0)
    # A call with more cameras on than this sends lower-resolution video.
    call_video_crowd: int = Field(6, ge=1)
    # Files may take the relay rung (sealed, under its byte budget); told to clients in `hello`.
    relay_files: bool = True
    # The largest file clients offer or take, told to them in `hello` (they keep a lower cap of their own).
    file_max_bytes: int = Field(2 * 1024**3, ge=1)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
        return entries

    @field_validator("db_url")
    @classmethod
    def _driver(cls, url: str) -> str:
        url = normalize_db_url(url)
        try:
            make_url(url).get_dialect().import_dbapi()
        except ArgumentError:
            raise ValueError("not a database URL") from None
        except (NoSuchModuleError, ImportError) as exc:
            raise ValueError(f"no driver installed for it ({exc})") from None
        return url

    @field_validator("secret", mode="before")
    @classmethod
    def _secret_default(cls, secret, info: ValidationInfo):
        if secret or "secret_file" not in info.data:
            return secret
        path = info.data["secret_file"]
        try:
            return _secret_from_file(path)
        except OSError as exc:
            raise ValueError(f"unset, and no key could be read or kept in {path} ({exc.strerror})") from None

    @property
    def account_ttl(self) -> timedelta:
        return timedelta(days=self.account_ttl_days)

    @property
    def session_grace(self) -> timedelta:
        return timedelta(seconds=self.session_grace_seconds)

    @property
    def enclave_ttl(self) -> timedelta:
        return timedelta(days=self.enclave_ttl_days)

    @property
    def sweep_interval(self) -> timedelta:
        return timedelta(seconds=self.sweep_interval_seconds)

    @property
    def invite_ttl(self) -> timedelta:
        return timedelta(hours=self.invite_ttl_hours)

    @property
    def turn_ttl(self) -> timedelta:
        return timedelta(seconds=self.turn_ttl_seconds)

    @property
    def presence_lease(self) -> float:
        return self.presence_lease_seconds

    @property
    def seen_interval(self) -> timedelta:
        # Written well within the shortest lifetime it protects, or short
        # settings (tests, demos) would sweep what is in use.
        seen = min(SEEN_INTERVAL, self.session_grace / 3, self.enclave_ttl / 3)
        return max(seen, timedelta(seconds=1))


def variable(field: str) -> str:
    """The environment variable a field is read from."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[-1])
    return f"{Settings.model_config['env_prefix']}{field.upper()}"


def describe(error: ValidationError) -> str:
    """One line naming each variable that is wrong, and why."""
    problems = []
    for item in error.errors():
        where = str(item["loc"][0]) if item["loc"] else ""
        problems.append(f"{variable(where) if where in Settings.model_fields else where}: {item['msg']}")
    return "invalid configuration: " + "; ".join(problems)


@functools.cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        # Start-up stops here: one line for the operator, not a traceback.
        raise SystemExit(f"ephem: {describe(exc)}") from None
    except SettingsError as exc:
        raise SystemExit(f"ephem: invalid configuration: {exc}") from None
