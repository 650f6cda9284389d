"""The lab's internet (backend and coturn in the public namespace), its static site, and peers run in homes.

Shared by the lab's fixtures (conftest.py) and bench/netlab.py.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ephem.core.migrations import upgrade
from tests.netlab.lab import CORE_NET, Lab, Namespace, leftover_namespaces
from tests.support import coturn
from tests.support.live_app import ROOT
from tests.support.static_site import export_site

SECRET = "netlab-turn-secret-0123456789abcdef"
START_TIMEOUT = 240


@dataclass
class Internet:
    lab: Lab
    public: Namespace
    turn: str  # coturn's address
    server: str  # the backend's URL, as peers reach it
    cert: Path  # coturn's self-signed certificate, trusted by peers
    tmp: Path
    site_folder: Path | None = None  # the static export, once serve_site made it


def turn_urls(turn: str) -> list[str]:
    """What a deployment offers: TURN over UDP and TCP on 3478, over TLS on 443."""
    return [f"turn:{turn}:3478?transport=udp", f"turn:{turn}:3478?transport=tcp", f"turns:{turn}:443?transport=tcp"]


def _serving(ns: Namespace, address: str, port: int) -> bool:
    listening = ns.run("ss", "-Hltn")
    return f"{address}:{port} " in listening


def remove_leftovers() -> None:
    """Namespaces a killed run left behind (all named `ephlab-*`)."""
    stale = leftover_namespaces()
    if stale:
        print(f"netlab: removing namespaces left by an earlier run: {stale}")
        for name in stale:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


@contextmanager
def internet_up(tmp: Path):
    """The lab's internet: the backend on 100.64.0.11:443 and coturn on 100.64.0.10 (3478, TLS on 443)."""
    lab = Lab()
    try:
        public, turn, web = lab.public()

        db_url = f"sqlite:///{tmp / 'ephem.db'}"
        upgrade(db_url)
        env = {
            **os.environ,
            "REFLEX_DB_URL": db_url,
            "REFLEX_STATES_WORKDIR": str(tmp / "states"),
            "EPHEM_SECRET": "netlab-secret-0123456789abcdef0123",
            "EPHEM_ICE_SERVERS": json.dumps([{"urls": [f"stun:{turn}:3478"]}]),
            "EPHEM_TURN_URLS": ",".join(turn_urls(turn)),
            "EPHEM_TURN_SECRET": SECRET,
            "EPHEM_SIGNUP_BURST": "1000",
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_CHECK_LATEST_VERSION": "false",
        }
        backend_log = tmp / "backend.log"
        with backend_log.open("wb") as out:
            backend = lab.popen(
                public,
                [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only",
                 "--backend-host", web, "--backend-port", "443"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        # The web server and coturn both use port 443, on different addresses; Reflex checks
        # that 443 is free on every address before it starts, so coturn comes second.
        coturn.wait_ready(backend, backend_log, lambda: _serving(public, web, 443), "the backend", START_TIMEOUT)
        cert, key = coturn.self_signed_cert(tmp, turn)
        conf = coturn.config(tmp, secret=SECRET, address=turn, port=3478, tls_port=443,
                             allowed_peers=f"{CORE_NET}.0.0-{CORE_NET}.255.255", cert=cert, key=key)
        turn_log = tmp / "turnserver.log"
        with turn_log.open("wb") as out:
            turnserver = lab.popen(public, coturn.argv(conf), stdout=out, stderr=subprocess.STDOUT)
        coturn.wait_ready(turnserver, turn_log, lambda: _serving(public, turn, 3478) and _serving(public, turn, 443), "turnserver", 20)
        yield Internet(lab, public, turn, f"http://{web}:443", cert, tmp)
    finally:
        lab.close()




def serve_site(internet: Internet) -> str:
    """The frontend as a static export with the lab backend's URL baked in, served from the public namespace."""
    env = {**os.environ, "REFLEX_TELEMETRY_ENABLED": "false", "REFLEX_CHECK_LATEST_VERSION": "false"}
    for name in ("REFLEX_WEB_WORKDIR", "REFLEX_STATES_WORKDIR"):
        env.pop(name, None)  # `.web` and `.states` of the copy, nothing shared
    bun = ROOT / ".tools/bun/node_modules/.bin/bun"
    if bun.exists():
        env.setdefault("REFLEX_BUN_PATH", str(bun))
    folder, _ = export_site(internet.tmp / "export", internet.server, env)
    internet.site_folder = folder
    # On port 443 of an address of its own: a firewall that lets only TCP 443 out lets the page in.
    web = f"{CORE_NET}.0.12"
    internet.public.run("ip", "addr", "add", f"{web}/24", "dev", "wan")
    server = internet.lab.popen(
        internet.public,
        [sys.executable, "-m", "tests.support.static_site", "--dir", str(folder), "--host", web, "--port", "443"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    if server.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the lab's static site did not start ({server.wait(5)})")
    return f"http://{web}:443"


def serve_secure_site(internet: Internet) -> str:
    """The same site on an HTTPS origin whose backend is wss://, as a deployment behind TLS serves it.

    Two TLS fronts (tls_front.py) in the public namespace: 100.64.0.13:443 for
    the site (a copy of the export whose baked-in backend URL says https://
    100.64.0.14:443) and 100.64.0.14:443 for the backend. Browsers accept the
    self-signed certificate (--ignore-certificate-errors), as for coturn's.
    """
    plain_backend = internet.server
    secure_site, secure_backend = f"{CORE_NET}.0.13", f"{CORE_NET}.0.14"
    folder = internet.tmp / "secure-site"
    shutil.copytree(internet.site_folder, folder)
    plain_host = plain_backend.removeprefix("http://")
    rewritten = 0
    for path in folder.rglob("*"):
        if path.suffix in (".js", ".html", ".json") and plain_host in (text := path.read_text(errors="surrogateescape")):
            text = text.replace(f"http://{plain_host}", f"https://{secure_backend}:443")
            text = text.replace(f"ws://{plain_host}", f"wss://{secure_backend}:443")
            if plain_host in text:
                raise RuntimeError(f"{path.name} names the backend in a way the lab cannot point at the TLS front")
            path.write_text(text, errors="surrogateescape")
            rewritten += 1
    if not rewritten:
        raise RuntimeError(f"the export names its backend ({plain_backend}) nowhere: cannot point it at the TLS front")
    certs = internet.tmp / "secure-certs"
    certs.mkdir(exist_ok=True)
    cert, key = certs / "cert.pem", certs / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={secure_site}",
         "-addext", f"subjectAltName=IP:{secure_site},IP:{secure_backend}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    for address in (secure_site, secure_backend):
        internet.public.run("ip", "addr", "add", f"{address}/24", "dev", "wan")
    plain_copy = f"{CORE_NET}.0.12"  # the plain site's address, another port
    servers = [
        [sys.executable, "-m", "tests.support.static_site", "--dir", str(folder), "--host", plain_copy, "--port", "8443"],
        [sys.executable, "-m", "tests.netlab.tls_front", "--listen", f"{secure_site}:443", "--to", f"{plain_copy}:8443",
         "--cert", str(cert), "--key", str(key)],
        [sys.executable, "-m", "tests.netlab.tls_front", "--listen", f"{secure_backend}:443",
         "--to", plain_backend.removeprefix("http://"), "--cert", str(cert), "--key", str(key)],
    ]
    for argv in servers:
        server = internet.lab.popen(internet.public, argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{argv[2]} did not start in the lab ({server.wait(5)})")
    return f"https://{secure_site}"


@dataclass
class PeerRun:
    name: str
    proc: subprocess.Popen
    lines: list[dict]

    log: Path

    def wait_for(self, event: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if line["event"] == event:
                    return line
                if line["event"] == "error":
                    raise AssertionError(f"peer {self.name} failed: {line['error']}\n{self.lines}\n{self.tail()}")
            if self.proc.poll() is not None and not any(line["event"] == event for line in self.lines):
                raise AssertionError(f"peer {self.name} exited with {self.proc.returncode}: {self.lines}\n{self.tail()}")
            time.sleep(0.1)
        raise AssertionError(f"peer {self.name} said no {event!r} within {timeout}s: {self.lines}\n{self.tail()}")

    def wait_for_nth(self, event: str, n: int, timeout: float) -> dict:
        """The `n`th `event` line (1-based)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if line["event"] == event]
            if len(found) >= n:
                return found[n - 1]
            if any(line["event"] == "error" for line in self.lines) or self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"peer {self.name} said no {event!r} #{n} within {timeout}s: {self.lines}\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]


    def say(self, line: str = "go") -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()


def start_peer(internet: Internet, home, name: str, module: str, *args: str) -> PeerRun:
    """`python -m module` in `home`, its JSON lines collected as they come; stopped with the lab scope."""
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    env["SSL_CERT_FILE"] = str(internet.cert)  # trust the lab's TURN-over-TLS certificate
    log = internet.tmp / f"{module.rsplit('.', 1)[1]}-{home.ns.name}-{name}.log"
    with log.open("wb") as err:
        proc = internet.lab.popen(
            home.ns, [sys.executable, "-m", module, "--name", name, *args],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
        )
    run = PeerRun(name, proc, [], log)

    def read():
        for line in proc.stdout:
            if line.startswith("{"):
                run.lines.append(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    return run


def finish(runs: list[PeerRun]) -> None:
    for run in runs:
        if run.proc.poll() is None and not run.proc.stdin.closed:
            run.proc.stdin.close()
