"""State for the enclave view and for invite links."""

import asyncio
import uuid

import reflex as rx

from ephem.clock import iso, utcnow
from ephem.errors import EphemError, NotFound
from ephem.services import get_enclaves, get_hub
from ephem.state import LiveState

LOG_MAX = 200


class EnclaveState(LiveState):
    current_id: str = ""
    enclave_name: str = ""
    expires_at: str = ""
    members: list[dict] = []
    invite_url: str = ""
    log: list[dict] = []
    missing: bool = False
    joined: bool = False
    # peer_id -> account_id of the connections in this enclave's room right now
    _room: dict[str, str] = {}

    def _note(self, what: str, who: str = "") -> None:
        """A system line; `who` is user text and is isolated for bidi on render."""
        entry = {"id": str(uuid.uuid4()), "who": who, "what": what, "ts": iso(utcnow())}
        self.log = [*self.log, entry][-LOG_MAX:]

    def _refresh_online(self) -> None:
        present = set(self._room.values())
        self.members = [
            {**m, "online": m["account_id"] == self.account_id or m["account_id"] in present} for m in self.members
        ]

    async def _reload_members(self) -> None:
        view = await asyncio.to_thread(get_enclaves().get, self.current_id, self.account_id)
        self.enclave_name = view.name
        self.expires_at = iso(view.expires_at)
        self.members = [
            {"account_id": m.account_id, "name": m.name, "me": m.account_id == self.account_id, "online": False}
            for m in view.members
        ]
        self._refresh_online()

    @rx.event
    async def load_enclave(self):
        await self.load()
        if not self.account_id:
            return rx.redirect("/")
        enclave_id = self.router.page.params.get("room", "")
        if enclave_id != self.current_id:
            self.current_id, self._room, self.log, self.invite_url, self.joined = enclave_id, {}, [], "", False
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
        if kind in ("peer_joined", "peer_left") and data.get("enclave_id") == self.current_id:
            if kind == "peer_joined":
                peer = data.get("peer") or {}
                self._room = {**self._room, peer.get("peer_id", ""): peer.get("account_id", "")}
                if peer.get("account_id") not in {m["account_id"] for m in self.members}:
                    await self._reload_members()  # joined through an invite just now
                self._note("joined", peer.get("name", "Someone"))
            else:
                account_id = self._room.pop(data.get("peer_id", ""), data.get("account_id"))
                self._room = dict(self._room)
                name = next((m["name"] for m in self.members if m["account_id"] == account_id), "Someone")
                if account_id not in self._room.values():
                    self._note("left", name)
            self._refresh_online()
            return None
        if kind == "disconnected":
            self.joined = False
            self._note("Connection lost, reconnecting…")
        return self._handle_client(kind, data)

    @rx.event
    async def create_invite(self):
        try:
            invitation = await asyncio.to_thread(get_enclaves().invite, self.current_id, self.account_id)
        except EphemError as exc:
            return rx.toast.error(exc.message)
        self.invite_url = f"{self.router.page.host.rstrip('/')}/join/{invitation.code}"
        return None

    @rx.event
    def copy_invite(self):
        return [rx.set_clipboard(self.invite_url), rx.toast.success("Invite link copied")]

    @rx.event
    async def leave_enclave(self):
        enclave_id = self.current_id
        try:
            await asyncio.to_thread(get_enclaves().leave, enclave_id, self.account_id)
        except NotFound:
            pass  # already gone: leaving twice is not an error for the user
        await get_hub().evict(enclave_id, self.account_id)
        self.current_id = ""
        return rx.redirect("/")


class JoinState(LiveState):
    join_error: str = ""
    joining: bool = False

    @rx.event
    async def load_join(self):
        await self.load()
        self.join_error = ""

    @rx.event
    async def accept_invite(self):
        code = self.router.page.params.get("code", "")
        self.joining = True
        yield
        try:
            view = await asyncio.to_thread(get_enclaves().join, code, self.account_id)
        except EphemError as exc:
            self.join_error = exc.message
            self.joining = False
            return
        self.joining = False
        yield rx.redirect(f"/enclave/{view.id}")
