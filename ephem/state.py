"""Reflex state for the login and home views: pure Python over the domain."""

import asyncio

import reflex as rx

from ephem.errors import EphemError, InvalidToken
from ephem.models import Account
from ephem.services import get_accounts


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
        self.recovery_token = await asyncio.to_thread(get_accounts().rotate_recovery, account.id)

    @rx.event
    async def sign_out(self):
        token = self._token()
        if token:
            await asyncio.to_thread(get_accounts().end_session, token)
        self._forget()

    @rx.event
    async def delete_account(self):
        account = await self._me()
        if account is not None:
            await asyncio.to_thread(get_accounts().delete, account.id)
        self._forget()
        self.confirm_delete = False
        return rx.toast.info("Your account and its tokens are deleted.")

    @rx.event
    async def heartbeat(self, _now=None):
        """Called every minute while a page is open: an open tab keeps a session-only account."""
        if self.account_id:
            await self._me()
