"""The enclave page reads like a chat app: the conversation fills the screen,
stays at the newest message, and the rest lives in a side panel (a drawer on
a phone). Headless Chromium at a phone's size (390×844) and a desktop's."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import meet, wait_direct

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


# Types each line into the composer and presses Enter, from inside the page:
# Playwright's own fill and press take about 0.3 s a message.
BURST = """async ([count, prefix]) => {
  const box = document.querySelector("[data-testid=chat-input]");
  const setValue = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  for (let i = 0; i < count; i++) {
    setValue.call(box, `${prefix} ${i}`);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    await tick();
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    await tick();
  }
}"""


def burst(page, count: int, prefix: str) -> None:
    page.evaluate(BURST, [count, prefix])
    expect(page.locator("[data-testid=chat-message][data-mine=true]").filter(has_text=f"{prefix} {count - 1}")).to_have_count(1)


def list_metrics(page) -> dict:
    return page.get_by_test_id("chat-list").evaluate(
        "el => ({top: el.scrollTop, height: el.scrollHeight, client: el.clientHeight})"
    )


def in_viewport(page, testid: str) -> bool:
    return page.get_by_test_id(testid).first.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth; }"
    )


def test_a_phone_conversation_fills_the_screen_and_stays_pinned(live, browser):
    phone, desk = meet(
        browser, live.frontend, "Pocket", "Desk", ({"viewport": PHONE, "locale": "en-US"}, {"viewport": DESKTOP, "locale": "de-DE"})
    )
    wait_direct(phone, 1)
    wait_direct(desk, 1)

    burst(desk, 200, "line")
    expect(phone.get_by_test_id("chat-message")).to_have_count(200, timeout=30_000)
    for page in (phone, desk):
        # The page itself never scrolls: the list does, and the composer stays in view.
        assert page.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert in_viewport(page, "chat-input") and in_viewport(page, "chat-send")
        # Pinned: the newest message is in view.
        expect(page.get_by_test_id("chat-message").last).to_be_in_viewport()
        metrics = list_metrics(page)
        assert metrics["height"] > 2 * metrics["client"], metrics  # the list scrolls by itself
        assert metrics["height"] - metrics["top"] - metrics["client"] < 50, metrics

    # Runs of one sender show the name once; times are in each reader's locale.
    firsts = phone.locator("[data-testid=chat-message][data-first=true]")
    expect(firsts).to_have_count(1)
    expect(phone.get_by_test_id("chat-message").first.locator("time")).to_have_text(re.compile(r"\d{1,2}:\d\d\s?[AP]M"))
    expect(desk.get_by_test_id("chat-message").first.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d$"))

    # Scrolled up to read, the reader stays put and is told what came below.
    phone.get_by_test_id("chat-list").evaluate("el => { el.scrollTop = 0; }")
    expect(phone.get_by_test_id("chat-list")).to_have_attribute("data-pinned", "false")
    burst(desk, 2, "while reading")
    expect(phone.get_by_test_id("chat-message")).to_have_count(202, timeout=10_000)
    jump = phone.get_by_test_id("chat-jump")
    expect(jump).to_have_text("2 new messages ↓")
    assert list_metrics(phone)["top"] == 0
    jump.click()
    expect(jump).to_have_count(0)
    expect(phone.get_by_test_id("chat-message").last).to_be_in_viewport(timeout=5_000)
    expect(phone.get_by_test_id("chat-list")).to_have_attribute("data-pinned", "true")
    # Back at the bottom, new messages keep it there.
    burst(desk, 1, "pinned again")
    expect(phone.get_by_test_id("chat-message")).to_have_count(203, timeout=10_000)
    expect(phone.get_by_test_id("chat-message").last).to_be_in_viewport()
    expect(jump).to_have_count(0)

    # The composer grows with its lines, up to a bound, and stays in view.
    box = phone.get_by_test_id("chat-input")
    one_line = box.bounding_box()["height"]
    box.fill("a\nb\nc\nd")
    grown = box.bounding_box()["height"]
    assert grown > one_line * 2, (one_line, grown)
    box.fill("\n".join("x" * 20))
    assert box.bounding_box()["height"] <= 170
    assert in_viewport(phone, "chat-input")
    box.fill("")
    for page in (phone, desk):
        page.context.close()


def test_the_side_panel_is_a_drawer_on_a_phone_and_a_column_on_a_desktop(live, browser):
    phone, desk = meet(browser, live.frontend, "Drawer", "Column", ({"viewport": PHONE}, {"viewport": DESKTOP}))
    side, toggle = phone.get_by_test_id("side-panel"), phone.get_by_test_id("side-open")
    expect(side).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(side).to_be_visible()
    expect(side).to_be_in_viewport()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    phone.wait_for_function("document.activeElement === document.querySelector('[data-testid=side-close]')")
    expect(side.get_by_test_id("enclave-members")).to_be_visible()
    expect(side.get_by_test_id("invite-create")).to_be_visible()
    phone.keyboard.press("Escape")
    expect(side).to_be_hidden()
    phone.wait_for_function("document.activeElement === document.querySelector('[data-testid=side-open]')")
    toggle.click()
    expect(side).to_be_visible()
    phone.get_by_test_id("side-close").click()
    expect(side).to_be_hidden()
    # The page's width is the phone's, drawer or not.
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    # On a desktop the panel sits beside the conversation, and there is no toggle.
    expect(desk.get_by_test_id("side-open")).to_be_hidden()
    expect(desk.get_by_test_id("side-panel")).to_be_visible()
    conversation = desk.get_by_test_id("conversation").bounding_box()
    panel = desk.get_by_test_id("side-panel").bounding_box()
    assert panel["x"] >= conversation["x"] + conversation["width"] - 1, (conversation, panel)
    assert in_viewport(desk, "chat-input")
    # Narrowed to a phone's width, the same page turns it into a drawer.
    desk.set_viewport_size(PHONE)
    expect(desk.get_by_test_id("side-panel")).to_be_hidden()
    expect(desk.get_by_test_id("side-open")).to_be_visible()
    for page in (phone, desk):
        page.context.close()


def test_links_are_plain_safe_anchors_and_emoji_show_large(live, browser):
    reader, writer = meet(browser, live.frontend, "Reader", "Writer", ({"viewport": PHONE}, {}))
    wait_direct(reader, 1)
    box = writer.get_by_test_id("chat-input")
    box.fill("see https://example.org/a?b=1. and javascript:alert(1) or ftp://x.org")
    box.press("Enter")
    box.fill("🎉")
    box.press("Enter")
    messages = reader.get_by_test_id("chat-message")
    expect(messages).to_have_count(2, timeout=10_000)
    links = messages.first.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/a?b=1")
    expect(links).to_have_text("https://example.org/a?b=1")
    expect(links).to_have_attribute("target", "_blank")
    rel = links.get_attribute("rel").split()
    assert "noopener" in rel and "noreferrer" in rel
    # Never embedded: no image, frame or media was made for it.
    expect(messages.locator("img, iframe, video, audio, object, embed")).to_have_count(0)
    assert messages.first.locator("div[dir=auto]").inner_text() == (
        "see https://example.org/a?b=1. and javascript:alert(1) or ftp://x.org"
    )
    emoji = messages.nth(1).locator("div[dir=auto]")
    assert float(emoji.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 28
    # Delivered marks are as they were.
    expect(writer.get_by_test_id("chat-message").first).to_have_attribute("data-status", "delivered", timeout=10_000)
    for page in (reader, writer):
        page.context.close()
