"""The lab's networks behave as the topology tests assume: NAT mapping, filtering, firewall, delay."""

import json
import subprocess
import sys

from tests.netlab.lab import ONLY_TCP_443, SYMMETRIC_NAT

# Answers each UDP datagram on any of its ports with the address it came from.
REFLECTOR = """
import json, selectors, socket, sys
sel = selectors.DefaultSelector()
for port in sys.argv[2:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(port)))
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        data, source = key.fileobj.recvfrom(2048)
        if data == b"where":
            key.fileobj.sendto(json.dumps(source).encode(), source)
        else:  # b"poke PORT": write from another port to the address asked about
            host, port = data.decode().split()[1:]
            for other in sel.get_map().values():
                if other.fileobj is not key.fileobj:
                    other.fileobj.sendto(b"unsolicited", (host, int(port)))
"""

# From one socket: where each reflector port sees us, then whether anything unsolicited gets in.
PROBE = """
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
seen = []
for port in sys.argv[2:]:
    s.sendto(b"where", (sys.argv[1], int(port))); seen.append(json.loads(s.recv(2048)))
s.sendto(f"poke {seen[0][0]} {seen[0][1]}".encode(), (sys.argv[1], int(sys.argv[2])))
try:
    got = s.recv(2048).decode()
except socket.timeout:
    got = None
print(json.dumps({"seen": seen, "unsolicited": got}))
"""


def reflector(internet, homes):
    proc = homes.popen(internet.public, [sys.executable, "-c", REFLECTOR, internet.turn, "5001", "5002"],
                       stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"


def probe(home, internet) -> dict:
    return json.loads(home.ns.run(sys.executable, "-c", PROBE, internet.turn, "5001", "5002"))


def test_symmetric_nat_maps_each_destination_to_its_own_port_and_drops_the_unsolicited(internet, homes):
    reflector(internet, homes)
    home = homes.home_behind_router("home-a", 1, SYMMETRIC_NAT)
    result = probe(home, internet)
    (first_host, first_port), (second_host, second_port) = result["seen"]
    assert first_host == second_host == "100.64.1.2"  # the router's address, not the LAN's
    assert first_port != second_port
    assert result["unsolicited"] is None


def test_an_open_home_is_seen_as_itself_and_reachable(internet, homes):
    reflector(internet, homes)
    home = homes.open_home("home-a", 1)
    result = probe(home, internet)
    assert [tuple(seen)[0] for seen in result["seen"]] == ["100.64.1.2", "100.64.1.2"]
    assert result["unsolicited"] == "unsolicited"


def test_the_firewall_lets_only_tcp_443_out(internet, homes):
    home = homes.home_behind_router("home-a", 1, ONLY_TCP_443)
    check = "import socket, sys\ntry:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1); print('open')\nexcept OSError: print('blocked')"
    assert home.ns.run(sys.executable, "-c", check, internet.turn, "443").strip() == "open"
    assert home.ns.run(sys.executable, "-c", check, internet.turn, "3478").strip() == "blocked"
    udp = "import socket, sys\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)\ns.sendto(b'where', (sys.argv[1], 5001))\ntry: s.recv(2048); print('open')\nexcept OSError: print('blocked')"
    reflector(internet, homes)
    assert home.ns.run(sys.executable, "-c", udp, internet.turn).strip() == "blocked"


def test_the_delay_line_delays_each_way(internet, homes):
    home = homes.home_behind_router("home-a", 1)
    homes.slow_down(home, delay_ms=100, loss_percent=0)
    connect = "import socket, sys, time\nt = time.monotonic(); socket.create_connection((sys.argv[1], 443), timeout=5); print(time.monotonic() - t)"
    seconds = float(home.ns.run(sys.executable, "-c", connect, internet.turn))
    assert 0.2 <= seconds < 0.4, seconds  # SYN out and SYN-ACK back: 100 ms each
