// The chat panel: the message list and the box to write in. Message text is
// drawn here, from the mesh's conversation, and never handed to Reflex.

import { createElement as h, useEffect, useRef, useState } from "react";
import { MAX_TEXT } from "./envelope.js";
import { built } from "./peer_link.js";
import { FilePanel } from "./file_panel.js";

// Also the room's column, around the call and the chat.
export const PANEL = { display: "flex", flexDirection: "column", gap: "0.5rem", width: "100%" };

const styles = {
  panel: PANEL,
  list: {
    display: "flex",
    flexDirection: "column",
    gap: "0.4rem",
    maxHeight: "55vh",
    minHeight: "8rem",
    overflowY: "auto",
    padding: "0.5rem",
    border: "1px solid var(--gray-a5)",
    borderRadius: "var(--radius-3)",
  },
  bubble: (mine) => ({
    alignSelf: mine ? "flex-end" : "flex-start",
    maxWidth: "85%",
    padding: "0.4rem 0.7rem",
    borderRadius: "var(--radius-4)",
    background: mine ? "var(--accent-4)" : "var(--gray-3)",
    color: "var(--gray-12)",
  }),
  meta: { fontSize: "0.7rem", color: "var(--gray-11)", display: "flex", gap: "0.4rem", alignItems: "baseline" },
  text: { whiteSpace: "pre-wrap", overflowWrap: "anywhere", fontSize: "0.95rem" },
  form: { display: "flex", gap: "0.5rem", alignItems: "flex-end" },
  input: {
    flex: 1,
    resize: "none",
    font: "inherit",
    padding: "0.5rem 0.6rem",
    borderRadius: "var(--radius-3)",
    border: "1px solid var(--gray-a7)",
    background: "var(--color-surface)",
    color: "var(--gray-12)",
    minHeight: "2.5rem",
    maxHeight: "8rem",
  },
  button: {
    padding: "0.55rem 1rem",
    borderRadius: "var(--radius-3)",
    border: "none",
    background: "var(--accent-9)",
    color: "var(--accent-contrast)",
    font: "inherit",
    cursor: "pointer",
  },
  empty: { color: "var(--gray-11)", fontSize: "0.85rem", textAlign: "center", margin: "auto" },
  error: { color: "var(--red-11)", fontSize: "0.8rem" },
  outage: {
    color: "var(--amber-11)",
    background: "var(--amber-a3)",
    fontSize: "0.85rem",
    padding: "0.4rem 0.7rem",
    borderRadius: "var(--radius-3)",
  },
};

const STATUS_MARK = { sending: "◷ sending", sent: "✓ sent", delivered: "✓✓ delivered" };

function ChatMessage({ message }) {
  const time = new Date(message.ts);
  const shown = isNaN(time) ? "" : time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return h(
    "div",
    {
      "data-testid": "chat-message",
      "data-status": message.status,
      "data-mine": String(message.mine),
      style: styles.bubble(message.mine),
    },
    h(
      "div",
      { style: styles.meta },
      h("bdi", { style: { fontWeight: 600 } }, message.mine ? "You" : message.name),
      h("time", { dateTime: message.ts }, shown),
      message.mine ? h("span", { "aria-label": message.status }, STATUS_MARK[message.status] || message.status) : null,
    ),
    h("div", { dir: "auto", style: styles.text }, message.text),
  );
}

export function ChatPanel({ session, mesh, keepHistory }) {
  const [, setVersion] = useState(0);
  const [draft, setDraft] = useState("");
  const [error, setError] = useState("");
  const list = useRef(null);
  const root = useRef(null); // files are dropped and pasted onto it (file_panel.js)

  useEffect(() => {
    if (!mesh) return undefined;
    mesh.conversation.setHistory(Boolean(keepHistory));
    return mesh.subscribe(() => setVersion((v) => v + 1));
  }, [mesh, keepHistory]);

  const count = mesh ? mesh.conversation.messages.length : 0;
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [count]);

  const submit = () => {
    const result = session.send(draft);
    if (result.ok) {
      setDraft("");
      setError("");
    } else if (result.error !== "empty") {
      setError(result.error);
    }
  };

  // Written before the enclave's mesh exists (right after a load): shown as
  // sending, handed to the mesh as soon as it opens.
  const early = session.early.map((text, i) => ({
    id: `early-${i}`, ts: new Date().toISOString(), name: "You", text, mine: true, status: "sending",
  }));
  const messages = [...(mesh ? mesh.conversation.messages : []), ...early];
  // Drawn here, not by Reflex: while the server is away, so is every update of the page's state.
  const linked = mesh ? new Set([...mesh.links.values()].filter((l) => l.open).map((l) => l.peer.account_id)).size : 0;
  return h(
    "div",
    {
      ref: root,
      style: styles.panel,
      "data-testid": "chat-panel",
      "data-server": session.outage ? "unreachable" : session.inRoom ? "joined" : "connecting",
      // RTCPeerConnections this page has made: a link kept across a server restart makes none.
      "data-peer-connections": String(built.count),
    },
    session.outage
      ? h(
          "div",
          { role: "status", "data-testid": "server-status", style: styles.outage },
          linked
            ? `The server is unreachable. Chat goes on with the ${linked === 1 ? "member" : `${linked} members`} you are connected to; new members and calls wait until it is back.`
            : "The server is unreachable. Messages wait here until it is back.",
        )
      : null,
    h(
      "div",
      { ref: list, style: styles.list, role: "log", "aria-live": "polite", "aria-label": "Messages" },
      messages.length === 0
        ? h("p", { style: styles.empty }, "No messages yet. They go straight to the others, never through our server.")
        : messages.map((m) => h(ChatMessage, { key: m.id, message: m })),
    ),
    h(FilePanel, { mesh, target: root }),
    h(
      "form",
      {
        style: styles.form,
        onSubmit: (e) => {
          e.preventDefault();
          submit();
        },
      },
      h("textarea", {
        "data-testid": "chat-input",
        "aria-label": "Message",
        placeholder: "Write a message…",
        title: "Enter sends, Shift+Enter starts a new line",
        dir: "auto",
        rows: 1,
        // A hard stop only: the box counts UTF-16 units, and an emoji is two of
        // them; the 4,000 characters are counted on send (checkText).
        maxLength: 2 * MAX_TEXT,
        value: draft,
        style: styles.input,
        onChange: (e) => {
          setDraft(e.target.value);
          if (mesh) mesh.conversation.setTyping(e.target.value.trim().length > 0);
        },
        onKeyDown: (e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            submit();
          }
        },
        onBlur: () => mesh && mesh.conversation.setTyping(false),
      }),
      h("button", { type: "submit", "data-testid": "chat-send", style: styles.button }, "Send"),
    ),
    error ? h("div", { role: "alert", style: styles.error }, error) : null,
  );
}
