"""Enclaves: private rooms made by a match and grown by invite links.

Plain Python over SQLModel. Who is online is not stored here: the caller
asks its presence registry and passes the answer in.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ephem.core.clock import Clock, utcnow
from ephem.core.db import session_scope
from ephem.errors import EnclaveFull, Forbidden, Invalid, InvalidToken, NotFound
from ephem.i18n import N_, NP_
from ephem.models import Account, Enclave, Invite, Membership
from ephem.core.settings import Settings
from ephem.core.tokens import TokenHasher, new_token

INVITE = "invite"
NAME_MAX = 64
# Enclave ids are UUIDs; anything else is answered as not found before a query.
ENCLAVE_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_ENCLAVE_ID = re.compile(ENCLAVE_ID)


def valid_id(value: object) -> bool:
    return isinstance(value, str) and _ENCLAVE_ID.match(value) is not None


@dataclass(frozen=True)
class Member:
    account_id: str
    name: str
    joined_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class EnclaveView:
    id: str
    name: str
    created_at: datetime
    last_active_at: datetime
    expires_at: datetime
    members: tuple[Member, ...]

    def is_host(self, account_id: str) -> bool:
        """Hosts are the members the match brought together (they joined as it
        was made): they may remove the others."""
        return any(m.account_id == account_id and m.joined_at == self.created_at for m in self.members)


@dataclass(frozen=True)
class Invitation:
    id: str
    code: str
    expires_at: datetime


def _name(members: tuple[Member, ...], created_at: datetime, stored: str) -> str:
    """The names of the members the match brought together (they joined as
    it was made) who are still members: one who leaves or is deleted drops
    out of it. Once none is left, the names of those who joined since."""
    founders = [m.name for m in members if m.joined_at == created_at] or [m.name for m in members]
    return " & ".join(founders)[:NAME_MAX] if founders else stored


def _not_found() -> NotFound:
    # Non-members learn nothing, not even whether the enclave exists.
    return NotFound(N_("No such enclave, or you are not a member of it."))


class Enclaves:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock = utcnow):
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.hasher = TokenHasher(settings.secret)

    def create(self, account_ids: list[str]) -> EnclaveView:
        """A new enclave with these members, in one transaction (so the sweep never sees it empty)."""
        (result,) = self.create_many([account_ids])
        if isinstance(result, NotFound):
            raise result
        return result

    def create_many(self, groups: list[list[str]]) -> list[EnclaveView | NotFound]:
        """An enclave per group of accounts, all in one transaction: matches
        made at the same moment share one commit instead of queueing for the
        database's write lock one by one. A group with an account that no
        longer exists gets NotFound in its place; the others are made."""
        try:
            return self._create_many(groups)
        except IntegrityError:
            # An account was deleted between our read and our inserts (SQLite
            # holds no lock for a read): read again, and only its group fails.
            return self._create_many(groups)

    def _create_many(self, groups: list[list[str]]) -> list[EnclaveView | NotFound]:
        now = self.clock()
        results: list[EnclaveView | NotFound] = []
        enclaves, memberships = [], []
        with session_scope(self.engine) as db:
            wanted = {account_id for group in groups for account_id in group}
            # FOR KEY SHARE (PostgreSQL): a delete of one of them waits for our
            # commit and then takes the new memberships with it.
            names = dict(
                db.exec(
                    select(Account.id, Account.name)
                    .where(col(Account.id).in_(wanted))
                    .with_for_update(read=True, key_share=True)
                ).all()
            )
            for group in groups:
                if any(account_id not in names for account_id in group):
                    results.append(NotFound(N_("An account in this match no longer exists.")))
                    continue
                enclave_id = str(uuid.uuid4())
                # In the order _members gives: joined together, so by name.
                members = tuple(sorted((Member(a, names[a], now) for a in group), key=lambda m: (m.name, m.account_id)))
                name = _name(members, now, "")
                enclaves.append({"id": enclave_id, "name": name, "created_at": now, "last_active_at": now})
                memberships += [{"enclave_id": enclave_id, "account_id": a, "joined_at": now} for a in group]
                results.append(EnclaveView(enclave_id, name, now, now, now + self.settings.enclave_ttl, members))
            # Bulk inserts: building an ORM object per row cost more than the
            # database's own work (py-spy, bench/).
            if enclaves:
                db.execute(insert(Enclave), enclaves)
                db.execute(insert(Membership), memberships)
        return results

    def get(self, enclave_id: str, account_id: str) -> EnclaveView:
        with session_scope(self.engine) as db:
            return self._view(db, self._member_enclave(db, enclave_id, account_id))

    def is_member(self, enclave_id: str, account_id: str) -> bool:
        if not valid_id(enclave_id):
            return False
        with Session(self.engine) as db:
            return db.get(Membership, (enclave_id, account_id)) is not None

    def list_for(self, account_id: str) -> list[EnclaveView]:
        """The account's enclaves, most recently active first."""
        with session_scope(self.engine) as db:
            enclaves = db.exec(
                select(Enclave)
                .join(Membership, col(Membership.enclave_id) == col(Enclave.id))
                .where(Membership.account_id == account_id)
                .order_by(col(Enclave.last_active_at).desc())
            ).all()
            members = self._members(db, [e.id for e in enclaves])
            return [self._view(db, e, members.get(e.id, ())) for e in enclaves]

    def invite(self, enclave_id: str, account_id: str) -> Invitation:
        now = self.clock()
        code = new_token()
        with session_scope(self.engine) as db:
            self._member_enclave(db, enclave_id, account_id)
            invite = Invite(
                id=str(uuid.uuid4()),
                enclave_id=enclave_id,
                code_hash=self.hasher.digest(INVITE, code),
                created_by=account_id,
                created_at=now,
                expires_at=now + self.settings.invite_ttl,
            )
            db.add(invite)
        self.touch(enclave_id)
        return Invitation(invite.id, code, invite.expires_at)

    def revoke_invites(self, enclave_id: str, account_id: str) -> int:
        """Every open invite of the enclave stops working; returns how many there were."""
        with session_scope(self.engine) as db:
            self._member_enclave(db, enclave_id, account_id)
            result = db.execute(delete(Invite).where(col(Invite.enclave_id) == enclave_id))
            return result.rowcount or 0

    def join(self, code: object, account_id: str) -> EnclaveView:
        """Join through an invite code; joining twice is harmless."""
        now = self.clock()
        with session_scope(self.engine) as db:
            invite = self._live_invite(db, code, now)
            # Write to the enclave row first: that locks it (PostgreSQL) or takes
            # the write lock (SQLite), so concurrent joins count members one at a time.
            touched = db.execute(
                update(Enclave).where(col(Enclave.id) == invite.enclave_id).values(last_active_at=now)
            )
            enclave = db.get(Enclave, invite.enclave_id)
            if enclave is None or not touched.rowcount:
                raise NotFound(N_("This enclave no longer exists."))
            # The joiner may have been deleted since the request was authenticated.
            # Hold the account row (FOR KEY SHARE on PostgreSQL; on SQLite the write
            # lock is ours already): a delete that finished first leaves no row, one
            # that comes later waits and takes this membership with it. Without this
            # the membership insert failed on the foreign key (IntegrityError).
            joiner = db.exec(
                select(Account.id).where(col(Account.id) == account_id).with_for_update(read=True, key_share=True)
            ).first()
            if joiner is None:
                raise InvalidToken(N_("This account no longer exists."))
            if db.get(Membership, (enclave.id, account_id)) is None:
                count = db.exec(
                    select(func.count()).select_from(Membership).where(Membership.enclave_id == enclave.id)
                ).one()
                if count >= self.settings.max_members:
                    raise EnclaveFull(NP_("This enclave is full ({n} member).", "This enclave is full ({n} members).", self.settings.max_members))
                db.add(Membership(enclave_id=enclave.id, account_id=account_id, joined_at=now))
            db.flush()
            return self._view(db, enclave)

    def leave(self, enclave_id: str, account_id: str) -> None:
        with session_scope(self.engine) as db:
            self._member_enclave(db, enclave_id, account_id)
            _drop_member(db, enclave_id, account_id)

    def remove(self, enclave_id: str, host_id: str, member_id: object) -> None:
        """A host removes a member who joined by invite: the membership goes,
        and so do the invite links that member made."""
        with session_scope(self.engine) as db:
            enclave = self._member_enclave(db, enclave_id, host_id)
            if not isinstance(member_id, str) or member_id == host_id:
                raise Invalid(N_("To leave an enclave yourself, use Leave."))
            host = db.get(Membership, (enclave_id, host_id))
            if host.joined_at != enclave.created_at:
                raise Forbidden(N_("Only the members the match brought together can remove someone."))
            member = db.get(Membership, (enclave_id, member_id))
            if member is None:
                raise NotFound(N_("That account is not a member of this enclave."))
            if member.joined_at == enclave.created_at:
                raise Forbidden(N_("A member the match brought together cannot be removed; block them or leave."))
            _drop_member(db, enclave_id, member_id)

    def touch(self, enclave_id: str) -> None:
        """Record activity, writing at most once per `seen_interval`."""
        now = self.clock()
        with session_scope(self.engine) as db:
            db.execute(
                update(Enclave)
                .where(col(Enclave.id) == enclave_id, col(Enclave.last_active_at) < now - self.settings.seen_interval)
                .values(last_active_at=now)
            )

    # --- helpers --------------------------------------------------------------

    def _member_enclave(self, db: Session, enclave_id: object, account_id: str) -> Enclave:
        if not valid_id(enclave_id):
            raise _not_found()
        enclave = db.get(Enclave, enclave_id)
        if enclave is None or db.get(Membership, (enclave_id, account_id)) is None:
            raise _not_found()
        return enclave

    def _members(self, db: Session, enclave_ids: list[str]) -> dict[str, tuple[Member, ...]]:
        if not enclave_ids:
            return {}
        rows = db.exec(
            select(Membership.enclave_id, Account.id, Account.name, Membership.joined_at)
            .join(Account, col(Account.id) == col(Membership.account_id))
            .where(col(Membership.enclave_id).in_(enclave_ids))
            .order_by(col(Membership.joined_at), col(Account.name), col(Account.id))
        ).all()
        grouped: dict[str, list[Member]] = {}
        for enclave_id, member_id, name, joined_at in rows:
            grouped.setdefault(enclave_id, []).append(Member(member_id, name, joined_at))
        return {key: tuple(value) for key, value in grouped.items()}

    def _view(self, db: Session, enclave: Enclave, members: tuple[Member, ...] | None = None) -> EnclaveView:
        if members is None:
            members = self._members(db, [enclave.id]).get(enclave.id, ())
        return EnclaveView(
            id=enclave.id,
            name=_name(members, enclave.created_at, enclave.name),
            created_at=enclave.created_at,
            last_active_at=enclave.last_active_at,
            expires_at=enclave.last_active_at + self.settings.enclave_ttl,
            members=members,
        )

    def check_invite(self, code: object) -> str:
        """The name of the enclave an invite code opens, changing nothing: the
        invite page says at once when a link is dead instead of after Join.
        Raises NotFound with the messages join() gives."""
        with Session(self.engine) as db:
            enclave = db.get(Enclave, self._live_invite(db, code, self.clock()).enclave_id)
            if enclave is None:
                raise NotFound(N_("This enclave no longer exists."))
            return self._view(db, enclave).name

    def _live_invite(self, db: Session, code: object, now: datetime) -> Invite:
        """The invite behind a code, unexpired, else NotFound."""
        if not isinstance(code, str) or not code or len(code) > 200:
            raise NotFound(N_("This invite link is not valid."))
        invite = db.exec(select(Invite).where(Invite.code_hash == self.hasher.digest(INVITE, code))).first()
        if invite is None or invite.expires_at <= now:
            raise NotFound(N_("This invite link is not valid or has expired."))
        return invite


def _drop_member(db: Session, enclave_id: str, account_id: str) -> None:
    """The membership goes, and the invite links the member made in the
    enclave stop working with it."""
    db.execute(
        delete(Membership).where(col(Membership.enclave_id) == enclave_id, col(Membership.account_id) == account_id)
    )
    db.execute(delete(Invite).where(col(Invite.enclave_id) == enclave_id, col(Invite.created_by) == account_id))
