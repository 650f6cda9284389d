"""Home: who I am, my account controls, and the big Search button."""

import reflex as rx

from ephem.ui.words import t

from ephem.ui import routes

from ephem.ui.state import AuthState, LiveState
from ephem.ui.components.client import unread_badge
from ephem.ui.components.layout import confirm_dialog


def account_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.button(rx.icon("user", size=16), t("Account"), variant="ghost", aria_label=t("Account menu"), id="account-button")),
        rx.menu.content(
            rx.menu.item(t("New recovery token"), on_click=AuthState.rotate_recovery),
            rx.menu.item(t("Sign out"), on_click=AuthState.sign_out),
            rx.menu.separator(),
            rx.menu.item(t("Delete account"), color_scheme="red", on_click=AuthState.set_confirm_delete(True)),
        ),
    )


def delete_dialog() -> rx.Component:
    return confirm_dialog(
        t("Delete your account?"),
        t("Your name, tokens and memberships are deleted at once. This cannot be undone."),
        t("Keep it"),
        t("Delete"),
        on_confirm=AuthState.delete_account,
        open=AuthState.confirm_delete,
        on_open_change=AuthState.set_confirm_delete,
        focus_after="#account-button",
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(t("Signed in as"), size="1", color_scheme="gray"),
            rx.text(AuthState.name, size="4", weight="bold", dir="auto", custom_attrs={"data-testid": "me-name"}),
            spacing="0",
        ),
        rx.spacer(),
        account_menu(),
        delete_dialog(),
        width="100%",
        align="center",
    )


def stats_line() -> rx.Component:
    return rx.hstack(
        rx.cond(
            LiveState.connected,
            # High contrast: the soft green's text falls short of WCAG AA at this size.
            rx.badge(rx.icon("circle", size=8, fill="currentColor"), t("connected"), color_scheme="green", variant="soft", high_contrast=True),
            rx.badge(rx.spinner(size="1"), t("connecting"), color_scheme="gray", variant="soft"),
        ),
        rx.text(
            LiveState.stats_text,
            size="2",
            color_scheme="gray",
            custom_attrs={"data-testid": "stats"},
        ),
        spacing="3",
        align="center",
        justify="center",
        wrap="wrap",
    )


def search_panel() -> rx.Component:
    return rx.vstack(
        rx.cond(
            LiveState.searching,
            rx.card(
                rx.vstack(
                    rx.hstack(rx.spinner(size="3"), rx.heading(t("Searching…"), size="5"), align="center", spacing="3"),
                    rx.text(
                        t("Waiting for a stranger. Elapsed: "),
                        rx.cond(
                            LiveState.search_started != "",
                            rx.moment(LiveState.search_started, duration_from_now=True, format="mm:ss", interval=1000),
                        ),
                        size="2",
                        color_scheme="gray",
                    ),
                    rx.button(
                        t("Cancel"),
                        variant="soft",
                        color_scheme="gray",
                        on_click=LiveState.cancel_search,
                        # It replaces the Search button, which took the focus with it.
                        auto_focus=True,
                        custom_attrs={"data-testid": "search-cancel"},
                    ),
                    align="center",
                    spacing="3",
                    width="100%",
                ),
                # Only mounted while searching: Escape anywhere on the page cancels.
                rx.window_event_listener(on_key_down=LiveState.search_key),
                width="100%",
            ),
            rx.vstack(
                rx.button(
                    rx.icon("search", size=28),
                    t("Search"),
                    size="4",
                    width="100%",
                    height="5rem",
                    font_size="1.5rem",
                    on_click=LiveState.start_search,
                    auto_focus=LiveState.search_cancelled,
                    custom_attrs={"data-testid": "search-button"},
                ),
                rx.input(
                    value=LiveState.interests_text,
                    on_change=LiveState.set_interests_text,
                    on_key_down=LiveState.interests_key,
                    placeholder=t("Interests (optional): chess, sci-fi"),
                    dir="auto",
                    max_length=300,
                    width="100%",
                    custom_attrs={"data-testid": "search-interests", "aria-label": t("Interests, separated by commas (optional)")},
                ),
                rx.cond(
                    LiveState.interests_error != "",
                    rx.text(
                        LiveState.interests_error,
                        color_scheme="red",
                        size="2",
                        custom_attrs={"data-testid": "search-interests-error", "role": "alert"},
                    ),
                ),
                width="100%",
                spacing="2",
            ),
        ),
        stats_line(),
        width="100%",
        align="center",
        spacing="3",
    )


def enclave_row(enclave: rx.Var) -> rx.Component:
    return rx.link(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text(enclave.name, weight="bold", dir="auto", trim="both"),
                    rx.spacer(),
                    unread_badge(account=LiveState.account_id, enclave_id=enclave.id),
                    rx.cond(
                        enclave.online > 0,
                        rx.badge(LiveState.enclave_online[enclave.id], color_scheme="green", variant="soft", high_contrast=True),
                    ),
                    width="100%",
                    align="center",
                ),
                rx.text(enclave.members, size="1", color_scheme="gray", dir="auto"),
                rx.cond(
                    enclave.online > 0,
                    rx.text(
                        # A span: a <div> may not sit inside the text's <p>.
                        rx.el.span(
                            style={"width": "0.5rem", "height": "0.5rem", "borderRadius": "50%", "background": "var(--green-9)",
                                   "display": "inline-block", "marginInlineEnd": "0.35rem"},
                            aria_hidden="true",
                        ),
                        t("Online now: "),
                        rx.el.bdi(enclave.online_names),
                        size="1",
                        custom_attrs={"data-testid": "enclave-online"},
                    ),
                ),
                rx.text(
                    LiveState.enclave_times[enclave.id],
                    size="1",
                    color_scheme="gray",
                ),
                spacing="1",
                width="100%",
            ),
            width="100%",
        ),
        href=routes.enclave_path("") + enclave.id,
        underline="none",
        width="100%",
        custom_attrs={"data-testid": "enclave-link"},
    )


def enclave_list() -> rx.Component:
    return rx.cond(
        LiveState.enclaves.length() > 0,
        rx.vstack(
            rx.heading(t("Your enclaves"), size="4"),
            rx.foreach(LiveState.enclaves, enclave_row),
            width="100%",
            spacing="2",
        ),
    )


def blocks_list() -> rx.Component:
    """Whom I blocked, each with Unblock: the account page's part of blocking."""
    return rx.cond(
        LiveState.blocks.length() > 0,
        rx.vstack(
            rx.heading(t("Blocked"), size="4"),
            rx.text(t("You are never matched with them, and their messages and calls do not reach you."), size="1", color_scheme="gray"),
            rx.foreach(
                LiveState.blocks,
                lambda block: rx.hstack(
                    rx.text(block.name, dir="auto", overflow_wrap="anywhere", min_width="0"),
                    rx.spacer(),
                    rx.button(
                        t("Unblock"),
                        size="1",
                        variant="soft",
                        on_click=LiveState.unblock(block.account_id),
                        aria_label=t("Unblock ") + block.name,
                        custom_attrs={"data-testid": "block-unblock"},
                    ),
                    width="100%",
                    align="center",
                    custom_attrs={"data-testid": "blocked-account"},
                ),
            ),
            width="100%",
            spacing="2",
        ),
    )
