"""The enclave view: members with online dots, the invite link, leave, and the room's log."""

import reflex as rx

from ephem.ui.words import t, t_var

from ephem.ui import routes

from ephem.ui.enclave_state import EnclaveState, JoinState
from ephem.ui.components.client import language_menu, alert_prefs, drawer_toggle, ephem_client, side_panel
from ephem.ui.components.layout import brand, confirm_dialog, labelled_switch, page, theme_menu


def member_menu(member: rx.Var) -> rx.Component:
    """Block, Report and (for hosts, of invitees) Remove, from the member's row."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis", size=16),
                variant="ghost",
                size="1",
                margin="0",  # a ghost button's negative margins would push past a phone's edge
                aria_label=t("Actions for ") + member.name,
                custom_attrs={"data-testid": "member-menu"},
            )
        ),
        rx.menu.content(
            rx.cond(
                member.blocked,
                rx.menu.item(
                    t("Unblock"),
                    on_click=EnclaveState.unblock_member(member.account_id),
                    custom_attrs={"data-testid": "member-unblock"},
                ),
                rx.menu.item(
                    t("Block"),
                    color_scheme="red",
                    on_click=EnclaveState.block_member(member.account_id, member.name),
                    custom_attrs={"data-testid": "member-block"},
                ),
            ),
            rx.menu.item(
                t("Report…"),
                on_click=EnclaveState.report_member(member.account_id, member.name),
                custom_attrs={"data-testid": "member-report"},
            ),
            rx.cond(
                EnclaveState.i_host & ~member.host,
                rx.menu.item(
                    t("Remove from enclave"),
                    color_scheme="red",
                    on_click=EnclaveState.remove_member(member.account_id, member.name),
                    custom_attrs={"data-testid": "member-remove"},
                ),
            ),
        ),
    )


def member_row(member: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.box(
            width="0.6rem",
            height="0.6rem",
            border_radius="50%",
            background=rx.cond(member.online, "var(--green-9)", "var(--gray-6)"),
            aria_label=rx.cond(member.online, "online", "offline"),
            role="img",  # a label on a plain div is ignored by screen readers
        ),
        # A 32-letter name with no spaces breaks rather than pushing the row off a phone's screen.
        rx.text(member.name, dir="auto", overflow_wrap="anywhere", min_width="0"),
        rx.cond(member.me, rx.text("(you)", size="1", color_scheme="gray")),
        rx.cond(
            member.blocked,
            rx.badge(t("blocked"), color_scheme="red", variant="soft", size="1", custom_attrs={"data-testid": "member-blocked"}),
        ),
        rx.cond(
            member.in_call,
            rx.badge(
                rx.icon("phone", size=12),
                t("in call"),
                variant="soft",
                size="1",
                custom_attrs={"data-testid": "member-in-call"},
            ),
        ),
        rx.cond(
            member.conn != "",
            rx.badge(
                t_var(member.conn),
                color_scheme=member.tone,
                variant="soft",
                size="1",
                custom_attrs={"data-testid": "peer-state"},
            ),
        ),
        # "6 ms" must not break into "6 / ms" when a long name squeezes the row.
        rx.text(member.rtt, size="1", color_scheme="gray", white_space="nowrap", custom_attrs={"data-testid": "peer-rtt"}),
        rx.cond(~member.me, member_menu(member)),
        align="center",
        spacing="2",
        flex_wrap="wrap",  # badges go under a long name
        # data-path: "direct", "relay-udp" | "relay-tcp" | "relay-tls" | "relay", or "" while not
        # connected; data-links: RTCPeerConnections this page made to the member; data-ice-restarts:
        # ICE restarts on the current one (a network change recovered without a new connection).
        custom_attrs={
            "data-testid": "enclave-member",
            "data-online": member.online.to_string(),
            "data-path": member.path,
            "data-links": member.links.to_string(),
            "data-ice-restarts": member.ice_restarts.to_string(),
        },
    )


def members_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("Members"), size="3"),
            rx.cond(
                EnclaveState.shared_here != "",
                rx.text(
                    t("You both like: "),
                    rx.text.span(EnclaveState.shared_here, dir="auto", weight="medium"),
                    size="2",
                    color_scheme="gray",
                    custom_attrs={"data-testid": "shared-interests"},
                ),
            ),
            rx.foreach(EnclaveState.members, member_row),
            spacing="2",
            custom_attrs={"data-testid": "enclave-members"},
        ),
        width="100%",
    )


def invite_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("Invite someone"), size="3"),
            rx.cond(
                EnclaveState.invite_url != "",
                rx.hstack(
                    rx.input(
                        value=EnclaveState.invite_url,
                        read_only=True,
                        width="100%",
                        aria_label=t("Invite link"),
                        custom_attrs={"data-testid": "invite-link"},
                    ),
                    # Copy and Revoke wrap together under the link on a phone; Revoke
                    # is "soft" because a ghost button's negative margin set it off the line.
                    rx.hstack(
                        rx.button(
                            rx.icon("copy", size=16),
                            t("Copy"),
                            variant="soft",
                            on_click=EnclaveState.copy_invite,
                            custom_attrs={"data-testid": "invite-copy"},
                        ),
                        rx.button(
                            t("Revoke"),
                            variant="soft",
                            color_scheme="red",
                            on_click=EnclaveState.revoke_invites,
                            custom_attrs={"data-testid": "invite-revoke"},
                        ),
                        spacing="2",
                        align="center",
                    ),
                    width="100%",
                    wrap="wrap",
                    align="center",
                ),
                rx.button(
                    rx.icon("link", size=16),
                    t("Create invite link"),
                    variant="soft",
                    on_click=EnclaveState.create_invite,
                    custom_attrs={"data-testid": "invite-create"},
                ),
            ),
            rx.text(t("Links work for 24 hours. Anyone with the link can join."), size="1", color_scheme="gray"),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def log_panel() -> rx.Component:
    return rx.vstack(
        rx.foreach(
            EnclaveState.log,
            lambda entry: rx.text(
                rx.el.bdi(entry.who),
                " ",
                t_var(entry.what),
                size="1",
                color_scheme="gray",
                align="center",
                width="100%",
                custom_attrs={"data-testid": "system-message"},
            ),
        ),
        width="100%",
        spacing="1",
        role="log",
        aria_live="polite",
        # Empty, the log stays in the page (a live region must exist before its
        # first line to be announced) but out of the flow: no double gap.
        position=rx.cond(EnclaveState.log.length() > 0, "static", "absolute"),
        custom_attrs={"data-testid": "enclave-log"},
    )


def typing_indicator() -> rx.Component:
    return rx.box(
        rx.cond(
            EnclaveState.typing_names.length() > 0,
            rx.text(
                rx.foreach(EnclaveState.typing_names, lambda name: rx.el.bdi(name, " ")),
                rx.cond(EnclaveState.typing_names.length() > 1, t("are typing…"), t("is typing…")),
                size="1",
                color_scheme="gray",
                custom_attrs={"data-testid": "typing-indicator"},
            ),
        ),
        min_height="1.25rem",
    )


def chat_panel() -> rx.Component:
    """The conversation: call tiles, the message list filling the height, the
    typing line and the composer. The browser module draws it (message text
    never enters Reflex state); the typing line is Reflex's, passed in."""
    return rx.box(
        ephem_client(
            typing_indicator(),
            account=EnclaveState.account_id,
            enclave_id=EnclaveState.current_id,
            command=EnclaveState.command,
            show_chat=True,
            keep_history=EnclaveState.keep_history != "",
            video_crowd=EnclaveState.video_crowd,
            blocked=EnclaveState.blocked_ids,
            on_event=EnclaveState.on_room_client,
        ),
        class_name="ephem-conversation",
        custom_attrs={"data-testid": "conversation"},
    )


