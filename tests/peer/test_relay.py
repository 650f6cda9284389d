"""The relay rung: two Python peers with no WebRTC path chat through the server, sealed end to end."""

import asyncio
import base64
import binascii
import logging
import re
import time

import pytest

from ephem.peer import EphemPeer
from tests.peer.test_peer import Terminal, matched_peers as pair, next_message


@pytest.fixture(params=["sqlite"])
def db_url(request):
    return request.getfixturevalue("sqlite_url")


def no_webrtc_path(server):
    """The server strips every ICE candidate: no pair can form, as when UDP is blocked and there is no TURN."""
    model, original = server.hub._handlers["signal"]

    async def stripped(peer, body):
        if body.kind == "candidate":
            return {"ok": True}
        if body.kind in ("offer", "answer"):
            body.data["sdp"] = "".join(
                line for line in body.data["sdp"].splitlines(keepends=True) if not line.startswith("a=candidate")
            )
        return await original(peer, body)

    server.hub._handlers["signal"] = (model, stripped)


def held_offers(server) -> list:
    """Offers and answers wait (the DataChannel cannot open) until the returned list is released."""
    model, original = server.hub._handlers["signal"]
    held: list = []

    async def holding(peer, body):
        if body.kind == "key" or held == ["released"]:
            return await original(peer, body)
        held.append((peer, body))
        return {"ok": True}

    async def release():
        waiting, held[:] = list(held), ["released"]
        for peer, body in waiting:
            await original(peer, body)

    server.hub._handlers["signal"] = (model, holding)
    return release


def other(peer):
    return next(iter(peer.links))


