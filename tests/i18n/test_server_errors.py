"""Server error messages in the client's language: REST by Accept-Language,
`/ephem` by the connection's `lang` (connect auth or hello). Codes never change."""

import asyncio

import httpx
import pytest
import socketio

from ephem.accounts import Accounts
from ephem.api.app import api
from ephem.api.deps import Limits, get_limits
from ephem.services import get_accounts


@pytest.fixture
async def rest(engine, db_settings):
    api.dependency_overrides[get_accounts] = lambda: Accounts(engine, db_settings)
    limits = Limits()
    api.dependency_overrides[get_limits] = lambda: limits
    transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    api.dependency_overrides.clear()


def refusal(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == code
    return body["error"]["message"]


async def test_rest_error_in_persian(rest):
    persian = {"Accept-Language": "fa-IR,fa;q=0.9,en;q=0.5"}
    response = await rest.post("/api/accounts", json={"name": "   ", "remember": True}, headers=persian)
    assert refusal(response, 422, "invalid_name") == "لطفاً یک نام وارد کنید."
    assert response.headers["content-language"] == "fa"
    response = await rest.post("/api/accounts", json={"name": "x" * 40, "remember": True}, headers=persian)
    assert refusal(response, 422, "invalid_name") == "نام حداکثر می‌تواند ۳۲ نویسه داشته باشد."
    response = await rest.get("/api/me", headers=persian)
    assert refusal(response, 401, "invalid_token") == "توکن نشست خود را به شکل `Authorization: Bearer <token>` بفرستید."


async def test_rest_errors_in_other_languages_and_english_by_default(rest):
    response = await rest.get("/api/no-such-thing", headers={"Accept-Language": "ar-EG"})
    assert refusal(response, 404, "not_found") == "لا توجد نقطة نهاية /api/no-such-thing."
    response = await rest.post("/api/accounts", content=b"{", headers={"Accept-Language": "ru", "Content-Type": "application/json"})
    assert refusal(response, 422, "invalid_payload").startswith("Неверный запрос (")
    response = await rest.post("/api/accounts", content=b"x" * 20000, headers={"Accept-Language": "bn"})
    assert refusal(response, 413, "payload_too_large") == "অনুরোধের আকার সর্বোচ্চ ১৬,৩৮৪ বাইট।"
    response = await rest.get("/api/me", headers={"Authorization": "Bearer nope", "Accept-Language": "ky"})
    assert refusal(response, 401, "invalid_token") == "Бул сеанс аяктады. Кайра кириңиз же аккаунтту калыбына келтирүү токени менен калыбына келтириңиз."
    for headers in ({}, {"Accept-Language": "de, ja;q=0.5"}):
        response = await rest.post("/api/accounts", json={"name": ""}, headers=headers)
        assert refusal(response, 422, "invalid_name") == "Please enter a name."
        assert response.headers["content-language"] == "en"


async def test_rate_limited_counts_seconds_in_russian(rest):
    limits = Limits()
    from ephem.live.ratelimit import RateLimiter

    limits.signup = RateLimiter(rate=0.5, burst=1)
    api.dependency_overrides[get_limits] = lambda: limits
    ru = {"Accept-Language": "ru"}
    assert (await rest.post("/api/accounts", json={"name": "Ада"}, headers=ru)).status_code == 201
    response = await rest.post("/api/accounts", json={"name": "Ада"}, headers=ru)
    assert refusal(response, 429, "rate_limited") == "Слишком много попыток. Попробуйте через 2 секунды."
    assert response.headers["retry-after"] == "2"


async def connect(server, auth) -> tuple[socketio.AsyncClient, dict | None]:
    """A raw client: connected (None), or the connect refusal's data."""
    client = socketio.AsyncClient(reconnection=False)
    refused = asyncio.get_running_loop().create_future()

    @client.on("connect_error", namespace="/ephem")
    async def on_error(data):
        if not refused.done():
            refused.set_result(data)

    try:
        await client.connect(server.url, socketio_path="/_event", transports=["websocket"], namespaces=["/ephem"], auth=auth)
    except socketio.exceptions.ConnectionError:
        return client, await asyncio.wait_for(refused, 5)
    return client, None


async def call(client, event, data=None):
    return await client.call(event, data, namespace="/ephem", timeout=10)


async def test_ephem_error_in_arabic_from_the_connect_auth(server):
    token = server.account("Ana").session_token
    client, refused = await connect(server, {"token": token, "lang": "ar"})
    assert refused is None
    try:
        answer = await call(client, "join", {"enclave_id": "00000000-0000-4000-8000-000000000000"})
        assert answer == {"ok": False, "error": {"code": "not_member", "message": "لست عضوًا في هذا المجلس."}}
        answer = await call(client, "signal", {"enclave_id": "00000000-0000-4000-8000-000000000000", "to": "x", "kind": "candidate", "data": None})
        assert answer["error"] == {"code": "not_member", "message": "انضم إلى هذا المجلس قبل إرسال الإشارات فيه."}
        answer = await call(client, "no_such_event", {})
        assert answer["error"] == {"code": "unknown_event", "message": "لا يوجد حدث 'no_such_event' يقبل هذه الوسائط."}
        hello = await call(client, "hello", {})
        assert hello["ok"] is True and hello["lang"] == "ar"
    finally:
        await client.disconnect()


async def test_hello_sets_the_language_and_english_is_the_default(server):
    token = server.account("Bo").session_token
    client, _ = await connect(server, {"token": token})
    try:
        assert (await call(client, "join", {"enclave_id": "00000000-0000-4000-8000-000000000000"}))["error"]["message"] == (
            "You are not a member of this enclave."
        )
        hello = await call(client, "hello", {"lang": ["de", "ru-RU"]})
        assert hello["ok"] is True and hello["lang"] == "ru"
        answer = await call(client, "join", {"enclave_id": "00000000-0000-4000-8000-000000000000"})
        assert answer["error"] == {"code": "not_member", "message": "Вы не состоите в этом анклаве."}
        bad = await call(client, "hello", {"lang": 5})
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
        assert bad["error"]["message"].startswith("Неверные данные события hello: lang")
        hello = await call(client, "hello", {"lang": "it"})  # not ours: English again
        assert hello["lang"] == "en"
    finally:
        await client.disconnect()


async def test_connect_refusal_in_the_language_asked_for(server):
    _, refused = await connect(server, {"token": "forged", "lang": "fa-IR"})
    assert refused["data"] == {
        "code": "invalid_token",
        "message": "این نشست به پایان رسیده است. دوباره وارد شوید یا با توکن بازیابی، حساب را بازگردانید.",
    }
    assert refused["message"] == refused["data"]["message"]
    _, refused = await connect(server, {"token": "forged"})
    assert refused["data"]["message"] == "This session has ended. Sign in again or restore with your recovery token."


async def test_a_sign_out_is_pushed_in_the_language_of_the_request(server):
    account = server.account("Cy")
    client, _ = await connect(server, {"token": account.session_token, "lang": "ru"})
    ended = asyncio.get_running_loop().create_future()
    client.on("session_ended", lambda data: ended.set_result(data), namespace="/ephem")
    try:
        async with httpx.AsyncClient(base_url=server.url) as rest:
            response = await rest.delete(
                "/api/session", headers={"Authorization": f"Bearer {account.session_token}", "Accept-Language": "bn"}
            )
            assert response.status_code == 204
        data = await asyncio.wait_for(ended, 5)
        assert data == {"ok": False, "error": {"code": "invalid_token", "message": "আপনি এই সেশন থেকে সাইন আউট করেছেন।"}}
    finally:
        await client.disconnect()


async def test_a_ban_is_answered_and_pushed_in_the_connection_language(server, monkeypatch):
    from ephem.signaling import hub as hub_module

    # An open connection finds a ban within BAN_RECHECK (its connect's read
    # counts as a look-up): look it up at every event here.
    monkeypatch.setattr(hub_module, "BAN_RECHECK", 0.0)
    account = server.account("Dee")
    client, _ = await connect(server, {"token": account.session_token, "lang": "ky"})
    ended = asyncio.get_running_loop().create_future()
    client.on("session_ended", lambda data: ended.done() or ended.set_result(data), namespace="/ephem")
    try:
        await asyncio.to_thread(server.hub.safety.ban, account.account.id, "spam")
        answer = await call(client, "echo", {})
        assert answer == {"ok": False, "error": {"code": "banned", "message": "Бул аккаунтка тыюу салынган."}}
        assert await asyncio.wait_for(ended, 5) == answer
    finally:
        await client.disconnect()


async def test_an_event_only_the_server_sends_is_refused_in_the_connection_language(server):
    token = server.account("Eli").session_token
    client, _ = await connect(server, {"token": token, "lang": "fa"})
    try:
        answer = await client.call("connect", ({}, {"token": token}), namespace="/ephem", timeout=5)
        assert answer == {"ok": False, "error": {"code": "unknown_event", "message": "این رویدادی نیست که کلاینت بتواند بفرستد."}}
    finally:
        await client.disconnect()


async def test_the_reason_behind_a_refused_payload_is_said_too(server):
    token = server.account("Fay").session_token
    client, _ = await connect(server, {"token": token, "lang": "ru"})
    try:
        answer = await call(client, "search", {"interests": ["x" * 40]})
        assert answer["error"] == {
            "code": "invalid_payload",
            "message": "Неверные данные события search: interests: не более 5 интересов длиной от 1 до 24 симв.: буквы, цифры, пробелы или дефисы.",
        }
        answer = await call(client, "echo", {"text": "\ud800"})
        assert answer["error"]["code"] == "invalid_payload"
        assert answer["error"]["message"] == (
            "Неверные данные события echo: text должен быть корректным Юникодом (в нём есть одиночный суррогат, например \\ud800)."
        )
    finally:
        await client.disconnect()


def test_errors_the_browser_writes_itself_are_said_in_the_pages_language():
    from ephem.i18n import translate
    from ephem.ui.state import BROWSER_ERRORS

    for text in BROWSER_ERRORS:  # as session.js writes them, plain strings
        assert translate(str(text), "fa") != str(text)
    assert translate("The server did not answer.", "ru") == "Сервер не ответил."
