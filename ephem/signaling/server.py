"""The one Socket.IO server, shared by Reflex's state sync and the `/ephem` namespace.

Reflex builds an equal one itself; building it here lets the app pick its
client manager (Redis, across workers) while keeping what Reflex needs:
ASGI mode, websocket-only transport and Reflex's JSON encoder.
"""

import json
import logging
import math
import uuid
from types import SimpleNamespace

import socketio
from socketio import packet
from reflex_base.config import get_config
from reflex_base.environment import environment
from reflex_base.utils.format import json_dumps

from ephem.schemas import error


log = logging.getLogger("ephem.sio")

# Deeper JSON than this is refused on arrival: re-encoding it for a peer
# recursed past Python's limit at about 480 levels, and no client of ours
# nests beyond a few (`echo` takes any JSON, so the bound stays generous).
MAX_DEPTH = 100


class MalformedPacket(ValueError):
    pass


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


def loads(text: str | bytes) -> object:
    """Strict JSON: what we accept we can also relay to any client."""
    value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    _shallow(value)
    return value


class Packet(packet.Packet):
    def decode(self, encoded_packet):
        try:
            return super().decode(encoded_packet)
        except (ValueError, RecursionError) as exc:  # 5,000-digit numbers too
            raise MalformedPacket(str(exc)[:120]) from None


class Server(socketio.AsyncServer):
    """Refuses what no client may send before any handler sees it: events
    named like the server's own (`connect`, `disconnect`: they would reach
    the connection handlers) or not named by a string, and packets that are
    not valid JSON of ours (the connection is closed: no client of ours
    sends them)."""

    async def _handle_event(self, eio_sid, namespace, id, data):
        name = data[0] if isinstance(data, list) and data else None
        if isinstance(name, str) and name not in self.reserved_events:
            return await super()._handle_event(eio_sid, namespace, id, data)
        if id is not None:
            refused = error("unknown_event", "That is not an event a client can send.")
            await self._send_packet(eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[refused]))

    async def _handle_eio_message(self, eio_sid, data):
        try:
            await super()._handle_eio_message(eio_sid, data)
        except MalformedPacket as exc:
            log.warning("closing a connection that sent a malformed packet: %s", exc)
            await self.eio.disconnect(eio_sid)


def build_server(redis_url: str = "") -> socketio.AsyncServer:
    """With a Redis URL, emits reach clients of every worker (see `start_worker`)."""
    config = get_config()
    client_manager = socketio.AsyncRedisManager(redis_url, channel="ephem-socketio") if redis_url else None
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
