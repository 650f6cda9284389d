"""Sign up with a name, restore with a recovery token, and the once-shown token panel."""

import reflex as rx

from ephem.ui.words import t

from ephem.accounts import NAME_MAX
from ephem.ui.state import AuthState
from ephem.ui.components.layout import error_text, labelled_switch


def sign_up_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(t("Pick a name"), size="5"),
                rx.text(t("No email, no password. Just what others will see."), color_scheme="gray", size="2"),
                rx.input(
                    name="name",
                    placeholder=t("Your display name"),
                    max_length=NAME_MAX,
                    required=True,
                    auto_focus=True,
                    dir="auto",
                    size="3",
                    width="100%",
                    custom_attrs={"data-testid": "login-name", "aria-label": t("Display name")},
                ),
                labelled_switch(
                    t("Remember me on this device"),
                    AuthState.remember_choice,
                    AuthState.set_remember_choice,
                    "login-remember",
                ),
                rx.text(
                    rx.cond(
                        AuthState.remember_choice,
                        t("Kept for 30 days after your last visit."),
                        t("Deleted 10 minutes after you close this tab."),
                    ),
                    color_scheme="gray",
                    size="1",
                ),
                error_text(AuthState.error),
                rx.cond(
                    AuthState.solving,
                    rx.text(
                        t("Checking you're not a robot…"),
                        size="2",
                        color_scheme="gray",
                        role="status",
                        custom_attrs={"data-testid": "login-solving"},
                    ),
                ),
                rx.button(
                    t("Start"),
                    type="submit",
                    size="3",
                    width="100%",
                    loading=AuthState.busy | AuthState.solving,
                    custom_attrs={"data-testid": "login-submit"},
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=AuthState.sign_up,
            reset_on_submit=False,
        ),
        width="100%",
    )


def restore_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(t("Have a recovery token?"), size="4"),
                rx.hstack(
                    rx.input(
                        name="recovery_token",
                        placeholder=t("Paste your recovery token"),
                        required=True,
                        auto_complete="off",
                        spell_check=False,
                        width="100%",
                        custom_attrs={"data-testid": "restore-token", "aria-label": t("Recovery token")},
                    ),
                    rx.button(
                        t("Restore"),
                        type="submit",
                        variant="soft",
                        loading=AuthState.busy,
                        custom_attrs={"data-testid": "restore-submit"},
                    ),
                    width="100%",
                ),
                error_text(AuthState.restore_error),
                spacing="3",
                width="100%",
            ),
            on_submit=AuthState.restore,
        ),
        width="100%",
    )


def recovery_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("Save your recovery token"), size="5"),
            rx.text(
                t(
                    "This token is the only way back into this account from another device, "
                    "or after your browser forgets you. We show it once and keep only a fingerprint of it, "
                    "so store it somewhere safe, like a password manager. Anyone who has it can use your account."
                ),
                size="2",
            ),
            rx.code(
                AuthState.recovery_token,
                size="4",
                width="100%",
                padding="0.75rem",
                style={"word_break": "break-all", "user_select": "all"},
                custom_attrs={"data-testid": "recovery-token"},
            ),
            rx.hstack(
                rx.button(rx.icon("copy", size=16), t("Copy"), on_click=AuthState.copy_recovery, variant="soft"),
                rx.button(t("I saved it, continue"), on_click=AuthState.dismiss_recovery),
                spacing="3",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )
