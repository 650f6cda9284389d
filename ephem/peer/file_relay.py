"""Files over the relay rung, for a pair with no DataChannel: part of file_links.py.

The twin of assets/ephem/file_relay.js. Each chunk goes as `file_chunk {id,
n, at, data}` envelopes, RELAY_PART bytes each, base64, sealed like any other
envelope by relay.py, and paced under the server's byte budget per pair
(256 KiB/s of relay frames).
"""

import asyncio
import base64
import binascii
import time

from ephem.envelope import make
from ephem.peer import files as rules

RELAY_PART = 24 * 1024  # bytes of a chunk per relayed `file_chunk`
RELAY_CHARS_PER_S = 200 * 1024  # under the server's relay budget per pair (256 KiB/s)
REASK_AFTER = 2.0  # a receiver that saw a gap in relayed parts asks again at most this often


class RelayRun:
    """Stands for a file channel while chunks go through the relay: closing it stops them."""

    readyState = "open"

    def close(self) -> None:
        self.readyState = "closed"


async def relay_pump(files, out, r, run: "RelayRun", relay) -> None:
    """Chunks as sealed `file_chunk` parts through the relay, paced under its byte budget."""
    chunk = out.offer.chunk
    with out.path.open("rb") as source:
        while r.channel is run and r.next < out.total and relay.open:
            if not relay.writable:
                await asyncio.sleep(0.1)
                continue
            source.seek(r.next * chunk)
            data = source.read(chunk)
            for at in range(0, len(data), RELAY_PART):
                part = base64.b64encode(data[at : at + RELAY_PART]).decode()
                frame = make("file_chunk", files.account_id(), {"id": out.offer.id, "n": r.next, "at": at, "data": part}).frame()
                relay.send_frame(frame)
                await asyncio.sleep(len(frame) * 1.4 / RELAY_CHARS_PER_S)  # sealed and base64 again on the way
                if r.channel is not run:
                    return
            r.next += 1


def on_relayed_chunk(files, item, p: dict) -> None:
    """A part of a chunk over the relay rung: gathered in order; a gap asks again."""
    n, at, data = p.get("n"), p.get("at"), p.get("data")
    if item.status != "receiving" or not rules.is_count(n) or not rules.is_count(at) or not isinstance(data, str):
        return
    if n < item.rx.count:
        return  # resent
    if n != item.rx.count or at != len(item.gathered):
        if time.monotonic() - item.reasked > REASK_AFTER:
            item.reasked = time.monotonic()
            item.gathered.clear()
            files._to(item.sender, "file_accept", {"id": item.offer.id, "from": item.rx.count})
        return
    try:
        part = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        files._stop(item, "corrupt", "The file arrived damaged.")
        return
    expected = min(item.offer.chunk, item.offer.size - item.rx.bytes)
    if len(item.gathered) + len(part) > expected:
        files._stop(item, "size_mismatch", "The file is not the size it was offered as.")
        return
    item.gathered += part
    if len(item.gathered) == expected:
        whole = bytes(item.gathered)
        item.gathered.clear()
        files._take(item, n, whole)
