import asyncio
import random

from ephem.live.matchmaking import Match, Searcher
from ephem.live.matchmaking_redis import RedisMatchmaker

LEASE = 0.3


def s(peer, account=None):
    return Searcher(peer, account or f"acct-{peer}", f"name {peer} ✓")


def pair(match: Match) -> tuple[str, str]:
    return match.first.peer_id, match.second.peer_id


async def test_fifo_pairs_the_longest_waiting(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix)
    assert await mm.enqueue(s("a")) is None
    match = await mm.enqueue(s("b"))
    assert match == Match(s("a"), s("b"))  # the waiting side comes back whole
    assert await mm.searching() == 0
    assert await mm.enqueue(s("c")) is None
    assert pair(await mm.enqueue(s("d"))) == ("c", "d")


async def test_order_and_skipping_own_account(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix)
    for peer in ("a1", "a2", "a3"):
        assert await mm.enqueue(s(peer, "A")) is None  # same account: they wait, unpaired
    assert await mm.searching() == 3
    assert await mm.enqueue(s("a4", "A")) is None
    assert pair(await mm.enqueue(s("b", "B"))) == ("a1", "b")
    assert pair(await mm.enqueue(s("c", "C"))) == ("a2", "c")
    assert await mm.searching() == 2


async def test_enqueue_of_a_waiting_peer_changes_nothing(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix)
    await mm.enqueue(s("a1", "A"))
    await mm.enqueue(s("a2", "A"))
    assert await mm.enqueue(s("a1", "A")) is None
    assert await mm.enqueue(Searcher("a1", "B", "a1 again")) is None  # never paired with itself
    assert await mm.searching() == 2
    assert await mm.enqueue(s("b")) == Match(s("a1", "A"), s("b"))  # a1 kept its place and data


async def test_cancel(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix)
    await mm.enqueue(s("a"))
    await mm.enqueue(s("a2", "acct-a"))
    assert await mm.cancel("a") is True
    assert await mm.cancel("a") is False
    assert await mm.cancel("never") is False
    assert await mm.searching() == 1
    assert pair(await mm.enqueue(s("b"))) == ("a2", "b")
    assert await mm.cancel("a2") is False  # matched, so no longer waiting
    assert await mm.cancel("b") is False
    assert await mm.searching() == 0
    assert await redis.keys(f"{redis_prefix}:mm:lease:*") == []
    assert await redis.hlen(f"{redis_prefix}:mm:data") == 0


async def test_a_lapsed_searcher_is_gone(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix, lease=LEASE)
    await mm.enqueue(s("dead"))
    await mm.enqueue(s("alive", "acct-dead"))  # cannot pair with "dead": same account
    assert await mm.searching() == 2
    await asyncio.sleep(0.2)
    await mm.renew(["alive"])  # now good until about 0.5 s
    await asyncio.sleep(0.15)  # past dead's 0.3 s lease
    assert await mm.searching() == 1
    assert pair(await mm.enqueue(s("b"))) == ("alive", "b")
    assert await mm.cancel("dead") is False
    # Lapsed entries are cleaned up, not just hidden.
    assert await redis.zcard(f"{redis_prefix}:mm:queue") == 0
    assert await redis.hlen(f"{redis_prefix}:mm:data") == 0


async def test_enqueue_never_matches_a_lapsed_searcher(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix, lease=LEASE)
    await mm.enqueue(s("dead"))
    await asyncio.sleep(LEASE + 0.1)
    assert await mm.enqueue(s("b")) is None
    assert await mm.searching() == 1
    assert pair(await mm.enqueue(s("c"))) == ("b", "c")


async def test_a_lapsed_peer_can_search_again_at_the_back(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix, lease=LEASE)
    await mm.enqueue(s("a", "A"))
    await asyncio.sleep(LEASE + 0.1)
    await mm.enqueue(s("a2", "A"))
    assert await mm.enqueue(s("a", "A")) is None
    assert await mm.searching() == 2
    assert pair(await mm.enqueue(s("b"))) == ("a2", "b")


async def test_renew_keeps_a_searcher_past_its_lease(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix, lease=LEASE)
    await mm.enqueue(s("a"))
    for _ in range(8):  # 0.8 s in all, well past the 0.3 s lease
        await asyncio.sleep(LEASE / 3)
        await mm.renew(["a", "unknown"])
    assert await mm.searching() == 1
    assert pair(await mm.enqueue(s("b"))) == ("a", "b")


async def test_renew_does_not_revive(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix, lease=LEASE)
    await mm.enqueue(s("a"))
    assert pair(await mm.enqueue(s("b"))) == ("a", "b")
    await mm.enqueue(s("c"))
    assert await mm.cancel("c")
    await mm.enqueue(s("lapsed"))
    await asyncio.sleep(LEASE + 0.1)
    await mm.renew(["a", "b", "c", "lapsed"])
    await mm.renew([])
    assert await mm.searching() == 0
    assert await redis.keys(f"{redis_prefix}:mm:*lease*") == []


async def _search_concurrently(workers: list[RedisMatchmaker], searchers: list[Searcher]) -> list[Match]:
    random.shuffle(searchers)
    results = await asyncio.gather(
        *(workers[i % len(workers)].enqueue(searcher) for i, searcher in enumerate(searchers))
    )
    return [match for match in results if match is not None]


