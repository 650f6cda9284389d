"""uvicorn's websocket protocol as production serves it (ephem/signaling/websocket.py,
given to the workers by gunicorn.conf.py): the hub works through it, large frames
and all, an open connection keeps no handshake state and no asyncio queue, and
whole text frames are read and written here, not by wsproto."""

import asyncio
import base64
import hashlib
import os

import aiohttp
import pytest
from engineio import packet
from wsproto.connection import Connection
from wsproto.frame_protocol import FrameProtocol

from ephem.signaling.engine import LeanSocket, SocketQueue
from ephem.signaling.websocket import ACCEPTED, DIRECT_MAX, Flag, LeanWSProtocol, read_texts, read_upgrade, text_frame
from tests.signaling.test_engine import INTERVAL, TIMEOUT, answer_pings, raw_in
from tests.support.hubserver import serve

LEAN = "ephem.signaling.websocket:LeanWSProtocol"


@pytest.fixture
async def lean_server(engine, db_settings):
    async with serve(engine, db_settings, ws=LEAN, deflate=False) as running:  # as gunicorn.conf.py
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


def masked_pong() -> bytes:
    mask = os.urandom(4)
    return b"\x81\x81" + mask + bytes([ord("3") ^ mask[0]])


async def test_pings_and_pongs_skip_the_asgi_path(keepalive):
    server, through = keepalive
    async with raw_in(server, "Keepalive") as raw:
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
    async with raw_in(server, "Pieces") as raw:
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
        assert type(protocol.conn.connection._events).__name__ == "_Events"  # not a 600-byte deque
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


UPGRADE = (
    "GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\n"
    "host: 127.0.0.1\r\nupgrade: websocket\r\nconnection: keep-alive, Upgrade\r\n"
    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: {version}\r\n{extra}\r\n"
)


def test_the_handshake_read_here_is_the_one_wsproto_reads():
    from wsproto import ConnectionType, WSConnection

    data = UPGRADE.format(version=13, extra="sec-websocket-extensions: permessage-deflate\r\nuser-agent: t\r\n").encode()
    request, key = read_upgrade(data)
    theirs = WSConnection(ConnectionType.SERVER)
    theirs.receive_data(data)
    (expected,) = list(theirs.events())
    assert key == b"dGhlIHNhbXBsZSBub25jZQ=="
    assert (request.host, request.target, request.extra_headers) == (expected.host, expected.target, expected.extra_headers)
    assert request.subprotocols == expected.subprotocols == []


@pytest.mark.parametrize(
    "data",
    [
        UPGRADE.format(version=12, extra=""),  # wsproto answers 426
        UPGRADE.format(version=13, extra="sec-websocket-protocol: chat\r\n"),
        UPGRADE.format(version=13, extra="sec-websocket-key: b3RoZXIgbm9uY2UgaGVyZQ==\r\n"),  # twice
        UPGRADE.format(version=13, extra="").replace("upgrade: websocket", "upgrade: h2c"),
        UPGRADE.format(version=13, extra="").replace("keep-alive, Upgrade", "keep-alive"),
        UPGRADE.format(version=13, extra="").replace("host: 127.0.0.1\r\n", ""),
        UPGRADE.format(version=13, extra="").replace("GET", "POST"),
    ],
)
def test_anything_but_a_plain_upgrade_is_left_to_wsproto(data):
    assert read_upgrade(data.encode()) is None


async def raw_upgrade(url: str, request: str) -> tuple[bytes, bytes]:
    """The response head to a hand-written upgrade request, and what follows it."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request.encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        after = await asyncio.wait_for(reader.read(200), 5) if head.startswith(b"HTTP/1.1 101") else b""
        return head, after
    finally:
        writer.close()


@pytest.fixture
def wsproto_reads(monkeypatch):
    """How many requests wsproto's own handshake parsed."""
    from wsproto.handshake import H11Handshake

    read = []
    original = H11Handshake.receive_data
    monkeypatch.setattr(H11Handshake, "receive_data", lambda self, data: (read.append(data), original(self, data))[1])
    return read


