"""Calls in an enclave: headless Chromium with fake camera, microphone and screen.

The `live` app runs with EPHEM_CALL_VIDEO_CROWD=2, so a three-member call is
"crowded" and must send lower-resolution video.
"""


import pytest
from playwright.sync_api import expect

from tests.support.browser import insecure_url, join_by_invite, meet, say, texts, wait_direct

pytestmark = pytest.mark.browser

FLOW_TIMEOUT = 30_000


def tile(page, name: str):
    return page.locator(f'[data-testid=call-tile][data-name="{name}"]')


def figure(page, name: str, key: str) -> int:
    return int(tile(page, name).get_attribute(f"data-{key}"))


def wait_growing(page, name: str, key: str) -> int:
    """Until the figure `key` of `name`'s tile on `page` has grown twice in a
    row (from the getStats of the link); returns its last value."""
    selector = f'[data-testid=call-tile][data-name="{name}"]'
    expect(page.locator(selector)).to_have_count(1, timeout=FLOW_TIMEOUT)
    value = figure(page, name, key)
    for _ in range(2):
        page.wait_for_function(
            "([selector, key, above]) => {"
            "  const el = document.querySelector(selector);"
            "  return el !== null && Number(el.getAttribute('data-' + key)) > above; }",
            arg=[selector, key, value],
            timeout=FLOW_TIMEOUT,
        )
        value = figure(page, name, key)
    return value


def wait_media(page, name: str) -> None:
    """`name`'s audio and video reach `page`: frames decode, packets arrive."""
    wait_growing(page, name, "frames-decoded")
    wait_growing(page, name, "audio-packets")


def aspect(page, name: str) -> float:
    return figure(page, name, "frame-width") / max(1, figure(page, name, "frame-height"))


def wait_aspect(page, name: str, low: float, high: float) -> None:
    """Until the video `page` decodes from `name` has a width/height ratio in (low, high)."""
    page.wait_for_function(
        "([name, low, high]) => {"
        "  const el = document.querySelector(`[data-testid=call-tile][data-name=\"${name}\"]`);"
        "  const ratio = Number(el.dataset.frameWidth) / Math.max(1, Number(el.dataset.frameHeight));"
        "  return ratio > low && ratio < high; }",
        arg=[name, low, high],
        timeout=FLOW_TIMEOUT,
    )


# Test instrumentation: keeps each camera track the page asks for, so a test
# can end one as an unplugged device would.
KEEP_CAMERA_TRACKS = """() => {
  const devices = navigator.mediaDevices, ask = devices.getUserMedia.bind(devices);
  window.ephemCameraTracks = [];
  devices.getUserMedia = async (constraints) => {
    const stream = await ask(constraints);
    window.ephemCameraTracks.push(...stream.getVideoTracks());
    return stream;
  };
}"""


def start_call(page) -> None:
    page.get_by_test_id("call-start").click()
    expect(page.get_by_test_id("call-leave")).to_be_visible(timeout=15_000)


