"""The one Socket.IO server, shared by Reflex's state sync and the `/ephem` namespace.

Reflex builds an equal one itself; building it here lets the app pick its
client manager (Redis, across workers) while keeping what Reflex needs:
ASGI mode, websocket-only transport and Reflex's JSON encoder.
"""

import json
import logging
import math
import time
import uuid
from types import SimpleNamespace

import socketio
from engineio import packet as eio_packet
from socketio import packet
from reflex_base.config import get_config
from reflex_base.environment import environment
from reflex_base.utils.format import json_dumps

from ephem.i18n import N_, localize
from ephem.live.ratelimit import RateLimiter
from ephem.signaling.engine import LeanEngine
from ephem.schemas import error


log = logging.getLogger("ephem.sio")

# Deeper JSON than this is refused on arrival: re-encoding it for a peer
# recursed past Python's limit at about 480 levels, and no client of ours
# nests beyond a few (`echo` takes any JSON, so the bound stays generous).
MAX_DEPTH = 100
# Binary attachments one packet may announce: no client of ours sends any,
# and each one pending is held in memory until the next frame arrives.
MAX_ATTACHMENTS = 16
# Malformed input is logged as one line per connection (it is closed at once),
# and at most this many lines in a burst, LOG_RATE a second after that, for
# all connections together: probing must not be able to flood the log.
LOG_BURST, LOG_RATE = 20, 0.2
# What a client may send; CONNECT_ERROR only ever goes from server to client.
CLIENT_PACKETS = {packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK, packet.BINARY_EVENT, packet.BINARY_ACK}
BINARY_PACKETS = {packet.BINARY_EVENT, packet.BINARY_ACK}


class MalformedPacket(ValueError):
    pass


class LogThrottle(logging.Filter):
    """At most LOG_BURST records, then LOG_RATE a second; the next record let
    through says how many were dropped meanwhile."""

    def __init__(self, clock=time.monotonic) -> None:
        super().__init__()
        self.bucket = RateLimiter(rate=LOG_RATE, burst=LOG_BURST, clock=clock)
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.bucket.allow_now("log"):
            self.dropped += 1
            return False
        if self.dropped:
            record.msg, record.args = f"{record.getMessage()} ({self.dropped} similar lines dropped)", None
            self.dropped = 0
        return True


# Ours, one line per refused connection; and Engine.IO's, which logs a
# traceback for each frame it cannot parse ("9") without closing the socket.
for _name in ("ephem.sio", "engineio.server"):
    logging.getLogger(_name).addFilter(LogThrottle())


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: browsers' parsers choke on them


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise ValueError(f"{text[:16]} is out of range")
    return value


def _shallow(value: object) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children and depth >= MAX_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_DEPTH}")
        stack.extend((child, depth + 1) for child in children)


# One decoder for every packet: `json.loads` with options builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite)


def loads(text: str | bytes) -> object:
    """Strict JSON: what we accept we can also relay to any client."""
    if not isinstance(text, str):  # bytes, read as `json.loads` reads them
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    value = _DECODER.decode(text)
    # Each level opens a bracket: text with fewer of them cannot be too deep (nearly all of it).
    if text.count("[") + text.count("{") >= MAX_DEPTH:
        _shallow(value)
    return value


