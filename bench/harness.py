"""What the benchmarks share: real backends, accounts, client processes, figures.

- `cluster()` starts production backends (`reflex run --env prod
  --backend-only`, the same `Backend` and private `RedisServer` that
  tests/signaling/test_workers.py uses) on free ports with their own SQLite database.
- `make_accounts()` creates accounts with the project's own
  `ephem.accounts.Accounts.create` in that database before the backends
  start: about 7x faster here than the REST sign-up, which is rate limited
  per address and not what these benchmarks measure.
- `Fleet` runs python-socketio clients in several processes, so that the
  client side is not what is measured; each process answers commands from
  the parent. Times that cross processes use `time.monotonic()`, one
  system-wide clock on Linux.
- `summary()`, `write_csv()`, `save_plot()` put the figures out, into
  bench/results/.
"""

import asyncio
import csv
import multiprocessing
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ephem.accounts import Accounts  # noqa: E402
from ephem.core.db import make_engine  # noqa: E402
from ephem.core.migrations import upgrade  # noqa: E402
from ephem.core.settings import Settings  # noqa: E402
from tests.support.hubserver import Client  # noqa: E402
from tests.signaling.test_workers import Backend, RedisServer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SECRET = "bench-secret-0123456789abcdef-not-for-production"

# What the benchmarks change in the backends' environment, and why:
BENCH_ENV = {
    # Accounts made by `make_accounts` must authenticate on the backends.
    "EPHEM_SECRET": SECRET,
    # Every benchmark client signs up from 127.0.0.1, a single address; the
    # default (a burst of 10, then one per 2 s) is meant for people.
    "EPHEM_SIGNUP_BURST": "1000000",
    "EPHEM_SIGNUP_RATE": "1000000",
    "REFLEX_TELEMETRY_ENABLED": "false",
    "REFLEX_CHECK_LATEST_VERSION": "false",
}


class BenchFailure(SystemExit):
    """An invariant broke: the script stops with a non-zero exit."""

    def __init__(self, message: str):
        super().__init__(f"BENCH FAILED: {message}")


def fail(message: str) -> None:
    raise BenchFailure(message)


