"""Which TURN URL the Python peer gives aiortc.

aiortc uses one TURN URL only, the first it is given, where a browser tries
them all. The server hands out several (`EPHEM_TURN_URLS`: UDP, TCP, TLS on
443), so on a network that blocks UDP, or lets only TCP to port 443 out, the
first would fail and the peer would have no relay at all. So before the
first connection the peer tries to allocate on each URL, all at once, and
keeps the first one, in the server's order, that worked.
"""

import asyncio
import logging

from aioice.turn import create_turn_endpoint
from aiortc.rtcicetransport import parse_stun_turn_uri

log = logging.getLogger("ephem.peer")

PROBE_TIMEOUT = 4.0  # seconds an allocation may take before that URL counts as blocked


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


def _urls(server: dict) -> list[str]:
    urls = server.get("urls") or []
    return [urls] if isinstance(urls, str) else list(urls)


async def usable_ice_servers(servers: list[dict], timeout: float = PROBE_TIMEOUT) -> list[dict]:
    """`servers` with each TURN entry narrowed to its first URL that allocates.

    A TURN entry none of whose URLs works is dropped (aiortc would otherwise
    wait for it on every connection, for nothing). STUN entries stay as they are.
    """
    chosen = []
    for server in servers:
        urls = _urls(server)
        turn = [url for url in urls if url.startswith(("turn:", "turns:"))]
        if not turn:
            chosen.append(server)
            continue
        probes = [
            asyncio.ensure_future(allocates(url, server.get("username"), server.get("credential"), timeout))
            for url in turn
        ]
        try:
            working = None
            for url, probe in zip(turn, probes):
                if await probe:
                    working = url
                    break
        finally:
            for probe in probes:
                probe.cancel()
        if working is not None:
            chosen.append({**server, "urls": [working]})
        else:
            log.warning("no TURN URL works from here: %s", ", ".join(turn))
        rest = [url for url in urls if url not in turn]
        if rest:
            chosen.append({**server, "urls": rest})
    return chosen
