"""Sessions that stopped working, told to every worker through Redis pub/sub.

A connect trusts a session looked up in the last seconds (`SessionCache`);
a sign-out, a session trimmed by a restore or a deleted account drops its
entries on the worker that made the change, and `publish` tells the others,
whose `listen` task drops them too. What a worker misses while it is not
subscribed (Redis restarting) is cleared whole when it subscribes again.

A message can still be on its way when the next connect reaches another
worker, so `publish` also leaves a key per session and account for as long
as any cache entry lives, and a connect that finds its session cached asks
`revoked` first: one round trip, where a miss costs a database read.
"""

import asyncio
import json
import logging
import math

import redis
from redis.asyncio import Redis

from ephem.accounts import SessionCache
from ephem.live.outage import UNREACHABLE, outage

log = logging.getLogger("ephem.accounts")


class RedisRevocations:
    def __init__(self, url: str, prefix: str, client: Redis, ttl: float):
        self.channel = f"{prefix}:revoked"
        self.client, self.ttl = client, max(1, math.ceil(ttl))
        # Synchronous: `Accounts` calls `publish` from the threads it runs in.
        self._publisher = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)

    def _session_key(self, digest: str) -> str:
        return f"{self.channel}:s:{digest}"

    def _account_key(self, account_id: str) -> str:
        return f"{self.channel}:a:{account_id}"

    def publish(self, sessions: list[str], accounts: list[str]) -> None:
        try:
            pipe = self._publisher.pipeline(transaction=False)
            for key in [self._session_key(d) for d in sessions] + [self._account_key(a) for a in accounts]:
                pipe.set(key, 1, ex=self.ttl)
            pipe.publish(self.channel, json.dumps({"sessions": sessions, "accounts": accounts}))
            pipe.execute()
        except UNREACHABLE as exc:
            # The change itself stands; the other workers' entries lapse within
            # seconds, and while Redis is away they refuse connects anyway.
            outage.failed(exc)

    async def revoked(self, digest: str, account_id: str) -> bool:
        """Whether this session or its account was revoked in the last `ttl` seconds."""
        return bool(await self.client.exists(self._session_key(digest), self._account_key(account_id)))

    async def listen(self, cache: SessionCache, retry: float = 1.0) -> None:
        """Runs for as long as the worker does."""
        while True:
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    cache.clear()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            dropped = json.loads(message["data"])
                            cache.drop(dropped.get("sessions", ()), dropped.get("accounts", ()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - subscribed again after a pause
                outage.report(log, exc, "listening for revoked sessions failed")
                cache.clear()
            await asyncio.sleep(retry)
