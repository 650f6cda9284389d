// The DataChannel envelope of the contract, `{v: 1, type, id, ts, from, payload}`:
// the twin of ephem/envelope.py. Pure (no DOM, no React, no socket), so that
// `node --test` imports it as it is; tests/vectors/ holds the cases both obey.

export const MAX_TEXT = 4000; // characters in one chat message (contract)
export const MAX_FRAME = 64 * 1024; // characters in one frame, both ways, as in Python
export const MAX_NAME = 64; // characters of a peer's `hello` name we keep

// Characters (code points), not UTF-16 units, so an emoji counts once here as in Python.
export const textLength = (text) => [...text].length;

// The first `max` characters, never half of a surrogate pair.
export const clip = (text, max = MAX_NAME) => (text.length <= max ? text : [...text].slice(0, max).join(""));

export const uuid = () =>
  crypto.randomUUID
    ? crypto.randomUUID()
    : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
        (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
      );

// What a user typed, trimmed and within the contract's limit, or why not.
export function checkText(text) {
  const clean = (text || "").trim();
  if (!clean) return { ok: false, error: "empty" };
  // `code` for the panel, which says it in the page's language.
  if (textLength(clean) > MAX_TEXT) return { ok: false, code: "too_long", error: `Messages are limited to ${MAX_TEXT} characters.` };
  return { ok: true, text: clean };
}

// `id` and `ts` are given only by tests that need a known frame.
export function envelope(type, from, payload, id = uuid(), ts = new Date().toISOString()) {
  return { v: 1, type, id, ts, from, payload };
}

export const frame = (type, from, payload) => JSON.stringify(envelope(type, from, payload));

const isObject = (value) => Boolean(value) && typeof value === "object" && !Array.isArray(value);

// Returns a checked envelope or null: anything malformed is dropped, unknown
// types pass through (and are ignored by the caller).
export function parseEnvelope(raw) {
  // UTF-16 units are at least as many as characters: only a long frame needs counting.
  if (typeof raw !== "string" || (raw.length > MAX_FRAME && textLength(raw) > MAX_FRAME)) return null;
  let env;
  try {
    env = JSON.parse(raw);
  } catch (e) {
    return null;
  }
  if (!isObject(env) || env.v !== 1) return null;
  if (typeof env.type !== "string" || typeof env.id !== "string" || typeof env.from !== "string") return null;
  if (typeof env.ts !== "string" || !isObject(env.payload)) return null;
  const { type, payload } = env;
  if (type === "chat" && (typeof payload.text !== "string" || textLength(payload.text) > MAX_TEXT)) return null;
  if (type === "ack" && typeof payload.of !== "string") return null;
  if (type === "hello" && typeof payload.name !== "string") return null;
  if ((type === "typing" || type === "call") && typeof payload.active !== "boolean") return null;
  return env;
}
