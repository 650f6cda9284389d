// The browser half of ephem: one Socket.IO connection to the `/ephem`
// namespace (presence, matchmaking, signaling). Everything the page shows goes
// back into Reflex state through a single callback, `onEvent(kind, data)`;
// Python owns the view, this module only talks to the network.

import { io } from "socket.io-client";
import { useEffect, useRef } from "react";
import { getBackendURL } from "$/utils/state";
import env from "$/env.json";

const SERVER_EVENTS = ["matched", "peer_joined", "peer_left", "stats", "search_failed"];

// The backend origin in dev, prod and static export alike.
export function backendOrigin() {
  return getBackendURL(env.PING).origin;
}

export class EphemSocket {
  constructor(token, emitUp) {
    this.emitUp = emitUp;
    this.enclaveId = "";
    this.closed = false;
    this.socket = io(`${backendOrigin()}/ephem`, {
      path: "/_event",
      transports: ["websocket"],
      auth: { token },
      reconnectionDelayMax: 5000,
    });
    this.socket.on("connect", () => this.onConnect());
    this.socket.on("disconnect", (reason) => this.emitUp("disconnected", { reason }));
    this.socket.on("connect_error", (err) => {
      const data = err && err.data ? err.data : { code: "unreachable", message: String(err && err.message) };
      // A refused token will not get better by retrying.
      if (data.code === "invalid_token") this.socket.disconnect();
      this.emitUp("connect_error", data);
    });
    for (const name of SERVER_EVENTS) {
      this.socket.on(name, (data) => this.emitUp(name, data || {}));
    }
  }

  async onConnect() {
    const hello = await this.call("hello", {});
    this.emitUp("connected", hello);
    // After a reconnect the server has forgotten our rooms: rejoin.
    if (this.enclaveId) await this.join(this.enclaveId);
  }

  call(event, payload) {
    return new Promise((resolve) => {
      this.socket.timeout(10000).emit(event, payload, (err, ack) => {
        resolve(err ? { ok: false, error: { code: "timeout", message: "The server did not answer." } } : ack);
      });
    });
  }

  async join(enclaveId) {
    const ack = await this.call("join", { enclave_id: enclaveId });
    this.emitUp("joined", { enclave_id: enclaveId, ...ack });
    return ack;
  }

  async setEnclave(enclaveId) {
    if (enclaveId === this.enclaveId) return;
    const previous = this.enclaveId;
    this.enclaveId = enclaveId;
    if (!this.socket.connected) return; // onConnect joins
    if (previous) await this.call("leave", { enclave_id: previous });
    if (enclaveId) await this.join(enclaveId);
  }

  async run(command) {
    const { seq, op, ...args } = command;
    const ack = await this.call(op, args);
    this.emitUp("ack", { seq, op, ...ack });
  }

  close() {
    this.closed = true;
    this.socket.disconnect();
  }
}

// The React side: rendered once per page, draws nothing.
export function EphemClient({ token, enclaveId, command, onEvent }) {
  const up = useRef(onEvent);
  up.current = onEvent;
  const client = useRef(null);

  useEffect(() => {
    if (!token) return undefined;
    const socket = new EphemSocket(token, (kind, data) => up.current && up.current(kind, data));
    client.current = socket;
    socket.setEnclave(enclaveId || "");
    return () => {
      client.current = null;
      socket.close();
    };
  }, [token]);

  useEffect(() => {
    if (client.current) client.current.setEnclave(enclaveId || "");
  }, [enclaveId]);

  useEffect(() => {
    if (client.current && command && command.seq) client.current.run(command);
  }, [command && command.seq]);

  return null;
}
