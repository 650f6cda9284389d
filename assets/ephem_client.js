// The browser half of ephem.
//
// One Socket.IO connection to `/ephem` (presence, matchmaking, signaling) and,
// inside an enclave, a full mesh of RTCPeerConnections with one reliable,
// ordered DataChannel `ephem` per pair. Message text lives only here and on
// the DataChannels: it is rendered by the small chat panel below and never
// handed to Reflex state, whose updates travel through the server. Everything
// else the page shows (connection, peers, typing, self-test) goes up to
// Python through one callback, `onEvent(kind, data)`.

import { io } from "socket.io-client";
import { createElement as h, useEffect, useRef, useState } from "react";
import { getBackendURL } from "$/utils/state";
import env from "$/env.json";
import { Call, CallPanel, VIDEO_CROWD } from "./ephem_call.js";

const SERVER_EVENTS = ["matched", "peer_joined", "peer_left", "member_left", "stats", "search_failed"];
const MAX_TEXT = 4000; // characters in one chat message (contract)
const MAX_FRAME = 64 * 1024; // bytes in one envelope, both ways
const HIGH_WATER = 1024 * 1024; // stop writing to a channel above this bufferedAmount
const LOW_WATER = 256 * 1024; // and resume below this
const GRACE_MS = 20000; // a vanished peer shows "reconnecting" this long before "left"
const REFUSED_RETRY_MS = 10000; // a connection the server refused is tried again after this
const TYPING_MS = 6000; // a typing flag without refresh expires after this
const SEEN_MAX = 5000; // received ids remembered for duplicate detection
const HISTORY_MAX = 500; // messages kept in the tab when history is on
const CONNECT_TIMEOUT_MS = 30000; // a link not open by then is rebuilt
const ICE_REFRESH_MS = 20 * 60 * 1000; // TURN credentials are short-lived: refetch well before expiry

// Characters, not UTF-16 units, so an emoji counts once here as in Python.
export const textLength = (text) => [...text].length;

const storage = {
  get(key) {
    try {
      return sessionStorage.getItem(key);
    } catch (err) {
      return null;
    }
  },
  set(key, value) {
    try {
      sessionStorage.setItem(key, value);
    } catch (err) {
      /* blocked or full: best effort */
    }
  },
  remove(key) {
    try {
      sessionStorage.removeItem(key);
    } catch (err) {
      /* blocked */
    }
  },
};

// The backend origin in dev, prod and static export alike.
export function backendOrigin() {
  return getBackendURL(env.PING).origin;
}

const uuid = () =>
  crypto.randomUUID
    ? crypto.randomUUID()
    : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
        (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
      );

// --- envelopes -----------------------------------------------------------------

// What a user typed, trimmed and within the contract's limit, or why not.
function checkText(text) {
  const clean = (text || "").trim();
  if (!clean) return { ok: false, error: "empty" };
  if (textLength(clean) > MAX_TEXT) return { ok: false, error: `Messages are limited to ${MAX_TEXT} characters.` };
  return { ok: true, text: clean };
}

export function envelope(type, from, payload) {
  return { v: 1, type, id: uuid(), ts: new Date().toISOString(), from, payload };
}

// Returns a checked envelope or null: anything malformed is dropped, unknown
// types pass through (and are ignored by the caller).
export function parseEnvelope(raw) {
  if (typeof raw !== "string" || raw.length > MAX_FRAME) return null;
  let env;
  try {
    env = JSON.parse(raw);
  } catch (e) {
    return null;
  }
  if (!env || typeof env !== "object" || env.v !== 1) return null;
  if (typeof env.type !== "string" || typeof env.id !== "string" || typeof env.from !== "string") return null;
  if (typeof env.ts !== "string" || !env.payload || typeof env.payload !== "object") return null;
  if (env.type === "chat" && (typeof env.payload.text !== "string" || textLength(env.payload.text) > MAX_TEXT)) return null;
  if (env.type === "ack" && typeof env.payload.of !== "string") return null;
  if (env.type === "hello" && typeof env.payload.name !== "string") return null;
  if ((env.type === "typing" || env.type === "call") && typeof env.payload.active !== "boolean") return null;
  return env;
}

// --- one peer connection ---------------------------------------------------------

