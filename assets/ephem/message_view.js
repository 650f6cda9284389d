// How the message list reads: runs of one sender grouped under one name,
// times in the reader's own locale, a message of a few emoji shown large.
// Pure: the chat panel draws what these return.

export const GROUP_GAP_MS = 5 * 60 * 1000; // a pause this long starts a new group

// For each message, whether it starts a group: another sender, another day,
// or a long pause since the one before.
export function groupStarts(messages, gapMs = GROUP_GAP_MS) {
  return messages.map((m, i) => {
    if (i === 0) return true;
    const before = messages[i - 1];
    if (before.mine !== m.mine || before.from !== m.from) return true;
    const a = Date.parse(before.ts);
    const b = Date.parse(m.ts);
    if (Number.isNaN(a) || Number.isNaN(b)) return false;
    return Math.abs(b - a) > gapMs || new Date(a).toDateString() !== new Date(b).toDateString();
  });
}

// Formatters are made once per locale: making one per message and render
// costs more than drawing the message.
const formats = new Map();
function formatsFor(locale) {
  const key = locale || "";
  if (!formats.has(key)) {
    formats.set(key, {
      short: new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" }),
      full: new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short" }),
    });
  }
  return formats.get(key);
}

// "14:05" (or "02:05 PM") in the reader's locale, and the full date for a
// title; empty for a time that does not parse.
export function shownTime(ts, locale = undefined) {
  const time = new Date(ts);
  if (Number.isNaN(time.getTime())) return { short: "", full: "" };
  const { short, full } = formatsFor(locale);
  return { short: short.format(time), full: full.format(time) };
}

// One to three emoji and nothing else: drawn large, as chat apps do.
const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?(?:\u200D\p{Extended_Pictographic}(?:\uFE0F|\p{Emoji_Modifier})?)*|\p{Regional_Indicator}{2}|\s)+$/u;

let graphemes = null;
export function emojiOnly(text) {
  const trimmed = String(text).trim();
  if (!trimmed || trimmed.length > 64 || !EMOJI_ONLY.test(trimmed)) return false;
  graphemes = graphemes || new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const count = [...graphemes.segment(trimmed)].filter(
    (s) => s.segment.trim(),
  ).length;
  return count <= 3;
}
