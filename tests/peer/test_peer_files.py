"""Files between two Python peers over real DataChannels, through the real server."""

import asyncio
import hashlib
import os

import pytest

from ephem.peer import EphemError, files
from ephem.peer.file_links import Outgoing
from tests.peer.test_peer import matched_peers


@pytest.fixture(params=["sqlite"])
def db_url(request):
    return request.getfixturevalue("sqlite_url")


@pytest.fixture
async def pair(server, tmp_path):
    """Alice and Bob in one enclave, their DataChannel open; Bob saves into tmp_path/downloads."""
    alice, bob = await linked(*await matched_peers(server, "Alice", "Bob"))
    bob.files.downloads = tmp_path / "downloads"
    try:
        yield alice, bob
    finally:
        await alice.close()
        await bob.close()


async def linked(*peers, timeout=20):
    async def opened():
        while not all(any(link.open for link in peer.links.values()) for peer in peers):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(opened(), timeout)
    return peers


async def next_event(peer, kind, timeout=30):
    async def find():
        async for seen, item in peer.events():
            if seen == kind:
                return item

    return await asyncio.wait_for(find(), timeout)


def crafted(peer, path, **lies) -> Outgoing:
    """An offer of `path` saying whatever `lies` say, sent as the sender would."""
    data = path.read_bytes()
    fields = {"id": "crafted-" + os.urandom(6).hex(), "name": path.name, "size": len(data), "mime": "",
              "sha256": hashlib.sha256(data).hexdigest(), "chunk": files.CHUNK, **lies}
    out = Outgoing(path, files.Offer(**fields))
    for account_id in {link.account_id for link in peer.links.values() if link.open}:
        out.receivers[account_id] = files_receiver()
        peer.files._to(account_id, "file_offer", out.offer.payload())
    peer.files.outgoing[out.offer.id] = out
    return out


def files_receiver():
    from ephem.peer.file_links import Receiver

    return Receiver("")


async def test_files_go_whole_with_safe_names_and_never_overwrite(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "report.pdf"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    for copy in (1, 2):
        out = await alice.send_file(source)
        await alice.files.wait(out, timeout=60)
        assert out.status == "done"
        received = await next_event(bob, "file_received")
        assert received.path.name == ("report.pdf" if copy == 1 else "report (2).pdf")
        assert received.path.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in bob.files.downloads.iterdir()) == ["report (2).pdf", "report.pdf"]

    # A hostile name lands inside the folder, under its last component.
    script = tmp_path / "pwn.sh"
    script.write_bytes(b"#!/bin/sh\necho owned\n")
    crafted(alice, script, name="../../../../tmp/.pwn.sh")
    received = await next_event(bob, "file_received")
    assert received.path == bob.files.downloads / "pwn.sh"
    assert received.type == "application/octet-stream"
    assert not (tmp_path / ".pwn.sh").exists()


async def test_a_lying_size_and_a_file_over_the_cap_are_refused(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(5000))
    # Says 1000 bytes (with the hash of those), sends 5000.
    lie = crafted(alice, source, size=1000, sha256=hashlib.sha256(source.read_bytes()[:1000]).hexdigest())
    failed = await next_event(bob, "file_failed")
    assert failed.status == "failed" and "size" in failed.error
    await alice.files.wait(lie, timeout=20)
    assert [r.status for r in lie.receivers.values()] == ["cancelled"]
    assert list(bob.files.downloads.iterdir()) == []  # nothing kept, not even the part

    bob.files.max_bytes = 4096
    out = await alice.send_file(source)
    await alice.files.wait(out, timeout=20)
    (receiver,) = out.receivers.values()
    assert (receiver.status, receiver.error) == ("cancelled", "Files are limited to 4 KB.")


async def test_large_files_wait_for_accept_and_either_side_may_stop(pair, tmp_path):
    alice, bob = pair
    bob.files.ask_above = 1000
    source = tmp_path / "video.mp4"
    source.write_bytes(os.urandom(200_000))
    out = await alice.send_file(source)
    offered = await next_event(bob, "file_offer")
    assert (offered.offer.name, offered.offer.size, offered.name) == ("video.mp4", 200_000, "Alice")
    bob.accept_file(offered)
    await alice.files.wait(out, timeout=30)
    assert (await next_event(bob, "file_received")).path.read_bytes() == source.read_bytes()

    out = await alice.send_file(source)
    bob.decline_file(await next_event(bob, "file_offer"))
    await alice.files.wait(out, timeout=30)
    assert [r.status for r in out.receivers.values()] == ["declined"]

    out = await alice.send_file(source)
    await next_event(bob, "file_offer")
    alice.files.cancel(out)
    stopped = await next_event(bob, "file_failed")
    assert stopped.status == "cancelled"

    with pytest.raises(ValueError):
        await alice.send_file(tmp_path / "missing.bin")


