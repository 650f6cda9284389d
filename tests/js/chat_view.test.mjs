// The chat list's pure rules: pinning to the newest message, links, grouping,
// locale times and large emoji.

import assert from "node:assert/strict";
import { test } from "node:test";
import { atBottom, ScrollPin } from "../../assets/ephem/scroll_pin.js";
import { LINK_ATTRS, linkParts, safeHref } from "../../assets/ephem/linkify.js";
import { emojiOnly, groupStarts, shownTime } from "../../assets/ephem/message_view.js";

const at = (top) => ({ scrollTop: top, scrollHeight: 1000, clientHeight: 400 });

test("a list at (or within a few pixels of) its bottom is pinned", () => {
  assert.equal(atBottom(at(600)), true);
  assert.equal(atBottom(at(560)), true);
  assert.equal(atBottom(at(500)), false);
});

test("new messages follow a pinned reader and are counted for one who scrolled up", () => {
  const pin = new ScrollPin();
  assert.equal(pin.update(10), true); // the first fill goes to the bottom
  assert.equal(pin.update(11, { fromOthers: 1 }), true);
  assert.equal(pin.scrolled(at(0)), false);
  assert.equal(pin.update(13, { fromOthers: 2 }), false);
  assert.equal(pin.below, 2);
  assert.equal(pin.update(13), false); // a status change adds nothing
  assert.equal(pin.below, 2);
  assert.equal(pin.update(14, { mine: true }), true); // one's own message brings the list down
  assert.equal(pin.below, 0);
  pin.scrolled(at(0));
  pin.update(15, { fromOthers: 1 });
  pin.scrolled(at(600)); // scrolling back down reads them
  assert.equal(pin.below, 0);
  assert.equal(pin.pinned, true);
  pin.scrolled(at(0));
  pin.update(16, { fromOthers: 1 });
  pin.jump();
  assert.deepEqual([pin.pinned, pin.below], [true, 0]);
});

test("only http and https URLs become links, without trailing punctuation", () => {
  assert.deepEqual(linkParts("see https://example.org/a?b=1. ok"), [
    { text: "see " },
    { text: "https://example.org/a?b=1", href: "https://example.org/a?b=1" },
    { text: ". ok" },
  ]);
  assert.deepEqual(linkParts("(http://x.org/wiki/A_(b))"), [
    { text: "(" },
    { text: "http://x.org/wiki/A_(b)", href: "http://x.org/wiki/A_(b)" },
    { text: ")" },
  ]);
  for (const text of ["javascript:alert(1)", "data:text/html,hi", "ftp://x.org", "https://", "www.x.org", "plain words"]) {
    assert.deepEqual(linkParts(text), [{ text }], text);
  }
  assert.equal(safeHref("JAVASCRIPT:alert(1)"), null);
  assert.equal(safeHref("https://example.org"), "https://example.org/");
  assert.deepEqual(linkParts(""), [{ text: "" }]);
  assert.equal(linkParts("a https://a.org b https://b.org").filter((p) => p.href).length, 2);
  assert.equal(LINK_ATTRS.target, "_blank");
  assert.ok(LINK_ATTRS.rel.split(" ").includes("noopener") && LINK_ATTRS.rel.split(" ").includes("noreferrer"));
});

test("runs of one sender are grouped, broken by another sender, a pause or a new day", () => {
  const m = (from, ts, mine = false) => ({ from, ts, mine });
  const starts = groupStarts([
    m("a", "2026-01-01T10:00:00Z"),
    m("a", "2026-01-01T10:01:00Z"),
    m("b", "2026-01-01T10:02:00Z"),
    m("b", "2026-01-01T10:20:00Z"), // a pause
    m("me", "2026-01-01T10:21:00Z", true),
    m("me", "2026-01-01T10:21:30Z", true),
    m("me", "not a time", true),
  ]);
  assert.deepEqual(starts, [true, false, true, true, true, false, false]);
  assert.deepEqual(groupStarts([]), []);
});

test("times are shown in the reader's locale", () => {
  const ts = "2026-01-01T15:05:00Z";
  assert.match(shownTime(ts, "en-US").short, /\d{2}:05\s?PM/);
  assert.doesNotMatch(shownTime(ts, "de-DE").short, /PM/);
  assert.match(shownTime(ts, "de-DE").full, /2026/);
  assert.deepEqual(shownTime("nope"), { short: "", full: "" });
});

test("one to three emoji and nothing else show large", () => {
  for (const text of ["🎉", " 👍🏽👍🏽 ", "👨‍👩‍👧", "🇫🇷", "❤️❤️❤️"]) assert.equal(emojiOnly(text), true, text);
  for (const text of ["😀😀😀😀", "ok 😀", "1", "", "#"]) assert.equal(emojiOnly(text), false, text);
});
