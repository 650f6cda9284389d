"""Proof of work (hashcash): a price on sign-up and search that a flood pays.

A challenge is stateless: `{id, purpose, difficulty, expires_at, signature}`,
signed with an HMAC of the settings' secret over those fields and over whom it
was issued to (an address, an account), so any worker verifies it without
storage and it cannot be handed to another caller. A solution is a nonce (a
string of up to 32 characters) such that SHA-256(id + ":" + nonce) starts with
`difficulty` zero bits. Each challenge is spent once (`ephem.live.proofs`).

Difficulty rises with the challenges one caller has been issued lately (a
counter halving every `half_life` seconds): `base` bits for the first few,
`step` bits more for each `per` after, at most `cap`.
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ephem.errors import EphemError
from ephem.i18n import N_

PURPOSES = ("signup", "search")
MAX_NONCE = 32
MAX_BITS = 32


class ProofRequired(EphemError):
    """No proof, or one that does not count: the answer carries a fresh challenge."""

    code = "proof_required"
    status = 403

    def __init__(self, message: str, challenge: dict | None = None):
        super().__init__(message)
        self.details = {"challenge": challenge} if challenge else {}


class ChallengeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")
    purpose: Literal["signup", "search"]
    difficulty: int = Field(ge=0, le=MAX_BITS, strict=True)
    expires_at: int = Field(ge=0, strict=True)
    signature: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


class ProofIn(BaseModel):
    """`pow: {challenge, nonce}` in a sign-up or a search."""

    model_config = ConfigDict(extra="forbid")
    challenge: ChallengeIn
    nonce: str = Field(min_length=1, max_length=MAX_NONCE)


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def digest(challenge_id: str, nonce: str) -> bytes:
    return hashlib.sha256(f"{challenge_id}:{nonce}".encode()).digest()


def solves(challenge_id: str, difficulty: int, nonce: str) -> bool:
    return leading_zero_bits(digest(challenge_id, nonce)) >= difficulty


def solve(challenge: dict) -> str:
    """The first decimal nonce that solves `challenge` (about 2**difficulty tries)."""
    prefix, want = f"{challenge['id']}:".encode(), challenge["difficulty"]
    nonce = 0
    while True:
        if leading_zero_bits(hashlib.sha256(prefix + str(nonce).encode()).digest()) >= want:
            return str(nonce)
        nonce += 1


class ProofOfWork:
    def __init__(
        self,
        secret: bytes,
        clock=time.time,
        base: int = 12,
        step: int = 2,
        per: int = 5,
        cap: int = 22,
        half_life: float = 600,
        ttl: float = 300,
        max_keys: int = 100_000,
    ):
        self._key = hmac.new(secret, b"ephem proof of work", hashlib.sha256).digest()
        self.clock = clock
        self.base, self.step, self.per, self.cap = base, step, per, cap
        self.half_life, self.ttl, self.max_keys = half_life, ttl, max_keys
        self._counts: OrderedDict[str, tuple[float, float]] = OrderedDict()  # purpose:key -> (count, when)
        self._lock = threading.Lock()

    def _decayed(self, slot: str, now: float) -> float:
        count, then = self._counts.get(slot, (0.0, now))
        return count * 0.5 ** (max(0.0, now - then) / self.half_life)

    def difficulty(self, purpose: str, key: str) -> int:
        with self._lock:
            count = self._decayed(f"{purpose}:{key}", self.clock())
        return self._level(count)

    def _level(self, count: float) -> int:
        # The slack: a burst's last few milliseconds of decay do not lower its price.
        return min(self.cap, self.base + self.step * int((count + 0.01) // self.per))

    def challenge(self, purpose: str, key: str) -> dict:
        """A fresh challenge for `key`; each one issued makes the next dearer."""
        now, slot = self.clock(), f"{purpose}:{key}"
        with self._lock:
            count = self._decayed(slot, now)
            self._counts.pop(slot, None)
            self._counts[slot] = (count + 1, now)
            while len(self._counts) > self.max_keys:
                self._counts.popitem(last=False)
        difficulty = self._level(count)
        fields = {"id": secrets.token_hex(16), "purpose": purpose, "difficulty": difficulty, "expires_at": int(now + self.ttl)}
        return {**fields, "signature": self._sign(fields, key)}

    def check(self, proof: ProofIn, purpose: str, key: str) -> None:
        """Raises ProofRequired (with a fresh challenge) unless `proof` solves a
        live challenge issued to `key` for `purpose`. Spending it is the caller's."""
        ch = proof.challenge
        fields = {"id": ch.id, "purpose": ch.purpose, "difficulty": ch.difficulty, "expires_at": ch.expires_at}
        if ch.purpose != purpose or not hmac.compare_digest(self._sign(fields, key), ch.signature):
            problem = N_("That challenge was not issued for this. Solve this one instead.")
        elif ch.expires_at < self.clock():
            problem = N_("That challenge has expired. Solve this one instead.")
        elif not solves(ch.id, ch.difficulty, proof.nonce):
            problem = N_("That nonce does not solve the challenge. Solve this one instead.")
        else:
            return
        raise ProofRequired(problem, self.challenge(purpose, key))

    def _sign(self, fields: dict, key: str) -> str:
        text = f"{fields['id']}|{fields['purpose']}|{fields['difficulty']}|{fields['expires_at']}|{key}"
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()
