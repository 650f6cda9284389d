"""Blocks, reports and removal over REST and `/ephem`, against the real server on both databases."""

import asyncio

import httpx
import pytest

from ephem.api.deps import Limits, get_limits
from ephem.api.app import api
from ephem.live.ratelimit import RateLimiter
from tests.api.test_accounts_api import assert_error, bearer

NOBODY = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def test_block_list_and_unblock(server, http):
    a, b, c = (server.account(n) for n in ("Ana", "Bo", "Cem"))
    server.enclaves.create([a.account.id, b.account.id])
    me = bearer(a.session_token)
    made = await http.post("/api/blocks", json={"account_id": b.account.id}, headers=me)
    assert made.status_code == 201, made.text
    assert set(made.json()) == {"account_id", "name", "created_at"} and made.json()["name"] == "Bo"
    assert [x["account_id"] for x in (await http.get("/api/blocks", headers=me)).json()] == [b.account.id]

    for body, status, code in (
        ({"account_id": c.account.id}, 404, "not_found"),  # no shared enclave
        ({"account_id": a.account.id}, 422, "invalid_payload"),
        ({"account_id": 12}, 422, "invalid_payload"),
        ({"account_id": b.account.id, "extra": 1}, 422, "invalid_payload"),
        ({}, 422, "invalid_payload"),
    ):
        assert_error(await http.post("/api/blocks", json=body, headers=me), status, code)
    assert_error(await http.post("/api/blocks", json={"account_id": b.account.id}), 401, "invalid_token")
    assert len((await http.get("/api/blocks", headers=me)).json()) == 1  # nothing changed

    assert (await http.delete(f"/api/blocks/{b.account.id}", headers=me)).status_code == 204
    assert_error(await http.delete(f"/api/blocks/{b.account.id}", headers=me), 404, "not_found")
    assert_error(await http.delete("/api/blocks/nonsense", headers=me), 404, "not_found")
    assert (await http.get("/api/blocks", headers=me)).json() == []


async def test_report_with_evidence_and_bounds(server, http):
    a, b = server.account("Ana"), server.account("Bo")
    room = server.enclaves.create([a.account.id, b.account.id])
    me = bearer(a.session_token)
    message = {"name": "Bo", "text": "ب" * 4000, "ts": "2026-01-01T00:00:00.000Z", "mine": False}
    made = await http.post(
        "/api/reports",
        json={"account_id": b.account.id, "enclave_id": room.id, "reason": "spam", "messages": [message] * 50},
        headers=me,
    )
    assert made.status_code == 201, made.text  # 50 long messages pass the body limit
    stored = server.hub.safety.get_report(made.json()["id"])
    assert len(stored.evidence) == 50 and stored.evidence[0].text == "ب" * 4000

    for body in (
        {"account_id": b.account.id, "reason": ""},
        {"account_id": b.account.id, "reason": "x" * 501},
        {"account_id": b.account.id, "reason": "spam", "messages": [message] * 51},
        {"account_id": b.account.id, "reason": "spam", "messages": [{**message, "text": "x" * 4001}]},
        {"account_id": b.account.id, "reason": "spam", "messages": [{**message, "mine": "no"}]},
        {"account_id": b.account.id, "reason": "spam", "messages": [{**message, "html": "<b>"}]},
        {"account_id": a.account.id, "reason": "spam"},
    ):
        assert_error(await http.post("/api/reports", json=body, headers=me), 422, "invalid_payload")
    assert_error(await http.post("/api/reports", json={"account_id": NOBODY, "reason": "spam"}, headers=me), 404, "not_found")
    huge = {"account_id": b.account.id, "reason": "spam", "messages": [{**message, "text": "x" * 4000}] * 300}
    assert_error(await http.post("/api/reports", json=huge, headers=me), 413, "payload_too_large")
    assert_error(await http.post("/api/blocks", json={"account_id": "x" * 20_000}, headers=me), 413, "payload_too_large")
    assert len(server.hub.safety.reports()) == 1


async def test_safety_endpoints_are_rate_limited(server, http):
    a, b = server.account("Ana"), server.account("Bo")
    server.enclaves.create([a.account.id, b.account.id])
    tight = Limits(safety=RateLimiter(rate=0.0, burst=2))
    api.dependency_overrides[get_limits] = lambda: tight
    body = {"account_id": b.account.id, "reason": "spam"}
    for _ in range(2):
        assert (await http.post("/api/reports", json=body, headers=bearer(a.session_token))).status_code == 201
    assert_error(await http.post("/api/reports", json=body, headers=bearer(a.session_token)), 429, "rate_limited")
    assert len(server.hub.safety.reports()) == 2