class PeerLink {
  constructor(mesh, peer, initiator) {
    this.mesh = mesh;
    this.peer = peer; // {peer_id, account_id, name}
    this.polite = mesh.peerId < peer.peer_id; // contract: the smaller peer_id is polite
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.answerPending = false;
    this.channel = null;
    this.state = "connecting";
    this.rtt = null;
    this.closed = false;
    this.restarts = 0;
    this.signals = Promise.resolve(); // signals are applied one at a time, in order
    // The call on this link (see ephem_call.js): our transceivers, the peer's
    // `call` state, what we receive and its figures.
    this.media = { audio: null, video: null };
    this.callState = null;
    this.remoteStream = null;
    this.callStats = null;
    this.speakingUntil = 0;
    this.pc = new RTCPeerConnection({ iceServers: mesh.session.iceServers });
    this.pc.ontrack = (event) => mesh.call.onTrack(this, event);
    // Video quality can only be set on a negotiated sender.
    this.pc.onsignalingstatechange = () => this.pc.signalingState === "stable" && mesh.call.applyQuality(this);
    this.pc.onicecandidate = ({ candidate }) => this.send("candidate", candidate ? candidate.toJSON() : null);
    this.pc.onnegotiationneeded = () => this.offer();
    this.pc.onconnectionstatechange = () => this.onConnectionState();
    this.pc.ondatachannel = ({ channel }) => {
      if (channel.label === "ephem") this.attach(channel);
    };
    // A link that never opens is rebuilt rather than left hanging.
    this.openTimer = setTimeout(() => {
      if (!this.open) this.mesh.relink(this);
    }, CONNECT_TIMEOUT_MS);
    // Contract: the newcomer creates the channel, which makes it offer.
    if (initiator) this.attach(this.pc.createDataChannel("ephem", { ordered: true }));
  }

  async send(kind, data, attempt = 0) {
    if (this.closed) return;
    const ack = await this.mesh.session.call("signal", {
      enclave_id: this.mesh.enclaveId,
      to: this.peer.peer_id,
      kind,
      data,
    });
    // A refused signal would leave negotiation half done: retry what is worth it.
    if (!ack.ok && !this.closed && ack.error && ["rate_limited", "timeout"].includes(ack.error.code) && attempt < 5) {
      setTimeout(() => this.send(kind, data, attempt + 1), 500 * 2 ** attempt);
    }
  }

  async offer() {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const { type, sdp } = this.pc.localDescription;
      this.send("offer", { type, sdp });
    } catch (err) {
      console.warn("ephem: offer failed", err);
    } finally {
      this.makingOffer = false;
    }
  }

  onSignal(kind, data) {
    this.signals = this.signals.then(() => this.applySignal(kind, data)).catch((err) => {
      console.warn("ephem: signal failed", kind, err);
      // An offer this connection cannot take (the other side started over):
      // start over too, and answer it on a fresh connection.
      if (kind === "offer" && !this.closed) this.mesh.relink(this, { kind, data });
    });
  }

  // The "perfect negotiation" pattern: the impolite side ignores a colliding
  // offer, the polite side rolls back its own and answers.
  async applySignal(kind, data) {
    if (this.closed) return;
    if (kind === "offer" || kind === "answer") {
      const readyForOffer = !this.makingOffer && (this.pc.signalingState === "stable" || this.answerPending);
      const collision = data.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      this.answerPending = data.type === "answer";
      try {
        await this.pc.setRemoteDescription(data);
      } finally {
        this.answerPending = false;
      }
      if (data.type === "offer") {
        this.mesh.call.syncLink(this); // our media goes into this very answer
        await this.pc.setLocalDescription();
        const { type, sdp } = this.pc.localDescription;
        this.send("answer", { type, sdp });
      }
    } else if (kind === "candidate") {
      try {
        await this.pc.addIceCandidate(data || undefined);
      } catch (err) {
        if (!this.ignoreOffer) throw err;
      }
    }
  }

  attach(channel) {
    this.channel = channel;
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.onopen = () => {
      clearTimeout(this.openTimer);
      this.sendEnvelope("hello", { name: this.mesh.me.name });
      this.mesh.call.onLinkOpen(this);
      this.mesh.onLinkOpen(this);
    };
    channel.onmessage = ({ data }) => this.mesh.onFrame(this, data);
    channel.onbufferedamountlow = () => this.mesh.flush(this.peer.account_id);
    // The channel is the conversation: if it closes under a live link, start over.
    channel.onclose = () => {
      if (!this.closed) this.mesh.relink(this);
    };
    if (channel.readyState === "open") channel.onopen();
  }

  get open() {
    return !this.closed && this.channel !== null && this.channel.readyState === "open";
  }

  get writable() {
    return this.open && this.channel.bufferedAmount < HIGH_WATER;
  }

  sendEnvelope(type, payload) {
    return this.sendFrame(JSON.stringify(envelope(type, this.mesh.me.account_id, payload)));
  }

  sendFrame(frame) {
    if (!this.open) return false;
    try {
      this.channel.send(frame);
      return true;
    } catch (err) {
      return false;
    }
  }

  onConnectionState() {
    const state = this.pc.connectionState;
    if (state === "connected") {
      this.restarts = 0;
      this.refreshStats();
    } else if (state === "failed" || state === "disconnected") {
      this.state = "reconnecting";
      // A dropped path is restored with an ICE restart; after a few tries, start over.
      clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => this.restart(), state === "failed" ? 0 : 2500);
    } else if (state === "connecting" || state === "new") {
      this.state = this.state === "reconnecting" ? "reconnecting" : "connecting";
    }
    this.mesh.changed();
  }

  async restart() {
    if (this.closed || this.pc.connectionState === "connected") return;
    if (this.restarts >= 5) {
      this.mesh.relink(this);
      return;
    }
    this.restarts += 1;
    await this.mesh.session.freshIceServers();
    if (this.closed) return;
    this.pc.setConfiguration({ iceServers: this.mesh.session.iceServers });
    this.pc.restartIce();
  }

  async refreshStats() {
    if (this.closed || this.pc.connectionState !== "connected") return;
    try {
      const stats = await this.pc.getStats();
      let pair = null;
      stats.forEach((report) => {
        if (report.type === "transport" && report.selectedCandidatePairId) pair = stats.get(report.selectedCandidatePairId);
      });
      if (!pair) {
        stats.forEach((report) => {
          if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") pair = report;
        });
      }
      const local = pair && stats.get(pair.localCandidateId);
      const remote = pair && stats.get(pair.remoteCandidateId);
      const relayed = [local, remote].some((c) => c && c.candidateType === "relay");
      this.state = relayed ? "relayed" : "direct";
      this.rtt = pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime * 1000 : null;
    } catch (err) {
      this.state = "direct";
    }
    this.mesh.changed();
  }

  close() {
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.openTimer);
    try {
      if (this.channel) this.channel.close();
      this.pc.close();
    } catch (err) {
      /* already closed */
    }
  }
}

