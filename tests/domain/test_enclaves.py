
import pytest

from ephem.enclaves import Enclaves
from ephem.errors import EnclaveFull, NotFound
from ephem.expiry import sweep_all




def people(accounts, *names):
    return [accounts.create(name, remember=True).account.id for name in names]


def test_create_get_and_list(accounts, enclaves, clock):
    a, b, c = people(accounts, "Ali", "Bea", "Cy")
    first = enclaves.create([a, b])
    assert first.name == "Ali & Bea"
    assert [m.name for m in first.members] == ["Ali", "Bea"]
    assert first.expires_at == first.last_active_at + enclaves.settings.enclave_ttl
    clock.advance(minutes=5)
    second = enclaves.create([a, c])
    assert [e.id for e in enclaves.list_for(a)] == [second.id, first.id]
    assert [e.id for e in enclaves.list_for(b)] == [first.id]
    assert enclaves.get(first.id, b).id == first.id
    with pytest.raises(NotFound):
        enclaves.get(first.id, c)  # not a member: indistinguishable from missing
    with pytest.raises(NotFound):
        enclaves.get("missing", a)


def test_matches_made_together_are_written_together(accounts, enclaves):
    a, b, c, d = people(accounts, "Dee", "Cal", "Bo", "Al")
    accounts.delete(d)
    made = enclaves.create_many([[a, b], [c, d], [c, a]])
    assert [m.name for m in made[0].members] == ["Cal", "Dee"]  # by name, as get() lists them
    assert isinstance(made[1], NotFound)  # Al is gone; the others are made all the same
    assert made[2].name == "Bo & Dee"
    for view, member in ((made[0], b), (made[2], c)):
        assert enclaves.get(view.id, member) == view
    assert [e.id for e in enclaves.list_for(c)] == [made[2].id]


def test_invites_join_expire_and_revoke(accounts, enclaves, clock):
    a, b, c, d = people(accounts, "A", "B", "C", "D")
    room = enclaves.create([a, b])
    with pytest.raises(NotFound):
        enclaves.invite(room.id, c)  # members only
    invitation = enclaves.invite(room.id, a)
    assert len(invitation.code) >= 22
    joined = enclaves.join(invitation.code, c)
    assert [m.name for m in joined.members] == ["A", "B", "C"]
    assert enclaves.join(invitation.code, c).members == joined.members  # idempotent
    clock.advance(hours=25)
    with pytest.raises(NotFound):
        enclaves.join(invitation.code, d)  # expired
    fresh = enclaves.invite(room.id, b)
    assert enclaves.revoke_invites(room.id, b) == 2
    with pytest.raises(NotFound):
        enclaves.join(fresh.code, d)
    for bad in ("", "nope", None, "x" * 500):
        with pytest.raises(NotFound):
            enclaves.join(bad, d)


def test_checking_an_invite_names_the_enclave_and_changes_nothing(accounts, enclaves, clock):
    a, b, c = people(accounts, "Ali", "Bea", "Cy")
    room = enclaves.create([a, b])
    code = enclaves.invite(room.id, a).code
    before = enclaves.get(room.id, a)
    assert enclaves.check_invite(code) == "Ali & Bea"
    assert enclaves.get(room.id, a) == before  # no member added, no activity recorded
    assert not enclaves.is_member(room.id, c)
    clock.advance(hours=25)
    with pytest.raises(NotFound, match="not valid or has expired"):
        enclaves.check_invite(code)  # expired
    fresh = enclaves.invite(room.id, b).code
    assert enclaves.check_invite(fresh) == "Ali & Bea"
    enclaves.revoke_invites(room.id, b)
    with pytest.raises(NotFound, match="not valid or has expired"):
        enclaves.check_invite(fresh)  # revoked
    for bad in ("", "nope", None, "x" * 500, 42):
        with pytest.raises(NotFound):
            enclaves.check_invite(bad)


