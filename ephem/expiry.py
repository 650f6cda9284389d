"""The sweep: deletes what nobody has used, one bounded batch at a time.

Each call deletes at most `batch` accounts and `batch` enclaves in one short
transaction, so a large backlog never holds long locks; the caller repeats
until a pass finds nothing.
"""

from dataclasses import dataclass

from sqlalchemy import delete, exists, or_, and_
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from ephem.accounts import delete_accounts
from ephem.core.clock import Clock, utcnow
from ephem.core.db import session_scope
from ephem.models import Account, Enclave, Invite, Membership
from ephem.core.settings import Settings


@dataclass(frozen=True)
class SweepResult:
    accounts: int
    enclaves: int
    # The memberships (enclave_id, account_id) of the accounts deleted: the
    # live side tells those enclaves' rooms.
    left: tuple[tuple[str, str], ...] = ()
    # The accounts deleted, whose sessions no connect may trust any more.
    deleted: tuple[str, ...] = ()

    def left_by_account(self) -> dict[str, list[str]]:
        enclaves: dict[str, list[str]] = {}
        for enclave_id, account_id in self.left:
            enclaves.setdefault(account_id, []).append(enclave_id)
        return enclaves

    @property
    def total(self) -> int:
        return self.accounts + self.enclaves


def sweep_once(engine: Engine, settings: Settings, clock: Clock = utcnow, batch: int | None = None) -> SweepResult:
    limit = batch or settings.sweep_batch
    now = clock()
    with session_scope(engine) as db:
        account_ids = list(
            db.exec(
                select(Account.id)
                .where(
                    or_(
                        and_(col(Account.remember).is_(True), col(Account.last_seen_at) < now - settings.account_ttl),
                        and_(col(Account.remember).is_(False), col(Account.last_seen_at) < now - settings.session_grace),
                    )
                )
                .limit(limit)
                # PostgreSQL: rows being updated right now (a restore, a touch) are
                # in use, not expired; locked rows are re-checked, never swept stale.
                .with_for_update(skip_locked=True)
            ).all()
        )
        left = tuple(
            (enclave_id, account_id)
            for enclave_id, account_id in db.exec(
                select(Membership.enclave_id, Membership.account_id).where(col(Membership.account_id).in_(account_ids))
            )
        )
        delete_accounts(db, account_ids)

    with session_scope(engine) as db:
        has_members = exists().where(col(Membership.enclave_id) == col(Enclave.id))
        enclave_ids = list(
            db.exec(
                select(Enclave.id)
                .where(or_(col(Enclave.last_active_at) < now - settings.enclave_ttl, ~has_members))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
        )
        if enclave_ids:
            db.execute(delete(Invite).where(col(Invite.enclave_id).in_(enclave_ids)))
            db.execute(delete(Membership).where(col(Membership.enclave_id).in_(enclave_ids)))
            db.execute(delete(Enclave).where(col(Enclave.id).in_(enclave_ids)))

    with session_scope(engine) as db:
        # Expired invites are useless already; this only keeps the table small.
        stale = db.exec(select(Invite.id).where(col(Invite.expires_at) < now).limit(limit)).all()
        if stale:
            db.execute(delete(Invite).where(col(Invite.id).in_(stale)))
    return SweepResult(len(account_ids), len(enclave_ids), left, tuple(account_ids))


def sweep_all(engine: Engine, settings: Settings, clock: Clock = utcnow, batch: int | None = None) -> SweepResult:
    """Sweep until a pass deletes nothing; returns the totals."""
    accounts = enclaves = 0
    left: tuple[tuple[str, str], ...] = ()
    deleted: tuple[str, ...] = ()
    while True:
        result = sweep_once(engine, settings, clock, batch)
        accounts += result.accounts
        enclaves += result.enclaves
        left += result.left
        deleted += result.deleted
        if result.total == 0:
            return SweepResult(accounts, enclaves, left, deleted)