def _assert_sound(matches: list[Match]) -> set[str]:
    matched = [peer for match in matches for peer in pair(match)]
    assert len(matched) == len(set(matched)), "someone was matched twice"
    for match in matches:
        assert match.first.peer_id != match.second.peer_id
        assert match.first.account_id != match.second.account_id
    return set(matched)


async def test_two_workers_match_everyone_exactly_once(redis_connect, redis_prefix):
    workers = [RedisMatchmaker(await redis_connect(), redis_prefix) for _ in range(2)]
    searchers = [s(f"p{i}") for i in range(200)]
    matches = await _search_concurrently(workers, searchers)
    assert len(matches) == 100
    assert _assert_sound(matches) == {searcher.peer_id for searcher in searchers}
    assert await workers[0].searching() == 0


async def test_two_workers_never_pair_an_account_with_itself(redis_connect, redis_prefix):
    workers = [RedisMatchmaker(await redis_connect(), redis_prefix) for _ in range(2)]
    searchers = [s(f"p{i}", f"acct-{i % 40}") for i in range(200)]  # 5 tabs per account
    matches = await _search_concurrently(workers, searchers)
    matched = _assert_sound(matches)
    # Whoever is left waits only because everyone left shares one account.
    left = [searcher for searcher in searchers if searcher.peer_id not in matched]
    assert await workers[1].searching() == len(left)
    assert len({searcher.account_id for searcher in left}) <= 1
    for searcher in left:
        assert await workers[0].cancel(searcher.peer_id) is True


async def test_renew_tells_lost_searchers_from_matched_ones(redis, redis_prefix):
    mm = RedisMatchmaker(redis, redis_prefix, lease=LEASE)
    await mm.enqueue(s("matched-a"))
    await mm.enqueue(s("matched-b"))  # pairs with matched-a
    await mm.enqueue(s("waiting"))
    await mm.enqueue(s("lost"))  # pairs with "waiting", first in line
    await mm.enqueue(s("alone", "solo"))
    # Simulate Redis forgetting one searcher (a restart): its keys vanish.
    await redis.delete(f"{redis_prefix}:mm:lease:alone")
    everyone = ["matched-a", "matched-b", "waiting", "lost", "alone"]
    assert await mm.renew(everyone) == (["matched-a", "matched-b", "waiting", "lost"], [])
    # Lost only after a lease: another worker may still write its match again.
    assert await mm.renew(["alone"]) == ([], [])
    await asyncio.sleep(LEASE)
    assert await mm.renew(["alone"]) == (["alone"], ["alone"])
    assert await mm.enqueue(s("alone", "solo")) is None  # and can be enqueued again
    assert await mm.searching() == 1


async def _restart(redis, prefix: str) -> None:
    """What Redis restarting empty does to these keys."""
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    await redis.delete(*keys)


async def test_a_match_made_by_another_worker_survives_a_restart(redis_connect, redis_prefix):
    one, two = [RedisMatchmaker(await redis_connect(), redis_prefix, lease=LEASE) for _ in range(2)]
    await one.enqueue(s("a"))
    assert await one.renew(["a"]) == ([], [])
    assert pair(await two.enqueue(s("b"))) == ("a", "b")  # worker two pairs worker one's searcher
    await one.enqueue(s("waiting"))
    await _restart(await redis_connect(), redis_prefix)
    # Worker one renews first: "a" is neither waiting nor matched, for now.
    assert await one.renew(["a", "waiting"]) == ([], [])
    await two.renew([])  # worker two writes its match again
    assert await one.renew(["a", "waiting"]) == (["a"], [])
    await asyncio.sleep(LEASE)
    assert await one.renew(["waiting"]) == (["waiting"], ["waiting"])
    assert await one.enqueue(s("waiting")) is None
    assert pair(await two.enqueue(s("newcomer"))) == ("waiting", "newcomer")


async def test_a_match_written_again_late_takes_its_searcher_out_of_the_queue(redis_connect, redis_prefix):
    one, two = [RedisMatchmaker(await redis_connect(), redis_prefix, lease=LEASE) for _ in range(2)]
    await one.enqueue(s("a"))
    await two.enqueue(s("b"))
    await _restart(await redis_connect(), redis_prefix)
    await one.renew(["a"])
    await asyncio.sleep(LEASE)
    assert await one.renew(["a"]) == (["a"], ["a"])
    assert await one.enqueue(s("a")) is None  # put back before worker two wrote the match
    await two.renew([])
    assert await one.searching() == 0
    assert await one.renew(["a"]) == (["a"], [])  # matched after all, not lost again
    assert await two.enqueue(s("c")) is None


async def test_an_old_match_written_again_leaves_a_new_search_alone(redis_connect, redis_prefix):
    one, two = [RedisMatchmaker(await redis_connect(), redis_prefix, lease=LEASE) for _ in range(2)]
    await one.enqueue(s("a"))
    await two.enqueue(s("b"))
    assert await one.renew(["a"]) == (["a"], [])
    assert await one.enqueue(s("a")) is None  # the same connection searches again
    await _restart(await redis_connect(), redis_prefix)
    await two.renew([])  # writes the old match again
    assert await one.renew(["a"]) == ([], [])
    await asyncio.sleep(LEASE)
    assert await one.renew(["a"]) == (["a"], ["a"])