def test_enclaves_have_a_member_cap(accounts, enclaves, db_settings, engine, clock):
    small = Enclaves(engine, db_settings.model_copy(update={"max_members": 3}), clock)
    a, b, c, d = people(accounts, "A", "B", "C", "D")
    room = small.create([a, b])
    code = small.invite(room.id, a).code
    small.join(code, c)
    with pytest.raises(EnclaveFull):
        small.join(code, d)


def test_leave_and_last_one_out(accounts, enclaves, engine, db_settings, clock):
    a, b = people(accounts, "A", "B")
    room = enclaves.create([a, b])
    enclaves.leave(room.id, a)
    assert not enclaves.is_member(room.id, a) and enclaves.is_member(room.id, b)
    with pytest.raises(NotFound):
        enclaves.leave(room.id, a)
    enclaves.leave(room.id, b)
    assert sweep_all(engine, db_settings, clock).enclaves == 1


def test_activity_keeps_an_enclave(accounts, enclaves, engine, db_settings, clock):
    sessions = [accounts.create(n, remember=True).session_token for n in ("A", "B")]
    a, b = (accounts.authenticate(t).id for t in sessions)
    room = enclaves.create([a, b])
    clock.advance(days=20)
    enclaves.touch(room.id)
    for token in sessions:
        accounts.authenticate(token)
    clock.advance(days=20)
    assert sweep_all(engine, db_settings, clock).enclaves == 0
    assert enclaves.get(room.id, a).last_active_at < clock()


def test_invites_of_a_swept_enclave_go_with_it(accounts, enclaves, engine, db_settings, clock):
    (a,) = people(accounts, "A")
    room = enclaves.create([a])
    code = enclaves.invite(room.id, a).code
    accounts.delete(a)
    assert sweep_all(engine, db_settings, clock).enclaves == 1
    (b,) = people(accounts, "B")
    with pytest.raises(NotFound):
        enclaves.join(code, b)


def test_concurrent_joins_respect_the_cap_and_double_clicks(accounts, engine, db_settings, clock):
    from concurrent.futures import ThreadPoolExecutor

    small = Enclaves(engine, db_settings.model_copy(update={"max_members": 3}), clock)
    a, b, *others = people(accounts, "A", "B", *(f"J{i}" for i in range(8)))
    room = small.create([a, b])
    code = small.invite(room.id, a).code

    def join(account_id):
        try:
            small.join(code, account_id)
            return "joined"
        except EnclaveFull:
            return "full"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(join, others + [others[0]] * 4))
    assert len(small.get(room.id, a).members) == 3
    assert results.count("full") >= len(others) - 1


def test_ids_that_are_not_uuids_are_not_found(accounts, enclaves):
    (a,) = people(accounts, "A")
    for bad in ("a\x00b", "x" * 36, "", None):
        with pytest.raises(NotFound):
            enclaves.get(bad, a)
        assert enclaves.is_member(bad, a) is False


def test_the_name_drops_a_member_who_leaves_or_is_deleted(accounts, enclaves, clock):
    a, b, c = people(accounts, "Ali", "Bea", "Cy")
    room = enclaves.create([a, b])
    clock.advance(minutes=1)
    enclaves.join(enclaves.invite(room.id, a).code, c)
    assert enclaves.get(room.id, a).name == "Ali & Bea"  # named by the match, not by who joins later
    accounts.delete(b)
    assert enclaves.get(room.id, a).name == "Ali"
    assert [e.name for e in enclaves.list_for(c)] == ["Ali"]
    assert enclaves.check_invite(enclaves.invite(room.id, c).code) == "Ali"
    enclaves.leave(room.id, a)
    assert enclaves.get(room.id, c).name == "Cy"  # none of the match left: who is there


def test_the_name_drops_a_member_the_sweep_deletes(accounts, enclaves, clock):
    keeper = accounts.create("Keeper", remember=True).account.id
    fleeting = accounts.create("Fleeting", remember=False).account.id
    room = enclaves.create([keeper, fleeting])
    clock.advance(seconds=enclaves.settings.session_grace.total_seconds() + 1)
    assert sweep_all(enclaves.engine, enclaves.settings, clock).accounts == 1
    assert enclaves.get(room.id, keeper).name == "Keeper"
