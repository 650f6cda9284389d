"""How fast the matchmakers pair searchers, in memory and in Redis.

    .venv/bin/python bench/matchmaking.py --searchers 20000
    .venv/bin/python bench/matchmaking.py --redis redis://127.0.0.1:6379/15 --workers 2

Prints pairs per second and the latency of one enqueue (p50, p99). With
--redis, the searchers go through WORKERS independent connections, as
several backend processes would.
"""

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ephem.matchmaking import InMemoryMatchmaker, Searcher  # noqa: E402
from ephem.matchmaking_redis import RedisMatchmaker  # noqa: E402


async def run(matchmakers, count: int, concurrency: int) -> None:
    latencies: list[float] = []
    matches = 0
    queue = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(Searcher(f"p{i}", f"a{i}", f"n{i}"))

    async def worker(index: int):
        nonlocal matches
        mm = matchmakers[index % len(matchmakers)]
        while not queue.empty():
            searcher = queue.get_nowait()
            started = time.perf_counter()
            if await mm.enqueue(searcher) is not None:
                matches += 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(f"{count} searchers -> {matches} pairs in {elapsed:.2f} s: {matches / elapsed:,.0f} pairs/s")
    print(
        f"enqueue latency: p50 {statistics.median(latencies) * 1e6:.0f} µs, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1e6:.0f} µs"
    )


async def main(args) -> None:
    if not args.redis:
        print("in memory (one process):")
        await run([InMemoryMatchmaker()], args.searchers, 1)
        return
    from redis.asyncio import Redis

    prefix = f"bench-{secrets.token_hex(4)}"
    clients = [Redis.from_url(args.redis) for _ in range(args.workers)]
    try:
        print(f"Redis, {args.workers} connections, {args.concurrency} concurrent enqueues:")
        await run([RedisMatchmaker(c, prefix) for c in clients], args.searchers, args.concurrency)
    finally:
        keys = [k async for k in clients[0].scan_iter(match=f"{prefix}:*")]
        if keys:
            await clients[0].delete(*keys)
        for client in clients:
            await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searchers", type=int, default=20000)
    parser.add_argument("--redis", default="", help="a Redis URL; without it, the in-memory matchmaker")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
