// Unread counts, the tab title and when a notification is raised: unread.js.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { english, translator } from "../../assets/ephem/i18n.js";
import { noteTitle, parseCounts, ReadMark, shouldNotify, stripCount, titleWith, withCount } from "../../assets/ephem/unread.js";

const msg = (id, mine = false) => ({ id, mine, text: id });

test("the title carries the count, and loses it at zero", () => {
  assert.equal(titleWith("ephem · enclave", 3), "(3) ephem · enclave");
  assert.equal(titleWith("(3) ephem · enclave", 4), "(4) ephem · enclave");
  assert.equal(titleWith("(4) ephem · enclave", 0), "ephem · enclave");
  assert.equal(titleWith("ephem", 120), "(99+) ephem");
  assert.equal(stripCount("(99+) ephem"), "ephem");
  assert.equal(stripCount("(note) ephem"), "(note) ephem");
});

test("messages by others count as unread until the reader looks", () => {
  const mark = new ReadMark();
  const list = [msg("a"), msg("b")];
  assert.deepEqual(mark.update(list, false), { unread: 0, fresh: [] }); // what the page opened with
  list.push(msg("c"), msg("d"));
  let seen = mark.update(list, false);
  assert.equal(seen.unread, 2);
  assert.deepEqual(seen.fresh.map((m) => m.id), ["c", "d"]);
  seen = mark.update(list, false); // nothing new: nothing to announce again
  assert.deepEqual([seen.unread, seen.fresh.length], [2, 0]);
  assert.equal(mark.update(list, true).unread, 0); // looked
  list.push(msg("e"));
  assert.equal(mark.update(list, false).unread, 1);
  list.push(msg("f", true)); // writing is looking
  const mine = mark.update(list, false);
  assert.equal(mine.unread, 0);
  assert.deepEqual(mine.fresh, []); // one's own message is never announced
});

test("a notification only for someone else's message, while hidden, when asked and allowed", () => {
  const base = { message: msg("x"), hidden: true, enabled: true, permission: "granted" };
  assert.equal(shouldNotify(base), true);
  assert.equal(shouldNotify({ ...base, message: msg("x", true) }), false);
  assert.equal(shouldNotify({ ...base, hidden: false }), false);
  assert.equal(shouldNotify({ ...base, enabled: false }), false);
  assert.equal(shouldNotify({ ...base, permission: "default" }), false);
  assert.equal(shouldNotify({ ...base, permission: "denied" }), false);
});

test("stored counts read safely and drop zeros", () => {
  assert.deepEqual(parseCounts('{"e1": 2, "e2": 0, "e3": -1, "e4": "5", "e5": 1.5}'), { e1: 2 });
  for (const bad of ["", "nope", "[]", "null", "7"]) assert.deepEqual(parseCounts(bad), {});
  assert.deepEqual(withCount({ e1: 2 }, "e2", 3), { e1: 2, e2: 3 });
  assert.deepEqual(withCount({ e1: 2 }, "e1", 0), {});
});

test("a notification is titled with the sender's name, else 'New message' in the page's language", () => {
  const fa = translator(JSON.parse(readFileSync(new URL("../../assets/ephem/locales/fa.json", import.meta.url), "utf8")));
  assert.equal(noteTitle({ name: "Writer" }, fa.t), "Writer");
  assert.equal(noteTitle({ name: "" }, fa.t), "پیام تازه");
  assert.equal(noteTitle({}, english.t), "New message");
});
