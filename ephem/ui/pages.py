"""The pages: each one a layout of components over the state."""

import reflex as rx

from ephem.ui.words import t

from ephem.ui.enclave_state import JoinState
from ephem.ui.state import AuthState
from ephem.ui.components.client import presence_client
from ephem.ui.components.enclave import dead_invite_view, enclave_view, join_view
from ephem.ui.components.home import blocks_list, enclave_list, header, search_panel
from ephem.ui.components.layout import brand, page
from ephem.ui.components.login import recovery_panel, restore_form, sign_up_form


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
                blocks_list(),
                spacing="6",
                width="100%",
            )
        ),
    )


def enclave() -> rx.Component:
    # The room takes the whole viewport; the spinner, sign-in and recovery
    # token keep the narrow page.
    return rx.cond(
        AuthState.signed_in & (AuthState.recovery_token == ""),
        enclave_view(),
        page(signed_in_only(rx.fragment())),
    )


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
                    rx.callout(t("Pick a name (or restore your account) to join the enclave you were invited to."), icon="info"),
                    login(),
                    width="100%",
                    spacing="4",
                ),
            ),
        ),
    )
