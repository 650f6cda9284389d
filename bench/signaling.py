"""Signaling: `signal` messages relayed through `/ephem` between connected pairs, per second and how fast.

    .venv/bin/python bench/signaling.py                         # starts its own backend
    .venv/bin/python bench/signaling.py --pairs 50 --rate 25 --seconds 10
    EPHEM_SIGNUP_BURST=10000 make run                           # or against a running one:
    .venv/bin/python bench/signaling.py --server http://localhost:8000 --pairs 50

For each load level, P pairs are matched by Search (one pair at a time, so
each pair meets its own partner), both join their enclave, then both sides
send `candidate` signals to each other, open loop: --rate per connection
(under the server's per-connection limit of 30/s, `SOCKET_RATE` in
ephem/signaling.py, which no setting raises), for --seconds. The offered
load is P x 2 x rate. Each signal's time from `emit` to its arrival at the
other side is recorded (both sides live in the same client process). Prints
relayed signals per second and latency percentiles per level, and fails
unless every signal was acknowledged `{ok: true}` and arrived exactly once.
Writes bench/results/signaling.csv and signaling.png; with --profile,
profile-signaling.txt (py-spy on the backend worker during the heaviest level).
"""

import argparse
import asyncio
import random
import time

import httpx

from harness import (
    Account,
    Fleet,
    ack_error,
    check_alive,
    cluster,
    cpu_seconds,
    describe_machine,
    fail,
    make_accounts,
    matched_pairs,
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


class Pairs:
    """One client process's pairs: both sides of each pair live here."""

    def __init__(self, targets: list[tuple[tuple[str, str], tuple[str, str]]]):
        self.targets = targets
        self.pairs = []  # (a, b, enclave_id)

    async def setup(self) -> int:
        self.pairs = await matched_pairs(self.targets)
        return len(self.pairs)

    async def relay(self, rate: float, seconds: float, start_at: float) -> dict:
        count = int(rate * seconds)
        sent: dict[tuple[str, int], float] = {}
        errors: list[str] = []
        acked = [0]

        def on_ack(ack=None):
            acked[0] += 1
            if error := ack_error(ack):
                errors.append(error)

        async def sender(me, other, enclave: str):
            begin = start_at + random.random() / rate  # senders do not tick in step
            for k in range(count):
                await asyncio.sleep(max(0.0, begin + k / rate - time.monotonic()))
                candidate = {
                    "candidate": f"candidate:{k} 1 udp 2122260223 127.0.0.1 {50000 + k % 10000} typ host generation 0",
                    "sdpMid": "0",
                    "sdpMLineIndex": 0,
                }
                sent[(me.peer_id, k)] = time.monotonic()
                await me.sio.emit(
                    "signal", {"enclave_id": enclave, "to": other.peer_id, "kind": "candidate", "data": candidate},
                    namespace="/ephem", callback=on_ack,
                )

        for a, b, _ in self.pairs:
            for client in (a, b):
                while client.pending("signal"):  # nothing left over from an earlier level
                    client.events["signal"].get_nowait()
        await asyncio.gather(*(s for a, b, e in self.pairs for s in (sender(a, b, e), sender(b, a, e))))
        expected = 2 * len(self.pairs) * count
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            acked[0] < expected or sum(c.pending("signal") for a, b, _ in self.pairs for c in (a, b)) < expected
        ):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a duplicate would arrive by now
        latencies, problems, seen = [], [], set()
        last = 0.0
        for a, b, enclave in self.pairs:
            for me, other in ((a, b), (b, a)):
                while me.pending("signal"):
                    arrived, data = me.events["signal"].get_nowait()
                    k = int(data["data"]["candidate"].split()[0].split(":")[1])
                    key = (data["from"], k)
                    if data["from"] != other.peer_id or data["enclave_id"] != enclave or key in seen or key not in sent:
                        problems.append(f"unexpected signal {data}")
                        continue
                    seen.add(key)
                    latencies.append(arrived - sent[key])
                    last = max(last, arrived)
        missing = expected - len(seen)
        if missing:
            problems.append(f"{missing} of {expected} signals never arrived")
        if acked[0] < expected:
            problems.append(f"{expected - acked[0]} signals never acknowledged")
        return {"sent": len(sent), "latencies": latencies, "errors": errors[:5], "n_errors": len(errors),
                "problems": problems[:5], "last": last}

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for a, b, _ in self.pairs for c in (a, b)), return_exceptions=True)