// --- the mesh of one enclave ----------------------------------------------------------

const PLACEHOLDER = "peer:"; // account id of a peer known only by its peer_id so far

class Mesh {
  constructor(session, enclaveId) {
    this.session = session;
    this.enclaveId = enclaveId;
    this.me = session.me;
    this.peerId = session.peerId;
    this.links = new Map(); // peer_id -> PeerLink
    this.accounts = new Map(); // account_id -> {name, outbox: [id], state, grace}
    this.messages = []; // in display order
    this.byId = new Map(); // id -> message
    this.seen = new Set();
    this.typing = new Map(); // account_id -> {name, until}
    this.listeners = new Set();
    this.history = false;
    this.lastTyping = 0;
    this.closed = false;
    this.call = new Call(this);
    this.statsTimer = setInterval(() => this.links.forEach((link) => link.refreshStats()), 3000);
    this.onPageHide = () => this.saveNow();
    window.addEventListener("pagehide", this.onPageHide);
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    if (this.closed) return;
    this.listeners.forEach((listener) => listener());
    this.call.changed();
    clearTimeout(this.reportTimer);
    this.reportTimer = setTimeout(() => this.report(), 50);
  }

  // Peer connection states and typing go up to Reflex; message text does not.
  report() {
    if (this.closed) return;
    const previous = this.lastReport;
    const peers = [];
    this.accounts.forEach((account, accountId) => {
      if (accountId === this.me.account_id || accountId.startsWith(PLACEHOLDER)) return;
      const links = [...this.links.values()].filter((l) => l.peer.account_id === accountId);
      const best = links.find((l) => l.state === "direct" || l.state === "relayed") || links[0];
      peers.push({
        account_id: accountId,
        name: account.name,
        state: account.state === "reconnecting" || account.state === "left" ? account.state : best ? best.state : account.state,
        rtt_ms: best && best.rtt !== null ? Math.round(best.rtt * 10) / 10 : -1,
        in_call: links.some((l) => l.open && l.callState && l.callState.active),
      });
    });
    const now = Date.now();
    const typing = [...this.typing.values()].filter((t) => t.until > now).map((t) => t.name);
    const report = { enclave_id: this.enclaveId, peers, typing, in_call: this.call.active };
    this.lastReport = JSON.stringify(report);
    if (this.lastReport !== previous) this.session.emitUp("mesh", report);
  }

  account(accountId, name) {
    let account = this.accounts.get(accountId);
    if (!account) {
      // `gone`: left the enclave for good, so no longer owed messages.
      account = { name: name || "…", outbox: [], state: "connecting", grace: null, gone: false };
      this.accounts.set(accountId, account);
    } else if (name) {
      account.name = name;
    }
    return account;
  }

  addPeer(peer, initiator) {
    if (peer.peer_id === this.peerId) return null;
    const existing = this.links.get(peer.peer_id);
    if (existing) {
      // Known only from its offer so far: the server's word on who it is wins.
      if (existing.peer.account_id.startsWith(PLACEHOLDER)) this.identify(existing, peer.account_id, peer.name);
      // Heard of through peer_joined, but our join says it was there first: we offer.
      if (initiator && !existing.channel) existing.attach(existing.pc.createDataChannel("ephem", { ordered: true }));
      return existing;
    }
    const account = this.account(peer.account_id, peer.name);
    clearTimeout(account.grace);
    account.grace = null;
    if (account.state === "left" || account.state === "reconnecting") account.state = "connecting";
    account.gone = false; // back (by a new invite, say): owed messages again
    const link = new PeerLink(this, peer, initiator);
    this.links.set(peer.peer_id, link);
    this.changed();
    return link;
  }

  identify(link, accountId, name) {
    const placeholder = link.peer.account_id;
    link.peer = { ...link.peer, account_id: accountId, name: name || link.peer.name };
    this.accounts.delete(placeholder);
    this.account(accountId, name);
    if (link.open) this.onLinkOpen(link);
  }

