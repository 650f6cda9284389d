"""Connections: idle authenticated `/ephem` connections held by one backend worker, and its memory per connection.

    .venv/bin/python bench/connections.py                       # steps up to 5,000
    .venv/bin/python bench/connections.py --steps 1000 5000 10000 --hold 60
    .venv/bin/python bench/connections.py --env MALLOC_ARENA_MAX=2   # try a backend setting

One production backend (one Granian worker, everything in memory). First
--warmup clients connect and the worker's resident memory (VmRSS from
/proc/PID/status) is the baseline; then idle clients (python-socketio,
spread over --procs client processes, each with its own account and a
`hello` answered) are added up to each step, and after each step the
memory is read again: per connection = (RSS now - baseline) / clients added.
After the last step every client stays idle for --hold seconds (past
Socket.IO's 25 s ping interval by default), then the run fails unless every
client is still connected and a fresh client's `hello` counts them all online.
Writes bench/results/connections.csv and connections.png.
"""

import argparse
import asyncio
import time

from harness import (
    Fleet,
    TimedClient,
    check_alive,
    cluster,
    connect_all,
    cpu_seconds,
    describe_machine,
    fail,
    hello_stats,
    make_accounts,
    new_database,
    new_figure,
    profiled,
    raise_nofile,
    rss_kib,
    save_plot,
    scratch,
    shards,
    worker_pids,
    write_csv,
)


class Idle:
    """One client process's idle clients, connected a slice at a time."""

    def __init__(self, targets: list[tuple[str, str]]):
        self.targets = targets
        self.clients: list[TimedClient] = []
        self.next = 0

    async def grow(self, upto: int, concurrency: int) -> dict:
        started = time.monotonic()
        batch = self.targets[self.next:upto]
        self.next = max(self.next, upto)
        clients, errors = await connect_all(batch, concurrency)
        self.clients += clients
        return {"added": len(clients), "errors": errors[:3], "failed": len(errors), "seconds": time.monotonic() - started}

    async def alive(self) -> int:
        return sum(1 for c in self.clients if c.sio.connected and "/ephem" in c.sio.namespaces)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)


