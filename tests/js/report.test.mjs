// What a report may carry: only the ticked messages, within the server's bounds.

import assert from "node:assert/strict";
import { test } from "node:test";
import { candidates, EVIDENCE_MAX, reportBody } from "../../assets/ephem/report.js";

const message = (i, extra = {}) => ({ id: `m${i}`, ts: `2026-01-01T00:00:0${i % 10}Z`, name: "Bo", text: `text ${i}`, mine: false, ...extra });

test("the checklist offers the newest messages, oldest first", () => {
  const all = Array.from({ length: 80 }, (_, i) => message(i));
  const offered = candidates(all);
  assert.equal(offered.length, EVIDENCE_MAX);
  assert.equal(offered[0].id, "m30");
  assert.equal(offered.at(-1).id, "m79");
  assert.deepEqual(candidates([message(1, { text: "" }), null, message(2)]).map((m) => m.id), ["m2"]);
});

test("only ticked messages are sent, without ids or delivery state", () => {
  const all = [message(1), message(2, { mine: true, name: "Me", status: "delivered" }), message(3)];
  const { body } = reportBody({ accountId: "acct", enclaveId: "enc", reason: "  spam ", messages: all, picked: new Set(["m2", "m3"]) });
  assert.deepEqual(body, {
    account_id: "acct",
    enclave_id: "enc",
    reason: "spam",
    messages: [
      { name: "", text: "text 2", ts: "2026-01-01T00:00:02Z", mine: true },
      { name: "Bo", text: "text 3", ts: "2026-01-01T00:00:03Z", mine: false },
    ],
  });
  assert.deepEqual(reportBody({ accountId: "acct", reason: "x", messages: all, picked: new Set() }).body.messages, []);
});

test("a reason is required and bounded; long texts are cut by characters", () => {
  assert.ok(reportBody({ accountId: "a", reason: "  ", messages: [], picked: new Set() }).error);
  assert.ok(reportBody({ accountId: "a", reason: "x".repeat(501), messages: [], picked: new Set() }).error);
  assert.ok(reportBody({ accountId: "a", reason: "😀".repeat(500), messages: [], picked: new Set() }).body);
  const long = message(1, { text: "😀".repeat(4001) });
  const { body } = reportBody({ accountId: "a", reason: "r", messages: [long], picked: new Set(["m1"]) });
  assert.equal(Array.from(body.messages[0].text).length, 4000);
  const many = Array.from({ length: 51 }, (_, i) => message(i));
  assert.ok(reportBody({ accountId: "a", reason: "r", messages: many, picked: new Set(many.map((m) => m.id)) }).error);
});
