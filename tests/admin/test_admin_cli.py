"""`python -m ephem.admin` run as operators run it: a subprocess on the configured database."""

import os
import subprocess
import sys

from ephem.accounts import Accounts
from ephem.enclaves import Enclaves
from ephem.safety import Safety

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def admin(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REFLEX_DB_URL": db_url, "EPHEM_SECRET": "test-secret-of-enough-length-0123456789"}
    return subprocess.run(
        [sys.executable, "-m", "ephem.admin", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_reports_show_ban_unban(engine, db_settings, db_url, clock):
    accounts, enclaves = Accounts(engine, db_settings, clock), Enclaves(engine, db_settings, clock)
    safety = Safety(engine, db_settings, clock)
    mal, ana = accounts.create("Mallory", True), accounts.create("Ana", True)
    room = enclaves.create([mal.account.id, ana.account.id])
    evidence = [{"name": "Mallory", "text": "send me money سلام", "ts": "2026-01-01T00:00:00Z", "mine": False}]
    report = safety.report(ana.account.id, mal.account.id, "scam", evidence, room.id)

    listed = admin(db_url, "reports", "--open")
    assert listed.returncode == 0, listed.stderr
    assert report.id in listed.stdout and "'Mallory'" in listed.stdout and "1 messages" in listed.stdout
    shown = admin(db_url, "show", report.id)
    assert shown.returncode == 0 and "send me money سلام" in shown.stdout and "scam" in shown.stdout

    banned = admin(db_url, "ban", mal.account.id, "--reason", "scam")
    assert banned.returncode == 0, banned.stderr
    assert accounts.engine  # the same database, seen from here:
    try:
        accounts.authenticate(mal.session_token)
        raise AssertionError("a banned account signed in")
    except Exception as exc:  # noqa: BLE001 - checked just below
        assert getattr(exc, "code", "") == "banned"
    assert admin(db_url, "reports", "--open").stdout.strip() == "no reports"  # the ban closed it
    assert "[banned]" in admin(db_url, "reports").stdout
    assert mal.account.id in admin(db_url, "bans").stdout

    assert admin(db_url, "unban", mal.account.id).returncode == 0
    assert accounts.authenticate(mal.session_token).id == mal.account.id
    assert admin(db_url, "bans").stdout.strip() == "no bans"

    for args in (("unban", mal.account.id), ("show", "nope"), ("ban", "00000000-0000-0000-0000-000000000000")):
        failed = admin(db_url, *args)
        assert failed.returncode == 1 and failed.stderr.startswith("ephem.admin: ") and "Traceback" not in failed.stderr
    assert admin(db_url, "frobnicate").returncode == 2  # argparse's usage error
