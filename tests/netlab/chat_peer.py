"""One Python peer for the network lab, run inside a namespace (a namespace applies per process).

Signs up, searches, waits for its DataChannel, sends --count messages, and
prints JSON lines: `searching` (the wall-clock time of its Search), `open`
(how long it took, the ICE route, or `"relayed"` for the server's relay),
`first` (the wall-clock time its first message arrived), then `done`
(what it received, the route again) once it has every message of the other
side and the other side has acked all of its own. It then stays connected
until its stdin closes, so that the last acks are not cut off.

    python -m tests.netlab.chat_peer --server http://100.64.0.11:443 --name A --count 20
"""

import argparse
import asyncio
import json
import sys
import time

from ephem.peer import EphemPeer


def say(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def route(peer, peer_id) -> dict | str:
    """The nominated ICE pair of a link: candidate types, addresses, and the TURN URL used if relayed;
    "relayed" when the pair talks through the server's relay instead."""
    link = peer.links[peer_id]
    if not link.open:
        return peer.transport(peer_id)
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


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def main(args) -> None:
    started = time.monotonic()
    peer = await EphemPeer.sign_up(args.server, args.name)
    await peer.connect()
    say("connected", ice_servers=[server["urls"] for server in peer.ice_servers])
    try:
        say("searching", at=time.time())
        await peer.search(timeout=args.timeout)
        # --path direct waits for the DataChannel (direct or TURN); any takes the relay too.
        wanted = ("direct",) if args.path == "direct" else ("direct", "relayed")
        await until(lambda: any(peer.transport(p) in wanted for p in peer.links), args.timeout, "no path opened")
        other = next(p for p in peer.links if peer.transport(p) in wanted)
        say("open", seconds=round(time.monotonic() - started, 2), route=route(peer, other))

        sent = [await peer.send(f"{args.name} {i}") for i in range(args.count)]
        received = []

        async def receive():
            async for message in peer.messages():
                if not received:
                    say("first", at=time.time())
                received.append(message.text)
                if len(received) >= args.count:
                    return

        await asyncio.wait_for(receive(), args.timeout)
        await until(lambda: all(m.status == "delivered" for m in sent), args.timeout, "not all messages acked")
        await asyncio.sleep(0.5)  # anything arriving twice would show up here
        while not peer._incoming.empty():
            received.append(peer._incoming.get_nowait().text)
        say("done", seconds=round(time.monotonic() - started, 2), received=received, route=route(peer, other))
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # the test closes stdin
    finally:
        await peer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=45)
    parser.add_argument("--path", choices=["direct", "any"], default="direct")
    try:
        asyncio.run(main(parser.parse_args()))
    except Exception as error:  # noqa: BLE001 - reported to the test as a line, with the reason
        say("error", error=repr(error))
        sys.exit(1)
