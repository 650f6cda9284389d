"""Proofs of work spent once: the challenge ids already redeemed, until they expire.

In one process, or in Redis (`SET NX` with the challenge's remaining life) so
that a proof redeemed on one worker is refused on every other.
"""

import threading
import time

from redis.asyncio import Redis

from ephem.i18n import N_
from ephem.pow import ProofIn, ProofOfWork, ProofRequired


class SpentInMemory:
    def __init__(self, clock=time.time):
        self.clock = clock
        self._spent: dict[str, float] = {}  # challenge id -> expires_at
        self._lock = threading.Lock()

    async def spend(self, challenge_id: str, expires_at: float) -> bool:
        """True the first time; False for an id already spent."""
        now = self.clock()
        with self._lock:
            if len(self._spent) > 1024:  # expired ids can no longer be redeemed anyway
                self._spent = {i: t for i, t in self._spent.items() if t >= now}
            if challenge_id in self._spent:
                return False
            self._spent[challenge_id] = expires_at
            return True


class SpentInRedis:
    def __init__(self, redis: Redis, prefix: str, clock=time.time):
        self._redis, self._prefix, self.clock = redis, prefix, clock

    async def spend(self, challenge_id: str, expires_at: float) -> bool:
        ttl_ms = max(1, int((expires_at - self.clock()) * 1000) + 1000)
        return bool(await self._redis.set(f"{self._prefix}:pow:{challenge_id}", 1, nx=True, px=ttl_ms))


class Proofs:
    """Challenges to hand out, and proofs to redeem, for sign-up and search."""

    def __init__(self, pow: ProofOfWork, spent):
        self.pow, self.spent = pow, spent

    def challenge(self, purpose: str, key: str) -> dict:
        return self.pow.challenge(purpose, key)

    async def redeem(self, proof: ProofIn, purpose: str, key: str) -> None:
        self.pow.check(proof, purpose, key)
        if not await self.spent.spend(proof.challenge.id, proof.challenge.expires_at):
            raise ProofRequired(N_("That proof was already used. Solve this one instead."), self.challenge(purpose, key))
