// Links in message text, found here and drawn as plain anchors: only http and
// https, opened in a new tab with no referrer and no opener, never fetched or
// embedded (no previews: a preview would tell a link's server who reads it).
// Pure: the chat panel turns the parts into elements.

// A run of non-space characters starting with a scheme; trailing punctuation
// is taken off below, as is a closing bracket that opened outside the link.
const CANDIDATE = /\bhttps?:\/\/[^\s<>"]+/giu;
const TRAILING = /[.,;:!?'"»”’)\]}>]+$/u;
const PAIRS = { ")": "(", "]": "[", "}": "{" };

function balanced(url) {
  // "(see https://x.org/a_(b))" keeps the link's own bracket, drops the outer one.
  let end = url.length;
  while (end > 0) {
    const last = url[end - 1];
    const open = PAIRS[last];
    if (open) {
      const body = url.slice(0, end);
      const opens = body.split(open).length - 1;
      const closes = body.split(last).length - 1;
      if (closes <= opens) break;
      end -= 1;
    } else if (TRAILING.test(last)) {
      end -= 1;
    } else {
      break;
    }
  }
  return url.slice(0, end);
}

// The href for `text`, or null when it is not an http(s) URL with a host.
export function safeHref(text) {
  let url;
  try {
    url = new URL(text);
  } catch (err) {
    return null;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) return null;
  return url.href;
}

// `[{text}, {text, href}, …]`: the text in order, links marked.
export function linkParts(text) {
  const parts = [];
  let at = 0;
  for (const match of String(text).matchAll(CANDIDATE)) {
    const url = balanced(match[0]);
    const href = safeHref(url);
    if (!href) continue;
    if (match.index > at) parts.push({ text: text.slice(at, match.index) });
    parts.push({ text: url, href });
    at = match.index + url.length;
  }
  if (at < text.length || parts.length === 0) parts.push({ text: text.slice(at) });
  return parts;
}

// The attributes every link in a message gets.
export const LINK_ATTRS = { target: "_blank", rel: "noopener noreferrer nofollow", referrerPolicy: "no-referrer" };