  removePeer(peerId, forGood = false) {
    const link = this.links.get(peerId);
    if (!link) return;
    link.close();
    this.links.delete(peerId);
    this.startGrace(link.peer.account_id, forGood);
    this.call.applyCrowd();
    this.changed();
  }

  // A link died but its peer is still in the room: build a fresh one. The
  // impolite side (larger peer_id) offers; the polite side waits for it, or
  // answers the offer that made it start over.
  relink(link, pendingOffer = null) {
    if (this.closed || link.closed || this.links.get(link.peer.peer_id) !== link) return;
    link.close();
    this.links.delete(link.peer.peer_id);
    const fresh = this.addPeer(link.peer, !link.polite && !pendingOffer);
    if (fresh && pendingOffer) fresh.onSignal(pendingOffer.kind, pendingOffer.data);
  }

  // Gone without a trace: "reconnecting" for a while, then shown as "left".
  // Only a member who left the enclave for good (`forGood`) stops being owed
  // messages; one who merely vanished keeps them queued, however long it
  // stays away, and gets them when it comes back (until then they show as
  // sent, not delivered).
  startGrace(accountId, forGood = false) {
    const stillHere = [...this.links.values()].some((l) => l.peer.account_id === accountId);
    const account = this.accounts.get(accountId);
    if (stillHere || !account || account.gone) return;
    this.typing.delete(accountId); // no link, no typing
    const shown = account.state === "left";
    if (shown && !forGood) return;
    if (account.grace && !forGood) return;
    clearTimeout(account.grace);
    if (!shown) account.state = "reconnecting";
    account.grace = setTimeout(() => {
      account.grace = null;
      if ([...this.links.values()].some((l) => l.peer.account_id === accountId)) return;
      account.state = "left";
      if (forGood) {
        account.gone = true;
        account.outbox = [];
        this.messages.forEach((m) => {
          if (m.mine && m.pending.delete(accountId)) this.settle(m);
        });
      }
      if (!shown) this.session.emitUp("peer_gone", { enclave_id: this.enclaveId, account_id: accountId, name: account.name });
      this.changed();
    }, forGood ? 0 : GRACE_MS);
    this.changed();
  }

  onSignal(from, kind, data) {
    let link = this.links.get(from);
    if (!link && kind === "offer") {
      // An offer can beat its peer_joined; who it is arrives with that, or its hello.
      link = this.addPeer({ peer_id: from, account_id: `${PLACEHOLDER}${from}`, name: "" }, false);
    }
    if (link) link.onSignal(kind, data);
  }

  onLinkOpen(link) {
    const accountId = link.peer.account_id;
    if (accountId.startsWith(PLACEHOLDER)) return; // wait until we know who it is
    const account = this.account(accountId);
    account.state = "open";
    // Everything this account has not acked goes (again) on the new channel, in
    // the order it was written; receivers drop duplicates by id. A message
    // written while nobody was there goes to everyone who arrives.
    this.messages.forEach((m) => {
      if (m.mine && m.unaddressed && !m.sentTo.has(accountId)) m.pending.add(accountId);
    });
    account.outbox = this.messages.filter((m) => m.mine && m.pending.has(accountId)).map((m) => m.id);
    this.flush(accountId);
    link.refreshStats();
    this.changed();
  }

  // Write the account's queue to its open channels, as far as the buffer allows.
  flush(accountId) {
    const account = this.accounts.get(accountId);
    if (!account) return;
    const links = [...this.links.values()].filter((l) => l.peer.account_id === accountId && l.open);
    if (!links.length) return;
    while (account.outbox.length && links.every((l) => l.writable)) {
      const message = this.byId.get(account.outbox[0]);
      if (message && message.envelope) {
        const frame = JSON.stringify(message.envelope);
        if (!links.map((l) => l.sendFrame(frame)).some(Boolean)) break;
        message.sentTo.add(accountId);
        if (message.status === "sending") message.status = "sent";
      }
      account.outbox.shift();
    }
    this.save();
    this.changed();
  }

