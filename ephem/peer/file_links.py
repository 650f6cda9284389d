"""The files of one peer, sent and received: the twin of assets/ephem/file_links.js.

Control envelopes (`file_offer`, `file_accept`, `file_ack`, `file_done`,
`file_cancel`) go on the pair's `ephem` channel; the bytes on a DataChannel of
their own per transfer and receiver, labelled `file:<id>:<first chunk>`, one
chunk per binary message, written only while its buffer is below HIGH_WATER.
The receiver asks for the chunk it wants next (`file_accept {id, from}`) at
first and again when its link is back, so a transfer resumes where it
stopped. Received bytes go straight to a hidden `.part` file in the
downloads folder and take their safe, unique name once the SHA-256 matches.
"""

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ephem.envelope import make, parse
from ephem.peer import files
from ephem.peer.file_relay import RelayRun, on_relayed_chunk, relay_pump
from ephem.peer.files import CHUNK, Incoming, Meter, Offer, Refused

log = logging.getLogger("ephem.peer")

HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024
TYPES = {"file_offer", "file_accept", "file_ack", "file_done", "file_cancel", "file_chunk"}
OPEN_PER_SENDER = 16  # offers a sender may have waiting or in flight with us; more are refused
STALL = 10.0  # a transfer with no new byte this long, its link open, is asked for again
FINAL = {"done", "declined", "cancelled", "failed"}


@dataclass
class Receiver:
    name: str
    status: str = "offered"  # offered | sending | done | declined | cancelled
    next: int = 0
    acked: int = 0
    want_from: int | None = None
    channel: object = None
    error: str = ""
    meter: Meter = field(default_factory=Meter)
    starts: list[int] = field(default_factory=list)  # the chunk each channel began at: [0] unless resumed


@dataclass
class Outgoing:
    path: Path
    offer: Offer
    receivers: dict[str, Receiver] = field(default_factory=dict)
    status: str = "sending"
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def total(self) -> int:
        return files.chunk_count(self.offer.size, self.offer.chunk)


@dataclass
class Received:
    offer: Offer
    sender: str  # account id
    name: str  # the sender's display name
    status: str = "offered"  # offered | receiving | done | declined | cancelled | failed
    rx: Incoming | None = None
    part: Path | None = None
    handle: object = None
    channel: object = None
    path: Path | None = None  # where it was saved
    type: str = ""
    error: str = ""
    meter: Meter = field(default_factory=Meter)
    gathered: bytearray = field(default_factory=bytearray)  # parts of the next chunk, over the relay
    reasked: float = 0.0


