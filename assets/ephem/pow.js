// Proof of work (hashcash), the twin of ephem/pow.py: a nonce such that
// SHA-256(challenge.id + ":" + nonce) starts with `difficulty` zero bits.
// Solved in a Web Worker so the page stays responsive; the worker is built
// from these very functions (a Blob), so it survives any bundling. The hash is
// sha256.js's, not WebCrypto's: a page that is not secure (plain HTTP beyond
// localhost) has no crypto.subtle, and one block hashes faster here than an
// awaited digest does.

import { Sha256 } from "./sha256.js";

export function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

export function solves(id, difficulty, nonce) {
  return leadingZeroBits(new Sha256().update(new TextEncoder().encode(`${id}:${nonce}`)).digest()) >= difficulty;
}

// The first decimal nonce that solves `challenge`; `progress(tries)` now and
// then. `Hash`: the worker passes its own copy of the class (its name there
// is not the bundle's).
export async function solve(challenge, progress = () => {}, Hash = Sha256) {
  const encoder = new TextEncoder();
  const prefix = `${challenge.id}:`;
  for (let nonce = 0; ; nonce += 1) {
    const bytes = new Hash().update(encoder.encode(prefix + nonce)).digest();
    let bits = 0;
    for (const byte of bytes) {
      if (byte) {
        bits += Math.clz32(byte) - 24;
        break;
      }
      bits += 8;
    }
    if (bits >= challenge.difficulty) return String(nonce);
    if (nonce % 4096 === 4095) progress(nonce + 1);
  }
}

// A challenge as the server sent it: only these are worth a worker's time.
export function isChallenge(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.id === "string" &&
    /^[0-9a-f]{32}$/.test(value.id) &&
    Number.isInteger(value.difficulty) &&
    value.difficulty >= 0 &&
    value.difficulty <= 32
  );
}

// A throw in an async onmessage fires no `error` event: it is posted instead.
const WORKER_SOURCE = `const Hash = (${Sha256});\nconst solve = (${solve});
onmessage = async (e) => {
  try {
    postMessage({ nonce: await solve(e.data, (tries) => postMessage({ tries }), Hash) });
  } catch (err) {
    postMessage({ error: String(err) });
  }
};`;

// Solves in a worker (or here, where there are none); `progress(tries)` as it goes.
export function solveInWorker(challenge, progress = () => {}) {
  if (typeof Worker === "undefined") return solve(challenge, progress);
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const worker = new Worker(url);
    const done = () => {
      worker.terminate();
      URL.revokeObjectURL(url);
    };
    worker.onmessage = (e) => {
      if (e.data.tries !== undefined) return progress(e.data.tries);
      done();
      if (e.data.error !== undefined) reject(new Error(e.data.error));
      else resolve(e.data.nonce);
    };
    worker.onerror = (e) => {
      done();
      reject(new Error(e.message || "the proof-of-work worker failed"));
    };
    worker.postMessage(challenge);
  });
}

// `send(payload)`; an answer that carries a challenge is solved and sent again
// with the proof, a few times at most (the twin of `_paying` in ephem/peer/client.py).
export async function paying(send, payload, { tries = 3, solver = solveInWorker, solving = () => {} } = {}) {
  let answer;
  for (let i = 0; i < tries; i += 1) {
    answer = await send(payload);
    const challenge = answer && answer.error && answer.error.challenge;
    if (!isChallenge(challenge)) break;
    solving(challenge);
    const nonce = await solver(challenge);
    payload = { ...payload, pow: { challenge, nonce } };
  }
  return answer;
}