  onFrame(link, raw) {
    const env = parseEnvelope(raw);
    if (!env) return;
    if (link.peer.account_id.startsWith(PLACEHOLDER)) {
      if (env.type !== "hello") return;
      this.identify(link, env.from, env.payload.name.slice(0, 64));
    }
    const sender = link.peer.account_id;
    if (env.from !== sender) return; // a peer speaks only for its own account
    if (env.type === "hello") {
      const name = env.payload.name.slice(0, 64);
      this.account(sender, name);
      link.peer.name = name;
      this.changed();
    } else if (env.type === "chat") {
      link.sendFrame(JSON.stringify(envelope("ack", this.me.account_id, { of: env.id })));
      if (this.seen.has(env.id)) return;
      this.remember(env.id);
      this.typing.delete(sender);
      this.append({
        id: env.id,
        ts: env.ts,
        from: sender,
        name: this.account(sender).name,
        text: env.payload.text,
        mine: false,
        status: "delivered",
        pending: new Set(),
        sentTo: new Set(),
      });
    } else if (env.type === "ack") {
      const message = this.byId.get(env.payload.of);
      if (message && message.mine && message.pending.delete(sender)) this.settle(message);
    } else if (env.type === "call") {
      this.call.onRemoteState(link, env.payload);
    } else if (env.type === "typing") {
      if (env.payload.active) this.typing.set(sender, { name: this.account(sender).name, until: Date.now() + TYPING_MS });
      else this.typing.delete(sender);
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => this.changed(), TYPING_MS + 50);
      this.changed();
    }
  }

  remember(id) {
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value);
  }

  settle(message) {
    if (message.pending.size === 0 && message.sentTo.size > 0) message.status = "delivered";
    this.save();
    this.changed();
  }

  append(message) {
    this.messages.push(message);
    this.byId.set(message.id, message);
    this.save();
    this.changed();
  }

  send(text) {
    const checked = checkText(text);
    if (!checked.ok) return checked;
    const clean = checked.text;
    const env = envelope("chat", this.me.account_id, { text: clean });
    const recipients = [...this.accounts.entries()]
      .filter(([id, a]) => id !== this.me.account_id && !id.startsWith(PLACEHOLDER) && !a.gone)
      .map(([id]) => id);
    const message = {
      id: env.id,
      ts: env.ts,
      from: this.me.account_id,
      name: this.me.name,
      text: clean,
      mine: true,
      status: "sending",
      pending: new Set(recipients),
      sentTo: new Set(),
      unaddressed: recipients.length === 0, // written while alone: for whoever arrives
      envelope: env,
    };
    this.remember(env.id);
    this.append(message);
    recipients.forEach((id) => this.accounts.get(id).outbox.push(env.id));
    recipients.forEach((id) => this.flush(id));
    this.setTyping(false);
    return { ok: true };
  }

  setTyping(active) {
    const now = Date.now();
    if (active && now - this.lastTyping < 2000) return; // refresh at most every 2 s
    if (!active && this.lastTyping === 0) return;
    this.lastTyping = active ? now : 0;
    this.broadcast("typing", { active });
  }

  // One envelope to every open link (not queued: for states, not messages).
  broadcast(type, payload) {
    const frame = JSON.stringify(envelope(type, this.me.account_id, payload));
    this.links.forEach((link) => link.sendFrame(frame));
  }

  // History stays in the browser: in this tab's sessionStorage, and only when asked.
  setHistory(keep) {
    const key = `ephem.history.${this.enclaveId}`;
    const wasOn = this.history;
    this.history = keep;
    if (!keep) {
      if (wasOn) storage.remove(key); // only an explicit switch-off forgets
      return;
    }
    if (this.messages.length === 0) this.restore(key);
    this.save();
    this.changed();
  }

  restore(key) {
    let stored = [];
    try {
      stored = JSON.parse(storage.get(key) || "[]");
    } catch (err) {
      storage.remove(key);
    }
    stored.forEach((m) => {
      if (!m || typeof m.id !== "string" || this.byId.has(m.id)) return;
      // Unacked messages of ours keep their envelope and go out again.
      const message = { ...m, pending: new Set(m.pending || []), sentTo: new Set(m.sentTo || []) };
      this.messages.push(message);
      this.byId.set(m.id, message);
      this.remember(m.id);
    });
  }

  // Debounced: saving 500 messages on every ack would be slow. A page being
  // left saves at once.
  save() {
    if (!this.history) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.saveNow(), 200);
  }

  saveNow() {
    clearTimeout(this.saveTimer);
    if (!this.history || this.closed) return;
    const keep = this.messages.slice(-HISTORY_MAX).map((m) => ({
      id: m.id,
      ts: m.ts,
      from: m.from,
      name: m.name,
      text: m.text,
      mine: m.mine,
      status: m.status,
      pending: [...m.pending],
      sentTo: [...m.sentTo],
      unaddressed: Boolean(m.unaddressed),
      envelope: m.mine && m.pending.size ? m.envelope : undefined,
    }));
    storage.set(`ephem.history.${this.enclaveId}`, JSON.stringify(keep));
  }

  // `keepCall`: the same enclave goes on over a new connection, and so does the call.
  close(keepCall = false) {
    this.saveNow();
    if (!keepCall) this.call.close();
    this.closed = true;
    window.removeEventListener("pagehide", this.onPageHide);
    clearInterval(this.statsTimer);
    clearTimeout(this.reportTimer);
    clearTimeout(this.typingTimer);
    this.links.forEach((link) => link.close());
    this.accounts.forEach((account) => clearTimeout(account.grace));
    this.links.clear();
    if (!keepCall && this.me) park(this);
  }
}

// The conversation of a mesh closed while the page lives on, for a minute:
// when the backend restarts, Reflex re-renders the page and its props pass
// through empty, which closed the mesh; the next one for the same account
// and enclave takes the conversation back (unsent messages included)
// instead of starting from nothing.
const PARKED_MS = 60000;
const parked = new Map();

function park(mesh) {
  const { messages, byId, seen, accounts } = mesh;
  if (!messages.length) return;
  const key = `${mesh.me.account_id} ${mesh.enclaveId}`;
  clearTimeout((parked.get(key) || {}).timer);
  // Its own timer: the text leaves memory after a minute, whatever else happens.
  const timer = setTimeout(() => parked.delete(key), PARKED_MS);
  parked.set(key, { timer, messages, byId, seen, accounts });
}

