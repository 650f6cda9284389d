"""State for the enclave view and for invite links."""

import asyncio
import dataclasses
import uuid

import reflex as rx

from ephem.i18n import N_
from ephem.ui import routes

from ephem.core.clock import iso, utcnow
from ephem.errors import EphemError, NotFound
from ephem.services import get_actions, get_enclaves, get_safety
from ephem.core.settings import get_settings
from ephem.ui.rows import IceCheckRow, LogLine, MemberRow
from ephem.i18n.formats import deleted_if_unused
from ephem.ui.state import LiveState, _moment, with_token

LOG_MAX = 200
MAX_ICE_CHECKS = 64
RELAY_PROTOCOLS = {"udp": "UDP", "tcp": "TCP", "tls": "TLS"}
ICE_RESULTS = {"works", "no answer", "refused credentials", "not usable here"}
# The words a member row or a self-test line may show, for the catalogs: the
# state keeps them in English and the page says them (t_var) in its language.
SAID = (
    N_("direct"), N_("connecting"), N_("reconnecting"), N_("failed"), N_("left"),
    N_("via relay server (TURN)"), N_("via relay server (TURN, UDP)"), N_("via relay server (TURN, TCP)"),
    N_("via relay server (TURN, TLS)"), N_("relayed, end-to-end encrypted"),
    N_("works"), N_("no answer"), N_("refused credentials"), N_("not usable here"),
)
TONES = {"direct": "green", "relayed": "blue", "connecting": "amber", "reconnecting": "amber", "failed": "red"}


def link_words(state: str, relay: object) -> tuple[str, str]:
    """What a member row says of a link in `state` ("direct", "relayed", …) and its `data-path`."""
    if state == "relayed":
        protocol = RELAY_PROTOCOLS.get(relay) if isinstance(relay, str) else None
        if protocol is None:  # the other side's relay: how it reaches it is not ours to see
            return "via relay server (TURN)", "relay"
        return f"via relay server (TURN, {protocol})", f"relay-{relay}"
    return state, "direct" if state == "direct" else ""


