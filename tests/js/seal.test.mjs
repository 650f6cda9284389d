// tests/vectors/seal.json against assets/ephem/seal.js; tests/peer/test_seal.py runs the same in Python.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Channel, fingerprintOf, keyPairFromJwk, safetyCode, SealError, generateKeyPair, unb64 } from "../../assets/ephem/seal.js";

const V = JSON.parse(readFileSync(new URL("../vectors/seal.json", import.meta.url)));
const subtle = globalThis.crypto.subtle;
const dec = new TextDecoder();

const member = (name) => keyPairFromJwk(subtle, V[name].jwk);
const channel = async (me, them, enclaveId = V.enclave_id) =>
  Channel.create(subtle, await member(me), unb64(V[them].public), enclaveId, V[me].account_id, V[them].account_id);

test("the public keys come from the private ones", async () => {
  for (const name of ["alice", "bob"]) {
    assert.deepEqual((await member(name)).public, unb64(V[name].public));
  }
});

for (const [sender, receiver, cases] of [["alice", "bob", "alice_to_bob"], ["bob", "alice", "bob_to_alice"]]) {
  test(`${sender} seals byte for byte and ${receiver} opens`, async () => {
    const sealing = await channel(sender, receiver);
    const opening = await channel(receiver, sender);
    for (const c of V[cases]) {
      assert.equal(await sealing.seal(c.plaintext), c.frame);
      assert.equal(dec.decode(await opening.open(c.frame)), c.plaintext);
    }
  });
}

describe("refused frames", () => {
  for (const c of V.rejected_by_bob) {
    test(c.name, async () => {
      const bob = await channel("bob", "alice");
      for (const earlier of V.alice_to_bob.slice(0, c.after)) await bob.open(earlier.frame);
      await assert.rejects(bob.open(c.frame), SealError);
      const following = V.alice_to_bob[c.after];
      assert.equal(dec.decode(await bob.open(following.frame)), following.plaintext);
    });
  }
  test("a frame sealed for another enclave", async () => {
    const other = await channel("bob", "alice", V.wrong_enclave);
    await assert.rejects(other.open(V.alice_to_bob[0].frame), SealError);
  });
  test("keys that are not points", async () => {
    const alice = await member("alice");
    const bad = new Uint8Array(65).fill(1);
    bad[0] = 4;
    await assert.rejects(Channel.create(subtle, alice, bad, "E", "a", "b"), SealError);
    await assert.rejects(Channel.create(subtle, alice, new Uint8Array(10), "E", "a", "b"), SealError);
  });
});

test("the safety code is the same from both sides and changes with a swapped key", async () => {
  const s = V.safety;
  const alice = unb64(V.alice.public);
  const bob = unb64(V.bob.public);
  const code = await safetyCode(subtle, alice, s.alice_fingerprint, bob, s.bob_fingerprint);
  assert.equal(code, s.code);
  assert.equal(await safetyCode(subtle, bob, s.bob_fingerprint, alice, s.alice_fingerprint), code);
  const swapped = await safetyCode(subtle, alice, s.alice_fingerprint, unb64(s.mallory_public), s.bob_fingerprint);
  assert.equal(swapped, s.code_with_bob_key_swapped);
  assert.notEqual(swapped, code);
});

test("the dtls fingerprint is read from the sdp", () => {
  for (const c of V.fingerprints) assert.equal(fingerprintOf(c.sdp), c.fingerprint);
});

test("fresh pairs agree, each direction counting on its own", async () => {
  const a = await generateKeyPair(subtle);
  const b = await generateKeyPair(subtle);
  const ab = await Channel.create(subtle, a, b.public, "E", "A", "B");
  const ba = await Channel.create(subtle, b, a.public, "E", "B", "A");
  assert.equal(dec.decode(await ba.open(await ab.seal("one"))), "one");
  assert.equal(dec.decode(await ab.open(await ba.seal("uno"))), "uno");
  assert.equal(dec.decode(await ba.open(await ab.seal("two"))), "two");
});
