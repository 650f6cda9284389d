// ICE servers from the backend, candidates from signaling and STUN/TURN
// probe verdicts: bad input is dropped with a warning, never thrown.

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkCandidate, classifyProbe, MAX_ICE_SERVERS, probeTargets, sanitizeIceServers } from "../../assets/ephem/ice_config.js";

function warnings() {
  const said = [];
  const warn = (...args) => said.push(args);
  return { said, warn };
}

const TURN = { urls: ["turn:t.example:3478?transport=udp", "turns:t.example:443?transport=tcp"], username: "1700:x", credential: "c2VjcmV0" };

test("good servers pass unchanged, a lone url string becomes a list", () => {
  const { said, warn } = warnings();
  const servers = sanitizeIceServers([{ urls: "stun:s.example:3478" }, TURN], warn);
  assert.deepEqual(servers, [{ urls: ["stun:s.example:3478"] }, TURN]);
  assert.equal(said.length, 0);
});

test("bad entries are dropped with a warning, never a throw", () => {
  const { said, warn } = warnings();
  const raw = [
    null,
    "stun:s.example",
    [],
    { urls: 42 },
    { urls: ["http://evil.example", "stun:ok.example"] },
    { urls: ["turn:t.example"], username: 7, credential: "x" },
    { urls: ["turn:t.example"], username: "u" },
    { urls: ["stun:" + "a".repeat(600)] },
    { urls: ["stun:with space"] },
  ];
  assert.deepEqual(sanitizeIceServers(raw, warn), [{ urls: ["stun:ok.example"] }]);
  assert.ok(said.length >= raw.length - 1, said);
  for (const notAList of [undefined, null, {}, "x", 3]) assert.deepEqual(sanitizeIceServers(notAList, warn), []);
});

test("the count of servers and of urls is bounded", () => {
  const { said, warn } = warnings();
  const many = Array.from({ length: 50 }, (_, i) => ({ urls: Array.from({ length: 20 }, (_, j) => `stun:s${i}-${j}.example`) }));
  const servers = sanitizeIceServers(many, warn);
  assert.equal(servers.length, MAX_ICE_SERVERS);
  assert.ok(servers.every((s) => s.urls.length === 8));
  assert.ok(said.length > 0);
});

test("candidates: good ones keep only the known fields, the end of candidates passes", () => {
  const line = "candidate:842163049 1 udp 1677729535 100.64.1.2 53706 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXcy";
  assert.deepEqual(checkCandidate({ candidate: line, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "sXcy", extra: "x" }), {
    ok: true,
    candidate: { candidate: line, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "sXcy" },
  });
  assert.deepEqual(checkCandidate(null), { ok: true, candidate: null });
  assert.equal(checkCandidate({ candidate: "", sdpMid: "0" }).ok, true);
  const tcp = "candidate:1 1 tcp 1518280447 192.168.1.2 9 typ host tcptype active";
  assert.equal(checkCandidate({ candidate: tcp, sdpMLineIndex: 0 }).ok, true);
  assert.equal(checkCandidate({ candidate: "1 1 udp 1 abc.local 5000 typ host", sdpMid: "0" }).ok, true);
});

test("candidates of the wrong shape or size are refused with a reason", () => {
  const line = "candidate:1 1 udp 2113937151 10.0.0.2 5000 typ host";
  const bad = [
    "candidate",
    7,
    [],
    { candidate: 5, sdpMid: "0" },
    { candidate: "hello", sdpMid: "0" },
    { candidate: line + " x".repeat(600), sdpMid: "0" },
    { candidate: line },
    { candidate: line, sdpMid: 3 },
    { candidate: line, sdpMLineIndex: -1 },
    { candidate: line, sdpMLineIndex: 1.5 },
    { candidate: line, sdpMid: "0", usernameFragment: {} },
    { candidate: "candidate:1 1 sctp 1 10.0.0.2 5000 typ host", sdpMid: "0" },
  ];
  for (const data of bad) {
    const checked = checkCandidate(data);
    assert.equal(checked.ok, false, JSON.stringify(data));
    assert.equal(typeof checked.reason, "string");
  }
});

test("each url is probed on its own, TURN with its credentials", () => {
  const targets = probeTargets([{ urls: ["stun:s.example"] }, TURN]);
  assert.deepEqual(
    targets.map((t) => [t.url, t.kind]),
    [["stun:s.example", "stun"], [TURN.urls[0], "turn"], [TURN.urls[1], "turn"]],
  );
  assert.deepEqual(targets[1].server, { urls: [TURN.urls[0]], username: TURN.username, credential: TURN.credential });
  assert.deepEqual(targets[0].server, { urls: ["stun:s.example"] });
});

test("probe verdicts", () => {
  assert.equal(classifyProbe("turn", { types: ["relay"], errors: [701] }), "works");
  assert.equal(classifyProbe("turn", { types: [], errors: [401], complete: true }), "refused credentials");
  assert.equal(classifyProbe("turn", { types: [], errors: [701], complete: true }), "no answer");
  assert.equal(classifyProbe("turn", { types: [], errors: [], complete: false }), "no answer");
  assert.equal(classifyProbe("turn", { types: ["host"], errors: [], complete: true }), "no answer");
  assert.equal(classifyProbe("stun", { types: ["host", "srflx"] }), "works");
  assert.equal(classifyProbe("stun", { types: ["host"], errors: [], complete: true }), "works");
  assert.equal(classifyProbe("stun", { types: ["host"], errors: [701], complete: true }), "no answer");
  assert.equal(classifyProbe("stun", { types: ["host"], errors: [], complete: false }), "no answer");
});
