// Envelope helpers beyond the shared vectors: fresh ids and times, counting
// and cutting text by characters.

import assert from "node:assert/strict";
import { test } from "node:test";
import { clip, envelope, frame, MAX_NAME, parseEnvelope, textLength } from "../../assets/ephem/envelope.js";

test("a new envelope has a fresh UUID and an ISO 8601 time, and parses back", () => {
  const one = envelope("chat", "acct", { text: "hi" });
  const two = envelope("chat", "acct", { text: "hi" });
  assert.match(one.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(one.id, two.id);
  assert.equal(new Date(one.ts).toISOString(), one.ts);
  assert.deepEqual(Object.keys(one), ["v", "type", "id", "ts", "from", "payload"]);
  assert.deepEqual(parseEnvelope(JSON.stringify(one)), one);
  const wire = JSON.parse(frame("ack", "acct", { of: one.id }));
  assert.equal(wire.type, "ack");
  assert.equal(wire.payload.of, one.id);
});

test("text is counted and cut in characters, never halving an emoji", () => {
  assert.equal(textLength("a👋🏽b"), 4); // the skin tone is a character of its own
  assert.equal(textLength("\ud800"), 1); // a lone surrogate too, as in Python
  assert.equal(clip("😀".repeat(MAX_NAME + 1)), "😀".repeat(MAX_NAME));
  assert.equal(clip("short"), "short");
  assert.equal(clip("ab😀c", 3), "ab😀");
});
