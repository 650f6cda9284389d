// What the vectors do not cover: grace periods, typing, the duplicate-id
// memory bound, history kept in the tab and conversations parked between meshes.

import assert from "node:assert/strict";
import { afterEach, beforeEach, test, mock } from "node:test";
import { GRACE_MS, PLACEHOLDER, SEEN_MAX, TYPING_MS } from "../../assets/ephem/conversation.js";
import { HISTORY_MAX, PARKED_MS, Parking } from "../../assets/ephem/keeping.js";
import { conversation, frame, Link, MemoryStorage } from "./harness.mjs";
import { parseEnvelope } from "../../assets/ephem/envelope.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.parse("2025-01-01T00:00:00Z") }));
afterEach(() => mock.timers.reset());

const receive = (conv, link, raw) => conv.receive(link, parseEnvelope(raw));
const chat = (from, id, text = "hi") => frame("chat", from, { text }, id);

test("a vanished member is reconnecting for the grace period, then left but still owed", () => {
  const a = new Link("a");
  const { conv, links, changes } = conversation([a]);
  conv.linkAdded("a", "Ana");
  conv.linkOpen(a);
  const { message } = conv.send("hello");
  links.splice(0);
  conv.startGrace("a");
  assert.equal(conv.accounts.get("a").state, "reconnecting");
  mock.timers.tick(GRACE_MS - 1);
  assert.equal(conv.accounts.get("a").state, "reconnecting");
  mock.timers.tick(1);
  assert.equal(conv.accounts.get("a").state, "left");
  assert.deepEqual(changes.gone, [["a", "Ana"]]);
  assert.equal(message.status, "sent");
  assert.equal(conv.send("while away").message.pending.has("a"), true); // not gone for good
  const back = new Link("a");
  links.push(back);
  conv.linkAdded("a");
  conv.linkOpen(back);
  assert.deepEqual(back.sent("chat").map((f) => f.payload.text), ["hello", "while away"]);
  conv.close();
});

test("a member back within the grace period is never shown as left", () => {
  const a = new Link("a");
  const { conv, links, changes } = conversation([]);
  conv.linkAdded("a", "Ana");
  conv.startGrace("a");
  mock.timers.tick(GRACE_MS / 2);
  links.push(a);
  conv.linkAdded("a");
  conv.linkOpen(a);
  mock.timers.tick(GRACE_MS);
  assert.equal(conv.accounts.get("a").state, "open");
  assert.deepEqual(changes.gone, []);
  conv.close();
});

test("placeholders and our own account are never recipients", () => {
  const { conv } = conversation([]);
  conv.account(`${PLACEHOLDER}p9`);
  conv.account("me");
  conv.account("b");
  assert.deepEqual([...conv.send("x").message.pending], ["b"]);
  conv.identify(`${PLACEHOLDER}p9`, "c", "Cy");
  assert.equal(conv.accounts.has(`${PLACEHOLDER}p9`), false);
  assert.equal(conv.accounts.get("c").name, "Cy");
  conv.close();
});

test("typing flags expire, and a chat clears its sender's", () => {
  const a = new Link("a");
  const { conv } = conversation([a]);
  receive(conv, a, frame("hello", "a", { name: "Ana" }, "h1"));
  receive(conv, a, frame("typing", "a", { active: true }, "t1"));
  assert.deepEqual(conv.typingNames(), ["Ana"]);
  mock.timers.tick(TYPING_MS + 1);
  assert.deepEqual(conv.typingNames(), []);
  receive(conv, a, frame("typing", "a", { active: true }, "t2"));
  receive(conv, a, chat("a", "c1"));
  assert.deepEqual(conv.typingNames(), []);
  conv.close();
});

test("our typing goes out at most every 2 s, and off once", () => {
  const a = new Link("a");
  const { conv } = conversation([a]);
  conv.setTyping(true);
  conv.setTyping(true);
  mock.timers.tick(2000);
  conv.setTyping(true);
  conv.setTyping(false);
  conv.setTyping(false);
  assert.deepEqual(a.sent("typing").map((f) => f.payload.active), [true, true, false]);
  conv.close();
});

