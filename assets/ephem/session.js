// The session of one page: one Socket.IO connection to `/ephem` (presence,
// matchmaking, signaling), its reconnects, and the mesh of the enclave the
// page is in. With mesh.js the twin of ephem/peer/client.py.
//
// The mesh outlives the socket: when it drops (the server restarts, say),
// open links keep carrying the chat and only signaling waits; back on a new
// connection (a new peer_id) the session joins again and the mesh re-keys
// the links it kept (rekey.js) instead of rebuilding them.

import { io } from "socket.io-client";
import { backendOrigin } from "./backend.js";
import { checkText } from "./envelope.js";
import { sanitizeIceServers } from "./ice_config.js";
import { probeIceServers } from "./ice_probe.js";
import { Mesh, parking } from "./mesh.js";
import { paying } from "./pow.js";

const SERVER_EVENTS = ["matched", "peer_joined", "peer_left", "member_left", "stats", "search_failed", "removed"];
const REFUSED_RETRY_MS = 10000; // a connection the server refused is tried again after this
const ICE_REFRESH_MS = 20 * 60 * 1000; // TURN credentials are short-lived: refetch well before expiry
const ICE_FETCH_TIMEOUT_MS = 5000; // a fetch of the ICE servers that takes longer keeps what we had
const RECONNECT_MAX_MS = 2000; // longest wait between reconnect attempts: back soon after the server is
// A session whose component unmounted waits this long for the next one to
// take it back: when the backend restarts, Reflex's fresh state re-renders
// the page from a spinner, and the links must not die with that render.
const PARKED_SESSION_MS = 15000;
// A socket that does not echo within this is taken for dead (its address
// went away under it: TCP would notice only after the ping timeout).
const SOCKET_CHECK_MS = 1500;
const REJOIN_MS = 3000; // a join the server could not take now is tried again after this
const parkedSessions = new Map(); // token -> {session, timer}

