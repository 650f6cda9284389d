"""Token buckets keyed by caller (an IP, a connection): flooding gets `rate_limited`."""

import threading
import time
from collections import OrderedDict


class RateLimiter:
    """`rate` events per second on average, bursts up to `burst`.

    In one process; `RedisRateLimiter` (ephem.live.ratelimit_redis) shares the
    buckets between workers. The buckets are bounded (least recently used go
    first) so a flood of distinct keys cannot grow memory without end.
    """

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000, clock=time.monotonic):
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    async def allow(self, key: str) -> bool:
        return self.allow_now(key)

    def allow_now(self, key: str, cost: float = 1) -> bool:
        """`allow` for callers that cannot await (a logging filter); `cost`
        tokens at once for buckets of bytes rather than events."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= cost
            self._buckets[key] = (tokens - cost if allowed else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return allowed

    async def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)