def test_two_members_call_mute_share_their_screen_and_keep_chatting(live, browser):
    alice, bob = meet(browser, live.frontend, "Alice", "Bob")
    wait_direct(alice, 1)
    wait_direct(bob, 1)
    expect(bob.get_by_test_id("call-count")).to_have_attribute("data-count", "0")

    start_call(alice)
    expect(bob.get_by_test_id("call-count")).to_have_attribute("data-count", "1", timeout=10_000)
    expect(bob.get_by_test_id("call-start")).to_have_text("Join the call")
    expect(bob.get_by_test_id("member-in-call")).to_have_count(1, timeout=10_000)  # Alice, in the member list
    start_call(bob)
    for page, other in ((alice, "Bob"), (bob, "Alice")):
        expect(page.get_by_test_id("call-tile")).to_have_count(2, timeout=FLOW_TIMEOUT)
        expect(page.get_by_test_id("call-count")).to_have_attribute("data-count", "2")
        wait_media(page, other)
        assert 1.3 < aspect(page, other) < 1.4  # the fake camera, 4:3
    expect(bob.get_by_test_id("call-crowded")).to_have_count(0)
    expect(tile(bob, "Alice")).to_have_attribute("data-speaking", "true", timeout=FLOW_TIMEOUT)  # the fake mic beeps

    # Mute: Alice's audio stops reaching Bob; her video does not.
    alice.get_by_test_id("call-mute").click()
    expect(alice.get_by_test_id("call-mute")).to_have_attribute("aria-pressed", "true")
    expect(tile(bob, "Alice")).to_have_attribute("data-muted", "true", timeout=10_000)
    bob.wait_for_timeout(1500)  # packets already on their way
    stopped = figure(bob, "Alice", "audio-packets")
    bob.wait_for_timeout(2000)
    assert figure(bob, "Alice", "audio-packets") == stopped
    expect(tile(bob, "Alice")).to_have_attribute("data-speaking", "false", timeout=5_000)
    wait_growing(bob, "Alice", "frames-decoded")
    alice.get_by_test_id("call-mute").click()
    expect(tile(bob, "Alice")).to_have_attribute("data-muted", "false", timeout=10_000)
    wait_growing(bob, "Alice", "audio-packets")

    # Screen share replaces Bob's camera (4:3) by his screen (16:9), and back.
    bob.get_by_test_id("call-screen").click()
    expect(tile(alice, "Bob")).to_have_attribute("data-screen", "true", timeout=10_000)
    wait_aspect(alice, "Bob", 1.7, 1.8)
    wait_growing(alice, "Bob", "frames-decoded")
    expect(tile(bob, "Bob")).to_have_attribute("data-screen", "true")
    bob.get_by_test_id("call-screen").click()
    expect(tile(alice, "Bob")).to_have_attribute("data-screen", "false", timeout=10_000)
    wait_aspect(alice, "Bob", 1.3, 1.4)

    # Camera off: Bob's tile shows him without video; on again, frames flow.
    bob.evaluate(KEEP_CAMERA_TRACKS)
    bob.get_by_test_id("call-camera").click()
    expect(tile(alice, "Bob")).to_have_attribute("data-camera", "false", timeout=10_000)
    bob.get_by_test_id("call-camera").click()
    expect(tile(alice, "Bob")).to_have_attribute("data-camera", "true", timeout=10_000)
    wait_growing(alice, "Bob", "frames-decoded")

    # The camera is unplugged: Bob is told, his sound goes on, and the camera
    # can be turned on again. (stop() fires no "ended"; a lost device does.)
    bob.evaluate("() => { const track = window.ephemCameraTracks.at(-1); track.stop(); track.dispatchEvent(new Event('ended')); }")
    expect(bob.get_by_test_id("call-error")).to_contain_text("camera stopped working", timeout=10_000)
    expect(tile(alice, "Bob")).to_have_attribute("data-camera", "false", timeout=10_000)
    wait_growing(alice, "Bob", "audio-packets")
    bob.get_by_test_id("call-camera").click()
    expect(tile(alice, "Bob")).to_have_attribute("data-camera", "true", timeout=10_000)
    expect(bob.get_by_test_id("call-error")).to_have_count(0)
    wait_growing(alice, "Bob", "frames-decoded")

    # Leaving the call leaves the chat working, both ways.
    alice.get_by_test_id("call-leave").click()
    expect(alice.get_by_test_id("call-tile")).to_have_count(0)
    expect(bob.get_by_test_id("call-tile")).to_have_count(1, timeout=10_000)  # Bob alone
    expect(bob.get_by_test_id("call-count")).to_have_attribute("data-count", "1")
    say(alice, "still here after the call")
    say(bob, "me too")
    for page in (alice, bob):
        expect(page.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)
        expect(page.locator("[data-testid=chat-message][data-mine=true]")).to_have_attribute(
            "data-status", "delivered", timeout=10_000
        )
    assert texts(bob) == ["still here after the call", "me too"]
    expect(bob.get_by_test_id("system-message").filter(has_text="left the call")).to_have_count(1, timeout=10_000)

    # And the call can be joined again on the same links.
    start_call(alice)
    wait_media(bob, "Alice")
    wait_media(alice, "Bob")
    for page in (alice, bob):
        page.context.close()


