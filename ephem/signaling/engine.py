"""Engine.IO websockets that cost less per connection, idle or busy.

python-engineio's websocket socket keeps, for each connection: a writer task
that waits with `asyncio.wait_for` (a task and a timer for every wait), a
reader that wraps every frame's wait in a new task and a `wait_for`, a task
per ping that sleeps through the ping interval, and a server-wide service
task that visits every socket in turn through another `wait_for` each. For
thousands of idle connections that is most of the worker's idle CPU and a good
share of its memory (bench/README.md, issue 17).

Here, with the same protocol and the same timings: the reader awaits each
frame directly; the writer awaits the queue directly; the ping is a timer
callback, and so is the check that the pong came back within the ping
timeout (engine.io's own rule), which closes a socket whose client went
silent. The timers live in one `PingWheel` per server, in one-second slots:
one wake-up a second for the whole worker. A socket's life then holds one
task of its own (the writer). Its queue is a list with one waiter
(`asyncio.Queue` keeps four deques, a couple of KB); and the request's
environ is built without a class made for each request
(`ephem/signaling/environ.py`). Sockets that did not
start on the websocket transport (a polling upgrade: the app allows
websocket only) keep engine.io's own behaviour.
"""

import asyncio
import math
import time

import engineio
from engineio import async_socket, exceptions, packet
from engineio.async_drivers import asgi

from ephem.signaling.environ import translate_request

# The ASGI scope extension through which a websocket protocol that can take
# pings and pongs directly offers itself (`LeanWSProtocol`, websocket.py).
FRAMES = "ephem.frames"

# Closing tasks started from timer callbacks, kept until they finish.
_closing: set[asyncio.Task] = set()


class SocketQueue:
    """What engine.io asks of a socket's queue, for one consumer (the writer)."""

    __slots__ = ("_items", "_getter", "_unfinished", "_joined")

    def __init__(self) -> None:
        self._items: list = []
        self._getter: asyncio.Future | None = None
        self._unfinished = 0
        self._joined: asyncio.Future | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item) -> None:
        self._items.append(item)
        self._unfinished += 1
        if self._getter is not None and not self._getter.done():
            self._getter.set_result(None)

    async def put(self, item) -> None:
        self.put_nowait(item)

    def get_nowait(self):
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self):
        while not self._items:
            if self._getter is not None:
                raise RuntimeError("a socket queue has one consumer")
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        return self._items.pop(0)

    def task_done(self) -> None:
        self._unfinished -= 1
        if self._unfinished <= 0 and self._joined is not None and not self._joined.done():
            self._joined.set_result(None)

    async def join(self) -> None:
        if self._unfinished > 0:
            if self._joined is None or self._joined.done():
                self._joined = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._joined)


