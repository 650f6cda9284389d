"""uvicorn's websocket protocol as production serves it (ephem/signaling/websocket.py,
given to the workers by gunicorn.conf.py): the hub works through it, large frames
and all, and an open connection keeps no handshake state and no asyncio queue."""

import asyncio

import pytest

from ephem.signaling.engine import SocketQueue
from ephem.signaling.websocket import ACCEPTED, Flag, LeanWSProtocol
from tests.support.hubserver import serve

LEAN = "ephem.signaling.websocket:LeanWSProtocol"


@pytest.fixture
async def lean_server(engine, db_settings):
    async with serve(engine, db_settings, ws=LEAN) as running:
        yield running


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
