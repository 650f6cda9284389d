// One RTCPeerConnection and its `ephem` DataChannel, to one peer of the mesh:
// the twin of ephem/peer/rtc.py. Signals go through the session's socket;
// offers, answers and candidates follow the perfect-negotiation pattern (the
// smaller peer_id is polite). What arrives on the channel goes to the mesh.

import { frame } from "./envelope.js";
import { checkCandidate } from "./ice_config.js";
import { describeLink } from "./link_stats.js";
import { isPolite } from "./rekey.js";

const HIGH_WATER = 1024 * 1024; // stop writing to a channel above this bufferedAmount
const LOW_WATER = 256 * 1024; // and resume below this
const CONNECT_TIMEOUT_MS = 30000; // a link not open by then is rebuilt
const DISCONNECTED_RESTART_MS = 1000; // a path silent this long after "disconnected" gets an ICE restart
const RESTART_TIMEOUT_MS = 5000; // an ICE restart not connected by then is tried again
const MAX_RESTARTS = 5; // then the link is rebuilt on a new RTCPeerConnection
const HELD_MAX = 500; // signals kept while signaling is down (one negotiation's worth, many times over)

// RTCPeerConnections this page has made: a link kept across a server restart
// makes none. Tests read it from the chat panel's `data-peer-connections`.
export const built = { count: 0 };

export function fingerprint(sdp) {
  const found = /^a=fingerprint:(.+)$/m.exec(sdp || "");
  return found ? found[1].trim().toLowerCase() : "";
}

