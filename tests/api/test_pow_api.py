"""Sign-up past the address's rate limit with a proof of work; everything else as before."""

import pytest
from sqlmodel import Session, func, select

from ephem.api.deps import Limits
from ephem.live.proofs import Proofs, SpentInMemory
from ephem.live.ratelimit import RateLimiter
from ephem.models import Account
from ephem.pow import ProofOfWork, solve, solves
from ephem.services import get_proofs
from tests.api.test_accounts_api import assert_error
from tests.support.rest import rest_client


@pytest.fixture
async def client(engine, db_settings):
    tight = Limits(signup=RateLimiter(rate=0.0, burst=2))
    proofs = Proofs(ProofOfWork(b"s" * 32, base=8, step=2, per=2, cap=14), SpentInMemory())
    async with rest_client(engine, db_settings, tight, {get_proofs: lambda: proofs}) as client:
        yield client


def count_accounts(engine) -> int:
    with Session(engine) as db:
        return db.exec(select(func.count()).select_from(Account)).one()


async def test_normal_sign_up_needs_no_proof_and_a_flood_gets_a_challenge(client, engine):
    for name in ("one", "two"):
        assert (await client.post("/api/accounts", json={"name": name})).status_code == 201
    refused = await client.post("/api/accounts", json={"name": "three"})
    assert_error(refused, 429, "rate_limited")  # the code existing clients know
    challenge = refused.json()["error"]["challenge"]
    assert challenge["purpose"] == "signup" and challenge["difficulty"] == 8
    paid = await client.post("/api/accounts", json={"name": "three", "pow": {"challenge": challenge, "nonce": solve(challenge)}})
    assert paid.status_code == 201, paid.text
    assert paid.json()["account"]["name"] == "three"
    assert count_accounts(engine) == 3


async def test_the_price_rises_with_the_flood(client):
    for name in ("one", "two"):
        await client.post("/api/accounts", json={"name": name})
    levels = []
    for i in range(6):
        challenge = (await client.post("/api/accounts", json={"name": f"f{i}"})).json()["error"]["challenge"]
        levels.append(challenge["difficulty"])
    assert levels == [8, 8, 10, 10, 12, 12]


async def test_bad_proofs_are_refused_and_create_nothing(client, engine):
    challenge = (await client.get("/api/challenge", params={"for": "signup"})).json()["challenge"]
    nonce = solve(challenge)
    wrong = next(str(i) for i in range(10**6) if not solves(challenge["id"], challenge["difficulty"], str(i)))
    forged = {**challenge, "difficulty": 0}
    for bad in ({"challenge": challenge, "nonce": wrong}, {"challenge": forged, "nonce": nonce}):
        refused = await client.post("/api/accounts", json={"name": "x", "pow": bad})
        assert_error(refused, 403, "proof_required")
        assert refused.json()["error"]["challenge"]["id"] != challenge["id"]
    for bad in ({"challenge": challenge}, {"challenge": {**challenge, "id": 5}, "nonce": nonce}, "proof"):
        assert_error(await client.post("/api/accounts", json={"name": "x", "pow": bad}), 422, "invalid_payload")
    assert count_accounts(engine) == 0
    good = {"challenge": challenge, "nonce": nonce}
    assert (await client.post("/api/accounts", json={"name": "x", "pow": good})).status_code == 201
    assert_error(await client.post("/api/accounts", json={"name": "y", "pow": good}), 403, "proof_required")  # spent
    assert count_accounts(engine) == 1


async def test_challenge_endpoint_validates_its_purpose(client):
    for params in ({}, {"for": "search"}, {"for": ""}):
        assert_error(await client.get("/api/challenge", params=params), 422, "invalid_payload")
    body = (await client.get("/api/challenge", params={"for": "signup"})).json()
    assert set(body["challenge"]) == {"id", "purpose", "difficulty", "expires_at", "signature"}
