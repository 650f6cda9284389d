"""The REST API against the real FastAPI app, on SQLite and PostgreSQL."""

import httpx
import pytest
from sqlmodel import Session, select

from ephem.accounts import Accounts
from ephem.models import Account
from ephem.api.app import api
from ephem.api.deps import Limits, get_limits
from ephem.live.ratelimit import RateLimiter
from tests.support.rest import rest_client


@pytest.fixture
async def client(engine, db_settings):
    async with rest_client(engine, db_settings) as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_health_and_openapi(client):
    assert (await client.get("/api/health")).json() == {"ok": True}
    spec = (await client.get("/api/openapi.json")).json()
    for path in ("/api/accounts", "/api/accounts/restore", "/api/me", "/api/me/recovery-token", "/api/health"):
        assert path in spec["paths"]
    name = spec["components"]["schemas"]["CreateAccountIn"]["properties"]["name"]
    assert name["minLength"] == 1 and name["maxLength"] == 1000
    empty = await client.post("/api/accounts", json={"name": "", "remember": True})
    assert empty.json()["error"] == {"code": "invalid_name", "message": "Please enter a name."}


async def test_account_lifecycle(client):
    created = await client.post("/api/accounts", json={"name": " زهرا ", "remember": True})
    assert created.status_code == 201
    body = created.json()
    account = body["account"]
    assert account["name"] == "زهرا" and account["remember"] is True
    assert set(account) == {"id", "name", "remember", "created_at", "last_seen_at", "expires_at"}
    assert account["created_at"].endswith("Z") and account["expires_at"] > account["last_seen_at"]

    me = await client.get("/api/me", headers=bearer(body["session_token"]))
    assert me.status_code == 200 and me.json()["id"] == account["id"]

    restored = await client.post("/api/accounts/restore", json={"recovery_token": body["recovery_token"]})
    assert restored.status_code == 200
    assert restored.json()["account"]["id"] == account["id"]
    new_session = restored.json()["session_token"]
    assert new_session != body["session_token"]

    rotated = await client.post("/api/me/recovery-token", headers=bearer(new_session))
    assert rotated.status_code == 200
    assert_error(
        await client.post("/api/accounts/restore", json={"recovery_token": body["recovery_token"]}), 401, "invalid_token"
    )
    again = await client.post("/api/accounts/restore", json={"recovery_token": rotated.json()["recovery_token"]})
    assert again.status_code == 200

    signed_out = await client.delete("/api/session", headers=bearer(body["session_token"]))
    assert signed_out.status_code == 204
    assert_error(await client.get("/api/me", headers=bearer(body["session_token"])), 401, "invalid_token")

    deleted = await client.delete("/api/me", headers=bearer(new_session))
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(await client.get("/api/me", headers=bearer(new_session)), 401, "invalid_token")
    assert_error(
        await client.post("/api/accounts/restore", json={"recovery_token": rotated.json()["recovery_token"]}),
        401,
        "invalid_token",
    )


@pytest.mark.parametrize(
    "body, code",
    [
        ({"name": "", "remember": True}, "invalid_name"),
        ({"name": "a\x00b"}, "invalid_name"),
        ({"name": "x" * 33}, "invalid_name"),
        ({"name": "x" * 5000}, "invalid_payload"),
        ({"name": 5}, "invalid_payload"),
        ({"name": "ok", "remember": "maybe"}, "invalid_payload"),
        ({"name": "ok", "remember": "yes"}, "invalid_payload"),  # a bool, not something like one
        ({"name": "ok", "remember": 1}, "invalid_payload"),
        ({"name": "\u200b\u200b"}, "invalid_name"),
        ({"name": "ok", "admin": True}, "invalid_payload"),
        ({}, "invalid_payload"),
        ([1, 2], "invalid_payload"),
    ],
)
async def test_bad_sign_ups_are_refused_and_create_nothing(client, engine, body, code):
    assert_error(await client.post("/api/accounts", json=body), 422, code)
    with Session(engine) as db:
        assert db.exec(select(Account)).all() == []


async def test_malformed_and_oversized_bodies(client):
    assert_error(
        await client.post("/api/accounts", content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "invalid_payload",
    )
    assert_error(await client.post("/api/accounts", content=b"x" * 20_000), 413, "payload_too_large")


async def test_a_chunked_body_is_refused_once_past_the_limit_not_read_to_its_end(client):
    sent = 0

    async def endless():  # no Content-Length: chunked
        nonlocal sent
        while sent < 10_000_000:
            sent += 1024
            yield b"x" * 1024

    assert_error(await client.post("/api/accounts", content=endless()), 413, "payload_too_large")
    assert sent < 64 * 1024

    async def small():
        yield b'{"name": "Chunky",'
        yield b' "remember": false}'

    created = await client.post("/api/accounts", content=small(), headers={"content-type": "application/json"})
    assert created.status_code == 201 and created.json()["account"]["name"] == "Chunky"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}, bearer("forged")])
async def test_unauthorized_requests(client, headers):
    for method, path in [("GET", "/api/me"), ("DELETE", "/api/me"), ("POST", "/api/me/recovery-token")]:
        assert_error(await client.request(method, path, headers=headers), 401, "invalid_token")