class PingWheel:
    """The sockets' ping timers, in slots of `tick` seconds served by one task:
    the worker wakes once a tick for all its sockets, not twice a ping for
    each, and a slot's pings go out in one go. A socket has one timer at most;
    cancelling it takes the socket out of its slot at once, so a closed
    socket is not held until its slot comes."""

    def __init__(self, tick_of):
        self.tick_of, self.tick = tick_of, 1.0
        self._slots: dict[int, dict["LeanSocket", object]] = {}
        self._next = 0  # the first slot not served yet
        self._task: asyncio.Task | None = None

    def call(self, delay: float, socket: "LeanSocket", callback) -> None:
        self.cancel(socket)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():  # no timers: the tick may change
            self.tick = self.tick_of()
            self._next = math.floor(loop.time() / self.tick)
            self._task = loop.create_task(self._run())
        slot = max(self._next, math.ceil((loop.time() + delay) / self.tick))
        self._slots.setdefault(slot, {})[socket] = callback
        socket.slot = slot

    def cancel(self, socket: "LeanSocket") -> None:
        entries = self._slots.get(socket.slot) if socket.slot is not None else None
        socket.slot = None
        if entries is not None:
            entries.pop(socket, None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while any(self._slots.values()):
            await asyncio.sleep(max(0.0, self._next * self.tick - loop.time()))
            now = math.floor(loop.time() / self.tick)
            while self._next <= now:
                due = self._slots.pop(self._next, {})
                self._next += 1  # first: a timer set by a callback lands in a slot still to come
                for socket, callback in due.items():
                    socket.slot = None
                    try:
                        callback()
                    except Exception:  # noqa: BLE001 - one socket's failure must not stop the others' pings
                        socket.server.logger.exception("ping timer failed")
        self._slots.clear()


class LeanSocket(async_socket.AsyncSocket):
    def __init__(self, server, sid):
        super().__init__(server, sid)
        self.queue = SocketQueue()
        self.slot: int | None = None  # of its timer in the server's PingWheel
        self.direct = None  # the websocket protocol, when it offers pings and pongs directly (FRAMES)
        self.flushing = False  # the writer is handing packets to the ASGI send (which may wait)

    def schedule_ping(self):
        # As engine.io: only once the previous ping was answered (or at the start).
        if self.last_ping:
            self.last_ping = None
            self.server.wheel.call(self.server.ping_interval, self, self._ping)

    def _ping(self) -> None:
        if self.closing or self.closed:
            return
        self.last_ping = time.time()
        # Straight onto the websocket unless packets wait for the writer (order kept).
        if not (self.direct is not None and self.queue.empty() and self.direct.send_ping()):
            self.queue.put_nowait(packet.Packet(packet.PING))
        self.server.wheel.call(self.server.ping_timeout, self, self._pong_overdue)

    async def send(self, pkt):
        """As Engine.IO's, but a text packet goes straight onto the websocket
        when nothing waits to be written before it: no writer wake-up."""
        if not await self.check_ping_timeout():
            return
        direct = self.direct
        if direct is not None and not self.flushing and self.queue.empty():
            encoded = pkt.encode()
            if type(encoded) is str and direct.send_texts([encoded]):
                return
        await self.queue.put(pkt)

    async def receive(self, pkt):
        """As Engine.IO's; a message (every event's way in) goes straight to
        the server's handler, without `_trigger_event`'s look-ups and closure."""
        handler = self.server.handlers.get("message")
        if pkt.packet_type != packet.MESSAGE or handler is None or self.server.async_handlers:
            return await super().receive(pkt)
        try:
            await handler(self.sid, pkt.data)
        except asyncio.CancelledError:  # as Engine.IO: the connection is going
            pass
        except Exception:  # noqa: BLE001 - as Engine.IO: logged, the connection kept
            self.server.logger.exception("message async handler error")

    def pong(self) -> None:
        """A pong the websocket protocol read directly: as `receive` would take it."""
        if not self.closed:
            self.schedule_ping()

    def _pong_overdue(self) -> None:
        if self.last_ping is None or self.closing or self.closed:
            return
        task = asyncio.ensure_future(self._time_out())
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    async def _time_out(self) -> None:
        self.server.logger.info("%s: Client is gone, closing socket", self.sid)
        await self.close(wait=False, abort=False, reason=self.server.reason.PING_TIMEOUT)
        # The writer closes the websocket; its end ends the reader too.
        self.queue.put_nowait(None)

    async def close(self, wait=True, abort=False, reason=None):
        self.server.wheel.cancel(self)  # no more pings
        await super().close(wait=wait, abort=abort, reason=reason)

    async def _websocket_handler(self, ws):
        if self.connected:  # an upgrade from polling: engine.io's own way
            return await super()._websocket_handler(ws)
        self.connected = self.upgraded = True
        protocol = self.direct
        if protocol is not None:
            protocol.on_pong = self.pong
        writer = asyncio.ensure_future(self._write(ws))
        limit = self.server.max_http_buffer_size
        while True:
            try:
                data = await ws.wait()
            except (asyncio.CancelledError, Exception):  # closed, or the server stopping
                break
            if data is None or len(data) > limit:
                break
            try:
                await self.receive(packet.Packet(encoded_packet=data))
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                self.server.logger.info("Receive error -- socket is closed")
                break
            except Exception:  # as engine.io: log it and keep the connection
                self.server.logger.exception("Unknown receive error")
        if protocol is not None:
            protocol.on_pong = self.direct = None
        self.queue.put_nowait(None)  # unlock the writer so it can exit
        await writer
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)

    async def _write(self, ws) -> None:
        queue = self.queue
        while True:
            pkt = await queue.get()
            queue.task_done()
            packets = [pkt] if pkt is not None else []
            while pkt is not None and not queue.empty():
                pkt = queue.get_nowait()
                queue.task_done()
                if pkt is None:
                    queue.put_nowait(None)  # as engine.io's poll: the end stays queued
                else:
                    packets.append(pkt)
            if not packets:
                break
            encoded = [item.encode() for item in packets]
            direct = self.direct
            if direct is not None and all(type(data) is str for data in encoded) and direct.send_texts(encoded):
                continue
            self.flushing = True
            try:
                for data in encoded:
                    await ws.send(data)
            except Exception:  # noqa: BLE001 - the client went away
                break
            finally:
                self.flushing = False
        await ws.close()


class LeanEngine(engineio.AsyncServer):
    """An Engine.IO server whose websocket connections are `LeanSocket`s."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Pings a second late at most (or a fifth of a short interval or timeout).
        self.wheel = PingWheel(lambda: min(1.0, self.ping_interval / 5, self.ping_timeout / 5))
        if self._async.get("translate_request") is asgi.translate_request:
            # A copy: the driver's table is shared by every server in the process.
            self._async = {**self._async, "translate_request": translate_request}

    async def _handle_connect(self, environ, transport, jsonp_index=None):
        if transport != "websocket":
            return await super()._handle_connect(environ, transport, jsonp_index)
        sid = self.generate_id()
        s = LeanSocket(self, sid)
        # Taken out of the scope, which lives as long as the connection: one dict less each.
        s.direct = environ.get("asgi.scope", {}).get("extensions", {}).pop(FRAMES, {}).get("protocol")
        self.sockets[sid] = s
        await s.send(
            packet.Packet(
                packet.OPEN,
                {
                    "sid": sid,
                    "upgrades": self._upgrades(sid, transport),
                    "pingTimeout": int(self.ping_timeout * 1000),
                    "pingInterval": int(self.ping_interval + self.ping_interval_grace_period) * 1000,
                    "maxPayload": self.max_http_buffer_size,
                },
            )
        )
        ret = await self._trigger_event("connect", sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning("Application rejected connection")
            return self._unauthorized(ret or None)
        s.schedule_ping()
        ret = await s.handle_get_request(environ)
        if s.closed and sid in self.sockets:  # the websocket ended
            del self.sockets[sid]
        return ret
