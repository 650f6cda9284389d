"""Interests on `search`: a shared one first, anyone after the wait, bad ones refused."""

import asyncio

import pytest

from ephem.interests import normalize
from tests.support.hubserver import serve

WAIT = 0.6


@pytest.fixture
async def server(engine, db_settings):
    async with serve(engine, db_settings.model_copy(update={"interest_wait_seconds": WAIT})) as running:
        yield running


async def test_a_shared_interest_first_then_anyone_after_the_wait(server):
    chess, jazz, plain = [await server.client(name=n) for n in ("Chess", "Jazz", "Plain")]
    assert await chess.call("search", {"interests": ["chess", "go"]}) == {"ok": True, "status": "searching"}
    assert await jazz.call("search", {"interests": ["Jazz"]}) == {"ok": True, "status": "searching"}
    assert await plain.call("search", {}) == {"ok": True, "status": "searching"}
    assert (await server.hub.stats())["searching"] == 3  # nobody shares, both tagged ones still wait

    late = await server.client(name="Late")
    await late.call("search", {"interests": ["  GO ", "jazz"]})
    mine, theirs = await late.next("matched"), await chess.next("matched")  # chess waited longer than jazz
    assert mine["peer"]["name"] == "Chess" and theirs["peer"]["name"] == "Late"
    assert mine["interests"] == theirs["interests"] == ["go"]

    # Jazz takes anyone once its wait is over: Plain, who shares nothing.
    await asyncio.sleep(WAIT / 3)
    assert jazz.pending("matched") == 0
    got = await jazz.next("matched")
    assert got["peer"]["name"] == "Plain" and got["interests"] == []
    assert (await plain.next("matched"))["interests"] == []
    assert (await server.hub.stats())["searching"] == 0


async def test_a_cancelled_search_is_not_relaxed_into_a_later_one(server):
    a, b = await server.client(name="A"), await server.client(name="B")
    await a.call("search", {"interests": ["chess"]})
    await asyncio.sleep(WAIT / 2)
    await a.call("cancel_search", {})
    await a.call("search", {"interests": ["chess"]})  # a fresh wait
    await b.call("search", {})
    await asyncio.sleep(WAIT * 0.7)  # the first search's wait is over, not this one's
    assert a.pending("matched") == 0
    assert (await a.next("matched"))["peer"]["name"] == "B"


@pytest.mark.parametrize(
    "interests",
    [["a"] * 6, [""], ["   "], ["x" * 25], ["semi;colon"], ["emoji 🎉"], [3], "chess", {"a": 1}, None],
)
async def test_bad_interests_are_an_invalid_payload_and_change_nothing(server, interests):
    client = await server.client(name="Fuzzy")
    answer = await client.call("search", {"interests": interests})
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload", answer
    assert "interests" in answer["error"]["message"]
    assert (await server.hub.stats())["searching"] == 0


def test_interests_are_trimmed_case_folded_and_deduplicated_in_any_script():
    assert normalize(["  Chess ", "CHESS", "sci-fi", "Straße", "two  words"]) == ("chess", "sci-fi", "strasse", "two words")
    assert normalize(["日本語", "हिन्दी", "ИГРЫ"]) == ("日本語", "हिन्दी", "игры")
    assert normalize([]) == ()
