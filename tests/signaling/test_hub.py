"""The `/ephem` namespace with python-socketio clients against a real server."""

import asyncio
import httpx
import pytest
import socketio

from ephem.signaling.server import MAX_DEPTH
from tests.support.hubserver import Client


def nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


async def matched_pair(server, stats=False, a_name="Ana", b_name="Bo"):
    a, b = await server.client(name=a_name, stats=stats), await server.client(name=b_name, stats=stats)
    assert await a.call("search", {}) == {"ok": True, "status": "searching"}
    assert await b.call("search", {}) == {"ok": True, "status": "searching"}
    ma, mb = await a.next("matched"), await b.next("matched")
    assert ma["enclave_id"] == mb["enclave_id"]
    return a, b, ma["enclave_id"]


async def in_room(server, stats: bool = False):
    """A matched pair, both joined to their enclave's room."""
    a, b, enclave_id = await matched_pair(server, stats=stats)
    await a.call("join", {"enclave_id": enclave_id})
    await b.call("join", {"enclave_id": enclave_id})
    await a.next("peer_joined")
    return a, b, enclave_id


@pytest.mark.parametrize("auth", [{"token": "forged"}, {"token": 12}, {}, None])
async def test_connect_is_refused_without_a_valid_token(server, auth):
    client = socketio.AsyncClient(reconnection=False)
    refused = asyncio.get_running_loop().create_future()

    @client.on("connect_error", namespace="/ephem")
    async def on_error(data):
        refused.set_result(data)

    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            server.url, socketio_path="/_event", transports=["websocket"], namespaces=["/ephem"], auth=auth
        )
    data = await asyncio.wait_for(refused, 5)
    assert data["data"]["code"] == "invalid_token" and data["data"]["message"]
    assert await server.hub.stats() == {"online": 0, "searching": 0}


