// What the client accepts before handing it to WebRTC: the ICE servers the
// backend gives (`/api/ice-servers`), ICE candidates arriving by signaling,
// and what a probe of one STUN or TURN server found. Pure: unit-tested in
// tests/js/ice_config.test.mjs. Nothing here throws on bad input: bad
// entries are dropped, with a warning.

export const MAX_ICE_SERVERS = 8;
export const MAX_URLS = 8; // per server
const MAX_FIELD = 512; // characters of a URL, username or credential
const MAX_CANDIDATE = 1024;
const ICE_URL = /^(stun|stuns|turn|turns):[^\s]+$/i;

function shortString(value, max = MAX_FIELD) {
  return typeof value === "string" && value.length > 0 && value.length <= max;
}

// The usable part of `raw` as a list of RTCIceServer: urls are stun:, turn:
// or turns: strings, TURN entries carry string credentials, at most
// MAX_ICE_SERVERS servers of MAX_URLS urls each.
export function sanitizeIceServers(raw, warn = console.warn) {
  if (!Array.isArray(raw)) {
    if (raw !== undefined && raw !== null) warn("ephem: ignoring ICE servers that are not a list", raw);
    return [];
  }
  const servers = [];
  for (const entry of raw) {
    if (servers.length >= MAX_ICE_SERVERS) {
      warn(`ephem: ignoring ICE servers past the first ${MAX_ICE_SERVERS}`);
      break;
    }
    if (!entry || typeof entry !== "object" || Array.isArray(entry)) {
      warn("ephem: ignoring an ICE server that is not an object", entry);
      continue;
    }
    const given = typeof entry.urls === "string" ? [entry.urls] : entry.urls;
    if (!Array.isArray(given)) {
      warn("ephem: ignoring an ICE server without urls", entry);
      continue;
    }
    const urls = given.filter((url) => shortString(url) && ICE_URL.test(url)).slice(0, MAX_URLS);
    if (urls.length !== given.length) warn("ephem: ignoring ICE server urls that are not stun:, turn: or turns:", given);
    const turn = urls.some((url) => /^turns?:/i.test(url));
    const server = { urls };
    if (turn) {
      if (!shortString(entry.username) || !shortString(entry.credential)) {
        warn("ephem: ignoring a TURN server without string credentials", given);
        continue;
      }
      server.username = entry.username;
      server.credential = entry.credential;
    }
    if (urls.length) servers.push(server);
  }
  return servers;
}

const CANDIDATE_LINE = /^(candidate:)?[^\s]+ \d+ (udp|tcp) \d+ [^\s]+ \d+ typ (host|srflx|prflx|relay)( |$)/i;

// A remote candidate (RTCIceCandidateInit, or null for the end of
// candidates) as signaling brought it: {ok: true, candidate} with only the
// known fields, or {ok: false, reason}.
export function checkCandidate(data) {
  if (data === null || data === undefined) return { ok: true, candidate: null };
  if (typeof data !== "object" || Array.isArray(data)) return { ok: false, reason: "not an object" };
  const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = data;
  if (typeof candidate !== "string" || candidate.length > MAX_CANDIDATE) return { ok: false, reason: "bad candidate line" };
  if (candidate !== "" && !CANDIDATE_LINE.test(candidate)) return { ok: false, reason: "bad candidate line" };
  if (!(sdpMid === undefined || sdpMid === null || shortString(sdpMid, 64))) return { ok: false, reason: "bad sdpMid" };
  const index = sdpMLineIndex;
  if (!(index === undefined || index === null || (Number.isInteger(index) && index >= 0 && index < 1024))) {
    return { ok: false, reason: "bad sdpMLineIndex" };
  }
  if (!(usernameFragment === undefined || usernameFragment === null || shortString(usernameFragment, 256))) {
    return { ok: false, reason: "bad usernameFragment" };
  }
  if ((sdpMid === undefined || sdpMid === null) && (index === undefined || index === null)) {
    return { ok: false, reason: "neither sdpMid nor sdpMLineIndex" };
  }
  const clean = { candidate };
  if (sdpMid !== undefined) clean.sdpMid = sdpMid;
  if (index !== undefined) clean.sdpMLineIndex = index;
  if (usernameFragment !== undefined) clean.usernameFragment = usernameFragment;
  return { ok: true, candidate: clean };
}

// One probe per URL: a STUN URL gathers with that server alone, a TURN URL
// with that server alone and relay candidates only.
export function probeTargets(servers) {
  const targets = [];
  for (const server of servers) {
    for (const url of server.urls) {
      const turn = /^turns?:/i.test(url);
      const one = turn ? { urls: [url], username: server.username, credential: server.credential } : { urls: [url] };
      targets.push({ url, kind: turn ? "turn" : "stun", server: one });
    }
  }
  return targets;
}

// STUN/TURN error codes that mean "the server answered and said no to our credentials".
const REFUSED = new Set([401, 403, 431, 437, 441]);

// What a probe found: `types` the candidate types gathered, `errors` the
// errorCodes of icecandidateerror events, `complete` whether gathering
// finished before the timeout. -> "works" | "refused credentials" | "no answer".
export function classifyProbe(kind, { types = [], errors = [], complete = false }) {
  const wanted = kind === "turn" ? "relay" : "srflx";
  if (types.includes(wanted)) return "works";
  if (errors.some((code) => REFUSED.has(code))) return "refused credentials";
  // A STUN server that answered with our own address adds no candidate (it
  // would repeat the host one): gathering ends with no error.
  if (kind === "stun" && complete && errors.length === 0) return "works";
  return "no answer";
}
