"""Sessions that stopped working, told to every worker through Redis pub/sub.

A connect trusts a session looked up in the last seconds (`SessionCache`);
a sign-out, a session trimmed by a restore or a deleted account drops its
entries on the worker that made the change, and `publish` tells the others,
whose `listen` task drops them too. What a worker misses while it is not
subscribed (Redis restarting) is cleared whole when it subscribes again.
"""

import asyncio
import json
import logging

import redis
from redis.asyncio import Redis

from ephem.accounts import SessionCache
from ephem.live.outage import UNREACHABLE, outage

log = logging.getLogger("ephem.accounts")


class RedisRevocations:
    def __init__(self, url: str, prefix: str):
        self.channel = f"{prefix}:revoked"
        # Synchronous: `Accounts` calls `publish` from the threads it runs in.
        self._publisher = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)

    def publish(self, sessions: list[str], accounts: list[str]) -> None:
        try:
            self._publisher.publish(self.channel, json.dumps({"sessions": sessions, "accounts": accounts}))
        except UNREACHABLE as exc:
            # The change itself stands; the other workers' entries lapse within
            # seconds, and while Redis is away they refuse connects anyway.
            outage.failed(exc)

    async def listen(self, client: Redis, cache: SessionCache, retry: float = 1.0) -> None:
        """Runs for as long as the worker does."""
        while True:
            try:
                async with client.pubsub() as pubsub:
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
