// The shared cases of tests/vectors/envelope_conversation.json, run against
// assets/ephem/; tests/test_vectors.py runs the same against the Python side.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { checkText, envelope, parseEnvelope } from "../../assets/ephem/envelope.js";
import { conversation, frame, joined, Link, VECTORS } from "./harness.mjs";

const rawOf = (c) => ("raw_parts" in c ? joined(c.raw_parts) : "raw" in c ? c.raw : c.raw_value);

describe("parse", () => {
  for (const c of VECTORS.parse) {
    test(c.name, () => {
      const env = parseEnvelope(rawOf(c));
      assert.equal(env !== null, c.valid);
      if (c.valid) assert.equal(env.type, c.type);
    });
  }
});

describe("build", () => {
  for (const c of VECTORS.build) {
    test(c.name, () => {
      const built = envelope(c.type, c.from, c.payload, c.id, c.ts);
      assert.equal(JSON.stringify(built), c.frame);
      assert.deepEqual(parseEnvelope(c.frame), built);
    });
  }
});

describe("text", () => {
  for (const c of VECTORS.text) {
    test(c.name, () => {
      const text = "text" in c ? c.text : joined(c.text_parts);
      const checked = checkText(text);
      assert.equal(checked.ok, c.ok);
      if (c.ok) assert.equal(checked.text, c.clean ?? text.trim());
    });
  }
});

describe("conversation", () => {
  // Grace periods and leaving for good run on timers.
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  for (const scenario of VECTORS.conversation) {
    test(scenario.name, () => run(scenario.steps));
  }
});

function run(steps) {
  const { conv, links } = conversation([]);
  const byName = new Map();
  const labels = new Map(); // label -> id
  const labelOf = new Map(); // id -> label
  const ident = (label) => labels.get(label) ?? label;
  const label = (id) => labelOf.get(id) ?? id;
  let serial = 0;
  for (const step of steps) {
    const link = byName.get(step.link);
    switch (step.op) {
      case "link": {
        const made = new Link(step.account, { open: step.open, writable: step.writable ?? true });
        byName.set(step.link, made);
        links.push(made);
        conv.linkAdded(step.account);
        if (made.open) conv.linkOpen(made);
        break;
      }
      case "open":
        link.open = true;
        conv.linkOpen(link);
        break;
      case "close":
        link.open = false;
        links.splice(links.indexOf(link), 1);
        conv.startGrace(link.peer.account_id);
        break;
      case "writable":
        link.writable = true;
        break;
      case "flush":
        conv.flush(step.account);
        break;
      case "leave":
        conv.startGrace(step.account, true);
        mock.timers.tick(0);
        break;
      case "send": {
        const sent = conv.send(step.text);
        assert.ok(sent.ok);
        labels.set(step.as, sent.message.id);
        labelOf.set(sent.message.id, step.as);
        break;
      }
      case "ack":
      case "chat":
      case "hello":
      case "frame": {
        const raw =
          step.op === "ack"
            ? frame("ack", step.from, { of: ident(step.of) }, `ack-${serial++}`)
            : step.op === "chat"
              ? frame("chat", step.from, { text: step.text }, ident(step.id))
              : step.op === "hello"
                ? frame("hello", step.from, { name: step.name }, `hello-${serial++}`)
                : step.raw;
        const env = parseEnvelope(raw);
        if (env) conv.receive(link, env);
        break;
      }
      case "expect":
        check(step, conv, byName, ident, label);
        break;
      default:
        assert.fail(`unknown op ${step.op}`);
    }
  }
  conv.close();
}

function check(expect, conv, byName, ident, label) {
  if (expect.messages) assert.deepEqual(conv.messages.map((m) => [label(m.id), m.status]), expect.messages);
  for (const [name, pending] of Object.entries(expect.pending || {})) {
    assert.deepEqual([...conv.byId.get(ident(name)).pending].sort(), pending, name);
  }
  for (const [name, text] of Object.entries(expect.texts || {})) assert.equal(conv.byId.get(ident(name)).text, text);
  for (const [name, sender] of Object.entries(expect.senders || {})) assert.equal(conv.byId.get(ident(name)).name, sender);
  for (const [account, state] of Object.entries(expect.members || {})) assert.equal(conv.accounts.get(account).state, state, account);
  for (const [account, name] of Object.entries(expect.names || {})) assert.equal(conv.accounts.get(account).name, name);
  for (const [name, frames] of Object.entries(expect.frames || {})) {
    const shown = byName.get(name).frames.map((f) => JSON.parse(f)).map((f) => `${f.type} ${label(f.type === "ack" ? f.payload.of : f.id)}`);
    assert.deepEqual(shown, frames, name);
  }
}
