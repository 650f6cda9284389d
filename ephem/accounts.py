"""Anonymous accounts: a display name, a session token per device, one recovery token.

Plain Python over SQLModel; the web layers call this and nothing else.
"""

import heapq
import threading
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from ephem.core.clock import Clock, utcnow
from ephem.core.db import session_scope
from ephem.errors import Banned, InvalidName, InvalidToken
from ephem.i18n import N_, NP_
from ephem.models import Account, Block, Invite, Membership, SessionToken
from ephem.core.settings import Settings
from ephem.core.tokens import TokenHasher, new_token

NAME_MAX = 32
SESSION = "session"
RECOVERY = "recovery"
BANNED = N_("This account is banned.")
# How long a connect may trust a session looked up by an earlier one: short,
# and a sign-out, a session trimmed by a restore, or a deleted account drops
# its entries at once (on every worker, see `Revocations`).
SESSION_CACHE_SECONDS = 30.0

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was
# rolled back whole and is safe to run again.
_RETRYABLE = {"40P01", "40001"}

# Format characters that reorder text (bidi overrides, isolates and marks)
# would let a name disguise itself or the text around it, and other format
# characters are invisible (a "Bob" with a zero-width space is not Bob); the
# joiners (ZWNJ, ZWJ) stay, since Persian, many Indic scripts and emoji need them.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_JOINERS = set("\u200c\u200d")
# Letters and symbols that draw nothing: a name of only these looks empty.
_BLANKS = set("\u115f\u1160\u3164\uffa0\u2800")
# Marks combine with the character before them: they do not count as characters.
_MARKS = ("Mn", "Mc", "Me")
CODE_POINTS_MAX = 64  # the column's size, which marks do count towards
_BLACK_FLAG = "\U0001f3f4"


def _is_tag(char: str) -> bool:
    return "\U000e0020" <= char <= "\U000e007f"


def normalize_name(raw: object) -> str:
    """A trimmed, NFC-normalized display name, or `InvalidName` saying why not."""
    if not isinstance(raw, str):
        raise InvalidName(N_("The name must be text."))
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidName(N_("Please enter a name."))
    categories = [unicodedata.category(char) for char in name]
    if len(name) > CODE_POINTS_MAX or sum(c not in _MARKS for c in categories) > NAME_MAX:
        raise InvalidName(NP_("A name can have at most {n} character.", "A name can have at most {n} characters.", NAME_MAX))
    previous = ""
    for char, category in zip(name, categories):
        # Tag characters spell the flags of England, Scotland and Wales after a black flag.
        flag_tag = _is_tag(char) and (previous == _BLACK_FLAG or _is_tag(previous))
        if (
            category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp")
            or char in _BIDI_CONTROLS
            or (category == "Cf" and char not in _JOINERS and not flag_tag)
        ):
            raise InvalidName(N_("The name contains a control or invisible character."))
        previous = char
    if not any(category[0] in "LNPS" and char not in _BLANKS for char, category in zip(name, categories)):
        raise InvalidName(N_("A name needs at least one visible letter, digit or symbol."))
    return name


@dataclass(frozen=True)
class NewAccount:
    account: Account
    session_token: str
    recovery_token: str


@dataclass(frozen=True)
class Restored:
    account: Account
    session_token: str


class Revocations(Protocol):
    """Tells every worker which sessions and accounts stopped working
    (ephem/live/revocations_redis.py)."""

    def publish(self, sessions: list[str], accounts: list[str]) -> None: ...

    async def revoked(self, digest: str, account_id: str) -> bool: ...


