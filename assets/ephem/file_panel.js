// Files in the chat panel: a labelled button, drag and drop onto the
// conversation and paste from the clipboard to send; a card per transfer
// with progress, speed and time left, Accept / Decline for large files,
// Cancel on either side. Pictures proven by their bytes show as thumbnails
// that open full size; anything else is offered only as a download of
// bytes (never rendered: no SVG, no HTML). Drawn here, never through Reflex.

import { createElement as h, useEffect, useRef, useState } from "react";
import { formatBytes, formatDuration } from "./file_transfer.js";
import { sayFileError } from "./file_errors.js";
import { progressOf } from "./file_links.js";
import { useWords } from "./language.js";

const styles = {
  bar: { display: "flex", gap: "0.5rem", alignItems: "center", flexWrap: "wrap", fontSize: "0.85rem" },
  button: {
    padding: "0.45rem 0.8rem",
    borderRadius: "var(--radius-3)",
    border: "1px solid var(--gray-a7)",
    background: "var(--color-surface)",
    color: "var(--gray-12)",
    font: "inherit",
    cursor: "pointer",
  },
  small: { padding: "0.25rem 0.6rem", fontSize: "0.8rem" },
  list: { display: "flex", flexDirection: "column", gap: "0.4rem", maxHeight: "35vh", overflowY: "auto" }, // the conversation stays first
  card: (mine) => ({
    alignSelf: mine ? "flex-end" : "flex-start",
    maxWidth: "min(100%, 28rem)",
    width: "100%",
    padding: "0.5rem 0.7rem",
    borderRadius: "var(--radius-4)",
    background: mine ? "var(--accent-3)" : "var(--gray-3)",
    color: "var(--gray-12)",
    display: "flex",
    flexDirection: "column",
    gap: "0.3rem",
    fontSize: "0.85rem",
  }),
  name: { fontWeight: 600, overflowWrap: "anywhere" },
  meta: { color: "var(--gray-11)", fontSize: "0.75rem" },
  progress: { width: "100%", height: "0.6rem" },
  row: { display: "flex", gap: "0.5rem", alignItems: "center", flexWrap: "wrap" },
  thumb: { maxWidth: "100%", maxHeight: "12rem", borderRadius: "var(--radius-2)", display: "block" },
  thumbButton: { padding: 0, border: "none", background: "none", cursor: "zoom-in", alignSelf: "flex-start" },
  drop: {
    border: "2px dashed var(--accent-8)",
    borderRadius: "var(--radius-3)",
    padding: "0.6rem",
    textAlign: "center",
    color: "var(--accent-11)",
  },
  dialog: { maxWidth: "95vw", maxHeight: "95vh", padding: "0.5rem", border: "none", borderRadius: "var(--radius-4)" },
  full: { maxWidth: "90vw", maxHeight: "80vh", display: "block", margin: "0 auto" },
  error: { color: "var(--red-11)", fontSize: "0.8rem" },
  ask: { width: "4.5rem", font: "inherit", padding: "0.2rem 0.3rem" },
};

// A transfer's status in words; the t() calls spelled out so extraction finds them.
const STATUS = {
  preparing: (t) => t("preparing"),
  offered: (t) => t("waiting for you to accept"),
  sending: (t) => t("sending"),
  receiving: (t) => t("receiving"),
  done: (t) => t("done"),
  declined: (t) => t("declined"),
  cancelled: (t) => t("cancelled"),
  failed: (t) => t("failed"),
};
const said = (t, status) => (STATUS[status] ? STATUS[status](t) : status);
const RELAYED = (t) => ` · ${t("through the relay, end-to-end encrypted (slower)")}`;

const hasFiles = (event) => Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes("Files");

function Progress({ item, receiver, label }) {
  const { t } = useWords();
  const p = progressOf(item, receiver);
  const parts = [t("{done} of {total}", { done: formatBytes(p.done), total: formatBytes(p.of) })];
  if (p.speed > 0) parts.push(`${formatBytes(Math.round(p.speed))}/s`);
  const left = formatDuration(p.eta);
  if (left && p.done < p.of) parts.push(t("{time} left", { time: left }));
  return h(
    "div",
    { "data-testid": "file-progress", "data-done": String(p.done), "data-of": String(p.of) },
    h("progress", { max: Math.max(1, p.of), value: p.done, style: styles.progress, "aria-label": label }),
    h("div", { style: styles.meta }, parts.join(" · ")),
  );
}

