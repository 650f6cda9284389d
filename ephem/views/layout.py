"""The page frame shared by every view: narrow, centered, phone-first."""

import reflex as rx


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
        rx.text("chat with a stranger, then it's gone", color_scheme="gray", size="2"),
        align="baseline",
        spacing="3",
        wrap="wrap",
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
