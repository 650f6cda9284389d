// The session of one page: one Socket.IO connection to `/ephem` (presence,
// matchmaking, signaling), its reconnects, and the mesh of the enclave the
// page is in. With mesh.js the twin of ephem/peer/client.py.

import { io } from "socket.io-client";
import { backendOrigin } from "./backend.js";
import { checkText } from "./envelope.js";
import { Mesh, parking } from "./mesh.js";

const SERVER_EVENTS = ["matched", "peer_joined", "peer_left", "member_left", "stats", "search_failed"];
const REFUSED_RETRY_MS = 10000; // a connection the server refused is tried again after this
const ICE_REFRESH_MS = 20 * 60 * 1000; // TURN credentials are short-lived: refetch well before expiry

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
    this.videoCrowd = 0; // EPHEM_CALL_VIDEO_CROWD, from the page
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
    const hello = await this.call("hello", { stats: true }); // the home page shows them
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
      if (name === "member_left" && data.account_id !== this.me.account_id) this.mesh.conversation.startGrace(data.account_id, true);
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
    // call; or take back a conversation parked a moment ago (keeping.js).
    const carried = same ? previous.conversation : parking.take(this.me.account_id, enclaveId);
    if (carried) {
      if (same) {
        this.mesh.conversation.history = carried.history;
        this.mesh.call = previous.call;
        this.mesh.call.mesh = this.mesh;
      }
      this.mesh.conversation.adopt(carried);
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