async def until(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def drain(peer):
    await asyncio.sleep(0.5)
    out = []
    while not peer._incoming.empty():
        out.append(peer._incoming.get_nowait().text)
    return out


async def test_with_no_webrtc_path_a_pair_chats_through_the_relay(server, caplog):
    caplog.set_level(logging.DEBUG)
    no_webrtc_path(server)
    packets: list = []
    handlers = server.hub.server.eio.handlers  # every /ephem packet a client sends, before any decoding
    receive = handlers["message"]

    async def recording(eio_sid, data):
        packets.append(data)
        return await receive(eio_sid, data)

    handlers["message"] = recording
    secret = "Meet me at the blue door ☃ 7419"
    alice, bob = await pair(server, "Alice", "Bob")
    try:
        sent = await alice.send(secret)
        received = await next_message(bob)
        assert (received.text, received.name) == (secret, "Alice")
        await alice.wait_status(sent, "delivered")
        await until(lambda: alice.transport(other(alice)) == bob.transport(other(bob)) == "relayed")
        assert not any(link.open for link in alice.links.values())

        reply = await bob.send("سلام، Alice")
        assert (await next_message(alice)).text == "سلام، Alice"
        await bob.wait_status(reply, "delivered")
        burst = [await alice.send(f"n{i}") for i in range(40)]
        assert [(await next_message(bob)).text for _ in burst] == [f"n{i}" for i in range(40)]
        for message in burst:
            await alice.wait_status(message, "delivered")
        assert await drain(bob) == [] and await drain(alice) == []  # nothing twice

        # Each failed link is rebuilt (a new DTLS certificate, so a new code) up to
        # REBUILD_TRIES times; once the last answer is in, both sides show one code.
        await until(lambda: alice.safety_code(other(alice)) == bob.safety_code(other(bob)) is not None)
        assert re.fullmatch(r"\d{4} \d{4} \d{4}", alice.safety_code(other(alice)))
        assert alice.relay_rejected == bob.relay_rejected == 0
    finally:
        await alice.close()
        await bob.close()

    relayed = [p for p in packets if isinstance(p, str) and '"relay"' in p]
    assert len(relayed) >= 80  # the chat did go through the server
    needles = [secret, "blue door", "n39"]  # "n39": the last of the burst
    forms = []
    for needle in needles:
        raw = needle.encode()
        forms += [needle, raw.hex(), binascii.hexlify(raw).decode().upper(), needle.encode("utf-16-le").hex()]
        forms += [base64.b64encode(b"\0" * shift + raw).decode()[4 if shift else 0 : -4] for shift in range(3)]
        forms += [needle.encode("unicode_escape").decode(), base64.urlsafe_b64encode(raw).decode()[:-4]]
    forms = [form for form in forms if len(form) >= 8]  # base64 of "n39" cut at both ends is nothing
    for packet in packets:
        text = packet if isinstance(packet, str) else packet.decode(errors="replace")
        for form in forms:
            assert form not in text, f"{form!r} went through the server"
        for token in re.findall(r"[A-Za-z0-9+/]{16,}", text):
            decoded = base64.b64decode(token[: len(token) - len(token) % 4])
            for needle in needles:
                assert needle.encode() not in decoded and needle.encode("utf-16-le") not in decoded
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for form in forms:
        assert form not in logged
    frames = [re.search(r'"data":"([^"]+)"', p).group(1) for p in relayed]
    assert not any(frame[:40] in logged for frame in frames)  # the server logs no relay payload


async def test_switching_between_relay_and_direct_loses_and_duplicates_nothing(server):
    release = held_offers(server)
    alice, bob = await pair(server, "Ada", "Bo")
    events = []

    async def watch():
        async for event in alice.events():
            events.append(event)

    watcher = asyncio.ensure_future(watch())
    try:
        early = [await alice.send(f"relayed {i}") for i in range(10)]
        assert sorted([(await next_message(bob)).text for _ in early]) == sorted(m.text for m in early)
        assert alice.transport(other(alice)) == "relayed"

        # The direct path opens mid-conversation: the pair moves back to it.
        middle = [await alice.send(f"switching {i}") for i in range(5)]
        await release()
        middle += [await alice.send(f"switching {i}") for i in range(5, 10)]
        await until(lambda: alice.transport(other(alice)) == "direct" and bob.transport(other(bob)) == "direct")
        later = [await bob.send(f"direct {i}") for i in range(5)]
        # Queued when the link opened; the watcher task takes it in its own time.
        await until(lambda: ("transport", ("Bo", "direct")) in events)

        # The direct path fails: the relay takes over at once.
        await alice.links[other(alice)].pc.close()
        last = [await alice.send(f"relayed again {i}") for i in range(10)]
        await until(lambda: alice.transport(other(alice)) == "relayed")

        for message in early + middle + last:
            await alice.wait_status(message, "delivered", timeout=15)
        for message in later:
            await bob.wait_status(message, "delivered", timeout=15)
        got_bob = await drain(bob)
        got_alice = await drain(alice)
        expected = [m.text for m in middle + last]
        assert sorted(got_bob) == sorted(expected), "lost or duplicated"
        assert sorted(got_alice) == sorted(m.text for m in later)
        assert ("transport", ("Bo", "relayed")) in events[events.index(("transport", ("Bo", "direct"))):]
    finally:
        watcher.cancel()
        await alice.close()
        await bob.close()


async def test_tampered_replayed_and_swapped_frames_and_keys_are_caught(server):
    """A server that flips a byte of a frame, replays one, or swaps a public key."""
    no_webrtc_path(server)
    model, original = server.hub._handlers["relay"]
    mischief = {"flip": 0, "replay": 0}
    seen: list = []

    async def meddling(peer, body):
        seen.append(body.data)
        if mischief["flip"]:
            mischief["flip"] -= 1
            raw = bytearray(base64.b64decode(body.data))
            raw[-3] ^= 0x10
            body.data = base64.b64encode(bytes(raw)).decode()
        answer = await original(peer, body)
        if mischief["replay"]:
            mischief["replay"] -= 1
            body.data = seen[0]
            await original(peer, body)
        return answer

    server.hub._handlers["relay"] = (model, meddling)
    alice, bob = await pair(server, "Ann", "Ben")
    try:
        first = await alice.send("before any mischief")
        assert (await next_message(bob)).text == "before any mischief"
        await alice.wait_status(first, "delivered")

        mischief["flip"] = 1
        flipped = await alice.send("flipped on the way")
        await until(lambda: bob.relay_rejected == 1)
        assert await drain(bob) == []  # refused, not shown
        assert flipped.status == "sent"  # and not acked: it waits for a resend

        mischief["replay"] = 1
        await bob.send("answer")
        await next_message(alice)
        await until(lambda: alice.relay_rejected + bob.relay_rejected == 2)
        assert await drain(alice) == [] and await drain(bob) == []
    finally:
        await alice.close()
        await bob.close()

    # A key swapped by the server: Mallory's key reaches Dana in place of Cleo's.
    from ephem.peer import seal

    mallory = seal.KeyPair.generate()
    signal_model, signal = server.hub._handlers["signal"]

    async def swapping(peer, body):
        if body.kind == "key" and peer.name == "Cleo":
            body.data = {"public_key": mallory.public_b64}
        return await signal(peer, body)

    server.hub._handlers["signal"] = (signal_model, swapping)
    cleo, dana = await pair(server, "Cleo", "Dana")
    try:
        await until(lambda: cleo.safety_code(other(cleo)) and dana.safety_code(other(dana)))
        assert cleo.safety_code(other(cleo)) != dana.safety_code(other(dana))
        sent = await cleo.send("can Dana read this?")
        await until(lambda: dana.relay_rejected > 0)  # sealed for Cleo's real key: Dana cannot open it
        assert await drain(dana) == [] and sent.status != "delivered"
    finally:
        await cleo.close()
        await dana.close()


async def test_a_member_whose_key_changes_is_flagged(server):
    alice, bob = await pair(server, "Gulnar", "Otto")
    try:
        await until(lambda: bob.safety_code(other(bob)) is not None)
        before = bob.safety_code(other(bob))
        gulnar_again = await EphemPeer.restore(server.url, alice.recovery_token)  # a new device: new keys
        await alice.close()
        await gulnar_again.connect()
        await gulnar_again.enter(bob.enclave_id)
        flagged = []

        async def watch():
            async for kind, item in bob.events():
                if kind == "key_changed":
                    flagged.append(item)
                    return

        await asyncio.wait_for(watch(), 15)
        assert flagged == ["Gulnar"]
        await until(lambda: bob.safety_code(other(bob)) is not None)
        assert bob.safety_code(other(bob)) != before
        await gulnar_again.close()
    finally:
        await alice.close()
        await bob.close()


async def test_the_command_line_says_relayed_and_verifies_the_safety_code(server):
    no_webrtc_path(server)
    host = await EphemPeer.sign_up(server.url, "Host")
    await host.connect()
    searching = asyncio.ensure_future(host.search(timeout=30))
    terminal = await Terminal.search(server.url, "Terminal")
    line_with, type_line = terminal.line_with, terminal.type

    try:
        await searching
        assert "Host: relayed, end-to-end encrypted" in await line_with("relayed")
        await host.send("hello through the relay")
        await line_with("Host: hello through the relay")
        await type_line("/verify nobody")
        assert "Nobody called nobody" in await line_with("!")
        await type_line("/verify host")
        said = await line_with("Safety code")
        await until(lambda: host.safety_code(other(host)) is not None)
        assert host.safety_code(other(host)) in said
        await type_line("/verify")
        assert "Say whose code" in await line_with("!")
        assert await terminal.end_input() == 0
    finally:
        terminal.stop()
        await host.close()
