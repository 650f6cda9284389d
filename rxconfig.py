import os
import sys

import reflex as rx
from reflex.plugins import RadixThemesPlugin, SitemapPlugin

from ephem.core.settings import ROOT, get_settings

# Reflex reads REFLEX_DB_URL over `db_url=`: hand it the normalized URL too,
# which the backend workers it starts then inherit.
db_url = get_settings().db_url
if os.environ.get("REFLEX_DB_URL"):
    os.environ["REFLEX_DB_URL"] = db_url

# `reflex run --env prod` serves through gunicorn (gunicorn.conf.py), and
# Reflex exits 0 whatever gunicorn's exit: an unreachable database must stop
# start-up here, in Reflex's own process, with its one line and a failure.
if sys.argv[1:2] == ["run"] and "prod" in sys.argv and "--frontend-only" not in sys.argv:
    from ephem.core.db import make_engine, require_database

    _engine = make_engine(db_url)
    require_database(_engine)
    _engine.dispose()

# The bun `make` installs into the repo, so a plain `reflex run` finds it too;
# REFLEX_BUN_PATH still wins.
BUN = ROOT / ".tools/bun/node_modules/.bin/bun"

config = rx.Config(
    app_name="ephem",
    db_url=db_url,
    **({"bun_path": BUN} if BUN.exists() else {}),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[RadixThemesPlugin(theme=rx.theme(accent_color="violet", radius="large"))],
    disable_plugins=[SitemapPlugin],
)
