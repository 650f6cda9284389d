"""Fixtures of the network lab: one lab internet with coturn and the backend per run, homes per test."""

import time

import pytest

from tests.netlab.internet import PeerRun, finish, internet_up, remove_leftovers, serve_secure_site, serve_site, start_peer
from tests.netlab.lab import missing_requirements


@pytest.fixture(scope="session")
def internet(tmp_path_factory):
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    remove_leftovers()
    with internet_up(tmp_path_factory.mktemp("netlab")) as internet:
        yield internet


def starter(internet, module: str, *args: str):
    """A fixture's `start(home, name, *more)`: a `module` peer in `home`; all stopped when the test ends."""
    runs: list[PeerRun] = []

    def start(home, name: str, *more: str) -> PeerRun:
        run = start_peer(internet, home, name, module, *args, *more)
        runs.append(run)
        return run

    return start, runs


@pytest.fixture
def chat_peers(internet):
    """`chat_peers(home, name, *args)`: a Python peer in `home` (chat_peer.py)."""
    start, runs = starter(internet, "tests.netlab.chat_peer", "--server", internet.server)
    yield start
    finish(runs)


@pytest.fixture
def chat(chat_peers):
    """`chat(home_a, home_b, count)`: a Python peer in each home, matched by search; both `done` lines."""

    def run_pair(home_a, home_b, count: int = 20, timeout: float = 60, path: str = "direct") -> tuple[dict, dict]:
        args = ("--count", str(count), "--path", path, "--timeout", str(timeout))
        a = chat_peers(home_a, "A", *args)
        time.sleep(0.2)
        b = chat_peers(home_b, "B", *args)
        run_pair.runs = [a, b]  # each peer's lines, for tests that read more than `done`
        done = a.wait_for("done", timeout), b.wait_for("done", timeout)
        for run in (a, b):
            run.proc.stdin.close()
        for run, line in zip((a, b), done):
            print(f"netlab: peer {run.name} done after {line['seconds']}s on {line['route']}")
        return done

    return run_pair


@pytest.fixture(scope="session")
def site(internet):
    return serve_site(internet)


@pytest.fixture
def browsers(internet, site):
    """`browsers(home, name, *args)`: a headless Chromium in `home` on the lab's site (browser_peer.py)."""
    start, runs = starter(internet, "tests.netlab.browser_peer", "--site", site)
    yield start
    finish(runs)


@pytest.fixture(scope="session")
def secure_site(internet, site):
    return serve_secure_site(internet)


@pytest.fixture
def secure_browsers(internet, secure_site):
    """`secure_browsers(home, name, *args)`: like `browsers`, on the site's HTTPS origin (wss:// backend)."""
    start, runs = starter(internet, "tests.netlab.browser_peer", "--site", secure_site)
    yield start
    finish(runs)


@pytest.fixture
def homes(internet):
    """The lab, for building this test's homes; they go when the test ends."""
    with internet.lab.scope() as lab:
        yield lab
