"""A real coturn for tests: config file, self-signed certificate, process, readiness."""

import shutil
import socket
import subprocess
import time
from pathlib import Path

REALM = "ephem.test"


def self_signed_cert(tmp: Path, address: str) -> tuple[Path, Path]:
    """A certificate for `address` (as an IP SAN) and its key; clients trust it via SSL_CERT_FILE."""
    cert, key = tmp / "turn-cert.pem", tmp / "turn-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={address}",
         "-addext", f"subjectAltName=IP:{address}", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def config(tmp: Path, *, secret: str, address: str, port: int, tls_port: int, allowed_peers: str,
           cert: Path, key: Path, extra: tuple[str, ...] = ()) -> Path:
    """A coturn config: REST-API credentials (use-auth-secret) and relaying only to `allowed_peers` (a range)."""
    lines = [
        f"listening-ip={address}",
        f"relay-ip={address}",
        f"listening-port={port}",
        f"tls-listening-port={tls_port}",
        # The alternative ports (port + 1) are for RFC 5780 with two addresses; keep them apart from others.
        f"alt-listening-port={port + 1}",
        f"alt-tls-listening-port={tls_port + 1}",
        "min-port=49152",
        "max-port=49999",
        "fingerprint",
        "use-auth-secret",
        f"static-auth-secret={secret}",
        f"realm={REALM}",
        f"cert={cert}",
        f"pkey={key}",
        "no-tlsv1",
        "no-tlsv1_1",
        "no-cli",
        "no-multicast-peers",
        # Relay to nothing but the test's own addresses.
        "denied-peer-ip=0.0.0.0-255.255.255.255",
        f"allowed-peer-ip={allowed_peers}",
        f"userdb={tmp / 'turndb'}",
        f"pidfile={tmp / 'turnserver.pid'}",
        "log-file=stdout",
        "simple-log",
        "verbose",
        *extra,
    ]
    path = tmp / "turnserver.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def argv(conf: Path) -> list[str]:
    return [shutil.which("turnserver") or "turnserver", "-c", str(conf)]


def wait_ready(proc: subprocess.Popen, log: Path, ready, what: str, timeout: float = 15) -> None:
    """Until `ready()` (or `proc` exits, or time runs out: then with the end of its log)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
