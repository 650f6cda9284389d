"""Interests, in both matchmakers: a shared one first; anyone open once relaxed; each searcher matched once."""

import asyncio
import random

import pytest

from ephem.live.matchmaking import InMemoryMatchmaker, Searcher
from ephem.live.matchmaking_redis import RedisMatchmaker
from tests.live.test_matchmaking_redis import pair


def searcher(peer: str, *interests: str, account: str | None = None, avoid=()) -> Searcher:
    return Searcher(peer, account or f"acct-{peer}", peer, frozenset(avoid), frozenset(interests), bool(interests))


@pytest.fixture(params=["memory", "redis"])
async def workers(request, redis_connect, redis_prefix):
    if request.param == "memory":
        mm = InMemoryMatchmaker()
        return [mm, mm]
    return [RedisMatchmaker(await redis_connect(), redis_prefix) for _ in range(2)]


async def test_a_shared_interest_is_preferred_over_the_longest_waiting(workers):
    one, two = workers
    assert await one.enqueue(searcher("open")) is None  # waited longest, no interests
    assert await two.enqueue(searcher("chess", "chess")) is None
    assert await one.enqueue(searcher("jazz", "jazz", "go")) is None
    match = await two.enqueue(searcher("newcomer", "go", "chess"))
    # Both "chess" and "jazz" share one; "chess" waited longer.
    assert pair(match) == ("chess", "newcomer")
    assert match.shared == ["chess"]
    assert await one.searching() == 2


async def test_a_strict_searcher_waits_for_a_shared_interest_until_relaxed(workers):
    one, two = workers
    assert await one.enqueue(searcher("chess", "chess")) is None
    assert await two.enqueue(searcher("open")) is None  # chess is still strict: no pair
    assert await two.enqueue(searcher("jazz", "jazz")) is None  # strict, nothing in common
    assert await one.searching() == 3
    match = await one.relax("chess")
    assert pair(match) == ("chess", "open")  # chess waited longer
    assert match.shared == []
    assert await one.relax("chess") is None  # matched: not waiting any more
    assert await two.relax("jazz") is None  # relaxed, but no one open is waiting
    match = await two.enqueue(searcher("late"))
    assert pair(match) == ("jazz", "late")
    assert await one.searching() == 0


async def test_relax_keeps_the_block_rules_and_the_queue_order(workers):
    one, two = workers
    assert await one.enqueue(searcher("a", "x", account="A", avoid={"B"})) is None
    assert await two.enqueue(searcher("b", account="B", avoid={"A"})) is None
    assert await two.enqueue(searcher("a2", account="A")) is None
    assert await one.relax("a") is None  # b is blocked, a2 is its own account
    match = await one.enqueue(searcher("c", account="C"))
    assert pair(match) == ("a", "c")  # open now, and first in line
    assert await one.relax("nobody") is None
    assert await one.searching() == 2


async def test_everyone_is_matched_exactly_once_while_relaxing_concurrently(workers):
    pool = [f"t{i}" for i in range(10)]
    searchers = [searcher(f"p{i}", *random.sample(pool, random.randint(0, 2))) for i in range(300)]
    random.shuffle(searchers)
    at_once = asyncio.Semaphore(24)  # interleaved, without opening 300 Redis connections at once

    async def search(i: int, one: Searcher):
        mm = workers[i % 2]
        async with at_once:
            found = [await mm.enqueue(one)]
        await asyncio.sleep(random.random() / 100)
        async with at_once:
            found.append(await mm.relax(one.peer_id))
        return found

    results = await asyncio.gather(*(search(i, one) for i, one in enumerate(searchers)))
    matches = [m for found in results for m in found if m is not None]
    matched = [peer for m in matches for peer in pair(m)]
    assert len(matched) == len(set(matched)), "someone was matched twice"
    for m in matches:
        assert m.first.peer_id != m.second.peer_id
        # Never a strict searcher with someone it shares nothing with.
        assert m.shared or not (m.first.strict or m.second.strict)
    # All relaxed, so at most one is left waiting.
    assert len(matched) >= len(searchers) - 1
    assert await workers[0].searching() == len(searchers) - len(matched)
