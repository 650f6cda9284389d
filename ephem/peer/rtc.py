"""One aiortc RTCPeerConnection to one remote peer, with the contract's negotiation.

aiortc gathers all its candidates before `setLocalDescription` returns, so
our offers and answers carry them inline (no trickle out); remote candidates
trickled in by browsers are added as they come. Signals are applied one at a
time, in order, so a candidate never races ahead of its description.
aiortc cannot roll back a local offer, so where the perfect-negotiation
pattern would have the polite side roll back, this side starts over with a
fresh connection and answers the remote offer; so it does for an offer from a
remote side that started over itself (new ICE credentials), which aiortc
could not apply to the connection it has. aiortc has no ICE restart either:
a link whose path died (a network change, a failed connection) is rebuilt
on a fresh connection, which offers (`rebuild`); the channel comes back
empty and the conversation resends what was not acked.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

log = logging.getLogger("ephem.peer")

HIGH_WATER = 1024 * 1024
CONNECT_TIMEOUT = 30.0  # seconds: a connection whose channel is not open by then counts as failed (peer_link.js)

SendSignal = Callable[[str, dict | None], Awaitable[None]]
ICE_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)
_REBUILD = object()  # a signal of our own: never a kind that arrives from the network


def _ufrags(sdp: str) -> set[str]:
    return set(ICE_UFRAG.findall(sdp or ""))


def ice_configuration(servers: list[dict]) -> RTCConfiguration:
    ice = []
    for server in servers:
        urls = server.get("urls")
        if urls:
            ice.append(RTCIceServer(urls=urls, username=server.get("username"), credential=server.get("credential")))
    return RTCConfiguration(iceServers=ice)


class RtcLink:
    def __init__(
        self,
        peer_id: str,
        account_id: str,
        polite: bool,
        ice_servers: list[dict],
        send_signal: SendSignal,
        on_open: Callable[["RtcLink"], None],
        on_message: Callable[["RtcLink", object], None],
        on_closed: Callable[["RtcLink"], None],
    ):
        self.peer_id = peer_id
        self.account_id = account_id
        self.polite = polite
        self.ice_servers = ice_servers
        self.send_signal = send_signal
        self.on_open, self.on_message, self.on_closed = on_open, on_message, on_closed
        self.on_channel: Callable[["RtcLink", object], None] | None = None  # other channels: files (file_links.py)
        self.channel = None
        self.greeted = False  # our hello went out on the current channel
        self.closed = False
        self.making_offer = False
        # Kept across a socket drop, the peer not heard of again yet (see
        # rekey.py): what it would signal waits in `held` until it is re-keyed.
        self.stale = False
        self.held: list[tuple[str, dict | None]] = []
        # The SDP texts as sent and as received, for the safety code: aiortc's
        # localDescription is rebuilt on each read and need not match what went out.
        self.local_sdp = self.remote_sdp = ""
        self.rebuild_wanted = False  # our network changed while signaling was down: rebuild once it is back
        self.rebuilds = 0  # fresh connections made after a failure, since the channel last opened
        self._signals: asyncio.Queue = asyncio.Queue()
        self._closing: set[asyncio.Task] = set()
        self._worker = asyncio.ensure_future(self._apply_signals())
        self._watchdog: asyncio.TimerHandle | None = None
        self._lost_pc: RTCPeerConnection | None = None
        self.pc = self._new_pc()

    def _new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(ice_configuration(self.ice_servers))
        # aioice has no time limit of its own: a controlled side whose nomination
        # never came, or a DTLS side whose peer never started, waits forever.
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = asyncio.get_running_loop().call_later(CONNECT_TIMEOUT, self._never_opened, pc)

        @pc.on("datachannel")
        def on_datachannel(channel):
            if channel.label == "ephem":
                self._attach(channel)
            elif self.on_channel is not None:
                self.on_channel(self, channel)

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState in ("failed", "closed"):
                self._lost(pc, pc.connectionState)

        return pc

    def _never_opened(self, pc: RTCPeerConnection) -> None:
        if not self.open:
            self._lost(pc, f"not open after {CONNECT_TIMEOUT:.0f} s ({pc.connectionState}, ICE {pc.iceConnectionState})")

    def _lost(self, pc: RTCPeerConnection, why: str) -> None:
        """Our current connection failed, closed or never opened: said once per connection
        (aiortc reports "failed" twice, and its channel closes too), else each report
        would rebuild it again and the offers would cross their own answers."""
        if pc is self.pc and not self.closed and self._lost_pc is not pc:
            self._lost_pc = pc
            log.info("link to %s: %s", self.peer_id, why)
            self.on_closed(self)

    def _attach(self, channel) -> None:
        self.channel, self.greeted = channel, False

        @channel.on("open")
        def on_open():
            self.on_open(self)

        @channel.on("message")
        def on_message(data):
            self.on_message(self, data)

        @channel.on("close")
        def on_close():
            if channel is self.channel:
                self._lost(self.pc, "channel closed")

        @channel.on("bufferedamountlow")
        def on_low():
            self.on_open(self)  # resume flushing

        if channel.readyState == "open":
            self.on_open(self)

    def sctp_state(self) -> dict:
        """What aiortc's SCTP association holds, for a log line when data stops
        arriving: its state, the receive window it advertises, the cumulative TSN,
        TSNs received past a gap, and chunks waiting per stream (aiortc's private
        fields, read defensively)."""
        sctp = getattr(self.pc, "sctp", None)
        if sctp is None:
            return {}
        streams = getattr(sctp, "_inbound_streams", {})
        return {
            "state": str(getattr(sctp, "_association_state", "")),
            "rwnd": getattr(sctp, "_advertised_rwnd", None),
            "cumulative_tsn": getattr(sctp, "_last_received_tsn", None),
            "past_a_gap": len(getattr(sctp, "_sack_misordered", ())),
            "held": {sid: len(s.reassembly) for sid, s in streams.items() if getattr(s, "reassembly", None)},
        }

    @property
    def open(self) -> bool:
        return not self.closed and self.channel is not None and self.channel.readyState == "open"

    @property
    def writable(self) -> bool:
        return self.open and self.channel.bufferedAmount < HIGH_WATER

    def send_frame(self, frame: str) -> bool:
        if not self.open:
            return False
        try:
            self.channel.send(frame)
        except Exception:  # noqa: BLE001 - a closing channel: the outbox keeps the message
            return False
        return True

    async def start(self) -> None:
        """As the newcomer: create the channel and offer (contract)."""
        if self.channel is not None:
            return  # already offered, or answered the other side's offer
        self._attach(self.pc.createDataChannel("ephem", ordered=True))
        await self._offer()

    async def _offer(self) -> None:
        self.making_offer = True
        try:
            await self.pc.setLocalDescription(await self.pc.createOffer())
            description = self.pc.localDescription
            self.local_sdp = description.sdp
            await self.send_signal("offer", {"type": description.type, "sdp": description.sdp})
        finally:
            self.making_offer = False

    def rebuild(self) -> None:
        """Start over on a fresh connection and offer it (in turn with the signals being applied)."""
        self._signals.put_nowait((_REBUILD, None))

    def _start_over(self) -> None:
        """A fresh connection in place of the one we have, which closes in the background:
        on a dead path its TURN allocation's goodbye waits for answers that never come."""
        old, self.pc, self.channel = self.pc, self._new_pc(), None
        closing = asyncio.ensure_future(old.close())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    def signal(self, kind: str, data: dict | None) -> None:
        self._signals.put_nowait((kind, data))

    async def _apply_signals(self) -> None:
        while True:
            kind, data = await self._signals.get()
            try:
                await self._apply(kind, data)
            except Exception:  # noqa: BLE001 - one bad signal must not end the link
                log.warning("signal %s from %s failed", kind, self.peer_id, exc_info=True)

    async def _apply(self, kind: str, data: dict | None) -> None:
        if self.closed:
            return
        if kind is _REBUILD:
            self._start_over()
            self._attach(self.pc.createDataChannel("ephem", ordered=True))
            await self._offer()
        elif kind == "answer" and self.pc.signalingState != "have-local-offer":
            log.info("an answer from %s to an offer we no longer have: ignored", self.peer_id)
        elif kind in ("offer", "answer") and isinstance(data, dict):
            collision = data.get("type") == "offer" and (self.making_offer or self.pc.signalingState != "stable")
            if collision and not self.polite:
                return  # the impolite side ignores a colliding offer
            remote = self.pc.remoteDescription
            started_over = data.get("type") == "offer" and remote is not None and _ufrags(remote.sdp) != _ufrags(data.get("sdp", ""))
            if collision or started_over:
                self._start_over()  # no rollback in aiortc
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type=data["type"]))
            self.remote_sdp = data["sdp"]
            if data["type"] == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                description = self.pc.localDescription
                self.local_sdp = description.sdp
                await self.send_signal("answer", {"type": description.type, "sdp": description.sdp})
        elif kind == "candidate" and isinstance(data, dict) and data.get("candidate"):
            line = data["candidate"]
            candidate = candidate_from_sdp(line.split(":", 1)[1] if line.startswith("candidate:") else line)
            candidate.sdpMid = data.get("sdpMid")
            candidate.sdpMLineIndex = data.get("sdpMLineIndex")
            await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        self.closed = True
        self._watchdog.cancel()
        self._worker.cancel()
        await self.pc.close()
