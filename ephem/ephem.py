"""The ephem app: Reflex pages in front, the REST API beside them, the sweep behind."""

import reflex as rx

from ephem.api import api
from ephem.enclave_state import EnclaveState, JoinState
from ephem.lifespan import sweep_forever
from ephem.services import get_hub
from ephem.settings import get_settings
from ephem.sio import build_server, start_worker
from ephem.state import AuthState, LiveState
from ephem.views.client import presence_client
from ephem.views.enclave import dead_invite_view, enclave_view, join_view
from ephem.views.home import enclave_list, header, search_panel
from ephem.views.layout import brand, page
from ephem.views.login import recovery_panel, restore_form, sign_up_form


def signed_in_only(content: rx.Component, signed_out: rx.Component | None = None) -> rx.Component:
    """Spinner while the session is checked, the recovery token once, then the content."""
    return rx.cond(
        ~AuthState.checked,
        rx.center(rx.spinner(size="3"), width="100%", padding="3rem"),
        rx.cond(
            AuthState.signed_in,
            # Connected while the token is read too: a session-only account lives while its tab is open.
            rx.cond(AuthState.recovery_token != "", rx.fragment(presence_client(), recovery_panel()), content),
            signed_out if signed_out is not None else login(),
        ),
    )


def login() -> rx.Component:
    return rx.vstack(sign_up_form(), restore_form(), spacing="4", width="100%")


def index() -> rx.Component:
    return page(
        brand(),
        signed_in_only(
            rx.vstack(
                presence_client(),
                header(),
                search_panel(),
                enclave_list(),
                spacing="6",
                width="100%",
            )
        ),
    )


def enclave() -> rx.Component:
    return page(signed_in_only(enclave_view()))


def join() -> rx.Component:
    return page(
        brand(),
        rx.cond(
            JoinState.invite_error != "",
            # Still connected while the page is open: a session-only account lives on.
            rx.fragment(rx.cond(AuthState.signed_in, presence_client()), dead_invite_view()),
            signed_in_only(
                rx.fragment(presence_client(), join_view()),
                rx.vstack(
                    rx.callout("Pick a name (or restore your account) to join the enclave you were invited to.", icon="info"),
                    login(),
                    width="100%",
                    spacing="4",
                ),
            ),
        ),
    )


hub = get_hub()
app = rx.App(
    sio=build_server(get_settings().redis_url),
    api_transformer=api,
    head_components=[rx.el.meta(name="viewport", content="width=device-width, initial-scale=1")],
)
app.add_page(index, route="/", title="ephem", on_load=LiveState.load_home)
app.add_page(enclave, route="/enclave/[room]", title="ephem · enclave", on_load=EnclaveState.load_enclave)
app.add_page(join, route="/join/[code]", title="ephem · invite", on_load=JoinState.load_join)
app.sio.register_namespace(hub)


@app.register_lifespan_task
async def worker_start() -> None:
    start_worker(app.sio)


app.register_lifespan_task(sweep_forever)
app.register_lifespan_task(hub.run_forever)
