"""Small networks made of Linux network namespaces, for testing ephem on real network paths.

A `Lab` owns every namespace it makes (all named `ephlab-<pid>-<tag>-<name>`,
the pid being the process that made the lab) and
every process it starts in them, and removes them all in `close()`. Nothing
in a lab is routed to the host: namespaces reach only each other.

The lab's "internet" is a `core` namespace routing between /24 networks in
100.64.0.0/16; the `public` namespace (100.64.0.10 and .11) holds coturn and
the backend. A home either sits on the internet itself (`open_home`) or on
its own LAN 10.77.N.0/24 behind a `router` namespace that does NAT and
filtering with nftables (`home_behind_router`). A delay line
(`delayline.py`, a TUN device in the router) adds latency and loss, since
this kernel has no `tc netem`.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PREFIX = "ephlab-"
ROOT = Path(__file__).resolve().parents[2]
CORE_NET = "100.64"  # the lab's public internet
LAN_NET = "10.77"  # home LANs, never reachable from the core


def missing_requirements() -> str:
    """Why a lab cannot be built here, or "" when it can."""
    if os.geteuid() != 0:
        return "the network lab needs root (network namespaces, nftables)"
    for tool in ("ip", "nft", "turnserver", "openssl"):
        if shutil.which(tool) is None:
            return f"the network lab needs `{tool}` (make netlab-tools installs nftables and coturn)"
    probe = f"{PREFIX}probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` does not work here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ""


def run(*argv: str, input: str | None = None) -> str:
    done = subprocess.run(argv, input=input, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class Namespace:
    name: str

    def run(self, *argv: str, input: str | None = None) -> str:
        return run("ip", "netns", "exec", self.name, *argv, input=input)

    def argv(self, *argv: str) -> list[str]:
        """A command line that runs `argv` inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]


@dataclass(frozen=True)
class Home:
    """Where a peer runs: its namespace, and its router when it has one."""

    ns: Namespace
    address: str
    router: Namespace | None = None