function unpark(accountId, enclaveId) {
  const key = `${accountId} ${enclaveId}`;
  const entry = parked.get(key);
  if (!entry) return null;
  clearTimeout(entry.timer);
  parked.delete(key);
  return entry;
}

// --- the socket and the session ----------------------------------------------------

export class EphemSession {
  constructor(token, emitUp) {
    this.token = token;
    this.up = emitUp;
    this.enclaveId = "";
    this.mesh = null;
    this.peerId = "";
    this.me = null;
    this.iceServers = [];
    this.iceFetchedAt = 0;
    this.videoCrowd = VIDEO_CROWD;
    this.closed = false;
    this.meshListeners = new Set();
    this.early = []; // texts written before the mesh opened
    this.ready = null; // resolves once hello (and the ICE servers) are in, per connection
    this.socket = io(`${backendOrigin()}/ephem`, {
      path: "/_event",
      transports: ["websocket"],
      auth: { token },
      reconnectionDelayMax: 5000,
    });
    this.socket.on("connect", () => {
      this.ready = this.onConnect();
    });
    this.socket.on("disconnect", (reason) => {
      this.emitUp("disconnected", { reason });
      // Our peer_id dies with the socket; peers go to "reconnecting".
      if (this.mesh) [...this.mesh.links.keys()].forEach((peerId) => this.mesh.removePeer(peerId));
    });
    this.socket.on("connect_error", (err) => {
      const data = err && err.data ? err.data : { code: "unreachable", message: String(err && err.message) };
      if (data.code === "invalid_token") this.socket.disconnect(); // retrying cannot help
      // Refused by the server for now (too many tabs, busy): socket.io does not
      // retry a refusal by itself, so try again a little later.
      else if (err && err.data) setTimeout(() => !this.closed && !this.socket.connected && this.socket.connect(), REFUSED_RETRY_MS);
      this.emitUp("connect_error", data);
    });
    // Signed out of this session (in another tab, say): the token is dead, as
    // a refused connect would say; the page goes back to the sign-in.
    this.socket.on("session_ended", (data) => {
      this.emitUp("connect_error", (data && data.error) || { code: "invalid_token", message: "Signed out." });
      this.socket.disconnect();
    });
    for (const name of SERVER_EVENTS) {
      this.socket.on(name, (data) => this.onServerEvent(name, data || {}));
    }
    this.socket.on("signal", (data) => {
      if (this.mesh && data && data.enclave_id === this.enclaveId) this.mesh.onSignal(data.from, data.kind, data.data);
    });
  }

  emitUp(kind, data) {
    if (!this.closed) this.up(kind, data);
  }

  async onConnect() {
    const hello = await this.call("hello", {});
    if (this.closed) return;
    if (hello.ok) {
      this.peerId = hello.peer_id;
      this.me = { account_id: hello.account.id, name: hello.account.name };
      await this.freshIceServers(true);
    }
    this.emitUp("connected", hello);
    // A new connection has a new peer_id: (re)build the mesh from the join.
    if (this.enclaveId && this.me) await this.join(this.enclaveId);
  }

  async freshIceServers(force = false) {
    if (!force && Date.now() - this.iceFetchedAt < ICE_REFRESH_MS) return;
    try {
      const response = await fetch(`${backendOrigin()}/api/ice-servers`, {
        headers: { Authorization: `Bearer ${this.token}` },
      });
      if (response.ok) {
        this.iceServers = (await response.json()).ice_servers || [];
        this.iceFetchedAt = Date.now();
      }
    } catch (err) {
      /* keep what we had */
    }
  }

  call(event, payload) {
    return new Promise((resolve) => {
      this.socket.timeout(10000).emit(event, payload, (err, ack) => {
        resolve(err ? { ok: false, error: { code: "timeout", message: "The server did not answer." } } : ack);
      });
    });
  }

  onServerEvent(name, data) {
    if (this.mesh && data.enclave_id === this.enclaveId) {
      if (name === "peer_joined" && data.peer) this.mesh.addPeer(data.peer, false);
      // A member who left for good goes at once; a dropped connection gets a grace period.
      if (name === "peer_left") this.mesh.removePeer(data.peer_id, data.reason === "left");
      // Left (or deleted) while not connected: owed nothing more all the same.
      if (name === "member_left" && data.account_id !== this.me.account_id) this.mesh.startGrace(data.account_id, true);
    }
    this.emitUp(name, data);
  }

