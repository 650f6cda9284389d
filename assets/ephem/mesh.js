// The mesh of one enclave: a PeerLink per peer connection, the conversation
// carried over them and the call. With session.js the twin of
// ephem/peer/client.py. Peer connection states and typing go up to Reflex
// (`report`); message text does not.

import { clip, parseEnvelope } from "./envelope.js";
import { Conversation, isPlaceholder, PLACEHOLDER } from "./conversation.js";
import { Parking } from "./keeping.js";
import { fingerprint, PeerLink } from "./peer_link.js";
import { place } from "./rekey.js";
import { Call } from "./call.js";
import { AddressWatch } from "./netwatch.js";
import { FileTransfers, isFileType } from "./file_links.js";
import { RELAYED, RelayRung } from "./relay_rung.js";
import { storage } from "./storage.js";

// Conversations of meshes closed a moment ago, for the next mesh of the same
// account and enclave to take back (see keeping.js).
export const parking = new Parking();
const addressWatch = new AddressWatch(); // one per page, read while a mesh can signal (watchAddresses)

export class Mesh {
  constructor(session, enclaveId) {
    this.session = session;
    this.enclaveId = enclaveId;
    this.me = session.me;
    this.peerId = session.peerId;
    this.links = new Map(); // peer_id -> PeerLink
    this.built = new Map(); // account_id -> RTCPeerConnections made for it (shown as data-links)
    this.expected = new Map(); // peer_id -> Peer: announced, its offer awaited to tell who it is (`meet`)
    // The socket is up and we are in the room on it. When it drops, open links
    // carry on and only signaling waits (new links, renegotiations).
    this.signaling = true;
    this.listeners = new Set();
    this.closed = false;
    this.relay = new RelayRung(this); // when a pair has no DataChannel: sealed through the server
    this.conversation = new Conversation({
      me: this.me,
      enclaveId,
      // Blocked accounts get nothing from us either, on any rung.
      links: () => [...this.links.values(), ...this.relay.links()].filter((link) => !this.isBlocked(link.peer.account_id)),
      storage,
      onChange: () => this.changed(),
      onGone: (accountId, name) => session.emitUp("peer_gone", { enclave_id: enclaveId, account_id: accountId, name }),
    });
    this.call = new Call(this);
    this.files = new FileTransfers(this);
    this.statsTimer = setInterval(() => this.links.forEach((link) => link.refreshStats()), 3000);
    this.onPageHide = () => this.conversation.saveNow();
    window.addEventListener("pagehide", this.onPageHide);
    this.unwatch = null;
    this.watchAddresses(true);
  }

