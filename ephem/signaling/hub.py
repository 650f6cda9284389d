"""The `/ephem` Socket.IO namespace: presence, matchmaking and signaling relay.

Thin over the domain: every event is rate-limited, size-checked and parsed
with pydantic before a handler sees it, and every handler answers through its
ack with `{ok: true, ...}` or the contract's error shape. Message text never
comes here in the clear: peers exchange SDP, ICE candidates and relay public
keys through `signal`, and a pair with no WebRTC path sends its envelopes
through `relay` sealed end to end (`ephem/peer/seal.py`): the hub measures and
forwards those frames and never logs, keeps or looks into them.
"""

import asyncio
import functools
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError

from ephem.accounts import BANNED, Accounts, Seen
from ephem.enclaves import Enclaves
from ephem.errors import Banned, EphemError, InvalidToken
from ephem.i18n import N_, NP_
from ephem.live.matchmaking import Match, Matchmaker, Searcher
from ephem.live.outage import MESSAGE, UNREACHABLE, outage
from ephem.live.presence import Peer, PeerInfo, Presence
from ephem.live.proofs import Proofs, SpentInMemory
from ephem.live.ratelimit import RateLimiter
from ephem.core.batches import Batched
from ephem.core.clock import iso
from ephem.core.settings import Settings
from ephem.models import Account
from ephem.pow import ProofOfWork, ProofRequired
from ephem.safety import Safety
from ephem.schemas import AccountOut, error, validation_detail
from ephem.signaling.payloads import (
    MAX_RELAY_CHARS,
    EnclaveIn,
    Empty,
    HelloIn,
    NotUnicode,
    RelayIn,
    SearchIn,
    SignalIn,
    size_of,
)
from ephem.signaling.language import Localized, in_connection_language
from ephem.signaling.upkeep import LOBBY, Upkeep

log = logging.getLogger("ephem.signaling")

NAMESPACE = "/ephem"
# Per connection: enough for a burst of ICE candidates, tight enough that a
# flood is answered with `rate_limited` instead of work.
SOCKET_RATE, SOCKET_BURST = 30, 120
# Per account, over all its connections on this worker: a few connections'
# worth, so a client cannot multiply its share by opening
# CONNECTIONS_PER_ACCOUNT of them.
ACCOUNT_RATE, ACCOUNT_BURST = 3 * SOCKET_RATE, 3 * SOCKET_BURST
# Relay frames have buckets of their own (a chat through the relay is an event
# per message and per ack): per connection, events; per pair of peers, bytes,
# each frame counted RELAY_FRAME_COST bytes more than its length.
RELAY_RATE, RELAY_BURST = 400, 800
RELAY_BYTES_RATE, RELAY_BYTES_BURST = 256 * 1024, 1024 * 1024
RELAY_FRAME_COST = 256
# Searches per account (on each worker), past which each takes a proof of work.
SEARCH_RATE, SEARCH_BURST = 0.2, 30
# Tabs and devices of one account: plenty for a person, and each connection
# holds server memory, so one token cannot open thousands.
CONNECTIONS_PER_ACCOUNT = 20
# Matches written to the database in one transaction at most.
MATCH_BATCH = 200
# How often an account's events look up whether an operator banned it since
# it connected (a ban is made from the command line, away from the live side).
BAN_RECHECK = 30.0
# Sessions (for a burst of connects) or searchers' blocks read in one query at most.
READ_BATCH = 200
SOMETHING_WRONG = N_("Something went wrong on our side. Please try again.")


def _whoever_it_can_reach(method):
    """For telling live connections of a change the database has already
    made: with Redis out of reach the change still stands (the action
    succeeds), and the connections it could not tell lapse on their own."""

    @functools.wraps(method)
    async def tell(self, *args):
        try:
            await method(self, *args)
        except UNREACHABLE as exc:
            outage.failed(exc)

    return tell