  openMesh(enclaveId) {
    if (this.mesh && this.mesh.enclaveId === enclaveId && this.mesh.peerId === this.peerId) return this.mesh;
    const previous = this.mesh;
    const same = Boolean(previous && previous.enclaveId === enclaveId);
    if (previous) previous.close(same);
    this.mesh = new Mesh(this, enclaveId);
    // Same enclave, new connection: keep the conversation, its queues and the
    // call; or take back a conversation parked a moment ago (see park).
    const carried = same ? previous : unpark(this.me.account_id, enclaveId);
    if (carried) {
      ["messages", "byId", "seen", "accounts"].forEach((k) => (this.mesh[k] = carried[k]));
      if (same) {
        this.mesh.history = previous.history;
        this.mesh.call = previous.call;
        this.mesh.call.mesh = this.mesh;
      }
      this.mesh.accounts.forEach((account, id) => {
        account.grace = null;
        if (account.state !== "left" && id !== this.me.account_id) this.mesh.startGrace(id);
      });
    }
    const early = this.early.splice(0);
    early.forEach((text) => this.mesh.send(text));
    this.meshListeners.forEach((listener) => listener(this.mesh));
    return this.mesh;
  }

  async join(enclaveId) {
    await this.freshIceServers();
    const ack = await this.call("join", { enclave_id: enclaveId });
    if (this.closed) return ack;
    if (ack.ok && enclaveId !== this.enclaveId) {
      this.call("leave", { enclave_id: enclaveId }); // moved on meanwhile
      return ack;
    }
    if (ack.ok) {
      const mesh = this.openMesh(enclaveId);
      // The newcomer offers to everyone already there.
      (ack.peers || []).forEach((peer) => mesh.addPeer(peer, true));
      mesh.changed();
    }
    this.emitUp("joined", { enclave_id: enclaveId, ...ack });
    return ack;
  }

  async setEnclave(enclaveId) {
    if (enclaveId === this.enclaveId) return;
    const previous = this.enclaveId;
    this.enclaveId = enclaveId;
    if (this.mesh && this.mesh.enclaveId !== enclaveId) {
      this.mesh.close();
      this.mesh = null;
      this.meshListeners.forEach((listener) => listener(null));
    }
    if (!this.socket.connected || !this.ready) return; // onConnect joins
    await this.ready;
    if (this.closed || !this.me || this.enclaveId !== enclaveId) return;
    if (previous) await this.call("leave", { enclave_id: previous });
    if (enclaveId) await this.join(enclaveId);
  }

  send(text) {
    if (this.mesh) return this.mesh.send(text);
    const checked = checkText(text);
    if (!checked.ok) return checked;
    this.early.push(checked.text);
    this.meshListeners.forEach((listener) => listener(this.mesh));
    return { ok: true };
  }

  async run(command) {
    const { seq, nonce, op, ...args } = command;
    if (op === "selftest") return this.selfTest(seq);
    const ack = await this.call(op, args);
    this.emitUp("ack", { seq, op, ...ack });
    return ack;
  }

  async selfTest(seq) {
    const started = performance.now();
    const ack = await this.call("echo", { probe: started });
    const echoMs = ack.ok ? Math.round((performance.now() - started) * 10) / 10 : -1;
    if (this.mesh) await Promise.all([...this.mesh.links.values()].map((link) => link.refreshStats()));
    this.emitUp("selftest", { seq, echo_ms: echoMs, ok: Boolean(ack.ok) });
  }

  close() {
    this.closed = true;
    if (this.mesh) this.mesh.close();
    this.socket.disconnect();
  }
}

// --- React ---------------------------------------------------------------------------

const styles = {
  panel: { display: "flex", flexDirection: "column", gap: "0.5rem", width: "100%" },
  list: {
    display: "flex",
    flexDirection: "column",
    gap: "0.4rem",
    maxHeight: "55vh",
    minHeight: "8rem",
    overflowY: "auto",
    padding: "0.5rem",
    border: "1px solid var(--gray-a5)",
    borderRadius: "var(--radius-3)",
  },
  bubble: (mine) => ({
    alignSelf: mine ? "flex-end" : "flex-start",
    maxWidth: "85%",
    padding: "0.4rem 0.7rem",
    borderRadius: "var(--radius-4)",
    background: mine ? "var(--accent-4)" : "var(--gray-3)",
    color: "var(--gray-12)",
  }),
  meta: { fontSize: "0.7rem", color: "var(--gray-11)", display: "flex", gap: "0.4rem", alignItems: "baseline" },
  text: { whiteSpace: "pre-wrap", overflowWrap: "anywhere", fontSize: "0.95rem" },
  form: { display: "flex", gap: "0.5rem", alignItems: "flex-end" },
  input: {
    flex: 1,
    resize: "none",
    font: "inherit",
    padding: "0.5rem 0.6rem",
    borderRadius: "var(--radius-3)",
    border: "1px solid var(--gray-a7)",
    background: "var(--color-surface)",
    color: "var(--gray-12)",
    minHeight: "2.5rem",
    maxHeight: "8rem",
  },
  button: {
    padding: "0.55rem 1rem",
    borderRadius: "var(--radius-3)",
    border: "none",
    background: "var(--accent-9)",
    color: "var(--accent-contrast)",
    font: "inherit",
    cursor: "pointer",
  },
  empty: { color: "var(--gray-11)", fontSize: "0.85rem", textAlign: "center", margin: "auto" },
  error: { color: "var(--red-11)", fontSize: "0.8rem" },
};

const STATUS_MARK = { sending: "◷ sending", sent: "✓ sent", delivered: "✓✓ delivered" };

