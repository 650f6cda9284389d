"""Engine.IO websockets without a task per frame or per ping (ephem/signaling/engine.py):
pings still keep a live client connected, a client that stops answering is still
closed, and an idle connection holds two tasks, not five, and no timer of its own."""

import asyncio
import contextlib
import logging
import time

import aiohttp
import pytest

from ephem.signaling.engine import LeanSocket
from tests.signaling.test_raw_frames import Raw

INTERVAL, TIMEOUT = 0.5, 3.0  # a timeout a loaded machine's clients still meet


@pytest.fixture
def quick_pings(server):
    eio = server.hub.server.eio
    eio.ping_interval, eio.ping_timeout = INTERVAL, TIMEOUT
    return server


async def test_a_client_answering_pings_stays_connected(quick_pings):
    client = await quick_pings.client(name="Steady")
    await asyncio.sleep(6 * INTERVAL + TIMEOUT)  # several ping rounds
    assert (await client.call("echo", {"still": "here"}))["echo"] == {"still": "here"}
    (socket,) = quick_pings.hub.server.eio.sockets.values()
    assert isinstance(socket, LeanSocket) and not socket.closed
    await client.close()


async def test_a_client_that_stops_answering_pings_is_closed_and_leaves(quick_pings):
    created = quick_pings.account("Silent")
    async with aiohttp.ClientSession() as session:
        started = time.monotonic()
        raw = await Raw.open(session, quick_pings.url)
        await raw.connect("/ephem", {"token": created.session_token})
        assert (await quick_pings.hub.stats())["online"] == 1
        # Pings arrive and go unanswered: closed one ping interval plus the timeout after the open.
        assert await raw.closed(timeout=INTERVAL + TIMEOUT + 5)
        assert time.monotonic() - started >= INTERVAL + TIMEOUT
    for _ in range(50):
        if (await quick_pings.hub.stats())["online"] == 0:
            break
        await asyncio.sleep(0.05)
    assert await quick_pings.hub.stats() == {"online": 0, "searching": 0}
    assert quick_pings.hub.server.eio.sockets == {}


@contextlib.asynccontextmanager
async def raw_in(server, name: str):
    """A hand-driven Engine.IO client of a new account, in `/ephem`."""
    created = server.account(name)
    async with aiohttp.ClientSession() as session:
        raw = await Raw.open(session, server.url)
        await raw.connect("/ephem", {"token": created.session_token})
        yield raw


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


async def test_a_raw_client_answering_pings_by_hand_stays(quick_pings):
    async with raw_in(quick_pings, "ByHand") as raw:
        assert await answer_pings(raw, 5 * INTERVAL + TIMEOUT, lambda: raw.ws.send_str("3")) >= 3
        assert (await quick_pings.hub.stats())["online"] == 1
        await raw.ws.close()


def _server_tasks() -> int:
    """Tasks running server code: uvicorn's and Engine.IO's sockets' (the
    clients share this event loop, their tasks are not counted)."""
    places = ("uvicorn/", "engineio/async_socket.py", "ephem/signaling/engine.py")
    return sum(1 for t in asyncio.all_tasks() if any(p in t.get_coro().cr_code.co_filename for p in places))


async def test_an_idle_connection_holds_two_tasks(server):
    before = _server_tasks()
    clients = [await server.client(name=f"Idle{i}") for i in range(20)]
    await asyncio.sleep(0.3)
    # uvicorn's task for the connection and the socket's writer, and the
    # server's one ping wheel (engine.io's own socket adds a reader task per
    # frame and a task per ping).
    assert _server_tasks() - before == 2 * len(clients) + 1
    for client in clients:
        await client.close()


async def test_the_sockets_share_one_ping_wheel_and_closed_ones_leave_it(quick_pings):
    clients = [await quick_pings.client(name=f"W{i}") for i in range(5)]
    eio = quick_pings.hub.server.eio
    wheel = eio.wheel
    assert wheel._task is not None and not wheel._task.done()
    await asyncio.sleep(3 * INTERVAL)
    assert sum(len(entries) for entries in wheel._slots.values()) == len(clients)  # a timer each
    for client in clients:
        await client.close()
    await asyncio.sleep(0.3)
    # A closed socket leaves the wheel at once (it is not held until its slot
    # comes), and the empty wheel stops.
    assert eio.sockets == {}
    assert not any(wheel._slots.values())
    await asyncio.sleep(2 * wheel.tick)
    assert wheel._slots == {} and wheel._task.done()


async def test_a_message_handler_that_fails_is_logged_and_the_connection_kept(server, caplog):
    """Messages go from the socket straight to the server's handler (LeanSocket.receive):
    a failure there is logged once, as Engine.IO's own dispatch logged it, and the socket serves on."""
    client = await server.client(name="Survivor")
    handlers = server.hub.server.eio.handlers
    handle = handlers["message"]

    async def failing_once(sid, data):
        if '"boom"' in data:
            raise RuntimeError("a handler bug")
        return await handle(sid, data)

    handlers["message"] = failing_once
    try:
        with caplog.at_level(logging.ERROR, logger="engineio.server"):
            await client.sio.emit("echo", "boom", namespace="/ephem")
            assert (await client.call("echo", "after"))["echo"] == "after"
        failures = [r for r in caplog.records if r.getMessage() == "message async handler error"]
        assert len(failures) == 1 and failures[0].exc_info[0] is RuntimeError
    finally:
        handlers["message"] = handle
    await client.close()