export class EphemSession {
  constructor(token, emitUp, lang = "") {
    this.token = token;
    this.lang = lang; // the page's language: acks, refusals and pushed errors come in it
    this.up = emitUp;
    this.enclaveId = "";
    this.mesh = null;
    this.peerId = "";
    this.me = null;
    this.iceServers = [];
    this.iceFetchedAt = 0;
    this.videoCrowd = 0; // EPHEM_CALL_VIDEO_CROWD, from the page
    this.closed = false;
    this.meshListeners = new Set();
    this.early = []; // texts written before the mesh opened
    // enclave_id -> the composer's unsent text: the page remounts the room when
    // its Reflex state comes back (a backend restart), and a draft must outlive that.
    this.drafts = new Map();
    this.hello = null; // the hello ack of the current connection
    this.room = new Map(); // peer_id -> Peer: the others in the enclave's room, as the server said
    this.inRoom = false; // joined the enclave on the current connection
    this.outage = false; // the socket dropped and we are not back in the room yet
    this.joining = 0; // joins on their way: signals wait for their acks (`held`)
    this.held = [];
    this.ready = null; // resolves once hello (and the ICE servers) are in, per connection
    this.socket = io(`${backendOrigin()}/ephem`, {
      path: "/_event",
      transports: ["websocket"],
      // A function: each reconnect names the language the page has then.
      auth: (send) => send(this.lang ? { token, lang: this.lang } : { token }),
      reconnectionDelayMax: RECONNECT_MAX_MS,
    });
    this.socket.on("connect", () => {
      this.ready = this.onConnect();
    });
    this.socket.on("disconnect", (reason) => {
      // Our peer_id dies with the socket, and so does the room; the links do not.
      this.inRoom = false;
      this.outage = true;
      this.room.clear();
      this.emitUp("disconnected", { reason });
      if (this.mesh) this.mesh.signalingLost();
      this.meshListeners.forEach((listener) => listener(this.mesh));
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
    this.socket.on("signal", (data) => this.onSignal(data));
    this.socket.on("relay", (data) => {
      if (this.mesh && data && data.enclave_id === this.enclaveId) this.mesh.relay.onFrame(data);
    });
  }

  // A link's path went down, or the browser went offline/online: is our
  // socket still alive? One echo at a time; a silent one is replaced.
  async checkSocket() {
    if (this.closed || this.checking || !this.socket.connected) return;
    this.checking = true;
    const socket = this.socket.id;
    try {
      const ack = await this.call("echo", { probe: Date.now() }, SOCKET_CHECK_MS);
      if (!ack.ok && ack.error.code === "timeout" && this.socket.connected && this.socket.id === socket) this.reconnect("it did not answer");
    } finally {
      this.checking = false;
    }
  }

  // The page's addresses changed (netwatch.js). One gone: the socket and
  // the links' paths likely went with it, so a new socket at once and an ICE
  // restart on every link; only new ones: ask the socket, ICE finds its way.
  networkMoved(gone, added) {
    if (this.closed) return;
    console.info(`ephem: network addresses changed: gone ${[...gone]}, new ${[...added]}`);
    if (gone.size && this.socket.connected) this.reconnect("our address moved");
    else if (gone.size && this.mesh) this.mesh.links.forEach((link) => link.restart(true));
    else this.checkSocket();
  }

  // A new socket at once rather than at the next ping timeout. The mesh
  // keeps its links (stale, as in any drop) and re-keys them once back; the
  // server may not know yet that our old socket is dead, so each link
  // restarts ICE then: that offer, from our new peer_id with our DTLS
  // fingerprint, is how the other side knows the link is still ours (mesh.js).
  reconnect(why) {
    console.info(`ephem: connecting again to the server, the socket is stale (${why})`);
    this.socket.disconnect();
    if (this.closed) return;
    if (this.mesh) this.mesh.links.forEach((link) => link.wantRestart());
    this.socket.connect();
  }

  onSignal(data) {
    // A peer may signal us as soon as it hears of our join, before its ack is in.
    if (this.joining) this.held.push(data);
    else if (this.mesh && data && data.enclave_id === this.enclaveId) this.mesh.onSignal(data.from, data.kind, data.data);
  }

  // Taken back by the next component of the page (see PARKED_SESSION_MS).
  static take(token, emitUp) {
    const parked = parkedSessions.get(token);
    if (!parked) return null;
    clearTimeout(parked.timer);
    parkedSessions.delete(token);
    parked.session.up = emitUp;
    parked.session.announce();
    return parked.session;
  }

  // The page switched language: acks and pushed errors follow it at once
  // (hello {lang}, README "Languages"), and the next reconnect's auth names it.
  setLanguage(lang) {
    if (!lang || lang === this.lang) return;
    this.lang = lang;
    if (this.socket.connected) this.socket.emit("hello", { lang });
  }

  park() {
    if (this.closed) return;
    const earlier = parkedSessions.get(this.token);
    if (earlier) earlier.session.close();
    this.up = () => {}; // nobody to tell until taken back, which tells everything again
    parkedSessions.set(this.token, { session: this, timer: setTimeout(() => this.close(), PARKED_SESSION_MS) });
  }

  // Everything the page shows of this session, for a page state that started over.
  announce() {
    if (!this.socket.connected) this.emitUp("disconnected", { reason: "unreachable" });
    else if (this.hello) this.emitUp("connected", this.hello);
    // Not in the room yet: the join on its way tells it.
    if (this.mesh && this.inRoom) this.emitUp("joined", { enclave_id: this.enclaveId, ok: true, peers: [...this.room.values()] });
    if (this.mesh) {
      this.mesh.lastReport = null; // the mesh report goes again, even unchanged
      this.mesh.changed();
    }
  }

  emitUp(kind, data) {
    if (!this.closed) this.up(kind, data);
  }

  async onConnect() {
    const hello = await this.call("hello", { stats: true }); // the home page shows them
    if (this.closed) return;
    if (hello.ok) {
      this.hello = hello;
      this.peerId = hello.peer_id;
      this.me = { account_id: hello.account.id, name: hello.account.name };
      await this.freshIceServers(true);
    }
    this.emitUp("connected", hello);
    // A new connection has a new peer_id: (re)build the mesh from the join.
    if (this.enclaveId && this.me) await this.join(this.enclaveId);
  }

  // The STUN/TURN servers, checked (ice_config.js) before WebRTC sees them.
  async freshIceServers(force = false) {
    if (!force && Date.now() - this.iceFetchedAt < ICE_REFRESH_MS) return;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), ICE_FETCH_TIMEOUT_MS);
    try {
      const response = await fetch(`${backendOrigin()}/api/ice-servers`, {
        headers: { Authorization: `Bearer ${this.token}` },
        signal: abort.signal,
      });
      if (response.ok) {
        const body = await response.json();
        this.iceServers = sanitizeIceServers(body && body.ice_servers);
        this.iceFetchedAt = Date.now();
      } else {
        console.warn(`ephem: /api/ice-servers answered ${response.status}, keeping the ICE servers we had`);
      }
    } catch (err) {
      console.warn("ephem: could not fetch the ICE servers, keeping the ones we had", err);
    } finally {
      clearTimeout(timer);
    }
  }

