"""The Python peer pays a flood's price by itself: it solves the challenge (in a thread) and tries again."""

import asyncio

import pytest

from ephem.api.app import api
from ephem.api.deps import Limits, get_limits
from ephem.live.proofs import Proofs, SpentInMemory
from ephem.live.ratelimit import RateLimiter
from ephem.peer import EphemPeer
from ephem.pow import ProofOfWork
from ephem.services import get_proofs


@pytest.fixture(params=["sqlite"])
def db_url(request):
    return request.getfixturevalue("sqlite_url")


async def test_a_flooding_peer_signs_up_and_searches_with_proofs(server):
    proofs = Proofs(ProofOfWork(b"s" * 32, base=10, step=2, per=2, cap=16), SpentInMemory())
    spent = []
    redeem = proofs.redeem

    async def counted(proof, purpose, key):
        await redeem(proof, purpose, key)
        spent.append(purpose)

    proofs.redeem = counted
    tight = Limits(signup=RateLimiter(rate=0.0, burst=1))
    api.dependency_overrides.update({get_limits: lambda: tight, get_proofs: lambda: proofs})
    server.hub.proofs, server.hub.search_limiter = proofs, RateLimiter(rate=0.0, burst=0)

    peers = [await EphemPeer.sign_up(server.url, name) for name in ("A", "B", "C")]
    assert [p.name for p in peers] == ["A", "B", "C"]
    assert spent == ["signup", "signup"]  # the first was free
    a, b = peers[0], peers[1]
    for peer in (a, b):
        await peer.connect()
    ticks = 0

    async def ticking():  # the loop keeps running while the peers solve
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(ticking())
    first = asyncio.ensure_future(a.search(timeout=20))
    await asyncio.sleep(0.1)
    assert await b.search(timeout=20) == await first
    ticker.cancel()
    assert spent.count("search") == 2
    assert ticks > 5
    for peer in peers:
        await peer.close()
