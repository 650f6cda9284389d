"""Matchmaking: N concurrent searchers against real backends.

    .venv/bin/python bench/matchmaking.py                    # N = 100, 1000, 5000 on each topology
    .venv/bin/python bench/matchmaking.py --searchers 1000 --topologies single --profile
    .venv/bin/python bench/matchmaking.py --matchmaker-only  # the matchmaker classes alone, no sockets
    .venv/bin/python bench/matchmaking.py --matchmaker-only --redis redis://127.0.0.1:6379/15

N python-socketio clients (spread over --procs client processes) connect to
`/ephem` with their own accounts, then all send `search` at once. For each
searcher the time from its `search` emit to its `matched` event is recorded.
Prints matches (pairs) per second and latency p50/p95/p99, and fails unless
every searcher was matched exactly once, with a partner that was matched with
it. Topologies: `single` (one backend process, one worker, everything in
memory: the default deployment), `redis1` (the same on a private Redis),
`redis2` (two backend processes, one worker each, sharing a private Redis;
searchers alternate between them). Writes bench/results/matchmaking.csv and
matchmaking.png; with --profile, profile-matchmaking-TOPOLOGY.txt (py-spy on a
backend worker during the largest N).

--interests 50 gives each searcher 1 to 3 random interests out of a pool of
50 (the backends' EPHEM_INTEREST_WAIT_SECONDS is --interest-wait) and also
reports the share matched on a common interest; it writes
matchmaking-interests.csv, no plot.

--matchmaker-only keeps the older micro-benchmark: the in-memory and Redis
matchmakers called directly, pairs per second and enqueue latency.
"""

import argparse
import asyncio
import random
import secrets
import statistics
import time

from harness import (
    Fleet,
    ack_error,
    check_alive,
    cluster,
    connect_all,
    cpu_seconds,
    describe_machine,
    fail,
    loop_cpu_seconds,
    make_accounts,
    new_database,
    new_figure,
    profiled,
    raise_nofile,
    save_plot,
    scratch,
    shards,
    summary,
    worker_pids,
    write_csv,
)

from ephem.live.matchmaking import InMemoryMatchmaker, Searcher
from ephem.live.matchmaking_redis import RedisMatchmaker

TOPOLOGIES = {
    "single": {"backends": 1, "redis": False, "label": "1 worker, in memory"},
    "redis1": {"backends": 1, "redis": True, "label": "1 worker on Redis"},
    "redis2": {"backends": 2, "redis": True, "label": "2 workers on Redis"},
}


class Searchers:
    """One client process's share of the searchers."""

    def __init__(self, targets: list[tuple[str, str, str]]):
        self.targets = targets  # (backend url, session token, account id)
        self.clients = []

    async def connect(self, concurrency: int) -> dict:
        started = time.monotonic()
        self.clients, errors = await connect_all([(url, token) for url, token, _ in self.targets], concurrency)
        return {"connected": len(self.clients), "errors": errors[:3], "seconds": time.monotonic() - started}

    async def search(self, timeout: float, settle: float, pool: int = 0) -> tuple[list[tuple], float]:
        cpu = time.process_time()
        tags = [f"topic {i}" for i in range(pool)]
        wants = [sorted(random.sample(tags, random.randint(1, 3))) if pool else [] for _ in self.clients]
        sent: list[float] = []
        acks: list[str | None] = ["no ack"] * len(self.clients)
        acked: list[float | None] = [None] * len(self.clients)
        answered = asyncio.Event()
        pending = [len(self.clients)]

        def on_ack(index: int):
            def record(ack=None):
                acks[index] = ack_error(ack)
                acked[index] = time.monotonic()
                pending[0] -= 1
                if pending[0] == 0:
                    answered.set()

            return record

        for i, client in enumerate(self.clients):
            sent.append(time.monotonic())
            body = {"interests": wants[i]} if pool else {}
            await client.sio.emit("search", body, namespace="/ephem", callback=on_ack(i))

        async def first_match(client):
            return await client.events["matched"].get()

        waits = [asyncio.ensure_future(first_match(c)) for c in self.clients]
        done, not_done = await asyncio.wait(waits, timeout=timeout)
        for task in not_done:
            task.cancel()
        try:
            await asyncio.wait_for(answered.wait(), timeout=5)
        except TimeoutError:
            pass
        await asyncio.sleep(settle)  # a second `matched` would arrive by now
        rows = []
        for client, started, ack, task, mine, ack_at in zip(self.clients, sent, acks, waits, wants, acked):
            shared = ()
            if task in done:
                arrived, match = task.result()
                row = (client.account["id"], started, arrived, match["enclave_id"], match["peer"]["account_id"])
                shared = tuple(match.get("interests") or ())
            else:
                row = (client.account["id"], started, None, None, None)
            extra = client.pending("matched")
            failed = client.pending("search_failed")
            rows.append(row + (extra, failed, ack, shared, tuple(mine), ack_at))
        return rows, time.process_time() - cpu

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


