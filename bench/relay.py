"""The relay rung: sealed chat messages relayed through `/ephem`, per second per pair, and the server's CPU per message.

    .venv/bin/python bench/relay.py                        # starts its own backend
    .venv/bin/python bench/relay.py --levels 1x50 1x200 20x20 --seconds 5

Each level is PAIRSxRATE: PAIRS pairs are matched by Search and join their
enclave; each pair's two sides hold the relay keys of a real pair
(`ephem.peer.seal.Channel`: ECDH P-256, HKDF, AES-256-GCM, counters). One
side sends RATE chat envelopes a second (open loop, --text characters each),
sealed and sent as `relay`; the other opens each, as a peer does, and sends a
sealed `ack` envelope back the same way; the sender opens the ack. A message
counts once its ack is opened: two relayed frames, both ways through the
server. Prints acked messages per second per pair, send→ack latency and the
backend's CPU seconds per message (both frames), and fails unless every
frame was acknowledged `{ok: true}`, opened, and every message acked exactly
once. Writes bench/results/relay.csv and relay.png; with --profile,
profile-relay.txt (py-spy on the backend worker during the heaviest level).
"""

import argparse
import asyncio
import json
import random
import time

from harness import (
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

from ephem.envelope import make  # noqa: E402 - harness puts the project on sys.path
from ephem.peer import seal  # noqa: E402


class Pairs:
    """One client process's pairs: both sides of each pair live here."""

    def __init__(self, targets):
        self.targets = targets
        self.pairs = []  # (a, b, enclave_id, a->b channel, b->a channel)

    async def setup(self) -> int:
        for a, b, enclave in await matched_pairs(self.targets):
            keys_a, keys_b = seal.KeyPair.generate(), seal.KeyPair.generate()
            ab = seal.Channel(keys_a, keys_b.public, enclave, a.account["id"], b.account["id"])
            ba = seal.Channel(keys_b, keys_a.public, enclave, b.account["id"], a.account["id"])
            self.pairs.append((a, b, enclave, ab, ba))
        return len(self.pairs)

    async def relay(self, rate: float, seconds: float, text_len: int, start_at: float) -> dict:
        count = int(rate * seconds)
        sent: dict[str, float] = {}
        latencies: list[float] = []
        problems: list[str] = []
        refused: list[str] = []
        frames = [0, 0]  # sent, acknowledged by the server
        last = [0.0]

        def on_ack(answer=None):
            frames[1] += 1
            if error := ack_error(answer):
                refused.append(error)

        async def emit(client, enclave, to, data):
            frames[0] += 1
            await client.sio.emit("relay", {"enclave_id": enclave, "to": to, "data": data}, namespace="/ephem", callback=on_ack)

        def wire(a, b, enclave, ab, ba):
            async def at_b(data):  # the receiver: open, ack back sealed
                try:
                    envelope = json.loads(ba.open(data["data"]))
                except (seal.SealError, ValueError) as exc:
                    problems.append(f"b could not open a frame: {exc}")
                    return
                ack = make("ack", b.account["id"], {"of": envelope["id"]}).frame()
                await emit(b, enclave, a.peer_id, ba.seal(ack))

            async def at_a(data):  # the sender: the ack, opened
                try:
                    envelope = json.loads(ab.open(data["data"]))
                except (seal.SealError, ValueError) as exc:
                    problems.append(f"a could not open an ack: {exc}")
                    return
                started = sent.pop(envelope["payload"]["of"], None)
                if started is None:
                    problems.append("an ack for nothing, or twice")
                    return
                now = time.monotonic()
                latencies.append(now - started)
                last[0] = max(last[0], now)

            a.sio.on("relay", at_a, namespace="/ephem")
            b.sio.on("relay", at_b, namespace="/ephem")

        async def sender(a, b, enclave, ab, ba):
            begin = start_at + random.random() / rate
            text = "x" * text_len
            for k in range(count):
                await asyncio.sleep(max(0.0, begin + k / rate - time.monotonic()))
                envelope = make("chat", a.account["id"], {"text": text})
                sent[envelope.id] = time.monotonic()
                await emit(a, enclave, b.peer_id, ab.seal(envelope.frame()))

        for pair in self.pairs:
            wire(*pair)
        await asyncio.gather(*(sender(*pair) for pair in self.pairs))
        expected = len(self.pairs) * count
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(latencies) < expected or frames[1] < frames[0]):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a duplicate would show by now
        if len(latencies) != expected:
            problems.append(f"{expected - len(latencies)} of {expected} messages never acked")
        return {"latencies": latencies, "problems": problems[:5], "refused": refused[:5], "n_refused": len(refused),
                "frames": frames[0], "last": last[0]}

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for a, b, *_ in self.pairs for c in (a, b)), return_exceptions=True)