function ChatMessage({ message }) {
  const time = new Date(message.ts);
  const shown = isNaN(time) ? "" : time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return h(
    "div",
    {
      "data-testid": "chat-message",
      "data-status": message.status,
      "data-mine": String(message.mine),
      style: styles.bubble(message.mine),
    },
    h(
      "div",
      { style: styles.meta },
      h("bdi", { style: { fontWeight: 600 } }, message.mine ? "You" : message.name),
      h("time", { dateTime: message.ts }, shown),
      message.mine ? h("span", { "aria-label": message.status }, STATUS_MARK[message.status] || message.status) : null,
    ),
    h("div", { dir: "auto", style: styles.text }, message.text),
  );
}

// The enclave's call and chat, over whichever mesh the session has now.
function Room({ session, keepHistory }) {
  const [mesh, setMesh] = useState(session.mesh);
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = (next) => {
      setMesh(next);
      setVersion((v) => v + 1);
    };
    session.meshListeners.add(listener);
    setMesh(session.mesh);
    return () => session.meshListeners.delete(listener);
  }, [session]);
  return h(
    "div",
    { style: styles.panel },
    h(CallPanel, { mesh }),
    h(ChatPanel, { session, mesh, keepHistory }),
  );
}

function ChatPanel({ session, mesh, keepHistory }) {
  const [, setVersion] = useState(0);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState("");
  const list = useRef(null);

  useEffect(() => {
    if (!mesh) return undefined;
    mesh.setHistory(Boolean(keepHistory));
    return mesh.subscribe(() => setVersion((v) => v + 1));
  }, [mesh, keepHistory]);

  const count = mesh ? mesh.messages.length : 0;
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [count]);

  const submit = () => {
    const result = session.send(draft);
    if (result.ok) {
      setDraft("");
      setError("");
    } else if (result.error !== "empty") {
      setError(result.error);
    }
  };

  // Written before the enclave's mesh exists (right after a load): shown as
  // sending, handed to the mesh as soon as it opens.
  const early = session.early.map((text, i) => ({
    id: `early-${i}`, ts: new Date().toISOString(), name: "You", text, mine: true, status: "sending",
  }));
  const messages = [...(mesh ? mesh.messages : []), ...early];
  return h(
    "div",
    { style: styles.panel },
    h(
      "div",
      { ref: list, style: styles.list, role: "log", "aria-live": "polite", "aria-label": "Messages" },
      messages.length === 0
        ? h("p", { style: styles.empty }, "No messages yet. They go straight to the others, never through our server.")
        : messages.map((m) => h(ChatMessage, { key: m.id, message: m })),
    ),
    h(
      "form",
      {
        style: styles.form,
        onSubmit: (e) => {
          e.preventDefault();
          submit();
        },
      },
      h("textarea", {
        "data-testid": "chat-input",
        "aria-label": "Message",
        placeholder: "Write a message…",
        title: "Enter sends, Shift+Enter starts a new line",
        dir: "auto",
        rows: 1,
        // A hard stop only: the box counts UTF-16 units, and an emoji is two of
        // them; the 4,000 characters are counted on send (checkText).
        maxLength: 2 * MAX_TEXT,
        value: draft,
        style: styles.input,
        onChange: (e) => {
          setDraft(e.target.value);
          if (mesh) mesh.setTyping(e.target.value.trim().length > 0);
        },
        onKeyDown: (e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            submit();
          }
        },
        onBlur: () => mesh && mesh.setTyping(false),
      }),
      h("button", { type: "submit", "data-testid": "chat-send", style: styles.button }, "Send"),
    ),
    error ? h("div", { role: "alert", style: styles.error }, error) : null,
  );
}

// Rendered once per page. Without `showChat` it draws nothing; with it, the
// enclave's call and chat. `videoCrowd`: above this many cameras a call sends
// lower-resolution video.
export function EphemClient({ token, enclaveId, command, showChat, keepHistory, videoCrowd, onEvent }) {
  const up = useRef(onEvent);
  up.current = onEvent;
  const [session, setSession] = useState(null);

  useEffect(() => {
    if (!token) return undefined;
    const created = new EphemSession(token, (kind, data) => up.current && up.current(kind, data));
    created.setEnclave(enclaveId || "");
    setSession(created);
    return () => {
      setSession(null);
      created.close();
    };
  }, [token]);

  useEffect(() => {
    if (session) session.setEnclave(enclaveId || "");
  }, [session, enclaveId]);

  // A command runs once per tab, even when a page remounts or reloads with the
  // same state: its nonce is remembered in sessionStorage.
  useEffect(() => {
    if (!session || !command || !command.nonce) return;
    if (storage.get("ephem.command") === command.nonce) return;
    storage.set("ephem.command", command.nonce);
    session.run(command);
  }, [session, command && command.nonce]);

  useEffect(() => {
    if (!session) return;
    session.videoCrowd = videoCrowd || VIDEO_CROWD;
    if (session.mesh) session.mesh.call.applyCrowd();
  }, [session, videoCrowd]);

  if (!showChat || !session) return null;
  return h(Room, { session, keepHistory });
}
