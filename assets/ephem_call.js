// Calls inside an enclave: microphone, camera and screen share over the same
// mesh and signaling as the chat.
//
// Media flows only between two members who are both in the call. Each link
// carries at most one audio and one video transceiver, and only the impolite
// side of a link (the larger peer_id) creates them: two members joining at
// once then cannot end up with duplicate m-lines, the polite side takes them
// over from the offer. Everything else is the link's perfect negotiation.
// Mute and camera-off swap the sender's track for null (no packets at all,
// no renegotiation); screen share swaps the camera's track for the screen's.
// Who is in the call, muted or sharing travels as `call` envelopes on the
// DataChannels, never through the server.

import { createElement as h, useEffect, useRef, useState } from "react";

const KINDS = ["audio", "video"];
const STATS_MS = 500; // how often tiles refresh their figures and speaking rings
const SPEAKING_LEVEL = 0.02; // audio level (0..1) above which a member shows as speaking
const SPEAKING_HOLD_MS = 700; // and for this long after, so the ring does not flicker
const CROWD_SCALE = 2; // a crowded call sends video at half width and height
const CROWD_BITRATE = 250000; // and at most this many bits per second per link
export const VIDEO_CROWD = 6; // default: above this many cameras, a call sends less video
const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };

// What this page can do: calls need a secure context (HTTPS or localhost).
export function mediaSupport() {
  if (typeof window === "undefined" || !window.isSecureContext) return { call: false, screen: false, reason: "insecure" };
  const devices = navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) return { call: false, screen: false, reason: "unsupported" };
  return { call: true, screen: typeof devices.getDisplayMedia === "function", reason: "" };
}

// A peer's `call` payload, reduced to the four flags we act on.
export function callState(payload) {
  const flag = (key) => Boolean(payload && payload[key] === true);
  return { active: flag("active"), audio: flag("audio"), video: flag("video"), screen: flag("screen") };
}

function explain(err, what) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return `Your browser did not allow the ${what}. Allow it for this site in the address bar, then try again.`;
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return `No ${what} was found on this device.`;
  if (name === "NotReadableError" || name === "AbortError") return `The ${what} is in use by another program, or could not start.`;
  return `Could not use the ${what}: ${(err && err.message) || err}`;
}

async function askMedia() {
  // Without a camera (or with it refused), join with the microphone alone, and the other way round.
  const attempts = [{ audio: true, video: CAMERA }, { audio: true }, { video: CAMERA }];
  let first = null;
  for (const constraints of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      first = first || err;
    }
  }
  throw first;
}

export class Call {
  constructor(mesh) {
    this.mesh = mesh;
    this.active = false;
    this.busy = ""; // "start" | "camera" | "screen" while the browser asks for a device
    this.error = "";
    this.microphone = null;
    this.camera = null;
    this.screen = null;
    this.muted = false;
    this.crowded = false;
    this.sendScale = 1; // how much our video senders scale down, read back from them
    this.preview = null; // MediaStream of our own video, for our tile
    this.speakingUntil = 0;
    this.meter = null;
    this.timer = null;
    this.listeners = new Set();
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    this.listeners.forEach((listener) => listener());
  }

  get videoTrack() {
    return this.screen || this.camera;
  }

  // What we tell the others.
  get state() {
    return {
      active: this.active,
      audio: this.active && Boolean(this.microphone) && !this.muted,
      video: this.active && Boolean(this.videoTrack),
      screen: this.active && Boolean(this.screen),
    };
  }

  // Links to peers who are in the call too (whether or not we are).
  inCall() {
    return [...this.mesh.links.values()].filter((link) => link.open && link.callState && link.callState.active);
  }

  count() {
    const accounts = new Set(this.inCall().map((link) => link.peer.account_id));
    if (this.active) accounts.add(this.mesh.me.account_id);
    return accounts.size;
  }

