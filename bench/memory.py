"""Memory: where an idle authenticated `/ephem` connection's memory goes, by Python object type and allocating line.

    .venv/bin/python bench/memory.py                    # 2,000 connections
    .venv/bin/python bench/memory.py --clients 1000 --top 40

Serves the app's own ASGI stack (`ephem.ephem:app()`, what gunicorn's
uvicorn workers serve, with the uvicorn settings `gunicorn.conf.py` gives
them) in this process, on an event loop of its own, so that Python's
`tracemalloc` and `gc` can look at it: after --warmup clients, a snapshot;
then --clients idle clients (python-socketio, each its own account, `hello`
answered, in --procs client processes) connect, and a second snapshot. It
prints, per connection: the resident memory added, the Python memory still
allocated (by file and by line), and the objects of each type added. Tracing
slows the server down: connect rates and CPU here mean nothing
(`connections.py` measures those). Not part of `make bench`.
"""

import argparse
import asyncio
import gc
import os
import runpy
import sys
import time
import tracemalloc
from collections import Counter
from types import SimpleNamespace

from harness import BENCH_ENV, ROOT, Fleet, fail, make_accounts, new_database, raise_nofile, rss_kib, scratch, shards

sys.path.insert(0, str(ROOT / "bench"))
from connections import Idle  # noqa: E402
from tests.support.live_app import free_port  # noqa: E402


class GcClock:
    """Time the garbage collector spends, by generation, while `running`."""

    def __init__(self) -> None:
        self.seconds, self.runs, self.running, self._t0 = [0.0, 0.0, 0.0], [0, 0, 0], False, 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if not self.running:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._t0
            self.runs[info["generation"]] += 1


def type_counts() -> Counter:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def uvicorn_config(app, port: int):
    """The uvicorn settings a production worker runs with: gunicorn.conf.py's post_fork applied."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", backlog=4096)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    conf["post_fork"](None, SimpleNamespace(config=config))
    return config


async def serve_and_measure(args, fleet, warmup, url, port) -> None:
    import uvicorn
    from ephem.ephem import app

    config = uvicorn_config(app(), port)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            fail("the server stopped before it started")
        await asyncio.sleep(0.05)
    (warmed,) = await asyncio.to_thread(warmup.ask, "grow", args.warmup, 50)
    if warmed["added"] != args.warmup:
        fail(f"warm-up clients failed: {warmed['errors']}")
    await asyncio.sleep(args.settle)
    gc.collect()
    if args.freeze:
        gc.freeze()
    clock = GcClock()
    tracemalloc.start(args.frames)
    before, types_before, rss_before = tracemalloc.take_snapshot(), type_counts(), rss_kib(os.getpid())
    procs = len(fleet.links)
    share = [len(range(p, args.clients, procs)) for p in range(procs)]
    began = time.monotonic()
    clock.running = True
    answers = await asyncio.to_thread(fleet.ask_each, "grow", [(n, max(5, 200 // procs)) for n in share], timeout=900)
    failed = sum(a["failed"] for a in answers)
    if failed:
        fail(f"{failed} clients failed to connect: {[e for a in answers for e in a['errors']][:3]}")
    clock.running = False
    print(f"{args.clients} clients connected in {time.monotonic() - began:.1f} s (traced, so slow); "
          "garbage collections meanwhile: " + ", ".join(
              f"generation {g} {clock.runs[g]} times, {clock.seconds[g]:.2f} s" for g in range(3)))
    await asyncio.sleep(args.settle)
    gc.collect()
    after, types_after, rss_after = tracemalloc.take_snapshot(), type_counts(), rss_kib(os.getpid())
    tracemalloc.stop()
    n = args.clients
    grown = after.compare_to(before, "filename")
    traced = sum(s.size_diff for s in grown)
    print(f"per connection: resident memory {(rss_after - rss_before) / n:.1f} KiB, "
          f"of which Python allocations still traced {traced / 1024 / n:.1f} KiB\n")
    print(f"top {args.top} files by memory added, per connection:")
    for stat in grown[: args.top]:
        print(f"  {stat.size_diff / n:8.0f} B  {stat.count_diff / n:6.1f} blocks  {_short(stat.traceback[0].filename)}")
    print(f"\ntop {args.top} lines by memory added, per connection:")
    for stat in after.compare_to(before, "lineno")[: args.top]:
        frame = stat.traceback[0]
        print(f"  {stat.size_diff / n:8.0f} B  {stat.count_diff / n:6.1f} blocks  {_short(frame.filename)}:{frame.lineno}")
    print(f"\ntop {args.top} object types added, per connection (gc-tracked objects):")
    added = Counter({t: types_after[t] - types_before.get(t, 0) for t in types_after})
    for name, count in added.most_common(args.top):
        print(f"  {count / n:6.2f}  {name}")
    server.should_exit = True
    await task


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main(args) -> None:
    raise_nofile()
    with scratch("memory") as tmp:
        db_url = new_database(tmp)
        accounts = make_accounts(db_url, args.warmup + args.clients)
        os.environ.update({**BENCH_ENV, "REFLEX_DB_URL": db_url, "REFLEX_ENV_MODE": "prod",
                           "REFLEX_STATES_WORKDIR": str(tmp / "states")})
        os.environ.pop("REFLEX_REDIS_URL", None)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        warm = [(url, a.token) for a in accounts[: args.warmup]]
        idle = [(url, a.token) for a in accounts[args.warmup:]]
        # The client processes fork before this process builds the app or starts a loop.
        with Fleet(Idle, [warm]) as warmup, Fleet(Idle, shards(idle, args.procs)) as fleet:
            loop = asyncio.new_event_loop()
            if args.uvloop:
                import uvloop

                loop = uvloop.new_event_loop()
            loop.run_until_complete(serve_and_measure(args, fleet, warmup, url, port))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000, help="idle clients measured")
    parser.add_argument("--warmup", type=int, default=100, help="clients connected before the first snapshot")
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--settle", type=float, default=3, help="seconds before each snapshot")
    parser.add_argument("--frames", type=int, default=1, help="frames tracemalloc keeps per allocation")
    parser.add_argument("--top", type=int, default=25, help="rows in each table")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() after the warm-up (start-up objects out of collections)")
    parser.add_argument("--no-uvloop", dest="uvloop", action="store_false", help="asyncio's own loop")
    main(parser.parse_args())