async def test_unknown_paths_and_methods_use_the_error_shape(client):
    assert_error(await client.get("/api/nowhere"), 404, "not_found")
    for method in ("PUT", "OPTIONS", "TRACE", "PATCH"):
        wrong = await client.request(method, "/api/me")
        assert_error(wrong, 405, "method_not_allowed")
        assert wrong.headers["allow"] == "DELETE, GET"
    assert (await client.head("/api/health")).status_code == 200  # load balancers' health checks
    head = await client.head("/api/me")
    assert head.status_code == 405 and head.headers["allow"] == "DELETE, GET"


async def test_sign_up_flood_is_rate_limited(client):
    tight = Limits(signup=RateLimiter(rate=0.0, burst=3), restore=RateLimiter(rate=0.0, burst=2))
    api.dependency_overrides[get_limits] = lambda: tight
    statuses = [(await client.post("/api/accounts", json={"name": f"n{i}"})).status_code for i in range(5)]
    assert statuses[:3] == [201] * 3
    assert statuses[3:] == [429, 429]
    assert_error(await client.post("/api/accounts", json={"name": "late"}), 429, "rate_limited")
    guesses = [(await client.post("/api/accounts/restore", json={"recovery_token": "guess"})).status_code for _ in range(3)]
    assert guesses == [401, 401, 429]


async def test_rate_limited_answers_say_when_to_come_back(client):
    slow = Limits(signup=RateLimiter(rate=0.5, burst=1))
    api.dependency_overrides[get_limits] = lambda: slow
    assert (await client.post("/api/accounts", json={"name": "first"})).status_code == 201
    refused = await client.post("/api/accounts", json={"name": "second"})
    assert_error(refused, 429, "rate_limited")
    assert refused.headers["retry-after"] == "2"
    assert "2 seconds" in refused.json()["error"]["message"]


async def test_an_internal_failure_is_not_a_traceback(client, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(Accounts, "create", explode)
    response = await client.post("/api/accounts", json={"name": "x"})
    assert_error(response, 503, "unavailable")
    assert "fire" not in response.text and "Traceback" not in response.text


@pytest.fixture
async def mounted(client):
    """The API as Reflex serves it: its own app mounted behind ours, answering
    whatever reaches it in plain text."""
    from starlette.responses import PlainTextResponse

    async def reflex_like(scope, receive, send):
        await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)

    api.mount("", reflex_like)
    try:
        yield client
    finally:
        api.router.routes.pop()


@pytest.mark.parametrize("path", ["/api", "/api/", "/api?x=1", "/api/enclaves/", "/api/me/", "/api//me", "/api/%ZZ", "/api/..%2F"])
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE", "PROPFIND", "FOO"])
async def test_every_unknown_api_path_answers_in_the_error_shape_behind_reflex(mounted, path, method):
    response = await mounted.request(method, path)
    assert response.status_code == 404, (method, path, response.text)
    assert response.headers["content-type"] == "application/json"
    if method != "HEAD":
        assert response.json()["error"]["code"] == "not_found"


async def test_unknown_methods_on_known_paths_answer_in_the_error_shape_behind_reflex(mounted):
    response = await mounted.request("PROPFIND", "/api/me")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET"
    assert (await mounted.get("/not-the-api")).text == "Not Found"  # the rest is still Reflex's


@pytest.mark.parametrize("body", [b'{"name": "\\ud800", "remember": true}', b'{"name": "Bo\xed\xa0\x80", "remember": true}'])
async def test_a_lone_surrogate_in_a_name_is_invalid_not_too_large(client, body):
    response = await client.post("/api/accounts", content=body, headers={"content-type": "application/json"})
    assert_error(response, 422, "invalid_payload")
    assert "name" in response.json()["error"]["message"]


async def test_redis_out_of_reach_is_unavailable_logged_once(client, engine, redis, redis_prefix, caplog):
    from redis.asyncio import Redis

    from ephem.live.outage import outage
    from ephem.live.ratelimit_redis import RedisRateLimiter
    from tests.support.live_app import free_port

    nowhere = Redis(port=free_port(), retry=None)  # nothing listens there: refused, at once as in services.py
    api.dependency_overrides[get_limits] = lambda: Limits(signup=RedisRateLimiter(nowhere, rate=1, burst=5))
    try:
        with caplog.at_level("WARNING"):
            for name in ("one", "two", "three"):
                response = await client.post("/api/accounts", json={"name": name})
                assert_error(response, 503, "unavailable")
                assert response.headers["retry-after"] == "5"
        warnings = [r for r in caplog.records if "Redis is out of reach" in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].exc_info is None
        assert not [r for r in caplog.records if r.levelname == "ERROR" or r.exc_info]
        with Session(engine) as session:
            assert session.exec(select(Account)).all() == []  # nothing was created
        # Redis answering again: sign-ups go through, and the log says so once.
        reachable = RedisRateLimiter(redis, rate=1, burst=5, prefix=f"{redis_prefix}:rl")
        api.dependency_overrides[get_limits] = lambda: Limits(signup=reachable)
        assert (await client.post("/api/accounts", json={"name": "back"})).status_code == 201
    finally:
        outage.recovered()
        await nowhere.aclose()
