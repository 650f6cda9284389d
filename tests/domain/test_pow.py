"""Proof of work: challenges solve and verify, once, for whom they were issued, until they expire."""

import json
from pathlib import Path

import pytest

from ephem.live.proofs import Proofs, SpentInMemory
from ephem.pow import ProofIn, ProofOfWork, ProofRequired, leading_zero_bits, solve, solves

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "pow.json").read_text())


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def proof(challenge: dict, nonce: str | None = None) -> ProofIn:
    return ProofIn.model_validate({"challenge": challenge, "nonce": nonce or solve(challenge)})


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["note"])
def test_shared_vectors(vector):
    assert solves(vector["id"], vector["difficulty"], vector["nonce"]) is vector["valid"]


def test_leading_zero_bits():
    assert leading_zero_bits(b"\x00\x00\xff") == 16
    assert leading_zero_bits(b"\x00\x01") == 15
    assert leading_zero_bits(b"\x80") == 0
    assert leading_zero_bits(b"\x00\x00") == 16


async def test_a_solved_challenge_verifies_once():
    clock = Clock()
    proofs = Proofs(ProofOfWork(b"k" * 32, clock=clock), SpentInMemory(clock))
    challenge = proofs.challenge("signup", "10.0.0.1")
    assert challenge["difficulty"] == 12
    solved = proof(challenge)
    await proofs.redeem(solved, "signup", "10.0.0.1")
    with pytest.raises(ProofRequired, match="already used") as reused:
        await proofs.redeem(solved, "signup", "10.0.0.1")
    assert reused.value.details["challenge"]["id"] != challenge["id"]


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda c, n: ({**c, "difficulty": 0}, n), "not issued"),  # forged: the signature no longer fits
        (lambda c, n: ({**c, "signature": "0" * 64}, n), "not issued"),
        (lambda c, n: (c, next(str(i) for i in range(10**6) if not solves(c["id"], c["difficulty"], str(i)))), "does not solve"),
    ],
)
def test_forged_or_wrong_proofs_are_refused(change, why):
    pow = ProofOfWork(b"k" * 32)
    challenge = pow.challenge("signup", "a")
    nonce = solve(challenge)
    assert solves(challenge["id"], challenge["difficulty"], nonce)
    forged, bad_nonce = change(challenge, nonce)
    with pytest.raises(ProofRequired, match=why) as refused:
        pow.check(proof(forged, bad_nonce), "signup", "a")
    assert refused.value.details["challenge"]["purpose"] == "signup"


def test_a_challenge_works_only_for_its_caller_and_purpose():
    pow = ProofOfWork(b"k" * 32)
    challenge = pow.challenge("signup", "a")
    solved = proof(challenge)
    for purpose, key in (("signup", "b"), ("search", "a")):
        with pytest.raises(ProofRequired, match="not issued"):
            pow.check(solved, purpose, key)
    pow.check(solved, "signup", "a")
    with pytest.raises(ProofRequired, match="not issued"):  # another server's secret
        ProofOfWork(b"j" * 32).check(solved, "signup", "a")


def test_an_expired_challenge_is_refused():
    clock = Clock()
    pow = ProofOfWork(b"k" * 32, clock=clock, ttl=60)
    challenge = pow.challenge("search", "acct")
    solved = proof(challenge)
    clock.now += 61
    with pytest.raises(ProofRequired, match="expired"):
        pow.check(solved, "search", "acct")


def test_difficulty_rises_with_a_flood_is_capped_and_decays():
    clock = Clock()
    pow = ProofOfWork(b"k" * 32, clock=clock, base=10, step=2, per=5, cap=16, half_life=60)
    levels = [pow.challenge("signup", "flood")["difficulty"] for _ in range(30)]
    assert levels[:5] == [10] * 5 and levels[5:10] == [12] * 5 and levels[10:15] == [14] * 5
    assert max(levels) == 16 == levels[-1]
    assert pow.challenge("signup", "calm")["difficulty"] == 10  # others are not affected
    assert pow.challenge("search", "flood")["difficulty"] == 10
    clock.now += 600  # ten half-lives: the flood is forgotten
    assert pow.difficulty("signup", "flood") == 10


def test_bad_proof_shapes_are_refused_by_the_model():
    from pydantic import ValidationError

    challenge = ProofOfWork(b"k" * 32).challenge("signup", "a")
    for bad in (
        {"challenge": challenge, "nonce": ""},
        {"challenge": challenge, "nonce": "1" * 33},
        {"challenge": {**challenge, "id": "zz"}, "nonce": "1"},
        {"challenge": {**challenge, "difficulty": "12"}, "nonce": "1"},
        {"challenge": {**challenge, "extra": 1}, "nonce": "1"},
        {"challenge": challenge},
    ):
        with pytest.raises(ValidationError):
            ProofIn.model_validate(bad)
