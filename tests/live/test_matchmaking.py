from ephem.live.matchmaking import InMemoryMatchmaker, Searcher


def s(peer, account=None):
    return Searcher(peer, account or f"acct-{peer}", peer)


async def test_fifo_pairs_the_longest_waiting():
    mm = InMemoryMatchmaker()
    assert await mm.enqueue(s("a")) is None
    match = await mm.enqueue(s("b"))
    assert (match.first.peer_id, match.second.peer_id) == ("a", "b")
    assert await mm.searching() == 0
    assert await mm.enqueue(s("c")) is None
    match = await mm.enqueue(s("d"))
    assert (match.first.peer_id, match.second.peer_id) == ("c", "d")


async def test_order_and_skipping_own_account():
    mm = InMemoryMatchmaker()
    await mm.enqueue(s("a1", "A"))
    await mm.enqueue(s("a2", "A"))  # same account: waits, is not matched with a1
    assert await mm.searching() == 2
    match = await mm.enqueue(s("b", "B"))
    assert (match.first.peer_id, match.second.peer_id) == ("a1", "b")
    match = await mm.enqueue(s("c", "C"))
    assert (match.first.peer_id, match.second.peer_id) == ("a2", "c")


async def test_cancel_and_idempotent_enqueue():
    mm = InMemoryMatchmaker()
    await mm.enqueue(s("a"))
    assert await mm.enqueue(s("a")) is None
    assert await mm.searching() == 1
    assert await mm.cancel("a") is True
    assert await mm.cancel("a") is False
    assert await mm.enqueue(s("b")) is None
    assert await mm.searching() == 1
