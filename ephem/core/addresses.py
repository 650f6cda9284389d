"""Which address a request comes from, for per-address limits.

The sender's own address, unless the sender is a trusted proxy
(`EPHEM_TRUSTED_PROXIES`); then the right-most X-Forwarded-For entry that is
not itself a trusted proxy: the one a trusted proxy wrote. What the client put
to the left of it is not believed. REST routes and the Reflex sign-up form
both ask here, so one client has one bucket whichever way it signs up.
"""

import functools
import ipaddress
from collections.abc import Iterable


@functools.cache
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(sender: str, forwarded_for: Iterable[str], trusted_proxies: tuple[str, ...]) -> str:
    """`forwarded_for`: every X-Forwarded-For header's value, in order."""
    networks = _networks(trusted_proxies)
    if not networks or not _trusted(sender, networks):
        return sender
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else sender