  async start() {
    if (this.active || this.busy) return;
    const support = mediaSupport();
    if (!support.call) return;
    this.busy = "start";
    this.error = "";
    this.changed();
    try {
      const stream = await askMedia();
      if (this.mesh.closed) {
        stream.getTracks().forEach((track) => track.stop());
        return;
      }
      this.microphone = this.watch(stream.getAudioTracks()[0], "microphone");
      this.camera = this.watch(stream.getVideoTracks()[0], "camera");
      this.muted = false;
      this.active = true;
      this.startMeter();
      this.timer = setInterval(() => this.poll(), STATS_MS);
      this.update();
    } catch (err) {
      this.error = explain(err, "microphone or camera");
    } finally {
      this.busy = "";
      this.changed();
    }
  }

  leave() {
    if (!this.active) return;
    [this.microphone, this.camera, this.screen].forEach((track) => track && track.stop());
    this.microphone = this.camera = this.screen = null;
    this.active = false;
    this.crowded = false;
    this.error = "";
    clearInterval(this.timer);
    this.stopMeter();
    this.update();
  }

  toggleMute() {
    if (!this.active || !this.microphone) return;
    this.muted = !this.muted;
    this.microphone.enabled = !this.muted;
    this.update();
  }

  async toggleCamera() {
    if (!this.active || this.busy) return;
    if (this.camera) {
      this.camera.stop(); // the camera's light goes off too
      this.camera = null;
    } else {
      const ask = () => navigator.mediaDevices.getUserMedia({ video: CAMERA });
      this.camera = this.watch(await this.askTrack("camera", ask), "camera");
    }
    this.update();
  }

  async toggleScreen() {
    if (!this.active || this.busy) return;
    if (this.screen) {
      this.stopScreen();
      return;
    }
    if (!mediaSupport().screen) {
      this.error = "This browser cannot share its screen.";
      this.changed();
      return;
    }
    const ask = () => navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = await this.askTrack("screen", ask);
    if (track) {
      track.contentHint = "detail";
      // The browser's own "Stop sharing" ends the track: go back to the camera.
      track.addEventListener("ended", () => this.screen === track && this.stopScreen());
      this.screen = track;
    }
    this.update();
  }

  // One video track from the browser, with `what` shown as busy meanwhile; a
  // track that arrives after the call ended is stopped at once.
  async askTrack(what, ask) {
    this.busy = what;
    this.error = "";
    this.changed();
    try {
      const track = (await ask()).getVideoTracks()[0];
      if (this.active) return track;
      track.stop();
    } catch (err) {
      // Closing the browser's screen picker is a choice, not an error.
      if (!(what === "screen" && err && err.name === "NotAllowedError")) this.error = explain(err, what);
    } finally {
      this.busy = "";
    }
    return null;
  }

  // A device unplugged (or taken by the system) ends its track: drop it, say
  // so, and the call goes on with what is left.
  watch(track, slot) {
    if (!track) return null;
    track.addEventListener("ended", () => {
      if (this[slot] !== track) return; // stopped by us, or already replaced
      this[slot] = null;
      this.error = `The ${slot} stopped working.`;
      this.update();
    });
    return track;
  }

  stopScreen() {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    this.update();
  }

  // After any change of ours: tell the others, fit every link, redraw.
  update() {
    this.refreshPreview();
    this.mesh.broadcast("call", this.state);
    this.mesh.links.forEach((link) => this.syncLink(link));
    this.applyCrowd();
    this.mesh.changed(); // which redraws the call too
  }

  refreshPreview() {
    const track = this.active ? this.videoTrack : null;
    const current = this.preview && this.preview.getVideoTracks()[0];
    if ((current || null) === track) return;
    this.preview = track ? new MediaStream([track]) : null;
  }

  // --- the mesh's hooks ---------------------------------------------------------

  onLinkOpen(link) {
    link.sendEnvelope("call", this.state);
  }

  onRemoteState(link, payload) {
    const before = link.callState;
    link.callState = callState(payload);
    if (!link.callState.active) {
      link.callStats = null;
      link.speakingUntil = 0;
    }
    this.syncLink(link);
    this.applyCrowd();
    if (!before || before.active !== link.callState.active) this.mesh.changed();
    this.changed();
  }

