"""Reflex state for the login and home views: pure Python over the domain."""

import asyncio
import uuid

import reflex as rx

from ephem.ui import routes

from ephem.errors import EphemError, InvalidToken
from ephem.models import Account
from ephem.core.clock import iso, utcnow
from ephem.services import get_accounts, get_actions, get_enclaves
from ephem.ui.rows import EnclaveRow


class AuthState(rx.State):
    # Where the browser keeps its session token decides whether the account
    # outlives the browser: localStorage when remembered, else sessionStorage.
    kept_token: str = rx.LocalStorage(name="ephem_session")
    tab_token: str = rx.SessionStorage(name="ephem_session")

    account_id: str = ""
    name: str = ""
    remember: bool = False
    remember_choice: bool = True
    # Shown once, right after sign-up or rotation, until the user dismisses it.
    recovery_token: str = ""
    checked: bool = False
    busy: bool = False
    error: str = ""
    restore_error: str = ""
    confirm_delete: bool = False

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.account_id)

    def _token(self) -> str:
        return self.kept_token or self.tab_token

    def _adopt(self, account: Account, session_token: str) -> None:
        self.account_id, self.name, self.remember = account.id, account.name, account.remember
        if account.remember:
            self.kept_token, self.tab_token = session_token, ""
        else:
            self.kept_token, self.tab_token = "", session_token
        self.error = self.restore_error = ""

    def _forget(self) -> None:
        self.account_id = self.name = self.recovery_token = ""
        self.kept_token = self.tab_token = ""

    async def _me(self) -> Account | None:
        """The signed-in account, or None after clearing a stale token."""
        token = self._token()
        if not token:
            return None
        try:
            return await asyncio.to_thread(get_accounts().authenticate, token)
        except InvalidToken:
            self._forget()
            return None

    @rx.event
    async def load(self):
        account = await self._me()
        if account is not None:
            self.account_id, self.name, self.remember = account.id, account.name, account.remember
        else:  # no token (any more): signed out in another tab, say
            self.account_id = self.name = ""
        self.checked = True

    @rx.event
    def set_remember_choice(self, value: bool):
        self.remember_choice = value

    @rx.event
    async def sign_up(self, form: dict):
        self.busy = True
        yield
        try:
            created = await asyncio.to_thread(get_accounts().create, form.get("name", ""), self.remember_choice)
        except EphemError as exc:
            self.error = exc.message
        else:
            self._adopt(created.account, created.session_token)
            self.recovery_token = created.recovery_token
        finally:
            self.busy = False

    @rx.event
    async def restore(self, form: dict):
        self.busy = True
        yield
        try:
            restored = await asyncio.to_thread(get_accounts().restore, form.get("recovery_token", ""))
        except EphemError as exc:
            self.restore_error = exc.message
        else:
            self._adopt(restored.account, restored.session_token)
        finally:
            self.busy = False

    @rx.event
    def set_confirm_delete(self, value: bool):
        self.confirm_delete = value

    @rx.event
    def dismiss_recovery(self):
        self.recovery_token = ""

    @rx.event
    def copy_recovery(self):
        return [rx.set_clipboard(self.recovery_token), rx.toast.success("Recovery token copied")]

    @rx.event
    async def rotate_recovery(self):
        account = await self._me()
        if account is None:
            return rx.toast.error("Your session has ended.")
        try:
            self.recovery_token = await asyncio.to_thread(get_accounts().rotate_recovery, account.id)
        except InvalidToken:  # deleted meanwhile (another tab, the sweep)
            self._forget()
            return rx.toast.error("Your session has ended.")

    @rx.event
    async def sign_out(self):
        token = self._token()
        if token:
            await get_actions().sign_out(token)
        self._forget()

    @rx.event
    async def delete_account(self):
        account = await self._me()
        if account is not None:
            try:
                await get_actions().delete_account(account.id)
            except InvalidToken:  # deleted meanwhile (another tab, the sweep): the outcome asked for
                pass
        self._forget()
        self.confirm_delete = False
        return rx.toast.info("Your account and its tokens are deleted.")



class LiveState(AuthState):
    """What the `/ephem` connection tells the page, and the commands it sends there."""

    connected: bool = False
    peer_id: str = ""
    online: int = 0
    searching_count: int = 0
    searching: bool = False
    search_started: str = ""
    # The Search button takes the focus back from Cancel only after a cancel, not on every load.
    search_cancelled: bool = False
    command: dict = {}
    enclaves: list[EnclaveRow] = []
    _seq: int = 0

    def _send(self, op: str, **args) -> None:
        """Ask the browser module to do something; it runs each nonce once."""
        self._seq += 1
        self.command = {"seq": self._seq, "nonce": str(uuid.uuid4()), "op": op, **args}

    def _stats(self, stats: dict) -> None:
        self.online = int(stats.get("online", 0))
        self.searching_count = int(stats.get("searching", 0))

    @rx.event
    async def load_home(self):
        await self.load()
        self.search_cancelled = False
        if self.account_id:
            views = await asyncio.to_thread(get_enclaves().list_for, self.account_id)
            online = await get_actions().online({m.account_id for v in views for m in v.members})
            self.enclaves = [enclave_summary(v, self.account_id, online) for v in views]

    @rx.event
    def start_search(self):
        if not self.searching:
            self.searching, self.search_cancelled = True, False
            self.search_started = iso(utcnow())
            self._send("search")

    @rx.event
    def cancel_search(self):
        self._cancel_search()

    def _cancel_search(self) -> None:
        self.searching, self.search_cancelled = False, True
        self._send("cancel_search")

    @rx.event
    def search_key(self, key: str, _info: dict | None = None):
        if key == "Escape" and self.searching:
            self._cancel_search()

    @rx.event
    async def on_client(self, kind: str, data: dict):
        """The single entry point for everything the browser module reports."""
        return self._handle_client(kind, data)

    def _handle_client(self, kind: str, data: dict):
        if not isinstance(data, dict):
            return None
        if kind == "connected":
            self.connected = True
            if data.get("ok"):
                self.peer_id = data.get("peer_id", "")
                self._stats(data.get("stats") or {})
        elif kind == "disconnected":
            self.connected = False
        elif kind == "connect_error":
            self.connected = False
            if data.get("code") == "invalid_token":
                self._forget()
                return rx.redirect(routes.HOME)
            if data.get("code") in ("too_many_connections", "unavailable"):  # retried in a moment
                return rx.toast.warning(str(data.get("message", "The server refused the connection.")), id="refused")
        elif kind == "stats":
            self._stats(data)
        elif kind == "matched":
            self.searching = False
            return rx.redirect(routes.enclave_path(data.get('enclave_id', '')))
        elif kind == "search_failed":
            self.searching = False
            return rx.toast.error((data.get("error") or {}).get("message", "Matching failed. Search again."))
        elif kind == "ack" and not data.get("ok"):
            if data.get("op") == "search":
                self.searching = False
            return rx.toast.error((data.get("error") or {}).get("message", "Something went wrong."))
        return None


def enclave_summary(view, me: str, online: set[str]) -> EnclaveRow:
    """An enclave as the home list shows it."""
    others = [m for m in view.members if m.account_id != me]
    return EnclaveRow(
        id=view.id,
        name=view.name,
        members=", ".join(m.name for m in view.members),
        count=len(view.members),
        online=sum(1 for m in others if m.account_id in online),
        last_active_at=iso(view.last_active_at),
        expires_at=iso(view.expires_at),
    )