def raise_nofile() -> int:
    """Soft open-files limit up to the hard one; returns it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# --- the machine ---------------------------------------------------------------


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        ram_kib = int(info.readline().split()[1])
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "ram_gib": round(ram_kib / 1024 / 1024, 1),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def describe_machine() -> str:
    m = machine()
    return f"{m['date']}: {m['nproc']} cores ({m['cpu']}), {m['ram_gib']} GiB, Python {m['python']}"


# --- figures ---------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def summary(values: list[float], scale: float = 1000.0) -> dict:
    """p50/p95/p99/max of `values` (seconds), in milliseconds by default."""
    ordered = sorted(values)
    return {
        "p50": round(percentile(ordered, 50) * scale, 2),
        "p95": round(percentile(ordered, 95) * scale, 2),
        "p99": round(percentile(ordered, 99) * scale, 2),
        "max": round(ordered[-1] * scale, 2) if ordered else float("nan"),
    }


def write_csv(name: str, rows: list[dict]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.csv"
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {path.relative_to(ROOT)}")
    return path


def new_figure(title: str, columns: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, columns, figsize=(6.4 * columns, 4.4), squeeze=False)
    fig.suptitle(f"{title}\n{describe_machine()}", fontsize=9)
    return fig, list(axes[0])


def save_plot(fig, name: str) -> Path:
    import matplotlib.pyplot as plt

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path.relative_to(ROOT)}")
    return path


# --- processes ---------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name (field 2) may hold spaces: split after it.
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int, path: str = "") -> float:
    """User + system CPU time a process has used so far."""
    with open(path or f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop_cpu_seconds(pid: int) -> float:
    """CPU time of the process's main thread alone: the event loop's share
    (the rest is its threads: database reads and writes, `to_thread`)."""
    return cpu_seconds(pid, f"/proc/{pid}/task/{pid}/stat")


def worker_pids(pid: int) -> list[int]:
    """The serving processes under a `reflex run` backend: Granian's workers,
    the leaves of its process tree."""
    tree = descendants(pid)
    leaves = [p for p in tree if not descendants(p)]
    return leaves or [pid]


# --- accounts and backends -----------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    token: str


def bench_settings(db_url: str) -> Settings:
    return Settings(db_url=db_url, secret=SECRET.encode())


def new_database(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    return url


def make_accounts(db_url: str, count: int, prefix: str = "bench") -> list[Account]:
    """`count` remembered accounts, made the way the REST sign-up makes them."""
    engine = make_engine(db_url)
    accounts = Accounts(engine, bench_settings(db_url))
    made = []
    for i in range(count):
        new = accounts.create(f"{prefix}{i}", True)
        made.append(Account(new.account.id, new.account.name, new.session_token))
    engine.dispose()
    return made


@contextmanager
def scratch(prefix: str):
    """A temporary folder for databases and logs, kept when the run fails."""
    tmp = Path(tempfile.mkdtemp(prefix=f"ephem-{prefix}-"))
    ok = False
    try:
        yield tmp
        ok = True
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"(logs and database kept in {tmp})", file=sys.stderr)


@contextmanager
def cluster(tmp: Path, db_url: str, backends: int = 1, redis: bool = False, env: dict | None = None):
    """`backends` production backend processes on one database; with `redis`
    (or more than one backend) they share a private redis-server, one Granian
    worker each. Yields the `Backend`s (`.url`, `.proc`, `.log`)."""
    server = None
    full_env = {**os.environ, **BENCH_ENV, "REFLEX_DB_URL": db_url, **(env or {})}
    full_env.pop("REFLEX_REDIS_URL", None)
    if redis or backends > 1:
        server = RedisServer(tmp)
        if server.binary is None:
            fail("redis-server is not installed; several workers need a private Redis")
        server.start()
        full_env["REFLEX_REDIS_URL"] = server.url
        full_env.setdefault("GRANIAN_WORKERS", "1")
        full_env.setdefault("WEB_CONCURRENCY", "1")  # the same under gunicorn (gunicorn.conf.py)
    started = [Backend(tmp, f"backend{i}", full_env) for i in range(backends)]
    try:
        for backend in started:
            try:
                backend.wait()
            except AssertionError as exc:
                fail(f"a backend did not start: {exc}")
        yield started
    finally:
        for backend in started:
            backend.kill()
        if server is not None:
            server.stop()


def check_alive(backends) -> None:
    for backend in backends:
        if backend.proc.poll() is not None:
            fail(f"backend {backend.url} exited with {backend.proc.returncode}:\n{backend.log.read_text()[-3000:]}")


# --- profiling ---------------------------------------------------------------------


@contextmanager
def profiled(pid: int | None, name: str):
    """Sample `pid` with py-spy (without pausing it) while the block runs, then
    write bench/results/profile-NAME.txt: where its CPU time went, by function.
    With `pid` None, nothing is sampled."""
    if pid is None:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raw = Path(tempfile.mkdtemp(prefix="ephem-spy-")) / "stacks.txt"
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "250", "--nonblocking", "--format", "raw", "--output", str(raw)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    time.sleep(0.5)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if not raw.exists():
            fail(f"py-spy wrote no profile: {err.decode(errors='replace')[-800:]}")
        write_profile(raw, name)
        shutil.rmtree(raw.parent, ignore_errors=True)


def _frame(frame: str) -> str:
    """`func (path/to/file.py:123)` -> `func (file.py)`: one row per function."""
    func, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3", "bench-wt/", "main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{func} ({path})"


def write_profile(raw: Path, name: str, top: int = 30) -> Path:
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
    lines = [f"py-spy, {total} samples of on-CPU Python stacks (idle threads excluded), {describe_machine()}", ""]
    project = {frame: n for frame, n in inclusive.items() if "(ephem/" in frame}
    for title, table in (
        ("own time (the function itself)", own),
        ("inclusive time, the project's functions (ephem/)", project),
        ("inclusive time, any function", inclusive),
    ):
        lines.append(f"top {top} by {title}:")
        for frame, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"  {100 * n / max(total, 1):5.1f}%  {frame}")
        lines.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"profile-{name}.txt"
    path.write_text("\n".join(lines))
    print(f"wrote {path.relative_to(ROOT)}")
    return path


# --- clients -----------------------------------------------------------------------


class TimedClient(Client):
    """tests.support.hubserver.Client whose event queues hold `(monotonic arrival time, data)`."""

    def _recorder(self, name: str):
        queue = self.events.setdefault(name, asyncio.Queue())

        async def record(data):
            queue.put_nowait((time.monotonic(), data))

        return record


async def connect_all(targets: list[tuple[str, str]], concurrency: int = 50) -> tuple[list[TimedClient], list[str]]:
    """Connect a client per (url, token), at most `concurrency` handshakes at a
    time; returns the connected clients and the errors of the others."""
    gate = asyncio.Semaphore(concurrency)
    clients: list[TimedClient | None] = [None] * len(targets)
    errors: list[str] = []

    async def one(index: int, url: str, token: str):
        async with gate:
            client = TimedClient()
            try:
                await client.connect(url, token)
                clients[index] = client
            except Exception as exc:  # noqa: BLE001 - counted and reported by the caller
                errors.append(f"{type(exc).__name__}: {exc}")
                try:
                    await client.close()
                except Exception:  # noqa: BLE001
                    pass

    await asyncio.gather(*(one(i, url, token) for i, (url, token) in enumerate(targets)))
    return [c for c in clients if c is not None], errors


async def hello_stats(url: str, token: str) -> dict:
    """The `stats` a fresh client's `hello` answers with: what the server counts."""
    client = TimedClient()
    await client.connect(url, token)
    try:
        return (await client.call("hello", {}))["stats"]
    finally:
        await client.close()


