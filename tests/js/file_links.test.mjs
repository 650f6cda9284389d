// assets/ephem/file_links.js between two meshes in one Node process: the
// envelopes go through each side's `receive` as mesh.js hands them over, the
// bytes through paired channels that behave like ordered DataChannels
// (test doubles; the real ones run in tests/browser/test_files.py).

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { parseEnvelope } from "../../assets/ephem/envelope.js";
import { FileTransfers } from "../../assets/ephem/file_links.js";
import { CHUNK } from "../../assets/ephem/file_transfer.js";

const meshes = [];
after(() => meshes.forEach((m) => m.files.close()));

class Channel {
  constructor(label) {
    this.label = label;
    this.readyState = "open";
    this.bufferedAmount = 0;
    this.other = null;
  }

  send(data) {
    if (this.readyState !== "open") throw new Error("closed");
    const copy = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
    setImmediate(() => this.other.readyState === "open" && this.other.onmessage && this.other.onmessage({ data: copy }));
  }

  close() {
    this.readyState = this.other.readyState = "closed";
  }
}

// Two meshes A and B with one open link each way; `tamper(bytes)` may alter what B receives.
// `deadAfter`: the first file channel carries this many chunks, then its path is dead.
function pair({ tamper = (b) => b, deadAfter = Infinity } = {}) {
  let made = 0;
  const sides = ["a", "b"].map((id) => ({
    me: { account_id: id, name: id.toUpperCase() },
    session: { hello: { relay_files: true } },
    links: new Map(),
    relay: { links: () => [] },
    conversation: { accounts: new Map(), links: null },
    frames: [],
  }));
  const [a, b] = sides;
  for (const [self, other] of [[a, b], [b, a]]) {
    const link = {
      peer: { peer_id: `p-${other.me.account_id}`, account_id: other.me.account_id, name: other.me.name },
      open: true,
      listeners: [],
      sendFrame(wire) {
        self.frames.push(JSON.parse(wire));
        const env = parseEnvelope(wire);
        setImmediate(() => other.files.receive(other.links.get(`p-${self.me.account_id}`), env));
        return true;
      },
      pc: {
        addEventListener: (_type, listener) => link.listeners.push(listener),
        createDataChannel(label) {
          const mine = new Channel(label);
          const theirs = new Channel(label);
          mine.other = theirs;
          theirs.other = mine;
          let carried = 0;
          const dies = made++ === 0 ? deadAfter : Infinity;
          mine.send = (data) => carried++ < dies && Channel.prototype.send.call(mine, tamper(data));
          setImmediate(() => {
            other.links.get(`p-${self.me.account_id}`).listeners.forEach((l) => l({ channel: theirs }));
            if (mine.onopen) mine.onopen();
          });
          return mine;
        },
      },
    };
    self.links.set(link.peer.peer_id, link);
    self.conversation.links = () => [...self.links.values()];
    self.conversation.accounts.set(other.me.account_id, { name: other.me.name });
  }
  for (const side of sides) {
    side.files = new FileTransfers(side);
    side.links.forEach((link) => side.files.linkAdded(link));
    meshes.push(side);
  }
  return [a, b];
}

