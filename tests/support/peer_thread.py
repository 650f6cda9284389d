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
