"""EphemPeer: a Python client of ephem that speaks exactly the contract.

REST for the account and invites, the `/ephem` namespace for matchmaking and
signaling, aiortc DataChannels for messages. Lean enough to run many in one
process (the load tests do): one HTTP client, one socket and one
RTCPeerConnection per remote peer each, nothing else.

The links outlive the socket: when it drops (the server restarts, say), open
links keep carrying the chat and only signaling waits; back on a new
connection (a new peer_id) the peer joins again and re-keys the links it kept
(rekey.py) instead of rebuilding them.

A pair whose DataChannel does not open (no WebRTC path: UDP blocked, no
TURN) talks through the server's `relay` event instead, sealed end to end
(`ephem/peer/relay.py`, `seal.py`), and moves back when the channel opens.

A network change is another matter: when one of the host's addresses goes
(netwatch.py), the socket bound to it is dead, and so, likely, is each
link's ICE path. The socket is dropped at once, so that it reconnects from
the new address, and back in the room each link is rebuilt on a fresh
connection (aiortc has no ICE restart). A link that fails by itself is
rebuilt too, a few times, while its peer is in the room.

Accounts the user blocked (`GET /api/blocks`, read on entering an enclave and
kept up by `block`/`unblock`, as the browser's page does) are dropped as the
browser drops them (mesh.js): their frames, on any rung, go unread (no
messages, acks, typing or files), and they get nothing from us.
"""

import asyncio
import functools
import logging
import os
import re
import socket
from collections.abc import AsyncIterator

import httpx
import socketio

from ephem.envelope import make
from ephem.peer import netwatch, seal
from ephem.peer.file_links import FileTransfers, Outgoing, Received
from ephem.peer.conversation import Conversation, Message
from ephem.peer.rekey import is_polite, place
from ephem.peer.relay import RELAY_AFTER, RETRY_AFTER, RelayLink
from ephem.peer.rtc import RtcLink
from ephem.peer.turn import usable_ice_servers
from ephem.pow import solve

log = logging.getLogger("ephem.peer")

GRACE = 20.0  # seconds a vanished peer is "reconnecting" before "left"
RECONNECT_MAX = 2  # longest wait between reconnect attempts, in seconds: back soon after the server is
REJOIN_TRIES, REJOIN_WAIT = 5, 3.0  # back on the socket, a join the server could not take is tried again
HELD_MAX = 500  # signals a link keeps while signaling is down
REBUILD_TRIES = 3  # fresh connections for a failed link before it is left to the grace period
PROOF_TRIES = 3  # a challenge solved, then refused (spent, expired meanwhile): a fresh one, this often
INVITE = re.compile(r"(?:/join/)?([A-Za-z0-9_-]{16,200})/?$")
_LOCALE = re.compile(r"^([A-Za-z]{2,3})(?:[_-]([A-Za-z0-9]{2,8}))?")


def language_from_env(env: "os._Environ | dict | None" = None) -> str:
    """The user's language as a tag ("fa-IR") from the POSIX locale variables
    (LC_ALL, then LC_MESSAGES, then LANG), or "" for none or "C"/"POSIX"."""
    env = os.environ if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name) or ""
        if not value:
            continue
        found = _LOCALE.match(value)
        if value.split(".")[0] in ("C", "POSIX") or not found:
            return ""
        return found.group(1).lower() + (f"-{found.group(2)}" if found.group(2) else "")
    return ""


def _lang_headers(lang: str) -> dict:
    return {"Accept-Language": lang} if lang else {}


class EphemError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


async def _paying(send, payload: dict) -> dict:
    """`send(payload)`; an answer that carries a challenge (a flood's price:
    `rate_limited` on sign-up, `proof_required` on search) is solved in a
    thread, so the loop goes on, and sent again with the proof."""
    for _ in range(PROOF_TRIES):
        answer = await send(payload)
        error = answer.get("error") if isinstance(answer, dict) else None
        challenge = error.get("challenge") if isinstance(error, dict) else None
        if not isinstance(challenge, dict):
            break
        nonce = await asyncio.to_thread(solve, challenge)
        payload = {**payload, "pow": {"challenge": challenge, "nonce": nonce}}
    return answer