function Picture({ item }) {
  const { t } = useWords();
  const dialog = useRef(null);
  return h(
    "div",
    null,
    h(
      "button",
      {
        type: "button",
        style: styles.thumbButton,
        "aria-label": t("Open {name} full size", { name: item.name }),
        onClick: () => dialog.current && dialog.current.showModal(),
      },
      h("img", { "data-testid": "file-thumb", src: item.url, alt: item.name, style: styles.thumb }),
    ),
    h(
      "dialog",
      { ref: dialog, style: styles.dialog, "data-testid": "file-full", onClick: (e) => e.target === dialog.current && dialog.current.close() },
      h("img", { src: item.url, alt: item.name, style: styles.full }),
      h("form", { method: "dialog", style: { textAlign: "center", marginTop: "0.4rem" } }, h("button", { style: styles.button, autoFocus: true }, t("Close"))),
    ),
  );
}

function Outgoing({ files, item }) {
  const { t } = useWords();
  const live = item.status === "preparing" || item.status === "sending";
  return h(
    "div",
    { style: styles.card(true), "data-testid": "file-transfer", "data-direction": "out", "data-status": item.status },
    h("bdi", { dir: "auto", style: styles.name }, item.name),
    h("div", { style: styles.meta }, `${formatBytes(item.size)} · ${said(t, item.status)}`),
    item.url ? h(Picture, { item }) : null,
    item.status === "preparing" ? h(Progress, { item, label: t("Preparing {name}", { name: item.name }) }) : null,
    [...item.receivers.entries()].map(([accountId, r]) =>
      h(
        "div",
        { key: accountId, "data-testid": "file-receiver", "data-status": r.status, "data-starts": r.starts.join(",") },
        h(
          "div",
          { style: styles.meta },
          h("bdi", { dir: "auto" }, r.name),
          ` · ${said(t, r.status)}`,
          r.relayed && r.status === "sending" ? RELAYED(t) : "",
          r.note ? ` · ${sayFileError(t, r.note)}` : "",
          r.error ? h("span", { "data-testid": "file-error", "data-code": r.error.code }, ` · ${sayFileError(t, r.error)}`) : "",
        ),
        r.status === "sending" || r.status === "offered" ? h(Progress, { item, receiver: r, label: t("{file} to {name}", { file: item.name, name: r.name }) }) : null,
      ),
    ),
    item.error ? h("div", { role: "alert", style: styles.error, "data-testid": "file-error", "data-code": item.error.code }, sayFileError(t, item.error)) : null,
    live
      ? h(
          "button",
          { type: "button", style: { ...styles.button, ...styles.small }, "data-testid": "file-cancel", onClick: () => files.cancelOutgoing(item.id) },
          t("Cancel"),
        )
      : null,
  );
}

function Incoming({ files, item }) {
  const { t } = useWords();
  const small = { ...styles.button, ...styles.small };
  let body = null;
  if (item.status === "offered") {
    body = h(
      "div",
      { style: styles.row },
      h("button", { type: "button", style: small, "data-testid": "file-accept", onClick: () => files.accept(item.key) }, t("Accept")),
      h("button", { type: "button", style: small, "data-testid": "file-decline", onClick: () => files.decline(item.key) }, t("Decline")),
    );
  } else if (item.status === "receiving") {
    body = h(
      "div",
      null,
      h(Progress, { item, label: t("Receiving {name}", { name: item.name }) }),
      h("button", { type: "button", style: small, "data-testid": "file-cancel", onClick: () => files.cancelIncoming(item.key) }, t("Cancel")),
    );
  } else if (item.status === "done") {
    body = h(
      "div",
      { style: { display: "flex", flexDirection: "column", gap: "0.3rem" } },
      item.type.startsWith("image/") ? h(Picture, { item }) : null,
      h("a", { href: item.url, download: item.name, "data-testid": "file-download", style: { ...small, textDecoration: "none", alignSelf: "flex-start" } }, t("Download")),
    );
  }
  return h(
    "div",
    { style: styles.card(false), "data-testid": "file-transfer", "data-direction": "in", "data-status": item.status, "data-type": item.type || "" },
    h("div", { style: styles.meta }, h("bdi", { dir: "auto" }, item.sender || ""), " ", t("sends")),
    h("bdi", { dir: "auto", style: styles.name, "data-testid": "file-name" }, item.name),
    h(
      "div",
      { style: styles.meta, "data-relayed": String(Boolean(item.relayed)) },
      `${item.size ? formatBytes(item.size) : ""} · ${said(t, item.status)}`,
      item.relayed && item.status === "receiving" ? RELAYED(t) : "",
    ),
    item.error ? h("div", { role: "alert", style: styles.error, "data-testid": "file-error", "data-code": item.error.code }, sayFileError(t, item.error)) : null,
    body,
  );
}

