"""The Python peer (aiortc) against the real server: two peers chat over a real DataChannel."""

import asyncio

import pytest

from ephem.peer import EphemError, EphemPeer


@pytest.fixture(params=["sqlite"])
def db_url(request):
    return request.getfixturevalue("sqlite_url")


async def next_message(peer, timeout=20):
    return await asyncio.wait_for(anext(peer.messages()), timeout)


async def matched_peers(server, *names):
    peers = [await EphemPeer.sign_up(server.url, name) for name in names]
    for peer in peers:
        await peer.connect()
    first = asyncio.ensure_future(peers[0].search(timeout=20))
    await asyncio.sleep(0.1)
    second = await peers[1].search(timeout=20)
    assert await first == second
    return peers


async def test_two_python_peers_chat_over_a_datachannel(server):
    alice, bob = await matched_peers(server, "Alice", "Боб")
    try:
        sent = await alice.send("hello over SCTP")
        received = await next_message(bob)
        assert (received.text, received.name, received.sender) == ("hello over SCTP", "Alice", alice.account["id"])
        await alice.wait_status(sent, "delivered")

        reply = await bob.send("سلام")
        assert (await next_message(alice)).text == "سلام"
        await bob.wait_status(reply, "delivered")

        burst = [await alice.send(f"n{i}") for i in range(50)]
        texts = [(await next_message(bob)).text for _ in burst]
        assert texts == [f"n{i}" for i in range(50)]  # reliable and ordered
        for message in burst:
            await alice.wait_status(message, "delivered")
        await asyncio.sleep(0.3)
        assert bob._incoming.empty()  # nothing twice
    finally:
        await alice.close()
        await bob.close()


async def test_a_third_peer_joins_by_invite_and_leaves(server):
    alice, bob = await matched_peers(server, "A", "B")
    link = await alice.invite()
    carol = await EphemPeer.sign_up(server.url, "C")
    await carol.connect()
    try:
        await carol.join_invite(link)
        message = await carol.send("hi both")
        assert (await next_message(alice)).text == "hi both"
        assert (await next_message(bob)).text == "hi both"
        await carol.wait_status(message, "delivered")
        with pytest.raises(EphemError) as refused:
            await carol.join_invite("https://example.invalid/join/not-a-real-code-at-all")
        assert refused.value.code == "not_found"
    finally:
        await carol.close()
        await alice.close()
        await bob.close()


async def test_messages_wait_for_a_peer_that_is_still_connecting(server):
    alice, bob = await matched_peers(server, "Early", "Late")
    try:
        # Bob's page is not there yet: Alice's message waits and goes out once he is.
        await bob.close()
        await asyncio.sleep(0.3)
        queued = await alice.send("are you there?")
        assert queued.status == "sending"
        bob_again = await EphemPeer.restore(server.url, bob.recovery_token)
        await bob_again.connect()
        await bob_again.enter(alice.enclave_id)
        assert (await next_message(bob_again)).text == "are you there?"
        await alice.wait_status(queued, "delivered")
        await bob_again.close()
    finally:
        await alice.close()


async def test_sign_up_errors_are_clear(server):
    with pytest.raises(EphemError) as refused:
        await EphemPeer.sign_up(server.url, "   ")
    assert refused.value.code == "invalid_name"
    with pytest.raises(EphemError) as refused:
        await EphemPeer.restore(server.url, "nope")
    assert refused.value.code == "invalid_token"


