"""Apply alembic migrations from Python: `python -m ephem.core.migrations [URL]`."""

import sys

from alembic import command
from alembic.config import Config

from ephem.core.settings import ROOT, default_db_url


def upgrade(url: str | None = None) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url or default_db_url()
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


if __name__ == "__main__":
    upgrade(sys.argv[1] if len(sys.argv) > 1 else None)
    print("database is up to date")
