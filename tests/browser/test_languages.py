"""The page in its users' languages: chosen from the browser, switched from the
menu, remembered, right to left in Persian and Arabic (headless Chromium, phone size)."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import english_before_persian, meet, say, texts, wait_direct

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def page_in(browser, url: str, locale: str):
    page = browser.new_context(locale=locale, viewport=PHONE).new_page()
    page.goto(url)
    return page


@pytest.mark.parametrize(
    ("locale", "lang", "direction", "start"),
    [("fa-IR", "fa", "rtl", "شروع"), ("ar-EG", "ar", "rtl", "ابدأ"), ("bn-BD", "bn", "ltr", "শুরু করুন"), ("ky-KG", "ky", "ltr", "Баштоо")],
)
def test_the_first_visit_speaks_the_browsers_language(live, browser, locale, lang, direction, start):
    page = page_in(browser, live.frontend, locale)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", lang, timeout=20_000)
    expect(html).to_have_attribute("dir", direction)
    expect(page.get_by_test_id("login-submit")).to_have_text(start, timeout=20_000)
    expect(page.get_by_test_id("language-menu")).to_have_value(lang)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing spills sideways
    page.context.close()


def test_the_menu_switches_and_the_choice_is_remembered(live, browser):
    page = page_in(browser, live.frontend, "en-US")
    menu = page.get_by_test_id("language-menu")
    expect(menu).to_have_value("en", timeout=20_000)
    expect(menu.locator("option[value=ky]")).to_have_text("Кыргызча")
    expect(menu.locator("option[value=fa]")).to_have_text("فارسی")
    menu.select_option("ru")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_test_id("login-submit")).to_have_text("Начать", timeout=10_000)
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "ru", timeout=20_000)
    expect(page.get_by_test_id("login-submit")).to_have_text("Начать", timeout=20_000)
    page.context.close()


def test_a_persian_conversation_reads_right_to_left_and_survives_a_switch(live, browser, tmp_path):
    alice, bahram = meet(browser, live.frontend, "Alice", "بهرام")
    for page in (alice, bahram):
        page.set_viewport_size(PHONE)
    wait_direct(alice, 1)
    wait_direct(bahram, 1)
    say(bahram, "سلام")
    say(alice, "hello")
    expect(bahram.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)

    bahram.get_by_test_id("language-menu").select_option("fa")
    expect(bahram.locator("html")).to_have_attribute("dir", "rtl")
    expect(bahram.get_by_test_id("peer-state")).to_have_text("مستقیم")  # the link's state, per member
    send = bahram.get_by_test_id("chat-send")
    expect(send).to_have_text("فرستادن")
    expect(bahram.get_by_test_id("file-button")).to_have_attribute("aria-label", "فرستادن فایل")  # the file panel too
    assert texts(bahram) == ["سلام", "hello"]  # the conversation stays through the switch
    # Times in Persian digits; the enclave's lifetime said by the server's CLDR formats.
    expect(bahram.get_by_test_id("chat-message").first.locator("time")).to_have_text(re.compile("[۰-۹]{1,2}:[۰-۹]{2}"))
    expect(bahram.get_by_test_id("enclave-expires")).to_have_text(re.compile("^اگر استفاده نشود، .*[۰-۹].* حذف می‌شود.$"), timeout=10_000)

    box = bahram.get_by_test_id("chat-input").bounding_box()
    button = send.bounding_box()
    assert button["x"] + button["width"] <= box["x"] + 1  # the send button at the reading end: left
    mine = bahram.locator("[data-testid=chat-message][data-mine=true]").bounding_box()
    theirs = bahram.locator("[data-testid=chat-message][data-mine=false]").bounding_box()
    assert mine["x"] < theirs["x"]  # own bubbles on the left in right-to-left
    assert bahram.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert theirs["x"] + theirs["width"] > PHONE["width"] - 40  # theirs start at the right edge

    # A file Alice (English) declines: she sends the code, Bahram's page says it in Persian.
    big = tmp_path / "large.bin"
    with big.open("wb") as sparse:  # above the 25 MB that waits for Accept
        sparse.truncate(26 * 1024 * 1024)
    bahram.get_by_test_id("file-input").set_input_files(str(big))
    offered = alice.locator("[data-testid=file-transfer][data-direction=in]").last
    expect(offered).to_have_attribute("data-status", "offered", timeout=30_000)
    offered.get_by_test_id("file-decline").click()
    refusal = bahram.locator("[data-testid=file-receiver] [data-testid=file-error]")
    expect(refusal).to_have_attribute("data-code", "declined", timeout=10_000)
    expect(refusal).to_contain_text("گیرنده نپذیرفت.")

    # Back to English: the same messages, the sides the other way round.
    bahram.get_by_test_id("language-menu").select_option("en")
    expect(refusal).to_contain_text("The receiver declined.")  # said again, not kept as it was drawn
    expect(bahram.locator("html")).to_have_attribute("dir", "ltr")
    expect(send).to_have_text("Send")
    expect(bahram.get_by_test_id("file-button")).to_have_attribute("aria-label", "Send files")
    assert texts(bahram) == ["سلام", "hello"]
    mine = bahram.locator("[data-testid=chat-message][data-mine=true]").bounding_box()
    theirs = bahram.locator("[data-testid=chat-message][data-mine=false]").bounding_box()
    assert mine["x"] > theirs["x"]
    for page in (alice, bahram):
        page.context.close()


def test_the_first_paint_is_already_in_the_preferred_language(live, browser):
    seen, noise = english_before_persian(browser, live.frontend)
    assert seen == [], f"English before Persian: {seen}"
    assert noise == []


@pytest.mark.parametrize(("locale", "remembered", "lang", "heading"), [
    ("fa-IR", None, "fa", "اتصال برقرار نیست"),
    ("en-US", "ru", "ru", "Нет подключения"),  # the language chosen in the app wins over the browser's
])
def test_the_offline_page_speaks_the_remembered_or_preferred_language(live, browser, locale, remembered, lang, heading):
    context = browser.new_context(locale=locale, viewport=PHONE)
    if remembered:
        context.add_init_script(f"localStorage.setItem('ephem_lang', '{remembered}')")
    page = context.new_page()
    page.goto(f"{live.frontend}/offline.html")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.get_by_test_id("offline-retry")).not_to_have_text("Try again")
    assert page.title() != "ephem · no connection"
    context.close()