def _check(answer: dict) -> dict:
    if not isinstance(answer, dict) or not answer.get("ok", True):
        error = (answer or {}).get("error") or {}
        raise EphemError(error.get("code", "error"), error.get("message", "The server refused."))
    return answer


class EphemPeer:
    def __init__(self, server: str, session_token: str, *, recovery_token: str = "", lang: str | None = None):
        self.server = server.rstrip("/")
        self.session_token = session_token
        self.recovery_token = recovery_token
        # The language the server answers in (errors, refusals): a tag, an
        # Accept-Language value or "" for English; by default the user's locale.
        self.lang = language_from_env() if lang is None else lang
        self.said_lang = ""  # the language the server chose, from the hello ack
        self.http = self._rest_client()
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay_max=RECONNECT_MAX)
        self.account: dict = {}
        self.peer_id = ""
        self.enclave_id = ""
        self.ice_servers: list[dict] = []
        self.in_room = False  # joined the enclave on the current connection: signaling works
        self.conversation: Conversation | None = None
        self.links: dict[str, RtcLink] = {}
        self.relays: dict[str, RelayLink] = {}  # the relay rung, by peer_id like the links
        self.keys = seal.KeyPair.generate()  # for the relay; lives as long as this peer
        self.relay_after = RELAY_AFTER
        self.relay_rejected = 0  # relayed frames that did not open: tampered, replayed, reordered
        self.blocked: set[str] = set()  # account ids this account blocked
        self.blocked_names: dict[str, str] = {}  # their names, as the server listed them
        self.blocked_dropped = 0  # frames from them, dropped unread
        # Per (enclave, their public key): counters must go on across a reconnect.
        self._channels: dict[tuple[str, bytes], seal.Channel] = {}
        self._keys_seen: dict[str, bytes] = {}  # the last relay key of each account
        self._incoming: asyncio.Queue[Message] = asyncio.Queue()
        self._events: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self._matched: asyncio.Future | None = None
        self.shared_interests: list[str] = []
        # Signals from a peer we have not heard `peer_joined` for yet, kept for when we do.
        self._early_signals: dict[str, list[tuple[str, object]]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._unwatch = None
        # Files (file_links.py): received ones are saved in `files.downloads`, refused while it is None.
        self.files = FileTransfers(
            lambda: self.account.get("id", ""),
            lambda: [link for link in [*self.links.values(), *self.relays.values()] if link.account_id not in self.blocked],
            lambda account_id: self.conversation.member(account_id).name if self.conversation else "",
            lambda kind, item: self._events.put_nowait((kind, item)),
        )
        self.relay_files = True
        self.files.relay_allowed = lambda: self.relay_files
        self._wire_socket()

    # --- construction ---------------------------------------------------------------

    @classmethod
    async def sign_up(cls, server: str, name: str, remember: bool = False, lang: str | None = None) -> "EphemPeer":
        lang = language_from_env() if lang is None else lang
        async with httpx.AsyncClient(base_url=server.rstrip("/"), headers=_lang_headers(lang)) as http:

            async def post(payload: dict) -> dict:
                return (await http.post("/api/accounts", json=payload)).json()

            body = await _paying(post, {"name": name, "remember": remember})
        if "session_token" not in body:
            _check(body)
        peer = cls(server, body["session_token"], recovery_token=body["recovery_token"], lang=lang)
        peer.account = body["account"]
        return peer

    @classmethod
    async def restore(cls, server: str, recovery_token: str, lang: str | None = None) -> "EphemPeer":
        lang = language_from_env() if lang is None else lang
        async with httpx.AsyncClient(base_url=server.rstrip("/"), headers=_lang_headers(lang)) as http:
            answer = await http.post("/api/accounts/restore", json={"recovery_token": recovery_token})
        body = answer.json()
        if answer.status_code != 200:
            _check(body)
        peer = cls(server, body["session_token"], recovery_token=recovery_token, lang=lang)
        peer.account = body["account"]
        return peer

    async def connect(self) -> None:
        await self.sio.connect(
            self.server,
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=["/ephem"],
            # A function: each reconnect names the language (README "Languages").
            auth=self._auth,
            wait_timeout=10,
        )
        await self._hello()
        if self._unwatch is None:
            self._unwatch = netwatch.watch(self._on_addresses)
        answer = await self.http.get("/api/ice-servers")
        offered = answer.json().get("ice_servers", []) if answer.status_code == 200 else []
        self.ice_servers = await usable_ice_servers(offered)

    def _auth(self) -> dict:
        return {"token": self.session_token, "lang": self.lang} if self.lang else {"token": self.session_token}

    async def _hello(self) -> None:
        hello = _check(await self._call("hello", {}))
        self.said_lang = hello.get("lang", "") if isinstance(hello.get("lang"), str) else ""
        self.peer_id = hello["peer_id"]
        self.account = hello["account"]
        self.relay_files = hello.get("relay_files") is not False  # the operator's switch for files on the relay
        cap = hello.get("file_max_bytes")
        if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0:
            self.files.max_bytes = min(self.files.max_bytes, cap)  # the operator's cap, if lower

    @property
    def name(self) -> str:
        return self.account.get("name", "")

    # --- finding an enclave -------------------------------------------------------------

    async def search(self, timeout: float | None = None, interests: list[str] | None = None) -> str:
        """Wait for a stranger (first one sharing one of `interests`); returns
        the enclave id after joining it. `shared_interests`: the ones in common."""
        self._matched = asyncio.get_running_loop().create_future()
        _check(await _paying(functools.partial(self._call, "search"), {"interests": list(interests)} if interests else {}))
        matched = await asyncio.wait_for(self._matched, timeout)
        self.shared_interests = list(matched.get("interests") or [])
        await self.enter(matched["enclave_id"])
        return self.enclave_id

    async def join_invite(self, link: str) -> str:
        """Join through an invite link (or bare code); returns the enclave id."""
        match = INVITE.search(link.strip())
        if not match:
            raise EphemError("not_found", "That does not look like an invite link.")
        answer = await self.http.post(f"/api/invites/{match.group(1)}/join")
        body = answer.json()
        if answer.status_code != 200:
            _check(body)
        await self.enter(body["id"])
        return self.enclave_id

    async def invite(self) -> str:
        answer = await self.http.post(f"/api/enclaves/{self.enclave_id}/invites")
        body = answer.json()
        if answer.status_code != 201:
            _check(body)
        return body["url"]

    async def enter(self, enclave_id: str, rejoin: bool = False) -> None:
        """Join the enclave's room and connect to everyone already there.

        The block list is read first, so no blocked member's frame is ever
        taken; back in the same room after a reconnect, the list already known
        holds and is read again alongside, so a slow REST call (the first on a
        new network) never holds the way back up."""
        if rejoin:
            self._spawn(self._refresh_blocks_quietly())
        else:
            await self.refresh_blocks()
        if self.conversation is None or self.enclave_id != enclave_id:
            self.conversation = Conversation(self.account["id"], self.name, self._on_change, lambda account_id: account_id in self.blocked)
        self.enclave_id = enclave_id
        joined = _check(await self._call("join", {"enclave_id": enclave_id}))
        self.in_room = True
        for peer in joined.get("peers", []):
            self._meet(peer, initiator=True)  # the newcomer offers (links kept from before are re-keyed)

    # --- blocking -------------------------------------------------------------------

    async def refresh_blocks(self) -> None:
        """The accounts this one blocked, as the server keeps them (any device's blocks)."""
        answer = await self.http.get("/api/blocks")
        body = answer.json()
        if answer.status_code != 200:
            _check(body)
        listed = {entry["account_id"] for entry in body}
        for account_id in listed - self.blocked:
            self.files.drop_account(account_id)  # blocked elsewhere meanwhile: its transfers stop too
        self.blocked = listed
        self.blocked_names = {entry["account_id"]: entry.get("name", "") for entry in body}

    async def _refresh_blocks_quietly(self) -> None:
        try:
            await self.refresh_blocks()
        except (httpx.HTTPError, EphemError) as exc:
            log.warning("the block list was not read again (%s): the %d known still hold", exc, len(self.blocked))

    async def block(self, account_id: str) -> None:
        """Block a member: kept apart in matchmaking for good, nothing from or to them from now
        on; files on their way either way stop, cancelled."""
        answer = await self.http.post("/api/blocks", json={"account_id": account_id})
        if answer.status_code != 201:
            _check(answer.json())
        self.files.drop_account(account_id)  # while its links still carry the last file_cancel
        self.blocked.add(account_id)
        self.blocked_names[account_id] = answer.json().get("name", "")

    async def unblock(self, account_id: str) -> None:
        answer = await self.http.delete(f"/api/blocks/{account_id}")
        if answer.status_code != 204:
            _check(answer.json())
        self.blocked.discard(account_id)
        self.blocked_names.pop(account_id, None)
        if self.conversation is not None:
            self.conversation.flush(account_id)  # what waited for them goes now

    def _from_blocked(self, link) -> bool:
        if link.account_id in self.blocked:
            self.blocked_dropped += 1
            return True
        return False

    # --- messages -----------------------------------------------------------------

    async def send(self, text: str) -> Message:
        if self.conversation is None:
            raise EphemError("not_in_enclave", "Search or join an enclave first.")
        return self.conversation.send(text)

    async def send_file(self, path: str) -> Outgoing:
        """Offer a file to every member connected now; `await peer.files.wait(outgoing)` for the end."""
        if self.conversation is None:
            raise EphemError("not_in_enclave", "Search or join an enclave first.")
        return await self.files.send_file(path)

    def accept_file(self, item: Received) -> None:
        """Take a file that waited to be accepted (an ("file_offer", item) event)."""
        self.files.accept(item)

    def decline_file(self, item: Received) -> None:
        self.files.decline(item)

    async def typing(self, active: bool) -> None:
        if self.conversation is not None:
            self.conversation.broadcast(self.conversation.typing_frame(active))

    async def messages(self) -> AsyncIterator[Message]:
        """Incoming chat messages, each once, in arrival order."""
        while True:
            yield await self._incoming.get()

    async def events(self) -> AsyncIterator[tuple[str, object]]:
        """("status", Message) for own messages, ("joined"|"left", name), ("typing", account_id)."""
        while True:
            yield await self._events.get()

    async def wait_status(self, message: Message, status: str, timeout: float = 10) -> None:
        async def reached():
            while message.status != status:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(reached(), timeout)

    async def leave(self) -> None:
        """Leave the enclave for good (the others see "left" at once)."""
        answer = await self.http.delete(f"/api/enclaves/{self.enclave_id}/membership")
        if answer.status_code != 204:
            _check(answer.json())
        await self._close_links()
        self.enclave_id, self.conversation, self.in_room = "", None, False

    async def close(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        for task in list(self._tasks):
            task.cancel()
        self.files.close()
        await self._close_links()
        if self.sio.connected:
            await self.sio.disconnect()
        await self.http.aclose()

    # --- socket wiring -------------------------------------------------------------

    def _wire_socket(self) -> None:
        ns = "/ephem"
        self.sio.on("matched", self._on_matched, namespace=ns)
        self.sio.on("peer_joined", self._on_peer_joined, namespace=ns)
        self.sio.on("peer_left", self._on_peer_left, namespace=ns)
        self.sio.on("signal", self._on_signal, namespace=ns)
        self.sio.on("relay", self._on_relay, namespace=ns)
        self.sio.on("connect", self._on_reconnect, namespace=ns)
        self.sio.on("disconnect", self._on_disconnect, namespace=ns)

    async def _call(self, event: str, payload: dict) -> dict:
        return await self.sio.call(event, payload, namespace="/ephem", timeout=10)

    async def _on_matched(self, data: dict) -> None:
        if self._matched is not None and not self._matched.done():
            self._matched.set_result(data)

    async def _on_peer_joined(self, data: dict) -> None:
        if data.get("enclave_id") == self.enclave_id and isinstance(data.get("peer"), dict):
            if self._meet(data["peer"], initiator=False) == "new":  # the newcomer will offer
                self._events.put_nowait(("joined", data["peer"].get("name", "")))

    async def _on_peer_left(self, data: dict) -> None:
        link = self.links.get(data.get("peer_id", ""))
        if link is None or self.conversation is None:
            return
        if data.get("reason") == "disconnected" and link.open:
            link.stale = True  # its socket dropped, not our link: kept until it is back
            return
        del self.links[link.peer_id]
        await link.close()
        self._drop_relay(link.peer_id)
        self.conversation.link_closed(link)
        if data.get("reason") == "left":
            self.conversation.leave(link.account_id)
            self._events.put_nowait(("left", self.conversation.member(link.account_id).name))
        else:
            self._spawn(self._expire_later())

    async def _on_signal(self, data: dict) -> None:
        if data.get("enclave_id") != self.enclave_id:
            return
        sender, signal = data.get("from", ""), (data.get("kind", ""), data.get("data"))
        link = self.links.get(sender)
        if link is not None and signal[0] == "key":
            self._on_key(sender, signal[1])
        elif link is not None:
            link.signal(*signal)
        elif len(self._early_signals) < 100:
            self._early_signals.setdefault(sender, []).append(signal)

    async def _on_disconnect(self, *_args) -> None:
        # Our peer_id dies with the socket, and so does the room; open links go on.
        self.in_room = False
        for peer_id in list(self.relays):  # the relay runs through the server: keys go again after
            self._drop_relay(peer_id)
        for link in list(self.links.values()):
            if link.open:
                link.stale = True
            else:  # cannot be finished without signaling: built again once the peer is back
                await self._drop(link)

    async def _on_reconnect(self) -> None:
        if not self.peer_id:
            return  # the first connect: `connect()` says hello itself
        self._spawn(self._rejoin())

    async def _rejoin(self) -> None:
        for attempt in range(REJOIN_TRIES):
            try:
                await self._hello()
                if self.enclave_id:
                    await self.enter(self.enclave_id, rejoin=True)
                    self._rebuild_wanted()
                return
            except (EphemError, TimeoutError, socketio.exceptions.SocketIOError) as exc:
                if not self.sio.connected:
                    return  # dropped again: the next connect starts over
                log.info("rejoin failed (%s), try %d of %d", exc, attempt + 1, REJOIN_TRIES)
                await asyncio.sleep(REJOIN_WAIT)
        log.warning("could not rejoin the enclave after %d tries; links kept stay as they are", REJOIN_TRIES)

    # --- network changes ----------------------------------------------------------

    def _on_addresses(self, gone: set[str], added: set[str]) -> None:
        if not gone:
            return  # a new address alone: the paths we have still work
        for link in self.links.values():
            link.rebuild_wanted = True
        # REST's pooled connections from a gone address would hear nothing until their time-out.
        old, self.http = self.http, self._rest_client()
        self._spawn(old.aclose())
        if self._socket_address() in gone:
            log.info("the socket's address is gone: reconnecting")
            self._drop_socket()  # reconnects from an address we have; `_rejoin` then rebuilds
        elif self.in_room:
            self._rebuild_wanted()

    def _rest_client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.session_token}", **_lang_headers(self.lang)}
        return httpx.AsyncClient(base_url=self.server, headers=headers)

    def _socket_address(self) -> str | None:
        ws = getattr(self.sio.eio, "ws", None)
        sockname = ws.get_extra_info("sockname") if ws is not None else None
        return sockname[0] if sockname else None

    def _drop_socket(self) -> None:
        """Shut the socket down under Socket.IO, which then reconnects as after any drop.

        A TCP connection whose local address is gone hears nothing more, and
        Socket.IO would notice only when the server's pings stop (minutes).
        """
        ws = getattr(self.sio.eio, "ws", None)
        sock = ws.get_extra_info("socket") if ws is not None else None
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # closed meanwhile: the reconnect is under way

    def _rebuild_wanted(self) -> None:
        for link in list(self.links.values()):
            if link.rebuild_wanted:
                link.rebuild_wanted = False
                link.rebuild()

    # --- links and the conversation ------------------------------------------------

    def _meet(self, peer: dict, initiator: bool) -> str:
        """A connection the server says is in the room: the link we have to it,
        the link kept from before a socket drop (re-keyed to its new peer_id),
        or a new one. Returns which (rekey.place)."""
        if peer.get("peer_id") == self.peer_id:
            return "self"
        kind, link = place(self.links.values(), peer)
        if link is None:
            link = self._add_link(peer)
            if initiator:
                self._spawn(link.start())
            return kind
        if initiator:
            # Heard of through peer_joined, but our join says it was there first:
            # we offer (start() does nothing on a link that has its channel).
            self._spawn(link.start())
        if kind == "rekey":
            del self.links[link.peer_id]
            self._drop_relay(link.peer_id)
            link.peer_id = peer["peer_id"]
            self.links[link.peer_id] = link
            if self.conversation is not None:
                self._add_relay(link)  # keys go again, to the new peer_id
        link.polite, link.stale = is_polite(self.peer_id, link.peer_id), False
        for signal in self._early_signals.pop(link.peer_id, []):
            link.signal(*signal)
        held, link.held = link.held, []
        self._spawn(self._send_held(link, held))
        return kind

    async def _send_held(self, link: RtcLink, held: list) -> None:
        for kind, data in held:
            await self._signal(link, kind, data)

    async def _drop(self, link: RtcLink) -> None:
        self.links.pop(link.peer_id, None)
        await link.close()
        self._drop_relay(link.peer_id)
        if self.conversation is not None:
            self.conversation.link_closed(link)
            self._spawn(self._expire_later())

    def _add_link(self, peer: dict) -> RtcLink:
        link = RtcLink(
            peer["peer_id"],
            peer["account_id"],
            polite=is_polite(self.peer_id, peer["peer_id"]),
            ice_servers=self.ice_servers,
            # Whatever its peer_id is by then: a re-keyed link signals the new one.
            send_signal=lambda kind, data: self._signal(link, kind, data),
            on_open=self._on_link_open,
            on_message=self._on_link_message,
            on_closed=self._on_link_closed,
        )
        link.on_channel = self._on_file_channel
        self.links[link.peer_id] = link
        self.conversation.member(link.account_id, peer.get("name", ""))
        self.conversation.link_added(link)
        self._add_relay(link)
        for kind, data in self._early_signals.pop(link.peer_id, []):
            if kind == "key":
                self._on_key(link.peer_id, data)
            else:
                link.signal(kind, data)
        return link

    def _on_file_channel(self, link: RtcLink, channel) -> None:
        if link.account_id in self.blocked:
            channel.close()  # no file from them either
        else:
            self.files.on_channel(link, channel)

    async def _signal(self, link: RtcLink, kind: str, data: dict | None) -> None:
        if link.closed:
            return
        if link.stale or not self.in_room:
            if len(link.held) < HELD_MAX:
                link.held.append((kind, data))  # sent once the link is re-keyed
            return
        payload = {"enclave_id": self.enclave_id, "to": link.peer_id, "kind": kind, "data": data}
        try:
            answer = await self._call("signal", payload)
        except (TimeoutError, socketio.exceptions.SocketIOError) as exc:
            answer = {"ok": False, "error": {"code": "unreachable", "message": str(exc)}}
        if not answer.get("ok"):
            log.info("signal to %s refused: %s", link.peer_id, answer.get("error"))

    def _on_link_open(self, link: RtcLink | RelayLink) -> None:
        """A channel or the relay opened (say hello, send what waits) or drained (send more)."""
        if self.conversation is None or not link.open:
            return
        if not link.greeted:
            link.greeted = True
            if isinstance(link, RtcLink):
                link.rebuilds = 0
            self.conversation.link_added(link)  # again, if it had closed and opened anew
            relay = self.relays.get(link.peer_id)
            if link is not relay and relay is not None and relay.active:
                relay.active = False  # back to the direct (or TURN) path
                self._events.put_nowait(("transport", (self.conversation.member(link.account_id).name, "direct")))
            link.send_frame(make("hello", self.account["id"], {"name": self.name}).frame())
            self.conversation.link_open(link)
            if isinstance(link, RtcLink):
                self.files.link_open(link)
        else:
            self.conversation.flush(link.account_id)

    def _on_link_message(self, link: RtcLink, data: object) -> None:
        if self.conversation is not None and not self._from_blocked(link):
            self.conversation.receive(link, data)
            self.files.receive(link, data)

    def _on_link_closed(self, link: RtcLink) -> None:
        if link.stale and self.links.get(link.peer_id) is link:
            self._spawn(self._drop(link))  # nobody to rebuild it with now: built again once the peer is back
        elif self.in_room and link.rebuilds < REBUILD_TRIES and self.links.get(link.peer_id) is link:
            # Its path died (or never opened), its peer is still in the room: start
            # over, as the browser does, relayed or not: the relay carries the pair
            # meanwhile, and calls need the connection. Should both sides do so at
            # once, their offers collide and the polite side answers. Each rebuild
            # changes the safety code, so only REBUILD_TRIES in a row.
            link.rebuilds += 1
            log.info("rebuilding the link to %s (%d of %d)", link.peer_id, link.rebuilds, REBUILD_TRIES)
            link.rebuild()
            self._relay(link.peer_id, failed=True)
        elif self.conversation is not None and self.links.get(link.peer_id) is link:
            link.greeted = False
            self.conversation.link_closed(link)
            self._relay(link.peer_id, failed=True)  # no waiting: this path failed
            self._spawn(self._expire_later())

    async def _expire_later(self) -> None:
        await asyncio.sleep(GRACE)
        if self.conversation is not None:
            for name in self.conversation.expire(GRACE):
                self._events.put_nowait(("left", name))

    # --- the relay rung ------------------------------------------------------------

    def _add_relay(self, link: RtcLink) -> None:
        relay = RelayLink(
            link.peer_id, link.account_id, self._emit_relay, on_open=self._on_link_open, on_refused=self._on_relay_refused
        )
        self.relays[link.peer_id] = relay
        self.conversation.link_added(relay)
        self._spawn(self._signal(link, "key", {"public_key": self.keys.public_b64}))
        self._spawn(self._relay_if_stuck(link))

    async def _relay_if_stuck(self, link: RtcLink) -> None:
        await asyncio.sleep(self.relay_after)
        if self.links.get(link.peer_id) is link and not link.open:
            self._relay(link.peer_id)

    def _relay(self, peer_id: str, failed: bool = False) -> None:
        """Switch the pair onto the relay (it opens once their key is here)."""
        relay = self.relays.get(peer_id)
        link = self.links.get(peer_id)
        if relay is None or relay.active or (not failed and link is not None and link.open):
            return
        relay.active, relay.greeted = True, False
        self._relay_opened(relay)

    def _relay_opened(self, relay: RelayLink) -> None:
        if relay.open and not relay.greeted and self.conversation is not None:
            name = self.conversation.member(relay.account_id).name
            self._events.put_nowait(("transport", (name, "relayed")))
            self._on_link_open(relay)

    def _on_key(self, peer_id: str, data: object) -> None:
        relay, link = self.relays.get(peer_id), self.links.get(peer_id)
        if relay is None or link is None or self.conversation is None:
            return
        try:
            theirs = seal.unb64((data or {}).get("public_key") if isinstance(data, dict) else None)
            key = (self.enclave_id, theirs)
            channel = self._channels.get(key) or seal.Channel(
                self.keys, theirs, self.enclave_id, self.account["id"], relay.account_id
            )
        except seal.SealError as exc:
            log.info("relay key from %s refused: %s", peer_id, exc)
            return
        self._channels[key] = relay.channel = channel
        before = self._keys_seen.get(relay.account_id)
        self._keys_seen[relay.account_id] = theirs
        if before is not None and before != theirs:
            self._events.put_nowait(("key_changed", self.conversation.member(relay.account_id).name))
        self._relay_opened(relay)

    async def _emit_relay(self, frame: dict, answered) -> None:
        try:
            await self.sio.emit("relay", {"enclave_id": self.enclave_id, **frame}, namespace="/ephem", callback=answered)
        except socketio.exceptions.BadNamespaceError:
            answered({"ok": False, "error": {"code": "disconnected"}})

    def _on_relay_refused(self, relay: RelayLink, answer: dict) -> None:
        log.info("relay frame to %s refused: %s", relay.peer_id, (answer.get("error") or {}).get("code"))
        if relay.refused == 1 or relay.refused % 50 == 0:
            self._spawn(self._resend_later(relay))

    async def _resend_later(self, relay: RelayLink) -> None:
        await asyncio.sleep(RETRY_AFTER)
        if relay.open and self.conversation is not None:
            relay.refused = 0
            self.conversation.link_open(relay)  # everything unacked goes again; duplicates are dropped

    async def _on_relay(self, data: dict) -> None:
        if not isinstance(data, dict) or data.get("enclave_id") != self.enclave_id or self.conversation is None:
            return
        relay = self.relays.get(data.get("from", ""))
        if relay is None:
            return
        try:
            frame = relay.open_frame(data.get("data"))
        except seal.SealError as exc:
            self.relay_rejected += 1
            log.info("relayed frame from %s refused: %s", relay.peer_id, exc)
            return
        if self._from_blocked(relay):
            return
        self.conversation.receive(relay, frame)
        self.files.receive(relay, frame)

    def _drop_relay(self, peer_id: str) -> None:
        relay = self.relays.pop(peer_id, None)
        if relay is not None:
            relay.close()
            if self.conversation is not None:
                self.conversation.link_closed(relay)

    async def _close_links(self) -> None:
        for link in list(self.links.values()):
            await link.close()
            self._drop_relay(link.peer_id)
            if self.conversation is not None:
                self.conversation.link_closed(link)
        self.links.clear()

    def transport(self, peer_id: str) -> str:
        """How a pair talks: "direct" (a DataChannel, maybe over TURN), "relayed", or "connecting"."""
        link, relay = self.links.get(peer_id), self.relays.get(peer_id)
        if link is not None and link.open:
            return "direct"
        return "relayed" if relay is not None and relay.open else "connecting"

    def safety_code(self, peer_id: str) -> str | None:
        """The pair's safety code, the same on both sides unless someone is in between; None before
        their key and both DTLS fingerprints are here."""
        link, relay = self.links.get(peer_id), self.relays.get(peer_id)
        if link is None or relay is None or relay.channel is None:
            return None
        ours, theirs = seal.fingerprint_of(link.local_sdp), seal.fingerprint_of(link.remote_sdp)
        if not ours or not theirs:
            return None  # the offer and answer have not both gone through yet
        return seal.safety_code(self.keys.public, ours, relay.channel.theirs, theirs)

    def peer_named(self, name: str) -> str | None:
        """The peer_id of the connected member called `name` (case-insensitive), if any."""
        wanted = name.strip().casefold()
        for peer_id, link in self.links.items():
            if self.conversation is not None and self.conversation.member(link.account_id).name.casefold() == wanted:
                return peer_id
        return None

    def _on_change(self, kind: str, item: object) -> None:
        if kind == "message":
            self._incoming.put_nowait(item)
        else:
            self._events.put_nowait((kind, item))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