class FileTransfers:
    """`links()`: the links (RtcLink or RelayLink); `name_of(account_id)`; `emit(kind, item)`: tell the user."""

    def __init__(
        self,
        account_id: Callable[[], str],
        links: Callable[[], list],
        name_of: Callable[[str], str],
        emit: Callable[[str, object], None],
        downloads: Path | None = None,
        max_bytes: int = files.MAX_BYTES,
        ask_above: int = files.ASK_ABOVE,
    ):
        self.account_id = account_id
        self.links = links
        self.name_of = name_of
        self.emit = emit
        self.downloads = downloads
        self.max_bytes, self.ask_above = max_bytes, ask_above
        self.relay_allowed: Callable[[], bool] = lambda: True  # the operator's switch, from `hello`
        self.stall_after = STALL
        self.outgoing: dict[str, Outgoing] = {}
        self.incoming: dict[tuple[str, str], Received] = {}
        self._tasks: set[asyncio.Task] = set()

    def _to(self, account_id: str, kind: str, payload: dict) -> bool:
        frame = make(kind, self.account_id(), payload).frame()
        return any(link.send_frame(frame) for link in self.links() if link.account_id == account_id and link.open)

    def _rtc(self, account_id: str):
        return next((l for l in self.links() if l.account_id == account_id and l.open and hasattr(l, "pc")), None)

    # --- sending ------------------------------------------------------------------

    async def send_file(self, path: str | Path) -> Outgoing:
        """Offer `path` to every account with an open link; `wait` for it to be done."""
        source = Path(path)
        if not source.is_file():
            raise ValueError(f"No such file: {source}")
        size = source.stat().st_size
        if size > self.max_bytes:
            raise ValueError(f"Files are limited to {files.format_bytes(self.max_bytes)}.")
        digest = await asyncio.to_thread(_sha256_of, source)
        offer = Offer(str(uuid.uuid4()), files.sanitize_name(source.name), size, "", digest, CHUNK)
        out = Outgoing(source, offer)
        accounts = {l.account_id for l in self.links() if l.open}
        if not accounts:
            raise ValueError("Nobody is connected to send it to.")
        for account_id in accounts:
            out.receivers[account_id] = Receiver(self.name_of(account_id))
            self._to(account_id, "file_offer", offer.payload())
        self.outgoing[offer.id] = out
        return out

    async def wait(self, out: Outgoing, timeout: float | None = None) -> Outgoing:
        await asyncio.wait_for(out.done.wait(), timeout)
        return out

    def cancel(self, out: Outgoing) -> None:
        for account_id, r in out.receivers.items():
            if r.status not in FINAL:
                r.status = "cancelled"
                self._to(account_id, "file_cancel", {"id": out.offer.id, "code": "cancelled", "message": "The sender cancelled."})
            _close(r)
        self._settle(out)

    def drop_account(self, account_id: str) -> int:
        """The account is being blocked: every transfer with it, either way, stops now as
        cancelled. Call it before the block hides the account's links: it gets one last
        `file_cancel` (code `cancelled`, as if cancelled by hand) per transfer, so its side
        stops too instead of asking again forever. How many transfers stopped."""
        dropped = 0
        for out in list(self.outgoing.values()):
            r = out.receivers.get(account_id)
            if r is None or r.status in FINAL:
                continue
            r.status, r.want_from, r.error = "cancelled", None, "Blocked."
            _close(r)
            self._to(account_id, "file_cancel", {"id": out.offer.id, "code": "cancelled", "message": "The sender cancelled."})
            self._settle(out)
            dropped += 1
        for item in list(self.incoming.values()):
            if item.sender == account_id and item.status in ("offered", "receiving"):
                self._stop(item, "cancelled", "The receiver cancelled.")
                dropped += 1
        return dropped

    def _relay(self, account_id: str):
        if not self.relay_allowed():
            return None
        return next((l for l in self.links() if l.account_id == account_id and l.open and not hasattr(l, "pc")), None)

    def _start(self, out: Outgoing, account_id: str, r: Receiver) -> None:
        link = self._rtc(account_id)
        relay = None if link is not None else self._relay(account_id)
        if (link is None and relay is None) or r.want_from is None:
            return  # when a DataChannel opens (link_open), or the receiver asks again
        start, r.want_from = r.want_from, None
        _close(r)
        r.status, r.next = "sending", start
        r.starts.append(start)
        if start >= out.total:
            return
        if relay is not None:
            r.channel = RelayRun()
            self._spawn(relay_pump(self, out, r, r.channel, relay))
            return
        channel = link.pc.createDataChannel(files.channel_label(out.offer.id, start), ordered=True)
        channel.bufferedAmountLowThreshold = LOW_WATER
        r.channel = channel
        room = asyncio.Event()
        channel.on("bufferedamountlow", room.set)
        channel.on("close", room.set)  # a pump waiting for room stops

        @channel.on("open")
        def on_open():
            self._spawn(self._pump(out, r, channel, room))

    async def _pump(self, out: Outgoing, r: Receiver, channel, room: asyncio.Event) -> None:
        chunk = out.offer.chunk
        with out.path.open("rb") as source:
            source.seek(r.next * chunk)
            while r.channel is channel and channel.readyState == "open" and r.next < out.total:
                if channel.bufferedAmount > HIGH_WATER:
                    room.clear()
                    await room.wait()
                    continue
                channel.send(source.read(chunk))
                r.next += 1
                await asyncio.sleep(0)  # let the SCTP transport run

    def _on_answer(self, account_id: str, kind: str, payload: dict) -> None:
        out = self.outgoing.get(payload["id"])
        r = out.receivers.get(account_id) if out else None
        if r is None or r.status in FINAL:
            return
        if kind == "file_accept":
            start = payload.get("from")
            if not files.is_count(start) or start > out.total:
                return
            r.want_from, r.acked = start, max(r.acked, start)
            self._start(out, account_id, r)
        elif kind == "file_ack":
            upto = payload.get("upto")
            if files.is_count(upto) and r.acked <= upto <= out.total:
                r.acked = upto
                r.meter.sample(min(out.offer.size, upto * out.offer.chunk))
        elif kind == "file_done":
            r.status, r.acked = "done", out.total
            _close(r)
        elif kind == "file_cancel":
            r.status = "declined" if payload.get("code") == "declined" else "cancelled"
            r.error = str(payload.get("message", ""))[:200]
            _close(r)
        self._settle(out)

    def _settle(self, out: Outgoing) -> None:
        if all(r.status in FINAL for r in out.receivers.values()) and not out.done.is_set():
            out.status = "done" if any(r.status == "done" for r in out.receivers.values()) else "cancelled"
            self.outgoing.pop(out.offer.id, None)
            out.done.set()
            self.emit("file_sent", out)

    # --- receiving ----------------------------------------------------------------

    def _on_offer(self, link, payload: dict) -> None:
        try:
            offer = files.check_offer(payload, self.max_bytes)
        except Refused as refused:
            ident = payload.get("id") if isinstance(payload.get("id"), str) else ""
            answer = {"id": ident[:64], "code": refused.code, "message": refused.message}
            if refused.code == "too_large":
                answer["limit"] = self.max_bytes  # the sender says the limit in its own language
            self._to(link.account_id, "file_cancel", answer)
            self.emit("file_refused", (files.sanitize_name(payload.get("name")), refused.message))
            return
        key = (link.account_id, offer.id)
        known = self.incoming.get(key)
        if known is not None:
            if known.status == "receiving":
                self._to(link.account_id, "file_accept", {"id": offer.id, "from": known.rx.count})
            elif known.status == "done":
                self._to(link.account_id, "file_done", {"id": offer.id})  # our first one was lost
            return
        pending = [i for i in self.incoming.values() if i.sender == link.account_id and i.status in ("offered", "receiving")]
        if len(pending) >= OPEN_PER_SENDER:
            self._to(link.account_id, "file_cancel", {"id": offer.id, "code": "busy", "message": "Too many files at once: send again later."})
            return
        item = Received(offer, link.account_id, self.name_of(link.account_id))
        self.incoming[key] = item
        if self.downloads is None:
            self._stop(item, "declined", "This peer does not take files.")
        elif offer.size <= self.ask_above:
            self.accept(item)
        else:
            self.emit("file_offer", item)

    def accept(self, item: Received) -> None:
        if item.status != "offered" or self.downloads is None:
            return
        item.status, item.rx = "receiving", Incoming(item.offer)
        item.part = self.downloads / f".{item.offer.id}.part"
        try:
            self.downloads.mkdir(parents=True, exist_ok=True)
            item.handle = item.part.open("wb")
        except OSError as exc:
            self._stop(item, "cannot_save", f"The file cannot be saved here: {exc.strerror or exc}.")
            return
        if item.rx.complete:
            self._finish(item)
        else:
            self._to(item.sender, "file_accept", {"id": item.offer.id, "from": 0})
            self._spawn(self._unstall(item))

    async def _unstall(self, item: Received) -> None:
        """A transfer that stopped moving while a link is up (a lost accept, a stalled
        channel): ask again from what we hold, on a fresh channel. Should that not move
        it either, say so with the state of the connection's SCTP association, which
        is what stalled the two times this was seen (bench/README.md, issue 18)."""
        seen, stalls = -1, 0
        while item.status == "receiving":
            await asyncio.sleep(self.stall_after)
            if item.status == "receiving" and item.rx.bytes == seen:
                stalls += 1
                if stalls == 2:
                    link = self._rtc(item.sender)
                    log.warning("file %s stuck at %d of %d bytes though asked for again; its connection's SCTP: %s",
                                item.offer.id, item.rx.bytes, item.offer.size, link.sctp_state() if link else "no open link")
                self._to(item.sender, "file_accept", {"id": item.offer.id, "from": item.rx.count})
            else:
                stalls = 0
            seen = item.rx.bytes

    def decline(self, item: Received) -> None:
        self._stop(item, "declined", "The receiver declined.")

    def _stop(self, item: Received, code: str, message: str, tell: bool = True) -> None:
        if item.status in FINAL:
            return
        item.status = code if code in ("declined", "cancelled") else "failed"
        item.error = message
        _close(item)
        if item.handle is not None:
            item.handle.close()
            item.handle = None
        if item.part is not None:
            with contextlib.suppress(OSError):  # a downloads "folder" that is not one, say
                item.part.unlink(missing_ok=True)
        if tell:
            self._to(item.sender, "file_cancel", {"id": item.offer.id, "code": code, "message": message})
        self.emit("file_failed", item)

    def on_channel(self, link, channel) -> None:
        label = files.parse_label(channel.label)
        item = self.incoming.get((link.account_id, label[0])) if label else None
        if item is None or item.status != "receiving":
            channel.close()
            return
        _close(item)
        item.channel = channel
        index = label[1]

        @channel.on("message")
        def on_message(data):
            nonlocal index
            if item.channel is not channel or item.status != "receiving" or isinstance(data, str):
                return
            index += 1
            self._take(item, index - 1, data)

    def _take(self, item: Received, index: int, data: bytes) -> None:
        try:
            fresh = item.rx.take(index, data)
        except Refused as refused:
            self._stop(item, refused.code, refused.message)
            return
        if not fresh:
            return
        try:
            item.handle.write(data)
        except OSError as exc:  # a full disk, say
            self._stop(item, "cannot_save", f"The file cannot be saved here: {exc.strerror or exc}.")
            return
        item.meter.sample(item.rx.bytes)
        upto = item.rx.ack_due()
        if upto is not None:
            self._to(item.sender, "file_ack", {"id": item.offer.id, "upto": upto})
        if item.rx.complete:
            self._finish(item)

    def _finish(self, item: Received) -> None:
        try:
            item.type = item.rx.verify()
        except Refused as refused:
            self._stop(item, refused.code, refused.message)
            return
        try:
            item.handle.close()
            item.handle = None
            item.path = files.unique_path(self.downloads, item.offer.name)
            item.part.rename(item.path)  # the name was free a moment ago, in a folder we write alone
        except (OSError, Refused) as exc:
            self._stop(item, "cannot_save", f"The file cannot be saved here: {getattr(exc, 'strerror', None) or exc}.")
            return
        item.status = "done"
        _close(item)
        self._to(item.sender, "file_done", {"id": item.offer.id})
        self.emit("file_received", item)

    # --- the client's hooks -----------------------------------------------------------

    def link_open(self, link) -> None:
        """A DataChannel (re)opened: transfers with this account go on where they stopped."""
        for item in self.incoming.values():
            if item.sender == link.account_id and item.status == "receiving":
                channel = item.channel
                if channel is None or channel.readyState != "open":
                    self._to(item.sender, "file_accept", {"id": item.offer.id, "from": item.rx.count})
        for out in list(self.outgoing.values()):
            r = out.receivers.get(link.account_id)
            if r is not None and r.want_from is not None:
                self._start(out, link.account_id, r)
            elif r is not None and r.status == "sending":
                # Offered again: a receiver with every byte answers `file_done` (its first one may
                # have gone down with the old connection), one still receiving asks from what it holds.
                self._to(link.account_id, "file_offer", out.offer.payload())

    def receive(self, link, raw: object) -> None:
        envelope = parse(raw) if isinstance(raw, str) and "file_" in raw else None
        if envelope is None or envelope.type not in TYPES or envelope.sender != link.account_id:
            return
        kind, payload = envelope.type, envelope.payload
        if kind == "file_offer":
            self._on_offer(link, payload)
            return
        if not isinstance(payload.get("id"), str):
            return
        item = self.incoming.get((link.account_id, payload["id"]))
        if kind == "file_chunk":
            if item is not None:
                on_relayed_chunk(self, item, payload)
            return
        if kind == "file_cancel" and item is not None:
            code = "cancelled" if payload.get("code") == "cancelled" else "failed"
            self._stop(item, code, "The sender stopped.", tell=False)
            return
        self._on_answer(link.account_id, kind, payload)

    def close(self) -> None:
        for out in self.outgoing.values():
            for r in out.receivers.values():
                _close(r)
        for item in self.incoming.values():
            if item.status == "receiving":
                self._stop(item, "cancelled", "The receiver left.", tell=False)
        for task in self._tasks:
            task.cancel()

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _close(holder) -> None:
    channel, holder.channel = holder.channel, None
    if channel is not None:
        try:
            channel.close()
        except Exception:  # noqa: BLE001 - closed already with its connection
            pass


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
