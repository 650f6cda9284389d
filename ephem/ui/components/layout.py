"""The page frame shared by every view: narrow, centered, phone-first."""

import reflex as rx

from ephem.ui.components.client import language_menu
from ephem.ui.words import t


def page(*children, **props) -> rx.Component:
    return rx.box(
        rx.vstack(*children, spacing="5", width="100%", max_width="34rem", margin_x="auto", **props),
        padding_x="1rem",
        padding_y="2rem",
        min_height="100vh",
    )


def brand() -> rx.Component:
    return rx.hstack(
        rx.heading("ephem", size="8", weight="bold"),
        rx.text(t("chat with a stranger, then it's gone"), color_scheme="gray", size="2"),
        rx.spacer(),
        language_menu(),
        theme_menu(),
        align="baseline",
        spacing="3",
        wrap="wrap",
        width="100%",
    )


THEMES = (("system", t("Follow the system")), ("light", t("Light")), ("dark", t("Dark")))


def theme_menu() -> rx.Component:
    """Light, dark or the system's choice: switched in the browser (no server
    round trip) and remembered in its localStorage by Reflex's colour mode."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.color_mode_cond(rx.icon("sun", size=18), rx.icon("moon", size=18)),
                variant="ghost",
                margin="0",
                aria_label=t("Theme"),
                custom_attrs={"data-testid": "theme-menu"},
            )
        ),
        rx.menu.content(
            *[
                rx.menu.item(
                    rx.cond(rx.color_mode == mode, "✓ ", ""),
                    label,
                    on_click=rx.style.set_color_mode(mode),
                    custom_attrs={"data-testid": f"theme-{mode}"},
                )
                for mode, label in THEMES
            ],
        ),
    )


def error_text(message: rx.Var) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", size="1"))


def labelled_switch(label: str, checked, on_change, testid: str, size: str = "2", **text_props) -> rx.Component:
    """A switch whose whole label is clickable (a <label> around both)."""
    return rx.text(
        rx.hstack(
            rx.switch(checked=checked, on_change=on_change, size=size, custom_attrs={"data-testid": testid}),
            label,
            spacing="2",
            align="center",
        ),
        as_="label",
        size=size,
        **text_props,
    )


def confirm_dialog(
    title: str,
    description: str,
    keep: str,
    confirm: str,
    on_confirm,
    open,  # noqa: A002 - Radix's name
    on_open_change,
    focus_after: str,
    testid: str = "",
) -> rx.Component:
    """Asks before something that cannot be undone. Opened from a control that
    may be gone when it closes (a menu item), so the focus goes back to
    `focus_after` (a CSS selector) rather than to <body>. With `testid`, the
    buttons are `<testid>-cancel` and `<testid>-confirm`."""
    ids = (lambda suffix: {"data-testid": f"{testid}-{suffix}"}) if testid else (lambda _suffix: {})
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(keep, variant="soft", color_scheme="gray", custom_attrs=ids("cancel"))),
                rx.alert_dialog.action(
                    rx.button(confirm, color_scheme="red", on_click=on_confirm, custom_attrs=ids("confirm"))
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            on_close_auto_focus=[rx.prevent_default, rx.call_script(f"document.querySelector({focus_after!r})?.focus()")],
        ),
        open=open,
        on_open_change=on_open_change,
    )
