"""Headless Chromium with no WebRTC path at all: the pair chats through the server's relay, sealed end to end."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.support.peer_thread import PeerThread, matched_python_peer, next_message
from tests.support.browser import ENCLAVE_URL, say, sign_up, texts

pytestmark = pytest.mark.browser

# Failure injection: every RTCPeerConnection of the page may use TURN only,
# and is given no TURN server: it gathers no candidate, so no ICE pair can form.
NO_WEBRTC = """
(() => {
  const Native = window.RTCPeerConnection;
  const force = (config) => ({ ...(config || {}), iceServers: [], iceTransportPolicy: "relay" });
  class Blocked extends Native {
    constructor(config, ...rest) { super(force(config), ...rest); }
    setConfiguration(config) { return super.setConfiguration(force(config)); }
  }
  window.RTCPeerConnection = Blocked;
})();
"""
RELAYED = "relayed, end-to-end encrypted"
CODE = re.compile(r"^\d{4} \d{4} \d{4}$")


def blocked_page(browser, url, name):
    context = browser.new_context()
    context.add_init_script(NO_WEBRTC)
    page = context.new_page()
    sign_up(page, url, name)
    return page


def relayed_pair(browser, url):
    """Two new users with no WebRTC path meet through Search, talking through the relay."""
    pages = [blocked_page(browser, url, "Gulnar"), blocked_page(browser, url, "Bea")]
    try:
        pages[0].get_by_test_id("search-button").click()
        expect(pages[0].get_by_test_id("search-cancel")).to_be_visible()
        pages[1].get_by_test_id("search-button").click()
        for page in pages:
            expect(page).to_have_url(ENCLAVE_URL, timeout=20_000)
            expect(page.get_by_test_id("peer-state")).to_have_text(RELAYED, timeout=20_000)
    except BaseException:
        for page in pages:
            page.context.close()
        raise
    return pages


def safety_code(page, row: int = 0) -> str:
    page.get_by_test_id("safety-show").nth(row).click()
    code = page.get_by_test_id("safety-code").nth(row)
    expect(code).to_have_text(CODE, timeout=10_000)
    return code.inner_text()


def test_two_browsers_with_no_webrtc_path_chat_through_the_relay(live, browser):
    a = blocked_page(browser, live.frontend, "Gulnar")
    b = blocked_page(browser, live.frontend, "Bea")
    try:
        a.get_by_test_id("search-button").click()
        expect(a.get_by_test_id("search-cancel")).to_be_visible()
        b.get_by_test_id("search-button").click()
        clicked = time.monotonic()
        expect(a).to_have_url(ENCLAVE_URL, timeout=20_000)
        say(a, "through the relay, سلام")
        expect(b.get_by_test_id("chat-message")).to_have_count(1, timeout=20_000)
        print(f"browser relay: first message {time.monotonic() - clicked:.2f}s after the second Search")
        assert texts(b) == ["through the relay, سلام"]
        expect(a.get_by_test_id("chat-message")).to_have_attribute("data-status", "delivered", timeout=10_000)
        for page in (a, b):
            expect(page.get_by_test_id("peer-state")).to_have_text(RELAYED, timeout=10_000)
            expect(page.get_by_test_id("call-relayed")).to_contain_text("Calls need a direct or TURN path")

        for i in range(5):
            say(b, f"reply {i}")
        expect(a.get_by_test_id("chat-message")).to_have_count(6, timeout=15_000)
        assert texts(a)[1:] == [f"reply {i}" for i in range(5)]
        expect(b.get_by_test_id("chat-message").filter(has_text="reply 4")).to_have_attribute(
            "data-status", "delivered", timeout=10_000
        )
        assert safety_code(a) == safety_code(b)

        # Gulnar comes back in a new tab (new keys): Bea is told her safety code changed.
        a.reload()
        expect(b.get_by_test_id("safety-changed")).to_contain_text("Gulnar", timeout=20_000)
        expect(b.get_by_test_id("safety-changed")).to_contain_text("safety code changed")
        expect(a.get_by_test_id("peer-state")).to_have_text(RELAYED, timeout=20_000)
        say(a, "after the reload")
        expect(b.get_by_test_id("chat-message").filter(has_text="after the reload")).to_have_count(1, timeout=15_000)
        b.get_by_test_id("safety-show").click()
        expect(b.get_by_test_id("safety-code")).to_have_text(CODE, timeout=10_000)
        expect(b.get_by_test_id("safety-changed")).to_have_count(0)  # seen
        assert b.get_by_test_id("safety-code").inner_text() == safety_code(a)
    finally:
        a.context.close()
        b.context.close()


def relayed_with_python(browser, live, worker: PeerThread):
    """A page with no WebRTC path matched with a Python peer that `worker` runs;
    returns both, in one enclave (the page closed if it gets no further)."""
    page = blocked_page(browser, live.frontend, "Browser")
    try:
        page.get_by_test_id("search-button").click()
        expect(page.get_by_test_id("search-cancel")).to_be_visible()
        peer = worker.run(matched_python_peer(live.backend, "Py"))
        expect(page).to_have_url(ENCLAVE_URL, timeout=20_000)
    except BaseException:
        page.context.close()
        raise
    return page, peer


def test_a_browser_with_no_webrtc_path_and_a_python_peer_chat_through_the_relay(live, browser):
    worker = PeerThread()
    page = None
    try:
        page, peer = relayed_with_python(browser, live, worker)
        say(page, "hello python, through the relay")
        assert worker.run(next_message(peer)).text == "hello python, through the relay"
        expect(page.get_by_test_id("chat-message")).to_have_attribute("data-status", "delivered", timeout=10_000)
        expect(page.get_by_test_id("peer-state")).to_have_text(RELAYED, timeout=10_000)

        async def reply():
            message = await peer.send("hello browser, سلام")
            await peer.wait_status(message, "delivered", timeout=20)
            (other,) = peer.links
            return peer.transport(other), peer.safety_code(other)

        transport, code = worker.run(reply())
        assert transport == "relayed"
        expect(page.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)
        assert texts(page)[1] == "hello browser, سلام"
        assert code and safety_code(page) == code
        worker.run(peer.close())
    finally:
        if page is not None:
            page.context.close()
        worker.stop()