const until = async (check, what, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < end, `timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const bytesOf = async (blob) => new Uint8Array(await blob.arrayBuffer());
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

test("a file goes whole, in chunks, acked, and the sender sees it done", async () => {
  const [a, b] = pair();
  const data = randomBytes(3 * CHUNK + 123);
  await a.files.sendFile(new File([data], "../notes.txt"));
  await until(() => b.files.items.length === 1, "offered");
  const [incoming] = b.files.items;
  await until(() => incoming.status === "done", "received");
  assert.equal(incoming.name, "notes.txt");
  assert.equal(incoming.type, "application/octet-stream");
  assert.equal(sha(await bytesOf(incoming.blob)), sha(data));
  const [out] = a.files.items;
  await until(() => out.status === "done", "done at the sender");
  const receiver = out.receivers.get("b");
  assert.deepEqual([receiver.status, receiver.acked, receiver.starts], ["done", 4, [0]]);
  assert.deepEqual(b.frames.filter((f) => f.type === "file_ack").map((f) => f.payload.upto), [4]);
});

test("bytes that differ from the offer are refused and nothing is kept", async () => {
  const [a, b] = pair({ tamper: (bytes) => (bytes[0] ^= 1, bytes) });
  await a.files.sendFile(new File([randomBytes(CHUNK + 5)], "x.bin"));
  await until(() => b.files.items.length === 1, "offered");
  const [incoming] = b.files.items;
  await until(() => incoming.status === "failed", "refused");
  assert.equal(incoming.error.code, "corrupt"); // said in the reader's language (file_errors.js)
  assert.match(incoming.error.message, /damaged/);
  assert.equal(incoming.url, "");
  await until(() => a.files.items[0].status === "cancelled", "sender told");
});

test("a large file waits for Accept; Decline tells the sender", async () => {
  const [a, b] = pair();
  b.files.askAbove = 1000;
  await a.files.sendFile(new File([randomBytes(5000)], "big.bin"));
  await until(() => b.files.items.length === 1, "offered");
  const [incoming] = b.files.items;
  assert.equal(incoming.status, "offered");
  b.files.decline(incoming.key);
  const [out] = a.files.items;
  await until(() => out.receivers.get("b").status === "declined", "declined");
  assert.equal(out.status, "cancelled");
});

test("after a drop the receiver asks from the chunks it holds, and the rest arrives", async () => {
  const [a, b] = pair({ deadAfter: 2 });
  const data = randomBytes(6 * CHUNK);
  await a.files.sendFile(new File([data], "long.bin"));
  await until(() => b.files.items.length === 1, "offered");
  const [incoming] = b.files.items;
  await until(() => incoming.rx && incoming.rx.count === 2, "some chunks");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(incoming.rx.count, 2);
  incoming.channel.close(); // the connection is rebuilt: the old file channel goes with it
  const held = incoming.rx.count;
  b.files.linkOpen(b.links.get("p-a")); // the link is back
  await until(() => incoming.status === "done", "resumed");
  assert.equal(sha(await bytesOf(incoming.blob)), sha(data));
  const starts = a.files.items[0].receivers.get("b").starts;
  assert.equal(starts[0], 0);
  assert.ok(starts[1] >= held && starts[1] > 0, `resumed from ${starts}`);
});

test("an empty file is done without a channel", async () => {
  const [a, b] = pair();
  await a.files.sendFile(new File([], "empty.txt"));
  await until(() => b.files.items[0] && b.files.items[0].status === "done", "done");
  assert.equal((await bytesOf(b.files.items[0].blob)).length, 0);
  await until(() => a.files.items[0].status === "done", "sender done");
});

test("a sender with 16 offers waiting gets the next one refused as busy", async () => {
  const [a, b] = pair();
  b.files.askAbove = 10;
  for (let i = 0; i < 17; i++) await a.files.sendFile(new File([randomBytes(100)], `f${i}.bin`));
  await until(() => a.files.items.filter((o) => o.status === "cancelled").length === 1, "one refused");
  assert.equal(b.files.items.length, 16);
  const refused = a.files.items.find((o) => o.status === "cancelled").receivers.get("b");
  assert.equal(refused.error.code, "busy");
});

test("a refusal travels as a code with the receiver's limit, English kept for older peers", async () => {
  const [a, b] = pair();
  b.files.maxBytes = 1024;
  await a.files.sendFile(new File([randomBytes(2048)], "big.bin"));
  const [out] = a.files.items;
  await until(() => out.receivers.get("b").status === "cancelled", "refused");
  const cancel = b.frames.find((f) => f.type === "file_cancel");
  assert.deepEqual([cancel.payload.code, cancel.payload.limit, cancel.payload.message], ["too_large", 1024, "Files are limited to 1 KB."]);
  assert.deepEqual(out.receivers.get("b").error, { code: "too_large", message: "Files are limited to 1 KB.", limit: 1024 });
  assert.deepEqual(b.files.items[0].error, { code: "refused_too_large", message: "Refused: Files are limited to 1 KB.", limit: 1024 });
});

test("blocking an account stops its transfers both ways, cancelled, with one last file_cancel each", async () => {
  const [a, b] = pair({ deadAfter: 2 }); // A's upload stays under way
  b.files.askAbove = 1000;
  a.files.askAbove = 1000;
  await a.files.sendFile(new File([randomBytes(6 * CHUNK)], "to-b.bin"));
  await b.files.sendFile(new File([randomBytes(5000)], "to-a.bin")); // waits for A's Accept
  await until(() => b.files.items.length === 2 && a.files.items.length === 2, "both offered");
  const fromA = b.files.items.find((i) => !i.mine);
  b.files.accept(fromA.key);
  await until(() => fromA.rx && fromA.rx.count === 2, "bytes moving");
  assert.equal(fromA.status, "receiving");

  // A blocks B: mesh.js filters B out of the conversation's links, then applies blocks.
  const links = a.conversation.links;
  a.conversation.links = () => links().filter((l) => l.peer.account_id !== "b");
  assert.equal(a.files.dropAccount("b"), 2);
  const [out, offered] = a.files.items;
  assert.deepEqual([out.status, out.receivers.get("b").status, out.receivers.get("b").channel], ["cancelled", "cancelled", null]);
  assert.equal(a.files.outgoing.size, 0);
  assert.deepEqual([offered.status, offered.error], ["cancelled", null]);
  const cancels = a.frames.filter((f) => f.type === "file_cancel");
  assert.deepEqual(cancels.map((f) => [f.payload.id, f.payload.code]), [[out.id, "cancelled"], [offered.id, "cancelled"]]);

  // B's side ends too, as cancelled.
  await until(() => fromA.status === "cancelled", "B's download cancelled");
  const toA = b.files.items.find((i) => i.mine);
  await until(() => toA.status === "cancelled", "B's upload cancelled");
  assert.equal(a.files.dropAccount("b"), 0); // nothing left: no second cancel
  assert.equal(a.frames.filter((f) => f.type === "file_cancel").length, 2);
});

test("a page on plain HTTP (no crypto.randomUUID, not a secure context) sends files too", async () => {
  // Chromium exposes randomUUID only in secure contexts; the lab's site is http://100.64.0.11.
  const randomUUID = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(crypto), "randomUUID");
  delete Object.getPrototypeOf(crypto).randomUUID;
  try {
    assert.equal(crypto.randomUUID, undefined);
    const [a, b] = pair();
    const data = randomBytes(CHUNK + 1);
    await a.files.sendFile(new File([data], "plain.bin"));
    await until(() => b.files.items[0] && b.files.items[0].status === "done", "received");
    assert.equal(sha(await bytesOf(b.files.items[0].blob)), sha(data));
  } finally {
    Object.defineProperty(Object.getPrototypeOf(crypto), "randomUUID", randomUUID);
  }
});

test("a file_done lost with the old connection is said again when the link is back", async () => {
  const [a, b] = pair();
  const send = b.links.get("p-a").sendFrame;
  let lost = 0;
  b.links.get("p-a").sendFrame = (wire) => (JSON.parse(wire).type === "file_done" && !lost++ ? true : send(wire));
  await a.files.sendFile(new File([randomBytes(2 * CHUNK)], "end.bin"));
  await until(() => b.files.items[0] && b.files.items[0].status === "done", "received");
  await new Promise((r) => setTimeout(r, 50));
  const receiver = a.files.items[0].receivers.get("b");
  assert.equal(receiver.status, "sending"); // its file_done went down with the connection
  a.files.linkOpen(a.links.get("p-b")); // a fresh connection opens
  await until(() => receiver.status === "done", "done at the sender");
  assert.equal(a.files.items[0].status, "done");
  assert.equal(b.files.items.length, 1); // the offer again made no second card
});
