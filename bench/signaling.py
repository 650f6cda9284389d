"""Signal relay latency through `/ephem`, with many pairs at once.

    EPHEM_SIGNUP_BURST=10000 make run        # in one terminal
    .venv/bin/python bench/signaling.py --pairs 50 --signals 25

Each pair is matched by Search, joins its enclave, then one side sends
candidate signals to the other (under the per-connection rate limit) and the
time from `emit` to arrival is recorded. Prints relayed signals per second
and latency percentiles.
"""

import argparse
import asyncio
import statistics
import time

import httpx
import socketio


async def client(server: str, name: str, http: httpx.AsyncClient):
    token = (await http.post("/api/accounts", json={"name": name})).json()["session_token"]
    sio = socketio.AsyncClient(reconnection=False)
    inbox: asyncio.Queue = asyncio.Queue()
    matched: asyncio.Queue = asyncio.Queue()
    sio.on("signal", lambda data: inbox.put_nowait((time.perf_counter(), data)), namespace="/ephem")
    sio.on("matched", lambda data: matched.put_nowait(data), namespace="/ephem")
    await sio.connect(server, socketio_path="/_event", transports=["websocket"], namespaces=["/ephem"],
                      auth={"token": token}, wait_timeout=15)
    hello = await sio.call("hello", {}, namespace="/ephem")
    return sio, hello["peer_id"], inbox, matched


async def pair(server: str, index: int, http: httpx.AsyncClient):
    a, b = await client(server, f"sa{index}", http), await client(server, f"sb{index}", http)
    await a[0].call("search", {}, namespace="/ephem")
    await b[0].call("search", {}, namespace="/ephem")
    enclave = (await asyncio.wait_for(a[3].get(), 30))["enclave_id"]
    await asyncio.wait_for(b[3].get(), 30)
    await a[0].call("join", {"enclave_id": enclave}, namespace="/ephem")
    await b[0].call("join", {"enclave_id": enclave}, namespace="/ephem")
    return a, b, enclave


async def relay(a, b, enclave: str, count: int) -> list[float]:
    sio, _, _, _ = a
    _, b_peer, inbox, _ = b
    latencies = []
    for i in range(count):
        sent = time.perf_counter()
        candidate = {"candidate": f"candidate:{i} 1 udp 1 127.0.0.1 {5000 + i} typ host", "sdpMid": "0"}
        await sio.emit("signal", {"enclave_id": enclave, "to": b_peer, "kind": "candidate", "data": candidate},
                       namespace="/ephem")
        arrived, _ = await asyncio.wait_for(inbox.get(), 10)
        latencies.append(arrived - sent)
        await asyncio.sleep(0.04)  # stay under the per-connection rate limit
    return latencies


async def main(args) -> None:
    async with httpx.AsyncClient(base_url=args.server) as http:
        pairs = [await pair(args.server, i, http) for i in range(args.pairs)]
    started = time.perf_counter()
    results = await asyncio.gather(*(relay(a, b, e, args.signals) for a, b, e in pairs))
    elapsed = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r)
    print(f"{len(latencies)} signals relayed between {args.pairs} pairs in {elapsed:.2f} s "
          f"({len(latencies) / elapsed:.0f}/s, paced under the rate limit)")
    print(f"relay latency: p50 {statistics.median(latencies) * 1000:.2f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.2f} ms, max {latencies[-1] * 1000:.2f} ms")
    for a, b, _ in pairs:
        await a[0].disconnect()
        await b[0].disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://localhost:8000")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--signals", type=int, default=25)
    asyncio.run(main(parser.parse_args()))
