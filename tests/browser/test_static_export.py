"""Static deploy: the exported frontend on a plain file server, the backend on its own.

The export runs in a copy of the app (`tests/support/static_site.py`): it
rewrites the `.web` it builds from, and the prod backend empties `.states`
and writes `.web/backend/` when it starts; either would disturb the dev
server the `live` fixture runs from the repo in the same session.
"""

import asyncio
import hashlib
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
from tests.support.browser import english_before_persian, expect_texts, icons_answer, meet, quiet_console, say, sign_up, texts, wait_direct
from tests.support.live_app import ROOT, START_TIMEOUT, _wait, free_port, stop_process
from tests.support.pwa import check_installed_and_offline, check_manifest
from tests.support.static_site import export_site, static_server

pytestmark = pytest.mark.browser


@dataclass
class StaticDeploy:
    site: str  # the static file server
    backend: str  # `reflex run --env prod --backend-only`
    folder: Path  # what the file server serves
    export_seconds: float
    restart: Callable[[], None]  # kills the backend and starts it again on its port
    kill: Callable[[], None]  # kills the backend with SIGKILL, as a crash would
    start: Callable[[], None]  # starts it again on its port, returns once it answers
    start_if_down: Callable[[], None]  # starts it unless it is running


@pytest.fixture
def static_deploy(_static_site):
    """The module's deploy, its backend running: a test that failed while it was
    down must not fail the tests after it."""
    _static_site.start_if_down()
    return _static_site


@pytest.fixture(scope="module")
def _static_site(tmp_path_factory):
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

    def kill() -> None:
        os.killpg(proc.pid, signal.SIGKILL)  # as a crash would: nothing said to anyone
        proc.wait(10)

    def restart() -> None:
        kill()
        start()

    def start_if_down() -> None:
        if proc.poll() is not None:
            start()

    try:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        start()
        print(f"static export took {export_seconds:.1f}s")
        yield StaticDeploy(site, backend, folder, export_seconds, restart, kill, start, start_if_down)
    finally:
        stop_process(proc)
        server.shutdown()
        server.server_close()


def test_the_export_is_plain_files_that_know_the_backend(static_deploy):
    folder = static_deploy.folder
    assert (folder / "index.html").is_file() and (folder / "404.html").is_file()
    baked = [p.name for p in (folder / "assets").glob("*.js") if static_deploy.backend.encode() in p.read_bytes()]
    assert baked, f"{static_deploy.backend} is nowhere in the bundle"


def test_the_static_site_is_installable_and_opens_offline(static_deploy, browser):
    for name in ("manifest.webmanifest", "sw.js", "offline.html", "icons/icon-192.png", "icons/icon-512.png"):
        assert (static_deploy.folder / name).is_file(), name
    check_manifest(static_deploy.site)
    check_installed_and_offline(browser, static_deploy.site)


