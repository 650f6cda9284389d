"""Engine and sessions for SQLite (default) and PostgreSQL."""

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from ephem.core.settings import get_settings, normalize_db_url


def make_engine(url: str) -> Engine:
    url = normalize_db_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):
            cursor = conn.cursor()
            # WAL lets the sweep and requests overlap; foreign keys are off by
            # default in SQLite and on everywhere else.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def unreachable(url: str | URL, error: OperationalError) -> str:
    """One line: which database could not be used (password hidden), and the driver's reason."""
    shown = make_url(normalize_db_url(str(url))) if isinstance(url, str) else url
    lines = str(error.orig or error).strip().splitlines()
    return f"ephem: cannot use the database {shown.render_as_string(hide_password=True)}: {lines[0] if lines else type(error).__name__}"


def require_database(engine: Engine) -> None:
    """Stop start-up with that one line when the database cannot be reached."""
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise SystemExit(unreachable(engine.url, exc)) from None


@functools.cache
def get_engine() -> Engine:
    return make_engine(get_settings().db_url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