  onTrack(link, event) {
    if (!link.remoteStream) link.remoteStream = new MediaStream();
    if (!link.remoteStream.getTracks().includes(event.track)) link.remoteStream.addTrack(event.track);
    this.changed();
  }

  // Make the link's transceivers match who is in the call. Called on every
  // change and by the polite side just before it answers an offer, so its
  // answer already carries its own media.
  syncLink(link) {
    if (link.closed || !link.pc.remoteDescription) return; // its first negotiation comes first
    const want = this.active && Boolean(link.callState && link.callState.active);
    const tracks = { audio: this.muted ? null : this.microphone, video: this.videoTrack };
    for (const kind of KINDS) {
      let transceiver = link.media[kind];
      if (!transceiver || transceiver.stopped) {
        transceiver = link.pc.getTransceivers().find((t) => !t.stopped && t.receiver.track.kind === kind) || null;
      }
      if (!transceiver && want && !link.polite) transceiver = link.pc.addTransceiver(kind, { direction: "sendrecv" });
      if (!transceiver) continue;
      link.media[kind] = transceiver;
      const track = want ? tracks[kind] : null;
      if (transceiver.sender.track !== track) {
        transceiver.sender.replaceTrack(track).catch((err) => console.warn("ephem: replaceTrack failed", err));
      }
      const direction = want ? "sendrecv" : "inactive";
      if (transceiver.direction !== direction) transceiver.direction = direction;
    }
  }

  // More than `crowd` members sending video: everyone sends less of it, so a
  // full mesh of uploads still fits.
  applyCrowd() {
    const sending = this.inCall().filter((link) => link.callState.video).length + (this.state.video ? 1 : 0);
    const crowded = this.active && sending > (this.mesh.session.videoCrowd || VIDEO_CROWD);
    if (crowded !== this.crowded) {
      this.crowded = crowded;
      this.changed();
    }
    this.mesh.links.forEach((link) => this.applyQuality(link));
  }

  async applyQuality(link) {
    const transceiver = link.media.video;
    if (!transceiver || link.closed) return;
    const params = transceiver.sender.getParameters();
    if (!params.encodings || !params.encodings.length) return; // not negotiated yet: done again once it is
    const encoding = params.encodings[0];
    const scale = this.crowded ? CROWD_SCALE : 1;
    if ((encoding.scaleResolutionDownBy || 1) === scale) return;
    encoding.scaleResolutionDownBy = scale;
    if (this.crowded) encoding.maxBitrate = CROWD_BITRATE;
    else delete encoding.maxBitrate;
    try {
      await transceiver.sender.setParameters(params);
    } catch (err) {
      console.warn("ephem: could not change the video quality", err);
    }
  }

  // --- figures and speaking rings ---------------------------------------------------

  startMeter() {
    if (!this.microphone || typeof AudioContext === "undefined") return;
    try {
      const context = new AudioContext();
      const analyser = context.createAnalyser();
      analyser.fftSize = 512;
      context.createMediaStreamSource(new MediaStream([this.microphone])).connect(analyser);
      this.meter = { context, analyser, samples: new Float32Array(analyser.fftSize) };
    } catch (err) {
      this.meter = null; // no ring for ourselves, the call goes on
    }
  }

  stopMeter() {
    if (this.meter) this.meter.context.close().catch(() => {});
    this.meter = null;
  }

  localLevel() {
    if (!this.meter || this.muted) return 0;
    const { analyser, samples } = this.meter;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    return Math.sqrt(sum / samples.length);
  }

