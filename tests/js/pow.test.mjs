// The proof-of-work solver, against the shared tests/vectors/pow.json
// (tests/domain/test_pow.py runs the same against ephem/pow.py).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { isChallenge, leadingZeroBits, paying, solve, solveInWorker, solves } from "../../assets/ephem/pow.js";

const VECTORS = JSON.parse(readFileSync(new URL("../vectors/pow.json", import.meta.url), "utf8"));

describe("shared vectors", () => {
  for (const v of VECTORS) {
    test(v.note, async () => {
      assert.equal(await solves(v.id, v.difficulty, v.nonce), v.valid);
    });
  }
});

test("leading zero bits", () => {
  assert.equal(leadingZeroBits(new Uint8Array([0, 0, 255])), 16);
  assert.equal(leadingZeroBits(new Uint8Array([0, 1])), 15);
  assert.equal(leadingZeroBits(new Uint8Array([128])), 0);
  assert.equal(leadingZeroBits(new Uint8Array([0, 0])), 16);
});

test("solve finds the same first nonce as the Python solver", async () => {
  for (const v of VECTORS.filter((v) => v.valid && /^\d+$/.test(v.nonce) && v.difficulty > 0)) {
    assert.equal(await solve({ id: v.id, difficulty: v.difficulty }), v.nonce);
  }
});

test("solveInWorker solves here where there is no Worker", async () => {
  const challenge = { id: "0123456789abcdef0123456789abcdef", difficulty: 10 };
  const nonce = await solveInWorker(challenge);
  assert.ok(await solves(challenge.id, 10, nonce));
});

test("only well-formed challenges are worked on", () => {
  const good = { id: "0123456789abcdef0123456789abcdef", difficulty: 12, purpose: "search", expires_at: 1, signature: "x" };
  assert.ok(isChallenge(good));
  for (const bad of [null, "x", { ...good, id: "zz" }, { ...good, difficulty: 40 }, { ...good, difficulty: "12" }, { ...good, difficulty: 1.5 }]) {
    assert.equal(isChallenge(bad), false);
  }
});

test("paying resends with the proof, and gives up after a few tries", async () => {
  const challenge = { id: "ffffffffffffffffffffffffffffffff", difficulty: 8 };
  const sent = [];
  const answer = await paying(
    async (payload) => {
      sent.push(payload);
      return payload.pow ? { ok: true } : { ok: false, error: { code: "proof_required", message: "m", challenge } };
    },
    { a: 1 },
    { solver: solve },
  );
  assert.deepEqual(answer, { ok: true });
  assert.equal(sent.length, 2);
  assert.equal(sent[1].a, 1);
  assert.ok(await solves(challenge.id, 8, sent[1].pow.nonce));
  let calls = 0;
  const refused = await paying(async () => ((calls += 1), { ok: false, error: { code: "proof_required", challenge } }), {}, { solver: solve });
  assert.equal(refused.error.code, "proof_required");
  assert.equal(calls, 3);
  const plain = await paying(async () => ({ ok: false, error: { code: "banned" } }), {}, { solver: solve });
  assert.equal(plain.error.code, "banned");
});
