// The self-test's check of the configured STUN and TURN servers: for each
// URL, a throwaway RTCPeerConnection gathers candidates with that server
// alone (TURN: relay candidates only) until it has what it wanted, gathering
// ends, or the timeout. The verdict comes from ice_config.js.

import { classifyProbe, probeTargets } from "./ice_config.js";

export const PROBE_TIMEOUT_MS = 6000;

function probe({ url, kind, server }, timeoutMs) {
  return new Promise((resolve) => {
    const seen = { types: [], errors: [], complete: false };
    let pc = null;
    let timer = null;
    const finish = () => {
      clearTimeout(timer);
      if (pc) pc.close();
      resolve({ url, kind, result: classifyProbe(kind, seen), errors: seen.errors });
    };
    try {
      pc = new RTCPeerConnection({ iceServers: [server], iceTransportPolicy: kind === "turn" ? "relay" : "all" });
    } catch (err) {
      // A URL this browser will not take at all.
      resolve({ url, kind, result: "not usable here", errors: [] });
      return;
    }
    const wanted = kind === "turn" ? "relay" : "srflx";
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate) {
        seen.complete = true;
        finish();
      } else if (candidate.type) {
        seen.types.push(candidate.type);
        if (candidate.type === wanted) finish();
      }
    };
    pc.onicecandidateerror = (event) => {
      if (typeof event.errorCode === "number") seen.errors.push(event.errorCode);
    };
    timer = setTimeout(finish, timeoutMs);
    pc.createDataChannel("probe");
    pc.setLocalDescription().catch(finish);
  });
}

// [{url, kind: "stun" | "turn", result}] for every URL of `servers`, probed at once.
export function probeIceServers(servers, timeoutMs = PROBE_TIMEOUT_MS) {
  return Promise.all(probeTargets(servers).map((target) => probe(target, timeoutMs)));
}
