"""Both presence stores behave the same: in memory, and in the machine's Redis."""

import pytest

from ephem.live.presence import InMemoryPresence, Peer
from ephem.live.presence_redis import RedisPresence


@pytest.fixture(params=["memory", "redis"])
async def presence(request, redis_connect, redis_prefix):
    if request.param == "memory":
        return InMemoryPresence()
    return RedisPresence(await redis_connect(), redis_prefix, lease=5)


def peer(peer_id, account, sid=None):
    return Peer(peer_id, account, f"name-{account}", sid or f"sid-{peer_id}")


async def test_connect_join_and_leave(presence):
    a1, a2, b = peer("a1", "A"), peer("a2", "A"), peer("b", "B")
    for p in (a1, a2, b):
        await presence.connect(p)
    assert await presence.online_accounts() == 2
    assert await presence.online(["A", "B", "C"]) == {"A", "B"}
    await presence.join("room", a1)
    await presence.join("room", b)
    assert [p.peer_id for p in await presence.peers_in("room")] == ["a1", "b"]
    assert (await presence.get("b")).sid == "sid-b"
    assert await presence.in_room("room", "b") and not await presence.in_room("room", "a2")
    assert [p.peer_id for p in await presence.peers_of("A")] == ["a1", "a2"]
    assert await presence.leave("room", "b") is True
    assert await presence.leave("room", "b") is False
    gone = await presence.disconnect("a1")
    assert gone.info.account_id == "A" and gone.enclaves == ("room",)
    assert await presence.disconnect("a1") is None
    assert await presence.peers_in("room") == []
    assert await presence.online(["A"]) == {"A"}  # a2 is still here
    await presence.disconnect("a2")
    assert await presence.online(["A"]) == set() and await presence.online_accounts() == 1
    assert await presence.get("a2") is None


async def test_a_dead_workers_connections_lapse(redis, redis_prefix):
    import asyncio

    alive = RedisPresence(redis, redis_prefix, lease=0.3)
    kept, dead = peer("kept", "K"), peer("dead", "D")
    await alive.connect(kept)
    await alive.connect(dead)
    await alive.join("room", dead)
    for _ in range(4):
        await asyncio.sleep(0.15)
        assert await alive.renew([kept]) == []  # only `kept` is renewed
    departures = await alive.lapsed()
    assert [(d.info.peer_id, d.enclaves) for d in departures] == [("dead", ("room",))]
    assert await alive.online_accounts() == 1 and await alive.peers_in("room") == []
    assert await alive.lapsed() == []


async def test_renew_reports_what_the_store_lost(redis, redis_prefix):
    store = RedisPresence(redis, redis_prefix, lease=5)
    p = peer("p", "P")
    await store.connect(p)
    keys = [key async for key in redis.scan_iter(match=f"{redis_prefix}:*")]
    await redis.delete(*keys)  # as after a Redis restart
    assert await store.renew([p]) == [p]
    await store.connect(p)
    assert await store.renew([p]) == []
