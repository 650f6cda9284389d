import os
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from ephem.accounts import Accounts
from ephem.core.db import make_engine
from ephem.enclaves import Enclaves
from ephem.core.migrations import upgrade
from ephem.core.settings import Settings

# Redis fixtures (`redis`, `redis_connect`, `redis_prefix`) for every test module.
pytest_plugins = ["tests.support.redis_fixtures"]

PG_ADMIN_URL = os.environ.get("EPHEM_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> Settings:
    return Settings(db_url="sqlite://", secret=b"test-secret-of-enough-length-0123456789")


def _postgres_database():
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not reachable"
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}")
    name = f"ephem_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    return admin, name, PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_url():
    admin, name, url = _postgres_database()
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'ephem.db'}"
    upgrade(url)
    return url


def _clean(engine) -> None:
    with engine.begin() as conn:
        for table in ("report", "block", "invite", "membership", "session_token", "enclave", "account"):
            conn.execute(text(f"delete from {table}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """Every database test runs on SQLite and on the machine's PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    _clean(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_settings(settings, db_url) -> Settings:
    return settings.model_copy(update={"db_url": db_url})


@pytest.fixture
def accounts(engine, db_settings, clock) -> Accounts:
    return Accounts(engine, db_settings, clock)


@pytest.fixture
def enclaves(engine, db_settings, clock) -> Enclaves:
    return Enclaves(engine, db_settings, clock)


@pytest.fixture
async def server(engine, db_settings):
    """The hub and REST API served for real on a free port."""
    from tests.support.hubserver import serve

    async with serve(engine, db_settings) as running:
        yield running


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """The whole app, started once with `reflex run` for every browser test."""
    from tests.support.live_app import running_app

    # A call of three is "crowded" here, so its lower-resolution video is tested.
    with running_app(tmp_path_factory.mktemp("live"), {"EPHEM_CALL_VIDEO_CROWD": "2"}) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API holds an event loop on this thread
    # while it runs, which the asyncio tests of other modules must not meet.
    from playwright.sync_api import sync_playwright

    from tests.support.live_app import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
