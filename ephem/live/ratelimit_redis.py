"""Token buckets shared by several workers through Redis.

One hash per key, `{prefix}:{key}` = {tokens, ts}. Each call is one Lua script
timed by the Redis server's clock, so workers agree on time without trusting
their own clocks. A missing bucket reads as full, so each bucket expires once
it would have refilled: idle keys vanish by themselves.
"""

from redis.asyncio import Redis

# KEYS: bucket. ARGV: rate, burst. Returns 1 when allowed, else 0.
_ALLOW = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
-- The server clock may step back; never let that drain the bucket.
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed = tokens >= 1
if allowed then
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000))
if allowed then
  return 1
end
return 0
"""


class RedisRateLimiter:
    """`rate` events per second on average per key, bursts up to `burst`, across all workers."""

    def __init__(self, redis: Redis, rate: float, burst: int, prefix: str = "ephem:rl") -> None:
        if rate <= 0:
            # Buckets expire when refilled; with no refill they would never go.
            raise ValueError("rate must be positive")
        self._redis = redis
        self._prefix = prefix
        self.rate = rate
        self.burst = burst
        self._allow = redis.register_script(_ALLOW)

    async def allow(self, key: str) -> bool:
        return bool(await self._allow(keys=[self._key(key)], args=[self.rate, self.burst]))

    async def forget(self, key: str) -> None:
        await self._redis.delete(self._key(key))

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"
