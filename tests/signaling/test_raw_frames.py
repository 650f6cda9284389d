"""Raw Engine.IO frames no Socket.IO client would send, over a real websocket:
the sender's connection is closed, the log gets at most a line for it, and
everyone else is still served."""

import asyncio
import json
import logging

import aiohttp
import pytest

from ephem.signaling.server import LOG_BURST, LOG_RATE, LogThrottle


@pytest.fixture(params=["sqlite"])
def db_url(request):
    return request.getfixturevalue("sqlite_url")


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class Raw:
    """Engine.IO v4 over a websocket, by hand."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, url: str) -> "Raw":
        ws = await session.ws_connect(f"{url}/_event/?EIO=4&transport=websocket")
        opened = await ws.receive(timeout=5)
        assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0{"), opened
        return cls(ws)

    async def connect(self, namespace: str, auth: dict | None = None) -> None:
        prefix = "" if namespace == "/" else f"{namespace},"
        await self.ws.send_str(f"40{prefix}{json.dumps(auth) if auth else ''}")
        while True:
            answer = await self.ws.receive(timeout=5)
            assert answer.type == aiohttp.WSMsgType.TEXT, answer
            if answer.data.startswith(f"40{prefix}"):
                return
            assert not answer.data.startswith(f"44{prefix}"), answer.data  # refused

    async def closed(self, timeout: float = 5) -> bool:
        """Whether the server closes the socket soon (pings and other packets are read past)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await self.ws.receive()
                    if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        return True
        except TimeoutError:
            return False

    async def flood(self, frames: list[str | bytes], then: int) -> None:
        """The frames, then `then` more events; stops quietly once the server has closed the socket."""
        try:
            for frame in frames:
                await (self.ws.send_bytes(frame) if isinstance(frame, bytes) else self.ws.send_str(frame))
            for i in range(then):
                await self.ws.send_str(f'42["echo",{i}]')
                await self.ws.send_bytes(b"\x00\x01")
        except (ConnectionResetError, aiohttp.ClientConnectionError):
            pass


BAD = {
    # The placeholder points past the one attachment sent: rebuilding the
    # event raised IndexError, and the half-built packet stayed pending, so
    # every later frame raised "Unexpected binary attachment".
    "placeholder past its attachments": ['451-{ns}98["echo",{{"_placeholder":true,"num":7}}]', b"\x00"],
    "placeholder not a number": ['451-{ns}98["echo",{{"_placeholder":true,"num":"x"}}]', b"\x00"],
    "negative placeholder": ['452-{ns}98["echo",{{"_placeholder":true,"num":-1}}]', b"\x00", b"\x01"],
    "no attachments announced": ['450-{ns}98["echo",{{"_placeholder":true,"num":0}}]', b"\x00"],
    "a million attachments announced": ['451000000-{ns}98["echo",{{"_placeholder":true,"num":0}}]', b"\x00"],
    "binary frame where a packet belongs": [b"\x00\x01\x02"],
    "attachment sent as text": ['451-{ns}98["echo",{{"_placeholder":true,"num":0}}]', "4text"],
    "server-only packet type": ["44{ns}{{}}"],
    "unknown packet type": ["47{ns}[]"],
}


@pytest.fixture(params=["auto", "lean"])
async def any_server(request, engine, db_settings):
    """uvicorn's default websocket protocol, and production's (which reads whole frames itself)."""
    from tests.support.hubserver import serve

    ws = "ephem.signaling.websocket:LeanWSProtocol" if request.param == "lean" else "auto"
    async with serve(engine, db_settings, ws=ws, deflate=request.param != "lean") as running:
        yield running


@pytest.mark.parametrize("namespace", ["/ephem", "/"])
@pytest.mark.parametrize("case", list(BAD))
async def test_a_malformed_packet_closes_the_connection_with_one_log_line(any_server, caplog, namespace, case):
    server = any_server
    token = server.account("Prober").session_token
    bystander = await server.client(name="Bystander")
    async with aiohttp.ClientSession() as session:
        raw = await Raw.open(session, server.url)
        await raw.connect(namespace, {"token": token})
        ns = "" if namespace == "/" else f"{namespace},"
        frames = [f.format(ns=ns) if isinstance(f, str) else f for f in BAD[case]]
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            await raw.flood(frames, then=500)
            assert await raw.closed(), "the connection stays open"
            assert (await bystander.call("echo", "still served"))["echo"] == "still served"
            await asyncio.sleep(0.2)
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) <= 1, [r.getMessage()[:200] for r in lines[:5]]
        assert not any(r.exc_info for r in lines)
    await bystander.close()


async def test_binary_before_connecting_a_namespace_closes_the_connection(server, caplog):
    async with aiohttp.ClientSession() as session:
        raw = await Raw.open(session, server.url)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            await raw.flood(['451-/ephem,98["echo",{"_placeholder":true,"num":0}]', b"\x00"], then=200)
            assert await raw.closed()
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1


async def test_malformed_packets_from_many_connections_log_a_bounded_number_of_lines(server, caplog):
    async with aiohttp.ClientSession() as session:
        with caplog.at_level(logging.WARNING):
            for _ in range(LOG_BURST + 10):
                raw = await Raw.open(session, server.url)
                await raw.flood(["47[]"], then=0)
                assert await raw.closed()
        assert len([r for r in caplog.records if r.name == "ephem.sio"]) <= LOG_BURST


async def test_frames_engineio_cannot_parse_log_a_bounded_number_of_lines(server, caplog):
    """Engine.IO logs a traceback for each and keeps the socket open: only the throttle bounds it."""
    async with aiohttp.ClientSession() as session:
        raw = await Raw.open(session, server.url)
        with caplog.at_level(logging.WARNING):
            await raw.flood(["9"] * (LOG_BURST + 100), then=0)
            await raw.ws.send_str('42["ping"]')  # a packet it can parse: every "9" before it was read
            await asyncio.sleep(0.5)
        assert 0 < len([r for r in caplog.records if r.name == "engineio.server"]) <= LOG_BURST


def test_the_log_throttle_lets_a_burst_through_then_counts_what_it_drops():
    clock = FakeClock()
    throttle = LogThrottle(clock=clock)
    records = [logging.LogRecord("x", logging.WARNING, __file__, 1, "line %d", (i,), None) for i in range(LOG_BURST + 5)]
    assert [throttle.filter(r) for r in records] == [True] * LOG_BURST + [False] * 5
    clock.now += 1 / LOG_RATE
    later = logging.LogRecord("x", logging.WARNING, __file__, 1, "line %s", ("later",), None)
    assert throttle.filter(later)
    assert later.getMessage() == "line later (5 similar lines dropped)"


async def test_a_well_formed_binary_event_still_works(server):
    """Binary attachments that fit are reassembled as before (and `/ephem`
    answers them: binary is not JSON)."""
    client = await server.client(name="Binary")
    answer = await client.call("echo", {"blob": b"\x00" * 10, "more": [b"\x01", b"\x02"]})
    assert answer["error"]["code"] == "payload_too_large"
    assert (await client.call("echo", "fine"))["echo"] == "fine"
    await client.close()
