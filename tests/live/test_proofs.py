"""Spent challenge ids: refused a second time, on one worker or across workers through Redis."""

from ephem.live.proofs import SpentInMemory, SpentInRedis


async def test_spent_once_in_memory():
    spent = SpentInMemory(clock=lambda: 100.0)
    assert await spent.spend("a" * 32, 200) is True
    assert await spent.spend("a" * 32, 200) is False
    assert await spent.spend("b" * 32, 200) is True


async def test_spent_once_across_workers(redis_connect, redis_prefix):
    one, two = [SpentInRedis(await redis_connect(), redis_prefix) for _ in range(2)]
    expires = one.clock() + 60
    assert await one.spend("c" * 32, expires) is True
    assert await two.spend("c" * 32, expires) is False
    assert await two.spend("d" * 32, expires) is True
    ttl = await (await redis_connect()).pttl(f"{redis_prefix}:pow:{'c' * 32}")
    assert 0 < ttl <= 61_000  # gone once the challenge could no longer be redeemed anyway
