// The relay rung of one mesh: the twin of ephem/peer/relay.py and the relay
// part of ephem/peer/client.py. A pair whose DataChannel is not open
// RELAY_AFTER_MS after its link was made (or that lost it) sends its
// envelopes through the server's `relay` event, sealed end to end with
// seal.js; the relay link is one more link of the conversation, so outboxes,
// acks and duplicate dropping work across a switch, and the pair moves back
// as soon as its DataChannel is open again. Calls need a DataChannel's path.

import { frame, parseEnvelope } from "./envelope.js";
import { b64, Channel, fingerprintOf, generateKeyPair, safetyCode, unb64 } from "./seal.js";

export const RELAY_AFTER_MS = 1500;
export const RELAYED = "relayed, end-to-end encrypted"; // the member row's words
const TICK_MS = 250;
const QUEUE_MAX = 256;
const RETRY_MS = 1000;

// One key pair per page, kept while it lives (meshes come and go with the
// socket). Sealing state per (enclave, our account, their key): counters go on
// across a reconnect instead of looking like replays. The last key seen per
// account, to flag a change.
let keyPair = null;
const channels = new Map();
const keysSeen = new Map();

const myKeys = () => (keyPair ||= generateKeyPair(crypto.subtle));

class RelayLink {
  constructor(rung, peerId) {
    this.rung = rung;
    this.peerId = peerId;
    this.lastPeer = null;
    this.channel = null;
    this.theirs = null; // their public key, raw
    this.fingerprints = null; // [ours, theirs]: the DTLS fingerprints last negotiated with this peer
    this.remoteSdp = ""; // their last offer or answer
    this.active = false;
    this.greeted = false;
    this.notOpenSince = null;
    this.queued = 0;
    this.sending = Promise.resolve();
    this.closed = false;
  }

  // The same {peer_id, account_id, name} as the pair's PeerLink, which the mesh may replace.
  get peer() {
    const link = this.rung.mesh.links.get(this.peerId);
    if (link) this.lastPeer = link.peer;
    return this.lastPeer;
  }

  get open() {
    return this.active && this.channel !== null && !this.closed;
  }

  get writable() {
    return this.open && this.queued < QUEUE_MAX;
  }

  // Works whenever their key is here (acks go back the way frames came).
  sendFrame(wire) {
    if (!this.channel || this.closed) return false;
    const sealed = this.channel.seal(wire); // the counter is taken now, in call order
    this.queued += 1;
    this.sending = this.sending
      .then(() => sealed)
      .then((data) => this.rung.emit(this, data))
      .catch((err) => console.warn("ephem: relay frame not sealed", err))
      .finally(() => {
        this.queued -= 1;
        if (this.queued === QUEUE_MAX - 1 && this.open) this.rung.mesh.flush(this.peer.account_id);
      });
    return true;
  }

  refreshStats() {}
}

