"""Peer-to-peer chat over WebRTC DataChannels between headless Chromium pages."""

import secrets
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import join_by_invite, meet, say, texts, wait_direct

pytestmark = pytest.mark.browser


def test_two_strangers_chat_both_ways_with_delivery_and_typing(live, browser):
    alice, bahram = meet(browser, live.frontend, "Alice", "بهرام")
    wait_direct(alice, 1)
    wait_direct(bahram, 1)

    say(alice, "hello from Alice")
    expect(bahram.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)
    assert texts(bahram) == ["hello from Alice"]
    mine = alice.get_by_test_id("chat-message")
    expect(mine).to_have_attribute("data-status", "delivered", timeout=10_000)
    expect(mine).to_have_attribute("data-mine", "true")

    bahram.get_by_test_id("chat-input").type("سلام")
    indicator = alice.get_by_test_id("typing-indicator")
    expect(indicator).to_contain_text("بهرام", timeout=10_000)
    expect(indicator).to_contain_text("typing")
    bahram.get_by_test_id("chat-send").click()
    expect(alice.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)
    assert texts(alice) == ["hello from Alice", "سلام"]
    expect(alice.get_by_test_id("chat-message").nth(1).locator("div[dir=auto]")).to_have_attribute("dir", "auto")
    expect(indicator).to_have_count(0, timeout=10_000)  # sending clears it
    expect(bahram.get_by_test_id("chat-message").nth(1)).to_have_attribute("data-status", "delivered", timeout=10_000)

    # Shift+Enter is a new line, not a send; empty input sends nothing.
    box = alice.get_by_test_id("chat-input")
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two")
    box.press("Enter")
    expect(bahram.get_by_test_id("chat-message")).to_have_count(3, timeout=10_000)
    assert texts(bahram)[-1] == "line one\nline two"
    box.press("Enter")
    alice.wait_for_timeout(300)
    expect(bahram.get_by_test_id("chat-message")).to_have_count(3)

    alice.get_by_test_id("selftest-run").click()
    expect(alice.get_by_test_id("selftest-echo")).to_contain_text(" ms", timeout=10_000)
    for page in (alice, bahram):
        page.context.close()


