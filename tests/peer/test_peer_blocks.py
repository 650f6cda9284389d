"""The Python peer drops a blocked account as the browser does (mesh.js): its
frames go unread and it gets nothing from us; the list is the server's
(`/api/blocks`). Real aiortc peers against the real server."""

import asyncio

import pytest

from ephem.peer import EphemError, EphemPeer
from tests.peer.test_peer import matched_peers, next_message


@pytest.fixture(params=["sqlite"])
def db_url(request):
    return request.getfixturevalue("sqlite_url")


async def _until(check, what: str, timeout: float = 20) -> None:
    async def reached():
        while not check():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(reached(), timeout)
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None


async def test_a_blocked_member_is_neither_heard_nor_sent_to(server):
    alice, bob = await matched_peers(server, "Alice", "Bob")
    carol = await EphemPeer.sign_up(server.url, "Carol")
    await carol.connect()
    try:
        await carol.join_invite(await alice.invite())
        hi = await alice.send("hi both")
        assert (await next_message(bob)).text == "hi both"
        assert (await next_message(carol)).text == "hi both"
        await alice.wait_status(hi, "delivered")
        bob_id = bob.account["id"]

        with pytest.raises(EphemError) as refused:  # not someone Alice shares an enclave with
            await alice.block("no-such-account")
        assert refused.value.code and alice.blocked == set()

        await alice.block(bob_id)
        assert alice.blocked == {bob_id}
        # Bob still talks to Carol; what he sends Alice arrives on her link and goes unread (no ack).
        dropped = alice.blocked_dropped
        shouted = await bob.send("from Bob")
        assert (await next_message(carol)).text == "from Bob"
        await _until(lambda: alice.blocked_dropped > dropped, "Bob's frame dropped by Alice")
        assert alice._incoming.empty()
        assert alice.account["id"] in shouted.pending and shouted.status == "sent"

        # Alice writes: Carol gets it, nothing goes to Bob.
        quiet = await alice.send("Carol only")
        assert bob_id not in quiet.sent_to
        assert (await next_message(carol)).text == "Carol only"
        assert bob_id not in quiet.sent_to

        # The list is the server's: Alice's account on another peer reads it too.
        elsewhere = EphemPeer(server.url, alice.session_token)
        try:
            await elsewhere.refresh_blocks()
            assert elsewhere.blocked == {bob_id}
        finally:
            await elsewhere.http.aclose()

        # Lifted: what waited for Bob goes to him, and he is heard again.
        await alice.unblock(bob_id)
        assert alice.blocked == set()
        assert (await next_message(bob)).text == "Carol only"
        await bob.send("back")
        assert (await next_message(alice)).text == "back"
    finally:
        for peer in (carol, alice, bob):
            await peer.close()


async def test_the_command_line_blocks_lists_and_unblocks(server, tmp_path):
    import os

    from tests.peer.test_peer import Terminal

    host = await EphemPeer.sign_up(server.url, "Host")
    await host.connect()
    searching = asyncio.ensure_future(host.search(timeout=30))
    terminal = await Terminal.search(server.url, "Terminal", "--downloads", str(tmp_path / "got"))
    try:
        await searching
        await terminal.line_with("In enclave")
        await host.send("before")
        await terminal.line_with("Host: before")
        host_id = host.account["id"]

        for typed, said in [
            ("/block", "Say whom: /block NAME_OR_ACCOUNT_ID"),
            ("/block nobody", "Nobody called nobody is here"),
            ("/block terminal", "That is you."),
            ("/unblock Host", "You have not blocked Host."),
            ("/unblock", "Say whom: /unblock"),
        ]:
            await terminal.type(typed)
            assert said in await terminal.line_with("!")
        await terminal.type("/blocks")
        assert "You have blocked nobody." in await terminal.line_with("* ")

        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(26 * 1024 * 1024))
        offered = await host.send_file(big)
        await terminal.line_with("/accept or /decline")

        await terminal.type("/block HOST")  # names match whatever the case
        assert "Blocked Host: nothing from or to them now" in await terminal.line_with("Blocked")
        # The offer waiting for an answer was cancelled by the block, on both sides.
        assert "big.bin from Host: cancelled" in await terminal.line_with("big.bin")
        await host.files.wait(offered, timeout=30)
        assert [r.status for r in offered.receivers.values()] == ["cancelled"]
        await terminal.type("/accept")
        assert "No file is waiting" in await terminal.line_with("!")
        await terminal.type("/blocks")
        assert f"Blocked: Host ({host_id})" in await terminal.line_with("Blocked:")
        await host.send("unheard")  # dropped unread by the terminal

        await terminal.type(f"/unblock {host_id}")  # by account id too
        assert "Unblocked Host." in await terminal.line_with("Unblocked")
        await host.send("heard again")
        shown = await terminal.line_with("] Host: ")  # a message line, not "* Host: direct link"
        assert "heard again" in shown, shown  # and not "unheard"
        await terminal.type("/blocks")
        assert "You have blocked nobody." in await terminal.line_with("blocked nobody")
        assert await terminal.end_input() == 0
    finally:
        terminal.stop()
        await host.close()


async def test_a_rejoin_goes_on_when_the_block_list_cannot_be_read(server, caplog):
    """Back on the socket after a drop (a move), the room is rejoined at once:
    the block list known holds, and a REST call that fails (a pooled connection
    from a gone address times out) is a warning, not a stalled or dead rejoin."""
    import httpx

    alice, bob = await matched_peers(server, "Alice", "Bob")
    try:
        await alice.block(bob.account["id"])
        reads = []

        async def failing():  # failure injection: the REST read times out
            reads.append(1)
            raise httpx.ReadTimeout("timed out")

        alice.refresh_blocks = failing
        alice.in_room = False
        alice._drop_socket()  # as after a move: Socket.IO reconnects, `_rejoin` runs
        await _until(lambda: alice.in_room and reads, "Alice back in the room")
        await _until(lambda: any("block list was not read again" in r.getMessage() for r in caplog.records), "the warning")
        assert alice.blocked == {bob.account["id"]}  # still blocked
    finally:
        await alice.close()
        await bob.close()
