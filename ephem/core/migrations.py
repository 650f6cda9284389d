"""Apply alembic migrations from Python: `python -m ephem.core.migrations [URL]`."""

import sys

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from ephem.core.db import unreachable
from ephem.core.settings import ROOT, get_settings, normalize_db_url


def upgrade(url: str | None = None) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = normalize_db_url(url) if url else get_settings().db_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def main(argv: list[str]) -> int:
    url = argv[0] if argv else get_settings().db_url
    try:
        upgrade(url)
    except OperationalError as exc:
        print(unreachable(url, exc), file=sys.stderr)
        return 1
    print("database is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
