// Files peer to peer, the rules without a transport: the twin of
// ephem/peer/files.py, both held to tests/vectors/files.json. What an offer
// may say, what a received name becomes, which bytes make a picture, and the
// receiving side of one transfer: chunks counted in order, a size that lies
// refused, the SHA-256 checked at the end, the chunk to resume from.

import { Sha256 } from "./sha256.js";

export const CHUNK = 64 * 1024; // bytes per chunk we send (one DataChannel message)
export const MIN_CHUNK = 1024;
export const MAX_CHUNK = 256 * 1024; // Chromium's and aiortc's max-message-size
export const MAX_BYTES = 2 * 1024 ** 3; // hard cap per file, unless configured otherwise
export const ASK_ABOVE = 25 * 1024 ** 2; // files above this wait for the receiver to accept
export const ACK_EVERY = 8; // the receiver acks every this many chunks (and the last)
export const MAX_NAME = 120; // characters of a file name kept
export const MAX_MIME = 100;
export const LABEL = "file:"; // per-transfer DataChannels: `file:<id>:<first chunk>`
const ID = /^[A-Za-z0-9-]{8,64}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

// A file name from another peer, safe to show and to save: its last path
// component, no control or bidi-override characters, none that file
// systems reserve, no leading dots (hidden files), at most MAX_NAME
// characters with the extension kept.
export function sanitizeName(raw) {
  let name = typeof raw === "string" ? raw : "";
  name = name.split(/[/\\]/).pop();
  name = name.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "");
  name = name.replace(/[<>:"|?*]/g, "_");
  name = name.trim().replace(/^[.\s]+/, "").replace(/[.\s]+$/, "");
  if (RESERVED.test(name)) name = `_${name}`;
  const chars = [...name];
  if (chars.length > MAX_NAME) {
    const dot = name.lastIndexOf(".");
    const ext = dot > 0 ? [...name.slice(dot)] : [];
    const keep = ext.length > 0 && ext.length <= 16 ? ext : [];
    name = chars.slice(0, MAX_NAME - keep.length).join("") + keep.join("");
  }
  return name || "file";
}

const isCount = (n) => Number.isSafeInteger(n) && n >= 0;

// `{ok: true, offer}` (its name sanitised, its mime a plain string) or
// `{ok: false, code, message}`: what the receiver answers with `file_cancel`.
export function checkOffer(payload, maxBytes = MAX_BYTES) {
  const p = payload && typeof payload === "object" ? payload : {};
  if (typeof p.id !== "string" || !ID.test(p.id)) return refuse("invalid_offer", "The file offer has no valid id.");
  if (!isCount(p.size)) return refuse("invalid_offer", "The file offer has no valid size.");
  if (!Number.isSafeInteger(p.chunk) || p.chunk < MIN_CHUNK || p.chunk > MAX_CHUNK) {
    return refuse("invalid_offer", "The file offer has no valid chunk size.");
  }
  if (typeof p.sha256 !== "string" || !HEX64.test(p.sha256)) return refuse("invalid_offer", "The file offer has no valid SHA-256.");
  if (p.size > maxBytes) return refuse("too_large", `Files are limited to ${formatBytes(maxBytes)}.`);
  const mime = typeof p.mime === "string" && p.mime.length <= MAX_MIME ? p.mime : "";
  return { ok: true, offer: { id: p.id, name: sanitizeName(p.name), size: p.size, mime, sha256: p.sha256, chunk: p.chunk } };
}

const refuse = (code, message) => ({ ok: false, code, message });

export const chunkCount = (size, chunk) => Math.ceil(size / chunk);

// The picture type the first bytes prove, or "" (a mime type is only a claim).
// SVG is never one: it can carry scripts.
export function pictureType(head) {
  const b = head instanceof Uint8Array ? head : new Uint8Array(head || []);
  const starts = (bytes, at = 0) => bytes.every((x, i) => b[at + i] === x);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (starts([0xff, 0xd8, 0xff])) return "image/jpeg";
  if (starts([0x47, 0x49, 0x46, 0x38, 0x37, 0x61]) || starts([0x47, 0x49, 0x46, 0x38, 0x39, 0x61])) return "image/gif";
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return "image/webp";
  return "";
}

// The type a received file is handed out as: a proven picture, else bytes.
export const safeType = (head) => pictureType(head) || "application/octet-stream";

// The receiving side of one transfer. Chunks arrive in order (one reliable,
// ordered channel at a time); after a drop the sender resumes from `count`,
// the chunks received so far, and anything it sends again is skipped.
export class Incoming {
  constructor(offer) {
    this.offer = offer;
    this.total = chunkCount(offer.size, offer.chunk);
    this.count = 0;
    this.bytes = 0;
    this.acked = 0; // chunks we have acked
    this.hash = new Sha256();
    this.head = new Uint8Array(0); // the first bytes, for pictureType
  }

  get complete() {
    return this.count === this.total;
  }

  // One chunk, numbered `index` (the channel's first chunk plus its place).
  // `{ok: true, fresh}` (fresh: new bytes, to keep) or `{ok: false, code, message}`.
  take(index, data) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (index < this.count) return { ok: true, fresh: false }; // resent after a resume
    if (index > this.count) return refuse("out_of_order", "A part of the file went missing.");
    const expected = Math.min(this.offer.chunk, this.offer.size - this.bytes);
    if (index >= this.total || bytes.length !== expected) {
      return refuse("size_mismatch", "The file is not the size it was offered as.");
    }
    this.hash.update(bytes);
    if (this.head.length < 16) this.head = bytes.slice(0, 16);
    this.count += 1;
    this.bytes += bytes.length;
    return { ok: true, fresh: true };
  }

  // The `upto` of a `file_ack` due now, or null: every ACK_EVERY chunks and the last.
  ackDue() {
    if (this.count === this.acked) return null;
    if (this.count - this.acked < ACK_EVERY && !this.complete) return null;
    this.acked = this.count;
    return this.count;
  }

  // Once complete: `{ok: true, type}` or the mismatch. Call once.
  verify() {
    if (!this.complete) return refuse("size_mismatch", "The file is not the size it was offered as.");
    if (this.hash.hex() !== this.offer.sha256) return refuse("corrupt", "The file arrived damaged (its SHA-256 differs).");
    return { ok: true, type: safeType(this.head) };
  }
}

// Speed over the last few seconds, and the time left at that speed.
export class Meter {
  constructor(windowMs = 3000) {
    this.windowMs = windowMs;
    this.samples = []; // [ms, bytes]
  }

  sample(bytes, now = Date.now()) {
    this.samples.push([now, bytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > this.windowMs) this.samples.shift();
  }

  // Bytes per second, 0 until two samples span some time.
  get speed() {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  // Seconds left for `remaining` bytes, or null while the speed is unknown.
  eta(remaining) {
    const speed = this.speed;
    return speed > 0 ? remaining / speed : null;
  }
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 ? Math.round(value) : Math.round(value * 10) / 10} ${units[unit]}`;
}

export function formatDuration(seconds) {
  if (seconds === null || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// A per-transfer channel's label and what it says.
export const channelLabel = (id, first) => `${LABEL}${id}:${first}`;

export function parseLabel(label) {
  const m = /^file:([A-Za-z0-9-]{8,64}):(\d{1,10})$/.exec(label || "");
  return m ? { id: m[1], first: Number(m[2]) } : null;
}
