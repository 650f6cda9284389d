// What outlives one mesh: the history kept in the tab's storage (when asked)
// and conversations parked for a minute between two meshes. Pure, like
// conversation.js, whose messages it stores.

export const HISTORY_MAX = 500; // messages kept in the tab when history is on
export const PARKED_MS = 60000; // how long a parked conversation waits to be taken back

// A message as JSON for storage: sets become arrays, and only our unacked
// messages keep their envelope, to go out again once restored.
export const stored = (m) => ({
  id: m.id,
  ts: m.ts,
  from: m.from,
  name: m.name,
  text: m.text,
  mine: m.mine,
  status: m.status,
  pending: [...m.pending],
  sentTo: [...m.sentTo],
  unaddressed: Boolean(m.unaddressed),
  envelope: m.mine && m.pending.size ? m.envelope : undefined,
});

export const restored = (m) => ({ ...m, pending: new Set(m.pending || []), sentTo: new Set(m.sentTo || []) });

// The conversation of a mesh closed while the page lives on, for a minute:
// when the backend restarts, Reflex re-renders the page and its props pass
// through empty, which closed the mesh; the next one for the same account
// and enclave takes the conversation back (unsent messages included)
// instead of starting from nothing.
export class Parking {
  constructor(ms = PARKED_MS) {
    this.ms = ms;
    this.parked = new Map();
  }

  park(conversation) {
    const { messages, byId, seen, accounts } = conversation;
    if (!messages.length) return;
    const key = `${conversation.me.account_id} ${conversation.enclaveId}`;
    clearTimeout((this.parked.get(key) || {}).timer);
    // Its own timer: the text leaves memory after a minute, whatever else happens.
    const timer = setTimeout(() => this.parked.delete(key), this.ms);
    this.parked.set(key, { timer, messages, byId, seen, accounts });
  }

  take(accountId, enclaveId) {
    const key = `${accountId} ${enclaveId}`;
    const entry = this.parked.get(key);
    if (!entry) return null;
    clearTimeout(entry.timer);
    this.parked.delete(key);
    return entry;
  }
}
