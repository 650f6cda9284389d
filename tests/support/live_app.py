"""Runs the real app (`reflex run`) on free ports with its own database, for browser tests."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from ephem.core.migrations import upgrade

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Calls: a fake camera, microphone and screen, allowed without asking.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
START_TIMEOUT = 420  # a fresh clone installs the frontend packages on first start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveApp:
    frontend: str
    backend: str
    log: Path
    db_path: Path
    states: Path  # Reflex's server-side state, pickled


def _wait(url: str, proc: subprocess.Popen, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {START_TIMEOUT}s:\n{log.read_text()[-4000:]}")


@contextmanager
def running_app(tmp: Path, extra_env: dict[str, str] | None = None):
    db_path = tmp / "live.db"
    db_url = f"sqlite:///{db_path}"
    upgrade(db_url)
    frontend_port, backend_port = free_port(), free_port()
    env = {
        **os.environ,
        "REFLEX_DB_URL": db_url,
        "EPHEM_SECRET": "live-test-secret-0123456789abcdef",
        # Reflex empties its states folder when it starts; each app gets its
        # own so that starting one never deletes another's files under it.
        "REFLEX_STATES_WORKDIR": str(tmp / "states"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        **(extra_env or {}),
    }
    bun = ROOT / ".tools/bun/node_modules/.bin/bun"
    if bun.exists():
        env.setdefault("REFLEX_BUN_PATH", str(bun))
    log = tmp / "app.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "reflex", "run", "--frontend-port", str(frontend_port), "--backend-port", str(backend_port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = LiveApp(f"http://localhost:{frontend_port}", f"http://localhost:{backend_port}", log, db_path, tmp / "states")
    try:
        deadline = time.monotonic() + START_TIMEOUT
        _wait(f"{app.backend}/api/health", proc, log, deadline)
        _wait(app.frontend, proc, log, deadline)
        yield app
    finally:
        stop_process(proc)


def seed_web(target: Path) -> None:
    """A `.web` at `target` started from the repo's when it is set up: no reinstall, no network."""
    web = ROOT / ".web"
    if not (web / "reflex.json").is_file() or not (web / "node_modules").is_dir():
        return  # Reflex initialises its own `.web` there, as on a fresh clone
    def top_level(*names):  # packages have `build/` folders of their own
        return lambda folder, _: [n for n in names if Path(folder) in (web, web / "node_modules")]

    shutil.copytree(web, target, symlinks=True, ignore=top_level("node_modules", "build"))
    packages = partial(shutil.copytree, web / "node_modules", target / "node_modules", symlinks=True)
    skip = top_level(".vite", ".vite-temp")  # Vite's caches, written while it runs
    try:  # the packages are only read: hard links are instant
        packages(ignore=skip, copy_function=os.link)
    except (OSError, shutil.Error):  # another file system
        shutil.rmtree(target / "node_modules", ignore_errors=True)
        packages(ignore=skip)


def stop_process(proc: subprocess.Popen) -> None:
    """Stop a process started with `start_new_session=True`, and its children."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:  # a test killed the whole group already
        proc.wait()
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