def test_the_static_site_logs_nothing_wrong_and_misses_no_file(static_deploy, browser):
    page = browser.new_context().new_page()
    noise = quiet_console(page)
    sign_up(page, static_deploy.site, "Quiet Static")
    expect(page.get_by_text("connected", exact=True)).to_be_visible(timeout=20_000)
    page.reload()
    expect(page.get_by_test_id("search-button")).to_be_visible(timeout=20_000)
    page.goto(static_deploy.site)
    expect(page.get_by_test_id("search-button")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(1000)  # anything late
    assert noise == []
    icons_answer(page, static_deploy.site)
    page.context.close()


def test_the_minified_bundle_solves_proofs_in_its_worker(static_deploy, browser):
    """The proof-of-work worker is built from its functions' source: renamed by the minifier, it still runs."""
    page = browser.new_context().new_page()
    page.goto(static_deploy.site)
    expect(page.get_by_test_id("login-name")).to_be_visible(timeout=20_000)
    challenge = {"id": "0123456789abcdef0123456789abcdef", "difficulty": 12}
    nonce = page.evaluate("(c) => window.ephemSolve(c)", challenge)
    digest = hashlib.sha256(f"{challenge['id']}:{nonce}".encode()).digest()
    assert int.from_bytes(digest, "big") >> (256 - 12) == 0, nonce
    page.context.close()


def test_the_prerendered_english_is_never_shown_to_a_persian_reader(static_deploy, browser):
    """The export's HTML is English; React hydrates it as it is (no mismatch:
    nothing in the console) and redraws it in Persian before it is shown."""
    seen, noise = english_before_persian(browser, static_deploy.site)
    assert seen == [], f"English before Persian: {seen}"
    assert noise == []


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

    bob.get_by_test_id("chat-input").fill("a draft kept")
    static_deploy.restart()  # killed, then up again on the same port
    say(alice, "written around the restart")
    # The page redraws the room once its Reflex state is back: the unsent text stays.
    expect(bob.get_by_test_id("chat-panel")).to_have_attribute("data-server", "joined", timeout=30_000)
    expect(bob.get_by_test_id("chat-input")).to_have_value("a draft kept")
    bob.get_by_test_id("chat-input").fill("")
    for page in (alice, bob):
        expect_texts(page, ["before the restart", "written around the restart"], timeout=30_000)
    expect(alice.get_by_test_id("chat-message").nth(1)).to_have_attribute("data-status", "delivered", timeout=30_000)
    say(bob, "and after it")
    expect(alice.get_by_test_id("chat-message")).to_have_count(3, timeout=15_000)
    bob.wait_for_timeout(1000)
    expect_texts(bob, ["before the restart", "written around the restart", "and after it"])  # nothing lost, nothing twice
    for page in (alice, bob):
        page.context.close()


OUTAGE_SECONDS = 30  # issue 14: the backend stays down this long
BACK_SECONDS = 5  # and the pages are back this soon after it answers again


def wait_until(page, moment: float) -> None:
    """Let the page run until `time.monotonic()` reaches `moment`: Playwright's
    timer can end a few microseconds early."""
    while (left := moment - time.monotonic()) > 0:
        page.wait_for_timeout(left * 1000 + 1)


def peer_connections(page) -> int:
    """RTCPeerConnections the page has made so far (chat_panel.js `data-peer-connections`)."""
    return int(page.get_by_test_id("chat-panel").get_attribute("data-peer-connections"))


def expect_back(pages, deadline: float) -> None:
    """Each page in the room again on its new connection, every member online, the link direct."""
    left = lambda: max(1, (deadline - time.monotonic()) * 1000)  # noqa: E731
    for page in pages:
        expect(page.get_by_test_id("chat-panel")).to_have_attribute("data-server", "joined", timeout=left())
        expect(page.get_by_test_id("server-status")).to_have_count(0, timeout=left())
        members = page.get_by_test_id("enclave-member")
        expect(members.and_(page.locator("[data-online=true]"))).to_have_count(members.count(), timeout=left())
        expect(page.get_by_test_id("peer-state").filter(has_text="direct")).to_have_count(1, timeout=left())


def test_chat_goes_on_while_the_backend_is_down(static_deploy, browser):
    """Issue 14: SIGKILL the backend, keep it down 30 s, start it again. Messages
    written meanwhile go over the open DataChannels; afterwards both pages are
    back within 5 s, on the links they had (no RTCPeerConnection made), with
    every member online, and every message arrived once, in order."""
    alice, bob = meet(browser, static_deploy.site, "Outage Alice", "Outage Bob")
    for page in (alice, bob):
        wait_direct(page, 1)
    say(alice, "before the outage")
    expect(bob.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)
    made = [peer_connections(page) for page in (alice, bob)]
    assert made == [1, 1]

    static_deploy.kill()
    down = time.monotonic()
    for page in (alice, bob):
        status = page.get_by_test_id("server-status")
        expect(status).to_contain_text("unreachable", timeout=15_000)
        expect(status).to_contain_text("Chat goes on")
    say(alice, "while the server is down")
    expect(bob.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)
    say(bob, "still here")
    for page in (alice, bob):
        expect(page.get_by_test_id("chat-message")).to_have_count(3, timeout=10_000)
        expect(page.locator("[data-testid=chat-message][data-mine=true]").last).to_have_attribute(
            "data-status", "delivered", timeout=10_000
        )
    wait_until(page, down + OUTAGE_SECONDS - 5)
    say(bob, "late in the outage")
    expect(alice.get_by_test_id("chat-message")).to_have_count(4, timeout=10_000)
    expect(bob.get_by_test_id("chat-message").last).to_have_attribute("data-status", "delivered", timeout=10_000)
    wait_until(page, down + OUTAGE_SECONDS)
    assert time.monotonic() - down >= OUTAGE_SECONDS
    for page in (alice, bob):
        expect(page.get_by_test_id("server-status")).to_be_visible()  # the pages saw the whole outage

    static_deploy.start()  # returns once the backend answers
    expect_back((alice, bob), time.monotonic() + BACK_SECONDS)
    assert [peer_connections(page) for page in (alice, bob)] == made  # the links were kept, not rebuilt

    say(alice, "after the restart")
    expect(bob.get_by_test_id("chat-message")).to_have_count(5, timeout=10_000)
    expect(alice.get_by_test_id("chat-message").last).to_have_attribute("data-status", "delivered", timeout=10_000)
    bob.wait_for_timeout(1000)
    expected = ["before the outage", "while the server is down", "still here", "late in the outage", "after the restart"]
    for page in (alice, bob):
        expect_texts(page, expected)  # each once, in order
    assert [peer_connections(page) for page in (alice, bob)] == made
    for page in (alice, bob):
        page.context.close()


def test_a_browser_and_a_python_peer_chat_through_the_outage(static_deploy, browser):
    """Issue 14 with the Python peer (aiortc) on the other end of the link."""
    from tests.support.peer_thread import PeerThread, meet_python_peer, next_message

    worker = PeerThread()
    page = browser.new_context().new_page()
    peer = None
    try:
        site, backend = static_deploy.site, static_deploy.backend
        peer = meet_python_peer(worker, page, site, backend, ("Outage Browser", "Outage Py"))
        say(page, "before the outage")
        assert worker.run(next_message(peer)).text == "before the outage"
        made = peer_connections(page)
        [link] = peer.links.values()
        pc, old_peer_id, old_browser = link.pc, peer.peer_id, link.peer_id

        async def say_and_wait(text):
            message = await peer.send(text)
            await peer.wait_status(message, "delivered", timeout=20)

        static_deploy.kill()
        down = time.monotonic()
        expect(page.get_by_test_id("server-status")).to_contain_text("unreachable", timeout=15_000)
        say(page, "while the server is down")
        assert worker.run(next_message(peer)).text == "while the server is down"
        expect(page.get_by_test_id("chat-message").last).to_have_attribute("data-status", "delivered", timeout=10_000)
        worker.run(say_and_wait("python still here"))
        expect(page.get_by_test_id("chat-message")).to_have_count(3, timeout=10_000)
        wait_until(page, down + OUTAGE_SECONDS)
        assert not peer.in_room  # it saw the outage too

        static_deploy.start()
        deadline = time.monotonic() + BACK_SECONDS
        expect_back([page], deadline)

        async def rekeyed():  # on the peer's loop: its state is changed there
            while not (peer.in_room and link.peer_id != old_browser and set(peer.links) == {link.peer_id}):
                await asyncio.sleep(0.05)

        worker.run(rekeyed(), timeout=max(0.1, deadline - time.monotonic()))
        assert peer.peer_id != old_peer_id and list(peer.links.values()) == [link] and link.pc is pc
        assert not link.stale
        assert peer_connections(page) == made  # neither side rebuilt the link

        worker.run(say_and_wait("python after the restart"))
        say(page, "browser after the restart")
        assert worker.run(next_message(peer)).text == "browser after the restart"
        expect(page.get_by_test_id("chat-message")).to_have_count(5, timeout=10_000)
        page.wait_for_timeout(500)
        expect_texts(page, [
            "before the outage",
            "while the server is down",
            "python still here",
            "python after the restart",
            "browser after the restart",
        ])
        assert peer._incoming.empty()  # nothing twice
    finally:
        if peer is not None:
            worker.run(peer.close())
        page.context.close()
        worker.stop()