class Terminal:
    """`python -m ephem.peer --search` in a subprocess, read line by line."""

    def __init__(self, proc):
        self.proc = proc

    @classmethod
    async def search(cls, url: str, name: str, *more: str) -> "Terminal":
        import sys

        return cls(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ephem.peer", "--server", url, "--name", name, "--search", *more,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        ))

    async def line_with(self, text: str) -> str:
        while True:
            line = (await asyncio.wait_for(self.proc.stdout.readline(), 20)).decode()
            assert line, "the CLI ended early"
            if text in line:
                return line

    async def type(self, text: str) -> None:
        self.proc.stdin.write(f"{text}\n".encode())
        await self.proc.stdin.drain()

    async def end_input(self) -> int:
        """EOF: the CLI says goodbye and exits; its exit code."""
        self.proc.stdin.close()
        await self.line_with("Bye.")
        return await asyncio.wait_for(self.proc.wait(), 20)

    def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()


async def test_the_command_line_chats_with_another_peer(server):
    host = await EphemPeer.sign_up(server.url, "Host")
    await host.connect()
    searching = asyncio.ensure_future(host.search(timeout=30, interests=["Go", "chess"]))
    terminal = await Terminal.search(server.url, "Terminal", "--interests", " go ,jazz")
    line_with = terminal.line_with
    try:
        await searching
        assert host.shared_interests == ["go"]
        assert "You both like: go" in await line_with("You both like")
        await line_with("In enclave")
        await host.send("hello terminal")
        assert "Host: hello terminal" in await line_with("hello terminal")
        await terminal.type("hello host")
        assert (await next_message(host)).text == "hello host"
        assert "✓✓ delivered: hello host" in await line_with("delivered")
        assert await terminal.end_input() == 0  # EOF: a clean exit
    finally:
        terminal.stop()
        await host.close()


async def test_the_command_line_explains_a_bad_server():
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ephem.peer", "--server", "http://127.0.0.1:9", "--name", "X", "--search",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"Could not sign in" in err and b"Traceback" not in err


async def _until(check, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"not within {timeout}s: {what}"
        await asyncio.sleep(0.05)


async def test_chat_goes_on_while_the_server_is_down_and_the_links_are_kept(engine, db_settings):
    """Issue 14 without browsers: the server goes away, the DataChannels stay;
    back, each peer has a new peer_id and re-keys its link instead of building one."""
    from tests.support.hubserver import serve
    from tests.support.live_app import free_port

    port = free_port()
    async with serve(engine, db_settings, port=port) as server:
        alice, bob = await matched_peers(server, "Ada", "Bo")
        try:
            await alice.wait_status(await alice.send("before"), "delivered", timeout=20)
            assert (await next_message(bob)).text == "before"
        except BaseException:
            await alice.close()
            await bob.close()
            raise
    try:
        old_ids = (alice.peer_id, bob.peer_id)
        kept = {peer: (list(peer.links.values()), [link.pc for link in peer.links.values()]) for peer in (alice, bob)}
        await _until(lambda: not alice.sio.connected and not bob.sio.connected, 10, "both sockets dropped")

        during = await alice.send("while the server is down")
        assert (await next_message(bob)).text == "while the server is down"
        await alice.wait_status(during, "delivered")
        reply = await bob.send("still here")
        assert (await next_message(alice)).text == "still here"
        await bob.wait_status(reply, "delivered")

        async with serve(engine, db_settings, port=port) as server:
            await _until(lambda: alice.in_room and bob.in_room, 10, "both back in the room")
            await _until(lambda: set(alice.links) == {bob.peer_id} and set(bob.links) == {alice.peer_id}, 5, "re-keyed")
            assert alice.peer_id not in old_ids and bob.peer_id not in old_ids  # new connections
            for peer in (alice, bob):
                links, pcs = kept[peer]
                assert list(peer.links.values()) == links  # the same links,
                assert [link.pc for link in links] == pcs  # on the same RTCPeerConnections
                assert not links[0].stale and not links[0].held
            [a_link], [b_link] = alice.links.values(), bob.links.values()
            assert a_link.polite == (alice.peer_id < bob.peer_id) and a_link.polite != b_link.polite
            assert len(await server.hub.presence.peers_in(alice.enclave_id)) == 2  # no ghosts

            after = [await alice.send(f"after {i}") for i in range(3)]
            assert [(await next_message(bob)).text for _ in after] == ["after 0", "after 1", "after 2"]
            for message in after:
                await alice.wait_status(message, "delivered")
            await asyncio.sleep(0.3)
            assert bob._incoming.empty() and alice._incoming.empty()  # nothing twice
    finally:
        await alice.close()
        await bob.close()


async def test_a_failed_link_is_rebuilt_on_a_fresh_connection_and_nothing_is_lost(server):
    """aiortc has no ICE restart: a link whose connection fails starts over on a new
    one, and the conversation resends what was not acked, each message shown once."""
    alice, bob = await matched_peers(server, "Fails", "Waits")
    try:
        await _until(lambda: any(link.open for link in alice.links.values()), 20, "alice's link open")
        [a_link] = alice.links.values()
        [b_link] = bob.links.values()
        before = (a_link.pc, b_link.pc)
        first = [await alice.send(f"m{i}") for i in range(10)]
        # Failure injection: what aiortc reports once consent checks have failed for 30 s.
        a_link.pc._RTCPeerConnection__connectionState = "failed"
        a_link.pc.emit("connectionstatechange")
        second = [await alice.send(f"m{i}") for i in range(10, 20)]
        texts = [(await next_message(bob)).text for _ in range(20)]
        assert texts == [f"m{i}" for i in range(20)]
        for message in first + second:
            await alice.wait_status(message, "delivered", timeout=20)
        assert list(alice.links.values()) == [a_link] and list(bob.links.values()) == [b_link]
        assert a_link.pc is not before[0] and b_link.pc is not before[1]  # both on a fresh connection
        # The relay may carry the messages while the fresh connection opens.
        await _until(lambda: a_link.open and b_link.open, 20, "both links open again")
        assert a_link.rebuilds == 0  # counted again from zero once open
        reply = await bob.send("back")
        assert (await next_message(alice)).text == "back"
        await bob.wait_status(reply, "delivered")
        await asyncio.sleep(0.3)
        assert bob._incoming.empty() and alice._incoming.empty()  # nothing twice
    finally:
        await alice.close()
        await bob.close()


async def test_a_relayed_pair_whose_link_fails_is_rebuilt_and_leaves_the_relay(server):
    """The relay carries a pair while its link is down; the link is still rebuilt
    (as the browser's is), and once it opens the pair is back on it."""
    alice, bob = await matched_peers(server, "Relayed", "Other")
    try:
        await _until(lambda: alice.transport(bob.peer_id) == "direct", 20, "alice's link open")
        [a_link] = alice.links.values()
        before = a_link.pc
        alice._relay(bob.peer_id, failed=True)  # as after a first failure
        assert alice.relays[bob.peer_id].active
        a_link.pc._RTCPeerConnection__connectionState = "failed"  # failure injection, as above
        a_link.pc.emit("connectionstatechange")
        await _until(lambda: a_link.pc is not before and a_link.open, 20, "the link rebuilt and open")
        assert not alice.relays[bob.peer_id].active  # off the relay
        sent = await alice.send("direct again")
        assert (await next_message(bob)).text == "direct again"
        await alice.wait_status(sent, "delivered")
    finally:
        await alice.close()
        await bob.close()


async def test_a_link_that_never_opens_is_rebuilt(server, monkeypatch):
    """aioice sets no time limit: a negotiation that went astray (here, the first
    offer lost) would leave the link connecting for ever, the pair on the relay."""
    from ephem.peer import rtc

    monkeypatch.setattr(rtc, "CONNECT_TIMEOUT", 3.0)
    apply, lost = rtc.RtcLink._apply, []

    async def losing_the_first_offer(link, kind, data):
        if kind == "offer" and not lost:
            lost.append(link.peer_id)
            return
        await apply(link, kind, data)

    monkeypatch.setattr(rtc.RtcLink, "_apply", losing_the_first_offer)
    alice, bob = await matched_peers(server, "Early", "Late")
    try:
        [a_link], [b_link] = alice.links.values(), bob.links.values()
        first = (a_link.pc, b_link.pc)
        await _until(lambda: a_link.open and b_link.open, 30, "both links open")
        assert lost and (a_link.pc, b_link.pc) != first  # rebuilt after the timeout
        sent = await bob.send("at last")
        assert (await next_message(alice)).text == "at last"
        await bob.wait_status(sent, "delivered")
    finally:
        await alice.close()
        await bob.close()


def test_the_peers_language_comes_from_the_posix_locale():
    from ephem.peer.client import language_from_env

    assert language_from_env({"LANG": "fa_IR.UTF-8"}) == "fa-IR"
    assert language_from_env({"LC_ALL": "ru_RU.UTF-8", "LANG": "en_US.UTF-8"}) == "ru-RU"
    assert language_from_env({"LC_MESSAGES": "ky", "LANG": "fa_IR"}) == "ky"
    assert language_from_env({"LANG": "C.UTF-8"}) == ""
    assert language_from_env({"LANG": "POSIX"}) == ""
    assert language_from_env({}) == ""


async def test_the_server_answers_the_peer_in_its_language(server, monkeypatch):
    monkeypatch.setenv("LANG", "fa_IR.UTF-8")
    persian = await EphemPeer.sign_up(server.url, "Dariush")  # the language from the locale
    arabic = await EphemPeer.sign_up(server.url, "Laila", lang="ar")
    english = await EphemPeer.sign_up(server.url, "Ed", lang="")
    try:
        for peer in (persian, arabic, english):
            await peer.connect()
        assert (persian.lang, persian.said_lang, arabic.said_lang, english.said_lang) == ("fa-IR", "fa", "ar", "en")
        # Errors on /ephem and on REST, each in the peer's language.
        ack = await arabic._call("join", {"enclave_id": "00000000-0000-0000-0000-000000000000"})
        assert ack["ok"] is False and any("\u0600" <= ch <= "\u06ff" for ch in ack["error"]["message"]), ack
        ack = await english._call("join", {"enclave_id": "00000000-0000-0000-0000-000000000000"})
        assert ack["error"]["message"].isascii(), ack
        with pytest.raises(EphemError) as caught:
            await persian.join_invite("http://x/join/" + "A" * 20)
        assert caught.value.code == "not_found" and any("\u0600" <= ch <= "\u06ff" for ch in caught.value.message)
        with pytest.raises(EphemError) as caught:
            await EphemPeer.restore(server.url, "B" * 32, lang="ru")
        assert caught.value.code == "invalid_token" and any("а" <= ch <= "я" for ch in caught.value.message.lower())
    finally:
        for peer in (persian, arabic, english):
            await peer.close()
