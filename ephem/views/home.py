"""Home: who I am, my account controls, and the big Search button."""

import reflex as rx

from ephem.state import AuthState


def account_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.button(rx.icon("user", size=16), "Account", variant="ghost", aria_label="Account menu")),
        rx.menu.content(
            rx.menu.item("New recovery token", on_click=AuthState.rotate_recovery),
            rx.menu.item("Sign out", on_click=AuthState.sign_out),
            rx.menu.separator(),
            rx.menu.item("Delete account", color_scheme="red", on_click=AuthState.set_confirm_delete(True)),
        ),
    )


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete your account?"),
            rx.alert_dialog.description(
                "Your name, tokens and memberships are deleted at once. This cannot be undone."
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=AuthState.delete_account)),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
        ),
        open=AuthState.confirm_delete,
        on_open_change=AuthState.set_confirm_delete,
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text("Signed in as", size="1", color_scheme="gray"),
            rx.text(AuthState.name, size="4", weight="bold", dir="auto", custom_attrs={"data-testid": "me-name"}),
            spacing="0",
        ),
        rx.spacer(),
        account_menu(),
        delete_dialog(),
        width="100%",
        align="center",
    )


def search_panel() -> rx.Component:
    return rx.vstack(
        rx.button(
            rx.icon("search", size=28),
            "Search",
            size="4",
            width="100%",
            height="5rem",
            font_size="1.5rem",
            on_click=rx.toast.info("Matchmaking opens in the next release."),
            custom_attrs={"data-testid": "search-button"},
        ),
        rx.text("Meet one stranger who is searching right now.", color_scheme="gray", size="2"),
        width="100%",
        align="center",
        spacing="2",
    )
