"""Safe with strangers: blocks, reports and bans.

Plain Python over SQLModel. A block keeps two accounts apart in matchmaking
(the live side asks `avoided` at search time) and goes with either account.
A report carries the messages the reporter chose from their own screen: the
server never had them. Bans are set by operators (`python -m ephem.admin`);
a banned account's tokens stop working everywhere (`Accounts.authenticate`).
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ephem.accounts import BANNED
from ephem.core.clock import Clock, utcnow
from ephem.core.db import session_scope
from ephem.core.settings import Settings
from ephem.enclaves import valid_id
from ephem.errors import Banned, Invalid, NotFound, TooMany
from ephem.i18n import N_, NP_
from ephem.models import Account, Block, Membership, Report

BLOCKS_MAX = 1000  # per blocker: what one search hands the matchmaker stays bounded
REASON_MAX = 500
EVIDENCE_MAX = 50  # messages attached to one report
TEXT_MAX = 4000  # characters per attached message, as on the DataChannel
NAME_MAX = 64
TS_MAX = 40


@dataclass(frozen=True)
class BlockView:
    account_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Evidence:
    """One message as the reporter's screen showed it."""

    name: str
    text: str
    ts: str
    mine: bool


@dataclass(frozen=True)
class ReportView:
    id: str
    reporter_id: str
    reported_id: str
    reported_name: str
    enclave_id: str | None
    reason: str
    created_at: datetime
    closed_at: datetime | None
    evidence: tuple[Evidence, ...]
    # Whether the reported account is banned now (None: it no longer exists).
    banned: bool | None = None


@dataclass(frozen=True)
class BanView:
    account_id: str
    name: str
    banned_at: datetime
    reason: str


