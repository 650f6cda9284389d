"""Which TURN URL the Python peer gives aiortc.

aiortc uses one TURN URL only, the first it is given, where a browser tries
them all. The server hands out several (`EPHEM_TURN_URLS`: UDP, TCP, TLS on
443), so on a network that blocks UDP, or lets only TCP to port 443 out, the
first would fail and the peer would have no relay at all. So before the
first connection the peer tries to allocate on each URL, all at once, and
keeps the first one, in the server's order, that worked (a blocked URL earlier
in the order is not waited for long once a later one works). It also asks
each STUN server for a binding, and leaves out those that stay silent: aiortc
waits 5 s for a STUN answer on every gathering, which behind a firewall that
drops UDP never comes.
"""

import asyncio
import logging
import socket

from aioice import stun
from aioice.turn import create_turn_endpoint
from aiortc.rtcicetransport import parse_stun_turn_uri

log = logging.getLogger("ephem.peer")

PROBE_TIMEOUT = 4.0  # seconds an allocation may take before that URL counts as blocked
PREFERENCE_GRACE = 0.5  # seconds an earlier (preferred) TURN URL gets once a later one works
STUN_PROBE_TIMEOUT = 1.5  # seconds a STUN server gets to answer a binding request (sent every STUN_RESEND)
STUN_RESEND = 0.25


async def allocates(url: str, username: str | None, credential: str | None, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether a TURN allocation on `url` succeeds from here (it is deleted again at once)."""
    try:
        parsed = parse_stun_turn_uri(url)
    except ValueError:
        return False
    if parsed["transport"] not in ("udp", "tcp") or (parsed["scheme"] == "turns" and parsed["transport"] != "tcp"):
        return False  # what aiortc would skip as well
    try:
        transport, _ = await asyncio.wait_for(
            create_turn_endpoint(
                asyncio.DatagramProtocol,
                (parsed["host"], parsed["port"]),
                username,
                credential,
                ssl=parsed["scheme"] == "turns",
                transport=parsed["transport"],
            ),
            timeout,
        )
    except Exception as error:  # noqa: BLE001 - any failure (refused, timed out, TLS, 401) means "not this one"
        log.info("TURN %s does not work from here: %r", url, error)
        return False
    transport.close()
    return True


async def answers_stun(url: str, timeout: float = STUN_PROBE_TIMEOUT) -> bool:
    """Whether the STUN server at `url` answers a binding request from here within `timeout`."""
    try:
        parsed = parse_stun_turn_uri(url)
    except ValueError:
        return False
    if parsed["scheme"] != "stun":
        return False
    loop = asyncio.get_running_loop()
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    answered = loop.create_future()

    class Probe(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            try:
                message = stun.parse_message(data)
            except ValueError:
                return
            if message.transaction_id == request.transaction_id and not answered.done():
                answered.set_result(True)

    transport = None
    try:
        async with asyncio.timeout(timeout):
            host = await loop.run_in_executor(None, socket.gethostbyname, parsed["host"])
            transport, _ = await loop.create_datagram_endpoint(Probe, remote_addr=(host, parsed["port"]))
            while not answered.done():  # UDP: say it again until it is heard, or time is up
                transport.sendto(bytes(request))
                await asyncio.wait([answered], timeout=STUN_RESEND)
    except (TimeoutError, OSError) as error:
        log.info("STUN %s does not answer from here: %r", url, error)
        return False
    finally:
        if transport is not None:
            transport.close()
    return True


async def first_allocating(urls: list[str], username: str | None, credential: str | None,
                           timeout: float = PROBE_TIMEOUT, grace: float = PREFERENCE_GRACE) -> str | None:
    """The first of `urls`, in the server's order, that allocates; all are tried at once.

    A URL later in the order that works is taken once every earlier one has
    failed, or `grace` seconds after it worked while earlier ones still say
    nothing (a blocked port never answers: waiting the full timeout for it
    is what made opening slow behind firewalls).
    """
    loop = asyncio.get_running_loop()
    probes = [asyncio.ensure_future(allocates(url, username, credential, timeout)) for url in urls]
    grace_ends = None
    try:
        while True:
            undecided = next((i for i, probe in enumerate(probes) if not probe.done() or probe.result()), None)
            if undecided is None:
                return None  # every one failed
            if probes[undecided].done():
                return urls[undecided]  # works, and every earlier one failed
            later = next((i for i in range(undecided + 1, len(probes)) if probes[i].done() and probes[i].result()), None)
            wait = None
            if later is not None:
                grace_ends = grace_ends or loop.time() + grace
                wait = grace_ends - loop.time()
                if wait <= 0:
                    log.info("TURN %s has not answered; taking %s, which works", urls[undecided], urls[later])
                    return urls[later]
            await asyncio.wait([probe for probe in probes if not probe.done()], timeout=wait,
                               return_when=asyncio.FIRST_COMPLETED)
    finally:
        for probe in probes:
            probe.cancel()


def _urls(server: dict) -> list[str]:
    urls = server.get("urls") or []
    return [urls] if isinstance(urls, str) else list(urls)


async def _usable(server: dict, timeout: float, stun_timeout: float) -> list[dict]:
    urls = _urls(server)
    turn = [url for url in urls if url.startswith(("turn:", "turns:"))]
    rest = [url for url in urls if url not in turn]
    stun_urls = [url for url in rest if url.startswith("stun:")]
    working, answers = await asyncio.gather(
        first_allocating(turn, server.get("username"), server.get("credential"), timeout) if turn else _none(),
        asyncio.gather(*(answers_stun(url, stun_timeout) for url in stun_urls)),
    )
    silent = {url for url, answer in zip(stun_urls, answers) if not answer}
    if silent:
        log.warning("STUN servers that do not answer from here, left out: %s", ", ".join(sorted(silent)))
    chosen = []
    if working is not None:
        chosen.append({**server, "urls": [working]})
    elif turn:
        log.warning("no TURN URL works from here: %s", ", ".join(turn))
    rest = [url for url in rest if url not in silent]
    if rest:
        chosen.append({**server, "urls": rest})
    return chosen


async def _none() -> None:
    return None


async def usable_ice_servers(servers: list[dict], timeout: float = PROBE_TIMEOUT,
                             stun_timeout: float = STUN_PROBE_TIMEOUT) -> list[dict]:
    """`servers` with each TURN entry narrowed to its first URL that allocates, and silent STUN left out.

    A TURN entry none of whose URLs works is dropped, and so is a STUN URL
    that does not answer a binding request: aiortc would otherwise wait for
    them on every connection (5 s per gathering), for nothing. Every server
    is probed at once, so this takes as long as the slowest answer, at most
    `timeout`.
    """
    found = await asyncio.gather(*(_usable(server, timeout, stun_timeout) for server in servers))
    return [entry for entries in found for entry in entries]
