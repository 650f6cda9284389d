// What the JS tests share: the vectors file, links that record frames (test
// doubles for an RTCDataChannel), a storage in memory and a Conversation
// wired to them.

import { readFileSync } from "node:fs";
import { Conversation } from "../../assets/ephem/conversation.js";

export const VECTORS = JSON.parse(readFileSync(new URL("../vectors/envelope_conversation.json", import.meta.url), "utf8"));

export const joined = (parts) => parts.map(([piece, times]) => piece.repeat(times)).join("");

export class Link {
  constructor(accountId, { open = true, writable = true } = {}) {
    this.peer = { peer_id: `p-${accountId}`, account_id: accountId, name: "" };
    this.open = open;
    this.writable = writable;
    this.frames = [];
  }

  sendFrame(wire) {
    if (!this.open) return false;
    this.frames.push(wire);
    return true;
  }

  sent(type) {
    return this.frames.map((f) => JSON.parse(f)).filter((f) => f.type === type);
  }
}

export class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  get(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  set(key, value) {
    this.items.set(key, value);
  }
  remove(key) {
    this.items.delete(key);
  }
}

// A conversation of account "me" over `links` (an array the test changes).
export function conversation(links = [], options = {}) {
  const changes = { count: 0, gone: [] };
  const conv = new Conversation({
    me: { account_id: "me", name: "Me" },
    enclaveId: "e1",
    links: () => links,
    storage: options.storage || new MemoryStorage(),
    onChange: () => (changes.count += 1),
    onGone: (accountId, name) => changes.gone.push([accountId, name]),
  });
  return { conv, links, changes };
}

export const frame = (type, from, payload, id) => JSON.stringify({ v: 1, type, id, ts: "2025-01-01T00:00:00.000Z", from, payload });
