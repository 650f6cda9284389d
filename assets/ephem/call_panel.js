// The call panel: who is in the call, our controls and a tile per member.
// All it shows comes from the mesh's Call (call.js).

import { createElement as h, useEffect, useRef, useState } from "react";
import { mediaSupport, sayTrouble } from "./call_state.js";
import { useWords } from "./language.js";

const styles = {
  panel: {
    display: "flex",
    flexDirection: "column",
    gap: "0.5rem",
    width: "100%",
    flex: "0 0 auto",
    padding: "0.5rem 0.6rem",
    border: "1px solid var(--gray-a5)",
    borderRadius: "var(--radius-3)",
  },
  header: { display: "flex", alignItems: "center", gap: "0.5rem", flexWrap: "wrap" },
  title: { fontWeight: 600, fontSize: "0.95rem", marginRight: "auto" },
  count: { fontSize: "0.8rem", color: "var(--gray-11)" },
  controls: { display: "flex", gap: "0.4rem", flexWrap: "wrap" },
  button: (kind) => ({
    padding: "0.45rem 0.8rem",
    borderRadius: "var(--radius-3)",
    border: "1px solid var(--gray-a7)",
    font: "inherit",
    fontSize: "0.85rem",
    cursor: "pointer",
    background: kind === "primary" ? "var(--accent-9)" : kind === "danger" ? "var(--red-9)" : kind === "on" ? "var(--accent-4)" : "var(--color-surface)",
    color: kind === "primary" || kind === "danger" ? "white" : "var(--gray-12)",
  }),
  // Two columns even on a 375px phone, so a call of three leaves the chat in view.
  grid: { display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(min(100%, 140px), 1fr))", gap: "0.5rem" },
  tile: (speaking) => ({
    position: "relative",
    aspectRatio: "4 / 3",
    maxHeight: "30vh",
    background: "#111",
    borderRadius: "var(--radius-3)",
    overflow: "hidden",
    outline: speaking ? "3px solid var(--green-9)" : "1px solid var(--gray-a6)",
    outlineOffset: speaking ? "-3px" : "-1px",
    transition: "outline-color 120ms",
  }),
  video: (mirror) => ({ width: "100%", height: "100%", objectFit: "contain", transform: mirror ? "scaleX(-1)" : "none" }),
  avatar: {
    position: "absolute",
    inset: 0,
    display: "flex",
    alignItems: "center",
    justifyContent: "center",
    fontSize: "2.2rem",
    color: "#ddd",
  },
  label: {
    position: "absolute",
    left: "0.4rem",
    bottom: "0.4rem",
    right: "0.4rem",
    display: "flex",
    gap: "0.3rem",
    alignItems: "center",
    color: "white",
    fontSize: "0.8rem",
    textShadow: "0 1px 2px black",
  },
  name: { overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap", minWidth: 0 },
  pill: { background: "rgba(0, 0, 0, 0.6)", borderRadius: "999px", padding: "0 0.45rem", fontSize: "0.7rem" },
  note: { fontSize: "0.8rem", color: "var(--gray-11)" },
  error: { fontSize: "0.8rem", color: "var(--red-11)" },
};

function Video({ stream, muted, mirror }) {
  const ref = useRef(null);
  useEffect(() => {
    const element = ref.current;
    if (!element || element.srcObject === stream) return;
    element.srcObject = stream || null;
    if (stream) element.play().catch(() => {}); // autoplay below handles the rest
  }, [stream]);
  return h("video", { ref, autoPlay: true, playsInline: true, muted, style: styles.video(mirror) });
}

function Tile({ name, self, state, stream, stats, speaking, sendScale }) {
  const { t } = useWords();
  const initial = [...(name || "?").trim()][0] || "?";
  return h(
    "div",
    {
      "data-testid": "call-tile",
      "data-self": String(self),
      "data-name": name,
      "data-muted": String(!state.audio),
      "data-camera": String(state.video && !state.screen),
      "data-screen": String(state.screen),
      "data-speaking": String(speaking),
      "data-frames-decoded": String(stats ? stats.framesDecoded : 0),
      "data-frame-width": String(stats ? stats.frameWidth : 0),
      "data-frame-height": String(stats ? stats.frameHeight : 0),
      "data-audio-packets": String(stats ? stats.audioPackets : 0),
      "data-send-scale": self ? String(sendScale) : undefined,
      style: styles.tile(speaking),
    },
    h(Video, { stream, muted: self, mirror: self && state.video && !state.screen }),
    state.video ? null : h("div", { style: styles.avatar, "aria-hidden": "true" }, initial.toUpperCase()),
    h(
      "div",
      { style: styles.label },
      h("bdi", { dir: "auto", style: styles.name }, name),
      self ? h("span", null, t("(you)")) : null,
      state.audio ? null : h("span", { style: styles.pill }, t("muted")),
      state.screen ? h("span", { style: styles.pill }, t("screen")) : null,
    ),
  );
}

function ControlButton({ testid, label, pressed, kind, busy, disabled, onClick }) {
  return h(
    "button",
    {
      type: "button",
      "data-testid": testid,
      "aria-pressed": pressed === undefined ? undefined : String(pressed),
      "aria-busy": busy ? "true" : undefined,
      disabled: Boolean(disabled || busy),
      style: { ...styles.button(kind), opacity: disabled || busy ? 0.6 : 1 },
      onClick,
    },
    busy ? "…" : label,
  );
}

// Media cannot take the server's relay: say so for the members reached only through it.
function relayedNote(mesh, t) {
  const names = [...mesh.links.values()].filter((l) => mesh.relay.relayedAccount(l.peer.account_id)).map((l) => l.peer.name || "…");
  if (!names.length) return null;
  return h(
    "div",
    { role: "note", "data-testid": "call-relayed", style: styles.note },
    // The names isolated (FSI…PDI) so a Persian name in an English sentence keeps its order.
    t("Calls need a direct or TURN path; {names} can be reached only through the encrypted relay, which carries chat but not audio or video.", {
      names: `\u2068${names.join(", ")}\u2069`,
    }),
  );
}

export function CallPanel({ mesh }) {
  const { t } = useWords();
  const [, setVersion] = useState(0);
  // The tiles fold away so the conversation below gets the room (the call goes on).
  const [folded, setFolded] = useState(false);
  useEffect(() => {
    if (!mesh) return undefined;
    return mesh.call.subscribe(() => setVersion((v) => v + 1));
  }, [mesh]);
  if (!mesh) return null;
  const call = mesh.call;
  const support = mediaSupport();
  const count = call.count();
  const now = Date.now();
  const others = call.active ? call.inCall() : [];

  const header = h(
    "div",
    { style: styles.header },
    h("span", { style: styles.title }, t("Call")),
    h("span", { "data-testid": "call-count", "data-count": String(count), style: styles.count }, count === 0 ? "nobody in the call" : `${count} in the call`),
    call.active
      ? h(
          "button",
          {
            type: "button",
            "data-testid": "call-fold",
            "aria-expanded": String(!folded),
            "aria-controls": "ephem-call-tiles",
            style: styles.button(""),
            onClick: () => setFolded(!folded),
          },
          folded ? t("Show video") : t("Hide video"),
        )
      : null,
  );

  let controls;
  if (!support.call) {
    controls = h(
      "div",
      { role: "note", "data-testid": "call-insecure", style: styles.note },
      support.reason === "insecure"
        ? t("Calls need a secure page: open ephem over HTTPS (or on localhost) to use your microphone, camera and screen.")
        : t("This browser cannot make calls: it gives pages no access to a microphone or camera."),
    );
  } else if (!call.active) {
    controls = h(ControlButton, {
      testid: "call-start",
      label: count > 0 ? t("Join the call") : t("Start a call"),
      kind: "primary",
      busy: call.busy === "start",
      onClick: () => call.start(),
    });
  } else {
    controls = h(
      "div",
      { style: styles.controls },
      h(ControlButton, {
        testid: "call-mute",
        label: call.muted ? t("Unmute") : t("Mute"),
        pressed: call.muted,
        kind: call.muted ? "on" : "",
        disabled: !call.microphone,
        onClick: () => call.toggleMute(),
      }),
      h(ControlButton, {
        testid: "call-camera",
        label: call.camera ? t("Camera off") : t("Camera on"),
        pressed: !call.camera,
        kind: call.camera ? "" : "on",
        busy: call.busy === "camera",
        onClick: () => call.toggleCamera(),
      }),
      h(ControlButton, {
        testid: "call-screen",
        label: call.screen ? t("Stop sharing") : t("Share screen"),
        pressed: Boolean(call.screen),
        kind: call.screen ? "on" : "",
        busy: call.busy === "screen",
        disabled: !support.screen,
        onClick: () => call.toggleScreen(),
      }),
      h(ControlButton, { testid: "call-leave", label: t("Leave the call"), kind: "danger", onClick: () => call.leave() }),
    );
  }

  const tiles = call.active
    ? [
        h(Tile, {
          key: "self",
          name: mesh.me.name,
          self: true,
          state: call.state,
          stream: call.preview,
          stats: null,
          speaking: call.speakingUntil > now,
          sendScale: call.sendScale,
        }),
        ...others.map((link) => {
          const peer = call.peer(link);
          return h(Tile, {
            key: link.peer.peer_id,
            name: link.peer.name || "…",
            self: false,
            state: peer.state,
            stream: peer.stream || null,
            stats: peer.stats,
            speaking: Boolean(peer.speakingUntil && peer.speakingUntil > now),
          });
        }),
      ]
    : [];

  // Out of a call the panel is one line (title, count, Start): the conversation gets the height.
  const oneLine = support.call && !call.active;
  return h(
    "section",
    { "aria-label": t("Call"), "data-testid": "call-panel", style: styles.panel },
    oneLine ? h("div", { style: styles.header }, header, controls) : header,
    oneLine ? null : controls,
    call.error ? h("div", { role: "alert", "data-testid": "call-error", style: styles.error }, sayTrouble(t, call.error)) : null,
    relayedNote(mesh, t),
    call.crowded
      ? h(
          "div",
          { role: "status", "data-testid": "call-crowded", style: styles.note },
          t("Many cameras are on: everyone sends lower-resolution video so the call stays smooth."),
        )
      : null,
    // Folded tiles stay mounted (hidden), so their video keeps playing and the sound goes on.
    tiles.length ? h("div", { id: "ephem-call-tiles", style: { ...styles.grid, display: folded ? "none" : "grid" } }, ...tiles) : null,
  );
}
