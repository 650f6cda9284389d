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
