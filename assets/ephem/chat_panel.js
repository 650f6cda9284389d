// The chat panel: the message list and the box to write in. Message text is
// drawn here, from the mesh's conversation, and never handed to Reflex.

import { createElement as h, memo, useEffect, useLayoutEffect, useRef, useState } from "react";
import { MAX_TEXT } from "./envelope.js";
import { built } from "./peer_link.js";
import { FilePanel } from "./file_panel.js";
import { LINK_ATTRS, linkParts } from "./linkify.js";
import { emojiOnly, groupStarts, shownTime } from "./message_view.js";
import { ScrollPin } from "./scroll_pin.js";
import { useAttention } from "./notify.js";
import { useWords } from "./language.js";

// Also the room's column, around the call and the chat: it fills the height
// it is given (the enclave page gives it the viewport's, app.css).
export const PANEL = { display: "flex", flexDirection: "column", gap: "0.5rem", width: "100%", flex: "1 1 auto", minHeight: 0 };

const COMPOSER_MAX_PX = 160; // the box grows with its text up to this, then scrolls

const styles = {
  panel: PANEL,
  frame: { position: "relative", flex: "1 1 auto", minHeight: "6rem", display: "flex", flexDirection: "column" },
  list: {
    position: "relative", // holds the visually hidden names, which would otherwise stretch the page
    display: "flex",
    flexDirection: "column",
    gap: "0.15rem",
    flex: "1 1 auto",
    minHeight: 0,
    overflowY: "auto",
    overscrollBehavior: "contain",
    padding: "0.5rem",
    border: "1px solid var(--gray-a5)",
    borderRadius: "var(--radius-3)",
  },
  bubble: (mine, first) => ({
    alignSelf: mine ? "flex-end" : "flex-start",
    maxWidth: "85%",
    marginTop: first ? "0.45rem" : 0,
    padding: "0.35rem 0.7rem",
    borderRadius: "var(--radius-4)",
    background: mine ? "var(--accent-4)" : "var(--gray-3)",
    color: "var(--gray-12)",
  }),
  meta: { fontSize: "0.75rem", color: "var(--gray-11)", display: "flex", gap: "0.4rem", alignItems: "baseline", flexWrap: "wrap" },
  text: { whiteSpace: "pre-wrap", overflowWrap: "anywhere", fontSize: "0.95rem" },
  big: { fontSize: "2rem", lineHeight: 1.2 },
  link: { color: "var(--accent-11)", textDecoration: "underline", overflowWrap: "anywhere" },
  jump: {
    position: "absolute",
    bottom: "0.6rem",
    left: "50%",
    transform: "translateX(-50%)",
    padding: "0.35rem 0.9rem",
    borderRadius: "999px",
    border: "none",
    background: "var(--accent-9)",
    color: "var(--accent-contrast)",
    font: "inherit",
    fontSize: "0.85rem",
    boxShadow: "var(--shadow-3)",
    cursor: "pointer",
  },
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
    maxHeight: `${COMPOSER_MAX_PX}px`,
    overflowY: "auto",
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
  sr: { position: "absolute", width: 1, height: 1, overflow: "hidden", clip: "rect(0 0 0 0)", whiteSpace: "nowrap" },
  error: { color: "var(--red-11)", fontSize: "0.8rem" },
  outage: {
    color: "var(--amber-11)",
    background: "var(--amber-a3)",
    fontSize: "0.85rem",
    padding: "0.4rem 0.7rem",
    borderRadius: "var(--radius-3)",
  },
};

const STATUS_MARK = { sending: "◷", sent: "✓", delivered: "✓✓" };

// The text with its http(s) links as anchors (linkify.js); never previewed.
function MessageText({ text }) {
  return linkParts(text).map((part, i) =>
    part.href ? h("a", { key: i, href: part.href, ...LINK_ATTRS, style: styles.link }, part.text) : part.text,
  );
}

// `first`: the message starts a run of one sender, which shows the name once.
// Memoised on plain values (messages are updated in place): a list of
// hundreds redraws only what changed.
const ChatMessage = memo(function ChatMessage({ ts, text, mine, name, status, first }) {
  const message = { ts, text, mine, name, status };
  const { t, locale } = useWords();
  const time = shownTime(ts, locale);
  const big = emojiOnly(text);
  const who = mine ? t("You") : name;
  const said = { sending: t("sending"), sent: t("sent"), delivered: t("delivered") };
  return h(
    "div",
    {
      "data-testid": "chat-message",
      "data-status": message.status,
      "data-mine": String(message.mine),
      "data-first": String(first),
      style: styles.bubble(message.mine, first),
    },
    h(
      "div",
      { style: styles.meta },
      // A grouped message still says who wrote it to a screen reader.
      first ? h("bdi", { style: { fontWeight: 600 } }, who) : h("bdi", { style: styles.sr }, who),
      h("time", { dateTime: message.ts, title: time.full }, time.short),
      message.mine ? h("span", { "aria-label": said[message.status] || message.status }, `${STATUS_MARK[message.status] || ""} ${said[message.status] || message.status}`) : null,
    ),
    h("div", { dir: "auto", style: big ? { ...styles.text, ...styles.big } : styles.text }, h(MessageText, { text: message.text })),
  );
});