def details_panel() -> rx.Component:
    """The enclave itself: how long it lasts, and what this tab keeps."""
    return rx.card(
        rx.vstack(
            rx.heading(t("This enclave"), size="3"),
            rx.cond(
                EnclaveState.expires_at != "",
                rx.text(
                    EnclaveState.expires_text,
                    size="2",
                    custom_attrs={"data-testid": "enclave-expires"},
                ),
            ),
            labelled_switch(
                t("Keep messages in this tab after a reload (they never leave your browser)"),
                EnclaveState.keep_history != "",
                EnclaveState.set_keep_history,
                "keep-history",
                size="2",
            ),
            alert_prefs(),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def selftest_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(t("Connection test"), size="3"),
                rx.spacer(),
                rx.button(
                    t("Run"),
                    size="1",
                    variant="soft",
                    loading=EnclaveState.testing,
                    on_click=EnclaveState.run_selftest,
                    custom_attrs={"data-testid": "selftest-run"},
                ),
                width="100%",
                align="center",
            ),
            rx.text(
                t("Server round trip: "),
                rx.cond(EnclaveState.echo_ms >= 0, EnclaveState.echo_ms.to_string() + " ms", t("not measured yet")),
                size="2",
                custom_attrs={"data-testid": "selftest-echo"},
            ),
            ice_checks(),
            rx.text(
                t(
                    "Peers: how each connection runs (direct or via a relay server) and its round-trip time "
                    "are shown in the member list."
                ),
                size="1",
                color_scheme="gray",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def ice_check_row(check: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.badge(check.kind, variant="outline", size="1"),
        rx.text(check.url, size="1", overflow_wrap="anywhere", min_width="0", font_family="monospace"),
        rx.badge(
            t_var(check.result),
            color_scheme=rx.cond(check.ok, "green", "red"),
            variant="soft",
            size="1",
            white_space="nowrap",
        ),
        align="center",
        spacing="2",
        flex_wrap="wrap",
        custom_attrs={"data-testid": "selftest-server", "data-result": check.result, "data-url": check.url},
    )


def ice_checks() -> rx.Component:
    """Which configured STUN/TURN servers answer from this network."""
    return rx.box(
        rx.cond(
            EnclaveState.ice_checking,
            rx.text(t("Checking the STUN and TURN servers…"), size="2"),
            rx.cond(
                EnclaveState.ice_checked,
                rx.cond(
                    EnclaveState.ice_checks.length() > 0,
                    rx.vstack(
                        rx.text(t("Relay and address servers:"), size="2"),
                        rx.foreach(EnclaveState.ice_checks, ice_check_row),
                        spacing="1",
                        width="100%",
                    ),
                    rx.text(
                        t("No STUN or TURN server is configured: only direct connections on open networks will work."),
                        size="2",
                        custom_attrs={"data-testid": "selftest-no-servers"},
                    ),
                ),
            ),
        ),
        width="100%",
        custom_attrs={"data-testid": "selftest-servers"},
    )


def leave_dialog() -> rx.Component:
    return confirm_dialog(
        t("Leave this enclave?"),
        t("You stop being a member. To come back you need a new invite link from someone still in it."),
        t("Stay"),
        t("Leave"),
        on_confirm=EnclaveState.leave_enclave,
        open=EnclaveState.confirm_leave,
        on_open_change=EnclaveState.set_confirm_leave,
        focus_after="[data-testid=enclave-leave]",
        testid="enclave-leave",
    )


def offer_leave_dialog() -> rx.Component:
    """After a block: you will not be matched again; leave this enclave too?"""
    return confirm_dialog(
        t("Blocked. Leave this enclave too?"),
        t("You will never be matched with them again, and you no longer receive their messages or calls here."),
        t("Stay"),
        t("Leave"),
        on_confirm=EnclaveState.leave_enclave,
        open=EnclaveState.offer_leave != "",
        on_open_change=EnclaveState.close_offer_leave,
        focus_after="[data-testid=enclave-leave]",
        testid="offer-leave",
    )


def enclave_header() -> rx.Component:
    return rx.hstack(
        rx.link(rx.icon("arrow_left", size=18), href=routes.HOME, aria_label=t("Back to home")),
        rx.box(
            rx.heading(EnclaveState.enclave_name, size="4", dir="auto", as_="h1"),
            class_name="ephem-room-title",
        ),
        language_menu(compact=True),
        theme_menu(),
        drawer_toggle(label=t("Details")),
        rx.cond(
            EnclaveState.i_host,
            rx.button(
                rx.icon("skip_forward", size=16),
                t("Next"),
                variant="soft",
                on_click=EnclaveState.next_stranger,
                title=t("Leave and search for someone new"),
                custom_attrs={"data-testid": "enclave-next"},
            ),
        ),
        rx.button(
            t("Leave"),
            variant="soft",
            color_scheme="red",
            on_click=EnclaveState.set_confirm_leave(True),
            custom_attrs={"data-testid": "enclave-leave"},
        ),
        leave_dialog(),
        offer_leave_dialog(),
        width="100%",
        align="center",
        spacing="2",
        class_name="ephem-room-header",
    )


def enclave_room() -> rx.Component:
    """Conversation first: the header, the conversation filling the viewport,
    and the rest in the side panel (a drawer on a phone)."""
    return rx.box(
        enclave_header(),
        chat_panel(),
        side_panel(
            members_panel(),
            log_panel(),
            details_panel(),
            invite_panel(),
            selftest_panel(),
            label=t("Enclave details"),
        ),
        class_name="ephem-room",
    )


def enclave_view() -> rx.Component:
    return rx.cond(
        EnclaveState.missing,
        page(
            brand(),
            rx.callout(
                t("This enclave does not exist any more, or you are not a member of it."),
                icon="info",
                custom_attrs={"data-testid": "enclave-missing"},
            ),
            home_button("enclave-home"),
        ),
        enclave_room(),
    )


def home_button(testid: str) -> rx.Component:
    """The way out of a page that has nothing to offer (a missing enclave, a dead invite)."""
    # One element: a link that looks like a button (a button inside a link would be two tab stops).
    return rx.button(
        rx.link(rx.icon("arrow_left", size=16), t("Back to home"), href=routes.HOME, underline="none", color="var(--accent-contrast)"),
        as_child=True,
        custom_attrs={"data-testid": testid},
    )


def join_view() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("You are invited to an enclave"), size="5"),
            rx.cond(
                JoinState.invite_name != "",
                rx.text(JoinState.invite_name, weight="bold", dir="auto", custom_attrs={"data-testid": "invite-name"}),
            ),
            rx.text(t("Join to see who is there and talk with them."), size="2", color_scheme="gray"),
            rx.cond(
                JoinState.join_error != "",
                rx.callout(JoinState.join_error, icon="triangle_alert", color_scheme="red", role="alert"),
            ),
            rx.hstack(
                rx.button(
                    t("Join"),
                    on_click=JoinState.accept_invite,
                    loading=JoinState.joining,
                    custom_attrs={"data-testid": "join-accept"},
                ),
                rx.link(rx.button(t("Not now"), variant="soft", color_scheme="gray"), href=routes.HOME),
                spacing="3",
            ),
            spacing="3",
        ),
        width="100%",
    )


def dead_invite_view() -> rx.Component:
    """An unknown, expired or revoked invite: said on load, with no Join to press."""
    return rx.card(
        rx.vstack(
            rx.heading(t("This invite link does not work"), size="5"),
            rx.callout(
                JoinState.invite_error,
                icon="triangle_alert",
                color_scheme="red",
                role="alert",
                custom_attrs={"data-testid": "invite-error"},
            ),
            rx.text(t("Ask someone in the enclave for a new link."), size="2", color_scheme="gray"),
            home_button("join-home"),
            spacing="3",
        ),
        width="100%",
    )
