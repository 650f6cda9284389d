"""How many Python peers one process can run, and how fast they talk.

    .venv/bin/python bench/peers.py --pairs 20 --messages 50     # starts its own backend
    EPHEM_SIGNUP_BURST=10000 make run        # or in one terminal (the sign-up limit is per address)
    .venv/bin/python bench/peers.py --server http://localhost:8000 --pairs 20 --messages 50

Prints: time to sign up, connect and match every pair; messages per second
over the DataChannels (aiortc, loopback); delivery latency (send to ack)
percentiles; and the process's resident memory before and after. Fails if a
message is not acknowledged within 60 s. Writes bench/results/peers.csv and
peers.png (the delivery latency distribution).
"""

import argparse
import asyncio
import resource
import statistics
import time

from harness import cluster, describe_machine, new_database, new_figure, save_plot, scratch, summary, write_csv

from ephem.peer import EphemPeer


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


async def measure(args) -> dict:
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
    return {
        "peers": 2 * args.pairs,
        "messages": total,
        "setup_s": round(setup, 2),
        "messages_per_s": round(total / elapsed, 1),
        **{f"latency_{k}_ms": v for k, v in summary(latencies).items()},
        "mib_per_peer": round((connected - before) / (2 * args.pairs), 2),
        "latencies": latencies,
    }


def main(args) -> None:
    print(f"Python peers (aiortc) in one process, {describe_machine()}")
    if args.server:
        result = asyncio.run(measure(args))
    else:
        with scratch("peers") as tmp, cluster(tmp, new_database(tmp)) as backends:
            args.server = backends[0].url
            result = asyncio.run(measure(args))
    latencies = result.pop("latencies")
    write_csv("peers", [result])
    fig, (ax,) = new_figure(f"{result['peers']} Python peers in one process: send -> ack over DataChannels")
    ax.plot([x * 1000 for x in latencies], [(i + 1) / len(latencies) for i in range(len(latencies))])
    ax.set_xlabel("delivery latency, send to ack (ms)")
    ax.set_ylabel("fraction of messages")
    ax.grid(True, alpha=0.3)
    save_plot(fig, "peers")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="", help="a running backend; without it, one is started")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--messages", type=int, default=50)
    main(parser.parse_args())
