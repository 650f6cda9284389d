import reflex as rx
from reflex.plugins import RadixThemesPlugin, SitemapPlugin

from ephem.core.settings import default_db_url

config = rx.Config(
    app_name="ephem",
    db_url=default_db_url(),
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[RadixThemesPlugin(theme=rx.theme(accent_color="violet", radius="large"))],
    disable_plugins=[SitemapPlugin],
)
