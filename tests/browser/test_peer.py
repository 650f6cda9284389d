"""The Python peer (aiortc) and headless Chromium in one enclave."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import say, texts
from tests.support.peer_thread import PeerThread, meet_python_peer, next_message

pytestmark = pytest.mark.browser


def test_python_peer_and_browser_chat_both_ways(live, browser):
    worker = PeerThread()
    page = browser.new_context().new_page()
    try:
        peer = meet_python_peer(worker, page, live.frontend, live.backend, ("Browser", "Py"))

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