async def test_hello_and_echo(server):
    client = await server.client(name="Ελένη")
    assert client.account["name"] == "Ελένη"
    assert len(client.peer_id) >= 16
    payload = {"nested": [1, "two", {"three": None}], "text": "سلام"}
    assert await client.call("echo", payload) == {"ok": True, "echo": payload}
    deep = nested(MAX_DEPTH // 2)  # any JSON, within the size cap and nesting bound
    assert await client.call("echo", deep) == {"ok": True, "echo": deep}
    await client.close()


async def test_each_connection_gets_its_own_peer_id(server):
    created = server.account("Twin")
    a = await server.client(created.session_token)
    b = await server.client(created.session_token)
    assert a.peer_id != b.peer_id
    await a.close(), await b.close()


async def test_two_searchers_are_matched_into_one_enclave(server, engine):
    a, b, enclave_id = await matched_pair(server)
    view = server.enclaves.get(enclave_id, a.account["id"])
    assert {m.account_id for m in view.members} == {a.account["id"], b.account["id"]}
    assert view.name == "Ana & Bo"
    # each is told who the other is
    assert await server.hub.stats() == {"online": 2, "searching": 0}
    await a.close(), await b.close()


async def test_matched_names_the_other_side(server):
    a, b = await server.client(name="Ana"), await server.client(name="Bo")
    await a.call("search", {})
    await b.call("search", {})
    ma, mb = await a.next("matched"), await b.next("matched")
    assert ma["peer"] == {"account_id": b.account["id"], "name": "Bo"}
    assert mb["peer"] == {"account_id": a.account["id"], "name": "Ana"}


async def test_cancel_and_disconnect_leave_the_queue(server):
    a = await server.client(name="Cancels")
    await a.call("search", {})
    assert (await server.hub.stats())["searching"] == 1
    assert await a.call("cancel_search", {}) == {"ok": True}
    assert (await server.hub.stats())["searching"] == 0

    gone = await server.client(name="Leaves")
    await gone.call("search", {})
    await gone.close()
    for _ in range(50):
        if (await server.hub.stats())["searching"] == 0:
            break
        await asyncio.sleep(0.05)
    assert (await server.hub.stats())["searching"] == 0

    b, c = await server.client(name="B"), await server.client(name="C")
    await a.call("search", {})  # searched, cancelled, searches again: first in line now
    await b.call("search", {})
    assert (await a.next("matched"))["peer"]["name"] == "B"
    await c.call("search", {})
    await asyncio.sleep(0.3)
    assert c.pending("matched") == 0  # nobody left for C


async def test_never_matched_with_oneself_or_own_account(server):
    created = server.account("Solo")
    a = await server.client(created.session_token)
    b = await server.client(created.session_token)
    await a.call("search", {})
    await a.call("search", {})  # searching twice changes nothing
    await b.call("search", {})
    await asyncio.sleep(0.3)
    assert a.pending("matched") == 0 and b.pending("matched") == 0
    assert (await server.hub.stats())["searching"] == 2
    stranger = await server.client(name="Stranger")
    await stranger.call("search", {})
    assert (await a.next("matched"))["peer"]["name"] == "Stranger"  # a arrived first
    await asyncio.sleep(0.2)
    assert b.pending("matched") == 0


async def test_two_hundred_searchers_are_each_matched_exactly_once(server):
    clients = await asyncio.gather(*(server.client(name=f"s{i}") for i in range(200)))
    acks = await asyncio.gather(*(c.call("search", {}) for c in clients))
    assert all(ack == {"ok": True, "status": "searching"} for ack in acks)
    matches = await asyncio.gather(*(c.next("matched", timeout=30) for c in clients))
    by_enclave: dict[str, list[str]] = {}
    for client, match in zip(clients, matches):
        assert match["peer"]["account_id"] != client.account["id"]
        by_enclave.setdefault(match["enclave_id"], []).append(client.account["id"])
    assert len(by_enclave) == 100
    assert all(len(set(members)) == 2 for members in by_enclave.values())
    await asyncio.sleep(0.3)
    assert sum(c.pending("matched") for c in clients) == 0  # nobody matched twice
    await asyncio.gather(*(c.close() for c in clients))


async def test_a_match_whose_enclave_cannot_be_written_is_told_to_both(server, monkeypatch):
    def broken(_groups):
        raise OSError("disk full")

    monkeypatch.setattr(server.enclaves, "create_many", broken)
    a, b = await server.client(name="Ana"), await server.client(name="Bo")
    await a.call("search", {})
    await b.call("search", {})
    for client in (a, b):
        failed = await client.next("search_failed")
        assert failed["ok"] is False and failed["error"]["code"] == "unavailable"
        assert "Search again" in failed["error"]["message"]
    assert a.pending("matched") == b.pending("matched") == 0
    monkeypatch.undo()
    a2, b2, _ = await matched_pair(server)  # the hub goes on
    await asyncio.gather(*(c.close() for c in (a, b, a2, b2)))


async def test_a_match_that_cannot_be_announced_does_not_stop_the_next(server, monkeypatch):
    """Matches of this worker's own connections are announced in turn, without a
    task each: one that fails to go out is logged, and the next still goes."""
    import threading

    hub = server.hub
    a, b, c, d = [await server.client(name=n) for n in ("Ana", "Bo", "Cy", "Di")]
    emit, create_many = hub._emit_to_peer, server.enclaves.create_many
    release = threading.Event()

    async def emitting(peer_id, event, data):
        if peer_id == a.peer_id:
            raise RuntimeError("a socket bug")
        return await emit(peer_id, event, data)

    def held(groups):  # the first write waits until the second match is made
        release.wait(10)
        return create_many(groups)

    monkeypatch.setattr(hub, "_emit_to_peer", emitting)
    monkeypatch.setattr(server.enclaves, "create_many", held)
    for client in (a, b, c, d):
        assert (await client.call("search", {}))["ok"]
    release.set()
    assert (await c.next("matched"))["enclave_id"] == (await d.next("matched"))["enclave_id"]
    assert a.pending("matched") == 0
    monkeypatch.undo()
    await asyncio.gather(*(x.close() for x in (a, b, c, d)))


async def test_a_search_still_on_its_way_is_not_taken_for_lost(server, monkeypatch):
    """A shared store (Redis) answers late under load: a renewal in between must
    not call the searcher lost and enqueue it again (it was matched twice)."""
    real = server.hub.matchmaker
    arrived, release = asyncio.Event(), asyncio.Event()
    enqueued: list[str] = []

    class LateStore:
        async def enqueue(self, searcher):
            enqueued.append(searcher.peer_id)
            if len(enqueued) == 1:  # the first one is the late one
                arrived.set()
                await release.wait()
            return await real.enqueue(searcher)

        async def renew(self, peer_ids):
            lost = [p for p in peer_ids if await real.searching() == 0]  # as Redis says of a missing lease
            return lost, lost

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(server.hub, "matchmaker", LateStore())
    a = await server.client(name="Ana")
    search = asyncio.ensure_future(a.call("search", {}))
    await arrived.wait()
    await server.hub._renew()
    release.set()
    assert (await search)["ok"]
    await server.hub._renew()
    assert enqueued == [a.peer_id]
    await a.close()


async def test_a_searcher_cancelled_while_being_put_back_stays_out(server, monkeypatch):
    """Redis restarted empty: the worker puts its searcher back, slowly, and
    the searcher cancels meanwhile. It must not end up searching again."""
    real = server.hub.matchmaker
    a = await server.client(name="Ana")
    assert (await a.call("search", {}))["ok"]
    arrived, release = asyncio.Event(), asyncio.Event()
    reported: list[str] = []

    class RestartedStore:
        async def renew(self, peer_ids):
            lost = [p for p in peer_ids if p not in reported]  # lost once, as after a restart
            reported.extend(lost)
            return lost, lost

        async def enqueue(self, searcher):
            arrived.set()
            await release.wait()
            return await real.enqueue(searcher)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(server.hub, "matchmaker", RestartedStore())
    await asyncio.wait_for(arrived.wait(), 5)  # the hub's own upkeep is putting it back
    assert await a.call("cancel_search", {}) == {"ok": True}
    release.set()
    await asyncio.sleep(0.5)  # a few upkeep ticks
    assert reported == [a.peer_id]
    assert a.peer_id not in server.hub._searching
    assert await real.searching() == 0
    await a.close()


async def test_join_presence_and_signal_relay(server):
    a, b, enclave_id = await matched_pair(server)
    joined_a = await a.call("join", {"enclave_id": enclave_id})
    assert joined_a == {"ok": True, "peers": []}
    joined_b = await b.call("join", {"enclave_id": enclave_id})
    assert [p["peer_id"] for p in joined_b["peers"]] == [a.peer_id]
    announced = await a.next("peer_joined")
    assert announced == {"enclave_id": enclave_id, "peer": {"peer_id": b.peer_id, "account_id": b.account["id"], "name": "Bo"}}

    offer = {"type": "offer", "sdp": "v=0\r\n"}
    assert await b.call("signal", {"enclave_id": enclave_id, "to": a.peer_id, "kind": "offer", "data": offer}) == {"ok": True}
    relayed = await a.next("signal")
    assert relayed == {"enclave_id": enclave_id, "from": b.peer_id, "kind": "offer", "data": offer}
    candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    assert (await a.call("signal", {"enclave_id": enclave_id, "to": b.peer_id, "kind": "candidate", "data": candidate}))["ok"]
    assert (await b.next("signal"))["data"] == candidate
    assert (await a.call("signal", {"enclave_id": enclave_id, "to": b.peer_id, "kind": "candidate", "data": None}))["ok"]
    assert (await b.next("signal"))["data"] is None

    assert await b.call("leave", {"enclave_id": enclave_id}) == {"ok": True}
    assert await a.next("peer_left") == {
        "enclave_id": enclave_id,
        "peer_id": b.peer_id,
        "account_id": b.account["id"],
        "reason": "closed",
    }
    await b.call("join", {"enclave_id": enclave_id})
    await a.next("peer_joined")
    await b.close()
    gone = await a.next("peer_left")
    assert (gone["peer_id"], gone["reason"]) == (b.peer_id, "disconnected")


async def test_signal_authorization(server):
    a, b, enclave_id = await matched_pair(server)
    outsider = await server.client(name="Eve")
    await a.call("join", {"enclave_id": enclave_id})
    offer = {"type": "offer", "sdp": "v=0"}

    assert (await outsider.call("join", {"enclave_id": enclave_id}))["error"]["code"] == "not_member"
    sneaky = await outsider.call("signal", {"enclave_id": enclave_id, "to": a.peer_id, "kind": "offer", "data": offer})
    assert sneaky["error"]["code"] == "not_member"
    # b is a member but has not joined the room yet
    early = await b.call("signal", {"enclave_id": enclave_id, "to": a.peer_id, "kind": "offer", "data": offer})
    assert early["error"]["code"] == "not_member"
    await b.call("join", {"enclave_id": enclave_id})
    for to in ("nobody", outsider.peer_id, b.peer_id):
        answer = await b.call("signal", {"enclave_id": enclave_id, "to": to, "kind": "offer", "data": offer})
        assert answer["error"]["code"] == "unknown_peer", to
    await asyncio.sleep(0.2)
    assert outsider.pending("signal") == 0 and a.pending("signal") == 0


BAD_PAYLOADS = {
    "hello": [[1], "x", {"extra": 1}],
    "search": [[], 3, {"x": 1}],
    "cancel_search": ["no"],
    "join": [{}, {"enclave_id": 5}, {"enclave_id": "x" * 500}, "id", None],
    "leave": [{}, [], {"enclave_id": None}],
    "signal": [
        {},
        {"enclave_id": "e", "to": "p", "kind": "shout", "data": {}},
        {"enclave_id": "e", "to": "p", "kind": "offer", "data": None},
        {"enclave_id": "e", "to": "p", "kind": "offer", "data": {"type": "bogus", "sdp": ""}},
        {"enclave_id": "e", "to": "p", "kind": "candidate", "data": {"candidate": 5}},
        {"enclave_id": "e", "to": "p", "kind": "candidate", "data": "text"},
        "signal",
        None,
    ],
}


async def test_malformed_payloads_are_answered_with_errors(server):
    client = await server.client(name="Fuzzy")
    bystander = await server.client(name="Calm")
    for event, payloads in BAD_PAYLOADS.items():
        for payload in payloads:
            answer = await client.call(event, payload)
            assert answer["ok"] is False, (event, payload)
            assert answer["error"]["code"] == "invalid_payload", (event, payload, answer)
            assert answer["error"]["message"]
    unknown = await client.call("format_disk", {})
    assert unknown["error"]["code"] == "unknown_event"
    assert (await bystander.call("echo", "still here"))["echo"] == "still here"
    assert (await client.call("echo", "and me"))["echo"] == "and me"


async def test_oversized_payloads_are_refused(server):
    a, b, enclave_id = await in_room(server)
    huge = "x" * (server.hub.settings.max_signal_bytes + 1)
    assert (await a.call("echo", huge))["error"]["code"] == "payload_too_large"
    big_offer = {"enclave_id": enclave_id, "to": b.peer_id, "kind": "offer", "data": {"type": "offer", "sdp": huge}}
    assert (await a.call("signal", big_offer))["error"]["code"] == "payload_too_large"
    await asyncio.sleep(0.2)
    assert b.pending("signal") == 0
    assert (await a.call("echo", "fine"))["ok"]


async def test_a_flood_is_rate_limited_and_others_keep_being_served(server):
    flooder = await server.client(name="Flood")
    calm = await server.client(name="Calm")

    async def flood():
        return await asyncio.gather(*(flooder.call("echo", i, timeout=30) for i in range(400)))

    flood_task = asyncio.create_task(flood())
    calm_answers = [await calm.call("echo", i) for i in range(20)]
    answers = await flood_task
    assert all(answer["ok"] for answer in calm_answers)
    codes = [a["error"]["code"] for a in answers if not a["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    assert sum(1 for a in answers if a["ok"]) >= 100


async def test_stats_are_pushed_to_those_who_show_them(server):
    watcher = await server.client(name="Watcher", stats=True)
    other = await server.client(name="Other")  # e.g. a Python peer: shows no stats
    searcher = await server.client(name="Searcher")
    await searcher.call("search", {})
    for _ in range(20):
        stats = await watcher.next("stats")
        if stats == {"online": 3, "searching": 1}:
            break
    assert stats == {"online": 3, "searching": 1}
    assert other.pending("stats") == 0


async def test_stats_go_only_to_connections_in_no_enclave(server):
    a, b, enclave_id = await in_room(server, stats=True)
    watcher = await server.client(name="Watcher", stats=True)
    await watcher.next("stats", timeout=10)  # three online
    for client in (a, b, watcher):
        while client.pending("stats"):
            client.events["stats"].get_nowait()
    await b.call("leave", {"enclave_id": enclave_id})  # back home: gets stats again
    newcomer = await server.client(name="Newcomer")  # four online
    for client in (watcher, b):
        assert (await client.next("stats", timeout=10))["online"] == 4
    assert a.pending("stats") == 0  # in an enclave: no stats
    await asyncio.gather(*(c.close() for c in (a, b, watcher, newcomer)))


async def test_leaving_by_rest_removes_the_live_peer(server):
    a, b, enclave_id = await in_room(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        left = await http.delete(f"/api/enclaves/{enclave_id}/membership", headers={"Authorization": f"Bearer {b.token}"})
        assert left.status_code == 204
        gone = await a.next("peer_left")
        assert (gone["peer_id"], gone["reason"]) == (b.peer_id, "left")
        assert (await b.call("join", {"enclave_id": enclave_id}))["error"]["code"] == "not_member"
        view = await http.get(f"/api/enclaves/{enclave_id}", headers={"Authorization": f"Bearer {a.token}"})
        assert [m["name"] for m in view.json()["members"]] == ["Ana"]
        assert view.json()["members"][0]["online"] is True


async def test_binary_payloads_are_refused(server):
    client = await server.client(name="Binary")
    answer = await client.call("echo", {"blob": b"\x00" * 10})
    assert answer["error"]["code"] == "payload_too_large"


async def test_a_deleted_account_is_disconnected(server):
    a, b, enclave_id = await in_room(server)
    async with httpx.AsyncClient(base_url=server.url) as http:
        gone = await http.delete("/api/me", headers={"Authorization": f"Bearer {b.token}"})
    assert gone.status_code == 204
    assert (await a.next("peer_left"))["peer_id"] == b.peer_id
    for _ in range(50):
        if not b.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not b.sio.connected


async def test_a_matched_searcher_is_not_searched_again(server):
    a, b, _ = await matched_pair(server)
    await asyncio.sleep(0.5)  # several upkeep ticks
    assert await server.hub.stats() == {"online": 2, "searching": 0}
    assert a.pending("matched") == 0 and b.pending("matched") == 0


async def test_clients_cannot_send_the_servers_own_events(server):
    """`connect` and `disconnect` from a client would reach the connection
    handlers: a second peer for one socket, a ghost left online."""
    client = await server.client(name="Sly")
    for event, args in (("connect", ({}, {"token": client.token})), ("disconnect", ("client",))):
        answer = await client.sio.call(event, args, namespace="/ephem", timeout=5)
        assert answer["ok"] is False and answer["error"]["code"] == "unknown_event", (event, answer)
    for name in (5, None):  # not even a name
        answer = await client.sio.call(name, {}, namespace="/ephem", timeout=5)
        assert answer["error"]["code"] == "unknown_event"
    assert (await client.call("echo", "same peer"))["echo"] == "same peer"
    assert await server.hub.stats() == {"online": 1, "searching": 0}
    await client.close()
    for _ in range(50):
        if await server.hub.stats() == {"online": 0, "searching": 0}:
            break
        await asyncio.sleep(0.05)
    assert await server.hub.stats() == {"online": 0, "searching": 0}  # no ghost


@pytest.mark.parametrize("data", [{"sdpMLineIndex": float("nan")}, {"x": float("inf")}, {"deep": nested(MAX_DEPTH)}])
async def test_a_packet_no_client_could_relay_closes_the_sender(server, data):
    """NaN and Infinity are not JSON (a browser peer's socket dies on them);
    JSON nested deeper than any event needs is refused before it is handled."""
    a, b, enclave_id = await in_room(server)
    await a.sio.emit("signal", {"enclave_id": enclave_id, "to": b.peer_id, "kind": "candidate", "data": data}, namespace="/ephem")
    assert (await b.next("peer_left"))["peer_id"] == a.peer_id
    assert not a.sio.connected
    assert b.pending("signal") == 0
    assert (await b.call("echo", "unharmed"))["ok"]
    await b.close()


async def test_signing_out_tells_the_sessions_connections_and_no_others(server):
    created = server.account("Twice")
    tab1, tab2 = await server.client(created.session_token), await server.client(created.session_token)
    other_device = await server.client(server.accounts.restore(created.recovery_token).session_token)
    async with httpx.AsyncClient(base_url=server.url) as http:
        gone = await http.delete("/api/session", headers={"Authorization": f"Bearer {created.session_token}"})
    assert gone.status_code == 204
    for tab in (tab1, tab2):
        ended = await tab.next("session_ended")
        assert ended["error"]["code"] == "invalid_token" and ended["error"]["message"]
    await asyncio.sleep(0.2)
    assert other_device.pending("session_ended") == 0
    assert (await other_device.call("echo", "still signed in"))["ok"]
    await asyncio.gather(*(c.close() for c in (tab1, tab2, other_device)))


async def test_one_account_holds_a_bounded_number_of_connections(server):
    from ephem.signaling.hub import CONNECTIONS_PER_ACCOUNT

    created = server.account("Hoarder")

    async def attempt():
        client = Client()
        try:
            await client.connect(server.url, created.session_token)
        except socketio.exceptions.ConnectionError:
            return None
        return client

    # All at once: no more get in than the bound.
    made = await asyncio.gather(*(attempt() for _ in range(2 * CONNECTIONS_PER_ACCOUNT)))
    held = [c for c in made if c is not None]
    assert len(held) == CONNECTIONS_PER_ACCOUNT

    refused = asyncio.get_running_loop().create_future()
    extra = socketio.AsyncClient(reconnection=False)
    extra.on("connect_error", lambda data: refused.done() or refused.set_result(data), namespace="/ephem")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await extra.connect(
            server.url, socketio_path="/_event", transports=["websocket"], namespaces=["/ephem"],
            auth={"token": created.session_token},
        )
    data = await asyncio.wait_for(refused, 5)
    assert data["data"]["code"] == "too_many_connections" and data["data"]["message"]
    assert (await held[0].call("echo", "the others stay"))["ok"]
    other = await server.client(name="Someone else")  # another account is not affected
    await held.pop().close()
    for _ in range(50):
        if len(await server.hub.presence.peers_of(held[0].account["id"])) < CONNECTIONS_PER_ACCOUNT:
            break
        await asyncio.sleep(0.05)
    held.append(await server.client(created.session_token))  # room again once one closed
    await asyncio.gather(*(c.close() for c in (*held, other)))

async def test_members_hear_of_one_who_leaves_or_is_deleted_while_offline(server):
    a, b, enclave_id = await in_room(server)
    c_account = server.account("Cleo")  # a member with no connection at all
    code = server.enclaves.invite(enclave_id, a.account["id"]).code
    server.enclaves.join(code, c_account.account.id)
    async with httpx.AsyncClient(base_url=server.url) as http:
        gone = await http.delete("/api/me", headers={"Authorization": f"Bearer {c_account.session_token}"})
        assert gone.status_code == 204
        for client in (a, b):
            assert await client.next("member_left") == {"enclave_id": enclave_id, "account_id": c_account.account.id}
        left = await http.delete(f"/api/enclaves/{enclave_id}/membership", headers={"Authorization": f"Bearer {b.token}"})
    assert left.status_code == 204, left.text
    assert await a.next("member_left") == {"enclave_id": enclave_id, "account_id": b.account["id"]}
    await asyncio.gather(a.close(), b.close())


async def test_an_accounts_connections_share_one_budget(server):
    """Each connection has its own bucket, and the account one more: twenty
    tabs flooding together get no more than a few connections' worth."""
    from ephem.signaling.hub import ACCOUNT_BURST, ACCOUNT_RATE, SOCKET_BURST

    created = server.account("Many tabs")
    tabs = await asyncio.gather(*(server.client(created.session_token) for _ in range(10)))
    other = await server.client(name="Someone else")
    per_tab = SOCKET_BURST - 10  # each tab alone stays within its own bucket
    started = asyncio.get_running_loop().time()
    answers = await asyncio.gather(*(tab.call("echo", i, timeout=30) for tab in tabs for i in range(per_tab)))
    elapsed = asyncio.get_running_loop().time() - started
    codes = {a["error"]["code"] for a in answers if not a["ok"]}
    assert codes == {"rate_limited"}
    assert sum(a["ok"] for a in answers) <= ACCOUNT_BURST + ACCOUNT_RATE * elapsed
    assert all([(await other.call("echo", i))["ok"] for i in range(20)])
    await asyncio.gather(*(c.close() for c in (*tabs, other)))


async def test_members_hear_of_one_the_sweep_deletes(server, engine):
    from datetime import timedelta

    from sqlalchemy import update

    from ephem.actions import Actions
    from ephem.core.db import session_scope
    from ephem.models import Account

    a = await server.client(name="Stays")
    fleeting = server.account("Fleeting", remember=False).account.id  # its tab long closed
    enclave_id = server.enclaves.create([a.account["id"], fleeting]).id
    await a.call("join", {"enclave_id": enclave_id})
    with session_scope(engine) as db:
        past = server.accounts.clock() - server.accounts.settings.session_grace - timedelta(seconds=1)
        db.execute(update(Account).where(Account.id == fleeting).values(last_seen_at=past))
    result = await Actions(server.accounts, server.enclaves, server.hub).sweep()
    assert result.left == ((enclave_id, fleeting),)
    assert await a.next("member_left") == {"enclave_id": enclave_id, "account_id": fleeting}
    assert server.enclaves.get(enclave_id, a.account["id"]).name == "Stays"
    await a.close()


async def test_a_lone_surrogate_is_an_invalid_payload_not_a_large_one(server):
    a, b, enclave_id = await in_room(server)
    offer = {"enclave_id": enclave_id, "to": b.peer_id, "kind": "offer", "data": {"type": "offer", "sdp": "v=0\ud800"}}
    for event, payload in (("echo", "\ud800"), ("echo", {"name": "Bo\udfff"}), ("signal", offer)):
        answer = await a.call(event, payload)
        assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload", (event, answer)
        assert "lone surrogate" in answer["error"]["message"]
    assert (await a.call("echo", "\U0001f600 paired surrogates are fine"))["ok"]
    await asyncio.sleep(0.2)
    assert b.pending("signal") == 0
