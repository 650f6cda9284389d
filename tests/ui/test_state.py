"""The Reflex states as plain Python: handlers called directly, as the page would."""

import re

import pytest

from ephem.ui import state as state_module
from ephem.ui.state import LiveState

TOKEN = re.compile(r'"([A-Za-z0-9_-]{32})"')


@pytest.fixture
def page(accounts, monkeypatch) -> LiveState:
    monkeypatch.setattr(state_module, "get_accounts", lambda: accounts)
    return LiveState()


def scripts(events) -> str:
    return " ".join(str(e) for e in events if e is not None)


async def test_sign_up_hands_the_token_to_the_browser_and_keeps_none(page, accounts):
    events = [event async for event in page.sign_up({"name": "Ada"})]
    assert page.account_id and page.recovery_token
    sent = TOKEN.findall(scripts(events))
    assert len(sent) == 1, "the session token goes to the browser once, in a script"
    assert accounts.authenticate(sent[0]).id == page.account_id
    # Whatever Reflex pickles of this state (disk, Redis) holds no session token.
    assert sent[0] not in repr(page.dict())
    assert sent[0].encode() not in page._serialize()


async def test_a_page_signs_in_with_the_token_it_keeps(page, accounts):
    created = accounts.create("Bo", True)
    assert await page._sign_in(created.session_token) is None
    assert (page.account_id, page.name, page.checked) == (created.account.id, "Bo", True)
    assert created.session_token not in repr(page.dict())


async def test_a_stale_token_signs_the_page_out_and_is_dropped(page, accounts):
    created = accounts.create("Cy", False)
    await page._sign_in(created.session_token)
    accounts.end_session(created.session_token)
    dropped = await page._sign_in(created.session_token)
    assert page.account_id == "" and page.checked
    assert "removeItem('ephem_session')" in str(dropped)
    assert await page._sign_in("") is None, "no token: nothing to drop"


def test_the_server_refusing_the_token_signs_out_and_goes_home(page):
    page.account_id = "someone"
    events = page._handle_client("connect_error", {"code": "invalid_token", "message": "no"})
    assert page.account_id == "" and not page.connected
    assert "removeItem('ephem_session')" in scripts(events) and "/" in scripts(events)


def test_search_sends_the_interests_typed_and_refuses_bad_ones(page):
    page.set_interests_text("Chess, , sci-fi ,日本語")
    page.interests_key("Enter")
    assert page.searching
    assert page.command["op"] == "search" and page.command["interests"] == ["chess", "sci-fi", "日本語"]
    page.cancel_search()

    page.set_interests_text("chess; DROP")
    sent = page.command["nonce"]
    page.start_search()
    assert not page.searching and page.command["nonce"] == sent, "nothing sent"
    assert "letters, digits, spaces or hyphens" in page.interests_error
    page.set_interests_text("")
    assert page.interests_error == ""
    page.start_search()
    assert page.command["interests"] == []


def test_matched_keeps_the_shared_interests_for_its_enclave(page):
    page.searching = True
    page._handle_client("matched", {"enclave_id": "e1", "peer": {}, "interests": ["chess"]})
    assert (page.shared_interests, page.shared_enclave, page.searching) == (["chess"], "e1", False)
    page._handle_client("matched", {"enclave_id": "e2", "peer": {}})  # an older server: none
    assert (page.shared_interests, page.shared_enclave) == ([], "e2")


def test_the_home_list_names_who_is_online_in_each_enclave():
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from ephem.ui.state import enclave_summary

    member = lambda account_id, name: SimpleNamespace(account_id=account_id, name=name)  # noqa: E731
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    view = SimpleNamespace(
        id="e1",
        name="Ana & Ben & Cy",
        members=[member("me", "Ana"), member("b", "Ben"), member("c", "Cy")],
        last_active_at=when,
        expires_at=when,
    )
    row = enclave_summary(view, "me", {"me", "c"})
    assert (row.online, row.online_names) == (1, "Cy")  # the others only, not me
    assert enclave_summary(view, "me", set()).online_names == ""


async def test_the_home_list_follows_who_comes_online_when_the_stats_change(monkeypatch):
    from types import SimpleNamespace

    from ephem.ui.rows import EnclaveRow

    present: set[str] = set()

    async def online(ids):
        return set(ids) & present

    monkeypatch.setattr(state_module, "get_actions", lambda: SimpleNamespace(online=online))
    page = LiveState()
    page.account_id = "me"
    page.enclaves = [EnclaveRow(id="e1", name="x", members="Ana, Ben", count=2, online=0, last_active_at="", expires_at="")]
    page._members = {"e1": [["me", "Ana"], ["b", "Ben"]]}
    present.update({"me", "b"})
    await page.on_client("stats", {"online": 2, "searching": 0})
    assert (page.enclaves[0].online, page.enclaves[0].online_names, page.online) == (1, "Ben", 2)
    present.discard("b")
    await page.on_client("stats", {"online": 1, "searching": 0})
    assert (page.enclaves[0].online, page.enclaves[0].online_names) == (0, "")


async def test_the_sign_up_form_finds_the_client_behind_a_trusted_proxy_as_rest_does(page, monkeypatch):
    from reflex.istate.data import RouterData

    from ephem.api.deps import Limits
    from ephem.core.settings import Settings
    from ephem.live.ratelimit import RateLimiter

    limits = Limits(signup=RateLimiter(rate=0.0, burst=1))  # one sign-up per address
    monkeypatch.setattr(state_module, "get_limits", lambda: limits)
    trusted = Settings(db_url="sqlite://", secret=b"x" * 16, trusted_proxies="127.0.0.1")
    monkeypatch.setattr(state_module, "get_settings", lambda: trusted)

    async def sign_up_via(sender: str, forwarded: str | None) -> bool:
        headers = {"asgi-scope-client": sender, **({"x-forwarded-for": forwarded} if forwarded else {})}
        page.router = RouterData.from_router_data({"headers": headers, "ip": sender})
        page.account_id, page.solving = "", False
        [_ async for _ in page.sign_up({"name": "Behind a proxy"})]
        return bool(page.account_id) and not page.solving

    assert await sign_up_via("127.0.0.1", "198.51.100.1")
    assert not await sign_up_via("127.0.0.1", "198.51.100.1")  # that address spent its budget
    assert await sign_up_via("127.0.0.1", "198.51.100.2")  # another client, its own bucket
    # A sender that is not a trusted proxy is the client, whatever it forwards.
    assert await sign_up_via("203.0.113.9", "198.51.100.3")
    assert not await sign_up_via("203.0.113.9", "198.51.100.4")
