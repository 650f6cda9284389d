"""The Python peer driven from a synchronous (Playwright) test."""

import asyncio
import threading


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


async def matched_python_peer(backend: str, name: str):
    """A Python peer that signs up and searches until it is matched (with a browser searching already)."""
    from ephem.peer import EphemPeer

    peer = await EphemPeer.sign_up(backend, name)
    await peer.connect()
    await peer.search(timeout=30)
    return peer


def meet_python_peer(worker: PeerThread, page, site: str, backend: str, names: tuple[str, str]):
    """A browser user (`names[0]`, on `site`) and a Python peer (`names[1]`,
    on `backend`) press Search and meet; returns the peer once the page is in
    the enclave with a direct link to it."""
    from playwright.sync_api import expect

    from tests.support.browser import ENCLAVE_URL, sign_up, wait_direct

    sign_up(page, site, names[0])
    page.get_by_test_id("search-button").click()
    expect(page.get_by_test_id("search-cancel")).to_be_visible()

    peer = worker.run(matched_python_peer(backend, names[1]))
    expect(page).to_have_url(ENCLAVE_URL, timeout=20_000)
    assert page.url.endswith(peer.enclave_id)
    wait_direct(page, 1)
    return peer