class Lab:
    def __init__(self, tag: str | None = None):
        self.tag = f"{os.getpid()}-{tag or secrets.token_hex(3)}"
        self.namespaces: list[Namespace] = []
        self.processes: list[subprocess.Popen] = []
        self.wires: list[tuple[Namespace, str, Namespace]] = []
        self.core = self.namespace("core")
        self.core.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

    # --- building blocks ----------------------------------------------------------

    def namespace(self, name: str) -> Namespace:
        ns = Namespace(f"{PREFIX}{self.tag}-{name}")
        run("ip", "netns", "add", ns.name)
        self.namespaces.append(ns)
        # IPv4 only: an IPv6 link-local address finishing duplicate-address
        # detection a second after a link comes up is an address change, and
        # Chromium aborts whatever it is loading (net::ERR_NETWORK_CHANGED).
        ns.run("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        ns.run("ip", "link", "set", "lo", "up")
        return ns

    def wire(self, a: Namespace, a_if: str, a_cidr: str, b: Namespace, b_if: str, b_cidr: str) -> None:
        """A veth pair made directly inside the two namespaces (no name ever appears on the host)."""
        run("ip", "link", "add", a_if, "netns", a.name, "type", "veth", "peer", "name", b_if, "netns", b.name)
        self.wires.append((a, a_if, b))
        for ns, ifname, cidr in ((a, a_if, a_cidr), (b, b_if, b_cidr)):
            ns.run("ip", "addr", "add", cidr, "dev", ifname)
            ns.run("ip", "link", "set", ifname, "up")

    def attach(self, ns: Namespace, net: int, host: int = 2) -> str:
        """Put `ns` on the internet as 100.64.<net>.<host>, with the core as its default route."""
        address = f"{CORE_NET}.{net}.{host}"
        self.wire(self.core, f"n{net}", f"{CORE_NET}.{net}.1/24", ns, "wan", f"{address}/24")
        ns.run("ip", "route", "add", "default", "via", f"{CORE_NET}.{net}.1")
        return address

    def popen(self, ns: Namespace, argv: list[str], **kwargs) -> subprocess.Popen:
        """A process inside `ns`, in its own process group, stopped by `close()`."""
        proc = subprocess.Popen(ns.argv(*argv), start_new_session=True, **kwargs)
        self.processes.append(proc)
        return proc

    # --- the places a test needs ------------------------------------------------------

    def public(self) -> tuple[Namespace, str, str]:
        """The server side: (namespace, TURN address, web address)."""
        ns = self.namespace("public")
        turn = self.attach(ns, 0, 10)
        web = f"{CORE_NET}.0.11"
        ns.run("ip", "addr", "add", f"{web}/24", "dev", "wan")
        return ns, turn, web

    def open_home(self, name: str, net: int) -> Home:
        """A host with its own public address: nothing between it and the internet."""
        ns = self.namespace(name)
        return Home(ns, self.attach(ns, net))

    def home_behind_router(self, name: str, net: int, rules: str = "") -> Home:
        """A host on LAN 10.77.<net>.0/24 behind a router whose nftables `rules` shape its traffic.

        `rules` is an nft script; the router's interfaces are `lan` and `wan`.
        Without rules the router just routes: the LAN is reachable from the internet.
        """
        router = self.namespace(f"{name}-router")
        self.attach(router, net)
        router.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        ns = self.namespace(name)
        address = f"{LAN_NET}.{net}.2"
        self.wire(router, "lan", f"{LAN_NET}.{net}.1/24", ns, "eth0", f"{address}/24")
        ns.run("ip", "route", "add", "default", "via", f"{LAN_NET}.{net}.1")
        if rules:
            router.run("nft", "-f", "-", input=rules)
        else:
            self.core.run("ip", "route", "add", f"{LAN_NET}.{net}.0/24", "via", f"{CORE_NET}.{net}.2")
        return Home(ns, address, router)

    def move(self, home: Home, host: int) -> Home:
        """An open home's host gets a new address on its network (Wi-Fi to mobile): the old one is gone."""
        net = home.address.rsplit(".", 1)[0]
        home.ns.run("ip", "addr", "del", f"{home.address}/24", "dev", "wan")
        home.ns.run("ip", "addr", "add", f"{net}.{host}/24", "dev", "wan")
        home.ns.run("ip", "route", "replace", "default", "via", f"{net}.1")
        return Home(home.ns, f"{net}.{host}", home.router)

    def slow_down(self, home: Home, delay_ms: float, loss_percent: float) -> None:
        """Each packet the home's router forwards, either way, waits `delay_ms`; `loss_percent` are lost."""
        lan = home.address.rsplit(".", 1)[0] + ".0/24"
        proc = self.popen(home.router, [sys.executable, "-m", "tests.netlab.delayline", "--lan-cidr", lan,
                                        "--delay-ms", str(delay_ms), "--loss-percent", str(loss_percent)],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True)
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the delay line in {home.router.name} did not start ({proc.wait(5)})")

    @contextmanager
    def scope(self):
        """Namespaces and processes made inside the block are removed when it ends, also on failure."""
        marks = len(self.namespaces), len(self.processes)
        try:
            yield self
        finally:
            self._remove(*marks)

    def close(self) -> None:
        self._remove(0, 0)

    def _remove(self, namespaces_from: int, processes_from: int) -> None:
        for proc in self.processes[processes_from:]:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    _kill(proc)
        del self.processes[processes_from:]
        removed = set(self.namespaces[namespaces_from:])
        for a, a_if, b in [wire for wire in self.wires if removed & {wire[0], wire[2]}]:
            # Namespaces die lazily; deleting one end now frees the names on the other side at once.
            subprocess.run(["ip", "-n", a.name, "link", "del", a_if], capture_output=True)
            self.wires.remove((a, a_if, b))
        for ns in reversed(self.namespaces[namespaces_from:]):
            # Deleting a namespace deletes its veth ends, and with them their peers.
            subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)
        del self.namespaces[namespaces_from:]


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(5)


# --- router rule sets (nft scripts; `lan` and `wan` are the router's interfaces) -------

# Address- and port-dependent mapping and filtering ("symmetric NAT"): every new
# destination gets a fresh random source port, and only replies from exactly the
# destination a mapping was made for come back in.
SYMMETRIC_NAT = """
table ip lab {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname "wan" masquerade fully-random
  }
}
"""

# A corporate firewall: the LAN may open TCP connections to port 443 and nothing else.
ONLY_TCP_443 = """
table ip lab {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" tcp dport 443 accept
  }
  chain postrouting {
    type nat hook postrouting priority 100;
    oifname "wan" masquerade
  }
}
"""


def leftover_namespaces() -> list[str]:
    """Lab namespaces whose maker is gone (a killed run); another run's live lab is not touched."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    names = [line.split()[0] for line in listed.splitlines() if line.startswith(PREFIX)]
    return [name for name in names if not _alive(name[len(PREFIX):].split("-", 1)[0])]


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False  # named before the pid was part of the name
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
