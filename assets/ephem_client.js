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

const SERVER_EVENTS = ["matched", "peer_joined", "peer_left", "stats", "search_failed"];
const MAX_TEXT = 4000; // characters in one chat message (contract)
const MAX_FRAME = 64 * 1024; // bytes in one envelope, both ways
const HIGH_WATER = 1024 * 1024; // stop writing to a channel above this bufferedAmount
const LOW_WATER = 256 * 1024; // and resume below this
const GRACE_MS = 20000; // a vanished peer shows "reconnecting" this long before "left"
const TYPING_MS = 6000; // a typing flag without refresh expires after this
const SEEN_MAX = 5000; // received ids remembered for duplicate detection
const HISTORY_MAX = 500; // messages kept in the tab when history is on

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
  if (env.type === "chat" && (typeof env.payload.text !== "string" || env.payload.text.length > MAX_TEXT)) return null;
  if (env.type === "ack" && typeof env.payload.of !== "string") return null;
  if (env.type === "hello" && typeof env.payload.name !== "string") return null;
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
    this.pc = new RTCPeerConnection({ iceServers: mesh.iceServers });
    this.pc.onicecandidate = ({ candidate }) =>
      this.send("candidate", candidate ? candidate.toJSON() : null);
    this.pc.onnegotiationneeded = () => this.offer();
    this.pc.onconnectionstatechange = () => this.onConnectionState();
    this.pc.ondatachannel = ({ channel }) => {
      if (channel.label === "ephem") this.attach(channel);
    };
    // Contract: the newcomer creates the channel, which makes it offer.
    if (initiator) this.attach(this.pc.createDataChannel("ephem", { ordered: true }));
  }

  send(kind, data) {
    if (this.closed) return;
    this.mesh.socket.call("signal", { enclave_id: this.mesh.enclaveId, to: this.peer.peer_id, kind, data });
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
      await this.pc.setRemoteDescription(data);
      this.answerPending = false;
      if (data.type === "offer") {
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
      this.restarts = 0;
      this.sendFrame(JSON.stringify(envelope("hello", this.mesh.me.account_id, { name: this.mesh.me.name })));
      this.mesh.onLinkOpen(this);
    };
    channel.onmessage = ({ data }) => this.mesh.onFrame(this, data);
    channel.onbufferedamountlow = () => this.mesh.flush(this.peer.account_id);
    channel.onclose = () => this.mesh.changed();
    if (channel.readyState === "open") channel.onopen();
  }

  get open() {
    return !this.closed && this.channel !== null && this.channel.readyState === "open";
  }

  get writable() {
    return this.open && this.channel.bufferedAmount < HIGH_WATER;
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
      this.refreshStats();
    } else if (state === "failed" || state === "disconnected") {
      this.state = "reconnecting";
      // A dropped path is restored with an ICE restart; give up after a few tries.
      clearTimeout(this.restartTimer);
      this.restartTimer = setTimeout(() => this.restart(), state === "failed" ? 0 : 2500);
    } else if (state === "connecting" || state === "new") {
      this.state = this.state === "reconnecting" ? "reconnecting" : "connecting";
    }
    this.mesh.changed();
  }

  restart() {
    if (this.closed || this.pc.connectionState === "connected") return;
    if (this.restarts >= 5) {
      this.state = "failed";
      this.mesh.changed();
      return;
    }
    this.restarts += 1;
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
    try {
      if (this.channel) this.channel.close();
      this.pc.close();
    } catch (err) {
      /* already closed */
    }
  }
}

// --- the mesh of one enclave ----------------------------------------------------------

class Mesh {
  constructor(session, enclaveId) {
    this.session = session;
    this.socket = session;
    this.enclaveId = enclaveId;
    this.me = session.me;
    this.peerId = session.peerId;
    this.iceServers = session.iceServers;
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
    this.statsTimer = setInterval(() => this.links.forEach((link) => link.refreshStats()), 3000);
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    if (this.closed) return;
    this.listeners.forEach((listener) => listener());
    clearTimeout(this.reportTimer);
    this.reportTimer = setTimeout(() => this.report(), 50);
  }

