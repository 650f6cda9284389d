"""uvicorn's wsproto websocket protocol, holding less per idle connection.

gunicorn.conf.py gives it to the uvicorn workers (`config.ws`). The protocol
is uvicorn's own (pinned in requirements.txt), with three things lighter,
none of which changes what goes over the wire:

- its receive queue: an `asyncio.Queue` keeps four deques (some 2.5 KB); the
  ASGI app is its only reader, so `SocketQueue` (a list, one waiter) does;
- its `writable` flag (an `asyncio.Event`, a dict and a deque): `Flag`;
- wsproto's handshake state (the h11 connection and the upgrade request),
  which wsproto keeps for the connection's whole life although, once the
  connection is accepted, it only ever asks it for events it no longer has;
  and the open connection's events deque, almost always empty: a list.

The handshake is read and answered here, not by wsproto's: uvicorn's HTTP
protocol has already parsed and checked the upgrade request, and wsproto
would parse it again with h11 and build the 101 response with it (about
0.1 ms of a connect's CPU). A request this module does not take in full
(not GET, a subprotocol, a header missing or repeated) and any answer other
than a plain accept go to wsproto as before.

And Engine.IO's keep-alive skips the ASGI path (`engine.py` finds this
protocol through the scope's `FRAMES` extension): every connection's ping
and pong, twice a minute each, were most of an idle worker's CPU, each
through wsproto's parser, uvicorn's queue (pausing and resuming the read
each time), the socket's reader task and Engine.IO's decoder. A ping is
written as one ready-made frame when nothing else waits to be sent; a pong
that arrives alone, between frames, goes straight to its socket. Anything
else (a split frame, a message in pieces) takes the usual way.
"""

import asyncio

from uvicorn.protocols.utils import ClientDisconnected, get_client_addr, get_path_with_query_string
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import Request
from wsproto.frame_protocol import FrameProtocol
from wsproto.utilities import generate_accept_token

from ephem.signaling.engine import FRAMES, SocketQueue

# Engine.IO's ping ("2") as a server frame (unmasked, final, text), framed by wsproto once.
PING_FRAME = bytes(FrameProtocol(client=False, extensions=[]).send_data("2", True))
# A client's pong ("3"): final text frame, masked, one byte of payload.
PONG_HEAD, PONG_SIZE, PONG = b"\x81\x81", 7, ord("3")
# Client frames read here at most this long (a 16-bit length); longer ones go to wsproto.
DIRECT_MAX = 0xFFFF


def text_frame(text: str) -> bytes:
    """A server's text frame, final and unmasked, as wsproto frames it."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size <= 0xFFFF:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


def read_texts(data: bytes, limit: int = DIRECT_MAX) -> list[str] | None:
    """The client's text messages in `data` if it holds nothing but whole
    ones: each one final, masked frame of valid UTF-8 of at most `limit`
    bytes, its length in the shortest form. None leaves `data` to wsproto
    (a frame in pieces, a fragment, binary, control, an error to answer)."""
    texts = []
    at, end = 0, len(data)
    while at < end:
        if end - at < 6 or data[at] != 0x81 or data[at + 1] < 0x80:
            return None
        size, at = data[at + 1] & 0x7F, at + 2
        if size == 126:
            size, at = int.from_bytes(data[at : at + 2], "big"), at + 2
            if size < 126:
                return None
        elif size == 127:
            return None
        if size > limit or end - at < 4 + size:
            return None
        mask, at = data[at : at + 4], at + 4
        masked, at = data[at : at + size], at + size
        key = (mask * (size // 4 + 1))[:size]
        try:
            texts.append((int.from_bytes(masked, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big").decode())
        except UnicodeDecodeError:
            return None
    return texts


class Flag:
    """The part of `asyncio.Event` uvicorn uses: set, clear, is_set, wait."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._waiter is not None:
            if not self._waiter.done():
                self._waiter.set_result(None)
            self._waiter = None

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        while not self._set:
            if self._waiter is None:
                self._waiter = asyncio.get_running_loop().create_future()
            # Shielded: one waiter cancelled must not cancel the others' wait.
            await asyncio.shield(self._waiter)
        return True


_ONCE = (b"host", b"connection", b"upgrade", b"sec-websocket-key", b"sec-websocket-version")


def read_upgrade(data: bytes) -> tuple[Request, bytes] | None:
    """The websocket request uvicorn's HTTP protocol hands over (its own
    re-serialization: one `name: value` line per header) and its key, if it
    is a plain, valid one; None leaves it to wsproto (with wsproto's errors)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    start = lines[0].split(b" ")
    if not sep or rest or len(start) != 3 or start[0] != b"GET":
        return None
    found: dict[bytes, bytes] = {}
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b": ")
        name = name.lower()
        if not sep or name == b"sec-websocket-protocol" or (name in _ONCE and name in found):
            return None
        found[name] = value
        if name not in (b"host", b"sec-websocket-extensions"):  # as wsproto's Request: not among the headers
            headers.append((name, value))
    tokens = [token.strip().lower() for token in found.get(b"connection", b"").split(b",")]
    key = found.get(b"sec-websocket-key")
    if (
        b"upgrade" not in tokens
        or found.get(b"upgrade", b"").lower() != b"websocket"
        or found.get(b"sec-websocket-version") != b"13"
        or not key
        or not found.get(b"host")
    ):
        return None
    try:
        host, target = found[b"host"].decode("idna"), start[1].decode("ascii")
    except UnicodeError:
        return None
    # Extensions asked for are declined: the server offers none (gunicorn.conf.py).
    return Request(host=host, target=target, extra_headers=headers, extensions=[], subprotocols=[]), key


class _Events(list):
    """What wsproto's connection asks of its events deque (append, popleft, is
    it empty): a list, 56 bytes empty where a deque takes 600, on every open connection."""

    __slots__ = ()

    def popleft(self):
        return self.pop(0)


def _opened(connection: Connection) -> Connection:
    connection._events = _Events(connection._events)
    return connection


class _Accepted:
    """What a wsproto connection's handshake is asked once it is open: its events, none left."""

    __slots__ = ()

    def events(self):
        return iter(())


