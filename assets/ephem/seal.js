// End-to-end sealing for the relay rung, and safety codes: the twin of
// ephem/peer/seal.py (read its docstring for the construction). Pure: give it
// a WebCrypto `subtle` (the page's, or Node's globalThis.crypto.subtle).

const enc = new TextEncoder();
const LABEL = enc.encode("ephem-relay-v1");
const SAFETY_LABEL = enc.encode("ephem-safety-v1");
const VERSION = 1;
const HEADER = 9;
const P256 = { name: "ECDH", namedCurve: "P-256" };

export class SealError extends Error {}

export function b64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function unb64(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
    throw new SealError("not base64 text");
  }
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// { privateKey, public: Uint8Array(65) }; the private key never leaves WebCrypto.
export async function generateKeyPair(subtle) {
  const pair = await subtle.generateKey(P256, false, ["deriveBits"]);
  return { privateKey: pair.privateKey, public: new Uint8Array(await subtle.exportKey("raw", pair.publicKey)) };
}

export async function keyPairFromJwk(subtle, jwk) {
  const privateKey = await subtle.importKey("jwk", jwk, P256, false, ["deriveBits"]);
  const { d, ...publicJwk } = jwk; // eslint-disable-line no-unused-vars
  const publicKey = await subtle.importKey("jwk", { ...publicJwk, key_ops: [] }, P256, true, []);
  return { privateKey, public: new Uint8Array(await subtle.exportKey("raw", publicKey)) };
}

export async function pairKey(subtle, mine, theirs, enclaveId) {
  if (!(theirs instanceof Uint8Array) || theirs.length !== 65) throw new SealError("a public key is an uncompressed P-256 point");
  let publicKey;
  try {
    publicKey = await subtle.importKey("raw", theirs, P256, false, []);
  } catch {
    throw new SealError("not a point on P-256");
  }
  const secret = await subtle.deriveBits({ name: "ECDH", public: publicKey }, mine.privateKey, 256);
  const [first, second] = compareBytes(mine.public, theirs) < 0 ? [mine.public, theirs] : [theirs, mine.public];
  const salt = new Uint8Array(await subtle.digest("SHA-256", concat(LABEL, first, second)));
  const hkdf = await subtle.importKey("raw", secret, "HKDF", false, ["deriveKey"]);
  return subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info: concat(LABEL, enc.encode(" " + enclaveId)) },
    hkdf,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function nonce(direction, counter) {
  const out = new Uint8Array(12);
  out[0] = direction;
  new DataView(out.buffer).setBigUint64(4, BigInt(counter));
  return out;
}

const aad = (enclaveId, sender, receiver) =>
  concat(LABEL, [0], enc.encode(enclaveId), [0], enc.encode(sender), [0], enc.encode(receiver));

// One pair's sealed relay from one side. seal/open keep call order: the
// counter is taken at the call, and opens run one after another.
export class Channel {
  static async create(subtle, mine, theirs, enclaveId, me, them) {
    return new Channel(subtle, await pairKey(subtle, mine, theirs, enclaveId), mine, theirs, enclaveId, me, them);
  }

  constructor(subtle, key, mine, theirs, enclaveId, me, them) {
    Object.assign(this, { subtle, key, theirs, enclaveId, me, them });
    this.outDirection = compareBytes(mine.public, theirs) < 0 ? 0 : 1;
    this.sent = 0;
    this.opened = 0;
    this.opening = Promise.resolve();
  }

  async seal(plaintext) {
    const counter = ++this.sent;
    const data = typeof plaintext === "string" ? enc.encode(plaintext) : plaintext;
    const sealed = await this.subtle.encrypt(
      { name: "AES-GCM", iv: nonce(this.outDirection, counter), additionalData: aad(this.enclaveId, this.me, this.them) },
      this.key,
      data,
    );
    const head = new Uint8Array(HEADER);
    head[0] = VERSION;
    new DataView(head.buffer).setBigUint64(1, BigInt(counter));
    return b64(concat(head, new Uint8Array(sealed)));
  }

  // Resolves to the plaintext bytes, or rejects with a SealError.
  open(frame) {
    const result = this.opening.then(() => this.openNow(frame));
    this.opening = result.catch(() => {});
    return result;
  }

  async openNow(frame) {
    const raw = unb64(frame);
    if (raw.length < HEADER + 16 || raw[0] !== VERSION) throw new SealError("not a relay frame");
    const counter = Number(new DataView(raw.buffer, raw.byteOffset).getBigUint64(1));
    if (counter <= this.opened) throw new SealError("replayed or out of order");
    let plain;
    try {
      plain = await this.subtle.decrypt(
        { name: "AES-GCM", iv: nonce(1 - this.outDirection, counter), additionalData: aad(this.enclaveId, this.them, this.me) },
        this.key,
        raw.subarray(HEADER),
      );
    } catch {
      throw new SealError("tampered with, or sealed with another key");
    }
    this.opened = counter;
    return new Uint8Array(plain);
  }
}

// Its SHA-256 fingerprint, else the first (aiortc answers with SHA-512 alone);
// both members read the same SDP text, as their local and remote descriptions.
export function fingerprintOf(sdp) {
  const found = [...(sdp || "").matchAll(/^a=fingerprint:([A-Za-z0-9-]+) ([0-9A-Fa-f:]+)\s*$/gm)];
  const chosen = found.find((m) => m[1].toLowerCase() === "sha-256") || found[0];
  return chosen ? chosen[2].toUpperCase() : "";
}

export async function safetyCode(subtle, publicA, fingerprintA, publicB, fingerprintB) {
  const sides = [
    [publicA, fingerprintA.toUpperCase()],
    [publicB, fingerprintB.toUpperCase()],
  ].sort((x, y) => compareBytes(x[0], y[0]) || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  const digest = new Uint8Array(
    await subtle.digest("SHA-256", concat(SAFETY_LABEL, ...sides.flatMap(([p, f]) => [p, enc.encode(f + "\n")]))),
  );
  const value = new DataView(digest.buffer).getBigUint64(0) % 10n ** 12n;
  const digits = value.toString().padStart(12, "0");
  return `${digits.slice(0, 4)} ${digits.slice(4, 8)} ${digits.slice(8)}`;
}
