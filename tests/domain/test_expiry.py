import uuid

import pytest
from sqlmodel import Session, select

from ephem.errors import InvalidToken
from ephem.expiry import sweep_all, sweep_once
from ephem.models import Enclave, Membership



def _enclave(engine, clock, *account_ids) -> str:
    enclave_id = str(uuid.uuid4())
    with Session(engine) as db:
        db.add(Enclave(id=enclave_id, name="room", created_at=clock(), last_active_at=clock()))
        db.flush()
        for account_id in account_ids:
            db.add(Membership(enclave_id=enclave_id, account_id=account_id, joined_at=clock()))
        db.commit()
    return enclave_id


def _enclave_ids(engine):
    with Session(engine) as db:
        return set(db.exec(select(Enclave.id)).all())


def test_remembered_accounts_live_thirty_days_from_last_seen(accounts, engine, db_settings, clock):
    kept = accounts.create("Kept", remember=True)
    clock.advance(days=29)
    accounts.authenticate(kept.session_token)  # seen again: the 30 days start over
    clock.advance(days=29)
    assert sweep_all(engine, db_settings, clock).accounts == 0
    clock.advance(days=1, seconds=1)
    assert sweep_all(engine, db_settings, clock).accounts == 1
    with pytest.raises(InvalidToken):
        accounts.restore(kept.recovery_token)


def test_session_only_accounts_go_after_the_grace_period(accounts, engine, db_settings, clock):
    tab = accounts.create("Tab", remember=False)
    kept = accounts.create("Kept", remember=True)
    clock.advance(seconds=599)
    assert sweep_all(engine, db_settings, clock).accounts == 0
    clock.advance(seconds=2)
    assert sweep_all(engine, db_settings, clock).accounts == 1
    with pytest.raises(InvalidToken):
        accounts.authenticate(tab.session_token)
    assert accounts.authenticate(kept.session_token)


def test_enclaves_go_when_idle_or_memberless(accounts, engine, db_settings, clock):
    a_new = accounts.create("A", remember=True)
    a, b = a_new.account, accounts.create("B", remember=True).account
    busy = _enclave(engine, clock, a.id, b.id)
    empty = _enclave(engine, clock)
    clock.advance(days=10)
    assert sweep_all(engine, db_settings, clock).enclaves == 1
    assert _enclave_ids(engine) == {busy}
    accounts.authenticate(a_new.session_token)  # A stays; B will expire
    idle = _enclave(engine, clock, a.id)
    clock.advance(days=20, seconds=1)  # `busy` is now 30 days idle, `idle` 20
    result = sweep_all(engine, db_settings, clock)
    assert (result.accounts, result.enclaves) == (1, 1)
    assert _enclave_ids(engine) == {idle}
    assert empty not in _enclave_ids(engine)


def test_deleting_an_account_empties_its_enclaves_for_the_sweep(accounts, engine, db_settings, clock):
    a = accounts.create("A", remember=True).account
    room = _enclave(engine, clock, a.id)
    accounts.delete(a.id)
    with Session(engine) as db:
        assert db.exec(select(Membership)).all() == []
    assert sweep_all(engine, db_settings, clock).enclaves == 1
    assert room not in _enclave_ids(engine)


def test_sweep_works_in_bounded_batches(accounts, engine, db_settings, clock):
    for i in range(7):
        accounts.create(f"n{i}", remember=False)
    clock.advance(hours=1)
    assert sweep_once(engine, db_settings, clock, batch=3).accounts == 3
    assert sweep_once(engine, db_settings, clock, batch=3).accounts == 3
    assert sweep_all(engine, db_settings, clock, batch=3).accounts == 1


def test_the_sweep_says_whose_memberships_it_removed(accounts, enclaves, engine, db_settings, clock):
    keeper = accounts.create("Keeper", remember=True).account.id
    fleeting = accounts.create("Fleeting", remember=False).account.id
    first, second = enclaves.create([keeper, fleeting]), enclaves.create([fleeting, keeper])
    clock.advance(seconds=db_settings.session_grace.total_seconds() + 1)
    result = sweep_all(engine, db_settings, clock, batch=1)
    assert sorted(result.left) == sorted([(first.id, fleeting), (second.id, fleeting)])
    assert result.left_by_account().keys() == {fleeting}
    assert sorted(result.left_by_account()[fleeting]) == sorted([first.id, second.id])
