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
// DataChannels, never through the server. The pure rules are in call_state.js.

import { callState, figures, trouble, fitEncoding, isCrowded, KINDS, mediaSupport } from "./call_state.js";
import { SPEAKING_HOLD_MS, SPEAKING_LEVEL } from "./call_state.js";
import { askMedia } from "./devices.js";
import { LocalMedia } from "./local_media.js";

const STATS_MS = 500; // how often tiles refresh their figures and speaking rings

export class Call extends LocalMedia {
  constructor(mesh) {
    super(mesh);
    this.crowded = false;
    this.sendScale = 1; // how much our video senders scale down, read back from them
    this.timer = null;
    // Per link (a WeakMap, so a closed link's entry goes with it): our
    // transceivers, the peer's `call` state, what we receive and its figures.
    this.peers = new WeakMap();
  }

  peer(link) {
    let peer = this.peers.get(link);
    if (!peer) {
      peer = { media: { audio: null, video: null }, state: null, stream: null, stats: null, speakingUntil: 0 };
      this.peers.set(link, peer);
    }
    return peer;
  }

  // Is the peer on this link in the call too (whether or not we are)?
  inCallOn(link) {
    const { state } = this.peer(link);
    return link.open && Boolean(state && state.active);
  }

  // Links to peers who are in the call too (whether or not we are).
  inCall() {
    return [...this.mesh.links.values()].filter((link) => this.inCallOn(link));
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
      this.error = trouble(err, "microphone or camera");
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

  // After any change of ours: tell the others, fit every link, redraw.
  update() {
    this.refreshPreview();
    this.mesh.broadcast("call", this.state);
    this.mesh.links.forEach((link) => this.syncLink(link));
    this.applyCrowd();
    this.mesh.changed(); // which redraws the call too
  }

  // --- the mesh's hooks ---------------------------------------------------------

  onLinkOpen(link) {
    link.sendEnvelope("call", this.state);
  }

  onRemoteState(link, payload) {
    const peer = this.peer(link);
    const before = peer.state;
    peer.state = callState(payload);
    if (!peer.state.active) {
      peer.stats = null;
      peer.speakingUntil = 0;
    }
    this.syncLink(link);
    this.applyCrowd();
    if (!before || before.active !== peer.state.active) this.mesh.changed();
    this.changed();
  }

  onTrack(link, event) {
    const peer = this.peer(link);
    if (!peer.stream) peer.stream = new MediaStream();
    if (!peer.stream.getTracks().includes(event.track)) peer.stream.addTrack(event.track);
    this.changed();
  }

  // Make the link's transceivers match who is in the call. Called on every
  // change and by the polite side just before it answers an offer, so its
  // answer already carries its own media.
  syncLink(link) {
    if (link.closed || !link.pc.remoteDescription) return; // its first negotiation comes first
    const { media, state } = this.peer(link);
    const want = this.active && Boolean(state && state.active);
    const tracks = { audio: this.muted ? null : this.microphone, video: this.videoTrack };
    for (const kind of KINDS) {
      let transceiver = media[kind];
      if (!transceiver || transceiver.stopped) {
        transceiver = link.pc.getTransceivers().find((t) => !t.stopped && t.receiver.track.kind === kind) || null;
      }
      if (!transceiver && want && !link.polite) transceiver = link.pc.addTransceiver(kind, { direction: "sendrecv" });
      if (!transceiver) continue;
      media[kind] = transceiver;
      const track = want ? tracks[kind] : null;
      if (transceiver.sender.track !== track) {
        transceiver.sender.replaceTrack(track).catch((err) => console.warn("ephem: replaceTrack failed", err));
      }
      const direction = want ? "sendrecv" : "inactive";
      if (transceiver.direction !== direction) transceiver.direction = direction;
    }
  }

  applyCrowd() {
    const states = this.inCall().map((link) => this.peer(link).state);
    const crowded = isCrowded(this.active, states, this.state, this.mesh.session.videoCrowd);
    if (crowded !== this.crowded) {
      this.crowded = crowded;
      this.changed();
    }
    this.mesh.links.forEach((link) => this.applyQuality(link));
  }

  async applyQuality(link) {
    const transceiver = this.peer(link).media.video;
    if (!transceiver || link.closed) return;
    const params = transceiver.sender.getParameters();
    if (!params.encodings || !params.encodings.length) return; // not negotiated yet: done again once it is
    const fitted = fitEncoding(params.encodings[0], this.crowded);
    if (!fitted) return;
    params.encodings[0] = fitted;
    try {
      await transceiver.sender.setParameters(params);
    } catch (err) {
      console.warn("ephem: could not change the video quality", err);
    }
  }

  // --- figures and speaking rings ---------------------------------------------------

  async poll() {
    if (!this.active) return;
    const now = Date.now();
    if (this.localLevel() > SPEAKING_LEVEL) this.speakingUntil = now + SPEAKING_HOLD_MS;
    const scales = this.inCall()
      .map((link) => this.peer(link).media.video)
      .map((video) => video && video.sender.getParameters().encodings)
      .filter((encodings) => encodings && encodings.length)
      .map((encodings) => encodings[0].scaleResolutionDownBy || 1);
    this.sendScale = scales.length ? Math.max(...scales) : 1;
    await Promise.all(
      this.inCall().map(async (link) => {
        try {
          const peer = this.peer(link);
          peer.stats = figures(await link.pc.getStats());
          if (peer.state.audio && peer.stats.level > SPEAKING_LEVEL) peer.speakingUntil = now + SPEAKING_HOLD_MS;
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