async def test_send_file_needs_an_enclave(server, tmp_path):
    from ephem.peer import EphemPeer

    peer = await EphemPeer.sign_up(server.url, "Solo")
    try:
        with pytest.raises(EphemError):
            await peer.send_file(tmp_path / "x")
    finally:
        await peer.close()


async def test_a_transfer_resumes_from_the_last_chunk_after_the_link_drops(pair, tmp_path):
    alice, bob = pair
    bob.files.ask_above = 100 * 1024 * 1024
    source = tmp_path / "long.bin"
    source.write_bytes(os.urandom(12 * 1024 * 1024))
    out = await alice.send_file(source)
    (receiver,) = out.receivers.values()

    async def halfway():
        while receiver.acked < out.total // 3:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(halfway(), 60)
    (link,) = bob.links.values()
    link.rebuild()  # a fresh connection: the old one, and its file channel, are gone
    await alice.files.wait(out, timeout=120)
    assert out.status == "done"
    assert len(receiver.starts) >= 2 and receiver.starts[0] == 0
    assert receiver.starts[-1] >= out.total // 3  # resumed, not started over
    received = await next_event(bob, "file_received")
    assert hashlib.sha256(received.path.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()


async def test_with_no_webrtc_path_files_go_sealed_through_the_relay_unless_turned_off(server, tmp_path):
    from tests.peer.test_relay import no_webrtc_path, other, until

    no_webrtc_path(server)
    alice, bob = await matched_peers(server, "Alice", "Bob")
    bob.files.downloads = tmp_path / "downloads"
    try:
        await until(lambda: alice.transport(other(alice)) == bob.transport(other(bob)) == "relayed")
        source = tmp_path / "relayed.bin"
        source.write_bytes(os.urandom(150_000))  # three chunks, the last one short
        out = await alice.send_file(source)
        await alice.files.wait(out, timeout=60)
        assert [r.status for r in out.receivers.values()] == ["done"]
        assert (await next_event(bob, "file_received")).path.read_bytes() == source.read_bytes()
        assert alice.relay_rejected == bob.relay_rejected == 0

        alice.relay_files = False  # as `hello` says when the operator sets EPHEM_RELAY_FILES=false
        out = await alice.send_file(source)
        (receiver,) = out.receivers.values()
        await until(lambda: receiver.want_from == 0)  # accepted, but waits for a direct path
        await asyncio.sleep(1)
        assert receiver.status == "offered" and not receiver.starts
        alice.files.cancel(out)
        assert (await next_event(bob, "file_failed")).status == "cancelled"
    finally:
        await alice.close()
        await bob.close()


async def test_the_command_line_sends_saves_and_asks_about_large_files(server, tmp_path):
    from ephem.peer import EphemPeer
    from tests.peer.test_peer import Terminal

    host = await EphemPeer.sign_up(server.url, "Host")
    await host.connect()
    host.files.downloads = tmp_path / "host"
    searching = asyncio.ensure_future(host.search(timeout=30))
    folder = tmp_path / "terminal"
    terminal = await Terminal.search(server.url, "Terminal", "--downloads", str(folder))
    try:
        await searching
        await terminal.line_with("In enclave")
        await linked(host)
        source = tmp_path / "from terminal.txt"
        source.write_bytes(b"bytes from the terminal\n")
        await terminal.type("/send /no/such/file")
        assert "! No such file" in await terminal.line_with("!")
        await terminal.type(f"/send {source}")
        assert "Offering from terminal.txt (24 B) to Host" in await terminal.line_with("Offering")
        assert (await next_event(host, "file_received")).path.read_bytes() == source.read_bytes()
        assert "from terminal.txt: Host done" in await terminal.line_with("Host done")

        small = tmp_path / "small.bin"
        small.write_bytes(os.urandom(1000))
        await host.files.wait(await host.send_file(small), timeout=30)
        assert f"Saved {folder / 'small.bin'}" in await terminal.line_with("Saved")
        assert (folder / "small.bin").read_bytes() == small.read_bytes()

        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(26 * 1024 * 1024))
        out = await host.send_file(big)
        assert "Host sends big.bin (26 MB): /accept or /decline" in await terminal.line_with("/accept")
        await terminal.type("/accept")
        progress = await terminal.line_with("↓ big.bin from Host: ")
        assert " of 26 MB" in progress and "%" in progress
        await host.files.wait(out, timeout=120)
        assert f"Saved {folder / 'big.bin'}" in await terminal.line_with("Saved")

        out = await host.send_file(big)
        await terminal.line_with("/accept")
        await terminal.type("/decline")
        await host.files.wait(out, timeout=30)
        assert [r.status for r in out.receivers.values()] == ["declined"]
        assert await terminal.end_input() == 0
    finally:
        terminal.stop()
        await host.close()