export class RelayRung {
  constructor(mesh) {
    this.mesh = mesh;
    this.relays = new Map(); // peer_id -> RelayLink
    this.changedKeys = new Set(); // account ids whose key changed, until their code is looked at
    this.rejected = 0; // frames that did not open: tampered, replayed, reordered
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  // The relay links the conversation may write to: open ones of peers still here.
  links() {
    return [...this.relays.values()].filter((r) => r.open && this.mesh.links.has(r.peerId));
  }

  relayOf(peerId) {
    let relay = this.relays.get(peerId);
    if (!relay) {
      relay = new RelayLink(this, peerId);
      this.relays.set(peerId, relay);
    }
    return relay;
  }

  // A PeerLink was made (or rebuilt, or identified): our key goes to its peer.
  async linkAdded(link) {
    const relay = this.relayOf(link.peer.peer_id);
    if (!relay.keySent) {
      relay.keySent = true;
      const { public: mine } = await myKeys();
      this.mesh.session.call("signal", {
        enclave_id: this.mesh.enclaveId,
        to: link.peer.peer_id,
        kind: "key",
        data: { public_key: b64(mine) },
      });
    }
    this.makeChannel(relay);
  }

  // Offers and answers, as received (for the safety code's fingerprints).
  onSignal(peerId, kind, data) {
    if ((kind === "offer" || kind === "answer") && data && typeof data.sdp === "string") this.relayOf(peerId).remoteSdp = data.sdp;
  }

  onKey(peerId, data) {
    let theirs;
    try {
      theirs = unb64(data && data.public_key);
    } catch {
      return;
    }
    if (theirs.length !== 65) return;
    const relay = this.relayOf(peerId);
    relay.theirs = theirs;
    relay.channel = null;
    this.makeChannel(relay);
  }

  async makeChannel(relay) {
    const peer = relay.peer;
    if (!relay.theirs || relay.channel || !peer || peer.account_id.startsWith("peer:")) return;
    const theirs = relay.theirs;
    const encoded = b64(theirs);
    const key = `${this.mesh.enclaveId}|${this.mesh.me.account_id}|${encoded}`;
    if (!channels.has(key)) {
      channels.set(
        key,
        myKeys().then((mine) => Channel.create(crypto.subtle, mine, theirs, this.mesh.enclaveId, this.mesh.me.account_id, peer.account_id)),
      );
    }
    let channel;
    try {
      channel = await channels.get(key);
    } catch (err) {
      channels.delete(key);
      return; // not a point on the curve
    }
    if (relay.theirs !== theirs || this.mesh.closed) return;
    relay.channel = channel;
    const before = keysSeen.get(peer.account_id);
    keysSeen.set(peer.account_id, encoded);
    if (before && before !== encoded) this.changedKeys.add(peer.account_id);
    this.tick();
    this.mesh.changed();
  }

  // Which rung each pair is on: the DataChannel when open, else the relay after a while.
  tick() {
    if (this.mesh.closed) return;
    const now = Date.now();
    let changed = false;
    this.mesh.links.forEach((link, peerId) => {
      const relay = this.relayOf(peerId);
      // Once a negotiation is complete; kept while a rebuilt link has not negotiated yet.
      // Theirs from the SDP text as received: Chromium's remoteDescription keeps one
      // fingerprint of several, which need not be the one the other side reads.
      const pc = link.pc;
      if (pc.signalingState === "stable" && pc.localDescription && pc.remoteDescription) {
        const mine = fingerprintOf(pc.localDescription.sdp);
        const theirs = fingerprintOf(relay.remoteSdp);
        if (mine && theirs) relay.fingerprints = [mine, theirs];
      }
      if (link.open) {
        relay.notOpenSince = null;
        if (relay.active) {
          relay.active = false;
          changed = true;
        }
        return;
      }
      if (relay.notOpenSince === null) relay.notOpenSince = now;
      const failed = link.pc.connectionState === "failed";
      if (!relay.active && (failed || now - relay.notOpenSince >= RELAY_AFTER_MS)) {
        relay.active = true;
        relay.greeted = false;
        changed = true;
      }
      if (relay.open && !relay.greeted && !link.peer.account_id.startsWith("peer:")) {
        relay.greeted = true;
        relay.sendFrame(frame("hello", this.mesh.me.account_id, { name: this.mesh.me.name }));
        this.mesh.conversation.linkOpen(relay); // everything unacked goes (again)
        changed = true;
      }
    });
    if (changed) this.mesh.changed();
  }

  emit(relay, data) {
    this.mesh.session.socket.timeout(10000).emit(
      "relay",
      { enclave_id: this.mesh.enclaveId, to: relay.peerId, data },
      (err, ack) => {
        if (!err && ack && ack.ok) return;
        // Refused (rate_limited, say): what is unacked goes again a little later.
        clearTimeout(relay.retry);
        relay.retry = setTimeout(() => relay.open && this.mesh.conversation.linkOpen(relay), RETRY_MS);
      },
    );
  }

  async onFrame(data) {
    const relay = data && this.relays.get(data.from);
    if (!relay || !relay.channel || !this.mesh.links.has(relay.peerId)) return;
    let raw;
    try {
      raw = new TextDecoder("utf-8", { fatal: true }).decode(await relay.channel.open(data.data));
    } catch {
      this.rejected += 1;
      return;
    }
    const env = parseEnvelope(raw);
    if (!env || env.type === "call" || this.mesh.closed) return; // calls need a direct or TURN path
    if (this.mesh.conversation.receive(relay, env) && env.type.startsWith("file_")) this.mesh.files.receive(relay, env);
  }

  // "relayed, end-to-end encrypted" for an account on the relay with no open DataChannel.
  relayedAccount(accountId) {
    const ours = [...this.mesh.links.values()].filter((l) => l.peer.account_id === accountId);
    return !ours.some((l) => l.open) && ours.some((l) => this.relays.get(l.peer.peer_id)?.open);
  }

  // The pair's safety code, or null before their key and both DTLS fingerprints are here.
  async safetyCode(peerId) {
    this.tick();
    const link = this.mesh.links.get(peerId);
    const relay = this.relays.get(peerId);
    if (!link || !relay || !relay.theirs || !relay.fingerprints) return null;
    const [mine, theirs] = relay.fingerprints;
    const { public: ours } = await myKeys();
    this.changedKeys.delete(link.peer.account_id);
    this.mesh.changed();
    return safetyCode(crypto.subtle, ours, mine, relay.theirs, theirs);
  }

  drop(peerId) {
    const relay = this.relays.get(peerId);
    if (relay) {
      relay.closed = true;
      clearTimeout(relay.retry);
      this.relays.delete(peerId);
    }
  }

  close() {
    clearInterval(this.timer);
    this.relays.forEach((relay) => clearTimeout(relay.retry));
  }
}
