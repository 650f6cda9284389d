"""uvicorn's websocket protocol as production serves it (ephem/signaling/websocket.py,
given to the workers by gunicorn.conf.py): the hub works through it, large frames
and all, and an open connection keeps no handshake state and no asyncio queue."""

import asyncio
import os
import time

import aiohttp
import pytest
from engineio import packet

from ephem.signaling.engine import LeanSocket, SocketQueue
from ephem.signaling.websocket import ACCEPTED, Flag, LeanWSProtocol
from tests.signaling.test_engine import INTERVAL, TIMEOUT
from tests.signaling.test_raw_frames import Raw
from tests.support.hubserver import serve

LEAN = "ephem.signaling.websocket:LeanWSProtocol"


@pytest.fixture
async def lean_server(engine, db_settings):
    async with serve(engine, db_settings, ws=LEAN) as running:
        yield running


@pytest.fixture
def keepalive(lean_server, monkeypatch):
    """Quick pings, and a record of the ping and pong packets that took the ASGI path."""
    eio = lean_server.hub.server.eio
    eio.ping_interval, eio.ping_timeout = INTERVAL, TIMEOUT
    through = []
    receive, send = LeanSocket.receive, LeanWSProtocol.send

    async def receiving(self, pkt):
        if pkt.packet_type == packet.PONG:
            through.append(("in", pkt.packet_type))
        return await receive(self, pkt)

    async def sending(self, message):
        if message.get("text") == "2":
            through.append(("out", packet.PING))
        return await send(self, message)

    monkeypatch.setattr(LeanSocket, "receive", receiving)
    monkeypatch.setattr(LeanWSProtocol, "send", sending)
    return lean_server, through


async def answer_pings(raw: Raw, seconds: float, answer) -> int:
    """Read for `seconds`, answering each ping with `answer()`; the pings seen."""
    pings, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = await raw.ws.receive(timeout=deadline - time.monotonic())
        except asyncio.TimeoutError:
            break
        assert message.type == aiohttp.WSMsgType.TEXT, message
        if message.data == "2":
            pings += 1
            await answer()
    return pings


def masked_pong() -> bytes:
    mask = os.urandom(4)
    return b"\x81\x81" + mask + bytes([ord("3") ^ mask[0]])


async def test_pings_and_pongs_skip_the_asgi_path(keepalive):
    server, through = keepalive
    created = server.account("Keepalive")
    async with aiohttp.ClientSession() as session:
        raw = await Raw.open(session, server.url)
        await raw.connect("/ephem", {"token": created.session_token})
        pings = await answer_pings(raw, 5 * INTERVAL + TIMEOUT, lambda: raw.ws.send_str("3"))
        assert pings >= 3  # the connection lived past the timeout on them
        assert (await server.hub.stats())["online"] == 1
        (socket,) = server.hub.server.eio.sockets.values()
        assert socket.direct is not None and not socket.closed
        assert through == []  # neither the pings nor the pongs went through the queue and the reader
        await raw.ws.close()
    for _ in range(50):
        if not server.hub.server.eio.sockets:
            break
        await asyncio.sleep(0.05)
    assert server.hub.server.eio.sockets == {}


async def test_a_pong_in_pieces_takes_the_usual_way_and_counts(keepalive):
    server, through = keepalive
    created = server.account("Pieces")
    async with aiohttp.ClientSession() as session:
        raw = await Raw.open(session, server.url)
        await raw.connect("/ephem", {"token": created.session_token})
        transport = raw.ws._writer.transport  # aiohttp's: the frame written by hand, in two reads

        async def in_pieces():
            frame = masked_pong()
            transport.write(frame[:3])
            await asyncio.sleep(0.05)
            transport.write(frame[3:])

        pings = await answer_pings(raw, 5 * INTERVAL + TIMEOUT, in_pieces)
        assert pings >= 3
        assert (await server.hub.stats())["online"] == 1
        assert ("in", packet.PONG) in through  # wsproto put the pieces together; the reader took it
        # Still in step afterwards: a whole pong takes the short way again, an event the usual one.
        await asyncio.sleep(0.2)  # the last pong's second piece read
        through.clear()
        assert await answer_pings(raw, 2 * INTERVAL + 0.5, lambda: raw.ws.send_str("3")) >= 1
        assert ("in", packet.PONG) not in through
        await raw.ws.send_str('42/ephem,7["echo",{"after":"pongs"}]')
        answer = await raw.ws.receive(timeout=5)
        while answer.data == "2":
            answer = await raw.ws.receive(timeout=5)
        assert answer.data == '43/ephem,7[{"ok":true,"echo":{"after":"pongs"}}]'
        await raw.ws.close()


async def test_the_hub_works_through_the_lean_protocol(lean_server):
    a, b = await lean_server.client(name="A"), await lean_server.client(name="B")
    big = {"text": "x" * 60_000}  # several TCP reads for one frame
    assert (await a.call("echo", big))["echo"] == big
    assert (await a.call("search"))["ok"] and (await b.call("search"))["ok"]
    matched = await a.next("matched")
    assert matched["peer"]["name"] == "B"
    protocols = [p for p in lean_server.uvicorn.server_state.connections if isinstance(p, LeanWSProtocol)]
    assert len(protocols) == 2
    for protocol in protocols:
        assert protocol.conn.handshake is ACCEPTED
        assert isinstance(protocol.queue, SocketQueue) and isinstance(protocol.writable, Flag)
    await a.close()
    assert (await b.call("echo", 1))["echo"] == 1
    await b.close()


async def test_the_flag_wakes_every_waiter_and_one_cancelled_waiter_does_not_cancel_the_others():
    flag = Flag()
    first, second = asyncio.ensure_future(flag.wait()), asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0.01)
    assert not first.done() and not second.done()
    first.cancel()
    await asyncio.sleep(0.01)
    assert not second.done()
    flag.set()
    assert await asyncio.wait_for(second, 1) is True
    assert await flag.wait() is True  # set: no wait
    flag.clear()
    assert not flag.is_set()


async def test_the_socket_queue_keeps_order_and_wakes_its_reader():
    queue = SocketQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0.01)
    queue.put_nowait("a")
    queue.put_nowait("b")
    assert await asyncio.wait_for(reader, 1) == "a"
    assert queue.get_nowait() == "b" and queue.empty()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    queue.put_nowait("c")
    joined = asyncio.ensure_future(queue.join())
    await asyncio.sleep(0.01)
    assert not joined.done()
    for _ in range(3):
        queue.task_done()
    await asyncio.wait_for(joined, 1)