  // Peer connection states and typing go up to Reflex; message text does not.
  report() {
    if (this.closed) return;
    const previous = this.lastReport;
    const peers = [];
    this.accounts.forEach((account, accountId) => {
      if (accountId === this.me.account_id) return;
      const links = [...this.links.values()].filter((l) => l.peer.account_id === accountId);
      const best = links.find((l) => l.state === "direct" || l.state === "relayed") || links[0];
      peers.push({
        account_id: accountId,
        name: account.name,
        state: account.state === "reconnecting" ? "reconnecting" : best ? best.state : account.state,
        rtt_ms: best && best.rtt !== null ? Math.round(best.rtt * 10) / 10 : -1,
      });
    });
    const now = Date.now();
    const typing = [...this.typing.values()].filter((t) => t.until > now).map((t) => t.name);
    const report = { enclave_id: this.enclaveId, peers, typing };
    this.lastReport = JSON.stringify(report);
    if (this.lastReport !== previous) this.session.emitUp("mesh", report);
  }

  account(accountId, name) {
    let account = this.accounts.get(accountId);
    if (!account) {
      account = { name: name || "…", outbox: [], state: "connecting", grace: null };
      this.accounts.set(accountId, account);
    } else if (name) {
      account.name = name;
    }
    return account;
  }

  addPeer(peer, initiator) {
    if (peer.peer_id === this.peerId || this.links.has(peer.peer_id)) return this.links.get(peer.peer_id);
    const account = this.account(peer.account_id, peer.name);
    clearTimeout(account.grace);
    account.grace = null;
    if (account.state === "left") account.state = "connecting";
    const link = new PeerLink(this, peer, initiator);
    this.links.set(peer.peer_id, link);
    this.changed();
    return link;
  }

  removePeer(peerId, gone = false) {
    const link = this.links.get(peerId);
    if (!link) return;
    link.close();
    this.links.delete(peerId);
    this.startGrace(link.peer.account_id, gone ? 0 : GRACE_MS);
    this.changed();
  }

  // Gone without a trace yet: "reconnecting" for a while, then "left".
  startGrace(accountId, graceMs = GRACE_MS) {
    const stillHere = [...this.links.values()].some((l) => l.peer.account_id === accountId);
    const account = this.accounts.get(accountId);
    if (stillHere || !account || (account.grace && graceMs > 0)) return;
    clearTimeout(account.grace);
    account.state = "reconnecting";
    account.grace = setTimeout(() => {
      account.grace = null;
      if ([...this.links.values()].some((l) => l.peer.account_id === accountId)) return;
      account.state = "left";
      account.outbox = [];
      this.typing.delete(accountId);
      // Nobody can ack for them any more.
      this.messages.forEach((m) => {
        if (m.mine && m.pending.delete(accountId)) this.settle(m);
      });
      this.session.emitUp("peer_gone", { enclave_id: this.enclaveId, account_id: accountId, name: account.name });
      this.changed();
    }, graceMs);
  }

  onSignal(from, kind, data) {
    let link = this.links.get(from);
    if (!link && kind === "offer") {
      // An offer can beat its peer_joined; who it is arrives in its hello.
      link = this.addPeer({ peer_id: from, account_id: `peer:${from}`, name: "" }, false);
    }
    if (link) link.onSignal(kind, data);
  }

