"""Signing out in one tab signs out every tab on that session; a connection
refused for now is tried again."""

import asyncio
import time

import httpx
import pytest
import socketio
from playwright.sync_api import expect

from ephem.signaling.hub import CONNECTIONS_PER_ACCOUNT
from tests.support.browser import sign_up
from tests.support.peer_thread import PeerThread

pytestmark = pytest.mark.browser


def test_signing_out_in_one_tab_ends_the_others_search_too(live, browser):
    context = browser.new_context()
    first = context.new_page()
    sign_up(first, live.frontend, "Zed", remember=True)
    second = context.new_page()  # shares the remembered session
    second.goto(live.frontend)
    second.get_by_test_id("search-button").click()
    expect(second.get_by_test_id("search-cancel")).to_be_visible(timeout=15_000)

    first.get_by_role("button", name="Account menu").click()
    first.get_by_role("menuitem", name="Sign out").click()
    expect(first.get_by_test_id("login-name")).to_be_visible(timeout=15_000)
    # The other tab is told at once, not at its next reload, and its search ends:
    # nobody can be matched with a session that no longer exists.
    expect(second.get_by_test_id("login-name")).to_be_visible(timeout=15_000)
    expect(second.get_by_test_id("search-button")).to_have_count(0)
    assert httpx.get(f"{live.backend}/api/stats", timeout=10).json()["searching"] == 0
    context.close()


def test_a_refused_connection_is_tried_again_and_gets_in_once_a_slot_frees(live, browser):
    """session.js: the server refuses a connection over the account's limit
    (too_many_connections); socket.io never retries a refusal by itself, so the
    page tries again REFUSED_RETRY_MS (10 s) later, the real timer, and gets in
    once another connection of the account has closed."""
    context = browser.new_context()
    first = context.new_page()
    sign_up(first, live.frontend, "Crowded")
    expect(first.get_by_text("connected", exact=True)).to_be_visible(timeout=15_000)
    token = first.evaluate("localStorage.getItem('ephem_session')")

    async def hold(n):
        clients = []
        for _ in range(n):
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(live.backend, namespaces=["/ephem"], socketio_path="_event", transports=["websocket"], auth={"token": token})
            clients.append(client)
        return clients

    worker = PeerThread()
    try:
        held = worker.run(hold(CONNECTIONS_PER_ACCOUNT - 1))  # with the first page's: the account is full
        second = context.new_page()
        second.goto(live.frontend)
        expect(second.get_by_text("connections open already", exact=False)).to_be_visible(timeout=20_000)  # refused, said in a toast
        expect(second.get_by_text("connecting", exact=True)).to_be_visible()
        worker.run(held.pop().disconnect())
        freed = time.monotonic()
        expect(second.get_by_text("connected", exact=True)).to_be_visible(timeout=25_000)
        print(f"in again {time.monotonic() - freed:.1f} s after a slot freed (retry every 10 s)")
        worker.run(close_all(held))
    finally:
        worker.stop()
        context.close()


async def close_all(clients):
    await asyncio.gather(*(client.disconnect() for client in clients))
