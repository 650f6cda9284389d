// Drives /ephem with the official socket.io-client: two accounts search, are
// matched into one enclave, join it and relay an offer. Prints one JSON line
// with what happened; exits non-zero on any failure.
import { io } from "socket.io-client";

const base = process.argv[2];
const fail = (why) => {
  console.error(why);
  process.exit(1);
};
const timeout = setTimeout(() => fail("timed out"), 20000);

async function account(name) {
  const response = await fetch(`${base}/api/accounts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, remember: false }),
  });
  if (response.status !== 201) fail(`sign-up answered ${response.status}`);
  return response.json();
}

function connect(token) {
  const socket = io(`${base}/ephem`, { path: "/_event", transports: ["websocket"], auth: { token }, reconnection: false });
  const next = (event) => new Promise((resolve) => socket.once(event, resolve));
  const call = (event, payload) => socket.timeout(5000).emitWithAck(event, payload);
  return { socket, next, call };
}

const refused = await new Promise((resolve) => {
  const bad = io(`${base}/ephem`, { path: "/_event", transports: ["websocket"], auth: { token: "forged" }, reconnection: false });
  bad.on("connect_error", (err) => {
    bad.close();
    resolve(err.data);
  });
});

const [a, b] = await Promise.all([account("Node A"), account("Node B")]);
const ca = connect(a.session_token);
const cb = connect(b.session_token);
await Promise.all([ca.next("connect"), cb.next("connect")]);
const helloA = await ca.call("hello", {});
const helloB = await cb.call("hello", {});

const matchedA = ca.next("matched");
const matchedB = cb.next("matched");
const searchAck = await ca.call("search", {});
await cb.call("search", {});
const [ma, mb] = await Promise.all([matchedA, matchedB]);

await ca.call("join", { enclave_id: ma.enclave_id });
const joinedSeen = ca.next("peer_joined");
const joinB = await cb.call("join", { enclave_id: mb.enclave_id });
await joinedSeen;

const relayed = ca.next("signal");
const offer = { type: "offer", sdp: "v=0\r\n" };
const signalAck = await cb.call("signal", { enclave_id: mb.enclave_id, to: helloA.peer_id, kind: "offer", data: offer });
const signal = await relayed;
const bad = await cb.call("signal", { enclave_id: mb.enclave_id, to: "nobody", kind: "offer", data: offer });

clearTimeout(timeout);
console.log(
  JSON.stringify({
    refused,
    searchAck,
    sameEnclave: ma.enclave_id === mb.enclave_id,
    matchedNames: [ma.peer.name, mb.peer.name],
    peersOnJoin: joinB.peers.map((p) => p.peer_id),
    helloA: helloA.peer_id,
    signalAck,
    signal,
    helloB: helloB.peer_id,
    bad,
  }),
);
ca.socket.close();
cb.socket.close();
process.exit(0);