def test_a_third_member_joins_the_call_and_a_crowded_call_sends_less_video(live, browser):
    ana, ben = meet(browser, live.frontend, "Ana", "Ben")
    wait_direct(ana, 1)
    # Both at once: only one side of a link adds the media, so nothing collides.
    ana.get_by_test_id("call-start").click()
    ben.get_by_test_id("call-start").click()
    wait_media(ana, "Ben")
    expect(tile(ana, "Ana")).to_have_attribute("data-send-scale", "1")

    cleo = join_by_invite(browser, ana, "Cleo")
    wait_direct(cleo, 2)
    say(cleo, "may I join?")
    expect(cleo.get_by_test_id("call-count")).to_have_attribute("data-count", "2", timeout=10_000)
    start_call(cleo)
    for page, others in ((ana, ("Ben", "Cleo")), (ben, ("Ana", "Cleo")), (cleo, ("Ana", "Ben"))):
        expect(page.get_by_test_id("call-tile")).to_have_count(3, timeout=FLOW_TIMEOUT)
        expect(page.get_by_test_id("call-count")).to_have_attribute("data-count", "3")
        for other in others:
            wait_media(page, other)
        # Three cameras are more than the live app's crowd of 2: half resolution.
        expect(page.get_by_test_id("call-crowded")).to_be_visible(timeout=10_000)
        expect(page.locator("[data-testid=call-tile][data-self=true]")).to_have_attribute(
            "data-send-scale", "2", timeout=10_000
        )
    ana.wait_for_function(
        "() => { const el = document.querySelector('[data-testid=call-tile][data-name=\"Ben\"]');"
        "  return Number(el.dataset.frameWidth) > 0 && Number(el.dataset.frameWidth) <= 320; }",
        timeout=FLOW_TIMEOUT,
    )
    expect(ben.get_by_test_id("chat-message")).to_have_count(1)

    # On a phone the three tiles take two columns, so the chat input stays near.
    cleo.set_viewport_size({"width": 375, "height": 667})
    boxes = [t.bounding_box() for t in cleo.get_by_test_id("call-tile").all()]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 1 and boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"], boxes
    assert boxes[2]["y"] > boxes[0]["y"] + boxes[0]["height"], boxes
    assert all(b["height"] < 150 for b in boxes), boxes

    # Cleo leaves the enclave altogether: the others' call goes on, uncrowded.
    cleo.get_by_test_id("enclave-leave").click()
    cleo.get_by_test_id("enclave-leave-confirm").click()
    for page in (ana, ben):
        expect(page.get_by_test_id("call-tile")).to_have_count(2, timeout=FLOW_TIMEOUT)
        expect(page.get_by_test_id("call-crowded")).to_have_count(0, timeout=10_000)
        expect(page.locator("[data-testid=call-tile][data-self=true]")).to_have_attribute(
            "data-send-scale", "1", timeout=10_000
        )
    wait_growing(ana, "Ben", "frames-decoded")
    for page in (ana, ben, cleo):
        page.context.close()


def test_a_page_that_is_not_secure_says_why_it_cannot_call_and_still_chats(live, browser):
    # Browsers give media devices only to HTTPS and localhost pages.
    alice, bob = meet(browser, insecure_url(live.frontend), "Plain", "Http")
    for page in (alice, bob):
        assert page.evaluate("window.isSecureContext") is False
        expect(page.get_by_test_id("call-insecure")).to_contain_text("HTTPS", timeout=10_000)
        expect(page.get_by_test_id("call-start")).to_have_count(0)
    wait_direct(alice, 1)
    say(alice, "no call, but chat")
    expect(bob.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)
    expect(alice.get_by_test_id("chat-message")).to_have_attribute("data-status", "delivered", timeout=10_000)
    for page in (alice, bob):
        page.context.close()
