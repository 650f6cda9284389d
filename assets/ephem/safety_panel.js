// Safety codes, on request, one row per member connected here, and a flag
// for a member whose key changed. Drawn here from the mesh's relay rung, never
// handed to Reflex: a code that travelled through the server would prove nothing.

import { createElement as h, useEffect, useState } from "react";
import { useWords } from "./language.js";

const styles = {
  panel: {
    display: "flex",
    flexDirection: "column",
    gap: "0.4rem",
    padding: "0.6rem",
    border: "1px solid var(--gray-a5)",
    borderRadius: "var(--radius-3)",
    fontSize: "0.85rem",
  },
  row: { display: "flex", alignItems: "center", gap: "0.5rem", flexWrap: "wrap" },
  name: { fontWeight: 600, overflowWrap: "anywhere", minWidth: 0 },
  button: {
    padding: "0.3rem 0.6rem",
    borderRadius: "var(--radius-3)",
    border: "1px solid var(--gray-a7)",
    background: "var(--color-surface)",
    color: "var(--gray-12)",
    font: "inherit",
    cursor: "pointer",
  },
  code: { fontFamily: "monospace", fontSize: "1rem", letterSpacing: "0.05em", whiteSpace: "nowrap" },
  note: { fontSize: "0.8rem", color: "var(--gray-11)" },
  alert: { fontSize: "0.85rem", color: "var(--amber-11)" },
};

export function SafetyPanel({ mesh }) {
  const { t } = useWords();
  const [, setVersion] = useState(0);
  const [codes, setCodes] = useState({}); // peer_id -> code, or "" while not there yet
  useEffect(() => {
    if (!mesh) return undefined;
    return mesh.subscribe(() => setVersion((v) => v + 1));
  }, [mesh]);
  if (!mesh) return null;
  const links = [...mesh.links.values()].filter((l) => !l.peer.account_id.startsWith("peer:"));
  const changed = [...mesh.relay.changedKeys].map((accountId) => {
    const link = links.find((l) => l.peer.account_id === accountId);
    return link ? link.peer.name || "…" : null;
  });
  if (!links.length) return null;

  const show = async (peerId) => {
    const code = await mesh.relay.safetyCode(peerId);
    setCodes((known) => ({ ...known, [peerId]: code || "" }));
  };

  return h(
    "section",
    { "aria-label": t("Safety codes"), "data-testid": "safety-panel", style: styles.panel },
    ...changed.filter(Boolean).map((name) =>
      h("div", { key: `changed-${name}`, role: "alert", "data-testid": "safety-changed", style: styles.alert },
        h("bdi", { dir: "auto" }, name), "’s safety code changed: compare it again."),
    ),
    ...links.map((link) => {
      const peerId = link.peer.peer_id;
      const code = codes[peerId];
      return h(
        "div",
        { key: peerId, style: styles.row, "data-testid": "safety-row" },
        h("bdi", { dir: "auto", style: styles.name }, link.peer.name || "…"),
        code === undefined
          ? h("button", { type: "button", "data-testid": "safety-show", style: styles.button, onClick: () => show(peerId) }, t("Show safety code"))
          : code
            ? h("span", { "data-testid": "safety-code", style: styles.code }, code)
            : h("span", { style: styles.note, role: "status" }, t("No code yet: their keys have not arrived."), " ",
                h("button", { type: "button", style: styles.button, onClick: () => show(peerId) }, t("Try again"))),
      );
    }),
    h("div", { style: styles.note }, t("Compare codes in person or by phone: the same code on both sides means nobody, the server included, is in between.")),
  );
}