def _text(value: object, limit: int, what: str, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise Invalid(N_("{field} must be text.", field=what))
    if len(value) > limit:
        raise Invalid(NP_("{field} can have at most {n} character.", "{field} can have at most {n} characters.", limit, field=what))
    if not empty and not value.strip():
        raise Invalid(N_("{field} is empty.", field=what))
    try:
        value.encode()
    except UnicodeEncodeError:
        raise Invalid(N_("{field} must be valid Unicode.", field=what)) from None
    return value


def parse_evidence(messages: object) -> tuple[Evidence, ...]:
    """The attached messages, checked: at most EVIDENCE_MAX, each bounded."""
    if not isinstance(messages, list):
        raise Invalid(N_("messages must be a list."))
    if len(messages) > EVIDENCE_MAX:
        raise Invalid(NP_("A report can attach at most {n} message.", "A report can attach at most {n} messages.", EVIDENCE_MAX))
    parsed = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or set(message) - {"name", "text", "ts", "mine"}:
            where = "messages[%d]" % i
            raise Invalid(N_("{field} must be {shape}.", field=where, shape="{name, text, ts, mine}"))
        mine = message.get("mine", False)
        if not isinstance(mine, bool):
            where = "messages[%d].mine" % i
            raise Invalid(N_("{field} must be true or false.", field=where))
        parsed.append(
            Evidence(
                name=_text(message.get("name", ""), NAME_MAX, f"messages[{i}].name"),
                text=_text(message.get("text", ""), TEXT_MAX, f"messages[{i}].text", empty=False),
                ts=_text(message.get("ts", ""), TS_MAX, f"messages[{i}].ts"),
                mine=mine,
            )
        )
    return tuple(parsed)


def _share_an_enclave(db: Session, a: str, b: str) -> bool:
    other = aliased(Membership)
    return (
        db.exec(
            select(Membership.enclave_id)
            .join(other, col(other.enclave_id) == col(Membership.enclave_id))
            .where(col(Membership.account_id) == a, col(other.account_id) == b)
            .limit(1)
        ).first()
        is not None
    )


class Safety:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock = utcnow):
        self.engine = engine
        self.settings = settings
        self.clock = clock

    # --- blocks ----------------------------------------------------------------

    def block(self, blocker_id: str, blocked_id: object) -> BlockView:
        """Block someone one shares an enclave with (so nobody can probe which
        accounts exist); blocking twice is harmless."""
        if not valid_id(blocked_id):
            raise NotFound(N_("You can only block a member of one of your enclaves."))
        if blocked_id == blocker_id:
            raise Invalid(N_("You cannot block yourself."))
        now = self.clock()
        try:
            with session_scope(self.engine) as db:
                existing = db.get(Block, (blocker_id, blocked_id))
                if existing is None:
                    if not _share_an_enclave(db, blocker_id, blocked_id):
                        raise NotFound(N_("You can only block a member of one of your enclaves."))
                    count = db.exec(select(func.count()).select_from(Block).where(Block.blocker_id == blocker_id)).one()
                    if count >= BLOCKS_MAX:
                        raise TooMany(NP_("You can block at most {n} account. Unblock someone first.", "You can block at most {n} accounts. Unblock someone first.", BLOCKS_MAX))
                    db.add(Block(blocker_id=blocker_id, blocked_id=blocked_id, created_at=now))
                    db.flush()
        except IntegrityError:
            # The same block made at once elsewhere (fine), or an account deleted meanwhile.
            pass
        for view in self.blocks_of(blocker_id):
            if view.account_id == blocked_id:
                return view
        raise NotFound(N_("That account no longer exists."))

    def unblock(self, blocker_id: str, blocked_id: object) -> None:
        if not valid_id(blocked_id):
            raise NotFound(N_("You have not blocked that account."))
        with session_scope(self.engine) as db:
            gone = db.execute(
                delete(Block).where(col(Block.blocker_id) == blocker_id, col(Block.blocked_id) == blocked_id)
            )
            if not gone.rowcount:
                raise NotFound(N_("You have not blocked that account."))

    def blocks_of(self, blocker_id: str) -> list[BlockView]:
        """Whom the account blocked, most recent first."""
        with Session(self.engine) as db:
            rows = db.exec(
                select(Block.blocked_id, Account.name, Block.created_at)
                .join(Account, col(Account.id) == col(Block.blocked_id))
                .where(Block.blocker_id == blocker_id)
                .order_by(col(Block.created_at).desc(), col(Account.name))
            ).all()
        return [BlockView(account_id, name, created_at) for account_id, name, created_at in rows]

    def blocked_ids(self, blocker_id: str) -> list[str]:
        return [view.account_id for view in self.blocks_of(blocker_id)]

    def avoided(self, account_id: str) -> frozenset[str]:
        """Whom this account must never be matched with: those it blocked and
        those who blocked it. Raises `Banned` for a banned account (a search
        asks this first)."""
        (answer,) = self.avoided_many([account_id])
        if isinstance(answer, Banned):
            raise answer
        return answer

    def avoided_many(self, account_ids: list[str]) -> list[frozenset[str] | Banned]:
        """`avoided` for a burst of searches, in two queries: each account's
        answer in order, a `Banned` to raise for a banned one."""
        wanted = set(account_ids)
        with Session(self.engine) as db:
            banned = set(
                db.exec(select(Account.id).where(col(Account.id).in_(wanted), col(Account.banned_at).is_not(None))).all()
            )
            rows = db.exec(
                select(Block.blocker_id, Block.blocked_id).where(
                    or_(col(Block.blocker_id).in_(wanted), col(Block.blocked_id).in_(wanted))
                )
            ).all()
        avoid: dict[str, set[str]] = {account_id: set() for account_id in wanted}
        for blocker, blocked in rows:
            if blocker in avoid:
                avoid[blocker].add(blocked)
            if blocked in avoid:
                avoid[blocked].add(blocker)
        return [Banned(BANNED) if account_id in banned else frozenset(avoid[account_id]) for account_id in account_ids]

    # --- reports ---------------------------------------------------------------

    def report(
        self,
        reporter_id: str,
        reported_id: object,
        reason: object,
        messages: object = (),
        enclave_id: object = None,
    ) -> ReportView:
        """Report an account to the operators. The reporter must share an
        enclave with it now, or name the enclave where they met (of which the
        reporter is still a member)."""
        clean_reason = _text(reason, REASON_MAX, "reason", empty=False).strip()
        evidence = parse_evidence(list(messages) if isinstance(messages, tuple) else messages)
        if not valid_id(reported_id):
            raise NotFound(N_("No such account."))
        if reported_id == reporter_id:
            raise Invalid(N_("You cannot report yourself."))
        if enclave_id is not None and not valid_id(enclave_id):
            raise NotFound(N_("No such enclave, or you are not a member of it."))
        now = self.clock()
        with session_scope(self.engine) as db:
            reported = db.get(Account, reported_id)
            if enclave_id is not None:
                if db.get(Membership, (enclave_id, reporter_id)) is None:
                    raise NotFound(N_("No such enclave, or you are not a member of it."))
            elif reported is None or not _share_an_enclave(db, reporter_id, reported_id):
                raise NotFound(N_("You can only report a member of one of your enclaves."))
            if reported is None:
                raise NotFound(N_("That account no longer exists."))
            row = Report(
                id=str(uuid.uuid4()),
                reporter_id=reporter_id,
                reported_id=reported_id,
                reported_name=reported.name,
                enclave_id=enclave_id,
                reason=clean_reason,
                evidence=json.dumps([e.__dict__ for e in evidence], ensure_ascii=False),
                created_at=now,
            )
            db.add(row)
        return self._report_view(row, reported.banned_at is not None)

    def reports(self, open_only: bool = False) -> list[ReportView]:
        """Every report, newest first; `open_only`: those not yet closed."""
        with Session(self.engine) as db:
            query = select(Report, Account.banned_at, Account.id).join(
                Account, col(Account.id) == col(Report.reported_id), isouter=True
            )
            if open_only:
                query = query.where(col(Report.closed_at).is_(None))
            rows = db.exec(query.order_by(col(Report.created_at).desc())).all()
        return [self._report_view(r, None if exists is None else banned is not None) for r, banned, exists in rows]

    def get_report(self, report_id: object) -> ReportView:
        if not valid_id(report_id):
            raise NotFound(N_("No such report."))
        with Session(self.engine) as db:
            row = db.get(Report, report_id)
            if row is None:
                raise NotFound(N_("No such report."))
            account = db.get(Account, row.reported_id)
        return self._report_view(row, None if account is None else account.banned_at is not None)

    def close_report(self, report_id: object) -> None:
        if not valid_id(report_id):
            raise NotFound(N_("No such report."))
        with session_scope(self.engine) as db:
            done = db.execute(
                update(Report).where(col(Report.id) == report_id, col(Report.closed_at).is_(None)).values(closed_at=self.clock())
            )
            if not done.rowcount and db.get(Report, report_id) is None:
                raise NotFound(N_("No such report."))

    @staticmethod
    def _report_view(row: Report, banned: bool | None) -> ReportView:
        evidence = tuple(Evidence(**item) for item in json.loads(row.evidence))
        return ReportView(
            row.id, row.reporter_id, row.reported_id, row.reported_name, row.enclave_id,
            row.reason, row.created_at, row.closed_at, evidence, banned,
        )

    # --- bans (operators) ------------------------------------------------------

    def ban(self, account_id: object, reason: object = "") -> BanView:
        """The account's tokens stop working (sign-in, connect, search, join);
        its open reports are closed. Banning twice keeps the first time."""
        clean = _text(reason, REASON_MAX, "reason").strip()
        if not valid_id(account_id):
            raise NotFound(N_("No such account."))
        now = self.clock()
        with session_scope(self.engine) as db:
            db.execute(
                update(Account)
                .where(col(Account.id) == account_id, col(Account.banned_at).is_(None))
                .values(banned_at=now, ban_reason=clean)
            )
            account = db.get(Account, account_id)
            if account is None:
                raise NotFound(N_("No such account."))
            db.execute(
                update(Report)
                .where(col(Report.reported_id) == account_id, col(Report.closed_at).is_(None))
                .values(closed_at=now)
            )
            return BanView(account.id, account.name, account.banned_at, account.ban_reason or "")

    def unban(self, account_id: object) -> None:
        if not valid_id(account_id):
            raise NotFound(N_("No such account."))
        with session_scope(self.engine) as db:
            lifted = db.execute(
                update(Account)
                .where(col(Account.id) == account_id, col(Account.banned_at).is_not(None))
                .values(banned_at=None, ban_reason=None)
            )
            if not lifted.rowcount:
                raise NotFound(N_("That account is not banned."))

    def bans(self) -> list[BanView]:
        with Session(self.engine) as db:
            rows = db.exec(
                select(Account).where(col(Account.banned_at).is_not(None)).order_by(col(Account.banned_at).desc())
            ).all()
        return [BanView(a.id, a.name, a.banned_at, a.ban_reason or "") for a in rows]

    def banned_among(self, account_ids: list[str]) -> set[str]:
        """Which of these accounts are banned (one query, for the live side's checks)."""
        if not account_ids:
            return set()
        with Session(self.engine) as db:
            return set(
                db.exec(
                    select(Account.id).where(col(Account.id).in_(account_ids), col(Account.banned_at).is_not(None))
                ).all()
            )