async def test_a_host_removes_an_invitee_who_hears_it(server, http):
    a, b, c = (server.account(n) for n in ("Ana", "Bo", "Cem"))
    room = server.enclaves.create([a.account.id, b.account.id])
    await asyncio.sleep(0.01)  # joined after the match: not a host
    code = server.enclaves.invite(room.id, a.account.id).code
    server.enclaves.join(code, c.account.id)
    cem_code = server.enclaves.invite(room.id, c.account.id).code
    detail = (await http.get(f"/api/enclaves/{room.id}", headers=bearer(a.session_token))).json()
    assert {m["name"]: m["host"] for m in detail["members"]} == {"Ana": True, "Bo": True, "Cem": False}

    ana, cem = await server.client(a.session_token), await server.client(c.session_token)
    for client in (ana, cem):
        assert (await client.call("join", {"enclave_id": room.id}))["ok"]
    await ana.next("peer_joined")

    path = f"/api/enclaves/{room.id}/members"
    assert_error(await http.delete(f"{path}/{a.account.id}", headers=bearer(c.session_token)), 403, "forbidden")
    assert_error(await http.delete(f"{path}/{b.account.id}", headers=bearer(a.session_token)), 403, "forbidden")
    assert_error(await http.delete(f"{path}/{NOBODY}", headers=bearer(a.session_token)), 404, "not_found")
    assert_error(await http.delete(f"/api/enclaves/nope/members/{c.account.id}", headers=bearer(a.session_token)), 404, "not_found")
    assert (await http.delete(f"{path}/{c.account.id}", headers=bearer(a.session_token))).status_code == 204

    assert await cem.next("removed") == {"enclave_id": room.id, "account_id": c.account.id}
    left = await ana.next("peer_left")
    assert (left["account_id"], left["reason"]) == (c.account.id, "removed")
    assert await ana.next("member_left") == {"enclave_id": room.id, "account_id": c.account.id}
    assert (await cem.call("join", {"enclave_id": room.id}))["error"]["code"] == "not_member"
    assert_error(await http.post(f"/api/invites/{cem_code}/join", headers=bearer(b.session_token)), 404, "not_found")
    for client in (ana, cem):
        await client.close()


async def test_blocked_accounts_are_never_matched_through_the_hub(server, http):
    a, b, c = (server.account(n) for n in ("Ana", "Bo", "Cem"))
    server.enclaves.create([a.account.id, b.account.id])
    assert (await http.post("/api/blocks", json={"account_id": a.account.id}, headers=bearer(b.session_token))).status_code == 201
    ana, bo, cem = [await server.client(x.session_token) for x in (a, b, c)]
    assert (await ana.call("search", {}))["ok"]
    assert (await bo.call("search", {}))["ok"]
    await asyncio.sleep(0.3)
    assert ana.pending("matched") == bo.pending("matched") == 0
    assert await server.hub.stats() == {"online": 3, "searching": 2}
    assert (await cem.call("search", {}))["ok"]
    assert (await cem.next("matched"))["peer"]["account_id"] == a.account.id  # the one who waited longer
    for client in (ana, bo, cem):
        await client.close()


async def test_a_burst_of_searches_keeps_each_searcher_s_ban_and_blocks(server, http):
    # Searches arriving together share one read of bans and blocks: each still gets its own.
    a, b, c, d, m = (server.account(n) for n in ("Ana", "Bo", "Cem", "Dee", "Mal"))
    server.enclaves.create([a.account.id, b.account.id])
    assert (await http.post("/api/blocks", json={"account_id": a.account.id}, headers=bearer(b.session_token))).status_code == 201
    clients = {x.account.name: await server.client(x.session_token) for x in (a, b, c, d, m)}
    server.hub.safety.ban(m.account.id, "abuse")
    answers = dict(zip(clients, await asyncio.gather(*(client.call("search", {}) for client in clients.values()))))
    assert answers.pop("Mal")["error"]["code"] == "banned"
    assert all(answer["ok"] for answer in answers.values()), answers
    # Whoever waits can only be Ana and Bo, kept apart.
    waiting = (await server.hub.stats())["searching"]
    matched = ["Ana", "Bo", "Cem", "Dee"] if waiting == 0 else ["Cem", "Dee"]
    assert waiting in (0, 2)
    names = {x.account.id: x.account.name for x in (a, b, c, d)}
    met = {name: names[(await clients[name].next("matched"))["peer"]["account_id"]] for name in matched}
    assert all(met[met[name]] == name for name in matched)  # in pairs
    assert met.get("Ana") != "Bo"
    for client in clients.values():
        assert client.pending("matched") == 0
        await client.close()


async def test_a_banned_account_is_refused_everywhere(server, http):
    a, b = server.account("Mal"), server.account("Ana")
    room = server.enclaves.create([a.account.id, b.account.id])
    mal = await server.client(a.session_token)
    server.hub.safety.ban(a.account.id, "abuse")
    # Its open connection: the next event finds the ban and the connection is closed.
    assert (await mal.call("search", {}))["error"]["code"] == "banned"
    assert (await mal.next("session_ended"))["error"]["code"] == "banned"
    assert_error(await http.get("/api/me", headers=bearer(a.session_token)), 403, "banned")
    assert_error(await http.post("/api/accounts/restore", json={"recovery_token": a.recovery_token}), 403, "banned")
    with pytest.raises(Exception):
        await server.client(a.session_token)
    assert await server.hub.stats() == {"online": 0, "searching": 0}
    server.hub.safety.unban(a.account.id)
    again = await server.client(a.session_token)
    assert (await again.call("join", {"enclave_id": room.id}))["ok"]
    await again.close()


async def test_any_event_of_an_account_banned_meanwhile_is_refused(server, monkeypatch):
    from ephem.signaling import hub as hub_module

    monkeypatch.setattr(hub_module, "BAN_RECHECK", 0.0)  # look it up at every event
    a = server.account("Mal")
    mal = await server.client(a.session_token)
    assert (await mal.call("echo", {"x": 1}))["ok"]
    server.hub.safety.ban(a.account.id)
    assert (await mal.call("echo", {"x": 1}))["error"]["code"] == "banned"
    assert (await mal.next("session_ended"))["error"]["code"] == "banned"
