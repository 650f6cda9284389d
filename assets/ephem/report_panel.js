// The report form, drawn by the browser module so that message text never
// enters Reflex state: a reason and a checklist of the last messages this
// screen shows; only what is ticked is posted, with this tab's session token,
// to POST /api/reports. The outcome goes up as `reported` ({ok, error}).

import { createElement as h, useEffect, useRef, useState } from "react";
import { backendOrigin } from "./backend.js";
import { candidates, reportBody, REASON_MAX } from "./report.js";
import { keptToken } from "./storage.js";
import { useWords } from "./language.js";

const styles = {
  box: {
    border: "1px solid var(--red-a7)",
    borderRadius: "var(--radius-3)",
    padding: "0.75rem",
    display: "flex",
    flexDirection: "column",
    gap: "0.5rem",
  },
  list: { maxHeight: "14rem", overflowY: "auto", display: "flex", flexDirection: "column", gap: "0.25rem" },
  item: { display: "flex", gap: "0.5rem", alignItems: "flex-start", fontSize: "0.85rem" },
  text: { whiteSpace: "pre-wrap", overflowWrap: "anywhere" },
  reason: { font: "inherit", padding: "0.4rem", borderRadius: "var(--radius-2)", border: "1px solid var(--gray-a7)", minHeight: "3rem" },
  row: { display: "flex", gap: "0.5rem", justifyContent: "flex-end", flexWrap: "wrap" },
  button: (danger) => ({
    padding: "0.45rem 0.9rem",
    borderRadius: "var(--radius-3)",
    border: "none",
    background: danger ? "var(--red-9)" : "var(--gray-4)",
    color: danger ? "white" : "var(--gray-12)",
    font: "inherit",
    cursor: "pointer",
  }),
  error: { color: "var(--red-11)", fontSize: "0.8rem" },
};

export function ReportPanel({ mesh, request, onDone }) {
  const { t } = useWords();
  const who = request.name || t("this member"); // isolated (FSI…PDI) inside the sentence
  const [reason, setReason] = useState("");
  const [picked, setPicked] = useState(() => new Set());
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const first = useRef(null);
  useEffect(() => first.current && first.current.focus(), [request.nonce]);

  const shown = candidates(mesh ? mesh.conversation.messages : []);
  const toggle = (id) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
  };
  const submit = async () => {
    const built = reportBody({ accountId: request.account_id, enclaveId: request.enclave_id, reason, messages: shown, picked }, t);
    if (built.error) return setError(built.error);
    setBusy(true);
    let outcome;
    try {
      const response = await fetch(`${backendOrigin()}/api/reports`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${keptToken()}` },
        body: JSON.stringify(built.body),
      });
      const answer = await response.json().catch(() => ({}));
      outcome = response.ok ? { ok: true } : { ok: false, error: answer.error || { code: "error", message: t("The report was not sent.") } };
    } catch (err) {
      outcome = { ok: false, error: { code: "unreachable", message: t("The server cannot be reached. Try again.") } };
    }
    setBusy(false);
    if (outcome.ok) onDone(outcome);
    else setError(outcome.error.message);
  };

  return h(
    "form",
    {
      style: styles.box,
      "data-testid": "report-form",
      "aria-label": t("Report {name}", { name: request.name || "" }),
      onSubmit: (e) => {
        e.preventDefault();
        submit();
      },
      onKeyDown: (e) => e.key === "Escape" && onDone(null),
    },
    h("strong", null, t("Report {name}", { name: `\u2068${who}\u2069` })),
    h("textarea", {
      ref: first,
      "data-testid": "report-reason",
      "aria-label": t("What happened"),
      placeholder: t("What happened?"),
      dir: "auto",
      maxLength: REASON_MAX,
      value: reason,
      style: styles.reason,
      onChange: (e) => setReason(e.target.value),
    }),
    shown.length
      ? h(
          "fieldset",
          { style: { border: "none", padding: 0, margin: 0 } },
          h("legend", { style: { fontSize: "0.8rem" } }, t("Attach messages from your screen (only those you tick are sent):")),
          h(
            "div",
            { style: styles.list },
            shown.map((m) =>
              h(
                "label",
                { key: m.id, style: styles.item, "data-testid": "report-message" },
                h("input", { type: "checkbox", checked: picked.has(m.id), onChange: () => toggle(m.id) }),
                h("span", null, h("bdi", { style: { fontWeight: 600 } }, m.mine ? t("You") : m.name), ": ", h("span", { dir: "auto", style: styles.text }, m.text)),
              ),
            ),
          ),
        )
      : h("div", { style: { fontSize: "0.8rem" } }, t("No messages on this screen to attach.")),
    error ? h("div", { role: "alert", style: styles.error }, error) : null,
    h(
      "div",
      { style: styles.row },
      h("button", { type: "button", style: styles.button(false), onClick: () => onDone(null), "data-testid": "report-cancel" }, t("Cancel")),
      h("button", { type: "submit", style: styles.button(true), disabled: busy, "data-testid": "report-send" }, busy ? t("Sending…") : t("Send report")),
    ),
  );
}
