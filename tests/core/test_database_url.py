"""The database URLs hosts hand out, and a database that cannot be reached."""

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from ephem.core.settings import Settings, normalize_db_url
from tests.conftest import _postgres_database
from tests.support.live_app import ROOT, START_TIMEOUT, _wait, free_port, stop_process

SECRET = "database-test-secret-0123456789"


@pytest.mark.parametrize(
    "given, used",
    [
        ("postgresql://user@host/db", "postgresql+psycopg2://user@host/db"),
        ("postgres://user:pw@host:6543/db?sslmode=require", "postgresql+psycopg2://user:pw@host:6543/db?sslmode=require"),
        ("postgresql+psycopg2://user@host/db", "postgresql+psycopg2://user@host/db"),
        ("sqlite:///postgresql://", "sqlite:///postgresql://"),
        ("sqlite:////tmp/ephem.db", "sqlite:////tmp/ephem.db"),
    ],
)
def test_postgres_urls_name_the_installed_driver(given, used):
    assert normalize_db_url(given) == used
    assert Settings(db_url=given, secret=SECRET.encode()).db_url == used


def _env(db_url: str, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPHEM_")}
    return {**env, "REFLEX_DB_URL": db_url, "EPHEM_SECRET": SECRET, "REFLEX_STATES_WORKDIR": str(tmp_path / "states")}


@pytest.fixture
def plain_postgres_url():
    """A fresh database, named by the plain `postgresql://` URL a host hands out."""
    admin, name, url = _postgres_database()
    yield make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


def test_migrations_run_on_a_plain_postgresql_url(plain_postgres_url, tmp_path):
    assert plain_postgres_url.startswith("postgresql://")
    done = subprocess.run(
        [sys.executable, "-m", "ephem.core.migrations"],
        cwd=ROOT, env=_env(plain_postgres_url, tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "database is up to date" in done.stdout
    engine = create_engine(normalize_db_url(plain_postgres_url))
    try:
        assert {"account", "enclave", "membership", "session_token", "invite"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_backend_serves_on_a_plain_postgresql_url(plain_postgres_url, tmp_path):
    subprocess.run([sys.executable, "-m", "ephem.core.migrations", plain_postgres_url], cwd=ROOT, check=True, timeout=120)
    port = free_port()
    log = tmp_path / "backend.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only", "--backend-port", str(port)],
            cwd=ROOT, env=_env(plain_postgres_url, tmp_path), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait(f"http://127.0.0.1:{port}/api/health", proc, log, time.monotonic() + START_TIMEOUT)
    finally:
        stop_process(proc)


def _closed_port_url() -> str:
    return f"postgresql://postgres:hunter2@127.0.0.1:{free_port()}/ephem"


def _assert_one_clear_line(done: subprocess.CompletedProcess, url: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    port = make_url(url).port
    assert lines[0].startswith("ephem: cannot use the database postgresql+psycopg2://postgres:***@127.0.0.1:")
    assert f"port {port} failed" in lines[0] and "hunter2" not in lines[0]


def test_migrations_on_an_unreachable_database_say_so_in_one_line(tmp_path):
    url = _closed_port_url()
    done = subprocess.run(
        [sys.executable, "-m", "ephem.core.migrations"],
        cwd=ROOT, env=_env(url, tmp_path), capture_output=True, text=True, timeout=120,
    )
    _assert_one_clear_line(done, url)


def test_the_backend_stops_on_an_unreachable_database_with_one_line(tmp_path):
    url = _closed_port_url()
    done = subprocess.run(
        [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only", "--backend-port", str(free_port())],
        cwd=ROOT, env=_env(url, tmp_path), capture_output=True, text=True, timeout=START_TIMEOUT,
    )
    _assert_one_clear_line(done, url)
