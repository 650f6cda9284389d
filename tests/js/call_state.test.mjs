// The pure rules of calls (assets/ephem/call_state.js).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  callState,
  CROWD_BITRATE,
  explain,
  figures,
  fitEncoding,
  isCrowded,
  level,
  mediaSupport,
  ownState,
} from "../../assets/ephem/call_state.js";

test("a peer's call payload is reduced to four strict booleans", () => {
  assert.deepEqual(callState({ active: true, audio: "yes", video: 1, screen: true, extra: true }), {
    active: true,
    audio: false,
    video: false,
    screen: true,
  });
  assert.deepEqual(callState(null), { active: false, audio: false, video: false, screen: false });
});

test("our state: nothing is on outside a call; muted means no audio; a screen is video", () => {
  const track = {};
  assert.deepEqual(ownState({ active: false, microphone: track, camera: track }), { active: false, audio: false, video: false, screen: false });
  assert.deepEqual(ownState({ active: true, microphone: track, muted: true, camera: null, screen: null }), {
    active: true,
    audio: false,
    video: false,
    screen: false,
  });
  assert.deepEqual(ownState({ active: true, microphone: track, muted: false, camera: null, screen: track }), {
    active: true,
    audio: true,
    video: true,
    screen: true,
  });
});

test("a call is crowded above the crowd limit of cameras, counting ours, and only while we are in it", () => {
  const cams = (n) => Array.from({ length: n }, () => ({ video: true }));
  const on = { video: true };
  const off = { video: false };
  assert.equal(isCrowded(true, cams(6), off, 6), false);
  assert.equal(isCrowded(true, cams(6), on, 6), true);
  assert.equal(isCrowded(true, [...cams(2), { video: false }], on, 2), true);
  assert.equal(isCrowded(true, cams(2), off, 2), false);
  assert.equal(isCrowded(false, cams(10), on, 6), false);
  assert.equal(isCrowded(true, cams(10), on, 0), false); // 0: the server's limit is not known yet
});

test("a crowded call halves video and caps its bitrate; an uncrowded one undoes both", () => {
  assert.deepEqual(fitEncoding({ rid: "a", active: true }, true), { rid: "a", active: true, scaleResolutionDownBy: 2, maxBitrate: CROWD_BITRATE });
  assert.equal(fitEncoding({ scaleResolutionDownBy: 2, maxBitrate: CROWD_BITRATE }, true), null);
  assert.deepEqual(fitEncoding({ scaleResolutionDownBy: 2, maxBitrate: CROWD_BITRATE }, false), { scaleResolutionDownBy: 1 });
  assert.equal(fitEncoding({}, false), null);
});

test("the microphone level is the root mean square of its samples", () => {
  assert.equal(level(new Float32Array(8)), 0);
  assert.equal(level([0.5, -0.5, 0.5, -0.5]), 0.5);
  assert.equal(level([]), 0);
});

test("figures come from the inbound RTP reports only", () => {
  const reports = new Map([
    ["v", { type: "inbound-rtp", kind: "video", framesDecoded: 40, frameWidth: 640, frameHeight: 480 }],
    ["a", { type: "inbound-rtp", kind: "audio", packetsReceived: 120, audioLevel: 0.3 }],
    ["o", { type: "outbound-rtp", kind: "video", framesEncoded: 99, frameWidth: 1 }],
  ]);
  assert.deepEqual(figures(reports), { framesDecoded: 40, frameWidth: 640, frameHeight: 480, audioPackets: 120, level: 0.3 });
  assert.deepEqual(figures(new Map()), { framesDecoded: 0, frameWidth: 0, frameHeight: 0, audioPackets: 0, level: 0 });
});

test("calls need a secure page with media devices", () => {
  assert.equal(mediaSupport(undefined).reason, "insecure");
  assert.equal(mediaSupport({ isSecureContext: false }).reason, "insecure");
  assert.equal(mediaSupport({ isSecureContext: true, navigator: {} }).reason, "unsupported");
  const getUserMedia = () => {};
  assert.deepEqual(mediaSupport({ isSecureContext: true, navigator: { mediaDevices: { getUserMedia } } }), { call: true, screen: false, reason: "" });
  const devices = { getUserMedia, getDisplayMedia: () => {} };
  assert.equal(mediaSupport({ isSecureContext: true, navigator: { mediaDevices: devices } }).screen, true);
});

test("device errors are explained in words a user can act on", () => {
  assert.match(explain({ name: "NotAllowedError" }, "camera"), /did not allow the camera/);
  assert.equal(explain({ name: "NotFoundError" }, "microphone"), "No microphone was found on this device.");
  assert.match(explain({ name: "NotReadableError" }, "camera"), /in use by another program/);
  assert.equal(explain(new Error("boom"), "screen"), "Could not use the screen: boom");
});
