"""Several backend processes on one Redis behave as one service.

Two `reflex run --env prod --backend-only` processes (each with its own
forked workers) share a private redis-server started for these tests.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ephem.core.migrations import upgrade
from ephem.peer import EphemPeer
from tests.support.hubserver import Client
from tests.support.live_app import ROOT, free_port

LEASE = 2  # seconds: a killed backend's connections lapse quickly here


class RedisServer:
    def __init__(self, tmp: Path):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Backend:
    def __init__(self, tmp: Path, name: str, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only", "--backend-port", str(self.port)],
                cwd=ROOT, env={**env, "REFLEX_STATES_WORKDIR": str(tmp / f"{name}-states")}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def wait(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"backend did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("workers")
    redis = RedisServer(tmp)
    if redis.binary is None:
        pytest.skip("redis-server is not installed, so a private Redis cannot be started")
    redis.start()
    db_url = f"sqlite:///{tmp / 'shared.db'}"
    upgrade(db_url)
    env = {
        **os.environ,
        "REFLEX_DB_URL": db_url,
        "REFLEX_REDIS_URL": redis.url,
        "EPHEM_SECRET": "workers-test-secret-0123456789abcdef",
        "EPHEM_PRESENCE_LEASE_SECONDS": str(LEASE),
        "EPHEM_SIGNUP_BURST": "1000",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
    }
    backends = [Backend(tmp, name, env) for name in ("one", "two")]
    try:
        for backend in backends:
            backend.wait()
        yield redis, backends
    finally:
        for backend in backends:
            backend.kill()
        redis.stop()


async def sign_up(url: str, name: str) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.post("/api/accounts", json={"name": name})
        assert answer.status_code == 201, answer.text
        return answer.json()["session_token"]


async def connected(url: str, name: str) -> Client:
    client = Client()
    await client.connect(url, await sign_up(url, name))
    return client


async def eventually(check, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_searchers_on_different_backends_meet_and_signal(cluster):
    _, (one, two) = cluster
    a, b = await connected(one.url, "On one"), await connected(two.url, "On two")
    try:
        await a.call("search", {})
        await b.call("search", {})
        ma, mb = await a.next("matched"), await b.next("matched")
        assert ma["enclave_id"] == mb["enclave_id"]
        assert (ma["peer"]["name"], mb["peer"]["name"]) == ("On two", "On one")
        enclave = ma["enclave_id"]
        assert (await a.call("join", {"enclave_id": enclave}))["ok"]
        joined = await b.call("join", {"enclave_id": enclave})
        assert [p["peer_id"] for p in joined["peers"]] == [a.peer_id]  # presence is shared
        assert (await a.next("peer_joined"))["peer"]["peer_id"] == b.peer_id  # room events cross over
        offer = {"type": "offer", "sdp": "v=0\r\n"}
        ack = await b.call("signal", {"enclave_id": enclave, "to": a.peer_id, "kind": "offer", "data": offer})
        assert ack == {"ok": True}
        assert (await a.next("signal"))["data"] == offer
        async with httpx.AsyncClient() as http:
            stats = (await http.get(f"{one.url}/api/stats")).json()
        assert stats["online"] >= 2
    finally:
        await a.close()
        await b.close()


async def test_many_searchers_across_backends_are_matched_exactly_once(cluster):
    _, (one, two) = cluster
    clients = await asyncio.gather(*(connected((one, two)[i % 2].url, f"m{i}") for i in range(40)))
    try:
        await asyncio.gather(*(c.call("search", {}) for c in clients))
        matches = await asyncio.gather(*(c.next("matched", timeout=20) for c in clients))
        pairs: dict[str, set[str]] = {}
        for client, match in zip(clients, matches):
            pairs.setdefault(match["enclave_id"], set()).add(client.account["id"])
        assert len(pairs) == 20 and all(len(members) == 2 for members in pairs.values())
        await asyncio.sleep(0.5)
        assert sum(c.pending("matched") for c in clients) == 0
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def _searching(url: str, count: int) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{url}/api/stats")).json()["searching"] == count
    except (httpx.HTTPError, ValueError, KeyError):
        return False


@pytest.mark.parametrize("how", ["sign_out", "delete"])
async def test_a_session_revoked_on_one_backend_is_refused_at_once_by_the_other(cluster, how):
    """Connects cache sessions for seconds; a sign-out or deletion made on one
    backend reaches the other's cache through Redis before the next connect."""
    from tests.signaling.test_connect_cost import refusal

    _, (one, two) = cluster
    token = await sign_up(one.url, "Cached elsewhere")
    for _ in range(6):  # every worker of `two` likely has it cached now
        client = Client()
        await client.connect(two.url, token)
        await client.close()
    async with httpx.AsyncClient(base_url=one.url, headers={"Authorization": f"Bearer {token}"}) as http:
        answer = await (http.delete("/api/session") if how == "sign_out" else http.delete("/api/me"))
        assert answer.status_code == 204, answer.text
    for _ in range(3):
        refused = await refusal(two.url, token)
        assert refused["code"] == "invalid_token", refused


