"""The enclave half of the REST API, against the real server on both databases."""

import httpx
import pytest

from tests.api.test_accounts_api import assert_error, bearer


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def test_enclave_endpoints(server, http):
    a, b, c = (server.account(n) for n in ("Ana", "Bo", "Cem"))
    room = server.enclaves.create([a.account.id, b.account.id])
    online = await server.client(a.session_token)

    listed = await http.get("/api/enclaves", headers=bearer(a.session_token))
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()] == [room.id]
    detail = (await http.get(f"/api/enclaves/{room.id}", headers=bearer(b.session_token))).json()
    assert set(detail) == {"id", "name", "created_at", "last_active_at", "expires_at", "members"}
    assert {(m["name"], m["online"]) for m in detail["members"]} == {("Ana", True), ("Bo", False)}

    assert_error(await http.get(f"/api/enclaves/{room.id}", headers=bearer(c.session_token)), 404, "not_found")
    assert_error(await http.post(f"/api/enclaves/{room.id}/invites", headers=bearer(c.session_token)), 404, "not_found")

    invite = await http.post(
        f"/api/enclaves/{room.id}/invites", headers={**bearer(a.session_token), "Origin": "https://chat.example"}
    )
    assert invite.status_code == 201
    code = invite.json()["code"]
    assert invite.json()["url"] == f"https://chat.example/join/{code}"
    joined = await http.post(f"/api/invites/{code}/join", headers=bearer(c.session_token))
    assert joined.status_code == 200
    assert [m["name"] for m in joined.json()["members"]] == ["Ana", "Bo", "Cem"]
    assert_error(await http.post("/api/invites/bogus/join", headers=bearer(c.session_token)), 404, "not_found")
    assert_error(await http.post(f"/api/invites/{code}/join"), 401, "invalid_token")

    revoked = await http.delete(f"/api/enclaves/{room.id}/invites", headers=bearer(c.session_token))
    assert revoked.status_code == 204
    d = server.account("Dee")
    assert_error(await http.post(f"/api/invites/{code}/join", headers=bearer(d.session_token)), 404, "not_found")

    left = await http.delete(f"/api/enclaves/{room.id}/membership", headers=bearer(c.session_token))
    assert left.status_code == 204
    assert (await http.get("/api/enclaves", headers=bearer(c.session_token))).json() == []
    assert_error(await http.delete(f"/api/enclaves/{room.id}/membership", headers=bearer(c.session_token)), 404, "not_found")
    await online.close()


async def test_stats_and_ice_servers(server, http):
    a = server.account("Ana")
    assert (await http.get("/api/stats")).json() == {"online": 0, "searching": 0}
    client = await server.client(a.session_token)
    await client.call("search", {})
    assert (await http.get("/api/stats")).json() == {"online": 1, "searching": 1}
    ice = await http.get("/api/ice-servers", headers=bearer(a.session_token))
    assert ice.status_code == 200 and isinstance(ice.json()["ice_servers"], list)
    assert_error(await http.get("/api/ice-servers"), 401, "invalid_token")
    await client.close()


def test_turn_credentials_are_short_lived_and_verifiable(settings):
    import base64
    import hashlib
    import hmac
    from datetime import datetime, timezone

    from ephem.core.ice import ice_servers_for

    configured = settings.model_copy(
        update={
            "ice_servers": ({"urls": "stun:stun.example:3478"},),
            "turn_urls": ("turn:turn.example:3478",),
            "turn_secret": "s3cret",
        }
    )
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    stun, turn = ice_servers_for(configured, "acct", now)
    assert stun == {"urls": "stun:stun.example:3478"}
    expiry, account = turn["username"].split(":")
    assert account == "acct" and int(expiry) == int(now.timestamp()) + 3600
    expected = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected
    assert ice_servers_for(settings, "acct", now) == []
