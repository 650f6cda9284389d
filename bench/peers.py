"""How many Python peers one process can run, and how fast they talk.

    EPHEM_SIGNUP_BURST=10000 make run        # in one terminal (the sign-up limit is per address)
    .venv/bin/python bench/peers.py --pairs 20 --messages 50

Prints: time to sign up, connect and match every pair; messages per second
over the DataChannels; delivery latency (send to ack) percentiles; and the
process's resident memory before and after.
"""

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ephem.peer import EphemPeer  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def pair(server: str, index: int) -> tuple[EphemPeer, EphemPeer]:
    a = await EphemPeer.sign_up(server, f"bench-a{index}")
    b = await EphemPeer.sign_up(server, f"bench-b{index}")
    await a.connect()
    await b.connect()
    first = asyncio.ensure_future(a.search(timeout=60))
    await asyncio.sleep(0.05)
    await b.search(timeout=60)
    await first
    return a, b


async def exchange(a: EphemPeer, b: EphemPeer, count: int) -> list[float]:
    latencies = []

    async def one(i: int):
        started = time.perf_counter()
        message = await a.send(f"message {i}")
        await a.wait_status(message, "delivered", timeout=60)
        latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(one(i) for i in range(count)))
    return latencies


async def main(args) -> None:
    before = rss_mib()
    started = time.perf_counter()
    # Matching is FIFO, so pairs are formed one after another.
    pairs = [await pair(args.server, i) for i in range(args.pairs)]
    setup = time.perf_counter() - started
    # Wait until every channel is open.
    for a, b in pairs:
        while not any(link.open for link in a.links.values()):
            await asyncio.sleep(0.02)
    connected = rss_mib()
    started = time.perf_counter()
    results = await asyncio.gather(*(exchange(a, b, args.messages) for a, b in pairs))
    elapsed = time.perf_counter() - started
    latencies = sorted(x for r in results for x in r)
    total = len(latencies)
    print(f"peers in this process: {2 * args.pairs}")
    print(f"sign up + connect + match + DataChannel open: {setup:.2f} s for {args.pairs} pairs")
    print(f"messages delivered: {total} in {elapsed:.2f} s = {total / elapsed:.0f} msg/s")
    print(
        "delivery latency (send to ack): "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(total * 0.95) - 1] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    print(f"resident memory: {before:.0f} MiB before, {connected:.0f} MiB with all peers connected "
          f"({(connected - before) / (2 * args.pairs):.1f} MiB per peer), {rss_mib():.0f} MiB at the end")
    for a, b in pairs:
        await a.close()
        await b.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://localhost:8000")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--messages", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
