// One enclave's conversation, independent of any transport: the twin of
// ephem/peer/conversation.py. Every member account has an outbox of message
// ids waiting for an open channel; a message is `sent` once it is on a channel
// and `delivered` once every account it was addressed to has acked it;
// received chats are acked every time and shown once. Links, storage and
// what to do on a change come in through the constructor, so `node --test`
// runs this module with plain objects for links.

import { checkText, clip, envelope, frame } from "./envelope.js";
import { HISTORY_MAX, restored, stored } from "./keeping.js";

export const PLACEHOLDER = "peer:"; // account id of a peer known only by its peer_id so far
export const isPlaceholder = (accountId) => accountId.startsWith(PLACEHOLDER);
export const GRACE_MS = 20000; // a vanished peer shows "reconnecting" this long before "left"
export const TYPING_MS = 6000; // a typing flag without refresh expires after this
export const SEEN_MAX = 5000; // received ids remembered for duplicate detection

export class Conversation {
  // `links()`: the live links, each `{peer: {account_id, name}, open, writable, sendFrame(frame)}`;
  // `storage`: `{get, set, remove}` of strings; `onChange()`: something shown
  // changed; `onGone(accountId, name)`: a member is now shown as left.
  constructor({ me, enclaveId, links, storage, onChange = () => {}, onGone = () => {} }) {
    this.me = me; // {account_id, name}
    this.enclaveId = enclaveId;
    this.links = links;
    this.storage = storage;
    this.onChange = onChange;
    this.onGone = onGone;
    this.accounts = new Map(); // account_id -> {name, outbox: [id], state, grace, gone}
    this.messages = []; // in display order
    this.byId = new Map(); // id -> message
    this.seen = new Set();
    this.typing = new Map(); // account_id -> {name, until}
    this.history = false;
    this.lastTyping = 0;
    this.closed = false;
  }

  changed() {
    if (!this.closed) this.onChange();
  }

  linksOf(accountId) {
    return [...this.links()].filter((l) => l.peer.account_id === accountId);
  }

  account(accountId, name) {
    let account = this.accounts.get(accountId);
    if (!account) {
      // `gone`: left the enclave for good, so no longer owed messages.
      account = { name: name || "…", outbox: [], state: "connecting", grace: null, gone: false };
      this.accounts.set(accountId, account);
    } else if (name) {
      account.name = name;
    }
    return account;
  }

  // A new link to this account: whatever it was, it is connecting again.
  linkAdded(accountId, name) {
    const account = this.account(accountId, name);
    clearTimeout(account.grace);
    account.grace = null;
    if (account.state === "left" || account.state === "reconnecting") account.state = "connecting";
    account.gone = false; // back (by a new invite, say): owed messages again
  }

  // A link known by a placeholder turned out to be `accountId`.
  identify(placeholder, accountId, name) {
    this.accounts.delete(placeholder);
    this.account(accountId, name);
  }

  // Everything this account has not acked goes (again) on the new channel, in
  // the order it was written; receivers drop duplicates by id. A message
  // written while nobody was there goes to everyone who arrives.
  linkOpen(link) {
    const accountId = link.peer.account_id;
    this.account(accountId).state = "open";
    this.messages.forEach((m) => {
      if (m.mine && m.unaddressed && !m.sentTo.has(accountId)) m.pending.add(accountId);
    });
    this.accounts.get(accountId).outbox = this.messages.filter((m) => m.mine && m.pending.has(accountId)).map((m) => m.id);
    this.flush(accountId);
  }

  // Gone without a trace: "reconnecting" for a while, then shown as "left".
  // Only a member who left the enclave for good (`forGood`) stops being owed
  // messages; one who merely vanished keeps them queued, however long it
  // stays away, and gets them when it comes back (until then they show as
  // sent, not delivered).
  startGrace(accountId, forGood = false) {
    const account = this.accounts.get(accountId);
    if (this.linksOf(accountId).length || !account || account.gone) return;
    this.typing.delete(accountId); // no link, no typing
    const shown = account.state === "left";
    if (shown && !forGood) return;
    if (account.grace && !forGood) return;
    clearTimeout(account.grace);
    if (!shown) account.state = "reconnecting";
    account.grace = setTimeout(() => {
      account.grace = null;
      if (this.linksOf(accountId).length) return;
      account.state = "left";
      if (forGood) {
        account.gone = true;
        account.outbox = [];
        this.messages.forEach((m) => {
          if (m.mine && m.pending.delete(accountId)) this.settle(m);
        });
      }
      if (!shown) this.onGone(accountId, account.name);
      this.changed();
    }, forGood ? 0 : GRACE_MS);
    this.changed();
  }

  // Write the account's queue to its open channels, as far as the buffer allows.
  flush(accountId) {
    const account = this.accounts.get(accountId);
    if (!account) return;
    const links = this.linksOf(accountId).filter((l) => l.open);
    if (!links.length) return;
    while (account.outbox.length && links.every((l) => l.writable)) {
      const message = this.byId.get(account.outbox[0]);
      if (message && message.envelope) {
        const wire = JSON.stringify(message.envelope);
        if (!links.map((l) => l.sendFrame(wire)).some(Boolean)) break;
        message.sentTo.add(accountId);
        if (message.status === "sending") message.status = "sent";
      }
      account.outbox.shift();
    }
    this.save();
    this.changed();
  }

