"""The Python peer (aiortc) and headless Chromium in one enclave."""

import asyncio
import threading

import pytest
from playwright.sync_api import expect

from ephem.peer import EphemPeer
from tests.support.browser import ENCLAVE_URL, say, sign_up, texts, wait_direct

pytestmark = pytest.mark.browser


class PeerThread:
    """An EphemPeer on its own event loop, driven from a synchronous test."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def next_message(peer, timeout=20):
    return await asyncio.wait_for(anext(peer.messages()), timeout)


async def matched_python_peer(backend: str, name: str) -> EphemPeer:
    """A Python peer that signs up and searches until it is matched (with a browser searching already)."""
    peer = await EphemPeer.sign_up(backend, name)
    await peer.connect()
    await peer.search(timeout=30)
    return peer


def test_python_peer_and_browser_chat_both_ways(live, browser):
    worker = PeerThread()
    page = browser.new_context().new_page()
    try:
        sign_up(page, live.frontend, "Browser")
        page.get_by_test_id("search-button").click()
        expect(page.get_by_test_id("search-cancel")).to_be_visible()

        peer = worker.run(matched_python_peer(live.backend, "Py"))
        expect(page).to_have_url(ENCLAVE_URL, timeout=20_000)
        assert page.url.endswith(peer.enclave_id)
        wait_direct(page, 1)

        say(page, "hello python")
        assert worker.run(next_message(peer)).text == "hello python"
        expect(page.get_by_test_id("chat-message")).to_have_attribute("data-status", "delivered", timeout=10_000)

        async def reply():
            message = await peer.send("hello browser, سلام")
            await peer.wait_status(message, "delivered", timeout=20)
            return message.status

        assert worker.run(reply()) == "delivered"
        expect(page.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)
        assert texts(page)[1] == "hello browser, سلام"

        worker.run(peer.leave())
        expect(page.get_by_test_id("system-message").last).to_contain_text("Py left", timeout=15_000)
        expect(page.get_by_test_id("enclave-member")).to_have_count(1)  # no longer a member
        worker.run(peer.close())
    finally:
        page.context.close()
        worker.stop()
