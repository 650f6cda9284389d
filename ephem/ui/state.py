"""Reflex state for the login and home views: pure Python over the domain."""

import asyncio
import dataclasses
import json
import uuid
from datetime import datetime

import reflex as rx
from pydantic import ValidationError

from ephem.i18n import DEFAULT, LANGUAGES, N_, translate
from ephem.i18n.formats import deleted_if_unused, format_relative
from ephem.ui import routes

from ephem.errors import Banned, EphemError, InvalidToken, NotFound
from ephem.interests import RULE, normalize
from ephem.models import Account
from ephem.core.addresses import client_address
from ephem.core.clock import iso, utcnow
from ephem.core.settings import get_settings
from ephem.api.deps import get_limits
from ephem.pow import ProofIn
from ephem.services import get_accounts, get_actions, get_enclaves, get_proofs, get_safety
from ephem.ui.rows import BlockRow, EnclaveRow


# The session token lives in the browser only: localStorage when the account
# is remembered, else sessionStorage (the contract). Server-side state is
# pickled to disk or Redis, so it never holds one: a handler that needs the
# token asks the page for it and gets it as its argument.
TOKEN_KEY = "ephem_session"
# Errors assets/ephem/session.js writes itself (no server said them): in the
# catalogs, so `_say` puts them in the page's language like the server's.
BROWSER_ERRORS = (N_("The server did not answer."), N_("Signed out."))
_READ_TOKEN = f"localStorage.getItem('{TOKEN_KEY}') || sessionStorage.getItem('{TOKEN_KEY}') || ''"
_FORGET_TOKEN = f"localStorage.removeItem('{TOKEN_KEY}'); sessionStorage.removeItem('{TOKEN_KEY}')"


def with_token(handler) -> rx.event.EventSpec:
    """Run `handler(token)` with the token the page keeps ('' when none)."""
    return rx.call_script(_READ_TOKEN, callback=handler)


def keep_token(token: str, remember: bool) -> rx.event.EventSpec:
    kept, other = ("localStorage", "sessionStorage") if remember else ("sessionStorage", "localStorage")
    return rx.call_script(f"{other}.removeItem('{TOKEN_KEY}'); {kept}.setItem('{TOKEN_KEY}', {json.dumps(token)})")


