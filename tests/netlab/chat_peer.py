"""One Python peer for the network lab, run inside a namespace (a namespace applies per process).

Signs up, searches, waits for its DataChannel, sends --count messages, and
prints JSON lines: `searching` (the wall-clock time of its Search), `open`
(how long it took, the ICE route, or `"relayed"` for the server's relay),
`first` (the wall-clock time its first message arrived), then `round`
(`seconds` from the round's start) once it has every message of the other
side and the other side has acked all of its own. With --rounds, each
further round starts when a line arrives on stdin (the test changes the
network in between) and sends --count more. After the last round, `done`
(what it received, the route again); then, with --file-mb and --file-role,
it sends a file of that many random MiB or receives one and says `file`
(its SHA-256 and size; the receiver also `seconds` from accepting it to
saving it). It then stays connected until its stdin closes, so that the
last acks are not cut off.

    python -m tests.netlab.chat_peer --server http://100.64.0.11:443 --name A --count 20 [--rounds 2]
"""

import argparse
import asyncio
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ephem.peer import EphemPeer


def say(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def route(link) -> dict | str:
    """The nominated ICE pair of a link: candidate types, addresses, and the TURN URL used if relayed;
    "relayed" when the pair talks through the server's relay instead."""
    if link is None:
        return {}
    if not getattr(link, "pc", None):  # the relay rung
        return "relayed"
    connection = link.pc.sctp.transport.transport._connection  # aioice.Connection
    pair = connection._nominated.get(1)
    if pair is None:
        return {}
    local, remote = pair.local_candidate, pair.remote_candidate
    found = {
        "local": local.type,
        "remote": remote.type,
        "local_address": f"{local.host}:{local.port}",
        "remote_address": f"{remote.host}:{remote.port}",
    }
    if local.type == "relay":
        host, port = connection.turn_server
        found["turn"] = {"transport": connection.turn_transport, "tls": connection.turn_ssl, "port": port}
    return found


def open_link(peer):
    """The newest open link (the one a move or a rebuild brought back), else an open relay."""
    found = next((link for link in reversed(peer.links.values()) if link.open), None)
    return found or next((relay for relay in peer.relays.values() if relay.open), None)


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def file_sent(peer, mib: float, timeout: float) -> dict:
    source = Path(tempfile.mkdtemp(prefix="ephem-netlab-file-")) / "lab.bin"
    source.write_bytes(os.urandom(int(mib * 1024 * 1024)))
    out = await peer.files.wait(await peer.send_file(source), timeout)
    statuses = [r.status for r in out.receivers.values()]
    if statuses != ["done"]:
        raise RuntimeError(f"the file was not received: {statuses}")
    sent = {"sha256": hashlib.sha256(source.read_bytes()).hexdigest(), "bytes": source.stat().st_size}
    shutil.rmtree(source.parent)
    return sent


async def file_received(peer, timeout: float) -> dict:
    """The next file, accepted whatever its size, timed from its acceptance to its saving."""
    await until(lambda: any(i.status == "offered" or i.rx for i in peer.files.incoming.values()), timeout, "no file offered")
    item = next(iter(peer.files.incoming.values()))
    if item.status == "offered":
        peer.accept_file(item)
    began = time.monotonic()
    await until(lambda: item.status != "receiving", timeout, f"the file stopped at {item.rx.bytes} bytes")
    if item.status != "done":
        raise RuntimeError(f"the file {item.status}: {item.error}")
    data = item.path.read_bytes()
    shutil.rmtree(peer.files.downloads)
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "seconds": round(time.monotonic() - began, 3)}


async def main(args) -> None:
    started = time.monotonic()
    peer = await EphemPeer.sign_up(args.server, args.name)
    if args.file_mb and args.file_role == "receive":
        peer.files.downloads = Path(tempfile.mkdtemp(prefix="ephem-netlab-downloads-"))
    connecting = time.monotonic()
    await peer.connect()  # includes probing the ICE servers (ephem/peer/turn.py)
    say("connected", seconds=round(time.monotonic() - connecting, 3), ice_servers=[server["urls"] for server in peer.ice_servers])
    try:
        searched_at = time.monotonic()  # CLOCK_MONOTONIC: one clock for every namespace
        say("searching", at=time.time())
        await peer.search(timeout=args.timeout)
        # --path direct waits for the DataChannel (direct or TURN); any takes the relay too.
        wanted = ("direct",) if args.path == "direct" else ("direct", "relayed")
        await until(lambda: any(peer.transport(p) in wanted for p in peer.links), args.timeout, "no path opened")
        say("open", seconds=round(time.monotonic() - started, 2), searched_at=searched_at, route=route(open_link(peer)))

        received, sent, first_at = [], [], []

        async def receive():
            async for message in peer.messages():
                if not received:
                    say("first", at=time.time())
                received.append(message.text.split(" x", 1)[0])
                first_at[:] = first_at or [time.monotonic()]

        receiving = asyncio.ensure_future(receive())
        loop = asyncio.get_running_loop()
        for round_ in range(args.rounds):
            if round_:
                await loop.run_in_executor(None, sys.stdin.readline)
            began = time.monotonic()
            first = round_ * args.count
            padding = " " + "x" * args.size if args.size else ""
            sent += [await peer.send(f"{args.name} {i}{padding}") for i in range(first, first + args.count)]
            await until(lambda: len(received) >= first + args.count, args.timeout, "not all messages came")
            await until(lambda: all(m.status == "delivered" for m in sent), args.timeout, "not all messages acked")
            frame_bytes = sum(len(m.envelope.frame().encode()) for m in sent[first:])
            say("round", i=round_, seconds=round(time.monotonic() - began, 3), frame_bytes=frame_bytes,
                first_message_at=first_at[0], route=route(open_link(peer)))
        await asyncio.sleep(0.5)  # anything arriving twice would show up here
        receiving.cancel()
        say("done", seconds=round(time.monotonic() - started, 2), received=received, route=route(open_link(peer)))
        if args.file_mb and args.file_role == "send":
            say("file", **await file_sent(peer, args.file_mb, args.timeout))
        elif args.file_mb:
            say("file", **await file_received(peer, args.timeout))
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # the test closes stdin
    finally:
        await peer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--path", choices=["direct", "any"], default="direct")
    parser.add_argument("--size", type=int, default=0, help="pad each message with this many characters")
    parser.add_argument("--file-mb", type=float, default=0, help="send (--file-role send) or receive a file of this many MiB")
    parser.add_argument("--file-role", choices=["send", "receive"], default="receive")
    parser.add_argument("--timeout", type=float, default=45)
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("ephem.peer").setLevel(logging.INFO)  # the test shows the log when it fails
    try:
        asyncio.run(main(parser.parse_args()))
    except Exception as error:  # noqa: BLE001 - reported to the test as a line, with the reason
        say("error", error=repr(error))
        sys.exit(1)
