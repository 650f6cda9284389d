"""uvicorn's wsproto websocket protocol, holding less per idle connection.

gunicorn.conf.py gives it to the uvicorn workers (`config.ws`). The protocol
is uvicorn's own (pinned in requirements.txt), with three things lighter,
none of which changes what goes over the wire:

- its receive queue: an `asyncio.Queue` keeps four deques (some 2.5 KB); the
  ASGI app is its only reader, so `SocketQueue` (a list, one waiter) does;
- its `writable` flag (an `asyncio.Event`, a dict and a deque): `Flag`;
- wsproto's handshake state (the h11 connection and the upgrade request),
  which wsproto keeps for the connection's whole life although, once the
  connection is accepted, it only ever asks it for events it no longer has.
"""

import asyncio

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

from ephem.signaling.engine import SocketQueue


class Flag:
    """The part of `asyncio.Event` uvicorn uses: set, clear, is_set, wait."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._waiter is not None:
            if not self._waiter.done():
                self._waiter.set_result(None)
            self._waiter = None

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        while not self._set:
            if self._waiter is None:
                self._waiter = asyncio.get_running_loop().create_future()
            # Shielded: one waiter cancelled must not cancel the others' wait.
            await asyncio.shield(self._waiter)
        return True


class _Accepted:
    """What a wsproto connection's handshake is asked once it is open: its events, none left."""

    __slots__ = ()

    def events(self):
        return iter(())


ACCEPTED = _Accepted()


class LeanWSProtocol(WSProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.queue = SocketQueue()
        self.writable = Flag()
        self.writable.set()

    async def send(self, message) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.conn.connection is not None:
            self.conn.handshake = ACCEPTED
