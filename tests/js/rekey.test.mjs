// Links kept across a socket drop: which one a newly announced connection
// takes over (assets/ephem/rekey.js; ephem/peer/rekey.py has the same cases
// in tests/peer/test_rekey.py).

import assert from "node:assert/strict";
import { test } from "node:test";
import { isPolite, place } from "../../assets/ephem/rekey.js";

const link = (peerId, accountId, { stale = false, open = true } = {}) => ({
  peer: { peer_id: peerId, account_id: accountId },
  stale,
  open,
});

test("a link made for that very connection is kept as it is", () => {
  const mine = link("p1", "a");
  assert.deepEqual(place([mine], { peer_id: "p1", account_id: "a" }), { kind: "known", link: mine });
});

test("the one stale, open link to the account is re-keyed to its new connection", () => {
  const kept = link("old", "a", { stale: true });
  const other = link("p2", "b", { stale: true });
  assert.deepEqual(place([other, kept], { peer_id: "new", account_id: "a" }), { kind: "rekey", link: kept });
});

test("a link that is not stale belongs to a connection still there: a second tab gets its own link", () => {
  assert.deepEqual(place([link("p1", "a")], { peer_id: "p9", account_id: "a" }), { kind: "new" });
});

test("a stale link whose channel is closed is not worth keeping", () => {
  assert.deepEqual(place([link("old", "a", { stale: true, open: false })], { peer_id: "new", account_id: "a" }), {
    kind: "new",
  });
});

test("two stale links to one account cannot be told apart: none is guessed", () => {
  const links = [link("t1", "a", { stale: true }), link("t2", "a", { stale: true })];
  assert.deepEqual(place(links, { peer_id: "new", account_id: "a" }), { kind: "new" });
});

test("a peer never seen before gets a new link", () => {
  assert.deepEqual(place([link("p1", "a", { stale: true })], { peer_id: "p2", account_id: "b" }), { kind: "new" });
  assert.deepEqual(place([], { peer_id: "p2", account_id: "b" }), { kind: "new" });
});

test("after a re-key both ends compare their new ids and agree on who is polite", () => {
  const [x, y] = ["Kq2-new", "b7Z-new"];
  assert.notEqual(isPolite(x, y), isPolite(y, x));
  assert.equal(isPolite("a", "b"), true);
});