// The composer grows with its text (up to COMPOSER_MAX_PX, then scrolls).
function fitHeight(box) {
  if (!box) return;
  box.style.height = "auto";
  box.style.height = `${Math.min(box.scrollHeight + 2, COMPOSER_MAX_PX)}px`;
}

// `children`: drawn between the list and the composer (the page's typing line).
export function ChatPanel({ session, mesh, keepHistory, children }) {
  const { t, tn } = useWords();
  const [, setVersion] = useState(0);
  const [draft, keepDraft] = useState(() => session.drafts.get(session.enclaveId) || "");
  const setDraft = (text) => {
    keepDraft(text);
    if (text) session.drafts.set(session.enclaveId, text);
    else session.drafts.delete(session.enclaveId);
  };
  const [error, setError] = useState("");
  const list = useRef(null);
  const box = useRef(null);
  const root = useRef(null); // files are dropped and pasted onto it (file_panel.js)
  const pin = useRef(null);
  if (!pin.current) pin.current = new ScrollPin();
  const [below, setBelow] = useState(0);

  useEffect(() => {
    if (!mesh) return undefined;
    mesh.conversation.setHistory(Boolean(keepHistory));
    return mesh.subscribe(() => setVersion((v) => v + 1));
  }, [mesh, keepHistory]);

  // Written before the enclave's mesh exists (right after a load): shown as
  // sending, handed to the mesh as soon as it opens.
  const early = session.early.map((text, i) => ({
    id: `early-${i}`, ts: new Date().toISOString(), name: "You", text, mine: true, status: "sending",
  }));
  const messages = [...(mesh ? mesh.conversation.messages : []), ...early];
  const starts = groupStarts(messages);

  // Pinned to the newest message unless the reader scrolled up (scroll_pin.js).
  const count = messages.length;
  const seenCount = useRef(0);
  useLayoutEffect(() => {
    const fresh = messages.slice(seenCount.current);
    seenCount.current = count;
    const follow = pin.current.update(count, {
      fromOthers: fresh.filter((m) => !m.mine).length,
      mine: fresh.some((m) => m.mine),
    });
    if (follow && list.current) list.current.scrollTop = list.current.scrollHeight;
    setBelow(pin.current.below);
  }, [count]);

  // The list's own size changes too (a call's tiles, the phone's keyboard):
  // a pinned list stays at the bottom.
  useEffect(() => {
    const element = list.current;
    if (!element || typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver(() => {
      if (pin.current.pinned) element.scrollTop = element.scrollHeight;
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const onScroll = () => {
    const element = list.current;
    if (!element) return;
    pin.current.scrolled(element);
    if (pin.current.below !== below) setBelow(pin.current.below);
  };

  const jump = () => {
    pin.current.jump();
    setBelow(0);
    if (list.current) list.current.scrollTo({ top: list.current.scrollHeight, behavior: "smooth" });
  };

  // Unread count in the title, sound and desktop notifications (notify.js).
  const pinned = below === 0 && pin.current.pinned;
  useAttention({ messages, pinned, accountId: mesh ? mesh.me.account_id : "", enclaveId: mesh ? mesh.enclaveId : "" });

  useLayoutEffect(() => fitHeight(box.current), [draft]);

  const submit = () => {
    const result = session.send(draft);
    if (result.ok) {
      setDraft("");
      setError("");
    } else if (result.code === "too_long") {
      setError(t("Messages are limited to {n} characters.", { n: MAX_TEXT }));
    } else if (result.error !== "empty") {
      setError(result.error);
    }
  };

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
            ? tn(
                "The server is unreachable. Chat goes on with the {n} member you are connected to; new members and calls wait until it is back.",
                "The server is unreachable. Chat goes on with the {n} members you are connected to; new members and calls wait until it is back.",
                linked,
              )
            : t("The server is unreachable. Messages wait here until it is back."),
        )
      : null,
    h(
      "div",
      { style: styles.frame },
      h(
        "div",
        {
          ref: list,
          style: styles.list,
          role: "log",
          "aria-live": "polite",
          "aria-label": t("Messages"),
          // Focusable, so the keyboard can scroll it.
          tabIndex: 0,
          "data-testid": "chat-list",
          "data-pinned": String(pinned),
          onScroll,
        },
        messages.length === 0
          ? h("p", { style: styles.empty }, t("No messages yet. They go straight to the others, never through our server."))
          : messages.map((m, i) =>
              h(ChatMessage, { key: m.id, ts: m.ts, text: m.text, mine: m.mine, name: m.name, status: m.status, first: starts[i] }),
            ),
      ),
      below > 0
        ? h(
            "button",
            { type: "button", "data-testid": "chat-jump", style: styles.jump, onClick: jump },
            tn("{n} new message ↓", "{n} new messages ↓", below),
          )
        : null,
    ),
    h(FilePanel, { mesh, target: root }),
    children,
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
        ref: box,
        "data-testid": "chat-input",
        "aria-label": t("Message"),
        placeholder: t("Write a message…"),
        title: t("Enter sends, Shift+Enter starts a new line"),
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
      h("button", { type: "submit", "data-testid": "chat-send", style: styles.button }, t("Send")),
    ),
    error ? h("div", { role: "alert", style: styles.error }, error) : null,
  );
}