def _placeholders_fit(data: object, count: int) -> None:
    """Every placeholder that `reconstruct_binary` would resolve names one of
    the `count` attachments (an int in range: not "x", -1 or True)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("_placeholder") and "num" in item:
                num = item["num"]
                if type(num) is not int or not 0 <= num < count:
                    raise MalformedPacket(f"placeholder {str(num)[:16]} for {count} attachment(s)")
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class Packet(packet.Packet):
    @classmethod
    def data_is_binary(cls, data) -> bool:
        """python-socketio's answer (bytes anywhere in the data), without a
        list, a recursive call and a reduce for every list and dict: it is
        asked for every packet sent."""
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, (bytes, bytearray)):
                return True
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                stack.extend(item.values())
        return False

    def decode(self, encoded_packet):
        if not isinstance(encoded_packet, str):
            raise MalformedPacket("a binary frame where a packet was expected")
        try:
            attachments = super().decode(encoded_packet)
        except (ValueError, TypeError, RecursionError) as exc:  # 5,000-digit numbers too
            raise MalformedPacket(str(exc)[:120]) from None
        if self.packet_type not in CLIENT_PACKETS:
            raise MalformedPacket(f"packet type {self.packet_type} is not one a client sends")
        if self.packet_type in BINARY_PACKETS:
            if not 0 < attachments <= MAX_ATTACHMENTS:
                raise MalformedPacket(f"{attachments} attachments announced")
            _placeholders_fit(self.data, attachments)
        return attachments

    def add_attachment(self, attachment):
        if not isinstance(attachment, bytes):
            raise MalformedPacket("text where a binary attachment was expected")
        return super().add_attachment(attachment)


class Server(socketio.AsyncServer):
    """Refuses what no client may send before any handler sees it: events
    named like the server's own (`connect`, `disconnect`: they would reach
    the connection handlers) or not named by a string, and packets that are
    not valid JSON of ours (the connection is closed: no client of ours
    sends them).

    `_handle_eio_message` is python-socketio's own, with every refusal of a
    packet turned into `MalformedPacket`: its `ValueError`s escaped to
    Engine.IO, which logged a traceback for each, and a binary packet that
    failed to rebuild stayed pending, so every later frame failed too.
    """

    def _engineio_server_class(self):
        return LeanEngine

    async def _handle_event(self, eio_sid, namespace, id, data):
        name = data[0] if isinstance(data, list) and data else None
        if isinstance(name, str) and name not in self.reserved_events:
            return await super()._handle_event(eio_sid, namespace, id, data)
        if id is not None:
            refused = error("unknown_event", N_("That is not an event a client can send."))
            handler = self.namespace_handlers.get(namespace)
            if hasattr(handler, "language_of"):  # the /ephem hub: in the connection's language
                refused = localize(refused, handler.language_of(self.manager.sid_from_eio_sid(eio_sid, namespace)))
            await self._send_packet(eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[refused]))

    async def _handle_eio_message(self, eio_sid, data):
        if eio_sid not in self.eio.sockets:  # refused already; frames it had sent still arrive
            return
        try:
            pkt = self._assemble(eio_sid, data)
        except MalformedPacket as exc:
            await self._refuse(eio_sid, exc)
            return
        if pkt is None:  # a binary packet still waiting for attachments
            return
        if pkt.packet_type == packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif pkt.packet_type == packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
        elif pkt.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        else:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)

    def _assemble(self, eio_sid, data) -> "Packet | None":
        """The packet a frame completes, None while attachments are missing,
        or `MalformedPacket`."""
        pending = self._binary_packet.get(eio_sid)
        if pending is not None:
            if not pending.add_attachment(data):
                return None
            del self._binary_packet[eio_sid]
            return pending
        pkt = self.packet_class(encoded_packet=data)
        if pkt.packet_type in BINARY_PACKETS:
            if not self.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/"):
                raise MalformedPacket("a binary packet for a namespace not connected")
            self._binary_packet[eio_sid] = pkt
            return None
        return pkt

    async def _refuse(self, eio_sid, exc: MalformedPacket) -> None:
        self._binary_packet.pop(eio_sid, None)
        log.warning("closing a connection that sent a malformed packet: %s", exc)
        socket = self.eio.sockets.get(eio_sid)
        await self.eio.disconnect(eio_sid)
        if socket is not None:
            # Engine.IO's close only queues a CLOSE packet, which a client of
            # ours obeys; a raw websocket could keep sending. None ends the
            # writer, which closes the websocket itself.
            await socket.queue.put(None)


class InlineEmit(socketio.AsyncManager):
    """python-socketio's manager, but an emit sends to its recipients one
    after the other instead of making a task for each and waiting for them
    all: for the one-recipient emits that signaling is made of (a signal, a
    match) the task and the wait were most of the emit's cost. Sending never
    waits on the network (Engine.IO queues, or writes what the socket takes
    at once), so no recipient waits behind a slow one; and as with the tasks,
    one recipient's failure does not keep the packet from the others."""

    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        room = to or room
        if callback is not None or namespace not in self.rooms:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
        data = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *data]).encode()
        eio_packets = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])]
        # Listed first: the room may change while a send is awaited.
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            try:
                for p in eio_packets:
                    await self.server._send_eio_packet(eio_sid, p)
            except Exception:  # noqa: BLE001 - e.g. closed meanwhile; the others still get it
                self.server.logger.debug("emit to %s failed", sid, exc_info=True)


class RedisManager(socketio.AsyncRedisManager, InlineEmit):
    """Across workers through Redis; each worker's own emits as `InlineEmit`."""


def build_server(redis_url: str = "") -> socketio.AsyncServer:
    """With a Redis URL, emits reach clients of every worker (see `start_worker`)."""
    config = get_config()
    client_manager = RedisManager(redis_url, channel="ephem-socketio") if redis_url else InlineEmit()
    origins = config.cors_allowed_origins
    return Server(
        async_mode="asgi",
        serializer=Packet,
        client_manager=client_manager,
        cors_allowed_origins="*" if tuple(origins) == ("*",) else list(origins),
        cors_credentials=True,
        max_http_buffer_size=environment.REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE.get(),
        ping_interval=environment.REFLEX_SOCKET_INTERVAL.get().total_seconds(),
        ping_timeout=environment.REFLEX_SOCKET_TIMEOUT.get().total_seconds(),
        json=SimpleNamespace(dumps=staticmethod(json_dumps), loads=staticmethod(loads)),
        allow_upgrades=False,
        transports=["websocket"],
        # Each connection's events run in order on its own receive loop, so a
        # flood on one socket queues behind itself, not behind the others.
        async_handlers=False,
        # Engine.IO's service task visits every socket in turn (a `wait_for`
        # each) for the polling transport's time-outs; websockets time out on
        # their own (`LeanSocket`).
        monitor_clients=False,
    )


def start_worker(server: socketio.AsyncServer) -> None:
    """Run once in every worker process at start-up (a lifespan task).

    Forked workers inherit one manager `host_id`, and a pub/sub manager drops
    messages that carry its own id: each worker gets a fresh one. And the
    manager would only subscribe to Redis at its first client connection, so
    an emit meant for that client could arrive before anyone listens: start
    listening now.
    """
    manager = server.manager
    if hasattr(manager, "host_id"):
        manager.host_id = uuid.uuid4().hex
    if not server.manager_initialized:
        server.manager_initialized = True
        manager.initialize()
