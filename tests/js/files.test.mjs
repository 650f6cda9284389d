// The shared file-transfer cases (tests/vectors/files.json), run against
// assets/ephem/file_transfer.js; tests/peer/test_files.py runs the same in Python.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import * as files from "../../assets/ephem/file_transfer.js";
import { Sha256, sha256Hex } from "../../assets/ephem/sha256.js";

const VECTORS = JSON.parse(readFileSync(new URL("../vectors/files.json", import.meta.url), "utf8"));
const fromHex = (hex) => Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16));

function pattern(size, head = "", extra = 0) {
  const h = fromHex(head);
  const out = new Uint8Array(size + extra);
  for (let i = 0; i < size + extra; i++) out[i] = i < h.length ? h[i] : (i - h.length) % 251;
  return out;
}

describe("names", () => {
  for (const c of VECTORS.names) test(String(c.raw).slice(0, 40), () => assert.equal(files.sanitizeName(c.raw), c.clean));
});

describe("offers", () => {
  for (const c of VECTORS.offers) {
    test(c.name, () => {
      const checked = "max_bytes" in c ? files.checkOffer(c.payload, c.max_bytes) : files.checkOffer(c.payload);
      assert.equal(checked.ok, c.ok);
      if (!c.ok) return assert.equal(checked.code, c.code);
      assert.equal(checked.offer.name, c.clean_name);
      assert.equal(checked.offer.mime, c.mime ?? c.payload.mime ?? "");
    });
  }
});

describe("pictures", () => {
  for (const c of VECTORS.pictures) test(c.name, () => assert.equal(files.pictureType(fromHex(c.hex)), c.type));
});

describe("incoming", () => {
  for (const c of VECTORS.incoming) {
    test(c.name, () => {
      const incoming = new files.Incoming({ id: "abcdefgh", name: "f", size: c.size, mime: "", sha256: c.sha256, chunk: c.chunk });
      const whole = pattern(c.size, c.head, c.chunk * 2);
      const acks = [];
      for (const step of c.steps) {
        const start = step.index * c.chunk;
        const taken = incoming.take(step.index, whole.slice(start, start + step.length));
        if (step.result === "fresh" || step.result === "dup") {
          assert.deepEqual(taken, { ok: true, fresh: step.result === "fresh" });
          acks.push(incoming.ackDue());
        } else {
          assert.equal(taken.ok, false);
          return assert.equal(taken.code, step.result);
        }
      }
      if (c.acks) assert.deepEqual(acks, c.acks);
      if (c.verify === null) return;
      const verified = incoming.verify();
      if (c.verify === "corrupt" || c.verify === "size_mismatch") assert.equal(verified.code, c.verify);
      else assert.deepEqual(verified, { ok: true, type: c.verify });
    });
  }
});

describe("labels", () => {
  for (const c of VECTORS.labels) {
    test(c.label, () => {
      const parsed = files.parseLabel(c.label);
      assert.equal(parsed === null, c.id === null);
      if (parsed) {
        assert.deepEqual(parsed, { id: c.id, first: c.first });
        assert.equal(files.channelLabel(parsed.id, parsed.first), c.label);
      }
    });
  }
});

describe("bytes", () => {
  for (const c of VECTORS.bytes) test(String(c.n), () => assert.equal(files.formatBytes(c.n), c.text));
});

test("incremental SHA-256 equals node's, however the bytes are split", () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 70000]) {
    const bytes = randomBytes(n);
    const expected = createHash("sha256").update(bytes).digest("hex");
    assert.equal(sha256Hex(new Uint8Array(bytes)), expected);
    const hash = new Sha256();
    for (let i = 0; i < n; i += 37) hash.update(new Uint8Array(bytes.subarray(i, i + 37)));
    assert.equal(hash.hex(), expected);
  }
});

test("meter: speed over a window and time left", () => {
  const meter = new files.Meter(3000);
  assert.equal(meter.eta(100), null);
  meter.sample(0, 0);
  meter.sample(1000, 1000);
  meter.sample(3000, 2000);
  assert.equal(meter.speed, 1500);
  assert.equal(meter.eta(3000), 2);
  meter.sample(4000, 10000);
  assert.equal(meter.speed, 1000 / 8);
});
