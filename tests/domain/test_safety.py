"""Blocks, reports, bans, hosts and removal, on SQLite and PostgreSQL."""

import pytest

from ephem.errors import Banned, EphemError, Forbidden, Invalid, InvalidToken, NotFound
from ephem.expiry import sweep_all
from ephem.safety import EVIDENCE_MAX, Safety
from tests.domain.test_enclaves import people


@pytest.fixture
def safety(engine, db_settings, clock) -> Safety:
    return Safety(engine, db_settings, clock)


def test_block_needs_a_shared_enclave_and_lists_and_lifts(accounts, enclaves, safety, clock):
    a, b, c = people(accounts, "Ana", "Ben", "Cy")
    enclaves.create([a, b])
    with pytest.raises(NotFound):
        safety.block(a, c)  # a stranger's id: nothing to learn about it
    with pytest.raises(NotFound):
        safety.block(a, "not-an-id")
    with pytest.raises(Invalid):
        safety.block(a, a)
    view = safety.block(a, b)
    assert (view.account_id, view.name) == (b, "Ben")
    clock.advance(seconds=1)
    assert safety.block(a, b) == view  # twice: harmless, the first stands
    assert safety.blocks_of(a) == [view]
    assert safety.blocks_of(b) == []
    # Both sides avoid each other in matchmaking; nobody else is avoided.
    assert safety.avoided(a) == {b} and safety.avoided(b) == {a} and safety.avoided(c) == frozenset()
    safety.unblock(a, b)
    assert safety.blocks_of(a) == [] and safety.avoided(b) == frozenset()
    with pytest.raises(NotFound):
        safety.unblock(a, b)
    with pytest.raises(NotFound):
        safety.unblock(a, 12)


def test_avoided_many_answers_a_burst_of_searches_each_as_alone(accounts, enclaves, safety):
    a, b, c, d = people(accounts, "Ana", "Ben", "Cy", "Dee")
    enclaves.create([a, b, c, d])
    safety.block(a, b)
    safety.block(c, a)
    safety.ban(d, "abuse")
    burst = [a, b, c, d, a, "no-such-account"]
    answers = safety.avoided_many(burst)
    assert answers[:3] == [{b, c}, {a}, {a}] and answers[4] == {b, c}
    assert isinstance(answers[3], Banned) and answers[3].code == "banned"
    assert answers[5] == frozenset()  # a deleted account avoids nobody (its search fails elsewhere)
    # The same as asking one by one.
    for account_id, answer in zip(burst, answers):
        if isinstance(answer, Banned):
            with pytest.raises(Banned):
                safety.avoided(account_id)
        else:
            assert safety.avoided(account_id) == answer


def test_blocks_go_with_either_account(accounts, enclaves, safety, clock, db_settings):
    a, b, c = people(accounts, "Ana", "Ben", "Cy")
    enclaves.create([a, b])
    enclaves.create([c, b])
    safety.block(a, b)
    safety.block(b, c)
    accounts.delete(b)
    assert safety.blocks_of(a) == [] and safety.avoided(c) == frozenset()
    # And when an account expires.
    d = people(accounts, "Dee")[0]
    enclaves.create([a, d])
    safety.block(d, a)
    clock.advance(days=db_settings.account_ttl.days + 1)
    sweep_all(accounts.engine, db_settings, clock)
    with pytest.raises(InvalidToken):
        accounts.get(d)
    from sqlmodel import Session, select
    from ephem.models import Block

    with Session(accounts.engine) as db:
        assert db.exec(select(Block)).all() == []