def verify(rows: list[tuple], expected: int) -> None:
    """Every searcher matched exactly once, with a partner matched with it."""
    if len(rows) != expected:
        fail(f"{expected} searchers, but {len(rows)} reported")
    problems = []
    by_enclave: dict[str, list[tuple]] = {}
    for account, _, arrived, enclave, partner, extra, failed, ack, shared, mine, _ in rows:
        if not set(shared) <= set(mine):
            problems.append(f"{account}: told it shares {shared}, but named {mine}")
        if ack:
            problems.append(f"{account}: search ack {ack}")
        if arrived is None:
            problems.append(f"{account}: never matched")
            continue
        if extra or failed:
            problems.append(f"{account}: {1 + extra} matched and {failed} search_failed events")
        by_enclave.setdefault(enclave, []).append((account, partner))
    for enclave, members in by_enclave.items():
        if len(members) != 2:
            problems.append(f"enclave {enclave} was announced to {len(members)} searchers")
            continue
        (a, a_partner), (b, b_partner) = members
        if a == b or a_partner != b or b_partner != a:
            problems.append(f"enclave {enclave}: {a} was told {a_partner}, {b} was told {b_partner}")
    if problems:
        fail(f"{len(problems)} matchmaking invariant(s) broken, e.g.:\n  " + "\n  ".join(problems[:10]))