async def test_a_sender_with_16_offers_waiting_gets_the_next_refused(pair, tmp_path):
    alice, bob = pair
    bob.files.ask_above = 10
    source = tmp_path / "small.bin"
    source.write_bytes(os.urandom(100))
    outs = [await alice.send_file(source) for _ in range(17)]
    await alice.files.wait(outs[-1], timeout=20)
    (receiver,) = outs[-1].receivers.values()
    assert (receiver.status, receiver.error) == ("cancelled", "Too many files at once: send again later.")
    assert len(bob.files.incoming) == 16


async def test_a_downloads_folder_that_cannot_be_written_refuses_cleanly(pair, tmp_path):
    alice, bob = pair
    bob.files.downloads = tmp_path / "not-a-folder"
    bob.files.downloads.write_bytes(b"a file where the folder should be")
    source = tmp_path / "a.bin"
    source.write_bytes(b"x" * 100)
    out = await alice.send_file(source)
    failed = await next_event(bob, "file_failed")
    assert failed.status == "failed" and "cannot be saved" in failed.error
    await alice.files.wait(out, timeout=20)
    assert [r.status for r in out.receivers.values()] == ["cancelled"]


async def test_blocking_stops_transfers_either_way_as_cancelled(pair, tmp_path):
    alice, bob = pair
    bob.files.ask_above = 100 * 1024 * 1024
    alice.files.downloads, alice.files.ask_above = tmp_path / "alice", 1000
    source = tmp_path / "long.bin"
    source.write_bytes(os.urandom(24 * 1024 * 1024))
    out = await alice.send_file(source)
    (receiver,) = out.receivers.values()
    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(5000))
    back = await bob.send_file(small)  # waits for Alice's answer
    waiting = await next_event(alice, "file_offer")

    async def moving():
        while receiver.acked < 2:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(moving(), 60)
    await alice.block(bob.account["id"])
    # At once on Alice's side, both ways.
    assert (receiver.status, receiver.channel, out.status, out.done.is_set()) == ("cancelled", None, "cancelled", True)
    assert waiting.status == "cancelled" and not alice.files.outgoing
    assert receiver.acked < out.total  # it was stopped, not finished
    # Bob's side is told (code `cancelled`) and stops too; nothing half-written is left.
    stopped = await next_event(bob, "file_failed")
    assert (stopped.offer.id, stopped.status) == (out.offer.id, "cancelled")
    assert stopped.part is not None and not stopped.part.exists()
    await bob.files.wait(back, timeout=30)
    assert [r.status for r in back.receivers.values()] == ["cancelled"]
    assert alice.files.drop_account(bob.account["id"]) == 0  # nothing left with Bob


async def test_a_transfer_still_stuck_after_asking_again_is_logged_with_its_sctp_state(pair, tmp_path, caplog):
    import logging

    alice, bob = pair
    bob.files.stall_after = 0.5
    caplog.set_level(logging.WARNING, logger="ephem.peer")
    source = tmp_path / "stuck.bin"
    source.write_bytes(os.urandom(4 * 1024 * 1024))
    out = await alice.send_file(source)

    async def some_in():
        while not bob.files.incoming or next(iter(bob.files.incoming.values())).rx is None:
            await asyncio.sleep(0.01)
        item = next(iter(bob.files.incoming.values()))
        while item.rx.count < 2:
            await asyncio.sleep(0.01)
        return item

    item = await asyncio.wait_for(some_in(), 30)
    # Failure injection: Bob's association takes nothing more (as in the stall of bench/README.md).
    (link,) = bob.links.values()
    link.pc.sctp._handle_data = lambda data: asyncio.sleep(0)

    async def logged():
        while not any("stuck at" in r.getMessage() for r in caplog.records):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(logged(), 10)
    (line,) = [r.getMessage() for r in caplog.records if "stuck at" in r.getMessage()]
    assert f"file {out.offer.id} stuck at {item.rx.bytes} of {4 * 1024 * 1024} bytes" in line
    assert "'rwnd': " in line and "'cumulative_tsn': " in line and "'held': " in line
    alice.files.cancel(out)


async def test_a_file_done_lost_with_the_old_connection_is_said_again_when_the_link_is_back(pair, tmp_path):
    alice, bob = pair
    send, lost = bob.files._to, []

    def losing(account_id, kind, payload):  # failure injection: the first file_done goes down with the connection
        if kind == "file_done" and not lost:
            lost.append(payload)
            return True
        return send(account_id, kind, payload)

    bob.files._to = losing
    source = tmp_path / "end.bin"
    source.write_bytes(os.urandom(200_000))
    out = await alice.send_file(source)
    await next_event(bob, "file_received")
    await asyncio.sleep(0.2)
    assert lost and [r.status for r in out.receivers.values()] == ["sending"]
    (link,) = alice.links.values()
    alice.files.link_open(link)  # as when a fresh connection opens
    await alice.files.wait(out, timeout=10)
    assert out.status == "done" and len(bob.files.incoming) == 1
