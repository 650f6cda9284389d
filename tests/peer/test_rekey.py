"""ephem/peer/rekey.py: the cases of tests/js/rekey.test.mjs, for the Python twin."""

from dataclasses import dataclass

from ephem.peer.rekey import is_polite, place


@dataclass(eq=False)
class Link:
    peer_id: str
    account_id: str
    stale: bool = False
    open: bool = True


def test_a_link_made_for_that_very_connection_is_kept():
    mine = Link("p1", "a")
    assert place([mine], {"peer_id": "p1", "account_id": "a"}) == ("known", mine)


def test_the_one_stale_open_link_to_the_account_is_rekeyed():
    kept, other = Link("old", "a", stale=True), Link("p2", "b", stale=True)
    assert place([other, kept], {"peer_id": "new", "account_id": "a"}) == ("rekey", kept)


def test_a_second_connection_of_an_account_gets_its_own_link():
    assert place([Link("p1", "a")], {"peer_id": "p9", "account_id": "a"}) == ("new", None)


def test_a_stale_link_whose_channel_is_closed_is_not_kept():
    assert place([Link("old", "a", stale=True, open=False)], {"peer_id": "new", "account_id": "a"}) == ("new", None)


def test_two_stale_links_to_one_account_are_not_guessed():
    links = [Link("t1", "a", stale=True), Link("t2", "a", stale=True)]
    assert place(links, {"peer_id": "new", "account_id": "a"}) == ("new", None)


def test_a_peer_never_seen_gets_a_new_link():
    assert place([Link("p1", "a", stale=True)], {"peer_id": "p2", "account_id": "b"}) == ("new", None)
    assert place([], {"peer_id": "p2", "account_id": "b"}) == ("new", None)


def test_both_ends_agree_on_who_is_polite():
    assert is_polite("a", "b") and not is_polite("b", "a")
