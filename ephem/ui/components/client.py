"""The bridge to `assets/ephem_client.js`: props go down, one event comes up."""

import reflex as rx

from ephem.ui.state import LiveState


class EphemClient(rx.Component):
    library = "$/public/ephem_client.js"
    tag = "EphemClient"

    # Who is signed in; the module reads the session token from the browser's
    # own storage, so it never passes through (or stays in) server-side state.
    account: rx.Var[str]
    enclave_id: rx.Var[str]
    command: rx.Var[dict]
    # Inside an enclave the component also renders the chat panel: message
    # text is drawn in the browser and never enters Reflex state.
    show_chat: rx.Var[bool]
    keep_history: rx.Var[bool]
    # Above this many cameras on, a call sends lower-resolution video.
    video_crowd: rx.Var[int]
    # Account ids I blocked: the mesh drops their frames and calls.
    blocked: rx.Var[list[str]]

    on_event: rx.EventHandler[lambda kind, data: [kind, data]]


ephem_client = EphemClient.create


class EphemSide(rx.Component):
    """The enclave's side panel: beside the conversation on a wide screen, a
    drawer on a phone. It opens in the browser (no server round trip), so it
    works while the server is unreachable; the safety codes join it there."""

    library = "$/public/ephem_client.js"
    tag = "EphemSide"
    label: rx.Var[str]


class EphemDrawerToggle(rx.Component):
    """The header's button that opens the side panel; hidden on a wide screen."""

    library = "$/public/ephem_client.js"
    tag = "EphemDrawerToggle"
    label: rx.Var[str]


class EphemAlertPrefs(rx.Component):
    """Sound and desktop notifications for new messages: browser-only choices
    (the permission must be asked from the click itself)."""

    library = "$/public/ephem_client.js"
    tag = "EphemAlertPrefs"


class EphemUnread(rx.Component):
    """An enclave's unread count on the home page. The browser counts them
    (messages never reach the server) and keeps the counts in its storage."""

    library = "$/public/ephem_client.js"
    tag = "EphemUnread"
    account: rx.Var[str]
    enclave_id: rx.Var[str]


alert_prefs = EphemAlertPrefs.create
unread_badge = EphemUnread.create
side_panel = EphemSide.create
drawer_toggle = EphemDrawerToggle.create


def presence_client() -> rx.Component:
    """The `/ephem` connection of a page outside any enclave: it keeps a
    session-only account alive while the page is open, carries searches and
    brings the online counts."""
    return ephem_client(
        account=LiveState.account_id,
        enclave_id="",
        command=LiveState.command,
        show_chat=False,
        keep_history=False,
        on_event=LiveState.on_client,
    )


class EphemLanguageMenu(rx.Component):
    """The language menu (assets/ephem/language.js): each language in its own
    name; the browser remembers the choice and sets <html lang dir>, then tells
    the state, which says its texts in it (ephem/ui/words.py)."""

    library = "$/public/ephem_client.js"
    tag = "EphemLanguageMenu"

    # Only the globe (the select over it, unseen): for the room's crowded header.
    compact: rx.Var[bool]

    on_change: rx.EventHandler[lambda lang: [lang]]


def language_menu(compact: bool = False) -> rx.Component:
    from ephem.ui.state import AuthState

    return EphemLanguageMenu.create(on_change=AuthState.set_lang, compact=compact)
