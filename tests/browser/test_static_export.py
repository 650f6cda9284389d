"""Static deploy: the exported frontend on a plain file server, the backend on its own.

The export runs in a copy of the app (`tests/support/static_site.py`): it
rewrites the `.web` it builds from, and the prod backend empties `.states`
and writes `.web/backend/` when it starts; either would disturb the dev
server the `live` fixture runs from the repo in the same session.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ephem.core.migrations import upgrade
from tests.support.browser import meet, say, texts, wait_direct
from tests.support.live_app import ROOT, START_TIMEOUT, _wait, free_port, stop_process
from tests.support.static_site import export_site, static_server

pytestmark = pytest.mark.browser


@dataclass
class StaticDeploy:
    site: str  # the static file server
    backend: str  # `reflex run --env prod --backend-only`
    folder: Path  # what the file server serves
    export_seconds: float
    restart: Callable[[], None]  # kills the backend and starts it again on its port


@pytest.fixture(scope="module")
def static_deploy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("static")
    backend_port, site_port = free_port(), free_port()
    backend = f"http://127.0.0.1:{backend_port}"
    db_url = f"sqlite:///{tmp / 'static.db'}"
    upgrade(db_url)
    env = {
        **os.environ,
        "REFLEX_DB_URL": db_url,
        "EPHEM_SECRET": "static-test-secret-0123456789abcdef",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
    }
    for name in ("REFLEX_WEB_WORKDIR", "REFLEX_STATES_WORKDIR"):
        env.pop(name, None)  # `.web` and `.states` of the copy, nothing shared
    bun = ROOT / ".tools/bun/node_modules/.bin/bun"
    if bun.exists():
        env.setdefault("REFLEX_BUN_PATH", str(bun))

    started = time.monotonic()
    folder, app = export_site(tmp, backend, env)
    export_seconds = time.monotonic() - started

    site = f"http://127.0.0.1:{site_port}"
    server = static_server("127.0.0.1", site_port, folder)
    log = tmp / "backend.log"
    proc = None

    def start() -> None:
        nonlocal proc
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only", "--backend-port", str(backend_port)],
                cwd=app,
                env={**env, "REFLEX_CORS_ALLOWED_ORIGINS": site},  # as a deployment would: only its site
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait(f"{backend}/api/health", proc, log, time.monotonic() + START_TIMEOUT)

    def restart() -> None:
        os.killpg(proc.pid, signal.SIGKILL)  # as a crash would: nothing said to anyone
        proc.wait(10)
        start()

    try:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        start()
        print(f"static export took {export_seconds:.1f}s")
        yield StaticDeploy(site, backend, folder, export_seconds, restart)
    finally:
        stop_process(proc)
        server.shutdown()
        server.server_close()


def test_the_export_is_plain_files_that_know_the_backend(static_deploy):
    folder = static_deploy.folder
    assert (folder / "index.html").is_file() and (folder / "404.html").is_file()
    baked = [p.name for p in (folder / "assets").glob("*.js") if static_deploy.backend.encode() in p.read_bytes()]
    assert baked, f"{static_deploy.backend} is nowhere in the bundle"


def test_login_search_match_and_chat_on_the_static_site(static_deploy, browser):
    site = static_deploy.site
    alice, bob = meet(browser, site, "Static Alice", "Static Bob")
    assert alice.url.startswith(site) and bob.url.startswith(site)
    wait_direct(alice, 1)
    wait_direct(bob, 1)

    say(alice, "hello from a static site")
    expect(bob.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)
    assert texts(bob) == ["hello from a static site"]
    expect(alice.get_by_test_id("chat-message")).to_have_attribute("data-status", "delivered", timeout=10_000)

    say(bob, "and back over the same channel")
    expect(alice.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)
    assert texts(alice) == ["hello from a static site", "and back over the same channel"]
    expect(bob.get_by_test_id("chat-message").nth(1)).to_have_attribute("data-status", "delivered", timeout=10_000)

    # Invite links point at the page's origin: the static site, not the backend.
    alice.get_by_test_id("invite-create").click()
    expect(alice.get_by_test_id("invite-link")).to_have_value(re.compile("^" + re.escape(site) + "/join/"))

    # A deep link straight into the enclave: the file server has no such file
    # and answers with 404.html, which boots the app on the right route, and
    # the reloaded peer is back in the enclave.
    room = bob.url
    response = bob.reload()
    assert response is not None and response.status == 404
    expect(bob).to_have_url(room)
    expect(bob.get_by_test_id("chat-input")).to_be_visible(timeout=20_000)
    wait_direct(bob, 1)
    wait_direct(alice, 1)
    for page in (alice, bob):
        page.context.close()


def test_a_backend_restart_loses_no_message(static_deploy, browser):
    """The server only does signaling: when it restarts, the pages keep their
    conversation, and what was written meanwhile goes out once it is back."""
    alice, bob = meet(browser, static_deploy.site, "Restart Alice", "Restart Bob")
    wait_direct(alice, 1)
    say(alice, "before the restart")
    expect(bob.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)

    static_deploy.restart()  # killed, then up again on the same port
    say(alice, "written around the restart")
    for page in (alice, bob):
        expect(page.get_by_test_id("chat-message")).to_have_count(2, timeout=30_000)
        assert texts(page) == ["before the restart", "written around the restart"]
    expect(alice.get_by_test_id("chat-message").nth(1)).to_have_attribute("data-status", "delivered", timeout=30_000)
    say(bob, "and after it")
    expect(alice.get_by_test_id("chat-message")).to_have_count(3, timeout=15_000)
    bob.wait_for_timeout(1000)
    assert texts(bob) == ["before the restart", "written around the restart", "and after it"]  # nothing lost, nothing twice
    for page in (alice, bob):
        page.context.close()