class AuthState(rx.State):
    account_id: str = ""
    name: str = ""
    remember: bool = False
    remember_choice: bool = True
    # Shown once, right after sign-up or rotation, until the user dismisses it.
    recovery_token: str = ""
    checked: bool = False
    busy: bool = False
    solving: bool = False  # the page is solving a proof of work to sign up
    error: str = ""
    restore_error: str = ""
    confirm_delete: bool = False
    # The page's language, as its language menu says (assets/ephem/language.js):
    # the browser chooses and remembers it; the server only says things in it.
    lang: str = DEFAULT

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.account_id)

    @rx.event
    def set_lang(self, lang: str):
        """From the language menu, at each page's start and on every switch."""
        if isinstance(lang, str) and lang in LANGUAGES:
            self.lang = lang

    def _say(self, text: str) -> str:
        """`text` (an N_ text, an error's message) in the page's language."""
        return translate(text, self.lang)

    def _adopt(self, account: Account, session_token: str) -> rx.event.EventSpec:
        self.account_id, self.name, self.remember = account.id, account.name, account.remember
        self.error = self.restore_error = ""
        return keep_token(session_token, account.remember)

    def _forget(self) -> rx.event.EventSpec:
        self.account_id = self.name = self.recovery_token = ""
        return rx.call_script(_FORGET_TOKEN)

    async def _me(self, token: str) -> Account | None:
        """The token's account, or None: a stale token is dropped from the page."""
        if not isinstance(token, str) or not token:
            return None
        try:
            return await asyncio.to_thread(get_accounts().authenticate, token)
        except Banned as exc:
            self.error = self._say(exc.message)  # said on the sign-in page it goes back to
            return None
        except InvalidToken:
            return None

    async def _sign_in(self, token: str) -> rx.event.EventSpec | None:
        """Who the page is signed in as, from its token; no token (any more,
        signed out in another tab, say) signs the page out."""
        account = await self._me(token)
        self.checked = True
        if account is None:
            return self._forget() if token else None
        self.account_id, self.name, self.remember = account.id, account.name, account.remember
        return None

    @rx.event
    def set_remember_choice(self, value: bool):
        self.remember_choice = value

    @rx.event
    async def sign_up(self, form: dict):
        """Past the address's sign-up budget, the page solves a proof of work
        (ephemSolve, assets/ephem_client.js) and `sign_up_paid` goes on."""
        self.busy, self.error = True, ""
        yield
        name, client = form.get("name", ""), self._client()
        try:
            if not await get_limits().signup.allow(client):
                challenge = json.dumps(get_proofs().challenge("signup", client))
                self.solving = True
                yield rx.call_script(
                    # Inside a promise: a page without ephemSolve still calls back, with an error.
                    f"Promise.resolve().then(() => window.ephemSolve({challenge}))"
                    f".then((nonce) => ({{name: {json.dumps(name)}, challenge: {challenge}, nonce}}))"
                    ".catch((e) => ({error: String(e && e.message || e)}))",
                    callback=AuthState.sign_up_paid,
                )
                return
            async for step in self._create(name):
                yield step
        finally:
            self.busy = False

    @rx.event
    async def sign_up_paid(self, solved: dict):
        self.solving, self.busy = False, True
        yield
        try:
            if not isinstance(solved, dict) or "error" in solved:
                self.error = self._say(N_("We could not check that you're not a robot. Please try again."))
                return
            try:
                proof = ProofIn.model_validate({"challenge": solved.get("challenge"), "nonce": solved.get("nonce")})
                await get_proofs().redeem(proof, "signup", self._client())
            except ValidationError:
                self.error = self._say(N_("We could not check that you're not a robot. Please try again."))
                return
            except EphemError as exc:
                self.error = self._say(exc.message)
                return
            async for step in self._create(str(solved.get("name", ""))):
                yield step
        finally:
            self.busy = False

    def _client(self) -> str:
        """The address the sign-up limit keys on, as the REST API finds it."""
        headers = self.router.headers.raw_headers
        sender = headers.get("asgi-scope-client") or self.router.session.client_ip or "unknown"
        forwarded = [headers["x-forwarded-for"]] if headers.get("x-forwarded-for") else []
        return client_address(sender, forwarded, get_settings().trusted_proxies)

    async def _create(self, name: str):
        try:
            created = await asyncio.to_thread(get_accounts().create, name, self.remember_choice)
        except EphemError as exc:
            self.error = self._say(exc.message)
        else:
            yield self._adopt(created.account, created.session_token)
            self.recovery_token = created.recovery_token

    @rx.event
    async def restore(self, form: dict):
        self.busy = True
        yield
        try:
            restored = await asyncio.to_thread(get_accounts().restore, form.get("recovery_token", ""))
        except EphemError as exc:
            self.restore_error = self._say(exc.message)
        else:
            yield self._adopt(restored.account, restored.session_token)
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
        return [rx.set_clipboard(self.recovery_token), rx.toast.success(self._say(N_("Recovery token copied")))]

    @rx.event
    def rotate_recovery(self):
        return with_token(AuthState.rotate_recovery_as)

    @rx.event
    async def rotate_recovery_as(self, token: str):
        account = await self._me(token)
        try:
            if account is None:
                raise InvalidToken("Your session has ended.")
            self.recovery_token = await asyncio.to_thread(get_accounts().rotate_recovery, account.id)
        except InvalidToken:  # deleted meanwhile (another tab, the sweep)
            return [self._forget(), rx.toast.error(self._say(N_("Your session has ended.")))]
        return None

    @rx.event
    def sign_out(self):
        return with_token(AuthState.sign_out_as)

    @rx.event
    async def sign_out_as(self, token: str):
        if isinstance(token, str) and token:
            await get_actions().sign_out(token)
        return self._forget()

    @rx.event
    def delete_account(self):
        return with_token(AuthState.delete_account_as)

    @rx.event
    async def delete_account_as(self, token: str):
        account = await self._me(token)
        if account is not None:
            try:
                await get_actions().delete_account(account.id)
            except InvalidToken:  # deleted meanwhile (another tab, the sweep): the outcome asked for
                pass
        self.confirm_delete = False
        return [self._forget(), rx.toast.info(self._say(N_("Your account and its tokens are deleted.")))]



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
    blocks: list[BlockRow] = []
    # Set by "Next" in an enclave: the home page searches as soon as it loads.
    search_next: bool = False

    @rx.var
    def stats_text(self) -> str:
        lang = self.lang  # named here so the var follows the language
        return translate(N_("{online} online · {searching} searching", online=self.online, searching=self.searching_count), lang)

    @rx.var
    def enclave_times(self) -> dict[str, str]:
        """Each home-list enclave's "Active 3 days ago. Deleted in 1 month if
        unused." in the page's language (CLDR relative times, own digits)."""
        lang, now = self.lang, utcnow()
        return {row.id: enclave_times(row, lang, now) for row in self.enclaves}

    @rx.var
    def enclave_online(self) -> dict[str, str]:
        """Each home-list enclave's "2 online", in the page's language and digits."""
        lang = self.lang
        return {row.id: translate(N_("{n} online", n=row.online), lang) for row in self.enclaves}
    # Optional, comma-separated: matched first with someone sharing one.
    interests_text: str = ""
    interests_error: str = ""
    # What the last match had in common, and the enclave it made.
    shared_interests: list[str] = []
    shared_enclave: str = ""
    _seq: int = 0
    # Each listed enclave's members as [account_id, name]: who is online is
    # looked up again (presence, not the database) when the stats change.
    _members: dict[str, list[list[str]]] = {}

    def _send(self, op: str, **args) -> None:
        """Ask the browser module to do something; it runs each nonce once."""
        self._seq += 1
        self.command = {"seq": self._seq, "nonce": str(uuid.uuid4()), "op": op, **args}

    def _stats(self, stats: dict) -> None:
        self.online = int(stats.get("online", 0))
        self.searching_count = int(stats.get("searching", 0))

    @rx.event
    def load_home(self):
        return with_token(LiveState.load_home_as)

    @rx.event
    async def load_home_as(self, token: str):
        signed_out = await self._sign_in(token)
        self.search_cancelled = False
        if self.account_id:
            views = await asyncio.to_thread(get_enclaves().list_for, self.account_id)
            online = await get_actions().online({m.account_id for v in views for m in v.members})
            self.enclaves = [enclave_summary(v, self.account_id, online) for v in views]
            self._members = {v.id: [[m.account_id, m.name] for m in v.members] for v in views}
            await self._load_blocks()
            if self.search_next:
                self.search_next, self.searching = False, False
                self._start_search()
        return signed_out

    async def _load_blocks(self) -> None:
        views = await asyncio.to_thread(get_safety().blocks_of, self.account_id)
        self.blocks = [BlockRow(account_id=b.account_id, name=b.name, created_at=iso(b.created_at)) for b in views]

    async def _unblock(self, account_id: str) -> None:
        try:
            await asyncio.to_thread(get_safety().unblock, self.account_id, account_id)
        except NotFound:
            pass  # lifted already (in another tab): the outcome asked for

    @rx.event
    async def unblock(self, account_id: str):
        await self._unblock(account_id)
        await self._load_blocks()
        return rx.toast.success(self._say(N_("Unblocked.")))

    @rx.event
    def start_search(self):
        self._start_search()

    @rx.event
    def set_interests_text(self, value: str):
        self.interests_text, self.interests_error = str(value)[:300], ""

    @rx.event
    def interests_key(self, key: str, _info: dict | None = None):
        if key == "Enter":
            self._start_search()

    def _start_search(self) -> None:
        if self.searching:
            return
        try:
            interests = list(normalize([t for t in self.interests_text.split(",") if t.strip()]))
        except ValueError:
            self.interests_error = self._say(N_("Interests: {rule}, separated by commas.", rule=RULE))
            return
        self.interests_error = ""
        self.searching, self.search_cancelled = True, False
        self.search_started = iso(utcnow())
        self._send("search", interests=interests)

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
        if kind == "stats" and self.enclaves:
            await self._refresh_online_here()
        return self._handle_client(kind, data)

    async def _refresh_online_here(self) -> None:
        """Who is online in each listed enclave, now (the stats changed: someone came or went)."""
        ids = {account_id for members in self._members.values() for account_id, _ in members}
        online = await get_actions().online(ids)
        rows = []
        for row in self.enclaves:
            here = online_names(self._members.get(row.id, []), self.account_id, online)
            rows.append(dataclasses.replace(row, online=len(here), online_names=", ".join(here)))
        self.enclaves = rows

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
            if data.get("code") in ("invalid_token", "banned"):
                if data.get("code") == "banned":
                    self.error = self._say(str(data.get("message", N_("This account is banned."))))
                return [self._forget(), rx.redirect(routes.HOME)]
            if data.get("code") in ("too_many_connections", "unavailable"):  # retried in a moment
                return rx.toast.warning(self._say(str(data.get("message", N_("The server refused the connection.")))), id="refused")
        elif kind == "stats":
            self._stats(data)
        elif kind == "matched":
            self.searching = False
            shared = data.get("interests")
            self.shared_interests = [str(t)[:24] for t in shared[:5]] if isinstance(shared, list) else []
            self.shared_enclave = str(data.get("enclave_id", ""))
            return rx.redirect(routes.enclave_path(data.get('enclave_id', '')))
        elif kind == "search_failed":
            self.searching = False
            return rx.toast.error(self._say((data.get("error") or {}).get("message", N_("Matching failed. Search again."))))
        elif kind == "solving":  # a search past the account's budget: the worker pays
            return rx.toast.info(self._say(N_("Checking you're not a robot…")), id="solving")
        elif kind == "ack" and not data.get("ok"):
            if data.get("op") == "search":
                self.searching = False
            return rx.toast.error(self._say((data.get("error") or {}).get("message", N_("Something went wrong."))))
        return None


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def enclave_times(row: EnclaveRow, lang: str, now: datetime) -> str:
    """When a home-list enclave was last active and when it goes unless used."""
    said = []
    active, expires = _moment(row.last_active_at), _moment(row.expires_at)
    if active is not None:
        said.append(translate(N_("Active {when}.", when=format_relative(active, lang, now)), lang))
    if expires is not None:
        said.append(deleted_if_unused(expires, lang, now))
    return " ".join(said)


def online_names(members, me: str, online: set[str]) -> list[str]:
    """The names of the others (not me) among `members` ([account_id, name]) who are online."""
    return [name for account_id, name in members if account_id != me and account_id in online]


def enclave_summary(view, me: str, online: set[str]) -> EnclaveRow:
    """An enclave as the home list shows it."""
    here = online_names([(m.account_id, m.name) for m in view.members], me, online)
    return EnclaveRow(
        id=view.id,
        name=view.name,
        members=", ".join(m.name for m in view.members),
        count=len(view.members),
        online=len(here),
        online_names=", ".join(here),
        last_active_at=iso(view.last_active_at),
        expires_at=iso(view.expires_at),
    )