class Hub(Localized, Upkeep, socketio.AsyncNamespace):
    def __init__(
        self,
        accounts: Accounts,
        enclaves: Enclaves,
        presence: Presence,
        matchmaker: Matchmaker,
        settings: Settings,
        safety: Safety | None = None,
        proofs: Proofs | None = None,
    ):
        super().__init__(NAMESPACE)
        self.accounts = accounts
        self.enclaves = enclaves
        self.presence = presence
        self.matchmaker = matchmaker
        self.settings = settings
        self.safety = safety or Safety(accounts.engine, settings, accounts.clock)
        self.proofs = proofs or Proofs(ProofOfWork(settings.secret), SpentInMemory())
        self._ban_checked: dict[str, float] = {}  # account_id -> when its ban was last looked up
        self._ban_pruned = 0.0
        # Per connection (by sid), and a connection lives on one worker: the
        # buckets stay here even with Redis, with no round trip per event. The
        # account's too: its connections spread over workers get a budget on each.
        self.limiter = RateLimiter(rate=SOCKET_RATE, burst=SOCKET_BURST)
        self.account_limiter = RateLimiter(rate=ACCOUNT_RATE, burst=ACCOUNT_BURST)
        self.relay_limiter = RateLimiter(rate=RELAY_RATE, burst=RELAY_BURST)
        self.relay_bytes = RateLimiter(rate=RELAY_BYTES_RATE, burst=RELAY_BYTES_BURST)
        self.search_limiter = RateLimiter(rate=SEARCH_RATE, burst=SEARCH_BURST)
        self._by_sid: dict[str, Peer] = {}
        self._slots: Counter[str] = Counter()  # this worker's connections per account, made or being made
        self._known: dict[str, _Known] = {}  # the accounts of those connections, as looked up at connect
        self._watching: set[str] = set()  # sids that asked for `stats` (hello {stats: true})
        # Connecting writes nothing: `last_seen_at` is written by the upkeep, in batches.
        self.seen = Seen(settings.seen_interval.total_seconds(), accounts.clock)
        self._unwritten: list[str] = []
        # Connects and searches wait for the next batched read of their sessions, and of their bans and blocks.
        self._sessions: Batched[Any, Account | None] = Batched(accounts.look_up_many, READ_BATCH, self._spawn)
        self._avoided: Batched[str, frozenset[str]] = Batched(self.safety.avoided_many, READ_BATCH, self._spawn)
        self._by_peer: dict[str, Peer] = {}  # the same connections, by peer_id
        self._searching: dict[str, Peer] = {}  # this worker's searchers, by peer_id
        # cancel_search calls per connection: a search on its way (one put back
        # after a Redis restart) can tell that it was cancelled meanwhile.
        self._cancels: Counter[str] = Counter()
        self._wishes: dict[str, _Wish] = {}  # this worker's searchers' interests, by peer_id
        self._matches: list[tuple[Searcher, Searcher]] = []  # made, their enclaves not yet written
        self._writing_matches = False
        self._last_stats: dict | None = None
        self._stats_at = float("-inf")
        self._touching: asyncio.Future | None = None
        self._tasks: set[asyncio.Task] = set()
        self._handlers: dict[str, tuple[type[BaseModel] | None, Callable[[Peer, Any], Awaitable[dict]]]] = {
            "hello": (HelloIn, self._hello),
            "echo": (None, self._echo),
            "search": (SearchIn, self._search),
            "cancel_search": (Empty, self._cancel_search),
            "join": (EnclaveIn, self._join),
            "leave": (EnclaveIn, self._leave),
            "signal": (SignalIn, self._signal),
            "relay": (RelayIn, self._relay),
        }

    # --- connection lifecycle ------------------------------------------------

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        account_id = ""
        try:
            account, read_at = await self._look_up(token)
            # A slot on this worker, taken with no await before the check, so a
            # burst of connects cannot all pass it; then the count on all workers.
            crowded = self._slots[account.id] >= CONNECTIONS_PER_ACCOUNT
            if not crowded:
                account_id = account.id
                self._slots[account_id] += 1
                crowded = len(await self.presence.peers_of(account_id)) >= CONNECTIONS_PER_ACCOUNT
            if not crowded:
                peer = Peer(peer_id=secrets.token_urlsafe(12), account_id=account_id, name=account.name, sid=sid)
                await self.presence.connect(peer)
        except InvalidToken as exc:  # Banned too
            self._release(account_id)
            raise _refused(exc.code, exc.text) from None
        except Exception as exc:  # noqa: BLE001 - a refusal the client understands, the traceback in our log
            self._release(account_id)
            outage.report(log, exc, "connect failed")
            raise _refused("unavailable", N_("The server cannot take connections right now. Try again soon.")) from None
        if crowded:
            self._release(account_id)
            message = NP_(
                "This account has {n} connection open already. Close a tab or device first.",
                "This account has {n} connections open already. Close a tab or device first.",
                CONNECTIONS_PER_ACCOUNT,
            )
            raise _refused("too_many_connections", message)
        # Only now: a connection that failed halfway never gets a disconnect to clean it up.
        self._by_sid[sid] = self._by_peer[peer.peer_id] = peer
        self._known[account_id] = _Known.of(account)
        if read_at is not None:
            # Its ban was just read with the session: the first events need not look again.
            self._ban_checked[account_id] = max(read_at, self._ban_checked.get(account_id, read_at))
        self.seen.connected(account_id, account.last_seen_at)
        await self.enter_room(sid, _session_room(self.accounts.session_key(token)))

    async def _look_up(self, token: Any) -> tuple[Account, float | None]:
        """The account, and when (event-loop time) it was read from the
        database if it was just now. A reconnect within seconds finds its
        session cached (and its first event looks up the ban, as a ban made
        meanwhile takes effect at the next connect); the others wait for the
        next batched read (one thread hop and one query for a burst)."""
        cached = self.accounts.connecting(token)
        if cached is not None and not await self.accounts.revoked_elsewhere(token, cached.id):
            return _not_banned(cached), None
        asked = asyncio.get_running_loop().time()  # the read starts after this
        account = await self._sessions.read(token)
        if account is None:
            raise InvalidToken(N_("This session has ended. Sign in again or restore with your recovery token."))
        return _not_banned(account), asked

    def _release(self, account_id: str) -> None:
        if account_id:
            self._slots[account_id] -= 1
            if self._slots[account_id] <= 0:
                del self._slots[account_id]
                self._known.pop(account_id, None)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        # Local state first: whatever fails below, this worker stops renewing the peer.
        peer = self._by_sid.pop(sid, None)
        if peer is None:
            return
        self._release(peer.account_id)
        self.seen.disconnected(peer.account_id)
        self._watching.discard(sid)
        self._by_peer.pop(peer.peer_id, None)
        self._searching.pop(peer.peer_id, None)
        self._cancels.pop(peer.peer_id, None)
        self._wishes.pop(peer.peer_id, None)
        try:
            await self.limiter.forget(sid)
            await self.relay_limiter.forget(sid)
            await self.matchmaker.cancel(peer.peer_id)
            for enclave_id in list(peer.enclaves):
                await self._announce_left(enclave_id, peer.info(), "disconnected", local=peer)
            await self.presence.disconnect(peer.peer_id)
            still_here = await self.presence.peers_of(peer.account_id)
        except Exception as exc:  # noqa: BLE001 - the shared store lets it lapse instead
            outage.report(log, exc, "disconnect cleanup failed")
            still_here = []
        if not still_here:
            # The session-only grace period starts when the last connection
            # closes: written with the upkeep's next batch, within a tick.
            self.seen.closed(peer.account_id)

    @in_connection_language
    async def trigger_event(self, event: str, *args):
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, payload = args[0], args[1] if len(args) > 1 else None
        peer = self._by_sid.get(sid)
        if peer is None:
            return error("invalid_token", N_("This connection is not signed in."))
        try:
            # The account's bucket is only drawn on by events its connection's let through.
            if event == "relay":
                allowed = await self.relay_limiter.allow(sid)
            else:
                allowed = await self.limiter.allow(sid) and await self.account_limiter.allow(peer.account_id)
        except Exception:  # noqa: BLE001 - e.g. Redis away: answer, do not hang
            log.exception("rate limiter failed")
            return error("unavailable", SOMETHING_WRONG)
        if not allowed:
            return error("rate_limited", N_("Too many events. Slow down."))
        try:
            if await self._banned_since(peer.account_id):
                return error("banned", BANNED)
        except Exception as exc:  # noqa: BLE001 - answered like any other failure
            if outage.failed(exc):
                return error("unavailable", MESSAGE)
            log.exception("ban check failed")
            return error("unavailable", SOMETHING_WRONG)
        entry = self._handlers.get(event)
        if entry is None or len(args) > 2:
            return error("unknown_event", N_("There is no event {event} that takes these arguments.", event=repr(event[:64])))
        model, handler = entry
        try:
            size = size_of(payload)
        except NotUnicode as exc:
            return error("invalid_payload", N_("Invalid {event} payload: {detail}.", event=event, detail=exc))
        if size > self.settings.max_signal_bytes:
            return error("payload_too_large", NP_("Payloads are limited to {n} byte.", "Payloads are limited to {n} bytes.", self.settings.max_signal_bytes))
        try:
            parsed = payload if model is None else model.model_validate({} if payload is None else payload)
        except ValidationError as exc:
            detail = validation_detail(exc.errors()[0])
            return error("invalid_payload", N_("Invalid {event} payload: {detail}.", event=event, detail=detail))
        try:
            return await handler(peer, parsed)
        except EphemError as exc:
            if isinstance(exc, Banned):  # found by a search or join: after this answer, the end
                self._spawn(self._end_banned(peer.account_id))
            return error(exc.code, exc.text, **exc.details)
        except Exception as exc:  # noqa: BLE001 - the client gets an answer, the log gets the traceback
            if outage.failed(exc):
                return error("unavailable", MESSAGE)
            log.exception("event %s failed", event)
            return error("unavailable", SOMETHING_WRONG)

    # --- events --------------------------------------------------------------

    async def _hello(self, peer: Peer, body: HelloIn) -> dict:
        if body.stats and peer.sid not in self._watching:
            self._watching.add(peer.sid)
            if not peer.enclaves:
                await self.enter_room(peer.sid, LOBBY)
        account = self._known.get(peer.account_id) or await asyncio.to_thread(self.accounts.get, peer.account_id)
        written = self.seen.last_written(peer.account_id)
        seen = datetime.fromtimestamp(written, timezone.utc) if written is not None else None
        out = AccountOut.of(account, self.accounts.expires_at(account, seen))
        if seen is not None and seen > account.last_seen_at:
            out.last_seen_at = iso(seen)
        files = {"relay_files": self.settings.relay_files, "file_max_bytes": self.settings.file_max_bytes}  # file_links.js
        return {"ok": True, "peer_id": peer.peer_id, "account": out.model_dump(), "stats": await self.stats(), **files}

    async def _echo(self, _peer: Peer, payload: Any) -> dict:
        return {"ok": True, "echo": payload}

    async def _search(self, peer: Peer, body: SearchIn) -> dict:
        if body.pow is not None:  # paid for: past the account's search budget
            await self.proofs.redeem(body.pow, "search", peer.account_id)
        elif not await self.search_limiter.allow(peer.account_id):
            challenge = self.proofs.challenge("search", peer.account_id)
            raise ProofRequired(N_("Searching this often takes a proof of work: solve the challenge and search again."), challenge)
        # Read now (fresh for every search): whom this account must never meet; raises Banned.
        avoid = await self._avoided.read(peer.account_id)
        wish = self._wishes[peer.peer_id] = _Wish(frozenset(body.interests))
        await self._enqueue(peer, avoid)
        if wish.interests and peer.peer_id in self._searching:
            self._spawn(self._relax_later(peer, wish))
        return {"ok": True, "status": "searching"}

    async def _relax_later(self, peer: Peer, wish: "_Wish") -> None:
        """After the wait, a searcher still looking for a shared interest takes anyone."""
        await asyncio.sleep(self.settings.interest_wait_seconds)
        if self._wishes.get(peer.peer_id) is not wish or peer.peer_id not in self._searching:
            return  # matched, cancelled, gone, or searching again
        wish.strict = False
        match = await self.matchmaker.relax(peer.peer_id)
        if match is not None:
            self._matched(match)

    async def _enqueue(self, peer: Peer, avoid: frozenset[str] | None = None) -> None:
        cancels = self._cancels[peer.peer_id]
        if avoid is None:  # put back after Redis forgot it: read its blocks again
            try:
                avoid = await self._avoided.read(peer.account_id)
            except Banned:
                return
        wish = self._wishes.get(peer.peer_id) or _Wish(frozenset())
        searcher = Searcher(peer.peer_id, peer.account_id, peer.name, avoid, wish.interests, wish.strict and bool(wish.interests))
        match = await self.matchmaker.enqueue(searcher)
        if match is None:
            # Renewed (by run_forever) only from now on: a renewal that ran
            # while the enqueue was still on its way would find no lease,
            # call the searcher lost and enqueue it a second time.
            if peer.sid in self._by_sid and self._cancels[peer.peer_id] == cancels:
                self._searching[peer.peer_id] = peer
            else:  # gone, or cancelled, while its search was on the way
                await self.matchmaker.cancel(peer.peer_id)
        else:
            # After the ack: a client sees "searching" before "matched", never the reverse.
            self._matched(match)

    def _matched(self, match: Match) -> None:
        for searcher in (match.first, match.second):
            self._searching.pop(searcher.peer_id, None)
            self._wishes.pop(searcher.peer_id, None)
        self._matches.append((match.first, match.second))
        if not self._writing_matches:
            self._writing_matches = True
            self._spawn(self._write_matches())

    async def _cancel_search(self, peer: Peer, _body: Empty) -> dict:
        self._cancels[peer.peer_id] += 1
        self._searching.pop(peer.peer_id, None)
        self._wishes.pop(peer.peer_id, None)
        await self.matchmaker.cancel(peer.peer_id)
        return {"ok": True}

    async def _join(self, peer: Peer, body: EnclaveIn) -> dict:
        if not await asyncio.to_thread(self.enclaves.is_member, body.enclave_id, peer.account_id):
            return error("not_member", N_("You are not a member of this enclave."))
        if await asyncio.to_thread(self.safety.banned_among, [peer.account_id]):
            raise Banned(BANNED)
        if body.enclave_id in peer.enclaves:  # joining twice: just say who is there
            others = [p.public() for p in await self.presence.peers_in(body.enclave_id) if p.peer_id != peer.peer_id]
        else:
            peer.enclaves.add(body.enclave_id)
            await self.leave_room(peer.sid, LOBBY)
            # In the room first, so a peer_joined sent by someone who joins
            # right after us cannot pass us by.
            await self.enter_room(peer.sid, _room(body.enclave_id))
            others = [p.public() for p in await self.presence.join(body.enclave_id, peer)]
            await self.emit(
                "peer_joined",
                {"enclave_id": body.enclave_id, "peer": peer.public()},
                room=_room(body.enclave_id),
                skip_sid=peer.sid,
            )
            self._spawn(asyncio.to_thread(self.enclaves.touch, body.enclave_id))
        return {"ok": True, "peers": others}

    async def _leave(self, peer: Peer, body: EnclaveIn) -> dict:
        await self._announce_left(body.enclave_id, peer.info(), "closed", local=peer)
        return {"ok": True}

    async def _target(self, peer: Peer, enclave_id: str, to: str) -> PeerInfo | dict:
        """The peer a signal or relay frame is for, or the error to answer with."""
        if enclave_id not in peer.enclaves or not await self.presence.in_room(enclave_id, peer.peer_id):
            return error("not_member", N_("Join this enclave before signaling in it."))
        target = await self.presence.get(to)
        if target is None or target.peer_id == peer.peer_id or not await self.presence.in_room(enclave_id, to):
            return error("unknown_peer", N_("That peer is not connected to this enclave."))
        return target

    async def _signal(self, peer: Peer, body: SignalIn) -> dict:
        target = await self._target(peer, body.enclave_id, body.to)
        if isinstance(target, dict):
            return target
        # Through the manager even when the target is this worker's own: room
        # events (peer_joined) take that path, and a signal must not overtake
        # the peer_joined that announces its sender.
        await self.emit(
            "signal",
            {"enclave_id": body.enclave_id, "from": peer.peer_id, "kind": body.kind, "data": body.data},
            to=target.sid,
        )
        return {"ok": True}

    async def _relay(self, peer: Peer, body: RelayIn) -> dict:
        """A sealed frame to one peer (an addition to the contract). Its data
        goes into no log line and no error message, and is kept nowhere."""
        if len(body.data) > MAX_RELAY_CHARS:
            return error("payload_too_large", NP_("Relay frames are limited to {n} character.", "Relay frames are limited to {n} characters.", MAX_RELAY_CHARS))
        target = await self._target(peer, body.enclave_id, body.to)
        if isinstance(target, dict):
            return target
        if not self.relay_bytes.allow_now(f"{peer.peer_id}>{target.peer_id}", len(body.data) + RELAY_FRAME_COST):
            return error("rate_limited", N_("Too much relayed to this peer. Slow down."))
        # Through the manager, like `signal`: a frame never overtakes the signal sent before it.
        await self.emit(
            "relay", {"enclave_id": body.enclave_id, "from": peer.peer_id, "data": body.data}, to=target.sid
        )
        return {"ok": True}

    # --- helpers used by the REST layer and the lifespan tasks -----------------

    async def stats(self) -> dict:
        return {"online": await self.presence.online_accounts(), "searching": await self.matchmaker.searching()}

    async def online(self, account_ids) -> set[str]:
        try:
            return await self.presence.online(account_ids)
        except UNREACHABLE as exc:
            # Degraded, not failed: enclaves and members come from the database
            # and are exact; while Redis is away nobody can be reached live (no
            # connect, no signaling), so "offline" is true enough for a while.
            outage.failed(exc)
            return set()

    @_whoever_it_can_reach
    async def drop_account(self, account_id: str, enclave_ids: list[str]) -> None:
        """A deleted account: its connections, on any worker, are closed, and
        the members of its enclaves hear it left them for good."""
        for info in await self.presence.peers_of(account_id):
            await self.disconnect(info.sid)
        for enclave_id in enclave_ids:
            await self._member_left(enclave_id, account_id)

    @_whoever_it_can_reach
    async def end_session(self, session_key: str) -> None:
        """A session was signed out: every connection made with it, on any
        worker (a room per session), hears so and goes back to the sign-in."""
        message = error("invalid_token", N_("You signed out of this session."))
        await self._tell_room(_session_room(session_key), "session_ended", message)

    @_whoever_it_can_reach
    async def evict(self, enclave_id: str, account_id: str, reason: str = "left") -> None:
        """An account left an enclave for good: its live connections leave the room too."""
        for info in await self.presence.peers_of(account_id):
            await self._announce_left(enclave_id, info, reason, local=self._by_sid.get(info.sid))
        await self._member_left(enclave_id, account_id)

    @_whoever_it_can_reach
    async def remove(self, enclave_id: str, account_id: str) -> None:
        """A host removed this account: each of its connections hears `removed`
        (an addition to the contract) and leaves the room, whose others hear
        `peer_left` with reason "removed" and `member_left`."""
        for info in await self.presence.peers_of(account_id):
            await self.emit("removed", {"enclave_id": enclave_id, "account_id": account_id}, to=info.sid)
        await self.evict(enclave_id, account_id, "removed")

    async def _banned_since(self, account_id: str) -> bool:
        """Whether an operator banned this account since it was last looked up
        (at most every BAN_RECHECK seconds); if so its connections, on any
        worker, hear `session_ended` with code "banned" and are closed."""
        now = asyncio.get_running_loop().time()
        if now - self._ban_pruned >= BAN_RECHECK:  # accounts gone meanwhile do not pile up
            self._ban_pruned = now
            self._ban_checked = {a: t for a, t in self._ban_checked.items() if now - t < BAN_RECHECK}
        if now - self._ban_checked.get(account_id, float("-inf")) < BAN_RECHECK:
            return False
        self._ban_checked[account_id] = now
        if not await asyncio.to_thread(self.safety.banned_among, [account_id]):
            return False
        self._spawn(self._end_banned(account_id))
        return True

    async def _end_banned(self, account_id: str) -> None:
        self._ban_checked.pop(account_id, None)
        # A connect trusts a cached session (and the ban read with it): no
        # more of this account's, here or, through Redis, on other workers.
        try:
            await asyncio.to_thread(self.accounts.revoke, (), [account_id])
        except UNREACHABLE as exc:  # dropped here already; the others re-check within BAN_RECHECK
            outage.failed(exc)
        for info in await self.presence.peers_of(account_id):
            await self.emit("session_ended", error("banned", BANNED), to=info.sid)
            await self.disconnect(info.sid)

    async def _member_left(self, enclave_id: str, account_id: str) -> None:
        """`member_left` (an addition to the contract): sent even when the
        member has no connection, so the others stop keeping messages for it."""
        await self._tell_room(_room(enclave_id), "member_left", {"enclave_id": enclave_id, "account_id": account_id})

    async def _tell_room(self, room: str, event: str, data: dict) -> None:
        """To a room on every worker; when not serving (the API alone, in scripts) there is nobody to tell."""
        if self.server is not None:
            await self.emit(event, data, room=room)

    # --- internals -------------------------------------------------------------

    async def _write_matches(self) -> None:
        """Group commit: the matches made while one batch is being written go
        into the next, so a burst of searchers costs a few transactions rather
        than one each, queued on the database's write lock."""
        try:
            while self._matches:
                batch, self._matches = self._matches[:MATCH_BATCH], self._matches[MATCH_BATCH:]
                groups = [[first.account_id, second.account_id] for first, second in batch]
                try:
                    results: list = await asyncio.to_thread(self.enclaves.create_many, groups)
                except Exception as exc:  # noqa: BLE001 - every side hears about it either way
                    log.exception("could not create enclaves for %d matches", len(batch))
                    results = [exc] * len(batch)
                for (first, second), result in zip(batch, results):
                    if first.peer_id in self._by_peer and second.peer_id in self._by_peer:
                        await self._announce_local(first, second, result)  # nothing to wait for: no task
                    else:
                        self._spawn(self._announce_match(first, second, result))
        finally:
            self._writing_matches = False

    async def _announce_local(self, first: Searcher, second: Searcher, result: Any) -> None:
        try:
            await self._announce_match(first, second, result)
        except Exception as exc:  # noqa: BLE001 - the next matches are still announced
            outage.report(log, exc, "announcing a match failed")

    async def _announce_match(self, first: Searcher, second: Searcher, result: Any) -> None:
        if isinstance(result, Exception):
            code, message = (
                (result.code, result.text)
                if isinstance(result, EphemError)
                else ("unavailable", N_("Matching failed. Search again."))
            )
            for searcher in (first, second):
                await self._emit_to_peer(searcher.peer_id, "search_failed", error(code, message))
            return
        shared = sorted(first.interests & second.interests)
        for me, other in ((first, second), (second, first)):
            await self._emit_to_peer(
                me.peer_id,
                "matched",
                {
                    "enclave_id": result.id,
                    "peer": {"account_id": other.account_id, "name": other.name},
                    "interests": shared,
                },
            )

    async def _emit_to_peer(self, peer_id: str, event: str, data: dict) -> None:
        """To one connection on whichever worker holds it; straight to the socket when it is ours."""
        local = self._by_peer.get(peer_id)
        if local is not None:
            await self.emit(event, data, to=local.sid, ignore_queue=True)
            return
        peer = await self.presence.get(peer_id)
        if peer is not None:
            await self.emit(event, data, to=peer.sid)

    async def _announce_left(self, enclave_id: str, info: PeerInfo, reason: str, local: Peer | None = None) -> None:
        """`reason` (an addition to the contract): "left" the enclave for good,
        "closed" the room on this connection, or "disconnected"."""
        if local is not None:
            local.enclaves.discard(enclave_id)
            if not local.enclaves and local.sid in self._watching:  # still connected, back home
                await self.enter_room(local.sid, LOBBY)
        if not await self.presence.leave(enclave_id, info.peer_id):
            return
        await self.leave_room(info.sid, _room(enclave_id))
        await self._emit_left(enclave_id, info, reason)

    async def _emit_left(self, enclave_id: str, info: PeerInfo, reason: str) -> None:
        await self.emit(
            "peer_left",
            {"enclave_id": enclave_id, "peer_id": info.peer_id, "account_id": info.account_id, "reason": reason},
            room=_room(enclave_id),
        )

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        # Reported now, not as "never retrieved" whenever the task is collected.
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            outage.report(log, task.exception(), "background task failed")


@dataclass(frozen=True, slots=True)
class _Known:
    """What `hello` tells of an account, kept while it is connected here: a
    few fields, not the ORM object and its SQLAlchemy state (a KB or two)."""

    id: str
    name: str
    remember: bool
    created_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, account: Account) -> "_Known":
        return cls(account.id, account.name, account.remember, account.created_at, account.last_seen_at)


@dataclass
class _Wish:
    """A search's interests; `strict` until its wait for a shared one is over."""

    interests: frozenset[str]
    strict: bool = True


def _not_banned(account: Account) -> Account:
    if account.banned_at is not None:
        raise Banned(BANNED)
    return account


def _room(enclave_id: str) -> str:
    return f"enclave:{enclave_id}"


def _session_room(session_key: str) -> str:
    return f"session:{session_key}"


def _refused(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message})
