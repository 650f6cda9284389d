"""Fixtures on the machine's Redis, loaded for every test module by conftest.py.

Every test gets its own random key prefix, deleted afterwards, so tests never
see each other's keys. Only an unreachable server skips: a reachable one that
refuses us (auth, permissions) fails the test.
"""

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, AuthorizationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

REDIS_URL = os.environ.get("EPHEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _connect() -> Redis:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (AuthenticationError, AuthorizationError):
        await client.aclose()
        raise
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        await client.aclose()
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return client


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A fresh key prefix on a reachable Redis; its keys are deleted afterwards."""
    admin = await _connect()
    prefix = f"ephem-test-{secrets.token_hex(8)}"
    try:
        yield prefix
    finally:
        keys = [key async for key in admin.scan_iter(match=f"{prefix}:*")]
        if keys:
            await admin.delete(*keys)
        await admin.aclose()


@pytest.fixture
async def redis_connect(redis_prefix) -> AsyncIterator[Callable[[], Awaitable[Redis]]]:
    """Opens a separate client (as another worker would) per call, all closed afterwards."""
    clients: list[Redis] = []

    async def connect() -> Redis:
        client = await _connect()
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.aclose()


@pytest.fixture
async def redis(redis_connect) -> Redis:
    return await redis_connect()
