"""The Python peer keeps the first TURN URL that allocates (aiortc uses only one), against a real coturn."""

import shutil
import time
import subprocess

import pytest

from ephem.core.ice import ice_servers_for
from ephem.peer.turn import usable_ice_servers
from tests.support import coturn
from tests.support.live_app import free_port

SECRET = "turn-test-secret-0123456789"


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    """coturn on 127.0.0.1: TCP and UDP on one port, TLS on another; nothing listens on `closed`."""
    if shutil.which("turnserver") is None or shutil.which("openssl") is None:
        pytest.skip("coturn (turnserver) or openssl is not installed: `make netlab-tools` installs them")
    tmp = tmp_path_factory.mktemp("coturn")
    port, tls_port, closed = free_port(), free_port(), free_port()
    cert, key = coturn.self_signed_cert(tmp, "127.0.0.1")
    conf = coturn.config(tmp, secret=SECRET, address="127.0.0.1", port=port, tls_port=tls_port,
                         allowed_peers="127.0.0.1", cert=cert, key=key, extra=("allow-loopback-peers", "cli-password=unused"))
    log = tmp / "turnserver.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(coturn.argv(conf), stdout=out, stderr=subprocess.STDOUT)
    try:
        coturn.wait_ready(proc, log, lambda: coturn.tcp_open("127.0.0.1", port) and coturn.tcp_open("127.0.0.1", tls_port),
                          "turnserver")
        yield {"port": port, "tls_port": tls_port, "closed": closed, "cert": cert}
    finally:
        proc.terminate()
        proc.wait(10)


def offered(settings, *urls, secret=SECRET):
    return ice_servers_for(settings.model_copy(update={"turn_urls": urls, "turn_secret": secret}), "account-1")


async def test_the_first_url_that_allocates_is_kept(settings, turn):
    udp, tcp = f"turn:127.0.0.1:{turn['port']}?transport=udp", f"turn:127.0.0.1:{turn['port']}?transport=tcp"
    [server] = await usable_ice_servers(offered(settings, udp, tcp))
    assert server["urls"] == [udp]
    assert server["username"].endswith(":account-1") and server["credential"]


async def test_a_url_that_does_not_answer_is_passed_over(settings, turn):
    dead = f"turn:127.0.0.1:{turn['closed']}?transport=tcp"
    tcp = f"turn:127.0.0.1:{turn['port']}?transport=tcp"
    [server] = await usable_ice_servers(offered(settings, dead, tcp), timeout=2)
    assert server["urls"] == [tcp]


async def test_turns_needs_a_certificate_the_peer_trusts(settings, turn, monkeypatch):
    tls = f"turns:127.0.0.1:{turn['tls_port']}?transport=tcp"
    assert await usable_ice_servers(offered(settings, tls), timeout=3) == []  # self-signed, not trusted
    monkeypatch.setenv("SSL_CERT_FILE", str(turn["cert"]))
    [server] = await usable_ice_servers(offered(settings, tls), timeout=3)
    assert server["urls"] == [tls]


async def test_wrong_credentials_drop_turn_but_keep_stun(settings, turn):
    stun = {"urls": [f"stun:127.0.0.1:{turn['port']}"]}
    servers = [stun, *offered(settings, f"turn:127.0.0.1:{turn['port']}?transport=udp", secret="not-the-secret")]
    assert await usable_ice_servers(servers, timeout=3) == [stun]


async def test_a_stun_server_that_does_not_answer_is_left_out_quickly(settings, turn):
    # aiortc would wait 5 s for it on every gathering.
    silent = {"urls": [f"stun:127.0.0.1:{turn['closed']}"]}
    stun = {"urls": [f"stun:127.0.0.1:{turn['port']}"]}
    started = time.monotonic()
    assert await usable_ice_servers([silent, stun], timeout=4) == [stun]
    assert time.monotonic() - started < 3


async def test_a_preferred_url_that_says_nothing_is_not_waited_for_once_a_later_one_works(settings, turn):
    silent = f"turn:127.0.0.1:{turn['closed']}?transport=udp"  # nothing there: no answer ever comes
    tcp = f"turn:127.0.0.1:{turn['port']}?transport=tcp"
    started = time.monotonic()
    [server] = await usable_ice_servers(offered(settings, silent, tcp), timeout=4)
    assert server["urls"] == [tcp]
    assert time.monotonic() - started < 2.5  # the grace, not the 4 s timeout
