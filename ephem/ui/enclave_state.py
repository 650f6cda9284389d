"""State for the enclave view and for invite links."""

import asyncio
import dataclasses
import uuid

import reflex as rx

from ephem.ui import routes

from ephem.core.clock import iso, utcnow
from ephem.errors import EphemError, NotFound
from ephem.services import get_actions, get_enclaves
from ephem.core.settings import get_settings
from ephem.ui.rows import LogLine, MemberRow
from ephem.ui.state import LiveState, with_token

LOG_MAX = 200


class EnclaveState(LiveState):
    current_id: str = ""
    enclave_name: str = ""
    expires_at: str = ""
    members: list[MemberRow] = []
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
    confirm_leave: bool = False  # the Leave dialog is open
    # Message history stays in the browser; this only says whether the tab keeps it.
    keep_history: str = rx.SessionStorage("", name="ephem_keep_history")
    # peer_id -> account_id of the connections in this enclave's room right now
    _room: dict[str, str] = {}

    def _note(self, what: str, who: str = "") -> None:
        """A system line; `who` is user text and is isolated for bidi on render."""
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
            in_call = self.in_call if m.me else online and peer.get("in_call") is True
            members.append(
                dataclasses.replace(
                    m, online=online, conn=state, rtt=f"{rtt:g} ms" if rtt >= 0 else "", in_call=in_call
                )
            )
        self.members = members

    async def _reload_members(self) -> None:
        view = await asyncio.to_thread(get_enclaves().get, self.current_id, self.account_id)
        self.enclave_name = view.name
        self.expires_at = iso(view.expires_at)
        self.members = [
            MemberRow(account_id=m.account_id, name=m.name, me=m.account_id == self.account_id) for m in view.members
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
        # A (re)loaded page starts with no connections: nothing of the last one holds.
        self._room, self.joined, self.peer_states, self.typing_names, self.echo_ms = {}, False, {}, [], -1
        self.in_call, self.video_crowd = False, get_settings().call_video_crowd
        self.confirm_leave = False
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
                return rx.toast.error((data.get("error") or {}).get("message", "Could not join."))
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
                self._note("joined", peer.get("name", "Someone"))
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
                    self._note("joined the call" if not was else "left the call", str(peer.get("name", "Someone")))
            self.peer_states = states
            self.in_call = data.get("in_call") is True
            self.typing_names = [str(n) for n in data.get("typing", [])][:5]
            self._refresh_online()
            return None
        if kind == "peer_gone" and data.get("enclave_id") == self.current_id:
            # Sent by the mesh once a grace period passed without the peer coming back.
            self._note("left", str(data.get("name", "Someone")))
            return None
        if kind == "selftest":
            self.testing = False
            self.echo_ms = float(data.get("echo_ms", -1))
            return None
        if kind == "disconnected":
            self.joined = False
            self._note("Server unreachable: chat goes on with the members already connected")
        return self._handle_client(kind, data)

    @rx.event
    def run_selftest(self):
        self.testing = True
        self._send("selftest")

    @rx.event
    def set_keep_history(self, keep: bool):
        self.keep_history = "1" if keep else ""

    @rx.event
    async def create_invite(self):
        try:
            invitation = await asyncio.to_thread(get_enclaves().invite, self.current_id, self.account_id)
        except EphemError as exc:
            return rx.toast.error(exc.message)
        self.invite_url = self.router.url.origin + routes.join_path(invitation.code)
        return None

    @rx.event
    async def revoke_invites(self):
        try:
            await asyncio.to_thread(get_enclaves().revoke_invites, self.current_id, self.account_id)
        except EphemError as exc:
            return rx.toast.error(exc.message)
        self.invite_url = ""
        return rx.toast.success("Every invite link of this enclave has stopped working.")

    @rx.event
    def copy_invite(self):
        return [rx.set_clipboard(self.invite_url), rx.toast.success("Invite link copied")]

    @rx.event
    def set_confirm_leave(self, value: bool):
        self.confirm_leave = value

    @rx.event
    async def leave_enclave(self):
        enclave_id = self.current_id
        try:
            await get_actions().leave_enclave(enclave_id, self.account_id)
        except NotFound:
            pass  # already gone: leaving twice is not an error for the user
        self.current_id, self.confirm_leave = "", False
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
            self.invite_error = exc.message
        return signed_out

    @rx.event
    async def accept_invite(self):
        code = self.code  # the dynamic route segment /join/[code]
        self.joining = True
        yield
        try:
            view = await asyncio.to_thread(get_enclaves().join, code, self.account_id)
        except EphemError as exc:
            self.join_error = exc.message
            self.joining = False
            return
        self.joining = False
        yield rx.redirect(routes.enclave_path(view.id))