def ice_check_rows(servers: object) -> list[IceCheckRow]:
    """The self-test's per-URL findings, as the browser reported them (anything odd is left out)."""
    rows = []
    for found in servers if isinstance(servers, list) else []:
        if not isinstance(found, dict):
            continue
        url, kind, result = found.get("url"), found.get("kind"), found.get("result")
        if isinstance(url, str) and kind in ("stun", "turn") and result in ICE_RESULTS:
            rows.append(IceCheckRow(url=url[:512], kind=kind.upper(), result=result, ok=result == "works"))
    return rows[:MAX_ICE_CHECKS]


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class EnclaveState(LiveState):
    current_id: str = ""
    # The interests this enclave's match had in common, if this tab made it.
    shared_here: str = ""
    enclave_name: str = ""
    expires_at: str = ""
    members: list[MemberRow] = []

    @rx.var
    def expires_text(self) -> str:
        """"Deleted in 1 month if unused." in the page's language."""
        lang, moment = self.lang, _moment(self.expires_at)
        return deleted_if_unused(moment, lang, utcnow()) if moment is not None else ""

    invite_url: str = ""
    log: list[LogLine] = []
    missing: bool = False
    joined: bool = False
    # From the browser's mesh: connection state per member and who is typing.
    peer_states: dict[str, dict] = {}
    typing_names: list[str] = []
    in_call: bool = False  # this tab is in the enclave's call
    # Above this many cameras on, a call sends lower-resolution video.
    video_crowd: int = get_settings().call_video_crowd
    echo_ms: float = -1
    testing: bool = False
    # The self-test's check of each configured STUN/TURN URL: not run yet,
    # running, or its findings (an empty list: nothing is configured).
    ice_checking: bool = False
    ice_checked: bool = False
    ice_checks: list[IceCheckRow] = []
    confirm_leave: bool = False  # the Leave dialog is open
    i_host: bool = False  # I came with the match that made this enclave: I may remove invitees
    # Accounts I blocked: the browser's mesh drops their frames and calls.
    blocked_ids: list[str] = []
    offer_leave: str = ""  # the name of someone just blocked: "leave too?" is asked
    # Message history stays in the browser; this only says whether the tab keeps it.
    keep_history: str = rx.SessionStorage("", name="ephem_keep_history")
    # peer_id -> account_id of the connections in this enclave's room right now
    _room: dict[str, str] = {}

    def _note(self, what: str, who: str = "") -> None:
        """A system line; `who` is user text and is isolated for bidi on render;
        `what` an N_ text, said in the page's language as it is drawn (t_var)."""
        entry = LogLine(id=str(uuid.uuid4()), who=who, what=what, ts=iso(utcnow()))
        self.log = [*self.log, entry][-LOG_MAX:]

    def _refresh_online(self) -> None:
        present = set(self._room.values())
        members = []
        for m in self.members:
            online = m.me or m.account_id in present
            peer = self.peer_states.get(m.account_id, {})
            state = "" if m.me else peer.get("state", "connecting" if online else "")
            rtt = peer.get("rtt_ms", -1)
            rtt = rtt if isinstance(rtt, (int, float)) and not isinstance(rtt, bool) else -1
            in_call = self.in_call if m.me else online and peer.get("in_call") is True
            conn, path = link_words(str(state), peer.get("relay"))
            members.append(
                dataclasses.replace(
                    m,
                    online=online,
                    conn=conn,
                    path=path,
                    tone=TONES.get(str(state), "amber"),
                    rtt=f"{rtt:g} ms" if rtt >= 0 and path else "",
                    in_call=in_call,
                    links=_count(peer.get("links")),
                    ice_restarts=_count(peer.get("ice_restarts")),
                    blocked=m.account_id in self.blocked_ids,
                )
            )
        self.members = members

    async def _reload_members(self) -> None:
        view = await asyncio.to_thread(get_enclaves().get, self.current_id, self.account_id)
        self.enclave_name = view.name
        self.expires_at = iso(view.expires_at)
        self.blocked_ids = await asyncio.to_thread(get_safety().blocked_ids, self.account_id)
        self.i_host = view.is_host(self.account_id)
        self.members = [
            MemberRow(account_id=m.account_id, name=m.name, me=m.account_id == self.account_id, host=view.is_host(m.account_id))
            for m in view.members
        ]
        self._refresh_online()

    @rx.event
    def load_enclave(self):
        return with_token(EnclaveState.load_enclave_as)

    @rx.event
    async def load_enclave_as(self, token: str):
        signed_out = await self._sign_in(token)
        if not self.account_id:
            return [signed_out, rx.redirect(routes.HOME)] if signed_out else rx.redirect(routes.HOME)
        enclave_id = self.room  # the dynamic route segment /enclave/[room]
        if enclave_id != self.current_id:
            self.current_id, self.log, self.invite_url = enclave_id, [], ""
            self.shared_here = ", ".join(self.shared_interests) if self.shared_enclave == enclave_id else ""
        # A (re)loaded page starts with no connections: nothing of the last one holds.
        self._room, self.joined, self.peer_states, self.typing_names, self.echo_ms = {}, False, {}, [], -1
        self.ice_checking, self.ice_checked, self.ice_checks = False, False, []
        self.in_call, self.video_crowd = False, get_settings().call_video_crowd
        self.confirm_leave, self.offer_leave = False, ""
        try:
            await self._reload_members()
            self.missing = False
        except NotFound:
            self.missing = True
            self.current_id = ""
        return None

    @rx.event
    async def on_room_client(self, kind: str, data: dict):
        if not isinstance(data, dict):
            return None
        if kind == "joined":
            if not data.get("ok"):
                self.joined = False
                return rx.toast.error(self._say((data.get("error") or {}).get("message", N_("Could not join."))))
            self.joined = True
            self._room = {p["peer_id"]: p["account_id"] for p in data.get("peers", []) if isinstance(p, dict)}
            self._refresh_online()
            return None
        if kind == "member_left" and data.get("enclave_id") == self.current_id:
            if data.get("account_id") in {m.account_id for m in self.members}:
                await self._reload_members()  # left (or deleted) while not connected
                self._refresh_online()
            return None
        if kind in ("peer_joined", "peer_left") and data.get("enclave_id") == self.current_id:
            if kind == "peer_joined":
                peer = data.get("peer") or {}
                self._room = {**self._room, peer.get("peer_id", ""): peer.get("account_id", "")}
                if peer.get("account_id") not in {m.account_id for m in self.members}:
                    await self._reload_members()  # joined through an invite just now
                self._note(N_("joined"), peer.get("name", self._say(N_("Someone"))))
            else:
                self._room = {p: a for p, a in self._room.items() if p != data.get("peer_id")}
                if data.get("reason") == "left":
                    await self._reload_members()  # no longer a member at all
            self._refresh_online()
            return None
        if kind == "mesh" and data.get("enclave_id") == self.current_id:
            states = {p["account_id"]: p for p in data.get("peers", []) if isinstance(p, dict) and "account_id" in p}
            for account_id, peer in states.items():
                was = self.peer_states.get(account_id, {}).get("in_call") is True
                if (peer.get("in_call") is True) != was:
                    self._note(N_("joined the call") if not was else N_("left the call"), str(peer.get("name", self._say(N_("Someone")))))
            self.peer_states = states
            self.in_call = data.get("in_call") is True
            self.typing_names = [str(n) for n in data.get("typing", [])][:5]
            self._refresh_online()
            return None
        if kind == "peer_gone" and data.get("enclave_id") == self.current_id:
            # Sent by the mesh once a grace period passed without the peer coming back.
            self._note(N_("left"), str(data.get("name", self._say(N_("Someone")))))
            return None
        if kind == "removed" and data.get("enclave_id") == self.current_id:
            self.current_id = ""
            return [rx.toast.warning(self._say(N_("A host removed you from this enclave."))), rx.redirect(routes.HOME, replace=True)]
        if kind == "reported":
            if data.get("ok"):
                return rx.toast.success(self._say(N_("Reported. Thank you: the operators will look at it.")))
            return rx.toast.error(self._say((data.get("error") or {}).get("message", N_("The report was not sent."))))
        if kind == "selftest":
            # First the server round trip (`servers` null: still checking), then the STUN/TURN findings.
            echo = data.get("echo_ms", -1)
            self.echo_ms = float(echo) if isinstance(echo, (int, float)) and not isinstance(echo, bool) else -1
            servers = data.get("servers")
            self.ice_checking = servers is None and "servers" in data
            self.testing = self.ice_checking
            if isinstance(servers, list):
                self.ice_checks, self.ice_checked = ice_check_rows(servers), True
            return None
        if kind == "disconnected":
            self.joined = False
            self._note(N_("Server unreachable: chat goes on with the members already connected"))
        return self._handle_client(kind, data)

    @rx.event
    def run_selftest(self):
        self.testing, self.ice_checking = True, True
        self._send("selftest")

    @rx.event
    def set_keep_history(self, keep: bool):
        self.keep_history = "1" if keep else ""

    @rx.event
    async def create_invite(self):
        try:
            invitation = await asyncio.to_thread(get_enclaves().invite, self.current_id, self.account_id)
        except EphemError as exc:
            return rx.toast.error(self._say(exc.message))
        self.invite_url = self.router.url.origin + routes.join_path(invitation.code)
        return None

    @rx.event
    async def revoke_invites(self):
        try:
            await asyncio.to_thread(get_enclaves().revoke_invites, self.current_id, self.account_id)
        except EphemError as exc:
            return rx.toast.error(self._say(exc.message))
        self.invite_url = ""
        return rx.toast.success(self._say(N_("Every invite link of this enclave has stopped working.")))

    @rx.event
    def copy_invite(self):
        return [rx.set_clipboard(self.invite_url), rx.toast.success(self._say(N_("Invite link copied")))]

    @rx.event
    async def block_member(self, account_id: str, name: str):
        try:
            await asyncio.to_thread(get_safety().block, self.account_id, account_id)
        except EphemError as exc:
            return rx.toast.error(self._say(exc.message))
        self.blocked_ids = [*self.blocked_ids, account_id]
        self._refresh_online()
        self.offer_leave = name  # and ask whether to leave too
        return None

    @rx.event
    async def unblock_member(self, account_id: str):
        await self._unblock(account_id)
        self.blocked_ids = [a for a in self.blocked_ids if a != account_id]
        self._refresh_online()

    @rx.event
    def close_offer_leave(self, _open: bool = False):
        self.offer_leave = ""

    @rx.event
    def report_member(self, account_id: str, name: str):
        """The browser module asks what to attach (messages never come here) and sends the report."""
        self._send("report", account_id=account_id, name=name, enclave_id=self.current_id)

    @rx.event
    async def remove_member(self, account_id: str, name: str):
        try:
            await get_actions().remove_member(self.current_id, self.account_id, account_id)
        except EphemError as exc:
            return rx.toast.error(self._say(exc.message))
        await self._reload_members()
        self._note(N_("was removed"), name)
        return None

    @rx.event
    async def next_stranger(self):
        """Leave this enclave and search again at once (the home page starts the search)."""
        self.search_next = True
        return await self._leave()

    @rx.event
    def set_confirm_leave(self, value: bool):
        self.confirm_leave = value

    @rx.event
    async def leave_enclave(self):
        return await self._leave()

    async def _leave(self):
        enclave_id = self.current_id
        try:
            await get_actions().leave_enclave(enclave_id, self.account_id)
        except NotFound:
            pass  # already gone: leaving twice is not an error for the user
        self.current_id, self.confirm_leave, self.offer_leave = "", False, ""
        # Replace the history entry: Back must not lead into the enclave just left.
        return rx.redirect(routes.HOME, replace=True)


class JoinState(LiveState):
    join_error: str = ""
    joining: bool = False
    # Checked on load, signed in or not, so a dead link says so before anyone
    # signs up or presses Join.
    invite_name: str = ""
    invite_error: str = ""

    @rx.event
    def load_join(self):
        return with_token(JoinState.load_join_as)

    @rx.event
    async def load_join_as(self, token: str):
        signed_out = await self._sign_in(token)
        self.join_error = self.invite_error = self.invite_name = ""
        try:
            self.invite_name = await asyncio.to_thread(get_enclaves().check_invite, self.code)
        except EphemError as exc:
            self.invite_error = self._say(exc.message)
        return signed_out

    @rx.event
    async def accept_invite(self):
        code = self.code  # the dynamic route segment /join/[code]
        self.joining = True
        yield
        try:
            view = await asyncio.to_thread(get_enclaves().join, code, self.account_id)
        except EphemError as exc:
            self.join_error = self._say(exc.message)
            self.joining = False
            return
        self.joining = False
        yield rx.redirect(routes.enclave_path(view.id))
