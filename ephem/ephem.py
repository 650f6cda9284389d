"""The ephem app: Reflex pages in front, the REST API beside them, the sweep behind."""

import reflex as rx

from ephem.api.app import api
from ephem.core import heap
from ephem.core.db import get_engine, require_database
from ephem.core.settings import get_settings
from ephem.core.sweeper import sweep_forever
from ephem.services import get_actions, get_hub, listen_for_revocations
from ephem.signaling.route import with_event_sockets
from ephem.signaling.server import build_server, start_worker
from ephem.ui import pages, routes
from ephem.ui.enclave_state import EnclaveState, JoinState
from ephem.ui.first_paint import first_paint_script
from ephem.ui.state import LiveState


class App(rx.App):
    """Reflex's app, whose Socket.IO websockets skip its HTTP middleware stack (ephem/signaling/route.py)."""

    def __call__(self):
        return with_event_sockets(self, super().__call__())


heap.share_one_arena()  # before the first thread: gunicorn --preload forks the worker from here
require_database(get_engine())
hub = get_hub()
app = App(
    sio=build_server(get_settings().redis_url),
    api_transformer=api,
    head_components=[
        # First: the page's language and direction before anything is drawn.
        first_paint_script(),
        rx.el.meta(name="viewport", content="width=device-width, initial-scale=1"),
        # Installable: the manifest and its icons; the service worker (assets/sw.js,
        # registered by assets/ephem/install.js) opens offline to "No connection".
        # Static files, so the static export has them too.
        rx.el.link(rel="manifest", href="/manifest.webmanifest"),
        # Named, so no browser asks for /favicon.ico (assets/favicon.ico answers one that does).
        rx.el.link(rel="icon", href="/favicon.ico", sizes="48x48"),
        rx.el.link(rel="icon", href="/icons/icon-192.png", type="image/png"),
        rx.el.link(rel="apple-touch-icon", href="/icons/icon-192.png"),
        rx.el.meta(name="theme-color", content="#5b3fc9"),
    ],
    # Media queries, focus rings and the enclave's drawer (assets/ephem/app.css).
    stylesheets=["/ephem/app.css"],
)
app.add_page(pages.index, route=routes.HOME, title=routes.HOME_TITLE, on_load=LiveState.load_home)
app.add_page(pages.enclave, route=routes.ENCLAVE, title=routes.ENCLAVE_TITLE, on_load=EnclaveState.load_enclave)
app.add_page(pages.join, route=routes.JOIN, title=routes.JOIN_TITLE, on_load=JoinState.load_join)
app.sio.register_namespace(hub)


@app.register_lifespan_task
async def worker_start() -> None:
    start_worker(app.sio)
    heap.settle()


app.register_lifespan_task(sweep_forever, actions=get_actions())
app.register_lifespan_task(hub.run_forever)
app.register_lifespan_task(listen_for_revocations)
