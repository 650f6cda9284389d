"""Settings from the environment: types, bounds, the secret file, one-line errors."""

import os
import stat
import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from ephem.core.settings import Settings, get_settings
from tests.support.live_app import ROOT

SECRET = "settings-test-secret-0123456789"


@pytest.fixture
def environ(monkeypatch, tmp_path):
    """No EPHEM_ or REFLEX_ variables but the ones a test sets, and a fresh get_settings()."""
    for name in list(os.environ):
        if name.startswith(("EPHEM_", "REFLEX_DB_URL", "REFLEX_REDIS_URL")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REFLEX_DB_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("EPHEM_SECRET_FILE", str(tmp_path / "secret"))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_variables_are_read_in_their_units(environ):
    for name, value in {
        "EPHEM_ACCOUNT_TTL_DAYS": "2",
        "EPHEM_SESSION_GRACE_SECONDS": "90",
        "EPHEM_ENCLAVE_TTL_DAYS": "0.5",
        "EPHEM_SWEEP_INTERVAL_SECONDS": "5",
        "EPHEM_INVITE_TTL_HOURS": "3",
        "EPHEM_MAX_MEMBERS": "4",
        "EPHEM_ICE_SERVERS": '[{"urls": "stun:stun.example:3478"}]',
        "EPHEM_TURN_URLS": "turn:a.example:3478, turn:b.example:3478",
        "EPHEM_PRESENCE_LEASE_SECONDS": "7.5",
        "EPHEM_CALL_VIDEO_CROWD": "3",
        "REFLEX_REDIS_URL": "redis://127.0.0.1:6379/3",
        "EPHEM_SECRET": SECRET,
    }.items():
        environ.setenv(name, value)
    s = get_settings()
    assert (s.account_ttl, s.session_grace, s.enclave_ttl) == (timedelta(days=2), timedelta(seconds=90), timedelta(hours=12))
    assert (s.sweep_interval, s.invite_ttl) == (timedelta(seconds=5), timedelta(hours=3))
    assert s.max_members == 4 and s.call_video_crowd == 3 and s.presence_lease == 7.5
    assert s.ice_servers == ({"urls": "stun:stun.example:3478"},)
    assert s.turn_urls == ("turn:a.example:3478", "turn:b.example:3478")
    assert s.redis_url == "redis://127.0.0.1:6379/3" and s.secret == SECRET.encode()


def test_empty_variables_mean_the_default(environ):
    environ.setenv("EPHEM_MAX_MEMBERS", "")
    environ.setenv("EPHEM_SECRET", SECRET)
    assert get_settings().max_members == Settings.model_fields["max_members"].default


def test_seen_interval_stays_within_the_shortest_lifetime():
    make = lambda **kw: Settings(db_url="sqlite://", secret=SECRET.encode(), **kw)  # noqa: E731
    assert make().seen_interval == timedelta(seconds=60)
    assert make(session_grace_seconds=30).seen_interval == timedelta(seconds=10)
    assert make(session_grace_seconds=1.5).seen_interval == timedelta(seconds=1)


def test_the_secret_file_is_made_once_and_kept_private(environ, tmp_path):
    first = Settings().secret
    assert len(first) >= 16 and Settings().secret == first
    assert (tmp_path / "secret").read_bytes().strip() == first
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    environ.setenv("EPHEM_SECRET", SECRET)
    assert Settings().secret == SECRET.encode()


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("EPHEM_MAX_MEMBERS", "lots", "valid integer"),
        ("EPHEM_MAX_MEMBERS", "1", "greater than or equal to 2"),
        ("EPHEM_ACCOUNT_TTL_DAYS", "0", "greater than 0"),
        ("EPHEM_SWEEP_INTERVAL_SECONDS", "-5", "greater than 0"),
        ("EPHEM_CALL_VIDEO_CROWD", "0", "greater than or equal to 1"),
        ("EPHEM_SIGNUP_RATE", "fast", "valid number"),
        ("EPHEM_ICE_SERVERS", "stun:x", "not JSON"),
        ("EPHEM_SECRET", "short", "at least 16"),
        ("REFLEX_DB_URL", "not a url", "not a database URL"),
        ("REFLEX_DB_URL", "mysql://u@h/db", "no driver installed"),
    ],
)
def test_an_invalid_value_stops_start_up_naming_its_variable(environ, name, value, reason):
    environ.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        get_settings()
    message = str(stopped.value.code)
    assert message.startswith(f"ephem: invalid configuration: {name}: ") and reason in message
    assert "\n" not in message


def test_each_wrong_variable_is_named_on_the_one_line(environ):
    environ.setenv("EPHEM_MAX_MEMBERS", "x")
    environ.setenv("EPHEM_SIGNUP_BURST", "0")
    with pytest.raises(SystemExit) as stopped:
        get_settings()
    message = str(stopped.value.code)
    assert "EPHEM_MAX_MEMBERS: " in message and "; EPHEM_SIGNUP_BURST: " in message and "\n" not in message


def test_direct_construction_is_validated_too():
    with pytest.raises(ValidationError):
        Settings(db_url="sqlite://", secret=SECRET.encode(), max_members=0)


def _run(code_or_module: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EPHEM_")}
    return subprocess.run(
        [sys.executable, *code_or_module], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_a_process_started_with_an_invalid_value_says_so_in_one_line(tmp_path):
    done = _run(
        ["-m", "ephem.core.migrations"],
        {"REFLEX_DB_URL": f"sqlite:///{tmp_path / 'x.db'}", "EPHEM_SECRET": SECRET, "EPHEM_INVITE_TTL_HOURS": "soon"},
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "ephem: invalid configuration: EPHEM_INVITE_TTL_HOURS: Input should be a valid number, unable to parse string as a number"
    ]


def test_the_call_state_takes_the_video_crowd_from_the_settings(tmp_path):
    code = "from ephem.ui.enclave_state import EnclaveState; print(EnclaveState.get_fields()['video_crowd'].default)"
    done = _run(
        ["-c", code],
        {"EPHEM_CALL_VIDEO_CROWD": "3", "EPHEM_SECRET": SECRET, "REFLEX_DB_URL": f"sqlite:///{tmp_path / 'x.db'}"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "3"
