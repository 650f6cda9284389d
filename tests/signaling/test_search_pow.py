"""An account that searches too often gets `proof_required` with a challenge, and searches again with the solution."""

from ephem.live.proofs import Proofs, SpentInMemory
from ephem.live.ratelimit import RateLimiter
from ephem.pow import ProofOfWork, solve, solves


def tighten(server):
    server.hub.search_limiter = RateLimiter(rate=0.0, burst=2)
    server.hub.proofs = Proofs(ProofOfWork(b"s" * 32, base=8, step=2, per=2, cap=14), SpentInMemory())


async def test_a_search_flood_pays_with_a_proof(server):
    tighten(server)
    a = await server.client(name="Searcher")
    for _ in range(2):  # a normal searcher: no proof
        assert (await a.call("search", {}))["status"] == "searching"
        assert (await a.call("cancel_search", {}))["ok"]
    refused = await a.call("search", {})
    assert refused["ok"] is False and refused["error"]["code"] == "proof_required"
    challenge = refused["error"]["challenge"]
    assert challenge["purpose"] == "search" and challenge["difficulty"] == 8
    assert await server.hub.matchmaker.searching() == 0  # refused: not queued
    answer = await a.call("search", {"pow": {"challenge": challenge, "nonce": solve(challenge)}})
    assert answer == {"ok": True, "status": "searching"}
    assert await server.hub.matchmaker.searching() == 1
    # The price rises with the flood.
    levels = [(await a.call("search", {}))["error"]["challenge"]["difficulty"] for _ in range(4)]
    assert levels == [8, 10, 10, 12]


async def test_bad_search_proofs_are_refused_and_queue_nothing(server):
    tighten(server)
    a = await server.client(name="Cheat")
    b = await server.client(name="Other")
    other = server.hub.proofs.challenge("search", "someone else")
    mine = server.hub.proofs.challenge("search", (await a.call("hello", {}))["account"]["id"])
    nonce = solve(mine)
    wrong = next(str(i) for i in range(10**6) if not solves(mine["id"], mine["difficulty"], str(i)))
    for bad in (
        {"challenge": mine, "nonce": wrong},
        {"challenge": {**mine, "difficulty": 0}, "nonce": nonce},
        {"challenge": other, "nonce": solve(other)},
    ):
        answer = await a.call("search", {"pow": bad})
        assert answer["error"]["code"] == "proof_required" and answer["error"]["challenge"]["id"] != mine["id"]
    for bad in ({"pow": "x"}, {"pow": {"challenge": mine}}, {"pow": None, "other": 1}, {"pow": {"challenge": mine, "nonce": "1" * 40}}):
        assert (await a.call("search", bad))["error"]["code"] == "invalid_payload"
    assert await server.hub.matchmaker.searching() == 0
    assert (await a.call("search", {"pow": {"challenge": mine, "nonce": nonce}}))["ok"]
    await a.call("cancel_search", {})
    reused = await a.call("search", {"pow": {"challenge": mine, "nonce": nonce}})
    assert reused["error"]["code"] == "proof_required" and "already used" in reused["error"]["message"]
    assert (await b.call("search", {}))["ok"]  # others are not affected