def run_once(backends, accounts, count: int, procs: int, timeout: float, profile: str | None, pool: int = 0) -> dict:
    targets = [(backends[i % len(backends)].url, a.token, a.id) for i, a in enumerate(accounts[:count])]
    with Fleet(Searchers, shards(targets, procs)) as fleet:
        connected = fleet.ask("connect", max(10, 200 // procs), timeout=600)
        total = sum(c["connected"] for c in connected)
        if total != count:
            fail(f"only {total} of {count} searchers connected: {[e for c in connected for e in c['errors']][:3]}")
        time.sleep(1.5)  # let the connection burst (and its stats pushes) settle
        check_alive(backends)
        workers = [pid for b in backends for pid in worker_pids(b.proc.pid)]
        cpu_before = sum(cpu_seconds(p) for p in workers)
        loop_before = sum(loop_cpu_seconds(p) for p in workers)
        with profiled(workers[0] if profile else None, profile or ""):
            parts = fleet.ask("search", timeout, 1.0, pool, timeout=timeout + 60)
        rows = [row for part, _ in parts for row in part]
        client_cpu = sum(cpu for _, cpu in parts)
        cpu = sum(cpu_seconds(p) for p in workers) - cpu_before
        loop_cpu = sum(loop_cpu_seconds(p) for p in workers) - loop_before
    check_alive(backends)
    verify(rows, count)
    latencies = [arrived - started for _, started, arrived, *_ in rows]
    ack_latencies = [row[-1] - row[1] for row in rows]
    first = min(started for _, started, *_ in rows)
    last_sent = max(started for _, started, *_ in rows)
    last = max(arrived for _, _, arrived, *_ in rows)
    pairs = count // 2
    interests = {}
    if pool:
        common = sum(1 for row in rows if row[8])
        interests = {"interest_pool": pool, "on_common_interest": round(common / count, 3)}
    return {
        **interests,
        "searchers": count,
        "pairs": pairs,
        "seconds": round(last - first, 3),
        "pairs_per_s": round(pairs / (last - first), 1),
        **{f"latency_{k}_ms": v for k, v in summary(latencies).items()},
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        # search -> its ack ("searching"): how long the worker took to take the search in.
        **{f"ack_{k}_ms": v for k, v in summary(ack_latencies).items() if k in ("p50", "p99")},
        # How long the client processes took to send every search: a floor under the latencies.
        "emit_span_ms": round((last_sent - first) * 1000, 1),
        "server_cpu_s": round(cpu, 2),
        "server_loop_cpu_s": round(loop_cpu, 2),  # of which the event loops' (main threads')
        "client_cpu_s": round(client_cpu, 2),
        "connect_s": round(max(c["seconds"] for c in connected), 2),
    }


def run_sockets(args) -> None:
    raise_nofile()
    counts = sorted(args.searchers)
    if any(n % 2 for n in counts):
        fail("--searchers must be even: every searcher is to be matched")
    print(f"Matchmaking through /ephem, {describe_machine()}")
    rows = []
    with scratch("matchmaking") as tmp:
        db_url = new_database(tmp)
        started = time.monotonic()
        accounts = make_accounts(db_url, max(counts))
        print(f"{len(accounts)} accounts created in {time.monotonic() - started:.1f} s (ephem.accounts, before the backends start)")
        for name in args.topologies:
            topology = TOPOLOGIES[name]
            env = {"EPHEM_INTEREST_WAIT_SECONDS": str(args.interest_wait), **dict(pair.split("=", 1) for pair in args.env)}
            with cluster(tmp, db_url, backends=topology["backends"], redis=topology["redis"], env=env) as backends:
                for count in counts:
                    profile = f"matchmaking-{name}" + (f"-{args.tag}" if args.tag else "") if args.profile and count == counts[-1] else None
                    result = {"topology": name, "label": topology["label"], "client_procs": args.procs, "env": " ".join(args.env)}
                    result |= run_once(backends, accounts, count, args.procs, args.timeout, profile, args.interests)
                    rows.append(result)
                    print(
                        f"  {topology['label']:>20}: {count:>5} searchers -> {result['pairs']} pairs in "
                        f"{result['seconds']:.2f} s = {result['pairs_per_s']:,.0f} matches/s; search->matched "
                        f"p50 {result['latency_p50_ms']:.0f} ms, p95 {result['latency_p95_ms']:.0f} ms, "
                        f"p99 {result['latency_p99_ms']:.0f} ms, max {result['latency_max_ms']:.0f} ms; search->ack "
                        f"p50 {result['ack_p50_ms']:.0f} ms, p99 {result['ack_p99_ms']:.0f} ms "
                        f"(searches sent over {result['emit_span_ms']:.0f} ms; server CPU {result['server_cpu_s']:.2f} s, event loop {result['server_loop_cpu_s']:.2f} s); "
                        "every searcher matched exactly once"
                        + (f"; {result['on_common_interest']:.1%} on a common interest" if args.interests else ""),
                        flush=True,
                    )
                    time.sleep(2)  # the previous clients' disconnects drain
    suffix = f"-{args.tag}" if args.tag else ""
    if args.interests:
        write_csv("matchmaking-interests" + suffix, rows)
        return
    write_csv("matchmaking" + suffix, rows)
    plot(rows, suffix)


def plot(rows: list[dict], suffix: str = "") -> None:
    fig, (left, right) = new_figure("Matchmaking: N concurrent searchers, search -> matched", columns=2)
    for name in dict.fromkeys(r["topology"] for r in rows):
        mine = [r for r in rows if r["topology"] == name]
        xs = [r["searchers"] for r in mine]
        label = mine[0]["label"]
        left.plot(xs, [r["latency_p50_ms"] for r in mine], marker="o", label=f"{label} p50")
        left.plot(xs, [r["latency_p99_ms"] for r in mine], marker="^", linestyle="--", label=f"{label} p99")
        right.plot(xs, [r["pairs_per_s"] for r in mine], marker="o", label=label)
    left.axhline(250, color="red", linewidth=0.8, label="target p99 at 1,000: 250 ms")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("concurrent searchers")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    left.set_yscale("log")
    left.set_ylabel("latency (ms)")
    right.set_ylabel("matches (pairs) per second")
    save_plot(fig, "matchmaking" + suffix)


# --- the matchmaker classes alone ------------------------------------------------------


async def run_matchmakers(matchmakers, count: int, concurrency: int) -> None:
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


async def matchmaker_only(args) -> None:
    count = max(args.searchers)
    if not args.redis:
        print("in memory (one process):")
        await run_matchmakers([InMemoryMatchmaker()], count, 1)
        return
    from redis.asyncio import Redis

    prefix = f"bench-{secrets.token_hex(4)}"
    clients = [Redis.from_url(args.redis) for _ in range(args.workers)]
    try:
        print(f"Redis, {args.workers} connections, {args.concurrency} concurrent enqueues:")
        await run_matchmakers([RedisMatchmaker(c, prefix) for c in clients], count, args.concurrency)
    finally:
        keys = [k async for k in clients[0].scan_iter(match=f"{prefix}:*")]
        if keys:
            await clients[0].delete(*keys)
        for client in clients:
            await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--searchers", type=int, nargs="+", default=[100, 1000, 5000], help="N, one run each")
    parser.add_argument("--topologies", nargs="+", choices=list(TOPOLOGIES), default=list(TOPOLOGIES))
    parser.add_argument("--procs", type=int, default=4, help="client processes the searchers are spread over")
    parser.add_argument("--timeout", type=float, default=120, help="seconds until an unmatched searcher fails the run")
    parser.add_argument("--profile", action="store_true", help="py-spy a backend worker during the largest N")
    parser.add_argument("--interests", type=int, default=0, metavar="POOL", help="1-3 random interests each, of POOL")
    parser.add_argument("--interest-wait", type=float, default=10, help="with --interests: the backends' wait")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra backend environment")
    parser.add_argument("--tag", default="", help="suffix for the CSV/PNG names (e.g. for an --env variant)")
    parser.add_argument("--matchmaker-only", action="store_true", help="call the matchmaker classes, no sockets")
    parser.add_argument("--redis", default="", help="with --matchmaker-only: a Redis URL; else the in-memory one")
    parser.add_argument("--workers", type=int, default=2, help="with --matchmaker-only --redis: connections")
    parser.add_argument("--concurrency", type=int, default=50, help="with --matchmaker-only --redis: enqueues at once")
    arguments = parser.parse_args()
    if arguments.matchmaker_only:
        asyncio.run(matchmaker_only(arguments))
    else:
        run_sockets(arguments)
