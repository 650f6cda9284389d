"""Deleting an account while it is being used, on SQLite and PostgreSQL.

Each race is made deterministic: one operation is paused just before a chosen
SQL statement (a `before_cursor_execute` hook on its engine) and the other runs
right then on another connection. The second one either finishes (it landed
first) or waits for a lock the paused one holds (it lands second). Waiting is
detected, never guessed from timing:

- PostgreSQL: it runs in a thread; pg_stat_activity shows it waiting on a Lock.
- SQLite: it runs with a zero busy timeout, so waiting shows up at once as
  "database is locked"; it is run again (normally) once the paused operation
  has finished, as SQLite's busy wait would (writes are serialized).

Whatever the order, the contract is the same: the loser gets a domain error
(InvalidToken for an account that is gone), never a database exception, and
the delete always completes (the account and all its sessions and
memberships are gone).
"""

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from ephem.accounts import Accounts
from ephem.core.db import make_engine
from ephem.enclaves import Enclaves
from ephem.errors import InvalidToken, NotFound
from ephem.models import Account, Membership, SessionToken

WAIT_LIMIT = 30  # seconds; only bounds a failing test, never decides a passing one


class Contender:
    """Runs `op(accounts, enclaves)` on its own engine, from inside a paused
    operation, until it finishes or is seen waiting for a lock."""

    def __init__(self, url, settings, clock, op):
        self.url, self.settings, self.clock, self.op = url, settings, clock, op
        self.postgres = not url.startswith("sqlite")
        self.waited = False
        self.outcome = None
        self._thread = None
        self._engines = []

    def _run(self, engine):
        try:
            self.outcome = self.op(Accounts(engine, self.settings, self.clock), Enclaves(engine, self.settings, self.clock))
        except Exception as exc:  # noqa: BLE001 - the test judges what came out
            self.outcome = exc

    def _engine(self, busy_timeout_zero=False):
        engine = make_engine(self.url)
        if busy_timeout_zero:
            @event.listens_for(engine, "connect")
            def _no_busy_wait(conn, _record):
                conn.execute("PRAGMA busy_timeout = 0")
        self._engines.append(engine)
        return engine

    def start(self):
        if self.postgres:
            self._thread = threading.Thread(target=self._run, args=(self._engine(),), daemon=True)
            self._thread.start()
            monitor = self._engine().execution_options(isolation_level="AUTOCOMMIT")
            deadline = time.monotonic() + WAIT_LIMIT
            with monitor.connect() as conn:
                while self._thread.is_alive():
                    waiting = conn.execute(
                        text(
                            "select count(*) from pg_stat_activity"
                            " where datname = current_database() and wait_event_type = 'Lock'"
                        )
                    ).scalar()
                    if waiting:
                        self.waited = True
                        return
                    assert time.monotonic() < deadline, "the contender neither finished nor waited"
                    time.sleep(0.002)
        else:
            self._run(self._engine(busy_timeout_zero=True))
            if isinstance(self.outcome, OperationalError) and "locked" in str(self.outcome):
                self.waited, self.outcome = True, None

    def finish(self):
        """The contender's result (or exception), once the paused operation is done."""
        if self._thread is not None:
            self._thread.join(WAIT_LIMIT)
            assert not self._thread.is_alive(), "the contender is still waiting"
        elif self.waited:
            self._run(self._engine())
        for engine in self._engines:
            engine.dispose()
        return self.outcome


@contextmanager
def paused_before(engine, prefix, contender):
    """Run `contender` when `engine` is about to execute a statement starting with `prefix`."""
    fired = []

    def hook(_conn, _cursor, statement, _params, _context, _executemany):
        if not fired and statement.lstrip().upper().startswith(prefix.upper()):
            fired.append(statement)
            contender.start()

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", hook)
    assert fired, f"no statement starting with {prefix!r} was executed"


