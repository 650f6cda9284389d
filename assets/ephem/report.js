// A report's pure rules: which messages the reporter may pick (the last ones
// this screen shows) and the body sent to POST /api/reports. Only what the
// reporter ticks leaves the tab. Bounds as the server's (ephem/safety.py).

import { english } from "./i18n.js";

export const REASON_MAX = 500;
export const EVIDENCE_MAX = 50;
export const TEXT_MAX = 4000;
export const NAME_MAX = 64;

// The newest `limit` messages, oldest first, as the checklist shows them.
export function candidates(messages, limit = EVIDENCE_MAX) {
  return (messages || []).filter((m) => m && typeof m.text === "string" && m.text.length > 0).slice(-limit);
}

// Cut by characters (code points), never inside a surrogate pair.
function cut(text, max) {
  const chars = Array.from(String(text || ""));
  return chars.length > max ? chars.slice(0, max).join("") : chars.join("");
}

// The request body, or {error} when it cannot be sent as it is.
// `t`: the page's translator (English by default).
export function reportBody({ accountId, enclaveId, reason, messages, picked }, t = english.t) {
  const why = String(reason || "").trim();
  if (!why) return { error: t("Say briefly what happened.") };
  if (Array.from(why).length > REASON_MAX) return { error: t("At most {n} characters, please.", { n: REASON_MAX }) };
  const chosen = (messages || []).filter((m) => picked && picked.has(m.id));
  if (chosen.length > EVIDENCE_MAX) return { error: t("Attach at most {n} messages.", { n: EVIDENCE_MAX }) };
  const body = {
    account_id: accountId,
    reason: why,
    messages: chosen.map((m) => ({
      name: cut(m.mine ? "" : m.name, NAME_MAX),
      text: cut(m.text, TEXT_MAX),
      ts: cut(m.ts, 40),
      mine: Boolean(m.mine),
    })),
  };
  if (enclaveId) body.enclave_id = enclaveId;
  return { body };
}
