// The files of one mesh, sent and received: the twin of
// ephem/peer/file_links.py. Control envelopes (`file_offer`, `file_accept`,
// `file_ack`, `file_done`, `file_cancel`) go on the pair's `ephem` channel;
// the bytes on a DataChannel of their own per transfer and receiver,
// labelled `file:<id>:<first chunk>`, one chunk per binary message, written
// only while its buffer is below HIGH_WATER so a large file never floods the
// chat or memory. The receiver asks for the chunk it wants next
// (`file_accept {id, from}`): at first, and again whenever its link is back
// after a drop, so a transfer resumes where it stopped.

import { isPlaceholder } from "./conversation.js";
import { frame, uuid } from "./envelope.js";
import {
  ASK_ABOVE, CHUNK, checkOffer, chunkCount, channelLabel, formatBytes, Incoming, MAX_BYTES, Meter, parseLabel, pictureType,
  sanitizeName,
} from "./file_transfer.js";
import { fileError } from "./file_errors.js";
import { onRelayedChunk, relayPump } from "./file_relay.js";
import { Sha256 } from "./sha256.js";
import { storage } from "./storage.js";

const HIGH_WATER = 4 * 1024 * 1024; // stop writing a file channel above this bufferedAmount (Chromium refuses past 16 MB)
const LOW_WATER = 1024 * 1024; // and go on below this (bench/README.md: 4 and 1 MiB beat 1 MiB and 256 KiB)
const READ_CHUNKS = 16; // chunks read from the file at once
const COMPACT_BYTES = 4 * 1024 * 1024; // received bytes kept as ArrayBuffers before they join the Blob
const HASH_SLICE = 4 * 1024 * 1024;
const NOTIFY_MS = 150; // progress redraws at most this often
const ASK_KEY = "ephem.files.ask_above_mb";
const OPEN_PER_SENDER = 16; // offers a sender may have waiting or in flight with us; more are refused
const STALL_MS = 10000; // a transfer with no new byte this long, its link open, is asked for again

// `file_*` types and the payload fields each needs (checked before use).
const NEEDS = {
  file_offer: [],
  file_accept: ["id", "from"],
  file_ack: ["id", "upto"],
  file_done: ["id"],
  file_cancel: ["id"],
  file_chunk: ["id", "n", "at", "data"],
};

export const isFileType = (type) => Object.hasOwn(NEEDS, type);

export class FileTransfers {
  constructor(mesh, { maxBytes = MAX_BYTES } = {}) {
    this.mesh = mesh;
    const cap = mesh.session.hello && mesh.session.hello.file_max_bytes;
    this.maxBytes = Number.isSafeInteger(cap) && cap > 0 ? Math.min(cap, maxBytes) : maxBytes; // the operator's, if lower
    const asked = Number(storage.get(ASK_KEY));
    this.askAbove = asked > 0 ? asked * 1024 * 1024 : ASK_ABOVE;
    this.items = []; // both ways, in the order they began: what the panel lists
    this.outgoing = new Map(); // id -> transfer we send
    this.incoming = new Map(); // `${account}|${id}` -> transfer we receive
    this.listeners = new Set();
    this.closed = false;
    this.stallTimer = setInterval(() => this.unstall(), STALL_MS / 2);
  }

