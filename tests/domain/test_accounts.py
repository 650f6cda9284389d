from datetime import timedelta

import pytest

from ephem.accounts import normalize_name
from ephem.errors import InvalidName, InvalidToken
from ephem.models import Account, SessionToken
from ephem.core.tokens import TokenHasher
from sqlmodel import Session, select



@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Alice  ", "Alice"),
        ("مریم", "مریم"),
        ("علی\u200cرضا", "علی\u200cرضا"),  # Persian needs the zero-width non-joiner
        ("محمد", "محمد"),
        ("Дмитрий", "Дмитрий"),
        ("অনিন্দ্য", "অনিন্দ্য"),
        ("e\u0301", "\u00e9"),  # NFC
        ("x" * 32, "x" * 32),
        ("\u0958" * 20, "\u0915\u093c" * 20),  # NFC decomposes it: still 20 characters
        ("👩\u200d💻 Ada", "👩\u200d💻 Ada"),  # an emoji joined with ZWJ
        ("Sam 🏴󠁧󠁢󠁥󠁮󠁧󠁿", "Sam 🏴󠁧󠁢󠁥󠁮󠁧󠁿"),  # the flag of England: a black flag and tag characters
    ],
)
def test_names_in_any_script_are_accepted(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", "x" * 33, "bad\x00name", "tab\there", "line\nbreak", "evil\u202ename", "\u2028", None, 42,
        # Invisible: zero-width space, word joiner, BOM, soft hyphen, Hangul filler, braille blank, marks alone
        "\u200b", "B\u200bob", "\u2060", "\ufeff", "\u00ad", "\u3164", "\u2800\u2800", "\u0301\u0301", "\U000e0041",
        "\u061cAli",  # the Arabic letter mark reorders text like U+202E
        "e" + "\u0301" * 65,  # more code points than the column holds
    ],
)
def test_bad_names_are_rejected_with_a_clear_message(raw):
    with pytest.raises(InvalidName) as caught:
        normalize_name(raw)
    assert caught.value.code == "invalid_name"
    assert caught.value.message


def test_hashes_are_keyed_labelled_and_compared():
    hasher = TokenHasher(b"k" * 32)
    digest = hasher.digest("session", "tok")
    assert len(digest) == 64 and "tok" not in digest
    assert hasher.matches("session", "tok", digest)
    assert not hasher.matches("recovery", "tok", digest)
    assert TokenHasher(b"j" * 32).digest("session", "tok") != digest
    with pytest.raises(ValueError):
        TokenHasher(b"short")


def test_create_stores_only_hashes(accounts, engine):
    created = accounts.create("  Sara ", remember=True)
    assert created.account.name == "Sara"
    assert len(created.session_token) >= 22 and len(created.recovery_token) >= 22  # ≥128 bits
    with Session(engine) as db:
        row = db.exec(select(Account)).one()
        sessions = db.exec(select(SessionToken)).all()
    assert created.recovery_token not in row.recovery_hash
    assert [s.token_hash for s in sessions] != [created.session_token]
    assert accounts.authenticate(created.session_token).id == created.account.id


def test_invalid_name_creates_nothing(accounts, engine):
    with pytest.raises(InvalidName):
        accounts.create("\x07", remember=False)
    with Session(engine) as db:
        assert db.exec(select(Account)).all() == []


def test_unknown_session_token_is_refused(accounts):
    accounts.create("A", remember=True)
    for token in ["", "nope", None, 5]:
        with pytest.raises(InvalidToken):
            accounts.authenticate(token)


def test_restore_gives_a_new_session_and_keeps_the_old(accounts):
    created = accounts.create("Nika", remember=True)
    restored = accounts.restore("  " + created.recovery_token + "\n")
    assert restored.account.id == created.account.id
    assert restored.session_token != created.session_token
    assert accounts.authenticate(restored.session_token).id == created.account.id
    assert accounts.authenticate(created.session_token).id == created.account.id
    with pytest.raises(InvalidToken):
        accounts.restore(created.session_token)  # a session token is not a recovery token


def test_rotation_retires_the_old_recovery_token(accounts):
    created = accounts.create("Omid", remember=True)
    fresh = accounts.rotate_recovery(created.account.id)
    assert fresh != created.recovery_token
    with pytest.raises(InvalidToken):
        accounts.restore(created.recovery_token)
    assert accounts.restore(fresh).account.id == created.account.id


def test_restoring_in_a_loop_keeps_a_bounded_number_of_sessions(accounts, engine, db_settings):
    created = accounts.create("Loop", remember=True)
    for _ in range(db_settings.max_sessions_per_account + 5):
        newest = accounts.restore(created.recovery_token).session_token
    with Session(engine) as db:
        assert len(db.exec(select(SessionToken)).all()) == db_settings.max_sessions_per_account
    assert accounts.authenticate(newest).id == created.account.id


def test_end_session_and_delete(accounts):
    created = accounts.create("Bye", remember=True)
    second = accounts.restore(created.recovery_token).session_token
    accounts.end_session(created.session_token)
    with pytest.raises(InvalidToken):
        accounts.authenticate(created.session_token)
    assert accounts.authenticate(second).id == created.account.id
    accounts.delete(created.account.id)
    with pytest.raises(InvalidToken):
        accounts.authenticate(second)
    with pytest.raises(InvalidToken):
        accounts.restore(created.recovery_token)


def test_seen_is_written_at_most_once_a_minute(accounts, engine, clock):
    created = accounts.create("Seen", remember=True)
    start = created.account.last_seen_at

    def stored():
        with Session(engine) as db:
            return db.get(Account, created.account.id).last_seen_at

    clock.advance(seconds=30)
    accounts.authenticate(created.session_token)
    assert stored() == start
    clock.advance(seconds=31)
    accounts.authenticate(created.session_token)
    assert stored() == start + timedelta(seconds=61)


def test_expires_at_follows_remember(accounts, db_settings):
    kept = accounts.create("K", remember=True).account
    tab = accounts.create("T", remember=False).account
    assert accounts.expires_at(kept) == kept.last_seen_at + db_settings.account_ttl
    assert accounts.expires_at(tab) == tab.last_seen_at + db_settings.session_grace