def test_report_keeps_only_what_was_sent_within_bounds(accounts, enclaves, safety):
    a, b, c = people(accounts, "Ana", "Ben", "Cy")
    enclave = enclaves.create([a, b])
    evidence = [{"name": "Ben", "text": "سلام, pay me", "ts": "2026-01-01T00:00:00Z", "mine": False}]
    report = safety.report(a, b, "  spam  ", evidence, enclave.id)
    assert report.reason == "spam" and report.reported_name == "Ben" and report.enclave_id == enclave.id
    assert [e.text for e in report.evidence] == ["سلام, pay me"]
    assert safety.get_report(report.id) == report
    assert [r.id for r in safety.reports(open_only=True)] == [report.id]

    bad = [
        (a, b, "", []),
        (a, b, "x" * 501, []),
        (a, b, "spam", [{"name": "B", "text": "t", "ts": "", "mine": False}] * (EVIDENCE_MAX + 1)),
        (a, b, "spam", [{"name": "B", "text": "t" * 4001, "ts": "", "mine": False}]),
        (a, b, "spam", [{"name": "B", "text": "t", "ts": "", "mine": "yes"}]),
        (a, b, "spam", [{"text": "t", "extra": 1}]),
        (a, b, "spam", "not a list"),
        (a, b, "\ud800", []),
        (a, a, "spam", []),
        (a, c, "spam", []),  # shares no enclave with Cy
        (c, b, "spam", []),
        (a, "nope", "spam", []),
    ]
    for reporter, reported, reason, messages in bad:
        with pytest.raises(EphemError):
            safety.report(reporter, reported, reason, messages)
    with pytest.raises(NotFound):
        safety.report(c, b, "spam", [], enclave.id)  # not a member of that enclave
    assert len(safety.reports()) == 1  # nothing else was stored

    # Left already: still reportable from the enclave where they met.
    enclaves.leave(enclave.id, b)
    later = safety.report(a, b, "left and came back as someone else", [], enclave.id)
    safety.close_report(later.id)
    assert [r.id for r in safety.reports(open_only=True)] == [report.id]
    assert {r.id for r in safety.reports()} == {report.id, later.id}
    with pytest.raises(NotFound):
        safety.close_report("00000000-0000-0000-0000-000000000000")


def test_ban_refuses_every_token_and_unban_lifts_it(accounts, enclaves, safety):
    created = accounts.create("Mallory", remember=True)
    other = people(accounts, "Ana")[0]
    enclaves.create([created.account.id, other])
    report = safety.report(other, created.account.id, "abuse")
    ban = safety.ban(created.account.id, "abuse")
    assert ban.name == "Mallory" and ban.reason == "abuse"
    assert safety.get_report(report.id).closed_at is not None  # closed by the ban
    assert safety.get_report(report.id).banned is True
    for attempt in (
        lambda: accounts.authenticate(created.session_token),
        lambda: accounts.restore(created.recovery_token),
        lambda: safety.avoided(created.account.id),
    ):
        with pytest.raises(Banned) as caught:
            attempt()
        assert caught.value.code == "banned"
    assert safety.banned_among([created.account.id, other]) == {created.account.id}
    assert [b.account_id for b in safety.bans()] == [created.account.id]
    assert safety.ban(created.account.id, "again").banned_at == ban.banned_at
    safety.unban(created.account.id)
    assert accounts.authenticate(created.session_token).id == created.account.id
    assert safety.bans() == []
    with pytest.raises(NotFound):
        safety.unban(created.account.id)
    with pytest.raises(NotFound):
        safety.ban("00000000-0000-0000-0000-000000000000")


def test_hosts_remove_invitees_whose_invites_stop_working(accounts, enclaves, clock):
    a, b, c, d = people(accounts, "Ana", "Ben", "Cy", "Dee")
    view = enclaves.create([a, b])
    clock.advance(seconds=1)
    assert view.is_host(a) and view.is_host(b)
    code_c = enclaves.join(enclaves.invite(view.id, a).code, c) and enclaves.invite(view.id, c).code
    after = enclaves.get(view.id, a)
    assert not after.is_host(c)
    with pytest.raises(Forbidden):
        enclaves.remove(view.id, c, a)  # an invitee is no host
    with pytest.raises(Forbidden):
        enclaves.remove(view.id, a, b)  # hosts cannot remove each other
    with pytest.raises(Invalid):
        enclaves.remove(view.id, a, a)
    with pytest.raises(NotFound):
        enclaves.remove(view.id, a, d)
    with pytest.raises(NotFound):
        enclaves.remove(view.id, d, c)  # not a member at all
    enclaves.remove(view.id, a, c)
    assert [m.account_id for m in enclaves.get(view.id, a).members] == [a, b]
    with pytest.raises(NotFound):
        enclaves.join(code_c, d)  # the removed member's invite went with them


def test_a_member_who_left_cannot_use_their_invites(accounts, enclaves):
    a, b, c = people(accounts, "Ana", "Ben", "Cy")
    view = enclaves.create([a, b])
    mine, theirs = enclaves.invite(view.id, a).code, enclaves.invite(view.id, b).code
    enclaves.leave(view.id, a)
    with pytest.raises(NotFound):
        enclaves.join(mine, c)
    assert enclaves.join(theirs, c).id == view.id