def level(url: str, accounts, pairs: int, rate: float, args, workers: list[int], profile: bool = False) -> dict:
    targets = [((url, accounts[2 * i].token), (url, accounts[2 * i + 1].token)) for i in range(pairs)]
    with Fleet(Pairs, shards(targets, min(args.procs, pairs))) as fleet:
        for i in range(len(fleet.links)):
            fleet.ask_one(i, "setup", timeout=300)
        start_at = time.monotonic() + 1.0
        cpu_before = sum(cpu_seconds(p) for p in workers)
        with profiled(workers[0] if profile and workers else None, "relay"):
            parts = fleet.ask("relay", rate, args.seconds, args.text, start_at, timeout=args.seconds + 120)
        cpu = sum(cpu_seconds(p) for p in workers) - cpu_before
    problems = [p for part in parts for p in part["problems"] + part["refused"]]
    if problems:
        fail(f"relay frames lost, refused or not opened at {pairs}x{rate}: {problems[:5]}")
    latencies = [x for part in parts for x in part["latencies"]]
    seconds = max(part["last"] for part in parts) - start_at
    return {
        "pairs": pairs,
        "offered_per_pair_per_s": rate,
        "messages": len(latencies),
        "frames": sum(part["frames"] for part in parts),
        "seconds": round(seconds, 3),
        "acked_per_pair_per_s": round(len(latencies) / seconds / pairs, 1),
        "acked_per_s": round(len(latencies) / seconds, 1),
        **{f"latency_{k}_ms": v for k, v in summary(latencies).items()},
        "server_cpu_s": round(cpu, 3),
        "server_cpu_us_per_message": round(cpu / len(latencies) * 1e6, 1) if latencies else None,
    }


def main(args) -> None:
    raise_nofile()
    levels = []
    for spec in args.levels:
        pairs, _, rate = spec.partition("x")
        levels.append((int(pairs), float(rate)))
    print(f"Sealed chat through the relay, {describe_machine()}")
    need = 2 * max(p for p, _ in levels)
    rows = []
    with scratch("relay") as tmp:
        db_url = new_database(tmp)
        accounts = make_accounts(db_url, need, prefix="relay")
        with cluster(tmp, db_url) as backends:
            workers = worker_pids(backends[0].proc.pid)
            for pairs, rate in levels:
                heaviest = (pairs, rate) == max(levels, key=lambda lv: lv[0] * lv[1])
                row = level(backends[0].url, accounts, pairs, rate, args, workers, args.profile and heaviest)
                check_alive(backends)
                rows.append(row)
                print(
                    f"  {pairs:>3} pairs x {rate:>5g} msg/s offered: {row['messages']} messages acked in "
                    f"{row['seconds']:.2f} s = {row['acked_per_pair_per_s']:,.1f}/s per pair "
                    f"({row['acked_per_s']:,.0f}/s in all); send->ack p50 {row['latency_p50_ms']:.1f} ms, "
                    f"p99 {row['latency_p99_ms']:.1f} ms; server CPU {row['server_cpu_us_per_message']:.0f} us per message "
                    "(its frame and its ack)",
                    flush=True,
                )
                time.sleep(1)
    write_csv("relay", rows)
    plot(rows)


def plot(rows: list[dict]) -> None:
    fig, (left, right) = new_figure("Sealed chat through the relay: messages acked, and server CPU", columns=2)
    labels = [f"{r['pairs']}x{r['offered_per_pair_per_s']:g}" for r in rows]
    left.bar(labels, [r["acked_per_pair_per_s"] for r in rows])
    left.set_xlabel("pairs x offered messages/s per pair")
    left.set_ylabel("acked messages/s per pair")
    right.bar(labels, [r["server_cpu_us_per_message"] for r in rows], color="tab:orange")
    right.set_xlabel("pairs x offered messages/s per pair")
    right.set_ylabel("server CPU per message, µs (frame + ack)")
    for ax in (left, right):
        ax.grid(True, axis="y", alpha=0.3)
    save_plot(fig, "relay")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", nargs="+", default=["1x50", "1x200", "10x50", "50x20"],
                        help="PAIRSxRATE: pairs, and chat messages per second each pair's sender offers")
    parser.add_argument("--seconds", type=float, default=5, help="how long each level sends")
    parser.add_argument("--text", type=int, default=200, help="characters per message")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--profile", action="store_true", help="py-spy the backend worker during the heaviest level")
    main(parser.parse_args())