// `target`: a ref to the element files may be dropped or pasted onto (the conversation).
export function FilePanel({ mesh, target }) {
  const { t } = useWords();
  const files = mesh ? mesh.files : null;
  const [, setVersion] = useState(0);
  const [dragging, setDragging] = useState(false);
  const input = useRef(null);

  useEffect(() => (files ? files.subscribe(() => setVersion((v) => v + 1)) : undefined), [files]);

  useEffect(() => {
    const el = target && target.current;
    if (!el || !files) return undefined;
    const over = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      setDragging(true);
    };
    const leave = (e) => {
      if (!el.contains(e.relatedTarget)) setDragging(false);
    };
    const drop = (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      setDragging(false);
      files.sendFiles(e.dataTransfer.files);
    };
    const paste = (e) => {
      const list = e.clipboardData && e.clipboardData.files;
      if (!list || !list.length) return;
      e.preventDefault();
      files.sendFiles(list);
    };
    el.addEventListener("dragover", over);
    el.addEventListener("dragleave", leave);
    el.addEventListener("drop", drop);
    el.addEventListener("paste", paste);
    return () => {
      el.removeEventListener("dragover", over);
      el.removeEventListener("dragleave", leave);
      el.removeEventListener("drop", drop);
      el.removeEventListener("paste", paste);
    };
  }, [files, target]);

  if (!files) return null;
  return h(
    "div",
    { style: { display: "flex", flexDirection: "column", gap: "0.4rem" }, "data-testid": "file-panel" },
    dragging ? h("div", { style: styles.drop }, t("Drop to send to everyone here")) : null,
    files.items.length
      ? h(
          "div",
          { style: styles.list, role: "log", "aria-live": "polite", "aria-label": t("Files") },
          files.items.map((item) =>
            item.mine ? h(Outgoing, { key: item.id, files, item }) : h(Incoming, { key: item.key || item.id, files, item }),
          ),
        )
      : null,
    h(
      "div",
      { style: styles.bar },
      h("input", {
        ref: input,
        type: "file",
        multiple: true,
        hidden: true,
        "data-testid": "file-input",
        onChange: (e) => {
          files.sendFiles(e.target.files);
          e.target.value = "";
        },
      }),
      h(
        "button",
        {
          type: "button",
          style: styles.button,
          "data-testid": "file-button",
          "aria-label": t("Send files"),
          title: t("Send files to everyone here (or drop or paste them onto the conversation)"),
          onClick: () => input.current && input.current.click(),
        },
        `📎 ${t("Send files")}`,
      ),
      h("span", { style: styles.meta }, t("or drop or paste them here")),
      h(
        "label",
        { style: { ...styles.meta, marginInlineStart: "auto" } },
        `${t("Ask before files over")} `,
        h("input", {
          type: "number",
          min: 1,
          max: 2048,
          style: styles.ask,
          "data-testid": "file-ask-above",
          value: Math.round(files.askAbove / 1024 / 1024),
          onChange: (e) => {
            const mb = Number(e.target.value);
            if (Number.isFinite(mb) && mb >= 1 && mb <= 2048) files.setAskAbove(Math.round(mb));
          },
        }),
        " MB",
      ),
    ),
  );
}
