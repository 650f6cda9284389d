"""A blocked pair is never matched, by either matchmaker."""

import random

from ephem.live.matchmaking import InMemoryMatchmaker, Searcher
from ephem.live.matchmaking_redis import RedisMatchmaker
from tests.live.test_matchmaking_redis import _search_concurrently, pair


def searcher(peer: str, account: str, avoid=()) -> Searcher:
    return Searcher(peer, account, peer, frozenset(avoid))


async def blocked_pair_50_times(matchmakers):
    first, second = matchmakers
    for round_ in range(50):
        # Each search reads the blocks afresh; here one side's list alone holds the block
        # half of the time, and the waiting side or the newcomer holds it in turns.
        one_sided = round_ % 2 == 0
        ana = searcher(f"ana{round_}", "ANA", () if one_sided and round_ % 4 else {"BEN"})
        ben = searcher(f"ben{round_}", "BEN", () if one_sided and not round_ % 4 else {"ANA"})
        order = [ana, ben] if random.random() < 0.5 else [ben, ana]
        assert await first.enqueue(order[0]) is None
        assert await second.enqueue(order[1]) is None
        assert await first.searching() == 2
        # A stranger meets the one who waited longer, the next stranger the other.
        met = await second.enqueue(searcher(f"x{round_}", f"X{round_}"))
        assert pair(met) == (order[0].peer_id, f"x{round_}")
        met = await first.enqueue(searcher(f"y{round_}", f"Y{round_}"))
        assert pair(met) == (order[1].peer_id, f"y{round_}")
        assert await first.searching() == 0


async def blocked_pairs_at_once(matchmakers):
    # 60 accounts, each blocking its neighbour: 30 blocked pairs, searching at once.
    accounts = [f"acct-{i}" for i in range(60)]
    blocked = {frozenset((accounts[i], accounts[i + 1])) for i in range(0, 60, 2)}
    avoid = {a: {b for pair_ in blocked if a in pair_ for b in pair_ if b != a} for a in accounts}
    searchers = [searcher(f"p{i}", a, avoid[a]) for i, a in enumerate(accounts)]
    matches = await _search_concurrently(matchmakers, searchers)
    matched = [peer for match in matches for peer in pair(match)]
    assert len(matched) == len(set(matched)), "someone was matched twice"
    for match in matches:
        assert frozenset((match.first.account_id, match.second.account_id)) not in blocked
    # Whoever is left waits only because every two of them are a blocked pair.
    left = [s for s in searchers if s.peer_id not in set(matched)]
    assert await matchmakers[0].searching() == len(left)
    assert len(left) <= 2
    if len(left) == 2:
        assert frozenset(s.account_id for s in left) in blocked


async def test_in_memory_a_blocked_pair_searching_together_50_times_is_never_matched():
    mm = InMemoryMatchmaker()
    await blocked_pair_50_times([mm, mm])


async def test_redis_a_blocked_pair_searching_together_50_times_is_never_matched(redis_connect, redis_prefix):
    await blocked_pair_50_times([RedisMatchmaker(await redis_connect(), redis_prefix) for _ in range(2)])


async def test_in_memory_blocked_pairs_among_many_searchers():
    mm = InMemoryMatchmaker()
    await blocked_pairs_at_once([mm, mm])


async def test_redis_two_workers_never_pair_blocked_accounts(redis_connect, redis_prefix):
    await blocked_pairs_at_once([RedisMatchmaker(await redis_connect(), redis_prefix) for _ in range(2)])
