// Our own side of a call: the microphone, camera and screen tracks, mute,
// what our tile previews and how loud we are. Call (call.js) extends it with
// the links; `update()` is its, called after every change of ours.

import { mediaSupport, ownState, trouble } from "./call_state.js";
import { askCamera, askScreen, openMeter } from "./devices.js";

export class LocalMedia {
  constructor(mesh) {
    this.mesh = mesh;
    this.active = false;
    this.busy = ""; // "start" | "camera" | "screen" while the browser asks for a device
    this.error = "";
    this.microphone = null;
    this.camera = null;
    this.screen = null;
    this.muted = false;
    this.preview = null; // MediaStream of our own video, for our tile
    this.speakingUntil = 0;
    this.meter = null;
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
    return ownState(this);
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
      this.camera = this.watch(await this.askTrack("camera", askCamera), "camera");
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
      this.error = trouble({ name: "NotSupportedError" }, "screen");
      this.changed();
      return;
    }
    const track = await this.askTrack("screen", askScreen);
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
      if (!(what === "screen" && err && err.name === "NotAllowedError")) this.error = trouble(err, what);
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
      this.error = trouble({ name: "ended" }, slot);
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

  refreshPreview() {
    const track = this.active ? this.videoTrack : null;
    const current = this.preview && this.preview.getVideoTracks()[0];
    if ((current || null) === track) return;
    this.preview = track ? new MediaStream([track]) : null;
  }

  startMeter() {
    this.meter = this.microphone ? openMeter(this.microphone) : null;
  }

  stopMeter() {
    if (this.meter) this.meter.close();
    this.meter = null;
  }

  localLevel() {
    return !this.meter || this.muted ? 0 : this.meter.level();
  }
}
