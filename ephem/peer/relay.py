"""The relay rung: a pair's envelopes sealed end to end through the server's `relay` event.

A `RelayLink` is one more link of the conversation for one remote peer,
next to its `RtcLink`. It is `open` only while the client has switched the
pair onto it (no DataChannel after RELAY_AFTER seconds, or the connection
failed) and the other side's public key has arrived; the conversation then
resends whatever that member has not acked, exactly as when a DataChannel
opens, and drops duplicates by id on the way back. It can always send what
the conversation answers (acks), whichever rung the other side is on.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from ephem.peer import seal

log = logging.getLogger("ephem.peer")

RELAY_AFTER = 1.5  # seconds a pair waits for its DataChannel before relaying
QUEUE_MAX = 256  # sealed frames waiting for the socket; past it the outbox waits
RETRY_AFTER = 1.0  # a refused frame: everything unacked goes again after this long

Emit = Callable[[dict, Callable[[object], None]], Awaitable[None]]


class RelayLink:
    def __init__(
        self,
        peer_id: str,
        account_id: str,
        emit: Emit,
        on_open: Callable[["RelayLink"], None],
        on_refused: Callable[["RelayLink", dict], None],
    ):
        self.peer_id = peer_id
        self.account_id = account_id
        self.emit = emit
        self.on_open, self.on_refused = on_open, on_refused
        self.channel: seal.Channel | None = None
        self.active = False  # the client switched this pair onto the relay
        self.greeted = False
        self.closed = False
        self.refused = 0  # frames the server did not take
        self._queue: deque[dict] = deque()
        self._sending: asyncio.Task | None = None

    @property
    def open(self) -> bool:
        return self.active and self.channel is not None and not self.closed

    @property
    def writable(self) -> bool:
        return self.open and len(self._queue) < QUEUE_MAX

    def send_frame(self, frame: str) -> bool:
        if self.channel is None or self.closed:
            return False
        self._queue.append({"to": self.peer_id, "data": self.channel.seal(frame)})
        if self._sending is None or self._sending.done():
            self._sending = asyncio.ensure_future(self._send_queued())
        return True

    async def _send_queued(self) -> None:
        while self._queue and not self.closed:
            full = len(self._queue) >= QUEUE_MAX
            await self.emit(self._queue.popleft(), self._answered)
            if full:
                self.on_open(self)  # room again: the outbox can go on

    def _answered(self, answer: object) -> None:
        if not (isinstance(answer, dict) and answer.get("ok")):
            self.refused += 1
            self.on_refused(self, answer if isinstance(answer, dict) else {})

    def open_frame(self, data: object) -> str:
        """The envelope in a relayed frame, or SealError."""
        if self.channel is None:
            raise seal.SealError("no key from this peer yet")
        try:
            return self.channel.open(data).decode()
        except UnicodeDecodeError:
            raise seal.SealError("not text") from None

    def close(self) -> None:
        self.closed = True
        self._queue.clear()
        if self._sending is not None:
            self._sending.cancel()