  // A transfer that stopped moving while a link is up (a lost accept, a
  // channel that stalled): ask again from what we hold, on a fresh channel.
  unstall() {
    const now = Date.now();
    this.incoming.forEach((inc) => {
      if (inc.status !== "receiving") return;
      if (inc.lastBytes !== inc.rx.bytes) {
        inc.lastBytes = inc.rx.bytes;
        inc.movedAt = now;
      } else if (now - (inc.movedAt || now) >= STALL_MS && this.toAccount(inc.from, "file_accept", { id: inc.id, from: inc.rx.count })) {
        inc.movedAt = now;
      }
    });
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(now = false) {
    if (this.closed) return;
    if (now) {
      clearTimeout(this.notifyTimer);
      this.notifyTimer = null;
      this.listeners.forEach((l) => l());
    } else if (!this.notifyTimer) {
      this.notifyTimer = setTimeout(() => this.changed(true), NOTIFY_MS);
    }
  }

  setAskAbove(megabytes) {
    this.askAbove = megabytes * 1024 * 1024;
    storage.set(ASK_KEY, String(megabytes));
    this.changed(true);
  }

  // An envelope to one account, on its first open link (DataChannel or relay);
  // `links`: the conversation's, which leave blocked accounts out.
  toAccount(accountId, type, payload, links = this.mesh.conversation.links()) {
    const wire = frame(type, this.mesh.me.account_id, payload);
    return links.some((l) => l.peer.account_id === accountId && l.open && l.sendFrame(wire));
  }

  // The account was just blocked: every transfer with it, either way, stops
  // now and shows as cancelled. It gets one last `file_cancel` per transfer
  // (code `cancelled`, as if cancelled by hand) so its side stops too rather
  // than asking again forever; after that, nothing.
  dropAccount(accountId) {
    const every = [...this.mesh.links.values(), ...this.mesh.relay.links()];
    let dropped = 0;
    this.outgoing.forEach((out, id) => {
      const r = out.receivers.get(accountId);
      if (!r || !["offered", "sending"].includes(r.status)) return;
      r.status = "cancelled";
      r.wantFrom = null;
      this.closeChannel(r);
      this.toAccount(accountId, "file_cancel", { id, code: "cancelled", message: "The sender cancelled." }, every);
      this.settle(out);
      dropped += 1;
    });
    this.incoming.forEach((inc) => {
      if (inc.from !== accountId || !["offered", "receiving"].includes(inc.status)) return;
      this.stopIncoming(inc.key, "cancelled", "The receiver cancelled.", false);
      this.toAccount(accountId, "file_cancel", { id: inc.id, code: "cancelled", message: "The receiver cancelled." }, every);
      dropped += 1;
    });
    if (dropped) this.changed(true);
    return dropped;
  }

  // Every receiver answered for good: the transfer is over.
  settle(out) {
    if ([...out.receivers.values()].every((x) => x.status !== "sending" && x.status !== "offered")) {
      out.status = [...out.receivers.values()].some((x) => x.status === "done") ? "done" : "cancelled";
      this.outgoing.delete(out.id);
    }
  }

  peerLink(accountId) {
    return [...this.mesh.links.values()].find((l) => l.peer.account_id === accountId && l.open) || null;
  }

  // --- sending ------------------------------------------------------------------

  // Several files at once: each is hashed, then offered to every member connected now.
  sendFiles(fileList) {
    return Promise.all([...fileList].map((file) => this.sendFile(file)));
  }

  async sendFile(file) {
    const out = {
      id: uuid(), // crypto.randomUUID exists only in secure contexts; plain-HTTP deployments send files too
      mine: true,
      file,
      name: sanitizeName(file.name),
      size: file.size,
      status: "preparing",
      hashed: 0,
      receivers: new Map(), // account_id -> {name, status, next, acked, meter, channel, error}
      error: null, // fileError(): a code, said in the reader's language by the panel
    };
    this.items.push(out);
    if (file.size > this.maxBytes) {
      out.status = "failed";
      out.error = fileError("too_large", `Files are limited to ${formatBytes(this.maxBytes)}.`, this.maxBytes);
      return this.changed(true);
    }
    this.outgoing.set(out.id, out);
    this.changed(true);
    const hash = new Sha256();
    for (let at = 0; at < file.size; at += HASH_SLICE) {
      hash.update(await file.slice(at, at + HASH_SLICE).arrayBuffer());
      if (out.status === "cancelled") return;
      out.hashed = Math.min(file.size, at + HASH_SLICE);
      this.changed();
    }
    out.offer = { id: out.id, name: out.name, size: file.size, mime: file.type || "", sha256: hash.hex(), chunk: CHUNK };
    // Our own picture shows as the others will see it: only when its bytes prove it one.
    out.type = pictureType(new Uint8Array(await file.slice(0, 16).arrayBuffer()));
    out.url = out.type ? URL.createObjectURL(file) : "";
    out.total = chunkCount(file.size, CHUNK);
    const accounts = new Map();
    this.mesh.conversation.links().forEach((l) => l.open && !isPlaceholder(l.peer.account_id) && accounts.set(l.peer.account_id, l.peer.name));
    accounts.forEach((name, accountId) => {
      const account = this.mesh.conversation.accounts.get(accountId);
      out.receivers.set(accountId, {
        name: (account && account.name) || name || "…",
        status: "offered",
        next: 0,
        acked: 0,
        meter: new Meter(),
        channel: null,
        error: null,
        starts: [],
      });
      this.toAccount(accountId, "file_offer", out.offer);
    });
    out.status = out.receivers.size ? "sending" : "failed";
    if (!out.receivers.size) out.error = fileError("nobody", "Nobody is connected to send it to.");
    this.changed(true);
  }

  // Begin (or resume) the bytes to one receiver from chunk `from`, on a fresh channel.
  startSending(out, accountId, r) {
    const link = this.peerLink(accountId);
    const relay = link ? null : this.relayLink(accountId);
    if (r.wantFrom === null || r.wantFrom === undefined) return;
    r.note = link || relay ? null : fileError("waiting_direct", "waiting for a direct connection");
    if (!link && !relay) return this.changed(true);
    const from = r.wantFrom;
    r.wantFrom = null;
    if (r.channel) r.channel.close();
    r.channel = null;
    r.status = "sending";
    r.next = from;
    r.starts.push(from); // [0] unless resumed
    if (from >= out.total) return this.changed();
    if (relay) return this.relayPump(out, r, relay);
    r.relayed = false;
    const channel = link.pc.createDataChannel(channelLabel(out.id, from), { ordered: true });
    channel.binaryType = "arraybuffer";
    channel.bufferedAmountLowThreshold = LOW_WATER;
    r.channel = channel;
    channel.onopen = () => this.pump(out, r, channel);
    channel.onbufferedamountlow = () => this.pump(out, r, channel);
    this.changed();
  }

  async pump(out, r, channel) {
    if (r.pumping) return;
    r.pumping = true;
    try {
      const { size, chunk } = out.offer;
      while (r.channel === channel && channel.readyState === "open" && r.next < out.total && channel.bufferedAmount < HIGH_WATER) {
        const start = r.next * chunk;
        const bytes = new Uint8Array(await out.file.slice(start, Math.min(size, start + READ_CHUNKS * chunk)).arrayBuffer());
        if (r.channel !== channel || channel.readyState !== "open") break;
        for (let at = 0; at < bytes.length; at += chunk) {
          channel.send(bytes.subarray(at, at + chunk));
          r.next += 1;
        }
      }
    } catch (err) {
      console.warn("ephem: a file channel failed, the transfer resumes when the receiver asks again", err);
    } finally {
      r.pumping = false;
    }
  }

  // The pair's open relay link, when the operator lets files take the relay.
  relayLink(accountId) {
    const hello = this.mesh.session.hello;
    if (hello && hello.relay_files === false) return null;
    return this.mesh.relay.links().find((l) => l.peer.account_id === accountId && l.open) || null;
  }

  relayPump(out, r, relay) {
    return relayPump(this, out, r, relay);
  }

  cancelOutgoing(id) {
    const out = this.outgoing.get(id);
    if (!out) return;
    out.status = "cancelled";
    out.receivers.forEach((r, accountId) => {
      if (r.status !== "done" && r.status !== "declined") {
        r.status = "cancelled";
        this.toAccount(accountId, "file_cancel", { id, code: "cancelled", message: "The sender cancelled." });
      }
      this.closeChannel(r);
    });
    this.outgoing.delete(id);
    this.changed(true);
  }

  closeChannel(holder) {
    if (holder.channel) {
      const channel = holder.channel;
      holder.channel = null;
      try {
        channel.close();
      } catch (err) {
        /* closed already */
      }
    }
  }

  // Receivers' answers about a file we send.
  onAnswer(accountId, env) {
    const { id } = env.payload;
    const out = this.outgoing.get(id);
    const r = out && out.receivers.get(accountId);
    if (!r || ["done", "cancelled", "declined", "failed"].includes(r.status)) return;
    if (env.type === "file_accept") {
      const from = env.payload.from;
      if (!Number.isSafeInteger(from) || from < 0 || from > out.total) return;
      r.wantFrom = from;
      r.acked = Math.max(r.acked, from);
      this.startSending(out, accountId, r);
    } else if (env.type === "file_ack") {
      const upto = env.payload.upto;
      if (!Number.isSafeInteger(upto) || upto < r.acked || upto > out.total) return;
      r.acked = upto;
      r.meter.sample(Math.min(out.size, upto * out.offer.chunk));
    } else if (env.type === "file_done") {
      r.status = "done";
      r.acked = out.total;
      this.closeChannel(r);
    } else if (env.type === "file_cancel") {
      const { code, message, limit } = env.payload;
      r.status = code === "declined" ? "declined" : "cancelled";
      // The receiver's code, said here in our language; its English text only for a code we lack.
      r.error = fileError(code === "cancelled" ? "receiver_cancelled" : code, message, limit);
      this.closeChannel(r);
    }
    this.settle(out);
    this.changed(env.type !== "file_ack");
  }

  // --- receiving ----------------------------------------------------------------

  onOffer(link, env) {
    const accountId = link.peer.account_id;
    const checked = checkOffer(env.payload, this.maxBytes);
    if (!checked.ok) {
      const id = typeof env.payload.id === "string" ? env.payload.id.slice(0, 64) : "";
      const limit = checked.code === "too_large" ? { limit: this.maxBytes } : {};
      this.toAccount(accountId, "file_cancel", { id, code: checked.code, message: checked.message, ...limit });
      if (checked.code === "too_large") {
        const error = fileError("refused_too_large", `Refused: ${checked.message}`, this.maxBytes);
        this.items.push({ id, mine: false, from: accountId, name: sanitizeName(env.payload.name), size: 0, status: "failed", error });
        this.changed(true);
      }
      return;
    }
    const key = `${accountId}|${checked.offer.id}`;
    const known = this.incoming.get(key);
    if (known) {
      if (known.status === "receiving") this.toAccount(accountId, "file_accept", { id: known.id, from: known.rx.count });
      if (known.status === "done") this.toAccount(accountId, "file_done", { id: known.id }); // our first one was lost
      return;
    }
    const open = [...this.incoming.values()].filter((i) => i.from === accountId && ["offered", "receiving"].includes(i.status));
    if (open.length >= OPEN_PER_SENDER) {
      this.toAccount(accountId, "file_cancel", { id: checked.offer.id, code: "busy", message: "Too many files at once: send again later." });
      return;
    }
    const account = this.mesh.conversation.accounts.get(accountId);
    const inc = {
      id: checked.offer.id,
      key,
      mine: false,
      from: accountId,
      sender: (account && account.name) || link.peer.name || "…",
      name: checked.offer.name,
      size: checked.offer.size,
      offer: checked.offer,
      rx: null,
      status: "offered",
      meter: new Meter(),
      parts: [],
      partBytes: 0,
      blob: new Blob([]),
      channel: null,
      url: "",
      type: "",
      error: null,
    };
    this.incoming.set(key, inc);
    this.items.push(inc);
    if (inc.size <= this.askAbove) this.accept(key);
    else this.changed(true);
  }

  accept(key) {
    const inc = this.incoming.get(key);
    if (!inc || inc.status !== "offered") return;
    inc.status = "receiving";
    inc.rx = new Incoming(inc.offer);
    if (inc.rx.complete) return this.finish(inc); // an empty file
    this.toAccount(inc.from, "file_accept", { id: inc.id, from: 0 });
    this.changed(true);
  }

  decline(key) {
    this.stopIncoming(key, "declined", "The receiver declined.");
  }

  cancelIncoming(key) {
    this.stopIncoming(key, "cancelled", "The receiver cancelled.");
  }

  stopIncoming(key, code, message, tell = true) {
    const inc = this.incoming.get(key);
    if (!inc || !["offered", "receiving"].includes(inc.status)) return;
    inc.status = code === "declined" ? "declined" : code === "cancelled" ? "cancelled" : "failed";
    inc.error = code === "declined" || code === "cancelled" ? null : fileError(code, message);
    inc.parts = [];
    inc.blob = null;
    this.closeChannel(inc);
    if (tell) this.toAccount(inc.from, "file_cancel", { id: inc.id, code, message });
    this.changed(true);
  }

  // A `file:` channel the other side opened on `link`.
  onChannel(link, channel) {
    const label = parseLabel(channel.label);
    if (!label) return;
    const inc = this.incoming.get(`${link.peer.account_id}|${label.id}`);
    if (!inc || inc.status !== "receiving") {
      channel.close();
      return;
    }
    this.closeChannel(inc);
    inc.channel = channel;
    channel.binaryType = "arraybuffer";
    let index = label.first;
    channel.onmessage = ({ data }) => {
      if (inc.channel !== channel || inc.status !== "receiving" || typeof data === "string") return;
      inc.relayed = false;
      this.takeChunk(inc, index, data);
      index += 1;
    };
    // Closed before the end (the link dropped): `linkOpen` asks again once a link is back.
    channel.onclose = () => {
      if (inc.channel === channel) inc.channel = null;
    };
  }

  onRelayedChunk(accountId, p) {
    onRelayedChunk(this, accountId, p);
  }

  // One whole chunk, from a file channel or the relay.
  takeChunk(inc, index, data) {
    const taken = inc.rx.take(index, data);
    if (!taken.ok) return this.stopIncoming(inc.key, taken.code, taken.message);
    if (!taken.fresh) return;
    inc.parts.push(data);
    inc.partBytes += data.byteLength;
    // Chromium keeps Blob data outside the JavaScript heap (on disk when large).
    if (inc.partBytes >= COMPACT_BYTES) this.compact(inc);
    inc.meter.sample(inc.rx.bytes);
    const upto = inc.rx.ackDue();
    if (upto !== null) this.toAccount(inc.from, "file_ack", { id: inc.id, upto });
    if (inc.rx.complete) this.finish(inc);
    else this.changed();
  }

  compact(inc) {
    inc.blob = new Blob([inc.blob, ...inc.parts]);
    inc.parts = [];
    inc.partBytes = 0;
  }

  finish(inc) {
    const verified = inc.rx.verify();
    if (!verified.ok) return this.stopIncoming(inc.key, verified.code, verified.message);
    this.compact(inc);
    // A proven picture keeps its type; anything else is only ever bytes to download.
    inc.type = verified.type;
    inc.blob = new Blob([inc.blob], { type: verified.type });
    inc.url = URL.createObjectURL(inc.blob);
    inc.status = "done";
    this.closeChannel(inc);
    this.toAccount(inc.from, "file_done", { id: inc.id });
    this.changed(true);
  }

  // --- the mesh's hooks -----------------------------------------------------------

  linkAdded(link) {
    link.pc.addEventListener("datachannel", ({ channel }) => this.onChannel(link, channel));
  }

  // A DataChannel (re)opened: transfers with this account go on where they stopped.
  linkOpen(link) {
    const accountId = link.peer.account_id;
    this.incoming.forEach((inc) => {
      if (inc.from === accountId && inc.status === "receiving" && !(inc.channel && inc.channel.readyState === "open")) {
        this.toAccount(accountId, "file_accept", { id: inc.id, from: inc.rx.count });
      }
    });
    this.outgoing.forEach((out) => {
      const r = out.receivers.get(accountId);
      if (r && r.wantFrom !== null && r.wantFrom !== undefined) this.startSending(out, accountId, r);
      // Offered again: a receiver that got every byte answers `file_done` (its first one may have
      // gone down with the old connection), one still receiving asks from what it holds.
      else if (r && r.status === "sending") this.toAccount(accountId, "file_offer", out.offer);
    });
  }

  receive(link, env) {
    const needs = NEEDS[env.type];
    if (!needs || needs.some((k) => !(k in env.payload)) || (env.type !== "file_offer" && typeof env.payload.id !== "string")) return;
    if (env.type === "file_offer") return this.onOffer(link, env);
    const accountId = link.peer.account_id;
    if (env.type === "file_chunk") return this.onRelayedChunk(accountId, env.payload);
    if (env.type === "file_cancel") {
      const inc = this.incoming.get(`${accountId}|${env.payload.id}`);
      if (inc) {
        this.stopIncoming(inc.key, env.payload.code === "cancelled" ? "cancelled" : "sender_stopped", "The sender stopped.", false);
        return;
      }
    }
    this.onAnswer(accountId, env);
  }

  close() {
    this.closed = true;
    clearTimeout(this.notifyTimer);
    clearInterval(this.stallTimer);
    this.outgoing.forEach((out) => out.receivers.forEach((r) => this.closeChannel(r)));
    this.incoming.forEach((inc) => this.closeChannel(inc));
    this.items.forEach((item) => item.url && URL.revokeObjectURL(item.url));
  }
}

// What the panel shows of a transfer's progress: bytes done, of, speed, seconds left.
export function progressOf(item, receiver = null) {
  if (item.mine && item.status === "preparing") return { done: item.hashed, of: item.size, speed: 0, eta: null };
  if (receiver) {
    const done = Math.min(item.size, receiver.acked * (item.offer ? item.offer.chunk : CHUNK));
    return { done, of: item.size, speed: receiver.meter.speed, eta: receiver.meter.eta(item.size - done) };
  }
  const done = item.rx ? item.rx.bytes : item.status === "done" ? item.size : 0;
  return { done, of: item.size, speed: item.meter ? item.meter.speed : 0, eta: item.meter ? item.meter.eta(item.size - done) : null };
}
