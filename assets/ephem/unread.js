// What the reader has not seen yet, counted in the browser: message text and
// read state never go to the server. Pure: notify.js feeds it the
// conversation and whether the reader is looking (tab visible, list at the
// bottom), and shows what it returns.

// "(3) ephem · enclave": the count in front of the page's own title.
const COUNTED = /^\(\d+\+?\) /;
export const stripCount = (title) => String(title || "").replace(COUNTED, "");
export function titleWith(title, count) {
  const base = stripCount(title);
  if (!(count > 0)) return base;
  return `(${count > 99 ? "99+" : count}) ${base}`;
}

// The reader's place in one conversation: the last message they have seen.
export class ReadMark {
  constructor() {
    this.mark = null; // id of the newest message seen
    this.known = null; // how many messages the last update held
  }

  // `messages` in display order; `reading`: the reader looks at the newest
  // ones now. Returns `{unread, fresh}`: messages by others after the mark,
  // and those by others that arrived since the last update (to announce).
  update(messages, reading) {
    const first = this.known === null;
    const fresh = first ? [] : messages.slice(Math.min(this.known, messages.length)).filter((m) => !m.mine);
    this.known = messages.length;
    const last = messages[messages.length - 1];
    // What was there when the page opened was seen before (or is history);
    // writing a message means the reader is here.
    if (first || reading || (last && last.mine)) {
      this.mark = last ? last.id : null;
      return { unread: 0, fresh };
    }
    const at = this.mark === null ? -1 : messages.findIndex((m) => m.id === this.mark);
    const unread = messages.slice(at + 1).filter((m) => !m.mine).length;
    return { unread, fresh };
  }
}

// A notification's title: the sender's name, as chat apps title them, else
// "New message" in the page's language (`t`, useWords').
export const noteTitle = (message, t) => (message && message.name) || t("New message");

// Whether one fresh message raises a desktop notification: only someone
// else's, only while the tab is hidden, only when asked for and allowed.
export const shouldNotify = ({ message, hidden, enabled, permission }) =>
  Boolean(message && !message.mine && hidden && enabled && permission === "granted");

// The per-enclave counts the home page shows, as kept in browser storage:
// `{enclave_id: count}`; anything malformed reads as nothing.
export function parseCounts(text) {
  let value;
  try {
    value = JSON.parse(text || "{}");
  } catch (err) {
    return {};
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return {};
  const counts = {};
  for (const [id, n] of Object.entries(value)) {
    if (typeof id === "string" && Number.isInteger(n) && n > 0) counts[id] = n;
  }
  return counts;
}

export function withCount(counts, enclaveId, count) {
  const next = { ...counts };
  if (count > 0) next[enclaveId] = count;
  else delete next[enclaveId];
  return next;
}
