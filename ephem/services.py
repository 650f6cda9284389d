"""The process-wide domain services, built once from the settings.

With `REFLEX_REDIS_URL` set, matchmaking, presence and rate limits live in
Redis and every worker shares them; without it they live in this process.
"""

import functools

from redis.asyncio import BlockingConnectionPool, Redis

from ephem.accounts import SESSION_CACHE_SECONDS, Accounts
from ephem.actions import Actions, Live
from ephem.core.db import get_engine
from ephem.enclaves import Enclaves
from ephem.live.matchmaking import InMemoryMatchmaker
from ephem.live.matchmaking_redis import RedisMatchmaker
from ephem.live.presence import InMemoryPresence
from ephem.live.presence_redis import RedisPresence
from ephem.live.proofs import Proofs, SpentInMemory, SpentInRedis
from ephem.live.revocations_redis import RedisRevocations
from ephem.live.ratelimit import RateLimiter
from ephem.live.ratelimit_redis import RedisRateLimiter
from ephem.core.settings import get_settings
from ephem.pow import ProofOfWork
from ephem.safety import Safety
from ephem.signaling.hub import Hub


@functools.cache
def get_redis() -> Redis | None:
    url = get_settings().redis_url
    if not url:
        return None
    # Bounded: a burst of thousands of events waits for one of these
    # connections instead of opening a new one each. Timeouts: a Redis that
    # stops answering is an outage answered with `unavailable`, not a hang.
    pool = BlockingConnectionPool.from_url(
        url, max_connections=64, timeout=10, health_check_interval=30, socket_connect_timeout=3, socket_timeout=5
    )
    return Redis(connection_pool=pool)


def rate_limiter(name: str, rate: float, burst: int):
    redis = get_redis()
    if redis is None:
        return RateLimiter(rate=rate, burst=burst)
    return RedisRateLimiter(redis, rate=rate, burst=burst, prefix=f"{get_settings().redis_prefix}:rl:{name}")


@functools.cache
def get_proofs() -> Proofs:
    settings, redis = get_settings(), get_redis()
    spent = SpentInMemory() if redis is None else SpentInRedis(redis, settings.redis_prefix)
    return Proofs(ProofOfWork(settings.secret), spent)


@functools.cache
def get_accounts() -> Accounts:
    accounts = Accounts(get_engine(), get_settings())
    revocations = get_revocations()
    accounts.revocations = revocations
    return accounts


@functools.cache
def get_revocations() -> RedisRevocations | None:
    settings = get_settings()
    if not settings.redis_url:
        return None
    return RedisRevocations(settings.redis_url, settings.redis_prefix, get_redis(), SESSION_CACHE_SECONDS)


async def listen_for_revocations() -> None:
    """A lifespan task: with Redis, sessions revoked on another worker leave this one's cache."""
    revocations = get_revocations()
    if revocations is not None:
        await revocations.listen(get_accounts().sessions)


@functools.cache
def get_enclaves() -> Enclaves:
    return Enclaves(get_engine(), get_settings())


@functools.cache
def get_safety() -> Safety:
    return Safety(get_engine(), get_settings())


@functools.cache
def get_hub() -> Hub:
    settings, redis = get_settings(), get_redis()
    if redis is None:
        presence, matchmaker = InMemoryPresence(), InMemoryMatchmaker()
    else:
        presence = RedisPresence(redis, settings.redis_prefix, lease=settings.presence_lease)
        matchmaker = RedisMatchmaker(redis, settings.redis_prefix, lease=settings.presence_lease)
    return Hub(get_accounts(), get_enclaves(), presence, matchmaker, settings, get_safety(), get_proofs())


def get_live() -> Live:
    """The live side as the REST API and the Reflex state see it."""
    return get_hub()


@functools.cache
def get_actions() -> Actions:
    return Actions(get_accounts(), get_enclaves(), get_live())
