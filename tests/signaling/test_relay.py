"""The `relay` event and `signal` kind `key`: sealed frames between two members, measured and forwarded, never read."""

import asyncio
import base64

import pytest

from ephem.signaling.hub import RELAY_BYTES_BURST, RELAY_FRAME_COST
from ephem.signaling.payloads import MAX_RELAY_CHARS
from tests.signaling.test_hub import in_room, matched_pair


@pytest.fixture(params=["sqlite"])
def db_url(request):
    return request.getfixturevalue("sqlite_url")


def frame(n: int = 48) -> str:
    return base64.b64encode(bytes(range(256)) * (n // 256) + bytes(n % 256)).decode()


async def test_a_frame_reaches_the_peer_it_is_for_as_it_was_sent(server):
    a, b, enclave_id = await in_room(server)
    data = frame(300)
    assert await a.call("relay", {"enclave_id": enclave_id, "to": b.peer_id, "data": data}) == {"ok": True}
    assert await b.next("relay") == {"enclave_id": enclave_id, "from": a.peer_id, "data": data}
    assert await b.call("relay", {"enclave_id": enclave_id, "to": a.peer_id, "data": "AAAA"}) == {"ok": True}
    assert (await a.next("relay"))["data"] == "AAAA"


async def test_relay_public_keys_travel_as_signals(server):
    a, b, enclave_id = await in_room(server)
    key = {"public_key": "B" + "A" * 87}
    assert await a.call("signal", {"enclave_id": enclave_id, "to": b.peer_id, "kind": "key", "data": key}) == {"ok": True}
    assert await b.next("signal") == {"enclave_id": enclave_id, "from": a.peer_id, "kind": "key", "data": key}
    for bad in (None, {}, {"public_key": "short"}, {"public_key": "!" * 88}, {"public_key": "A" * 88, "more": 1}):
        answer = await a.call("signal", {"enclave_id": enclave_id, "to": b.peer_id, "kind": "key", "data": bad})
        assert answer["error"]["code"] == "invalid_payload", bad
    await asyncio.sleep(0.2)
    assert b.pending("signal") == 0


async def test_only_members_in_the_room_relay_and_only_to_each_other(server):
    a, b, enclave_id = await matched_pair(server)
    outsider = await server.client(name="Eve")
    await a.call("join", {"enclave_id": enclave_id})
    sneaky = await outsider.call("relay", {"enclave_id": enclave_id, "to": a.peer_id, "data": "AAAA"})
    assert sneaky["error"]["code"] == "not_member"
    early = await b.call("relay", {"enclave_id": enclave_id, "to": a.peer_id, "data": "AAAA"})
    assert early["error"]["code"] == "not_member"
    await b.call("join", {"enclave_id": enclave_id})
    for to in ("nobody", outsider.peer_id, b.peer_id):
        answer = await b.call("relay", {"enclave_id": enclave_id, "to": to, "data": "AAAA"})
        assert answer["error"]["code"] == "unknown_peer", to
    await asyncio.sleep(0.2)
    assert a.pending("relay") == 0 and outsider.pending("relay") == 0


async def test_malformed_and_oversized_frames_are_refused_and_change_nothing(server):
    a, b, enclave_id = await in_room(server)
    base = {"enclave_id": enclave_id, "to": b.peer_id}
    for bad in ({**base}, {**base, "data": ""}, {**base, "data": "not base64!"}, {**base, "data": 5},
                {**base, "data": "AAAA", "kind": "x"}, {"to": b.peer_id, "data": "AAAA"}, "relay", None):
        answer = await a.call("relay", bad)
        assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload", (bad, answer)
        assert "not base64!" not in answer["error"]["message"]
    too_big = await a.call("relay", {**base, "data": "A" * (MAX_RELAY_CHARS + 4)})
    assert too_big["error"]["code"] == "payload_too_large"
    over_cap = await a.call("relay", {**base, "data": "A" * (server.hub.settings.max_signal_bytes + 4)})
    assert over_cap["error"]["code"] == "payload_too_large"
    assert (await a.call("relay", {**base, "data": "A" * MAX_RELAY_CHARS}))["ok"]
    assert len((await b.next("relay"))["data"]) == MAX_RELAY_CHARS
    await asyncio.sleep(0.2)
    assert b.pending("relay") == 0


async def test_each_pair_has_a_byte_budget_and_the_other_direction_its_own(server):
    a, b, enclave_id = await in_room(server)
    data = "A" * MAX_RELAY_CHARS
    fits = RELAY_BYTES_BURST // (MAX_RELAY_CHARS + RELAY_FRAME_COST)
    answers = [await a.call("relay", {"enclave_id": enclave_id, "to": b.peer_id, "data": data}) for _ in range(fits + 3)]
    assert all(answer["ok"] for answer in answers[:fits])
    refused = [answer["error"]["code"] for answer in answers[fits:] if not answer["ok"]]
    assert refused and set(refused) == {"rate_limited"}
    delivered = 0
    while True:
        try:
            await b.next("relay", timeout=1)
            delivered += 1
        except asyncio.TimeoutError:
            break
    assert delivered == sum(1 for answer in answers if answer["ok"])  # refused frames went nowhere
    assert (await b.call("relay", {"enclave_id": enclave_id, "to": a.peer_id, "data": "AAAA"}))["ok"]
    assert (await a.call("echo", "other events still pass"))["ok"]


async def test_relaying_does_not_use_up_the_signaling_budget(server):
    a, b, enclave_id = await in_room(server)
    answers = await asyncio.gather(
        *(a.call("relay", {"enclave_id": enclave_id, "to": b.peer_id, "data": "AAAA"}, timeout=30) for _ in range(300))
    )
    assert all(answer["ok"] for answer in answers)
    offer = {"type": "offer", "sdp": "v=0"}
    assert (await a.call("signal", {"enclave_id": enclave_id, "to": b.peer_id, "kind": "offer", "data": offer}))["ok"]