  // The page's addresses are read only while we can signal: an ICE restart
  // needs it, and a socket coming back is new anyway. Each watch starts from
  // a fresh read.
  watchAddresses(on) {
    if (on && !this.unwatch && !this.closed) {
      this.unwatch = addressWatch.subscribe((gone, added) => this.session.networkMoved(gone, added));
    } else if (!on && this.unwatch) {
      this.unwatch();
      this.unwatch = null;
    }
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

  report() {
    if (this.closed) return;
    const previous = this.lastReport;
    const peers = [];
    this.conversation.accounts.forEach((account, accountId) => {
      if (accountId === this.me.account_id || isPlaceholder(accountId)) return;
      const links = [...this.links.values()].filter((l) => l.peer.account_id === accountId);
      const best = links.find((l) => l.state === "direct" || l.state === "relayed") || links[0];
      const linkState = this.relay.relayedAccount(accountId) ? RELAYED : best ? best.state : account.state;
      peers.push({
        account_id: accountId,
        name: account.name,
        state: account.state === "reconnecting" || account.state === "left" ? account.state : linkState,
        rtt_ms: best && best.rtt !== null ? Math.round(best.rtt * 10) / 10 : -1,
        path: best ? best.path : "",
        relay: best ? best.relayProtocol : "",
        links: this.built.get(accountId) || 0,
        ice_restarts: links.reduce((sum, l) => sum + l.iceRestarts, 0),
        in_call: links.some((l) => this.call.inCallOn(l)),
      });
    });
    const report = { enclave_id: this.enclaveId, peers, typing: this.conversation.typingNames(), in_call: this.call.active };
    this.lastReport = JSON.stringify(report);
    if (this.lastReport !== previous) this.session.emitUp("mesh", report);
  }

  // A connection the server says is in the room (`join` ack, `peer_joined`):
  // the link we have to it, the link kept from before a socket drop (re-keyed
  // to its new peer_id rather than rebuilt), or a new one.
  meet(peer, initiator) {
    if (peer.peer_id === this.peerId) return null;
    const found = place(this.links.values(), peer);
    if (found.kind === "rekey") {
      this.links.delete(found.link.peer.peer_id);
      this.links.set(peer.peer_id, found.link);
    }
    if (found.kind !== "new") found.link.rekey(peer, this.peerId);
    // The relay rung is keyed by peer_id too: keys go again to the new one.
    if (found.kind === "rekey") this.relay.linkAdded(found.link);
    // A new connection of an account we hold an open link to: a second tab,
    // or that very page back on a new socket (its address moved, and the
    // server has not noticed its old socket is dead). Its offer tells which.
    const linked = [...this.links.values()].some((l) => l.open && l.peer.account_id === peer.account_id);
    if (found.kind === "new" && !initiator && linked) {
      this.expected.set(peer.peer_id, peer);
      return null;
    }
    return this.addPeer(peer, initiator);
  }

  // An offer from a connection we hold no link for, announced for an account
  // we are linked to: if it carries the DTLS fingerprint of that link's peer,
  // it is that RTCPeerConnection on a new socket, re-keyed rather than rebuilt.
  adoptMoved(from, offer) {
    const peer = this.expected.get(from);
    const fp = fingerprint(offer && offer.sdp);
    if (!peer || !fp) return null;
    const link = [...this.links.values()].find((l) => l.open && l.peer.account_id === peer.account_id && l.remoteFingerprint === fp);
    if (!link) return null;
    this.links.delete(link.peer.peer_id);
    this.links.set(from, link);
    link.rekey(peer, this.peerId);
    this.relay.linkAdded(link);
    return link;
  }

  // Our socket dropped: nobody can be signaled until we are back in the room.
  // Open links go on carrying the chat; links still being made cannot finish.
  signalingLost() {
    this.signaling = false;
    this.watchAddresses(false);
    [...this.links.values()].forEach((link) => {
      if (link.open) link.stale = true;
      else this.removePeer(link.peer.peer_id);
    });
    this.changed();
  }

  // Back in the room on a new connection: `meet` re-keys each peer as the server announces it.
  rejoined(peerId) {
    this.peerId = peerId;
    this.signaling = true;
    this.watchAddresses(true);
    this.changed();
  }

  // A peer's connection left the room. One that left the enclave, or closed
  // its page, goes; one that dropped keeps its open link, stale until it is back.
  peerLeft(peerId, reason) {
    this.expected.delete(peerId);
    const link = this.links.get(peerId);
    if (link && link.open && reason === "disconnected") {
      link.stale = true;
      this.changed();
      return;
    }
    this.removePeer(peerId, reason === "left");
  }

  addPeer(peer, initiator) {
    if (peer.peer_id === this.peerId) return null;
    const existing = this.links.get(peer.peer_id);
    if (existing) {
      // Known only from its offer so far: the server's word on who it is wins.
      if (isPlaceholder(existing.peer.account_id)) this.identify(existing, peer.account_id, peer.name);
      // Heard of through peer_joined, but our join says it was there first: we offer.
      if (initiator && !existing.channel) existing.attach(existing.pc.createDataChannel("ephem", { ordered: true }));
      return existing;
    }
    this.conversation.linkAdded(peer.account_id, peer.name);
    const link = new PeerLink(this, peer, initiator);
    this.built.set(peer.account_id, (this.built.get(peer.account_id) || 0) + 1);
    this.links.set(peer.peer_id, link);
    this.files.linkAdded(link);
    this.relay.linkAdded(link);
    this.changed();
    return link;
  }

  identify(link, accountId, name) {
    const placeholder = link.peer.account_id;
    link.peer = { ...link.peer, account_id: accountId, name: name || link.peer.name };
    this.conversation.identify(placeholder, accountId, name);
    this.relay.linkAdded(link);
    if (link.open) this.onLinkOpen(link);
  }

  removePeer(peerId, forGood = false) {
    const link = this.links.get(peerId);
    if (!link) return;
    link.close();
    this.links.delete(peerId);
    this.relay.drop(peerId);
    this.conversation.startGrace(link.peer.account_id, forGood);
    this.call.applyCrowd();
    this.changed();
  }

  // A link died but its peer is still in the room: build a fresh one. The
  // impolite side (larger peer_id) offers; the polite side waits for it, or
  // answers the offer that made it start over. `offer`: we offer whichever
  // side we are (the peer already started over and waits for an offer).
  relink(link, pendingOffer = null, offer = false) {
    if (this.closed || link.closed || this.links.get(link.peer.peer_id) !== link) return;
    if (!link.signaling) {
      this.removePeer(link.peer.peer_id); // its peer is not known to be there: rebuilt once it is
      return;
    }
    link.close();
    this.links.delete(link.peer.peer_id);
    const fresh = this.addPeer(link.peer, offer || (!link.polite && !pendingOffer));
    if (fresh && pendingOffer) fresh.onSignal(pendingOffer.kind, pendingOffer.data);
  }

  onSignal(from, kind, data) {
    if (kind === "key") return this.relay.onKey(from, data);
    this.relay.onSignal(from, kind, data);
    let link = this.links.get(from);
    if (!link && kind === "offer") {
      // An offer can beat its peer_joined; who it is arrives with that, or its hello.
      const peer = this.expected.get(from) || { peer_id: from, account_id: `${PLACEHOLDER}${from}`, name: "" };
      link = this.adoptMoved(from, data) || this.addPeer(peer, false);
      this.expected.delete(from);
    }
    if (link) link.onSignal(kind, data);
  }

  onLinkOpen(link) {
    if (isPlaceholder(link.peer.account_id)) return; // wait until we know who it is
    this.conversation.linkOpen(link);
    this.files.linkOpen(link);
    link.refreshStats();
    this.changed();
  }

  flush(accountId) {
    this.conversation.flush(accountId);
  }

  // Blocked by this account (the page's list, in session.blocked).
  isBlocked(accountId) {
    return Boolean(this.session.blocked && this.session.blocked.has(accountId));
  }

  // The blocked list changed: a call with someone now blocked ends on our side
  // at once, and so do file transfers with them, either way.
  applyBlocks() {
    this.links.forEach((link) => {
      if (this.isBlocked(link.peer.account_id)) this.call.onRemoteState(link, { active: false });
    });
    if (this.session.blocked) this.session.blocked.forEach((accountId) => this.files.dropAccount(accountId));
    this.changed();
  }

  onFrame(link, raw) {
    const env = parseEnvelope(raw);
    if (!env) return;
    if (isPlaceholder(link.peer.account_id)) {
      if (env.type !== "hello") return;
      this.identify(link, env.from, clip(env.payload.name));
    }
    if (this.isBlocked(link.peer.account_id)) return; // no messages, typing, or call state from them
    if (!this.conversation.receive(link, env)) return;
    if (env.type === "call") this.call.onRemoteState(link, env.payload);
    else if (isFileType(env.type)) this.files.receive(link, env);
  }

  send(text) {
    return this.conversation.send(text);
  }

  // One envelope to every open link (not queued: for states, not messages).
  broadcast(type, payload) {
    this.conversation.broadcast(type, payload);
  }

  close() {
    this.conversation.close();
    this.call.close();
    this.files.close();
    this.closed = true;
    window.removeEventListener("pagehide", this.onPageHide);
    this.watchAddresses(false);
    clearInterval(this.statsTimer);
    clearTimeout(this.reportTimer);
    this.relay.close();
    this.links.forEach((link) => link.close());
    this.links.clear();
    if (this.me) parking.park(this.conversation);
  }
}