def main(args) -> None:
    raise_nofile()
    steps = sorted(args.steps)
    total = steps[-1]
    env = dict(pair.split("=", 1) for pair in args.env)
    suffix = f"-{args.tag}" if args.tag else ""
    print(f"Idle /ephem connections on one worker, {describe_machine()}" + (f", backend env {env}" if env else ""))
    rows = []
    with scratch("connections") as tmp:
        db_url = new_database(tmp)
        started = time.monotonic()
        accounts = make_accounts(db_url, args.warmup + total + 1)
        print(f"{len(accounts)} accounts created in {time.monotonic() - started:.1f} s")
        with cluster(tmp, db_url, env=env) as backends:
            url = backends[0].url
            (worker,) = worker_pids(backends[0].proc.pid)
            warm = [(url, a.token) for a in accounts[: args.warmup]]
            idle = [(url, a.token) for a in accounts[args.warmup: args.warmup + total]]
            spare = accounts[-1].token
            with Fleet(Idle, [warm]) as warmup, Fleet(Idle, shards(idle, args.procs)) as fleet:
                (warmed,) = warmup.ask("grow", len(warm), 50)
                if warmed["added"] != len(warm):
                    fail(f"warm-up clients failed to connect: {warmed['errors']}")
                time.sleep(args.settle)
                baseline = rss_kib(worker)
                print(f"  baseline with {len(warm)} clients: worker RSS {baseline / 1024:.1f} MiB")
                procs = len(fleet.links)
                for step in steps:
                    # How many of each process's clients (dealt round-robin) this step connects.
                    share = [len(range(p, step, procs)) for p in range(procs)]
                    cpu_before = cpu_seconds(worker)
                    began = time.monotonic()
                    with profiled(worker if args.profile and step == steps[-1] else None, "connections" + suffix):
                        concurrency = max(5, 200 // len(share))
                        answers = fleet.ask_each("grow", [(upto, concurrency) for upto in share], timeout=900)
                    elapsed = time.monotonic() - began
                    failed = sum(a["failed"] for a in answers)
                    if failed:
                        fail(f"{failed} connections failed at step {step}: {[e for a in answers for e in a['errors']][:3]}")
                    time.sleep(args.settle)
                    check_alive(backends)
                    rss = rss_kib(worker)
                    alive = sum(fleet.ask("alive"))
                    if alive != step:
                        fail(f"{step} clients connected but only {alive} still are")
                    added = sum(a["added"] for a in answers)
                    row = {
                        "connections": step,
                        "worker_rss_mib": round(rss / 1024, 1),
                        "kib_per_connection": round((rss - baseline) / step, 1),
                        "connect_rate_per_s": round(added / elapsed, 1) if added else None,
                        "server_cpu_s": round(cpu_seconds(worker) - cpu_before, 2),
                        # connect + authenticate + `hello`, per connection added
                        "server_cpu_ms_per_connect": round(1000 * (cpu_seconds(worker) - cpu_before) / added, 3) if added else None,
                        "connect_s": round(elapsed, 2),
                        "held_before": len(warm) + step - added,
                        "env": " ".join(args.env),
                    }
                    rows.append(row)
                    print(
                        f"  {step:>6} idle connections: worker RSS {row['worker_rss_mib']:.0f} MiB, "
                        f"{row['kib_per_connection']:.1f} KiB per connection; {added} connected at "
                        f"{row['connect_rate_per_s']:.0f}/s, server CPU {row['server_cpu_ms_per_connect']:.2f} ms each",
                        flush=True,
                    )
                print(f"  holding {total} idle connections for {args.hold:.0f} s ...", flush=True)
                cpu_before = cpu_seconds(worker)
                with profiled(worker if args.profile else None, "connections-idle" + suffix):
                    time.sleep(args.hold)
                idle_cpu = cpu_seconds(worker) - cpu_before
                check_alive(backends)
                alive = sum(fleet.ask("alive"))
                online = asyncio.run(hello_stats(url, spare))["online"]
                expected = len(warm) + total + 1
                if alive != total or online != expected:
                    fail(f"after {args.hold:.0f} s idle: {alive} of {total} clients connected, server counts {online} online of {expected}")
                rows[-1]["held_s"] = args.hold
                rows[-1]["server_cpu_idle_s"] = round(idle_cpu, 2)
                # The connections already open ping while others connect: their
                # idle cost (as measured in the hold) taken out of each step's CPU.
                idle_per_connection_s = idle_cpu / args.hold / (len(warm) + total)
                for row in rows:
                    open_on_average = row["held_before"] + (row["connections"] + len(warm) - row["held_before"]) / 2
                    idle_share = idle_per_connection_s * open_on_average * row["connect_s"]
                    row["server_cpu_ms_per_connect_net_of_idle"] = round(
                        1000 * (row["server_cpu_s"] - idle_share) / (row["connections"] + len(warm) - row["held_before"]), 3)
                print("  server CPU per connect without the open connections' idle cost (as measured in the hold): "
                      + ", ".join(f"{r['server_cpu_ms_per_connect_net_of_idle']:.2f} ms at {r['connections']}" for r in rows))
                rows[-1]["worker_rss_after_hold_mib"] = round(rss_kib(worker) / 1024, 1)
                print(f"  after {args.hold:.0f} s: all {total} still connected, the server counts {online} online "
                      f"(with the warm-up clients and the checker); worker RSS {rows[-1]['worker_rss_after_hold_mib']:.0f} MiB; "
                      f"server CPU while idle {idle_cpu:.2f} s")
    write_csv("connections" + suffix, rows)
    plot(rows, args.tag)


def plot(rows: list[dict], tag: str) -> None:
    fig, (left, right) = new_figure("Idle authenticated /ephem connections on one backend worker", columns=2)
    xs = [r["connections"] for r in rows]
    left.plot(xs, [r["kib_per_connection"] for r in rows], marker="o", label="worker RSS growth / connections")
    left.axhline(50, color="red", linewidth=0.8, label="target at 5,000: 50 KiB")
    left.set_ylabel("KiB per connection")
    right.plot(xs, [r["worker_rss_mib"] for r in rows], marker="o")
    right.set_ylabel("worker resident memory (MiB)")
    for ax in (left, right):
        ax.set_xlabel("idle connections")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    left.legend(fontsize=7)
    save_plot(fig, "connections" + (f"-{tag}" if tag else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[1000, 2500, 5000], help="idle clients at each step")
    parser.add_argument("--warmup", type=int, default=100, help="clients connected before the baseline is read")
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--settle", type=float, default=5, help="seconds between connecting and reading memory")
    parser.add_argument("--hold", type=float, default=60, help="seconds the last step stays idle before the check")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra backend environment")
    parser.add_argument("--tag", default="", help="suffix for the CSV/PNG names (e.g. for an --env variant)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the worker while the last step connects (profile-connections.txt) and while idle (-idle)")
    main(parser.parse_args())
