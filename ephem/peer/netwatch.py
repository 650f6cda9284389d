"""The host's network addresses, watched: how a Python peer learns that its network changed.

A browser hears of it from the operating system (`online`, network-change
notifications); aiortc does not, and notices a dead ICE path only once its
consent checks have failed for about 30 s. One watch per event loop (many
peers may share a process) reads the addresses ICE gathers from, aioice's
own list, every second, and tells each subscriber which are gone and which
are new.
"""

import asyncio
import logging
import weakref
from collections.abc import Callable

from aioice.ice import get_host_addresses

log = logging.getLogger("ephem.peer")

INTERVAL = 1.0  # seconds between two reads (getifaddrs: microseconds each)

Listener = Callable[[set[str], set[str]], None]  # (gone, added)


def host_addresses() -> set[str]:
    return set(get_host_addresses(use_ipv4=True, use_ipv6=True))


class AddressWatch:
    def __init__(self, read: Callable[[], set[str]] = host_addresses, interval: float = INTERVAL):
        self.read, self.interval = read, interval
        self.listeners: set[Listener] = set()
        self.addresses: set[str] = set()
        self._task: asyncio.Task | None = None

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Calls `listener(gone, added)` on each change until the returned function is called."""
        self.listeners.add(listener)
        if self._task is None or self._task.done():
            self.addresses = self.read()
            self._task = asyncio.ensure_future(self._run())
        return lambda: self._unsubscribe(listener)

    def _unsubscribe(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        if not self.listeners and self._task is not None:
            self._task.cancel()
            self._task = None

    def check(self) -> None:
        now = self.read()
        gone, added = self.addresses - now, now - self.addresses
        self.addresses = now
        if not (gone or added):
            return
        log.info("network addresses changed: gone %s, new %s", sorted(gone), sorted(added))
        for listener in list(self.listeners):
            try:
                listener(gone, added)
            except Exception:  # noqa: BLE001 - one peer's failure must not stop the others hearing
                log.warning("a network change listener failed", exc_info=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.check()


_watches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AddressWatch]" = weakref.WeakKeyDictionary()


def watch(listener: Listener) -> Callable[[], None]:
    """Subscribe to the running loop's watch (made on first use); returns the unsubscribe."""
    loop = asyncio.get_running_loop()
    if loop not in _watches:
        _watches[loop] = AddressWatch()
    return _watches[loop].subscribe(listener)
