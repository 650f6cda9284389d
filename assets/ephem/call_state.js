// The pure part of calls: what a peer's `call` envelope says, what ours says,
// when a call is crowded, how loud a microphone is and what the receive
// figures are. No DOM or WebRTC objects are created here, so `node --test`
// imports it as it is; call.js does the rest.

import { english } from "./i18n.js";

export const KINDS = ["audio", "video"];
export const SPEAKING_LEVEL = 0.02; // audio level (0..1) above which a member shows as speaking
export const SPEAKING_HOLD_MS = 700; // and for this long after, so the ring does not flicker
export const CROWD_SCALE = 2; // a crowded call sends video at half width and height
export const CROWD_BITRATE = 250000; // and at most this many bits per second per link

// What this page can do: calls need a secure context (HTTPS or localhost).
export function mediaSupport(win = globalThis.window) {
  if (typeof win === "undefined" || !win.isSecureContext) return { call: false, screen: false, reason: "insecure" };
  const devices = win.navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) return { call: false, screen: false, reason: "unsupported" };
  return { call: true, screen: typeof devices.getDisplayMedia === "function", reason: "" };
}

// A peer's `call` payload, reduced to the four flags we act on.
export function callState(payload) {
  const flag = (key) => Boolean(payload && payload[key] === true);
  return { active: flag("active"), audio: flag("audio"), video: flag("video"), screen: flag("screen") };
}

// What we tell the others, from the tracks we hold.
export function ownState({ active, microphone, muted, camera, screen }) {
  return {
    active,
    audio: active && Boolean(microphone) && !muted,
    video: active && Boolean(screen || camera),
    screen: active && Boolean(screen),
  };
}

// More than `crowd` members sending video (we count when we send): everyone
// sends less of it, so a full mesh of uploads still fits. `crowd` is the
// server's EPHEM_CALL_VIDEO_CROWD; until it is known (0) nothing is crowded.
export function isCrowded(active, peerStates, own, crowd) {
  const sending = peerStates.filter((state) => state.video).length + (own.video ? 1 : 0);
  return active && crowd > 0 && sending > crowd;
}

// The first encoding of a video sender made to fit the call, or null when it already does.
export function fitEncoding(encoding, crowded) {
  const scale = crowded ? CROWD_SCALE : 1;
  if ((encoding.scaleResolutionDownBy || 1) === scale) return null;
  const fitted = { ...encoding, scaleResolutionDownBy: scale };
  if (crowded) fitted.maxBitrate = CROWD_BITRATE;
  else delete fitted.maxBitrate;
  return fitted;
}

// The devices `explain` names, each a whole phrase for the translators.
const DEVICES = {
  "microphone or camera": (t) => t("microphone or camera"),
  microphone: (t) => t("microphone"),
  camera: (t) => t("camera"),
  screen: (t) => t("screen"),
};

// Why the browser gave us no device, in words a user can act on, said by `t`
// (the page's translator; English by default). The device is named as a
// phrase of its own ("camera: ..."), so no language has to inflect it.
export function explain(err, what, t = english.t) {
  const name = err && err.name;
  const device = DEVICES[what] ? DEVICES[what](t) : String(what);
  if (name === "NotAllowedError" || name === "SecurityError") {
    return t("Your browser did not allow the {device}. Allow it for this site in the address bar, then try again.", { device });
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return t("No {device} was found on this device.", { device });
  if (name === "NotReadableError" || name === "AbortError") return t("The {device} is in use by another program, or could not start.", { device });
  if (name === "NotSupportedError" && what === "screen") return t("This browser cannot share its screen.");
  if (name === "ended") return t("The {device} stopped working.", { device });
  return t("Could not use the {device}: {detail}", { device, detail: String((err && err.message) || err) });
}

// A device trouble kept as what happened, said in the page's language when
// drawn (`sayTrouble(t, call.error)`), so a language switch says it again.
export const trouble = (err, what) => ({ err: { name: err && err.name, message: err && err.message }, what });
export const sayTrouble = (t, error) => (!error ? "" : typeof error === "string" ? error : explain(error.err, error.what, t));

// Root mean square of time-domain samples: 0 for silence, about 0.7 for a full-scale sine.
export function level(samples) {
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

// What a call tile shows of one link's `getStats()` reports.
export function figures(reports) {
  const found = { framesDecoded: 0, frameWidth: 0, frameHeight: 0, audioPackets: 0, level: 0 };
  reports.forEach((report) => {
    if (report.type !== "inbound-rtp") return;
    if (report.kind === "video") {
      found.framesDecoded = report.framesDecoded || 0;
      found.frameWidth = report.frameWidth || 0;
      found.frameHeight = report.frameHeight || 0;
    } else if (report.kind === "audio") {
      found.audioPackets = report.packetsReceived || 0;
      found.level = report.audioLevel || 0;
    }
  });
  return found;
}
