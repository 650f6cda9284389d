"""Churn soak: clients connecting, searching, joining, signaling and leaving at random, for minutes.

    .venv/bin/python bench/churn.py                      # 10 minutes, 2,000 clients
    .venv/bin/python bench/churn.py --minutes 2 --clients 500

One production backend (one worker, everything in memory). Each of --clients
simulated users (python-socketio, spread over --procs client processes, each
with its own account) loops until the time is up: think for a random while
(--think),
connect and say `hello`, then either search (about 4 in 5 times) or idle and
leave; a searcher that is matched joins the enclave, waits for its partner,
sends it --signals `candidate` signals, waits for as many from it, leaves the
room and disconnects. Some searchers give up first (cancel, or just
disconnect while searching). The run fails on any unexpected answer or
event: an ack that is not `{ok: true}`, a second `matched`, a
`search_failed`, a signal from anyone but the partner or a lost one, a
partner that never shows up, a backend that died; and at the end, once every
client has gone, the server must count nobody online or searching.
The worker's resident memory is sampled every --sample seconds; after the
warm-up (the first fifth of the run) it must not grow by more than 5 %.
Writes bench/results/churn.csv and churn.png.
"""

import argparse
import asyncio
import random
import time

from harness import (
    Fleet,
    TimedClient,
    ack_error,
    check_alive,
    cluster,
    cpu_seconds,
    describe_machine,
    fail,
    hello_stats,
    make_accounts,
    new_database,
    new_figure,
    raise_nofile,
    rss_kib,
    save_plot,
    scratch,
    shards,
    worker_pids,
    write_csv,
)

KEYS = ("connects", "searches", "matches", "gave_up", "dropped_searching", "partner_gone", "signals", "idle_visits", "failed")
PARTNER_TIMEOUT = 20.0  # seconds a matched client waits for its partner's join or signals
SEARCH_PATIENCE = (2.0, 20.0)  # a searcher gives up after a random while in this range