test("duplicate detection remembers the last SEEN_MAX ids", () => {
  const a = new Link("a");
  const { conv } = conversation([a]);
  for (let i = 0; i <= SEEN_MAX; i += 1) conv.remember(`id-${i}`);
  assert.equal(conv.seen.size, SEEN_MAX);
  receive(conv, a, chat("a", "id-0", "forgotten, so shown again"));
  receive(conv, a, chat("a", `id-${SEEN_MAX}`, "still a duplicate"));
  assert.deepEqual(conv.messages.map((m) => m.text), ["forgotten, so shown again"]);
  conv.close();
});

test("history: the last HISTORY_MAX messages are saved, unacked ones with their envelope", () => {
  const storage = new MemoryStorage();
  const a = new Link("a");
  const { conv } = conversation([a], { storage });
  conv.setHistory(true);
  for (let i = 0; i < HISTORY_MAX + 5; i += 1) receive(conv, a, chat("a", `c${i}`, `n${i}`));
  const acked = conv.send("acked").message;
  receive(conv, a, frame("ack", "a", { of: acked.id }, "k1"));
  conv.account("b"); // owed our next message, never acks it
  const { message } = conv.send("unacked");
  mock.timers.tick(200); // saving is debounced
  const saved = JSON.parse(storage.get("ephem.history.e1"));
  assert.equal(saved.length, HISTORY_MAX);
  assert.equal(saved[0].text, "n7");
  assert.equal(saved.at(-2).status, "delivered");
  assert.deepEqual(saved.at(-1).pending, ["a", "b"]);
  assert.equal(saved.at(-1).envelope.id, message.id);
  assert.equal(saved.at(-2).envelope, undefined);
  conv.close();

  // A new tab page of the same enclave takes them back, and resends what is owed.
  const later = conversation([], { storage });
  later.conv.setHistory(true);
  assert.equal(later.conv.messages.length, HISTORY_MAX);
  assert.equal(later.conv.seen.has(message.id), true);
  const b = new Link("b");
  later.links.push(b);
  later.conv.linkAdded("b");
  later.conv.linkOpen(b);
  assert.deepEqual(b.sent("chat").map((f) => f.id), [message.id]);
  later.conv.setHistory(false); // an explicit switch-off forgets
  assert.equal(storage.get("ephem.history.e1"), null);
  later.conv.close();
});

test("history off: nothing is written, and broken storage is dropped", () => {
  const storage = new MemoryStorage();
  const { conv } = conversation([], { storage });
  conv.send("not kept");
  mock.timers.tick(1000);
  assert.equal(storage.items.size, 0);
  storage.set("ephem.history.e1", "{broken");
  conv.close();
  const fresh = conversation([], { storage });
  fresh.conv.setHistory(true);
  assert.equal(fresh.conv.messages.length, 0);
  fresh.conv.close();
});

test("parking: a conversation is taken back once, within PARKED_MS, by the same account and enclave", () => {
  const parking = new Parking();
  const { conv } = conversation([]);
  conv.account("a", "Ana");
  conv.send("queued");
  conv.close();
  parking.park(conv);
  assert.equal(parking.take("me", "other"), null);
  const entry = parking.take("me", "e1");
  assert.equal(entry.messages[0].text, "queued");
  assert.equal(parking.take("me", "e1"), null);

  parking.park(conv);
  mock.timers.tick(PARKED_MS);
  assert.equal(parking.take("me", "e1"), null); // the text leaves memory after a minute
  const empty = conversation([]);
  parking.park(empty.conv);
  assert.equal(parking.parked.size, 0); // nothing to keep
});

test("adopt: an earlier conversation's members are reconnecting until their links are back", () => {
  const { conv: earlier } = conversation([]);
  earlier.account("a", "Ana").state = "open";
  earlier.account("b", "Bo").state = "left";
  const { message } = earlier.send("for a");
  earlier.close();
  const { conv, changes } = conversation([]);
  conv.adopt(earlier);
  assert.equal(conv.byId.get(message.id), message);
  assert.equal(conv.accounts.get("a").state, "reconnecting");
  assert.equal(conv.accounts.get("b").state, "left");
  mock.timers.tick(GRACE_MS);
  assert.deepEqual(changes.gone, [["a", "Ana"]]);
  conv.close();
});

test("a peer's frames for another account are refused; unknown types are left to the caller", () => {
  const a = new Link("a");
  const { conv } = conversation([a]);
  assert.equal(receive(conv, a, chat("b", "c1")), false);
  assert.equal(receive(conv, a, frame("call", "a", { active: true }, "k1")), true);
  assert.deepEqual(a.frames, []);
  assert.equal(conv.messages.length, 0);
  conv.close();
});
