"""How member rows word each link, and what the self-test says of the STUN/TURN servers."""

from ephem.ui.enclave_state import EnclaveState, ice_check_rows, link_words
from ephem.ui.rows import MemberRow


def test_link_words():
    assert link_words("direct", "") == ("direct", "direct")
    assert link_words("relayed", "udp") == ("via relay server (TURN, UDP)", "relay-udp")
    assert link_words("relayed", "tcp") == ("via relay server (TURN, TCP)", "relay-tcp")
    assert link_words("relayed", "tls") == ("via relay server (TURN, TLS)", "relay-tls")
    assert link_words("relayed", "") == ("via relay server (TURN)", "relay")
    assert link_words("relayed", {"x": 1}) == ("via relay server (TURN)", "relay")
    assert link_words("reconnecting", "udp") == ("reconnecting", "")
    assert link_words("connecting", "") == ("connecting", "")


def room() -> EnclaveState:
    state = EnclaveState()
    state.current_id = "e1"
    state.account_id = "me"
    state.members = [MemberRow(account_id="me", name="Me", me=True), MemberRow(account_id="b", name="Bo", me=False)]
    state._room = {"p-b": "b"}
    return state


async def mesh(page: EnclaveState, **peer) -> MemberRow:
    await page.on_room_client("mesh", {"enclave_id": "e1", "peers": [{"account_id": "b", "name": "Bo", **peer}]})
    return page.members[1]


async def test_a_member_row_says_how_the_link_runs():
    state = room()
    row = await mesh(state, state="relayed", relay="udp", rtt_ms=41.5, links=1, ice_restarts=0)
    assert (row.conn, row.path, row.rtt_ms, row.tone, row.links) == ("via relay server (TURN, UDP)", "relay-udp", 41.5, "blue", 1)
    row = await mesh(state, state="reconnecting", relay="udp", rtt_ms=41.5, links=1, ice_restarts=1)
    assert (row.conn, row.path, row.rtt_ms, row.tone, row.ice_restarts) == ("reconnecting", "", -1, "amber", 1)
    row = await mesh(state, state="direct", relay="", rtt_ms=0.4, links=1, ice_restarts=1)
    assert (row.conn, row.path, row.rtt_ms, row.tone) == ("direct", "direct", 0.4, "green")
    # Nonsense from the page is shown as nothing rather than failing the handler.
    row = await mesh(state, state="direct", rtt_ms="fast", links=-3, ice_restarts=True)
    assert (row.rtt_ms, row.links, row.ice_restarts) == (-1, 0, 0)
    assert state.members[0].conn == "" and state.members[0].path == ""


async def test_the_self_test_reports_each_server_then_nothing_configured():
    state = room()
    state.run_selftest()
    assert state.testing and state.ice_checking
    await state.on_room_client("selftest", {"seq": 1, "echo_ms": 3.5, "ok": True, "servers": None})
    assert state.echo_ms == 3.5 and state.ice_checking and state.testing
    found = [
        {"url": "stun:100.64.0.10:3478", "kind": "stun", "result": "works"},
        {"url": "turn:100.64.0.10:3478?transport=udp", "kind": "turn", "result": "no answer"},
        {"url": "turns:100.64.0.10:443?transport=tcp", "kind": "turn", "result": "refused credentials"},
    ]
    await state.on_room_client("selftest", {"seq": 1, "echo_ms": 3.5, "ok": True, "servers": found})
    assert not state.testing and not state.ice_checking and state.ice_checked
    assert [(c.kind, c.result, c.ok) for c in state.ice_checks] == [
        ("STUN", "works", True),
        ("TURN", "no answer", False),
        ("TURN", "refused credentials", False),
    ]
    await state.on_room_client("selftest", {"seq": 2, "echo_ms": 2, "ok": True, "servers": []})
    assert state.ice_checked and state.ice_checks == []


def test_odd_findings_are_left_out():
    rows = ice_check_rows(
        [None, {"url": 3, "kind": "stun", "result": "works"}, {"url": "stun:x", "kind": "ftp", "result": "works"},
         {"url": "stun:x", "kind": "stun", "result": "great"}, {"url": "stun:y", "kind": "stun", "result": "no answer"}]
    )
    assert [(r.url, r.result) for r in rows] == [("stun:y", "no answer")]
    assert ice_check_rows("nope") == [] and len(ice_check_rows([{"url": "stun:z", "kind": "stun", "result": "works"}] * 100)) == 64