class Churners:
    """One client process's users, each looping on its own task."""

    def __init__(self, shard):
        self.targets, self.seed, self.signals, self.think = shard["targets"], shard["seed"], shard["signals"], shard["think"]
        self.counts = {"connects": 0, "searches": 0, "matches": 0, "gave_up": 0, "dropped_searching": 0,
                       "partner_gone": 0, "signals": 0, "idle_visits": 0}
        self.errors: list[str] = []
        self.tasks: list[asyncio.Task] = []
        self.deadline = 0.0

    async def start(self, seconds: float) -> int:
        self.deadline = time.monotonic() + seconds
        rng = random.Random(self.seed)
        self.tasks = [asyncio.ensure_future(self._user(url, token, random.Random(rng.random()))) for url, token in self.targets]
        return len(self.tasks)

    async def progress(self) -> dict:
        return {**self.counts, "errors": self.errors[:5], "failed": len(self.errors)}

    async def finish(self) -> dict:
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return await self.progress()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _error(self, what: str) -> None:
        self.errors.append(what[:300])

    async def _user(self, url: str, token: str, rng: random.Random) -> None:
        while time.monotonic() < self.deadline and not self.errors:
            await asyncio.sleep(rng.uniform(*self.think))
            if time.monotonic() >= self.deadline:
                return
            client = TimedClient()
            try:
                await client.connect(url, token)
                self.counts["connects"] += 1
                if rng.random() < 0.2:
                    self.counts["idle_visits"] += 1
                    await asyncio.sleep(rng.uniform(0.5, 5.0))
                else:
                    await self._search(client, rng)
            except Exception as exc:  # noqa: BLE001 - every failure is an error of the run
                self._error(f"{type(exc).__name__}: {exc}")
            finally:
                try:
                    await client.close()
                except Exception:  # noqa: BLE001
                    pass

    async def _search(self, client: TimedClient, rng: random.Random) -> None:
        ack = await client.call("search", {})
        if ack_error(ack) or ack.get("status") != "searching":
            return self._error(f"search answered {ack!r}")
        self.counts["searches"] += 1
        try:
            _, matched = await client.next("matched", timeout=rng.uniform(*SEARCH_PATIENCE))
        except asyncio.TimeoutError:
            self.counts["gave_up"] += 1
            if rng.random() < 0.5:
                ack = await client.call("cancel_search", {})
                if ack_error(ack):
                    return self._error(f"cancel_search answered {ack!r}")
                # A match made just before the cancel still arrives: take it as one.
                try:
                    _, matched = await client.next("matched", timeout=1.0)
                except asyncio.TimeoutError:
                    return None
            else:  # disconnects while searching
                self.counts["dropped_searching"] += 1
                return None
        self.counts["matches"] += 1
        await self._meet(client, matched)
        if client.pending("matched") or client.pending("search_failed"):
            self._error("a second matched, or a search_failed")

    async def _meet(self, client: TimedClient, matched: dict) -> None:
        enclave, partner_account = matched["enclave_id"], matched["peer"]["account_id"]
        joined = await client.call("join", {"enclave_id": enclave})
        if ack_error(joined):
            return self._error(f"join answered {joined!r}")
        partners = [p for p in joined["peers"] if p["account_id"] == partner_account]
        if partners:
            partner = partners[0]["peer_id"]
        else:
            try:
                _, event = await client.next("peer_joined", timeout=PARTNER_TIMEOUT)
            except asyncio.TimeoutError:
                # Its partner disconnected while searching just as they were
                # matched: allowed, and checked against those at the end.
                self.counts["partner_gone"] += 1
                return None
            if event["peer"]["account_id"] != partner_account or event["enclave_id"] != enclave:
                return self._error(f"peer_joined from a stranger: {event!r}")
            partner = event["peer"]["peer_id"]
        for i in range(self.signals):
            data = {"candidate": f"candidate:{i} 1 udp 1 192.0.2.1 {9000 + i} typ host", "sdpMid": "0", "sdpMLineIndex": 0}
            ack = await client.call("signal", {"enclave_id": enclave, "to": partner, "kind": "candidate", "data": data})
            if ack_error(ack):
                return self._error(f"signal answered {ack!r}")
        got = []
        for _ in range(self.signals):
            _, signal = await client.next("signal", timeout=PARTNER_TIMEOUT)
            if signal["from"] != partner or signal["enclave_id"] != enclave:
                return self._error(f"a signal from a stranger: {signal!r}")
            got.append(signal["data"]["candidate"].split()[0])
        if got != [f"candidate:{i}" for i in range(self.signals)]:
            return self._error(f"signals lost, doubled or reordered: {got}")
        self.counts["signals"] += len(got)
        left = await client.call("leave", {"enclave_id": enclave})
        if ack_error(left):
            return self._error(f"leave answered {left!r}")