def outcome(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the test judges what came out
        return exc


def race(engine, db_settings, clock, first, statement, second):
    """`first()` paused before `statement` while `second(accounts, enclaves)` runs."""
    contender = Contender(db_settings.db_url, db_settings, clock, second)
    with paused_before(engine, statement, contender):
        first_outcome = outcome(first)
    return first_outcome, contender.finish(), contender.waited




def assert_gone(accounts, engine, account_id, *tokens):
    """The account, every session and membership of it are gone, and stay gone."""
    with Session(engine) as db:
        assert db.get(Account, account_id) is None
        assert db.exec(select(SessionToken).where(SessionToken.account_id == account_id)).all() == []
        assert db.exec(select(Membership).where(Membership.account_id == account_id)).all() == []
    for token in tokens:
        with pytest.raises(InvalidToken):
            accounts.authenticate(token)


def assert_ok_or_invalid_token(result):
    """The loser of a race gets a domain error, never a database exception."""
    if isinstance(result, Exception) and not isinstance(result, InvalidToken):
        raise AssertionError(f"expected a result or InvalidToken, got {result!r}") from result


# --- DELETE /api/me vs POST /api/accounts/restore -----------------------------


@pytest.mark.parametrize(
    "paused, at, restore_result",
    [
        # The delete lands between the restore's lookup and its write: the audit's
        # StaleDataError on SQLite (and PostgreSQL).
        ("restore", "UPDATE account", "lost"),
        # The restore has written the account and is about to add its session
        # when the delete comes: the delete must wait, then take the new session too.
        ("restore", "INSERT INTO session_token", "won"),
        # The delete has removed the sessions and is about to remove the account
        # when the restore comes: the audit's PostgreSQL case, where the restore's
        # new session made the delete fail (IntegrityError) and the account survived.
        ("delete", "DELETE FROM account", "lost"),
    ],
)
def test_restore_racing_a_delete(accounts, engine, db_settings, clock, paused, at, restore_result):
    created = accounts.create("Racer", remember=True)
    account_id = created.account.id
    clock.advance(minutes=5)  # so the restore has a last-seen time to write
    restore = lambda: accounts.restore(created.recovery_token)  # noqa: E731
    delete = lambda: accounts.delete(account_id)  # noqa: E731
    if paused == "restore":
        restored, deleted, waited = race(engine, db_settings, clock, restore, at, lambda a, _e: a.delete(account_id))
    else:
        deleted, restored, waited = race(
            engine, db_settings, clock, delete, at, lambda a, _e: a.restore(created.recovery_token)
        )

    assert isinstance(deleted, list), f"the delete did not complete: {deleted!r}"
    assert_ok_or_invalid_token(restored)
    # Whoever holds the account row wins; the other waits for it (or came first).
    assert isinstance(restored, InvalidToken) == (restore_result == "lost"), restored
    assert waited == (at != "UPDATE account")
    new_tokens = [] if isinstance(restored, Exception) else [restored.session_token]
    assert_gone(accounts, engine, account_id, created.session_token, *new_tokens)
    with pytest.raises(InvalidToken):
        accounts.restore(created.recovery_token)


def test_a_restore_waiting_on_a_delete_gets_invalid_token(accounts, engine, db_settings, clock):
    created = accounts.create("Late", remember=True)
    clock.advance(minutes=5)
    deleted, restored, waited = race(
        engine,
        db_settings,
        clock,
        lambda: accounts.delete(created.account.id),
        "DELETE FROM membership",  # sessions gone, account not yet
        lambda a, _e: a.restore(created.recovery_token),
    )
    assert isinstance(deleted, list)
    assert waited, "the restore did not wait for the delete in progress"
    assert isinstance(restored, InvalidToken), restored


# --- POST /api/invites/{code}/join vs DELETE /api/me --------------------------


@pytest.mark.parametrize(
    "paused, at, join_result",
    [
        # The delete lands after the join was authenticated, before it writes:
        # the audit's foreign-key IntegrityError on both databases.
        ("join", "UPDATE enclave", "lost"),
        # The join holds the enclave and is about to add the membership.
        ("join", "INSERT INTO membership", "won"),
        # The delete is about to remove the account when the join comes.
        ("delete", "DELETE FROM account", "lost"),
    ],
)
def test_join_racing_a_delete(accounts, enclaves, engine, db_settings, clock, paused, at, join_result):
    host = accounts.create("Host", remember=True).account.id
    guest = accounts.create("Guest", remember=True)
    room = enclaves.create([host, accounts.create("Other", remember=True).account.id])
    code = enclaves.invite(room.id, host).code
    join = lambda: enclaves.join(code, guest.account.id)  # noqa: E731
    delete = lambda: accounts.delete(guest.account.id)  # noqa: E731
    if paused == "join":
        joined, deleted, waited = race(engine, db_settings, clock, join, at, lambda a, _e: a.delete(guest.account.id))
    else:
        deleted, joined, waited = race(
            engine, db_settings, clock, delete, at, lambda _a, e: e.join(code, guest.account.id)
        )

    assert isinstance(deleted, list), f"the delete did not complete: {deleted!r}"
    assert_ok_or_invalid_token(joined)
    assert isinstance(joined, InvalidToken) == (join_result == "lost"), joined
    assert waited == (at != "UPDATE enclave")
    assert_gone(accounts, engine, guest.account.id, guest.session_token)
    assert {m.account_id for m in enclaves.get(room.id, host).members} == {m.account_id for m in room.members}


def test_joining_after_the_account_was_deleted_is_invalid_token(accounts, enclaves, engine):
    host = accounts.create("Host", remember=True).account.id
    guest = accounts.create("Guest", remember=True).account.id
    room = enclaves.create([host])
    code = enclaves.invite(room.id, host).code
    accounts.delete(guest)  # after the join request was authenticated
    with pytest.raises(InvalidToken):
        enclaves.join(code, guest)
    assert [m.account_id for m in enclaves.get(room.id, host).members] == [host]


# --- POST /api/me/recovery-token vs DELETE /api/me -----------------------------


@pytest.mark.parametrize(
    "paused, at",
    [
        # The delete lands between authentication and the rotation's write.
        ("rotate", "UPDATE account"),
        # The delete is in progress when the rotation comes: it must wait.
        ("delete", "DELETE FROM account"),
    ],
)
def test_rotating_while_being_deleted_gives_no_token(accounts, engine, db_settings, clock, paused, at):
    created = accounts.create("Rot", remember=True)
    account_id = created.account.id
    rotate = lambda: accounts.rotate_recovery(account_id)  # noqa: E731
    delete = lambda: accounts.delete(account_id)  # noqa: E731
    if paused == "rotate":
        rotated, deleted, waited = race(engine, db_settings, clock, rotate, at, lambda a, _e: a.delete(account_id))
    else:
        deleted, rotated, waited = race(
            engine, db_settings, clock, delete, at, lambda a, _e: a.rotate_recovery(account_id)
        )
    assert waited == (paused == "delete")
    assert isinstance(deleted, list), f"the delete did not complete: {deleted!r}"
    # A token for an account that is gone, or is going, cannot work: none is given.
    assert isinstance(rotated, InvalidToken), f"expected InvalidToken, got {rotated!r}"
    assert_gone(accounts, engine, account_id, created.session_token)


# --- delete itself -------------------------------------------------------------


def test_deleting_twice_tells_the_second_caller(accounts, engine):
    created = accounts.create("Twice", remember=False)
    accounts.delete(created.account.id)
    with pytest.raises(InvalidToken):
        accounts.delete(created.account.id)
    assert_gone(accounts, engine, created.account.id, created.session_token)


class _FakeDriverError(Exception):
    def __init__(self, pgcode):
        super().__init__(f"fake driver error {pgcode}")
        self.pgcode = pgcode


@pytest.mark.parametrize("pgcode", ["40P01", "40001"])  # deadlock, serialization failure
def test_delete_retries_once_on_a_deadlock(accounts, engine, monkeypatch, pgcode):
    import ephem.accounts as module

    created = accounts.create("Dead", remember=True)
    real, calls = module.delete_accounts, []

    def flaky(db, ids):
        calls.append(ids)
        if len(calls) == 1:
            real(db, ids)  # half done, then the database gives up: all of it must roll back
            raise OperationalError("DELETE FROM account", {}, _FakeDriverError(pgcode))
        return real(db, ids)

    monkeypatch.setattr(module, "delete_accounts", flaky)
    accounts.delete(created.account.id)
    assert len(calls) == 2
    assert_gone(accounts, engine, created.account.id, created.session_token)


def test_delete_gives_up_after_one_retry_and_leaves_nothing_half_done(accounts, engine, monkeypatch):
    import ephem.accounts as module

    created = accounts.create("Stuck", remember=True)
    real = module.delete_accounts

    def always(db, ids):
        real(db, ids)
        raise OperationalError("DELETE FROM account", {}, _FakeDriverError("40P01"))

    monkeypatch.setattr(module, "delete_accounts", always)
    with pytest.raises(OperationalError):
        accounts.delete(created.account.id)
    # Rolled back whole: the account and its session are still there, intact.
    assert accounts.authenticate(created.session_token).id == created.account.id


def test_delete_does_not_retry_other_errors(accounts, monkeypatch):
    import ephem.accounts as module

    created = accounts.create("Other", remember=True)
    calls = []

    def broken(db, ids):
        calls.append(ids)
        raise OperationalError("DELETE FROM account", {}, _FakeDriverError("53300"))

    monkeypatch.setattr(module, "delete_accounts", broken)
    with pytest.raises(OperationalError):
        accounts.delete(created.account.id)
    assert len(calls) == 1


# --- a match being written vs DELETE /api/me ------------------------------------


@pytest.mark.parametrize("at", ["INSERT INTO enclave", "INSERT INTO membership"])
def test_a_match_batch_racing_a_delete_fails_only_that_match(accounts, enclaves, engine, db_settings, clock, at):
    a, b, c, d = (accounts.create(n, remember=True).account.id for n in "ABCD")
    made, deleted, waited = race(
        engine, db_settings, clock, lambda: enclaves.create_many([[a, b], [c, d]]), at, lambda acc, _e: acc.delete(d)
    )
    assert isinstance(deleted, list), f"the delete did not complete: {deleted!r}"
    assert not isinstance(made, Exception), f"the whole batch failed: {made!r}"
    assert {m.account_id for m in made[0].members} == {a, b}  # the other match is unharmed
    # Either the delete waited for the batch and took the new membership with
    # it (PostgreSQL), or it came first and only this match failed (SQLite).
    assert isinstance(made[1], NotFound) != waited
    assert_gone(accounts, engine, d)
    assert [e.id for e in enclaves.list_for(a)] == [made[0].id]
