// Files over the relay rung, for a pair with no DataChannel: part of
// file_links.js (its twin is ephem/peer/file_links.py). Each chunk goes as
// `file_chunk {id, n, at, data}` envelopes, RELAY_PART bytes each, base64,
// sealed like any other envelope by relay_rung.js, and paced under the
// server's byte budget per pair (256 KiB/s of relay frames).

import { frame } from "./envelope.js";
import { b64, unb64 } from "./seal.js";

export const RELAY_PART = 24 * 1024;
const RELAY_CHARS_PER_S = 200 * 1024;
const REASK_MS = 2000; // a receiver that saw a gap asks again at most this often

// Chunks from r.next as sealed `file_chunk` envelopes; stops when the
// receiver asks again (a DataChannel opened) or the transfer ends.
export async function relayPump(files, out, r, relay) {
  const run = { readyState: "open", close() { this.readyState = "closed"; } };
  r.channel = run;
  r.relayed = true;
  files.changed(true);
  const { size, chunk } = out.offer;
  const me = files.mesh.me.account_id;
  while (r.channel === run && r.next < out.total && relay.open) {
    if (!relay.writable) {
      await sleep(100);
      continue;
    }
    const start = r.next * chunk;
    const bytes = new Uint8Array(await out.file.slice(start, Math.min(size, start + chunk)).arrayBuffer());
    for (let at = 0; at < bytes.length && r.channel === run; at += RELAY_PART) {
      const wire = frame("file_chunk", me, { id: out.id, n: r.next, at, data: b64(bytes.subarray(at, at + RELAY_PART)) });
      relay.sendFrame(wire);
      await sleep((wire.length * 1.4 * 1000) / RELAY_CHARS_PER_S); // sealed and base64 again on the way
    }
    if (r.channel === run) r.next += 1;
  }
}

// A part of a chunk that came through the relay rung. Parts of the chunk
// we want are gathered in order; a gap (a refused frame) asks again.
export function onRelayedChunk(files, accountId, p) {
  const inc = files.incoming.get(`${accountId}|${p.id}`);
  if (!inc || inc.status !== "receiving" || typeof p.data !== "string") return;
  if (!Number.isSafeInteger(p.n) || !Number.isSafeInteger(p.at) || p.n < inc.rx.count) return; // resent
  inc.gathered ||= { n: inc.rx.count, parts: [], bytes: 0 };
  const g = inc.gathered;
  if (g.n !== inc.rx.count) Object.assign(g, { n: inc.rx.count, parts: [], bytes: 0 });
  if (p.n !== g.n || p.at !== g.bytes) {
    if (Date.now() - (inc.reasked || 0) > REASK_MS) {
      inc.reasked = Date.now();
      Object.assign(g, { parts: [], bytes: 0 });
      files.toAccount(accountId, "file_accept", { id: inc.id, from: inc.rx.count });
    }
    return;
  }
  let data;
  try {
    data = unb64(p.data);
  } catch {
    return files.stopIncoming(inc.key, "corrupt", "The file arrived damaged.");
  }
  const expected = Math.min(inc.offer.chunk, inc.offer.size - inc.rx.bytes);
  if (g.bytes + data.length > expected) return files.stopIncoming(inc.key, "size_mismatch", "The file is not the size it was offered as.");
  g.parts.push(data);
  g.bytes += data.length;
  inc.relayed = true;
  if (g.bytes < expected) return files.changed();
  const whole = new Uint8Array(g.bytes);
  g.parts.reduce((at, part) => (whole.set(part, at), at + part.length), 0);
  Object.assign(g, { n: g.n + 1, parts: [], bytes: 0 });
  files.takeChunk(inc, g.n - 1, whole.buffer);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