def main(args) -> None:
    raise_nofile()
    seconds = args.minutes * 60
    print(f"Churn soak, {args.clients} clients for {args.minutes:g} min on one worker, {describe_machine()}")
    rows = []
    with scratch("churn") as tmp:
        db_url = new_database(tmp)
        accounts = make_accounts(db_url, args.clients + 1)
        with cluster(tmp, db_url, env=dict(pair.split("=", 1) for pair in args.env)) as backends:
            url = backends[0].url
            (worker,) = worker_pids(backends[0].proc.pid)
            targets = [(url, a.token) for a in accounts[:-1]]
            parts = [{"targets": part, "seed": i, "signals": args.signals, "think": args.think}
                     for i, part in enumerate(shards(targets, args.procs))]
            with Fleet(Churners, parts) as fleet:
                started, cpu_started = time.monotonic(), cpu_seconds(worker)
                fleet.ask("start", seconds)
                while (elapsed := time.monotonic() - started) < seconds:
                    time.sleep(min(args.sample, max(0.1, seconds - elapsed)))
                    check_alive(backends)
                    progress = fleet.ask("progress")
                    totals = {k: sum(p[k] for p in progress) for k in KEYS}
                    row = {"seconds": round(time.monotonic() - started, 1), "worker_rss_mib": round(rss_kib(worker) / 1024, 1),
                           "server_cpu_s": round(cpu_seconds(worker) - cpu_started, 1), **totals}
                    rows.append(row)
                    print(f"  {row['seconds']:>6.0f} s: RSS {row['worker_rss_mib']:.0f} MiB, {row['connects']} connects, "
                          f"{row['matches']} matched, {row['signals']} signals, {row['gave_up']} gave up, "
                          f"server CPU {row['server_cpu_s']:.0f} s", flush=True)
                    if totals["failed"]:
                        fail(f"{totals['failed']} errors: {[e for p in progress for e in p['errors']][:5]}")
                ended = fleet.ask("finish", timeout=PARTNER_TIMEOUT * 3 + 60)
                if sum(p["failed"] for p in ended):
                    fail(f"errors: {[e for p in ended for e in p['errors']][:5]}")
                final = {k: sum(p[k] for p in ended) for k in KEYS}
                if final["partner_gone"] > final["dropped_searching"]:
                    fail(f"{final['partner_gone']} partners never joined, but only {final['dropped_searching']} searchers left while searching")
            time.sleep(3)  # the last disconnects reach the server
            stats = asyncio.run(hello_stats(url, accounts[-1].token))
            if stats != {"online": 1, "searching": 0}:
                fail(f"after every client left the server counts {stats} (only the checker should be online)")
    warm = [r for r in rows if r["seconds"] >= seconds * args.warmup]
    base = warm[0]["worker_rss_mib"] if warm else rows[-1]["worker_rss_mib"]
    peak = max(r["worker_rss_mib"] for r in warm) if warm else base
    growth = 100 * (peak - base) / base
    last = {**rows[-1], **final}
    print(f"  {last['connects']} connects, {last['matches']} matched, {last['signals']} signals relayed, no error; "
          f"{last['partner_gone']} partners gone (of {last['dropped_searching']} left while searching); worker RSS after warm-up {base:.0f} MiB, peak {peak:.0f} MiB ({growth:+.1f} %); "
          f"server CPU {last['server_cpu_s']:.0f} s in {seconds:.0f} s; nobody left online or searching")
    write_csv("churn" + (f"-{args.tag}" if args.tag else ""), rows)
    plot(rows, seconds * args.warmup, args)
    if growth > 5:
        fail(f"worker RSS grew {growth:.1f} % after the warm-up (at most 5 %)")


def plot(rows: list[dict], warmup: float, args) -> None:
    fig, (left, right) = new_figure(f"Churn soak: {args.clients} clients, {args.minutes:g} min, one backend worker", columns=2)
    xs = [r["seconds"] / 60 for r in rows]
    left.plot(xs, [r["worker_rss_mib"] for r in rows], marker=".")
    left.axvline(warmup / 60, color="grey", linewidth=0.8, label="end of warm-up")
    left.set_ylabel("worker resident memory (MiB)")
    left.set_ylim(bottom=0)
    left.legend(fontsize=7)
    for key in ("connects", "matches", "signals"):
        right.plot(xs, [r[key] for r in rows], label=key)
    right.set_ylabel("cumulative count")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.set_xlabel("minutes")
        ax.grid(True, alpha=0.3)
    save_plot(fig, "churn" + (f"-{args.tag}" if args.tag else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="how long the soak runs")
    parser.add_argument("--clients", type=int, default=2000, help="simulated users, each with its own account")
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--signals", type=int, default=5, help="signals each side of a match sends the other")
    parser.add_argument("--think", type=float, nargs=2, default=[5.0, 40.0], metavar=("MIN", "MAX"),
                        help="seconds a user waits between visits, uniformly at random")
    parser.add_argument("--sample", type=float, default=10, help="seconds between memory samples")
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of the run before memory must stay flat")
    parser.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE", help="extra backend environment")
    parser.add_argument("--tag", default="", help="suffix for the CSV/PNG names")
    main(parser.parse_args())
