// The mesh of one enclave: a PeerLink per peer connection, the conversation
// carried over them and the call. With session.js the twin of
// ephem/peer/client.py. Peer connection states and typing go up to Reflex
// (`report`); message text does not.

import { clip, parseEnvelope } from "./envelope.js";
import { Conversation, isPlaceholder, PLACEHOLDER } from "./conversation.js";
import { Parking } from "./keeping.js";
import { PeerLink } from "./peer_link.js";
import { Call } from "./call.js";
import { RELAYED, RelayRung } from "./relay_rung.js";
import { storage } from "./storage.js";

// Conversations of meshes closed a moment ago, for the next mesh of the same
// account and enclave to take back (see keeping.js).
export const parking = new Parking();

export class Mesh {
  constructor(session, enclaveId) {
    this.session = session;
    this.enclaveId = enclaveId;
    this.me = session.me;
    this.peerId = session.peerId;
    this.links = new Map(); // peer_id -> PeerLink
    this.listeners = new Set();
    this.closed = false;
    this.relay = new RelayRung(this); // when a pair has no DataChannel: sealed through the server
    this.conversation = new Conversation({
      me: this.me,
      enclaveId,
      links: () => [...this.links.values(), ...this.relay.links()],
      storage,
      onChange: () => this.changed(),
      onGone: (accountId, name) => session.emitUp("peer_gone", { enclave_id: enclaveId, account_id: accountId, name }),
    });
    this.call = new Call(this);
    this.statsTimer = setInterval(() => this.links.forEach((link) => link.refreshStats()), 3000);
    this.onPageHide = () => this.conversation.saveNow();
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
        in_call: links.some((l) => this.call.inCallOn(l)),
      });
    });
    const report = { enclave_id: this.enclaveId, peers, typing: this.conversation.typingNames(), in_call: this.call.active };
    this.lastReport = JSON.stringify(report);
    if (this.lastReport !== previous) this.session.emitUp("mesh", report);
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
    this.links.set(peer.peer_id, link);
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
  // answers the offer that made it start over.
  relink(link, pendingOffer = null) {
    if (this.closed || link.closed || this.links.get(link.peer.peer_id) !== link) return;
    link.close();
    this.links.delete(link.peer.peer_id);
    const fresh = this.addPeer(link.peer, !link.polite && !pendingOffer);
    if (fresh && pendingOffer) fresh.onSignal(pendingOffer.kind, pendingOffer.data);
  }

  onSignal(from, kind, data) {
    if (kind === "key") return this.relay.onKey(from, data);
    this.relay.onSignal(from, kind, data);
    let link = this.links.get(from);
    if (!link && kind === "offer") {
      // An offer can beat its peer_joined; who it is arrives with that, or its hello.
      link = this.addPeer({ peer_id: from, account_id: `${PLACEHOLDER}${from}`, name: "" }, false);
    }
    if (link) link.onSignal(kind, data);
  }

  onLinkOpen(link) {
    if (isPlaceholder(link.peer.account_id)) return; // wait until we know who it is
    this.conversation.linkOpen(link);
    link.refreshStats();
    this.changed();
  }

  flush(accountId) {
    this.conversation.flush(accountId);
  }

  onFrame(link, raw) {
    const env = parseEnvelope(raw);
    if (!env) return;
    if (isPlaceholder(link.peer.account_id)) {
      if (env.type !== "hello") return;
      this.identify(link, env.from, clip(env.payload.name));
    }
    if (this.conversation.receive(link, env) && env.type === "call") this.call.onRemoteState(link, env.payload);
  }

  send(text) {
    return this.conversation.send(text);
  }

  // One envelope to every open link (not queued: for states, not messages).
  broadcast(type, payload) {
    this.conversation.broadcast(type, payload);
  }

  // `keepCall`: the same enclave goes on over a new connection, and so does the call.
  close(keepCall = false) {
    this.conversation.close();
    if (!keepCall) this.call.close();
    this.closed = true;
    window.removeEventListener("pagehide", this.onPageHide);
    clearInterval(this.statsTimer);
    clearTimeout(this.reportTimer);
    this.relay.close();
    this.links.forEach((link) => link.close());
    this.links.clear();
    if (!keepCall && this.me) parking.park(this.conversation);
  }
}