def test_three_members_form_a_full_mesh(live, browser):
    a, b = meet(browser, live.frontend, "Ana", "Ben")
    c = join_by_invite(browser, a, "Cleo")
    for page in (a, b, c):
        wait_direct(page, 2)
    for page, name in ((a, "Ana"), (b, "Ben"), (c, "Cleo")):
        say(page, f"{name} says hi")
    for page in (a, b, c):
        expect(page.get_by_test_id("chat-message")).to_have_count(3, timeout=15_000)
        assert sorted(texts(page)) == ["Ana says hi", "Ben says hi", "Cleo says hi"]
        expect(page.locator("[data-testid=chat-message][data-mine=true]")).to_have_attribute(
            "data-status", "delivered", timeout=15_000
        )
    for page in (a, b, c):
        page.wait_for_timeout(300)
        assert len(texts(page)) == 3  # nothing arrives twice

    # Cleo types, then vanishes: her typing goes with her link, not 6 s later.
    room = c.url
    c.get_by_test_id("chat-input").type("half a thou")
    expect(a.get_by_test_id("typing-indicator")).to_contain_text("Cleo", timeout=10_000)
    c.goto("about:blank")
    expect(a.get_by_test_id("typing-indicator").filter(has_text="Cleo")).to_have_count(0, timeout=3_000)
    # Away past the grace period (shown as left), she is still owed what is
    # said meanwhile: only Ben has it, so it is "sent", not "delivered".
    cleo_row = a.get_by_test_id("enclave-member").filter(has_text="Cleo")
    expect(cleo_row.get_by_test_id("peer-state")).to_have_text("left", timeout=40_000)
    say(a, "while Cleo is away")
    expect(b.get_by_test_id("chat-message")).to_have_count(4, timeout=10_000)
    late = a.locator("[data-testid=chat-message][data-mine=true]").last
    expect(late).to_have_attribute("data-status", "sent", timeout=10_000)
    a.wait_for_timeout(1000)
    expect(late).to_have_attribute("data-status", "sent")
    c.goto(room)
    expect(c.get_by_test_id("chat-message")).to_have_count(1, timeout=30_000)
    assert texts(c) == ["while Cleo is away"]
    expect(late).to_have_attribute("data-status", "delivered", timeout=15_000)

    # Away again, and her account is deleted meanwhile: nobody waits for her acks.
    token = c.evaluate("localStorage.getItem('ephem_session') || sessionStorage.getItem('ephem_session')")
    c.goto("about:blank")
    expect(cleo_row.get_by_test_id("peer-state")).to_have_text("reconnecting", timeout=15_000)
    say(a, "after Cleo is gone")
    last = a.locator("[data-testid=chat-message][data-mine=true]").last
    expect(last).to_have_attribute("data-status", "sent", timeout=10_000)
    deleted = httpx.delete(f"{live.backend}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert deleted.status_code == 204, deleted.text
    expect(last).to_have_attribute("data-status", "delivered", timeout=15_000)
    expect(a.get_by_test_id("enclave-member")).to_have_count(2, timeout=15_000)
    for page in (a, b, c):
        page.context.close()


def test_a_reloading_peer_rejoins_and_gets_what_was_typed_meanwhile(live, browser):
    alice, bob = meet(browser, live.frontend, "Alice", "Bob")
    wait_direct(alice, 1)
    say(alice, "before the reload")
    expect(bob.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)
    room = bob.url

    bob.goto("about:blank")  # Bob's page is gone for a moment
    expect(alice.get_by_test_id("peer-state")).to_have_text("reconnecting", timeout=15_000)
    for i in range(3):
        say(alice, f"during the gap {i}")
    gap = alice.locator("[data-testid=chat-message][data-mine=true]")
    expect(gap.nth(3)).to_have_attribute("data-status", "sending")

    bob.goto(room)
    expect(bob.get_by_test_id("chat-message")).to_have_count(3, timeout=20_000)
    assert texts(bob) == ["during the gap 0", "during the gap 1", "during the gap 2"]
    for i in range(1, 4):
        expect(gap.nth(i)).to_have_attribute("data-status", "delivered", timeout=15_000)
    wait_direct(alice, 1)
    say(bob, "back again")
    expect(alice.get_by_test_id("chat-message")).to_have_count(5, timeout=10_000)
    bob.wait_for_timeout(500)
    assert len(texts(bob)) == 4  # each gap message exactly once, plus his own
    for page in (alice, bob):
        page.context.close()


def test_history_is_kept_in_the_tab_only_when_asked(live, browser):
    alice, bob = meet(browser, live.frontend, "Keeper", "Other")
    wait_direct(alice, 1)
    say(alice, "ephemeral")
    expect(alice.get_by_test_id("chat-message")).to_have_count(1)
    alice.reload()
    wait_direct(alice, 1)
    expect(alice.get_by_test_id("chat-message")).to_have_count(0)

    alice.get_by_test_id("keep-history").click()
    say(alice, "kept")
    expect(alice.get_by_test_id("chat-message")).to_have_attribute("data-status", "delivered", timeout=10_000)
    alice.reload()
    expect(alice.get_by_test_id("chat-message")).to_have_count(1, timeout=20_000)
    assert texts(alice) == ["kept"]
    for page in (alice, bob):
        page.context.close()


def test_the_server_never_sees_message_text(live, browser):
    marker = f"secret-{secrets.token_hex(8)}"
    frames: list[str] = []
    alice, bob = meet(browser, live.frontend, "Sender", "Receiver")
    for page in (alice, bob):
        # Every websocket of the page, Reflex's and /ephem's, both directions.
        page.on(
            "websocket",
            lambda ws: (
                ws.on("framesent", lambda payload: frames.append(str(payload))),
                ws.on("framereceived", lambda payload: frames.append(str(payload))),
            ),
        )
        page.reload()  # reopen the sockets under capture
    wait_direct(alice, 1)
    say(alice, f"the marker is {marker}")
    say(bob, f"echo {marker}")
    expect(alice.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)
    expect(bob.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)
    assert marker in texts(alice)[0] and marker in texts(bob)[1]
    bob.wait_for_timeout(1500)  # let any state sync that might carry it happen

    assert any('"signal"' in f for f in frames), "the signaling frames were captured"
    assert len(frames) > 10
    assert [f for f in frames if marker in f] == []
    assert marker not in live.log.read_text(errors="replace")
    database = Path(live.db_path)
    for path in [database, *database.parent.glob(database.name + "-*")]:
        assert marker.encode() not in path.read_bytes()
    for page in (alice, bob):
        page.context.close()


def test_a_message_written_right_after_a_reload_is_not_lost(live, browser):
    alice, bob = meet(browser, live.frontend, "Quick", "Typist")
    wait_direct(alice, 1)
    bob.reload()
    box = bob.get_by_test_id("chat-input")
    box.fill("typed at once")  # before the page has rejoined the enclave
    box.press("Enter")
    expect(box).to_have_value("")
    expect(alice.get_by_test_id("chat-message")).to_have_count(1, timeout=20_000)
    assert texts(alice) == ["typed at once"]
    expect(bob.get_by_test_id("chat-message")).to_have_attribute("data-status", "delivered", timeout=20_000)
    for page in (alice, bob):
        page.context.close()