def level(urls: list[str], accounts: list[Account], pairs: int, args, workers: list[int], profile: str | None) -> dict:
    targets = [((urls[0], accounts[2 * i].token), (urls[0], accounts[2 * i + 1].token)) for i in range(pairs)]
    with Fleet(Pairs, shards(targets, args.procs)) as fleet:
        # One process at a time: while one pairs up, nobody else is searching.
        for i in range(len(fleet.links)):
            fleet.ask_one(i, "setup", timeout=300)
        start_at = time.monotonic() + 1.0
        cpu_before = sum(cpu_seconds(p) for p in workers)
        with profiled(workers[0] if profile and workers else None, profile or ""):
            parts = fleet.ask("relay", args.rate, args.seconds, start_at, timeout=args.seconds + 120)
        cpu = sum(cpu_seconds(p) for p in workers) - cpu_before
    problems = [p for part in parts for p in part["problems"]]
    errors = [e for part in parts for e in part["errors"]]
    if problems or errors:
        fail(f"signals lost or refused at {pairs} pairs: {(problems + errors)[:5]}")
    latencies = [x for part in parts for x in part["latencies"]]
    last = max(part["last"] for part in parts)
    return {
        "pairs": pairs,
        "rate_per_connection": args.rate,
        "offered_per_s": round(2 * pairs * args.rate, 1),
        "signals": len(latencies),
        "seconds": round(last - start_at, 3),
        "relayed_per_s": round(len(latencies) / (last - start_at), 1),
        **{f"latency_{k}_ms": v for k, v in summary(latencies).items()},
        "server_cpu_s": round(cpu, 2) if workers else None,
    }


def sign_up(server: str, count: int) -> list[Account]:
    made = []
    with httpx.Client(base_url=server, timeout=30) as http:
        for i in range(count):
            answer = http.post("/api/accounts", json={"name": f"signal{i}", "remember": False})
            if answer.status_code != 201:
                fail(f"sign-up at {server}: {answer.status_code} {answer.text[:200]}")
            body = answer.json()
            made.append(Account(body["account"]["id"], body["account"]["name"], body["session_token"]))
    return made


def run(args, urls: list[str], accounts: list[Account], workers: list[int], backends=()) -> list[dict]:
    rows = []
    levels = sorted(args.pairs)
    for pairs in levels:
        profile = "signaling" if args.profile and pairs == levels[-1] else None
        row = level(urls, accounts, pairs, args, workers, profile)
        check_alive(backends)
        rows.append(row)
        print(
            f"  {pairs:>4} pairs, offered {row['offered_per_s']:>6,.0f}/s: {row['signals']} signals relayed in "
            f"{row['seconds']:.2f} s = {row['relayed_per_s']:,.0f}/s; emit->arrival p50 {row['latency_p50_ms']:.1f} ms, "
            f"p95 {row['latency_p95_ms']:.1f} ms, p99 {row['latency_p99_ms']:.1f} ms, max {row['latency_max_ms']:.1f} ms",
            flush=True,
        )
        time.sleep(1)
    return rows


def main(args) -> None:
    raise_nofile()
    if args.rate > 30:
        fail("--rate above 30/s per connection would be refused as rate_limited by the server")
    need = 2 * max(args.pairs)
    print(f"Signal relay through /ephem, {describe_machine()}")
    if args.server:
        rows = run(args, [args.server], sign_up(args.server, need), [])
    else:
        with scratch("signaling") as tmp:
            db_url = new_database(tmp)
            accounts = make_accounts(db_url, need, prefix="signal")
            with cluster(tmp, db_url) as backends:
                workers = worker_pids(backends[0].proc.pid)
                rows = run(args, [backends[0].url], accounts, workers, backends)
    write_csv("signaling", rows)
    plot(rows)


def plot(rows: list[dict]) -> None:
    fig, (left, right) = new_figure("Signal relay through /ephem: open-loop load, both directions per pair", columns=2)
    offered = [r["offered_per_s"] for r in rows]
    left.plot(offered, [r["relayed_per_s"] for r in rows], marker="o", label="relayed")
    left.plot(offered, offered, linestyle=":", color="gray", label="offered")
    left.set_xlabel("offered signals per second")
    left.set_ylabel("relayed signals per second")
    relayed = [r["relayed_per_s"] for r in rows]
    for key, marker in (("p50", "o"), ("p95", "s"), ("p99", "^")):
        right.plot(relayed, [r[f"latency_{key}_ms"] for r in rows], marker=marker, label=key)
    right.set_xlabel("relayed signals per second")
    right.set_ylabel("emit -> arrival latency (ms)")
    right.set_yscale("log")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save_plot(fig, "signaling")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="", help="a running backend; without it, one is started")
    parser.add_argument("--pairs", type=int, nargs="+", default=[10, 25, 50, 75, 100], help="load levels, in pairs")
    parser.add_argument("--rate", type=float, default=20, help="signals per second each connection sends")
    parser.add_argument("--seconds", type=float, default=5, help="how long each level sends")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--profile", action="store_true", help="py-spy the backend worker during the heaviest level")
    main(parser.parse_args())
