import asyncio

import pytest

from ephem.live.ratelimit_redis import RedisRateLimiter


async def test_burst_then_refused(redis, redis_prefix):
    limiter = RedisRateLimiter(redis, rate=0.01, burst=3, prefix=redis_prefix)
    assert [await limiter.allow("ip") for _ in range(5)] == [True, True, True, False, False]
    assert await limiter.allow("other-ip") is True  # buckets are per key


async def test_refills_over_time(redis, redis_prefix):
    # Timed by the Redis server's clock: a token a second leaves half a second
    # either way for a loaded machine's delays between the calls.
    limiter = RedisRateLimiter(redis, rate=1, burst=2, prefix=redis_prefix)
    assert [await limiter.allow("ip") for _ in range(3)] == [True, True, False]
    await asyncio.sleep(1.5)  # 1.5 tokens back
    assert [await limiter.allow("ip") for _ in range(2)] == [True, False]
    await asyncio.sleep(2.5)  # refills up to the burst, not beyond
    assert [await limiter.allow("ip") for _ in range(3)] == [True, True, False]


async def _worker(redis_connect, prefix: str, burst: int) -> RedisRateLimiter:
    """A limiter on its own connection, as another backend process would have; no refill to speak of."""
    return RedisRateLimiter(await redis_connect(), rate=0.01, burst=burst, prefix=prefix)


async def test_two_workers_share_one_bucket(redis_connect, redis_prefix):
    first, second = [await _worker(redis_connect, redis_prefix, burst=4) for _ in range(2)]
    assert [await limiter.allow("ip") for limiter in (first, second, first, second)] == [True] * 4
    assert await first.allow("ip") is False
    assert await second.allow("ip") is False


async def test_concurrent_calls_spend_each_token_once(redis_connect, redis_prefix):
    limiters = [await _worker(redis_connect, redis_prefix, burst=10) for _ in range(2)]
    results = await asyncio.gather(*(limiters[i % 2].allow("ip") for i in range(50)))
    assert results.count(True) == 10


async def test_forget_resets(redis, redis_prefix):
    limiter = RedisRateLimiter(redis, rate=0.01, burst=1, prefix=redis_prefix)
    assert await limiter.allow("ip") is True
    assert await limiter.allow("ip") is False
    await limiter.forget("ip")
    assert await limiter.allow("ip") is True
    await limiter.forget("never-seen")


async def test_idle_buckets_expire_once_full_again(redis, redis_prefix):
    limiter = RedisRateLimiter(redis, rate=1, burst=2, prefix=redis_prefix)
    await limiter.allow("ip")
    await limiter.allow("ip")
    assert 1900 < await redis.pttl(f"{redis_prefix}:ip") <= 2000  # two tokens to refill at 1/s
    fast = RedisRateLimiter(redis, rate=50, burst=1, prefix=f"{redis_prefix}:fast")
    await fast.allow("ip")
    assert await redis.exists(f"{redis_prefix}:fast:ip") == 1
    await asyncio.sleep(0.1)  # the single token is back after 20 ms
    assert await redis.exists(f"{redis_prefix}:fast:ip") == 0
    assert await fast.allow("ip") is True


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        RedisRateLimiter(None, rate=0, burst=1)  # type: ignore[arg-type]