async def test_the_101_written_here_opens_engine_io(lean_server, wsproto_reads):
    head, after = await raw_upgrade(lean_server.url, UPGRADE.format(version=13, extra=""))
    assert wsproto_reads == []  # read and answered here
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 101 Switching Protocols"
    fields = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:] if line)}
    assert fields["upgrade"].lower() == "websocket" and fields["connection"].lower() == "upgrade"
    key = b"dGhlIHNhbXBsZSBub25jZQ==" + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's GUID
    assert fields["sec-websocket-accept"] == base64.b64encode(hashlib.sha1(key).digest()).decode()
    assert "sec-websocket-extensions" not in fields
    assert after[:2] == b"\x81" + bytes([after[1]]) and after[2:4] == b'0{'  # Engine.IO's open packet, framed


async def test_a_request_left_to_wsproto_still_gets_wsproto_answers(lean_server, wsproto_reads):
    head, _ = await raw_upgrade(lean_server.url, UPGRADE.format(version=12, extra=""))
    assert head.startswith(b"HTTP/1.1 426 ") and b"sec-websocket-version: 13" in head.lower()
    assert len(wsproto_reads) == 1
    # A subprotocol asked for: wsproto reads the request, the app's accept goes through it.
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{lean_server.url}/_event/?EIO=4&transport=websocket", protocols=("chat",))
        opened = await ws.receive(timeout=5)
        assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0{")
        assert len(wsproto_reads) == 2
        await ws.close()


# --- text frames read and written here (one set of vectors: wsproto's own framing) -----------

TEXTS = ["", "2", "x" * 125, "y" * 126, "z" * 0xFFFF, "w" * 0x10000, "سلام، دنیا 🌍", '42/ephem,7["echo",{}]']


def client_frame(text: str | bytes, fin: bool = True, opcode=None) -> bytes:
    """A browser's frame (masked), by wsproto."""
    proto = FrameProtocol(client=True, extensions=[])
    if opcode is not None:
        return bytes(proto._serialize_frame(opcode, text, fin))
    return bytes(proto.send_data(text, fin))


@pytest.mark.parametrize("text", TEXTS, ids=lambda t: f"{len(t.encode())} bytes")
def test_a_text_frame_written_here_is_wsproto_s(text):
    assert text_frame(text) == bytes(FrameProtocol(client=False, extensions=[]).send_data(text, True))


@pytest.mark.parametrize("text", [t for t in TEXTS if len(t.encode()) <= DIRECT_MAX], ids=lambda t: f"{len(t.encode())} bytes")
def test_a_text_frame_read_here_is_what_wsproto_reads(text):
    assert read_texts(client_frame(text)) == [text]
    two = client_frame(text) + client_frame("and then")
    assert read_texts(two) == [text, "and then"]


def test_frames_not_read_here_are_left_to_wsproto():
    from wsproto.frame_protocol import Opcode

    whole = client_frame("hello")
    unmasked = bytes(FrameProtocol(client=False, extensions=[]).send_data("hello", True))
    long_form = bytes([0x81, 0x80 | 126, 0, 5]) + whole[2:]  # 5 bytes in the 16-bit form: not the shortest
    for data in (
        whole[:4],  # a frame in pieces
        whole[:-1],
        whole + whole[:3],  # a whole one, then part of the next
        client_frame("part", fin=False),  # a fragment
        client_frame(b"\x00\x01"),  # binary
        client_frame(b"", opcode=Opcode.PING),
        client_frame(b"\x03\xe8", opcode=Opcode.CLOSE),
        unmasked,
        long_form,
        client_frame("w" * (DIRECT_MAX + 1)),  # longer than read here
        client_frame("ok") + bad_utf8_frame(),  # a good one, then invalid UTF-8
    ):
        assert read_texts(data) is None, data[:12]
    assert read_texts(client_frame("x" * 200), limit=100) is None
    assert read_texts(b"") == []


def bad_utf8_frame() -> bytes:
    mask = b"\x01\x02\x03\x04"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"\xff\xfe"))
    return bytes([0x81, 0x80 | 2]) + mask + payload


