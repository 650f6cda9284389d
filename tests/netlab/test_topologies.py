"""Two Python peers chat across the lab's networks, finding their path (direct or TURN) by themselves.

The backend offers STUN and three TURN URLs (UDP 3478, TCP 3478, TLS 443)
with short-lived credentials, as a deployment would; each test only changes
the network between the peers and checks which ICE pair they ended up on.
"""

from tests.netlab.lab import ONLY_TCP_443, SYMMETRIC_NAT

DIRECT = {"host", "srflx", "prflx"}


def texts(sender: str, count: int) -> list[str]:
    return [f"{sender} {i}" for i in range(count)]


def assert_chatted(a: dict, b: dict, count: int) -> None:
    """Each side got every message of the other exactly once, in order."""
    assert a["received"] == texts("B", count)
    assert b["received"] == texts("A", count)


def test_open_network_connects_directly(homes, chat):
    home_a, home_b = homes.open_home("home-a", 1), homes.open_home("home-b", 2)
    a, b = chat(home_a, home_b)
    assert_chatted(a, b, 20)
    for side in (a, b):
        assert {side["route"]["local"], side["route"]["remote"]} <= DIRECT, side["route"]


def test_symmetric_nat_on_both_sides_goes_through_turn_over_udp(homes, chat):
    home_a = homes.home_behind_router("home-a", 1, SYMMETRIC_NAT)
    home_b = homes.home_behind_router("home-b", 2, SYMMETRIC_NAT)
    a, b = chat(home_a, home_b)
    assert_chatted(a, b, 20)
    for side in (a, b):
        assert "relay" in (side["route"]["local"], side["route"]["remote"]), side["route"]
    relayed = [side["route"] for side in (a, b) if side["route"]["local"] == "relay"]
    # aioice may also nominate, on each side, its own NAT mapping to the other's
    # relay (a TURN permission is for an address, not a port): then neither side
    # is relayed locally, and both talk to the other's UDP allocation.
    assert relayed or all(side["route"]["remote"] == "relay" for side in (a, b)), (a["route"], b["route"])
    for route in relayed:
        assert route["turn"] == {"transport": "udp", "tls": False, "port": 3478}, route


def test_firewall_letting_only_tcp_443_out_goes_through_turn_over_tls(homes, chat):
    home_a = homes.home_behind_router("home-a", 1, ONLY_TCP_443)
    home_b = homes.open_home("home-b", 2)
    a, b = chat(home_a, home_b)
    assert_chatted(a, b, 20)
    assert a["route"]["local"] == "relay", a["route"]
    assert a["route"]["turn"] == {"transport": "tcp", "tls": True, "port": 443}, a["route"]


def test_latency_and_loss_every_message_arrives_once_in_order(homes, chat):
    home_a, home_b = homes.home_behind_router("home-a", 1), homes.home_behind_router("home-b", 2)
    # 75 ms and 1.5 % loss at each router, either way: peer to peer 150 ms and about 3 % loss each way.
    homes.slow_down(home_a, delay_ms=75, loss_percent=1.5)
    homes.slow_down(home_b, delay_ms=75, loss_percent=1.5)
    a, b = chat(home_a, home_b, count=100, timeout=90)
    assert_chatted(a, b, 100)