  call(event, payload, timeoutMs = 10000) {
    return new Promise((resolve) => {
      this.socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
        resolve(err ? { ok: false, error: { code: "timeout", message: "The server did not answer." } } : ack);
      });
    });
  }

  onServerEvent(name, data) {
    if (this.mesh && data.enclave_id === this.enclaveId) {
      if (name === "peer_joined" && data.peer) {
        this.room.set(data.peer.peer_id, data.peer);
        this.mesh.meet(data.peer, false);
      }
      // A member who left for good goes at once; a dropped connection gets a grace period.
      if (name === "peer_left") {
        this.room.delete(data.peer_id);
        this.mesh.peerLeft(data.peer_id, data.reason);
      }
      // Left (or deleted) while not connected: owed nothing more all the same.
      if (name === "member_left" && data.account_id !== this.me.account_id) this.mesh.conversation.startGrace(data.account_id, true);
    }
    this.emitUp(name, data);
  }

  openMesh(enclaveId) {
    if (this.mesh && this.mesh.enclaveId === enclaveId) {
      // Same enclave, new connection: the same mesh, its links, conversation and call.
      this.mesh.rejoined(this.peerId);
      return this.mesh;
    }
    if (this.mesh) this.mesh.close();
    this.mesh = new Mesh(this, enclaveId);
    // Or take back a conversation parked a moment ago (keeping.js).
    const carried = parking.take(this.me.account_id, enclaveId);
    if (carried) this.mesh.conversation.adopt(carried);
    const early = this.early.splice(0);
    early.forEach((text) => this.mesh.send(text));
    this.meshListeners.forEach((listener) => listener(this.mesh));
    return this.mesh;
  }

  async join(enclaveId) {
    await this.freshIceServers();
    this.joining += 1;
    let ack;
    try {
      ack = await this.call("join", { enclave_id: enclaveId });
      if (this.closed) return ack;
      if (ack.ok && enclaveId !== this.enclaveId) {
        this.call("leave", { enclave_id: enclaveId }); // moved on meanwhile
        return ack;
      }
      if (ack.ok) {
        this.inRoom = this.socket.connected;
        this.outage = false;
        this.room = new Map((ack.peers || []).map((peer) => [peer.peer_id, peer]));
        const mesh = this.openMesh(enclaveId);
        // The newcomer offers to everyone already there (links kept from before are re-keyed).
        (ack.peers || []).forEach((peer) => mesh.meet(peer, true));
        mesh.changed();
      }
      else if (!ack.ok && ["timeout", "unavailable", "rate_limited"].includes((ack.error || {}).code)) {
        // Back on the socket but not in the room yet: the links wait for it, so try again.
        setTimeout(() => this.socket.connected && !this.inRoom && this.enclaveId === enclaveId && this.join(enclaveId), REJOIN_MS);
      }
    } finally {
      this.joining -= 1;
      if (!this.joining) this.held.splice(0).forEach((data) => this.onSignal(data));
    }
    this.emitUp("joined", { enclave_id: enclaveId, ...ack });
    this.meshListeners.forEach((listener) => listener(this.mesh));
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
    // A search past the account's budget is answered with a challenge: solved
    // in a worker (the page says so) and sent again with the proof.
    const send = (payload) => this.call(op, payload);
    const solving = () => this.emitUp("solving", { seq, op });
    const ack = op === "search" ? await paying(send, args, { solving }) : await send(args);
    this.emitUp("ack", { seq, op, ...ack });
    return ack;
  }

  // The server round trip over the socket, then each configured STUN and
  // TURN server on its own (ice_probe.js): which of them work from here.
  async selfTest(seq) {
    const started = performance.now();
    const ack = await this.call("echo", { probe: started });
    const echoMs = ack.ok ? Math.round((performance.now() - started) * 10) / 10 : -1;
    this.emitUp("selftest", { seq, echo_ms: echoMs, ok: Boolean(ack.ok), servers: null });
    await this.freshIceServers(true);
    const [servers] = await Promise.all([
      probeIceServers(this.iceServers),
      this.mesh ? Promise.all([...this.mesh.links.values()].map((link) => link.refreshStats())) : null,
    ]);
    this.emitUp("selftest", { seq, echo_ms: echoMs, ok: Boolean(ack.ok), servers });
  }

  close() {
    this.closed = true;
    if (this.mesh) this.mesh.close();
    this.socket.disconnect();
  }
}