async def test_events_in_one_write_are_read_and_answered_here_in_order(lean_server, monkeypatch):
    through_wsproto, through_asgi = [], []
    feed, send = Connection.receive_data, LeanWSProtocol.send
    monkeypatch.setattr(Connection, "receive_data", lambda self, data: (through_wsproto.append(data), feed(self, data))[1])

    async def sending(self, message):
        through_asgi.append(message)
        return await send(self, message)

    monkeypatch.setattr(LeanWSProtocol, "send", sending)
    async with raw_in(lean_server, "Burst") as raw:
        through_wsproto.clear()
        transport = raw.ws._writer.transport
        transport.write(b"".join(client_frame(f'42/ephem,{n}["echo",{n}]') for n in range(1, 101)))
        answers = []
        while len(answers) < 100:  # within the connection's burst of events
            message = await raw.ws.receive(timeout=5)
            if message.data != "2":
                answers.append(message.data)
        assert answers == [f'43/ephem,{n}[{{"ok":true,"echo":{n}}}]' for n in range(1, 101)]
        assert through_wsproto == [] and [m for m in through_asgi if m["type"] == "websocket.send"] == []
        (protocol,) = [p for p in lean_server.uvicorn.server_state.connections if isinstance(p, LeanWSProtocol)]
        assert not protocol.read_paused  # resumed once the reader caught up
        # A frame in pieces and a fragmented message still work, through wsproto.
        frame = client_frame('42/ephem,201["echo","pieces"]')
        transport.write(frame[:5])
        await asyncio.sleep(0.05)
        sender = FrameProtocol(client=True, extensions=[])
        transport.write(frame[5:] + bytes(sender.send_data('42/ephem,202["echo",', False)))
        transport.write(bytes(sender.send_data('"fragments"]', True)))
        assert (await raw.ws.receive(timeout=5)).data == '43/ephem,201[{"ok":true,"echo":"pieces"}]'
        assert (await raw.ws.receive(timeout=5)).data == '43/ephem,202[{"ok":true,"echo":"fragments"}]'
        assert through_wsproto
        # And back on the short way after.
        through_wsproto.clear()
        transport.write(client_frame('42/ephem,203["echo",3]'))
        assert (await raw.ws.receive(timeout=5)).data == '43/ephem,203[{"ok":true,"echo":3}]'
        assert through_wsproto == []


async def test_invalid_utf8_is_left_to_wsproto_which_ends_the_connection(lean_server):
    async with raw_in(lean_server, "Bad") as raw:
        raw.ws._writer.transport.write(bad_utf8_frame())
        assert await raw.closed()
    for _ in range(50):
        if not lean_server.hub.server.eio.sockets:
            break
        await asyncio.sleep(0.05)
    assert lean_server.hub.server.eio.sockets == {}
    assert (await lean_server.hub.stats())["online"] == 0


async def test_answers_wait_for_a_full_write_buffer_through_uvicorn(lean_server, monkeypatch):
    through_asgi = []
    send = LeanWSProtocol.send

    async def sending(self, message):
        if message["type"] == "websocket.send":
            through_asgi.append(message.get("text"))
        return await send(self, message)

    monkeypatch.setattr(LeanWSProtocol, "send", sending)
    async with raw_in(lean_server, "Slow") as raw:
        (protocol,) = [p for p in lean_server.uvicorn.server_state.connections if isinstance(p, LeanWSProtocol)]
        protocol.pause_writing()  # as the transport does past its high-water mark
        await raw.ws.send_str('42/ephem,1["echo","held"]')
        await asyncio.sleep(0.2)
        assert through_asgi == ['43/ephem,1[{"ok":true,"echo":"held"}]']  # waiting in uvicorn's send
        protocol.resume_writing()
        assert (await raw.ws.receive(timeout=5)).data == '43/ephem,1[{"ok":true,"echo":"held"}]'
        await raw.ws.send_str('42/ephem,2["echo","direct"]')
        assert (await raw.ws.receive(timeout=5)).data == '43/ephem,2[{"ok":true,"echo":"direct"}]'
        assert len(through_asgi) == 1