class SessionCache:
    """Sessions looked up for connects (session hash -> account), each kept
    `ttl` seconds. Filled from threads, dropped from the event loop: a lock,
    and an epoch so a look-up that raced a drop is not stored afterwards."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.clock = ttl, clock
        self._entries: dict[str, tuple[float, Account]] = {}
        self._lock = threading.Lock()
        self._purge_at = 0.0
        self.epoch = 0

    def get(self, digest: str) -> Account | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]

    def put(self, digest: str, account: Account, epoch: int) -> None:
        now = self.clock()
        with self._lock:
            if epoch != self.epoch:
                return
            if now >= self._purge_at:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                self._purge_at = now + self.ttl
            self._entries[digest] = (now + self.ttl, account)

    def drop(self, sessions: Iterable[str] = (), accounts: Iterable[str] = ()) -> None:
        gone = set(accounts)
        with self._lock:
            self.epoch += 1
            for digest in sessions:
                self._entries.pop(digest, None)
            if gone:
                self._entries = {k: v for k, v in self._entries.items() if v[1].id not in gone}

    def clear(self) -> None:
        with self._lock:
            self.epoch += 1
            self._entries = {}


class Seen:
    """When each account connected to this worker was last written as seen,
    so that connecting writes nothing: `due()` (once a tick) names the
    accounts to write in one `touch_many`, each at most once per `interval`,
    and those whose last connection here closed (their session-only grace
    period starts from that write)."""

    def __init__(self, interval: float, clock: Clock = utcnow):
        self.interval, self.clock = interval, clock
        self._written: dict[str, float] = {}  # connected account -> last written (epoch seconds)
        self._queue: list[tuple[float, str]] = []  # (written, account), a heap; stale entries skipped
        self._connections: Counter[str] = Counter()
        self._closed: set[str] = set()

    def connected(self, account_id: str, last_seen_at: datetime) -> None:
        self._connections[account_id] += 1
        self._closed.discard(account_id)
        if account_id not in self._written:
            written = last_seen_at.timestamp()
            self._written[account_id] = written
            heapq.heappush(self._queue, (written, account_id))

    def disconnected(self, account_id: str) -> None:
        self._connections[account_id] -= 1
        if self._connections[account_id] <= 0:
            del self._connections[account_id]
            self._written.pop(account_id, None)

    def closed(self, account_id: str) -> None:
        """Its last connection anywhere closed: written at the next `due()`."""
        if account_id not in self._connections:
            self._closed.add(account_id)

    def last_written(self, account_id: str) -> float | None:
        return self._written.get(account_id)

    def due(self) -> list[str]:
        now = self.clock().timestamp()
        due, self._closed = list(self._closed), set()
        while self._queue and self._queue[0][0] <= now - self.interval:
            written, account_id = heapq.heappop(self._queue)
            if self._written.get(account_id) == written:  # still connected, not written since
                due.append(account_id)
                self._written[account_id] = now
                heapq.heappush(self._queue, (now, account_id))
        return due


class Accounts:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock = utcnow):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.hasher = TokenHasher(settings.secret)
        self.sessions = SessionCache(min(SESSION_CACHE_SECONDS, settings.seen_interval.total_seconds()))
        # With several workers (Redis), what tells the others; None with one.
        self.revocations: Revocations | None = None

    def expires_at(self, account: Account, last_seen_at: datetime | None = None) -> datetime:
        """When the sweep may delete this account if it is not seen again
        (after `last_seen_at` when known to be later than the row's)."""
        seen = max(account.last_seen_at, last_seen_at or account.last_seen_at)
        if account.remember:
            return seen + self.settings.account_ttl
        return seen + self.settings.session_grace

    def session_key(self, session_token: str) -> str:
        """What names one session (its stored hash), never the token itself."""
        return self.hasher.digest(SESSION, session_token)

    def create(self, name: object, remember: bool) -> NewAccount:
        clean = normalize_name(name)
        now = self.clock()
        session_token, recovery_token = new_token(), new_token()
        account = Account(
            id=str(uuid.uuid4()),
            name=clean,
            remember=bool(remember),
            recovery_hash=self.hasher.digest(RECOVERY, recovery_token),
            created_at=now,
            last_seen_at=now,
        )
        with session_scope(self.engine) as db:
            db.add(account)
            db.flush()
            db.add(self._session_row(account.id, session_token, now))
        return NewAccount(account, session_token, recovery_token)

    def authenticate(self, session_token: object) -> Account:
        """The account behind a session token, marked as seen; else `InvalidToken`."""
        if not isinstance(session_token, str) or not session_token:
            raise InvalidToken(N_("Sign in first."))
        digest = self.hasher.digest(SESSION, session_token)
        with session_scope(self.engine) as db:
            row = db.get(SessionToken, digest)
            account = db.get(Account, row.account_id) if row else None
            if account is None or not self.hasher.matches(SESSION, session_token, row.token_hash):
                raise InvalidToken(N_("This session has ended. Sign in again or restore with your recovery token."))
        if account.banned_at is not None:
            raise Banned(BANNED)
        self.touch(account)
        return account

    def connecting(self, session_token: object) -> Account | None:
        """The account behind a session token if a connect looked it up in the
        last `SESSION_CACHE_SECONDS`, else None (then `look_up_many`). No database."""
        if not isinstance(session_token, str) or not session_token:
            raise InvalidToken(N_("Sign in first."))
        return self.sessions.get(self.hasher.digest(SESSION, session_token))

    def look_up_many(self, session_tokens: list[str]) -> list[Account | None]:
        """The accounts behind session tokens (None for one that works no more),
        for connections: one read for them all, no write (connections are
        marked as seen in batches, see `Seen`); the answers are kept for the
        next connects."""
        digests = [self.hasher.digest(SESSION, token) for token in session_tokens]
        epoch = self.sessions.epoch
        with session_scope(self.engine) as db:
            found = dict(
                db.exec(
                    select(SessionToken.token_hash, Account)
                    .join(Account, col(SessionToken.account_id) == col(Account.id))
                    .where(col(SessionToken.token_hash).in_(set(digests)))
                ).all()
            )
        for digest, account in found.items():
            if account.banned_at is None:  # a banned one is refused anyway, and read afresh once unbanned
                self.sessions.put(digest, account, epoch)
        return [found.get(digest) for digest in digests]

    def revoke(self, sessions: Iterable[str] = (), accounts: Iterable[str] = ()) -> None:
        """Sessions (by hash) and accounts that stopped working: no connect may
        trust a cached look-up of them any more, on this worker or another."""
        sessions, accounts = list(sessions), list(accounts)
        if not sessions and not accounts:
            return
        self.sessions.drop(sessions, accounts)
        if self.revocations is not None:
            self.revocations.publish(sessions, accounts)

    async def revoked_elsewhere(self, session_token: str, account_id: str) -> bool:
        """Whether another worker revoked this cached session (or its account)
        so recently that word of it may not have reached this one's cache."""
        if self.revocations is None:
            return False
        return await self.revocations.revoked(self.session_key(session_token), account_id)

    def touch(self, account: Account, force: bool = False) -> None:
        """Mark as seen now, writing at most once per `seen_interval` unless forced."""
        now = self.clock()
        if not force and now - account.last_seen_at < self.settings.seen_interval:
            return
        with session_scope(self.engine) as db:
            db.execute(update(Account).where(col(Account.id) == account.id).values(last_seen_at=now))
        account.last_seen_at = now

    def touch_many(self, account_ids: list[str]) -> None:
        """Mark connected accounts as seen in one statement (called about once a minute)."""
        if account_ids:
            with session_scope(self.engine) as db:
                db.execute(update(Account).where(col(Account.id).in_(account_ids)).values(last_seen_at=self.clock()))

    def get(self, account_id: str) -> Account:
        with session_scope(self.engine) as db:
            account = db.get(Account, account_id)
        if account is None:
            raise InvalidToken(N_("This account no longer exists."))
        return account

    def restore(self, recovery_token: object) -> Restored:
        """A fresh session on this device for whoever holds the recovery token."""
        if not isinstance(recovery_token, str) or not recovery_token.strip():
            raise InvalidToken(N_("Paste your recovery token."))
        token = recovery_token.strip()
        digest = self.hasher.digest(RECOVERY, token)
        now = self.clock()
        session_token = new_token()
        with session_scope(self.engine) as db:
            # Write first, then read: the write locks the row (PostgreSQL) or
            # takes the write lock (SQLite), so a delete or sweep has either
            # finished (no row: InvalidToken) or waits and takes this session too.
            # Reading first let a delete land in between (StaleDataError, or on
            # PostgreSQL a delete that failed and left the account alive).
            seen = db.execute(update(Account).where(col(Account.recovery_hash) == digest).values(last_seen_at=now))
            account = db.exec(select(Account).where(Account.recovery_hash == digest)).first() if seen.rowcount else None
            if account is None or not self.hasher.matches(RECOVERY, token, account.recovery_hash):
                raise InvalidToken(N_("That recovery token is not valid. It may have been replaced, or the account has expired."))
            if account.banned_at is not None:
                raise Banned(BANNED)
            fresh = self._session_row(account.id, session_token, now)
            db.add(fresh)
            trimmed = self._trim_sessions(db, account.id, keep=fresh.token_hash)
        self.revoke(sessions=trimmed)
        return Restored(account, session_token)

    def rotate_recovery(self, account_id: str) -> str:
        """A new recovery token; the old one stops working at once."""
        token = new_token()
        with session_scope(self.engine) as db:
            # One statement: it waits for a delete in progress, then finds no row.
            rotated = db.execute(
                update(Account)
                .where(col(Account.id) == account_id)
                .values(recovery_hash=self.hasher.digest(RECOVERY, token))
            )
            if not rotated.rowcount:
                # A token for a deleted account could never work: give none.
                raise InvalidToken(N_("This account no longer exists."))
        return token

    def end_session(self, session_token: str) -> None:
        digest = self.hasher.digest(SESSION, session_token)
        with session_scope(self.engine) as db:
            db.execute(delete(SessionToken).where(col(SessionToken.token_hash) == digest))
        self.revoke(sessions=[digest])

    def delete(self, account_id: str) -> list[str]:
        """The account, its sessions and memberships, in one transaction; `InvalidToken`
        if it is already gone (another delete or the sweep came first). Returns
        the enclaves it was a member of, whose other members are to be told."""
        for attempt in (1, 2):
            try:
                with session_scope(self.engine) as db:
                    # Lock the row first (PostgreSQL; SQLite serializes writes):
                    # a restore, rotation or join already holding it finishes
                    # first and what it wrote goes with the rest; one that comes
                    # later waits, then finds no account. Without the lock a
                    # restore could add a session between our deletes, and the
                    # delete failed on the foreign key, leaving the account alive.
                    locked = db.exec(select(Account.id).where(col(Account.id) == account_id).with_for_update()).first()
                    if locked is None:
                        raise InvalidToken(N_("This account no longer exists."))
                    enclave_ids = list(db.exec(select(Membership.enclave_id).where(Membership.account_id == account_id)))
                    if not delete_accounts(db, [account_id]):
                        raise InvalidToken(N_("This account no longer exists."))
                self.revoke(accounts=[account_id])
                return enclave_ids
            except DBAPIError as exc:
                if attempt == 2 or not _retryable(exc):
                    raise

    def _session_row(self, account_id: str, token: str, now: datetime) -> SessionToken:
        return SessionToken(token_hash=self.hasher.digest(SESSION, token), account_id=account_id, created_at=now)

    def _trim_sessions(self, db, account_id: str, keep: str) -> list[str]:
        """Keep the newest sessions only, so restoring in a loop cannot grow a
        table; returns the hashes of those signed out."""
        stale = db.exec(
            select(SessionToken.token_hash)
            .where(SessionToken.account_id == account_id, SessionToken.token_hash != keep)
            .order_by(col(SessionToken.created_at).desc())
            .offset(self.settings.max_sessions_per_account - 1)
        ).all()
        if stale:
            db.execute(delete(SessionToken).where(col(SessionToken.token_hash).in_(stale)))
        return list(stale)


def delete_accounts(db, account_ids: list[str]) -> int:
    """An account goes with its tokens and memberships; enclaves left empty go in the sweep.

    The caller holds the account rows (FOR UPDATE) so nothing is added to them
    meanwhile. Returns how many accounts were deleted."""
    if not account_ids:
        return 0
    db.execute(delete(SessionToken).where(col(SessionToken.account_id).in_(account_ids)))
    db.execute(delete(Membership).where(col(Membership.account_id).in_(account_ids)))
    db.execute(delete(Block).where(or_(col(Block.blocker_id).in_(account_ids), col(Block.blocked_id).in_(account_ids))))
    # Invite links made by a deleted account stop working with it.
    db.execute(delete(Invite).where(col(Invite.created_by).in_(account_ids)))
    return db.execute(delete(Account).where(col(Account.id).in_(account_ids))).rowcount or 0


def _retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    return (getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)) in _RETRYABLE