  // A checked envelope from `link`; false when its sender is not the link's
  // account (a peer speaks only for its own). Types it does not know are the
  // caller's (`call`) or ignored.
  receive(link, env) {
    const sender = link.peer.account_id;
    if (env.from !== sender) return false;
    if (env.type === "hello") {
      const name = clip(env.payload.name);
      this.account(sender, name);
      link.peer.name = name; // call tiles show the link's name
      this.changed();
    } else if (env.type === "chat") {
      link.sendFrame(frame("ack", this.me.account_id, { of: env.id }));
      if (this.seen.has(env.id)) return true;
      this.remember(env.id);
      this.typing.delete(sender);
      this.append({
        id: env.id,
        ts: env.ts,
        from: sender,
        name: this.account(sender).name,
        text: env.payload.text,
        mine: false,
        status: "delivered",
        pending: new Set(),
        sentTo: new Set(),
      });
    } else if (env.type === "ack") {
      const message = this.byId.get(env.payload.of);
      if (message && message.mine && message.pending.delete(sender)) this.settle(message);
    } else if (env.type === "typing") {
      if (env.payload.active) this.typing.set(sender, { name: this.account(sender).name, until: Date.now() + TYPING_MS });
      else this.typing.delete(sender);
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => this.changed(), TYPING_MS + 50); // to hide an expired flag
      this.changed();
    }
    return true;
  }

  typingNames() {
    const now = Date.now();
    return [...this.typing.values()].filter((t) => t.until > now).map((t) => t.name);
  }

  remember(id) {
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value);
  }

  settle(message) {
    if (message.pending.size === 0 && message.sentTo.size > 0) message.status = "delivered";
    this.save();
    this.changed();
  }

  append(message) {
    this.messages.push(message);
    this.byId.set(message.id, message);
    this.save();
    this.changed();
  }

  // `{ok: true, message}`, or `{ok: false, error}` with "empty" or what to tell the user.
  send(text) {
    const checked = checkText(text);
    if (!checked.ok) return checked;
    const env = envelope("chat", this.me.account_id, { text: checked.text });
    const recipients = [...this.accounts.entries()]
      .filter(([id, a]) => id !== this.me.account_id && !isPlaceholder(id) && !a.gone)
      .map(([id]) => id);
    const message = {
      id: env.id,
      ts: env.ts,
      from: this.me.account_id,
      name: this.me.name,
      text: checked.text,
      mine: true,
      status: "sending",
      pending: new Set(recipients),
      sentTo: new Set(),
      unaddressed: recipients.length === 0, // written while alone: for whoever arrives
      envelope: env,
    };
    this.remember(env.id);
    this.append(message);
    recipients.forEach((id) => this.accounts.get(id).outbox.push(env.id));
    recipients.forEach((id) => this.flush(id));
    this.setTyping(false);
    return { ok: true, message };
  }

  setTyping(active) {
    const now = Date.now();
    if (active && now - this.lastTyping < 2000) return; // refresh at most every 2 s
    if (!active && this.lastTyping === 0) return;
    this.lastTyping = active ? now : 0;
    this.broadcast("typing", { active });
  }

  // One envelope to every open link (not queued: for states, not messages).
  broadcast(type, payload) {
    const wire = frame(type, this.me.account_id, payload);
    for (const link of this.links()) link.sendFrame(wire);
  }

  // History stays in the browser: in this tab's storage, and only when asked.
  get historyKey() {
    return `ephem.history.${this.enclaveId}`;
  }

  setHistory(keep) {
    const wasOn = this.history;
    this.history = keep;
    if (!keep) {
      if (wasOn) this.storage.remove(this.historyKey); // only an explicit switch-off forgets
      return;
    }
    if (this.messages.length === 0) this.restore();
    this.save();
    this.changed();
  }

  restore() {
    let stored = [];
    try {
      stored = JSON.parse(this.storage.get(this.historyKey) || "[]");
    } catch (err) {
      this.storage.remove(this.historyKey);
    }
    stored.forEach((m) => {
      if (!m || typeof m.id !== "string" || this.byId.has(m.id)) return;
      const message = restored(m);
      this.messages.push(message);
      this.byId.set(m.id, message);
      this.remember(m.id);
    });
  }

  // Debounced: saving 500 messages on every ack would be slow. A page being
  // left saves at once.
  save() {
    if (!this.history) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.saveNow(), 200);
  }

  saveNow() {
    clearTimeout(this.saveTimer);
    if (!this.history || this.closed) return;
    this.storage.set(this.historyKey, JSON.stringify(this.messages.slice(-HISTORY_MAX).map(stored)));
  }

  // Take over the messages and members of an earlier conversation of the
  // same enclave (a new connection, or one parked a moment ago): everyone not
  // shown as left is "reconnecting" until their link is back.
  adopt(earlier) {
    ["messages", "byId", "seen", "accounts"].forEach((k) => (this[k] = earlier[k]));
    this.accounts.forEach((account, id) => {
      account.grace = null;
      if (account.state !== "left" && id !== this.me.account_id) this.startGrace(id);
    });
  }

  close() {
    this.saveNow();
    this.closed = true;
    clearTimeout(this.typingTimer);
    this.accounts.forEach((account) => clearTimeout(account.grace));
  }
}