ACCEPTED = _Accepted()


class LeanWSProtocol(WSProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.queue = SocketQueue()
        self.writable = Flag()
        self.writable.set()
        self.on_pong = None  # set by the Engine.IO socket served here (engine.py)
        self._requested = False  # the upgrade request came
        self._request: bytes | None = None  # read here, not yet by wsproto: kept until answered
        self._key = b""

    def handle_connect(self, event) -> None:
        super().handle_connect(event)
        self.scope["extensions"][FRAMES] = {"protocol": self}

    def data_received(self, data: bytes) -> None:
        if not self._requested:
            self._requested = True
            read = None if self.config.ws_per_message_deflate else read_upgrade(data)
            if read is not None:
                self._request, self._key = data, read[1]
                self.handle_connect(read[0])
                return
        if self.on_pong is not None and not self.close_sent:
            if (
                len(data) == PONG_SIZE
                and data.startswith(PONG_HEAD)
                and data[6] ^ data[2] == PONG  # the payload byte unmasked by the mask's first byte
                and self._between_frames()
            ):
                self.on_pong()
                return
            texts = read_texts(data, min(DIRECT_MAX, self.config.ws_max_size))
            if texts is not None and self._between_frames():
                self._received(texts)
                return
        super().data_received(data)

    def _received(self, texts: list[str]) -> None:
        """The messages as uvicorn queues them. Reading pauses, as uvicorn's
        does, only while the reader is behind (not for every message: that
        was two system calls each); `receive` resumes it once caught up."""
        for text in texts:
            self.queue.put_nowait({"type": "websocket.receive", "text": text})
        if self.queue.qsize() > 1 and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def _between_frames(self) -> bool:
        """Open with no extension, and wsproto holds no part of a frame or message and no event unread."""
        connection = self.conn.connection
        if connection is None or connection.state is not ConnectionState.OPEN or connection._events:
            return False
        proto = connection._proto
        decoder = proto._frame_decoder
        return (
            decoder.header is None
            and not len(decoder.buffer)
            and proto._message_decoder.opcode is None
            and not proto.extensions
        )

    def send_texts(self, texts: list[str]) -> bool:
        """Engine.IO's text packets written now, in one write, framed as
        wsproto would; False if the connection cannot take them this way
        (then uvicorn's `send` says why, as before)."""
        if not self._writable_now() or self.response_started:
            return False
        connection = self.conn.connection
        if connection is None or connection.state is not ConnectionState.OPEN or connection._proto.extensions:
            return False
        self.transport.write(b"".join([text_frame(text) for text in texts]))
        return True

    def send_ping(self) -> bool:
        """Engine.IO's ping written now; False if the connection cannot take it this way."""
        if not self._writable_now():
            return False
        self.transport.write(PING_FRAME)
        return True

    def _writable_now(self) -> bool:
        """Open, not closing, and the transport not pushing back."""
        return (
            self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and self.writable.is_set()
            and not self.transport.is_closing()
        )

    async def send(self, message) -> None:
        if self._request is not None and not self.handshake_complete:
            if message["type"] == "websocket.accept" and not message.get("subprotocol") and not message.get("headers"):
                await self._accept()
                return
            # Anything else: wsproto reads the request after all, and answers.
            request, self._request = self._request, None
            self.conn.receive_data(request)
            for _ in self.conn.events():
                pass
        await super().send(message)
        if message["type"] == "websocket.accept" and self.conn.connection is not None:
            self.conn.handshake = ACCEPTED
            _opened(self.conn.connection)

    async def _accept(self) -> None:
        """uvicorn's accept (its log line, its headers), the 101 written here."""
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        if self.transport.is_closing():
            return  # as uvicorn: nothing written; a close that follows still answers the request
        self.logger.info(
            '%s - "WebSocket %s" [accepted]', get_client_addr(self.scope), get_path_with_query_string(self.scope)
        )
        lines = [
            b"HTTP/1.1 101 Switching Protocols",
            b"Upgrade: websocket",
            b"Connection: Upgrade",
            b"Sec-WebSocket-Accept: " + generate_accept_token(self._key),
            *(name + b": " + value for name, value in self.default_headers),
        ]
        self.handshake_complete = True
        self._request, self._key = None, b""
        self.conn.connection = _opened(Connection(ConnectionType.SERVER))
        self.conn.handshake = ACCEPTED
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n")
        self.start_keepalive()
