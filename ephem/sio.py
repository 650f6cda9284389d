"""The one Socket.IO server, shared by Reflex's state sync and the `/ephem` namespace.

Reflex builds an equal one itself; building it here lets the app pick its
client manager (Redis, across workers) while keeping what Reflex needs:
ASGI mode, websocket-only transport and Reflex's JSON encoder.
"""

import json
import uuid
from types import SimpleNamespace

import socketio
from reflex_base.config import get_config
from reflex_base.environment import environment
from reflex_base.utils.format import json_dumps


def build_server(redis_url: str = "") -> socketio.AsyncServer:
    """With a Redis URL, emits reach clients of every worker (see `start_worker`)."""
    config = get_config()
    client_manager = socketio.AsyncRedisManager(redis_url, channel="ephem-socketio") if redis_url else None
    origins = config.cors_allowed_origins
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=client_manager,
        cors_allowed_origins="*" if tuple(origins) == ("*",) else list(origins),
        cors_credentials=True,
        max_http_buffer_size=environment.REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE.get(),
        ping_interval=environment.REFLEX_SOCKET_INTERVAL.get().total_seconds(),
        ping_timeout=environment.REFLEX_SOCKET_TIMEOUT.get().total_seconds(),
        json=SimpleNamespace(dumps=staticmethod(json_dumps), loads=staticmethod(json.loads)),
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