  async poll() {
    if (!this.active) return;
    const now = Date.now();
    if (this.localLevel() > SPEAKING_LEVEL) this.speakingUntil = now + SPEAKING_HOLD_MS;
    const scales = this.inCall()
      .map((link) => link.media.video && link.media.video.sender.getParameters().encodings)
      .filter((encodings) => encodings && encodings.length)
      .map((encodings) => encodings[0].scaleResolutionDownBy || 1);
    this.sendScale = scales.length ? Math.max(...scales) : 1;
    await Promise.all(
      this.inCall().map(async (link) => {
        try {
          const figures = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, audioPackets: 0, level: 0 };
          (await link.pc.getStats()).forEach((report) => {
            if (report.type !== "inbound-rtp") return;
            if (report.kind === "video") {
              figures.framesDecoded = report.framesDecoded || 0;
              figures.frameWidth = report.frameWidth || 0;
              figures.frameHeight = report.frameHeight || 0;
            } else if (report.kind === "audio") {
              figures.audioPackets = report.packetsReceived || 0;
              figures.level = report.audioLevel || 0;
            }
          });
          link.callStats = figures;
          if (link.callState.audio && figures.level > SPEAKING_LEVEL) link.speakingUntil = now + SPEAKING_HOLD_MS;
        } catch (err) {
          /* closed meanwhile */
        }
      }),
    );
    this.changed();
  }

  close() {
    this.leave();
    this.listeners.clear();
  }
}

// --- React ---------------------------------------------------------------------------

const styles = {
  panel: {
    display: "flex",
    flexDirection: "column",
    gap: "0.5rem",
    width: "100%",
    padding: "0.6rem",
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
      self ? h("span", null, "(you)") : null,
      state.audio ? null : h("span", { style: styles.pill }, "muted"),
      state.screen ? h("span", { style: styles.pill }, "screen") : null,
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

export function CallPanel({ mesh }) {
  const [, setVersion] = useState(0);
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
    h("span", { style: styles.title }, "Call"),
    h("span", { "data-testid": "call-count", "data-count": String(count), style: styles.count }, count === 0 ? "nobody in the call" : `${count} in the call`),
  );

  let controls;
  if (!support.call) {
    controls = h(
      "div",
      { role: "note", "data-testid": "call-insecure", style: styles.note },
      support.reason === "insecure"
        ? "Calls need a secure page: open ephem over HTTPS (or on localhost) to use your microphone, camera and screen."
        : "This browser cannot make calls: it gives pages no access to a microphone or camera.",
    );
  } else if (!call.active) {
    controls = h(ControlButton, {
      testid: "call-start",
      label: count > 0 ? "Join the call" : "Start a call",
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
        label: call.muted ? "Unmute" : "Mute",
        pressed: call.muted,
        kind: call.muted ? "on" : "",
        disabled: !call.microphone,
        onClick: () => call.toggleMute(),
      }),
      h(ControlButton, {
        testid: "call-camera",
        label: call.camera ? "Camera off" : "Camera on",
        pressed: !call.camera,
        kind: call.camera ? "" : "on",
        busy: call.busy === "camera",
        onClick: () => call.toggleCamera(),
      }),
      h(ControlButton, {
        testid: "call-screen",
        label: call.screen ? "Stop sharing" : "Share screen",
        pressed: Boolean(call.screen),
        kind: call.screen ? "on" : "",
        busy: call.busy === "screen",
        disabled: !support.screen,
        onClick: () => call.toggleScreen(),
      }),
      h(ControlButton, { testid: "call-leave", label: "Leave the call", kind: "danger", onClick: () => call.leave() }),
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
        ...others.map((link) =>
          h(Tile, {
            key: link.peer.peer_id,
            name: link.peer.name || "…",
            self: false,
            state: link.callState,
            stream: link.remoteStream || null,
            stats: link.callStats,
            speaking: Boolean(link.speakingUntil && link.speakingUntil > now),
          }),
        ),
      ]
    : [];

  return h(
    "section",
    { "aria-label": "Call", "data-testid": "call-panel", style: styles.panel },
    header,
    controls,
    call.error ? h("div", { role: "alert", "data-testid": "call-error", style: styles.error }, call.error) : null,
    call.crowded
      ? h(
          "div",
          { role: "status", "data-testid": "call-crowded", style: styles.note },
          "Many cameras are on: everyone sends lower-resolution video so the call stays smooth.",
        )
      : null,
    tiles.length ? h("div", { style: styles.grid }, ...tiles) : null,
  );
}