  onLinkOpen(link) {
    const account = this.account(link.peer.account_id);
    account.state = "open";
    // Whatever this account has not acknowledged goes (again) on the new channel;
    // receivers drop duplicates by id.
    const queued = new Set(account.outbox);
    this.messages.forEach((m) => {
      if (m.mine && m.pending.has(link.peer.account_id) && !queued.has(m.id)) account.outbox.push(m.id);
    });
    this.messages.forEach((m) => {
      if (m.mine && m.orphan) {
        m.orphan = false;
        m.pending.add(link.peer.account_id);
        account.outbox.push(m.id);
      }
    });
    this.flush(link.peer.account_id);
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
      if (message) {
        const frame = JSON.stringify(message.envelope);
        if (!links.map((l) => l.sendFrame(frame)).some(Boolean)) break;
        if (message.status === "sending") message.status = "sent";
      }
      account.outbox.shift();
    }
    this.changed();
  }

  onFrame(link, raw) {
    const env = parseEnvelope(raw);
    if (!env) return;
    // Until the hello arrives, a peer that offered first is known by peer_id only.
    if (link.peer.account_id.startsWith("peer:") && env.type === "hello") {
      const placeholder = link.peer.account_id;
      link.peer = { ...link.peer, account_id: env.from, name: env.payload.name };
      this.accounts.delete(placeholder);
      this.onLinkOpen(link);
    }
    const sender = link.peer.account_id;
    if (env.from !== sender) return; // a peer speaks only for its own account
    if (env.type === "hello") {
      this.account(sender, env.payload.name.slice(0, 64));
      link.peer.name = env.payload.name.slice(0, 64);
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
      });
    } else if (env.type === "ack") {
      const message = this.byId.get(env.payload.of);
      if (message && message.mine && message.pending.delete(sender)) this.settle(message);
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
    if (message.pending.size === 0) {
      // Never sent and its recipients are gone: it waits for whoever comes next.
      if (message.status === "sending") message.orphan = true;
      else message.status = "delivered";
    }
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
    const clean = (text || "").trim();
    if (!clean) return { ok: false, error: "empty" };
    if (clean.length > MAX_TEXT) return { ok: false, error: `Messages are limited to ${MAX_TEXT} characters.` };
    const env = envelope("chat", this.me.account_id, { text: clean });
    const recipients = [...this.accounts.entries()]
      .filter(([id, a]) => id !== this.me.account_id && !id.startsWith("peer:") && a.state !== "left")
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
      orphan: recipients.length === 0, // goes to whoever connects next
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
    const frame = JSON.stringify(envelope("typing", this.me.account_id, { active }));
    this.links.forEach((link) => link.sendFrame(frame));
  }

  // History stays in the browser: in this tab's sessionStorage, and only when asked.
  setHistory(keep) {
    this.history = keep;
    const key = `ephem.history.${this.enclaveId}`;
    if (!keep) {
      sessionStorage.removeItem(key);
      return;
    }
    if (this.messages.length === 0) {
      try {
        const stored = JSON.parse(sessionStorage.getItem(key) || "[]");
        stored.forEach((m) => {
          if (!this.byId.has(m.id)) {
            const message = { ...m, pending: new Set(), orphan: false, restored: true };
            if (message.status === "sending") message.status = "sent";
            this.messages.push(message);
            this.byId.set(m.id, message);
            this.remember(m.id);
          }
        });
      } catch (err) {
        sessionStorage.removeItem(key);
      }
    }
    this.save();
    this.changed();
  }

  save() {
    if (!this.history) return;
    const keep = this.messages.slice(-HISTORY_MAX).map(({ id, ts, from, name, text, mine, status }) => ({
      id, ts, from, name, text, mine, status,
    }));
    try {
      sessionStorage.setItem(`ephem.history.${this.enclaveId}`, JSON.stringify(keep));
    } catch (err) {
      /* storage full: history is best effort */
    }
  }

  close() {
    this.closed = true;
    clearInterval(this.statsTimer);
    clearTimeout(this.reportTimer);
    this.links.forEach((link) => link.close());
    this.accounts.forEach((account) => clearTimeout(account.grace));
    this.links.clear();
  }
}

// --- the socket and the session ----------------------------------------------------

