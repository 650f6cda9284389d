"""A real Socket.IO server (uvicorn, the app's server factory, the `/ephem` hub
and the REST API) on a free port, for python-socketio and Node client tests."""

import asyncio
import contextlib
from dataclasses import dataclass

import socketio
import uvicorn

from ephem.accounts import Accounts
from ephem.api.app import api
from ephem.api.deps import Limits, get_limits
from ephem.enclaves import Enclaves
from ephem.live.matchmaking import InMemoryMatchmaker
from ephem.live.presence import InMemoryPresence
from ephem.services import get_accounts, get_enclaves, get_live, get_safety
from ephem.signaling.hub import Hub
from ephem.signaling.server import build_server
from tests.support.live_app import free_port


@dataclass
class Server:
    url: str
    accounts: Accounts
    enclaves: Enclaves
    hub: Hub
    uvicorn: uvicorn.Server

    def account(self, name: str = "Tester", remember: bool = True):
        return self.accounts.create(name, remember)

    async def client(self, token: str | None = None, name: str = "Tester", stats: bool = False) -> "Client":
        if token is None:
            token = self.account(name).session_token
        client = Client()
        await client.connect(self.url, token, stats=stats)
        return client


class Client:
    """A python-socketio client that records every server event it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue] = {}
        self.peer_id = ""
        for name in ("matched", "peer_joined", "peer_left", "signal", "relay", "stats", "search_failed", "session_ended", "member_left", "removed"):
            self.sio.on(name, self._recorder(name), namespace="/ephem")

    def _recorder(self, name: str):
        queue = self.events.setdefault(name, asyncio.Queue())

        async def record(data):
            await queue.put(data)

        return record

    async def connect(self, url: str, token: str, stats: bool = False) -> None:
        """Connects and says `hello`; with `stats`, asks for the `stats` pushes as the home page does."""
        await self.sio.connect(
            url,
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=["/ephem"],
            auth={"token": token},
            wait_timeout=15,  # 200 clients connecting at once on 2 busy cores
        )
        self.token = token
        hello = await self.call("hello", {"stats": True} if stats else {})
        assert hello["ok"], hello
        self.peer_id = hello["peer_id"]
        self.account = hello["account"]

    async def call(self, event: str, *data, timeout: float = 10):
        return await self.sio.call(event, data[0] if data else None, namespace="/ephem", timeout=timeout)

    async def next(self, event: str, timeout: float = 10):
        return await asyncio.wait_for(self.events[event].get(), timeout)

    def pending(self, event: str) -> int:
        return self.events[event].qsize()

    async def close(self) -> None:
        await self.sio.disconnect()


@contextlib.asynccontextmanager
async def serve(engine, settings, port: int | None = None, ws: str = "auto", deflate: bool = True):
    """`port`: the one a stopped server had, to start it again (with nothing
    in memory, as after a crash); `ws`: uvicorn's websocket protocol;
    `deflate`: whether it offers permessage-deflate (production does not)."""
    accounts, enclaves = Accounts(engine, settings), Enclaves(engine, settings)
    hub = Hub(accounts, enclaves, InMemoryPresence(), InMemoryMatchmaker(), settings)
    sio = build_server()
    sio.register_namespace(hub)
    limits = Limits()
    api.dependency_overrides.update(
        {
            get_accounts: lambda: accounts,
            get_enclaves: lambda: enclaves,
            get_live: lambda: hub,
            get_limits: lambda: limits,
            get_safety: lambda: hub.safety,
        }
    )
    app = socketio.ASGIApp(sio, other_asgi_app=api, socketio_path="/_event")
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws=ws, ws_per_message_deflate=deflate))
    task = asyncio.create_task(server.serve())
    ticker = asyncio.create_task(hub.run_forever(tick=0.2))
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", accounts, enclaves, hub, server)
    finally:
        ticker.cancel()
        server.should_exit = True
        await task
        api.dependency_overrides.clear()
