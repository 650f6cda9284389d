"""The ephem app: Reflex pages in front, the REST API beside them, the sweep behind."""

import reflex as rx

from ephem.api import api
from ephem.lifespan import sweep_forever
from ephem.services import get_hub
from ephem.sio import build_server
from ephem.state import AuthState
from ephem.views.home import header, search_panel
from ephem.views.layout import brand, page
from ephem.views.login import recovery_panel, restore_form, sign_up_form


def index() -> rx.Component:
    return page(
        brand(),
        # A minute's tick keeps a session-only account alive while its tab is open.
        rx.moment(interval=60_000, on_change=AuthState.heartbeat, display="none"),
        rx.cond(
            ~AuthState.checked,
            rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
            rx.cond(
                AuthState.signed_in,
                rx.cond(
                    AuthState.recovery_token != "",
                    recovery_panel(),
                    rx.vstack(header(), search_panel(), spacing="6", width="100%"),
                ),
                rx.vstack(sign_up_form(), restore_form(), spacing="4", width="100%"),
            ),
        ),
    )


hub = get_hub()
app = rx.App(
    sio=build_server(),
    api_transformer=api,
    head_components=[rx.el.meta(name="viewport", content="width=device-width, initial-scale=1")],
)
app.add_page(index, route="/", title="ephem", on_load=AuthState.load)
app.sio.register_namespace(hub)
app.register_lifespan_task(sweep_forever)
app.register_lifespan_task(hub.run_forever)
