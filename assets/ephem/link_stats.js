// How a link runs, read from an RTCPeerConnection's getStats() report: the
// selected candidate pair, whether it goes through a TURN relay (and over
// what), and its round trip. Pure: unit-tested in tests/js/link_stats.test.mjs.

const PROTOCOLS = new Set(["udp", "tcp", "tls"]);

// The report as a list, whether it is an RTCStatsReport (a Map) or an array.
function reports(stats) {
  if (!stats) return [];
  if (Array.isArray(stats)) return stats;
  const all = [];
  stats.forEach((report) => all.push(report));
  return all;
}

function byId(list, id) {
  return id ? list.find((report) => report.id === id) || null : null;
}

// The pair the link sends on: the transport's selected pair, else (browsers
// without selectedCandidatePairId) a nominated pair that succeeded.
export function selectedPair(stats) {
  const list = reports(stats);
  for (const report of list) {
    if (report.type === "transport" && report.selectedCandidatePairId) {
      const pair = byId(list, report.selectedCandidatePairId);
      if (pair) return pair;
    }
  }
  return list.find((r) => r.type === "candidate-pair" && r.nominated && r.state === "succeeded") || null;
}

// {path, protocol, rtt_ms}: path "direct" or "relay" ("" before a pair is
// chosen); protocol "udp" | "tcp" | "tls" for our own relay, "" when the
// relay is the other side's (we cannot see how it reaches its server) or
// the path is direct; rtt_ms a number or null.
export function describeLink(stats) {
  const list = reports(stats);
  const pair = selectedPair(list);
  if (!pair) return { path: "", protocol: "", rtt_ms: null };
  const local = byId(list, pair.localCandidateId);
  const remote = byId(list, pair.remoteCandidateId);
  const localRelay = Boolean(local && local.candidateType === "relay");
  const relayed = localRelay || Boolean(remote && remote.candidateType === "relay");
  const protocol = localRelay && PROTOCOLS.has(String(local.relayProtocol).toLowerCase()) ? String(local.relayProtocol).toLowerCase() : "";
  const seconds = pair.currentRoundTripTime;
  const rtt = typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 10000) / 10 : null;
  return { path: relayed ? "relay" : "direct", protocol, rtt_ms: rtt };
}