export class PeerLink {
  constructor(mesh, peer, initiator) {
    this.mesh = mesh;
    this.peer = peer; // {peer_id, account_id, name}
    this.polite = isPolite(mesh.peerId, peer.peer_id); // contract: the smaller peer_id is polite
    // Kept across a socket drop, the peer's peer_id not heard of again yet:
    // signals wait in `held` until the mesh re-keys the link (rekey.js).
    this.stale = false;
    this.held = [];
    this.restartWanted = false; // an ICE restart put off until signaling is back
    this.restartForced = false; // and made even if the path still looks connected
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.answerPending = false;
    this.channel = null;
    this.state = "connecting";
    this.rtt = null;
    this.path = ""; // "direct" | "relay", from the selected candidate pair (link_stats.js)
    this.relayProtocol = ""; // "udp" | "tcp" | "tls" when our side is relayed
    this.iceRestarts = 0; // ICE restarts asked for on this RTCPeerConnection
    this.closed = false;
    this.restarts = 0;
    this.signals = Promise.resolve(); // signals are applied one at a time, in order
    this.pc = new RTCPeerConnection({ iceServers: mesh.session.iceServers });
    built.count += 1;
    this.pc.ontrack = (event) => mesh.call.onTrack(this, event);
    // Video quality can only be set on a negotiated sender.
    this.pc.onsignalingstatechange = () => this.pc.signalingState === "stable" && mesh.call.applyQuality(this);
    this.pc.onicecandidate = ({ candidate }) => this.send("candidate", candidate ? candidate.toJSON() : null);
    this.pc.onnegotiationneeded = () => this.offer();
    this.pc.onconnectionstatechange = () => this.onConnectionState();
    // The browser's own network went away or came back (Wi-Fi to mobile, a
    // new address): the path we had is likely dead, restart ICE at once.
    this.onOffline = () => this.networkChanged("offline");
    this.onOnline = () => this.networkChanged("online");
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("online", this.onOnline);
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

  // The DTLS certificate fingerprint of the peer's connection: the same
  // RTCPeerConnection coming back on a new socket shows the same one.
  get remoteFingerprint() {
    return fingerprint(this.pc.remoteDescription && this.pc.remoteDescription.sdp);
  }

  get signaling() {
    return this.mesh.signaling && !this.stale;
  }

  async send(kind, data, attempt = 0) {
    if (this.closed) return;
    if (!this.signaling) {
      if (this.held.length < HELD_MAX) this.held.push([kind, data]);
      return;
    }
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
      const theirs = fingerprint(data.sdp);
      const known = this.remoteFingerprint;
      if (known && theirs && theirs !== known) {
        // The peer started over on a fresh connection: a Python peer (aiortc
        // has no ICE restart) answers our restart, or offers, that way. A new
        // DTLS certificate needs a new RTCPeerConnection here too: answer its
        // offer on one, or offer from one to its fresh connection.
        console.info(`ephem: ${this.peer.name || this.peer.peer_id} started over on a new connection, so do we`);
        this.mesh.relink(this, data.type === "offer" ? { kind, data } : null, data.type === "answer");
        return;
      }
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
      const checked = checkCandidate(data);
      if (!checked.ok) {
        console.warn(`ephem: dropping a remote ICE candidate (${checked.reason})`);
        return;
      }
      try {
        await this.pc.addIceCandidate(checked.candidate || undefined);
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
    return this.sendFrame(frame(type, this.mesh.me.account_id, payload));
  }

  sendFrame(wire) {
    if (!this.open) return false;
    try {
      this.channel.send(wire);
      return true;
    } catch (err) {
      return false;
    }
  }

  onConnectionState() {
    const state = this.pc.connectionState;
    if (state === "connected") {
      this.restarts = 0;
      clearTimeout(this.restartTimer);
      this.refreshStats();
    } else if (state === "failed" || state === "disconnected") {
      this.state = "reconnecting";
      // A dropped path is restored with an ICE restart on this same
      // connection; after a few tries, start over on a new one.
      this.scheduleRestart(state === "failed" ? 0 : DISCONNECTED_RESTART_MS);
      // Our socket may have died with the path (the same move): ask it.
      this.mesh.session.checkSocket();
    } else if (state === "connecting" || state === "new") {
      this.state = this.state === "reconnecting" ? "reconnecting" : "connecting";
    }
    this.mesh.changed();
  }

  scheduleRestart(delay) {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.restart(), delay);
  }

  networkChanged(event) {
    if (this.closed) return;
    console.info(`ephem: browser went ${event}, restarting ICE with ${this.peer.name || this.peer.peer_id}`);
    this.mesh.session.checkSocket();
    if (event === "offline") {
      this.state = "reconnecting";
      this.mesh.changed();
      return; // nothing to restart over until a network is back
    }
    this.restart(true);
  }

  // An ICE restart: new credentials and candidates on the same
  // RTCPeerConnection, its DataChannel and media untouched. Each try has
  // RESTART_TIMEOUT_MS to connect; after MAX_RESTARTS the link is rebuilt.
  async restart(force = false) {
    if (this.closed || (!force && this.pc.connectionState === "connected")) return;
    if (!this.signaling) {
      // No way to reach the peer for a restart: a failed link goes (and is
      // rebuilt once the peer is back), a disconnected one may still recover.
      if (this.pc.connectionState === "failed") this.mesh.removePeer(this.peer.peer_id);
      else this.wantRestart(force);
      return;
    }
    if (this.restarts >= MAX_RESTARTS) {
      console.warn(`ephem: ${MAX_RESTARTS} ICE restarts did not reconnect ${this.peer.peer_id}, starting over`);
      this.mesh.relink(this);
      return;
    }
    this.restarts += 1;
    this.iceRestarts += 1;
    this.scheduleRestart(RESTART_TIMEOUT_MS);
    await this.mesh.session.freshIceServers();
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ iceServers: this.mesh.session.iceServers });
    } catch (err) {
      console.warn("ephem: ICE servers refused on restart, keeping the previous ones", err);
    }
    this.pc.restartIce();
    this.mesh.changed();
  }

  wantRestart(force = true) {
    this.restartWanted = true;
    this.restartForced ||= force;
  }

  // The peer is back on a new connection (`peer`, its new peer_id) and so are
  // we (`mine`): same RTCPeerConnection, new ids, roles from the new ids.
  rekey(peer, mine) {
    this.peer = { ...this.peer, peer_id: peer.peer_id, name: this.peer.name || peer.name };
    this.polite = isPolite(mine, peer.peer_id);
    this.stale = false;
    this.resume();
  }

  // Signaling is back for this link: what waited goes out, to the current
  // peer_id. An offer still unanswered may have gone into a socket that was
  // already dead (a move): it goes again, as it stands now (candidates in it),
  // and perfect negotiation sorts out two such offers crossing.
  resume() {
    if (this.closed || !this.signaling) return;
    const offering = this.pc.signalingState === "have-local-offer" && this.pc.localDescription;
    const held = this.held.splice(0).filter(([kind]) => !(offering && kind === "offer"));
    if (offering) {
      const { type, sdp } = this.pc.localDescription;
      this.send("offer", { type, sdp });
    }
    held.forEach(([kind, data]) => this.send(kind, data));
    if (this.restartWanted && !offering) this.restart(this.restartForced);
    this.restartWanted = this.restartForced = false;
  }

  async refreshStats() {
    if (this.closed || this.pc.connectionState !== "connected") return;
    try {
      const link = describeLink(await this.pc.getStats());
      if (this.closed || this.pc.connectionState !== "connected") return;
      this.path = link.path || "direct";
      this.relayProtocol = link.protocol;
      this.state = this.path === "relay" ? "relayed" : "direct";
      this.rtt = link.rtt_ms;
    } catch (err) {
      this.state = "direct";
    }
    this.mesh.changed();
  }

  close() {
    this.closed = true;
    clearTimeout(this.restartTimer);
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.openTimer);
    try {
      if (this.channel) this.channel.close();
      this.pc.close();
    } catch (err) {
      /* already closed */
    }
  }
}