def test_the_production_server_takes_websockets_without_compression(cluster):
    """Browsers ask for permessage-deflate; its zlib state per connection would
    cost more memory than all the rest a connection holds (gunicorn.conf.py)."""
    import socket
    from urllib.parse import urlparse

    _, (one, _two) = cluster
    where = urlparse(one.url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as raw:
        raw.sendall(
            b"GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\n"
            b"Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = raw.recv(4096)
            assert chunk, head
            head += chunk
    status, *headers = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert " 101 " in status, status
    assert not [h for h in headers if h.lower().startswith("sec-websocket-extensions")], headers


# The tests above need both backends alive; a test below kills one.


async def test_after_redis_restarts_empty_only_live_searchers_go_back(cluster):
    redis, (one, two) = cluster
    matched_a = await connected(one.url, "Matched on one")
    matched_b = await connected(two.url, "Matched on two")
    searcher = await connected(one.url, "Searcher")
    try:
        await matched_a.call("search", {})
        await matched_b.call("search", {})  # backend two pairs backend one's searcher
        first = await matched_a.next("matched")
        assert (await matched_b.next("matched"))["enclave_id"] == first["enclave_id"]
        await searcher.call("search", {})
        # At once: backend one may not have renewed since the match, so only
        # the matching backend still knows its searcher was matched.
        redis.stop()
        redis.start()  # empty: Redis here keeps nothing on disk
        assert await eventually(lambda: _searching(one.url, 1), timeout=20)
        await asyncio.sleep(3)  # Socket.IO's pub/sub listeners resubscribe
        partner = await connected(two.url, "Partner")
        try:
            await partner.call("search", {})
            got, theirs = await searcher.next("matched", timeout=20), await partner.next("matched", timeout=20)
            assert got["enclave_id"] == theirs["enclave_id"]
            assert got["peer"]["name"] == "Partner"
            await asyncio.sleep(LEASE + 1)  # a wrongly restored searcher would be matched by now
            assert matched_a.pending("matched") == matched_b.pending("matched") == 0
            assert await _searching(one.url, 0)
        finally:
            await partner.close()
    finally:
        await asyncio.gather(matched_a.close(), matched_b.close(), searcher.close())


def _is_unavailable(answer) -> bool:
    return answer == {"ok": False, "error": {"code": "unavailable", "message": answer["error"]["message"]}}


async def test_a_redis_outage_is_answered_unavailable_and_passes(cluster):
    redis, (one, two) = cluster
    a, b = await connected(one.url, "Outage A"), await connected(two.url, "Outage B")
    await a.call("search", {})
    await b.call("search", {})
    enclave = (await a.next("matched"))["enclave_id"]
    await b.next("matched")
    logs = {backend: backend.log.stat().st_size for backend in (one, two)}
    headers = {"Authorization": f"Bearer {a.token}"}
    try:
        redis.stop()
        try:
            answers = []
            async with httpx.AsyncClient(timeout=20) as http:
                # Seconds of outage, but fewer searches than an account's search
                # budget: past it the answer would rightly be `proof_required`.
                deadline, rounds = time.monotonic() + 4, 0
                while time.monotonic() < deadline and rounds < 8:
                    rounds += 1
                    for backend in (one, two):
                        signup = await http.post(f"{backend.url}/api/accounts", json={"name": "During"})
                        assert signup.status_code == 503 and _is_unavailable(signup.json()), signup.text
                        stats = await http.get(f"{backend.url}/api/stats")
                        assert stats.status_code == 503 and _is_unavailable(stats.json()), stats.text
                        # Reads from the database degrade: everyone shows offline.
                        view = await http.get(f"{backend.url}/api/enclaves/{enclave}", headers=headers)
                        assert view.status_code == 200, view.text
                        assert [m["online"] for m in view.json()["members"]] == [False, False]
                        listed = await http.get(f"{backend.url}/api/enclaves", headers=headers)
                        assert listed.status_code == 200 and [e["id"] for e in listed.json()] == [enclave]
                    for client in (a, b):
                        answers.append(await client.call("search", {}, timeout=20))
                        answers.append(await client.call("join", {"enclave_id": enclave}, timeout=20))
            assert answers and all(_is_unavailable(answer) for answer in answers), answers
        finally:
            redis.start()

        async def signed_up():
            async with httpx.AsyncClient() as http:
                return (await http.post(f"{two.url}/api/accounts", json={"name": "After"})).status_code == 201

        assert await eventually(signed_up, timeout=20)
        # Both connections were put back: they search and meet again.
        assert await eventually(lambda: _searching(one.url, 0), timeout=20)
        await asyncio.sleep(3)  # Socket.IO's pub/sub listeners resubscribe
        assert (await a.call("search", {}))["ok"]
        assert (await b.call("search", {}))["ok"]
        assert (await a.next("matched", timeout=20))["enclave_id"] == (await b.next("matched", timeout=20))["enclave_id"]
    finally:
        await a.close()
        await b.close()
    for backend, start in logs.items():
        with backend.log.open("rb") as log:
            log.seek(start)
            written = log.read().decode(errors="replace")
        assert "Traceback" not in written, written[-4000:]
        assert "Redis is out of reach" in written


async def test_a_killed_backend_s_users_carry_on_through_the_other(cluster):
    _, (one, two) = cluster
    alice = await EphemPeer.sign_up(one.url, "Alice")
    bob = await EphemPeer.sign_up(two.url, "Bob")
    await alice.connect()
    await bob.connect()
    try:
        searching = asyncio.ensure_future(alice.search(timeout=20))
        await asyncio.sleep(0.2)
        await bob.search(timeout=20)
        await searching
        first = await bob.send("before the crash")
        assert (await asyncio.wait_for(anext(alice.messages()), 20)).text == "before the crash"
        await bob.wait_status(first, "delivered")
        old_peer = bob.peer_id

        two.kill()
        # Bob's client reconnects, as a load balancer would send it, to the live backend.
        await bob.close()
        bob_again = EphemPeer(one.url, bob.session_token)
        await bob_again.connect()
        await bob_again.enter(alice.enclave_id)
        message = await bob_again.send("after the crash")
        assert (await asyncio.wait_for(anext(alice.messages()), 20)).text == "after the crash"
        await bob_again.wait_status(message, "delivered", timeout=20)
        reply = await alice.send("welcome back")
        assert (await asyncio.wait_for(anext(bob_again.messages()), 20)).text == "welcome back"
        await alice.wait_status(reply, "delivered", timeout=20)

        # The dead backend's connection lapses and the room hears it left.
        async def old_peer_gone():
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {alice.session_token}"}) as http:
                view = (await http.get(f"{one.url}/api/enclaves/{alice.enclave_id}")).json()
            return all(m["online"] for m in view["members"]) and old_peer not in alice.links

        assert await eventually(old_peer_gone, timeout=LEASE * 6)
        await bob_again.close()
    finally:
        await alice.close()


async def test_matchmaking_resumes_after_redis_restarts(cluster):
    # Last: the previous test killed backend two; backend one's own forked
    # workers still share everything through Redis.
    redis, (one, _) = cluster
    a, b = await connected(one.url, "Before"), await connected(one.url, "Restart")
    try:
        await a.call("search", {})
        await asyncio.sleep(0.3)
        redis.stop()
        redis.start()  # empty: Redis here keeps nothing on disk
        # The waiting searcher is put back by its backend; a new one meets it.
        assert await eventually(lambda: _searching(one.url, 1), timeout=20)
        # Socket.IO's pub/sub listeners resubscribe about a second after Redis is back.
        await asyncio.sleep(3)
        await b.call("search", {})
        ma, mb = await a.next("matched", timeout=20), await b.next("matched", timeout=20)
        assert ma["enclave_id"] == mb["enclave_id"]
        # Both connections were put back into presence too: they can signal.
        enclave = ma["enclave_id"]
        await a.call("join", {"enclave_id": enclave})
        joined = await b.call("join", {"enclave_id": enclave})
        assert [p["peer_id"] for p in joined["peers"]] == [a.peer_id]
    finally:
        await a.close()
        await b.close()

