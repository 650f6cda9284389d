// The browser's media devices, for calls: microphone and camera, the
// screen, and a level meter on our own microphone (for our speaking ring).

import { level } from "./call_state.js";

const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } };

export async function askMedia() {
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

export const askCamera = () => navigator.mediaDevices.getUserMedia({ video: CAMERA });

export const askScreen = () => navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });

// `{level(), close()}` on a microphone track, or null where Web Audio is
// missing or refuses: then there is no ring for ourselves, the call goes on.
export function openMeter(track) {
  if (typeof AudioContext === "undefined") return null;
  try {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    return {
      level() {
        analyser.getFloatTimeDomainData(samples);
        return level(samples);
      },
      close() {
        context.close().catch(() => {});
      },
    };
  } catch (err) {
    return null;
  }
}
