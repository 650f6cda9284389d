import os

import reflex as rx
from reflex.plugins import RadixThemesPlugin, SitemapPlugin

from ephem.core.settings import ROOT, get_settings

# Reflex reads REFLEX_DB_URL over `db_url=`: hand it the normalized URL too,
# which the backend workers it starts then inherit.
db_url = get_settings().db_url
if os.environ.get("REFLEX_DB_URL"):
    os.environ["REFLEX_DB_URL"] = db_url

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