export class EphemSession {
  constructor(token, emitUp) {
    this.token = token;
    this.emitUp = emitUp;
    this.enclaveId = "";
    this.mesh = null;
    this.peerId = "";
    this.me = null;
    this.iceServers = [];
    this.closed = false;
    this.meshListeners = new Set();
    this.socket = io(`${backendOrigin()}/ephem`, {
      path: "/_event",
      transports: ["websocket"],
      auth: { token },
      reconnectionDelayMax: 5000,
    });
    this.socket.on("connect", () => this.onConnect());
    this.socket.on("disconnect", (reason) => {
      this.emitUp("disconnected", { reason });
      // Our peer_id dies with the socket; peers go to "reconnecting".
      if (this.mesh) this.mesh.links.forEach((link, peerId) => this.mesh.removePeer(peerId));
    });
    this.socket.on("connect_error", (err) => {
      const data = err && err.data ? err.data : { code: "unreachable", message: String(err && err.message) };
      if (data.code === "invalid_token") this.socket.disconnect(); // retrying cannot help
      this.emitUp("connect_error", data);
    });
    for (const name of SERVER_EVENTS) {
      this.socket.on(name, (data) => this.onServerEvent(name, data || {}));
    }
    this.socket.on("signal", (data) => {
      if (this.mesh && data && data.enclave_id === this.enclaveId) this.mesh.onSignal(data.from, data.kind, data.data);
    });
  }

  async onConnect() {
    const hello = await this.call("hello", {});
    if (hello.ok) {
      this.peerId = hello.peer_id;
      this.me = { account_id: hello.account.id, name: hello.account.name };
      await this.loadIceServers();
    }
    this.emitUp("connected", hello);
    // A new connection has a new peer_id: (re)build the mesh from the join.
    if (this.enclaveId) await this.join(this.enclaveId);
  }

  async loadIceServers() {
    try {
      const response = await fetch(`${backendOrigin()}/api/ice-servers`, {
        headers: { Authorization: `Bearer ${this.token}` },
      });
      if (response.ok) this.iceServers = (await response.json()).ice_servers || [];
    } catch (err) {
      this.iceServers = [];
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
    }
    this.emitUp(name, data);
  }

  openMesh(enclaveId) {
    if (this.mesh && this.mesh.enclaveId === enclaveId && this.mesh.peerId === this.peerId) return this.mesh;
    const previous = this.mesh;
    if (previous) previous.close();
    this.mesh = new Mesh(this, enclaveId);
    if (previous && previous.enclaveId === enclaveId) {
      // Same enclave, new connection: keep the conversation and its queues.
      ["messages", "byId", "seen", "accounts", "history"].forEach((k) => (this.mesh[k] = previous[k]));
      this.mesh.accounts.forEach((account, id) => {
        account.grace = null;
        this.mesh.startGrace(id);
      });
    }
    this.meshListeners.forEach((listener) => listener(this.mesh));
    return this.mesh;
  }

  async join(enclaveId) {
    const ack = await this.call("join", { enclave_id: enclaveId });
    if (ack.ok && enclaveId === this.enclaveId) {
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
    if (!this.socket.connected) return; // onConnect joins
    if (previous) await this.call("leave", { enclave_id: previous });
    if (enclaveId) await this.join(enclaveId);
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

function ChatPanel({ session, keepHistory }) {
  const [mesh, setMesh] = useState(session.mesh);
  const [, setVersion] = useState(0);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState("");
  const list = useRef(null);

  useEffect(() => {
    session.meshListeners.add(setMesh);
    setMesh(session.mesh);
    return () => session.meshListeners.delete(setMesh);
  }, [session]);

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
    if (!mesh) {
      setError("Still connecting…");
      return;
    }
    const result = mesh.send(draft);
    if (result.ok) {
      setDraft("");
      setError("");
    } else if (result.error !== "empty") {
      setError(result.error);
    }
  };

  const messages = mesh ? mesh.messages : [];
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
        maxLength: MAX_TEXT,
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

// Rendered once per page. Without `showChat` it draws nothing.
export function EphemClient({ token, enclaveId, command, showChat, keepHistory, onEvent }) {
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
    if (sessionStorage.getItem("ephem.command") === command.nonce) return;
    sessionStorage.setItem("ephem.command", command.nonce);
    session.run(command);
  }, [session, command && command.nonce]);

  if (!showChat || !session) return null;
  return h(ChatPanel, { session, keepHistory });
}