def ack_error(ack) -> str | None:
    if isinstance(ack, dict) and ack.get("ok") is True:
        return None
    return repr(ack)[:200]


async def matched_pairs(targets: list[tuple[tuple[str, str], tuple[str, str]]]) -> list[tuple[TimedClient, TimedClient, str]]:
    """Connect both sides of each pair, have them search until they meet, and
    join the enclave; returns `(a, b, enclave_id)` per pair or raises."""
    flat = [side for pair in targets for side in pair]
    clients, errors = await connect_all(flat, 50)
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed to connect: {errors[:3]}")
    pairs = []
    for a, b in zip(clients[::2], clients[1::2]):
        for client in (a, b):
            if error := ack_error(await client.call("search", {})):
                raise RuntimeError(f"search: {error}")
        (_, ma), (_, mb) = await a.next("matched", timeout=30), await b.next("matched", timeout=30)
        if ma["enclave_id"] != mb["enclave_id"] or ma["peer"]["account_id"] != b.account["id"]:
            raise RuntimeError(f"a pair was not matched together: {ma} / {mb}")
        enclave = ma["enclave_id"]
        await a.call("join", {"enclave_id": enclave})
        joined = await b.call("join", {"enclave_id": enclave})
        if [p["peer_id"] for p in joined.get("peers", [])] != [a.peer_id]:
            raise RuntimeError(f"join: {joined}")
        pairs.append((a, b, enclave))
    return pairs


# --- client processes ------------------------------------------------------------------


class _Link:
    """The child's end of the pipe, awaitable on the child's event loop."""

    def __init__(self, conn):
        self.conn = conn

    async def recv(self):
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        loop.add_reader(self.conn.fileno(), lambda: ready.done() or ready.set_result(None))
        try:
            while not self.conn.poll():
                await ready
        finally:
            loop.remove_reader(self.conn.fileno())
        return self.conn.recv()

    def send(self, message) -> None:
        self.conn.send(message)


def _child(factory, shard, conn) -> None:
    raise_nofile()

    async def serve():
        link = _Link(conn)
        scenario = factory(shard)
        while True:
            name, args = await link.recv()
            try:
                result = await getattr(scenario, name)(*args)
            except Exception:  # noqa: BLE001 - sent to the parent, which fails loudly
                link.send(("error", traceback.format_exc()))
                return
            link.send(("ok", result))
            if name == "close":
                return

    asyncio.run(serve())


class Fleet:
    """Client processes, one per shard, each holding a `factory(shard)` object
    on its own event loop; `ask(name, *args)` awaits `obj.name(*args)` in each
    and returns their answers. The object must have an async `close()`."""

    def __init__(self, factory, shards: list):
        context = multiprocessing.get_context("fork")
        self.links = []
        self.procs = []
        for shard in shards:
            parent, child = context.Pipe()
            proc = context.Process(target=_child, args=(factory, shard, child), daemon=True)
            proc.start()
            child.close()
            self.links.append(parent)
            self.procs.append(proc)

    def ask(self, name: str, *args, timeout: float = 300.0) -> list:
        return self.ask_each(name, [args] * len(self.links), timeout)

    def ask_one(self, index: int, name: str, *args, timeout: float = 300.0):
        """`ask` one process only."""
        return self._ask(name, {index: args}, timeout)[0]

    def ask_each(self, name: str, args: list[tuple], timeout: float = 300.0) -> list:
        """Like `ask`, with its own arguments for each process."""
        return self._ask(name, dict(enumerate(args)), timeout)

    def _ask(self, name: str, args: dict[int, tuple], timeout: float) -> list:
        for i, own in args.items():
            self.links[i].send((name, tuple(own)))
        deadline = time.monotonic() + timeout
        answers = []
        for i in args:
            link = self.links[i]
            if not link.poll(max(0.0, deadline - time.monotonic())):
                fail(f"client process {i} did not answer {name!r} within {timeout:.0f} s")
            status, value = link.recv()
            if status == "error":
                fail(f"client process {i} failed in {name!r}:\n{value}")
            answers.append(value)
        return answers

    def close(self) -> None:
        try:
            self.ask("close", timeout=60)
        finally:
            for proc in self.procs:
                proc.join(10)
            self.terminate()

    def terminate(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(5)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.terminate()


def shards(items: list, count: int) -> list[list]:
    """`items` dealt round-robin into `count` non-empty shards."""
    count = max(1, min(count, len(items)))
    return [items[i::count] for i in range(count)]
