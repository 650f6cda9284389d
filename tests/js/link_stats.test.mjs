// Reading how a link runs out of getStats(): the selected pair, relay or
// not, the relay's protocol and the round trip.

import assert from "node:assert/strict";
import { test } from "node:test";
import { describeLink, selectedPair } from "../../assets/ephem/link_stats.js";

const candidate = (id, candidateType, extra = {}) => ({ id, type: "local-candidate", candidateType, ...extra });
const remote = (id, candidateType) => ({ id, type: "remote-candidate", candidateType });
const pair = (id, local, remoteId, extra = {}) => ({
  id,
  type: "candidate-pair",
  localCandidateId: local,
  remoteCandidateId: remoteId,
  ...extra,
});

test("the transport's selected pair wins over other succeeded pairs", () => {
  const stats = [
    { id: "T", type: "transport", selectedCandidatePairId: "P2" },
    pair("P1", "L1", "R1", { nominated: true, state: "succeeded", currentRoundTripTime: 0.5 }),
    pair("P2", "L2", "R1", { state: "succeeded", currentRoundTripTime: 0.0123 }),
    candidate("L1", "host"),
    candidate("L2", "relay", { relayProtocol: "udp" }),
    remote("R1", "srflx"),
  ];
  assert.equal(selectedPair(stats).id, "P2");
  assert.deepEqual(describeLink(stats), { path: "relay", protocol: "udp", rtt_ms: 12.3 });
});

test("without selectedCandidatePairId the nominated succeeded pair is used", () => {
  const stats = new Map(
    [
      pair("P0", "L1", "R1", { nominated: false, state: "succeeded" }),
      pair("P1", "L1", "R1", { nominated: true, state: "succeeded", currentRoundTripTime: 0.002 }),
      candidate("L1", "srflx"),
      remote("R1", "prflx"),
      { id: "T", type: "transport" },
    ].map((r) => [r.id, r]),
  );
  assert.equal(selectedPair(stats).id, "P1");
  assert.deepEqual(describeLink(stats), { path: "direct", protocol: "", rtt_ms: 2 });
});

test("each relay protocol is told apart; the other side's relay has none we can see", () => {
  for (const protocol of ["udp", "tcp", "tls", "TLS"]) {
    const stats = [pair("P", "L", "R", { nominated: true, state: "succeeded" }), candidate("L", "relay", { relayProtocol: protocol }), remote("R", "host")];
    assert.deepEqual(describeLink(stats), { path: "relay", protocol: protocol.toLowerCase(), rtt_ms: null });
  }
  const theirs = [pair("P", "L", "R", { nominated: true, state: "succeeded" }), candidate("L", "host"), remote("R", "relay")];
  assert.deepEqual(describeLink(theirs), { path: "relay", protocol: "", rtt_ms: null });
  const odd = [pair("P", "L", "R", { nominated: true, state: "succeeded" }), candidate("L", "relay", { relayProtocol: "quic" }), remote("R", "host")];
  assert.equal(describeLink(odd).protocol, "");
});

test("no pair yet, a dangling id or a bad round trip give nothing rather than a throw", () => {
  assert.deepEqual(describeLink([]), { path: "", protocol: "", rtt_ms: null });
  assert.deepEqual(describeLink(null), { path: "", protocol: "", rtt_ms: null });
  const inProgress = [pair("P", "L", "R", { nominated: true, state: "in-progress" }), candidate("L", "host")];
  assert.equal(describeLink(inProgress).path, "");
  const dangling = [{ id: "T", type: "transport", selectedCandidatePairId: "gone" }];
  assert.equal(selectedPair(dangling), null);
  const missing = [pair("P", "L?", "R?", { nominated: true, state: "succeeded", currentRoundTripTime: NaN })];
  assert.deepEqual(describeLink(missing), { path: "direct", protocol: "", rtt_ms: null });
  const negative = [pair("P", "L", "R", { nominated: true, state: "succeeded", currentRoundTripTime: -1 })];
  assert.equal(describeLink(negative).rtt_ms, null);
});
