"""Connecting is cheap: no database write on the connect path, sessions looked
up once and cached for seconds, and still every sign-out, trimmed session and
deleted account refused on the very next connect; `last_seen_at` written in
batches within its interval."""

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import socketio
from sqlalchemy import event, update
from sqlmodel import col

from ephem.core.db import session_scope
from ephem.models import Account
from tests.support.hubserver import serve


class Statements:
    """Every SQL statement the engine runs while counting."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_):
        self.seen.append(statement.split(None, 1)[0].upper())

    def writes(self) -> list[str]:
        return [s for s in self.seen if s in ("INSERT", "UPDATE", "DELETE")]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


async def refusal(url: str, token: str) -> dict:
    """The connect_error of a connect with `token`, which must be refused."""
    client = socketio.AsyncClient(reconnection=False)
    refused = asyncio.get_running_loop().create_future()

    @client.on("connect_error", namespace="/ephem")
    async def on_error(data):
        refused.done() or refused.set_result(data)

    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, socketio_path="/_event", transports=["websocket"], namespaces=["/ephem"], auth={"token": token})
    return (await asyncio.wait_for(refused, 5))["data"]


def last_seen(engine, account_id: str) -> datetime:
    with session_scope(engine) as db:
        seen = db.get(Account, account_id).last_seen_at
    return seen if seen.tzinfo else seen.replace(tzinfo=timezone.utc)


def set_last_seen(engine, account_id: str, moment: datetime) -> None:
    with session_scope(engine) as db:
        db.execute(update(Account).where(col(Account.id) == account_id).values(last_seen_at=moment))


async def test_connecting_writes_nothing_and_a_reconnect_reads_nothing(server, engine, monkeypatch):
    created = server.account("Quiet")
    # Not seen for an hour: the connect used to write last_seen_at itself.
    set_last_seen(engine, created.account.id, datetime.now(timezone.utc) - timedelta(hours=1))
    # Only the connect path is counted: the upkeep's batched write waits meanwhile.
    monkeypatch.setattr(server.hub, "_write_seen", lambda: None)
    statements = Statements(engine)
    try:
        first = await server.client(created.session_token)  # connect + hello
        assert statements.writes() == []
        looked_up = len(statements.seen)
        assert looked_up >= 1
        second = await server.client(created.session_token)  # a reconnect: the session is cached
        assert len(statements.seen) == looked_up
        assert second.account["id"] == created.account.id
    finally:
        statements.close()
    monkeypatch.undo()
    await asyncio.sleep(0.5)
    assert last_seen(engine, created.account.id) > datetime.now(timezone.utc) - timedelta(seconds=5)  # then it is written
    await asyncio.gather(first.close(), second.close())


@pytest.mark.parametrize("how", ["sign_out", "restore_trim", "delete"])
async def test_a_revoked_session_is_refused_at_once_though_cached(server, engine, how):
    created = server.account("Cached")
    tab = await server.client(created.session_token)
    await tab.close()  # the session is in the cache now
    headers = {"Authorization": f"Bearer {created.session_token}"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        if how == "sign_out":
            assert (await http.delete("/api/session", headers=headers)).status_code == 204
        elif how == "delete":
            assert (await http.delete("/api/me", headers=headers)).status_code == 204
        else:  # restoring past the limit of sessions signs the oldest out
            for _ in range(server.accounts.settings.max_sessions_per_account):  # as POST /api/accounts/restore does
                await asyncio.to_thread(server.accounts.restore, created.recovery_token)
    refused = await refusal(server.url, created.session_token)
    assert refused["code"] == "invalid_token" and refused["message"]


@pytest.fixture
async def quick_server(engine, db_settings):
    """Session-only grace of 3 s: `last_seen_at` is written every second."""
    async with serve(engine, db_settings.model_copy(update={"session_grace_seconds": 3})) as running:
        assert running.accounts.settings.seen_interval == timedelta(seconds=1)
        yield running


async def test_last_seen_still_advances_for_connected_accounts(quick_server, engine):
    created = quick_server.account("Here", remember=False)
    client = await quick_server.client(created.session_token)
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    set_last_seen(engine, created.account.id, long_ago)
    for _ in range(3):
        await asyncio.sleep(1.2)
        seen = last_seen(engine, created.account.id)
        assert seen > datetime.now(timezone.utc) - timedelta(seconds=2.5), "not written within its interval"
        set_last_seen(engine, created.account.id, long_ago)
    await client.close()


async def test_the_grace_period_starts_when_the_last_connection_closes(quick_server, engine):
    created = quick_server.account("Leaving", remember=False)
    tabs = [await quick_server.client(created.session_token) for _ in range(2)]
    await tabs[0].close()
    set_last_seen(engine, created.account.id, datetime.now(timezone.utc) - timedelta(hours=1))
    await tabs[1].close()
    closed_at = datetime.now(timezone.utc)
    await asyncio.sleep(0.6)  # the upkeep ticks every 0.2 s here
    assert last_seen(engine, created.account.id) >= closed_at - timedelta(seconds=0.1)


async def test_a_banned_account_is_refused_at_connect(server):
    """Connects read sessions in batches now, not through authenticate: the ban holds there too
    (a session cached by an earlier connect is trusted for SESSION_CACHE_SECONDS, as live
    connections are re-checked every BAN_RECHECK)."""
    created = server.account("Banned")
    server.hub.safety.ban(created.account.id, "test")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await server.client(token=created.session_token)
    assert await server.hub.stats() == {"online": 0, "searching": 0}


async def test_a_new_connection_s_first_events_do_not_look_up_its_ban_again(server, engine, monkeypatch):
    """The session look-up read the account, ban included: its events trust that
    for BAN_RECHECK, instead of a thread hop and a query on the first one."""
    created = server.account("Fresh")
    monkeypatch.setattr(server.hub, "_write_seen", lambda: None)
    statements = Statements(engine)
    try:
        client = await server.client(created.session_token)  # connect + hello
        assert (await client.call("echo", {"x": 1}))["ok"]
        assert statements.seen == ["SELECT"]  # the session look-up alone
    finally:
        statements.close()
    await client.close()
