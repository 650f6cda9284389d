// The page's network addresses, watched: how the page learns that its
// address moved. The twin of ephem/peer/netwatch.py.
//
// Once a page may see its addresses (it has camera or microphone
// permission), Chromium binds ICE host candidates to each address, and when
// the address goes those sockets go with it; Chromium neither fires
// `online`/`offline` for a changed address nor gathers again by itself, and
// notices the dead path only after several seconds. The WebSocket to the
// server dies unnoticed too (until the ping timeout). So the session reads
// the host addresses ICE would gather, twice a second, from a throwaway
// RTCPeerConnection (no servers: nothing leaves the machine), and tells
// subscribers which are gone and which are new. Addresses hidden behind
// mDNS names cannot be compared: then there is nothing to watch, and
// nothing to fear, since Chromium then binds to the any-address and a move
// keeps its sockets.

// Between two reads: a message written onto the dead path waits for SCTP's
// next retransmission, whose interval doubles each time (~0.4, 1.2, 2.8, 6 s
// after the move in the lab), so every part of a second counts.
const INTERVAL_MS = 500;
const GATHER_TIMEOUT_MS = 800; // host candidates take milliseconds; never wait longer than this

// The host addresses the browser would offer now, or null when they are
// hidden (mDNS) or cannot be read.
export async function hostAddresses() {
  if (typeof RTCPeerConnection === "undefined") return null;
  const pc = new RTCPeerConnection({ iceServers: [] });
  const found = new Set();
  let hidden = false;
  try {
    pc.createDataChannel("netwatch");
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
      pc.onicecandidate = ({ candidate }) => {
        if (!candidate) {
          clearTimeout(timer);
          resolve();
        } else if (candidate.type === "host" && candidate.address) {
          if (candidate.address.endsWith(".local")) hidden = true;
          else found.add(candidate.address);
        }
      };
      pc.setLocalDescription().catch(resolve);
    });
  } catch (err) {
    return null;
  } finally {
    pc.close();
  }
  return hidden && found.size === 0 ? null : found;
}

// Calls `listener(gone, added)` (Sets) when the addresses change. `read`
// and `interval` are for tests.
export class AddressWatch {
  constructor(read = hostAddresses, interval = INTERVAL_MS) {
    this.read = read;
    this.interval = interval;
    this.listeners = new Set();
    this.addresses = null;
    this.timer = null;
    this.reading = false;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    if (this.timer === null) this.timer = setInterval(() => this.check(), this.interval);
    return () => {
      this.listeners.delete(listener);
      if (!this.listeners.size) this.stop();
    };
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.addresses = null;
  }

  async check() {
    if (this.reading) return;
    this.reading = true;
    let now;
    try {
      now = await this.read();
    } finally {
      this.reading = false;
    }
    if (now === null || this.timer === null) return;
    const before = this.addresses;
    this.addresses = now;
    if (before === null) return; // the first read: nothing to compare with
    const gone = new Set([...before].filter((a) => !now.has(a)));
    const added = new Set([...now].filter((a) => !before.has(a)));
    if (!gone.size && !added.size) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(gone, added);
      } catch (err) {
        console.warn("ephem: a network change listener failed", err);
      }
    }
  }
}
