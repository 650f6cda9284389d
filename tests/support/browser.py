"""Shared Playwright helpers for the browser tests."""

import re
import socket

import httpx
import pytest
from playwright.sync_api import expect

TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


def insecure_url(url: str) -> str:
    """`url` (a localhost page) on this machine's own network address, where the
    page is not a secure context (no crypto.subtle, no media devices): the dev
    server answers there too. Skips when the machine has no such address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # a UDP connect sends nothing
            address = sock.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback address to serve an insecure page from")
    plain = url.replace("localhost", address)
    if httpx.get(plain, timeout=10).status_code != 200:
        pytest.skip(f"the dev server does not answer on {plain}")
    return plain


def sign_up(page, url: str, name: str, remember: bool = True) -> str:
    """Sign up on `url`, return the recovery token, and continue past it."""
    page.goto(url)
    page.get_by_test_id("login-name").fill(name)
    switch = page.get_by_test_id("login-remember")
    if (switch.get_attribute("data-state") == "checked") != remember:
        switch.click()
    page.get_by_test_id("login-submit").click()
    token = page.get_by_test_id("recovery-token")
    expect(token).to_have_text(TOKEN, timeout=30_000)
    recovery = token.inner_text()
    page.get_by_role("button", name="I saved it, continue").click()
    return recovery


ENCLAVE_URL = re.compile(r"/enclave/[0-9a-f-]{36}$")


def meet(browser, url: str, first: str, second: str, contexts: tuple[dict, dict] = ({}, {})):
    """Two new users press Search and land in one enclave; returns their pages.
    `contexts`: each one's browser-context options (viewport, locale...)."""
    pages = []
    for name, options in zip((first, second), contexts, strict=True):
        page = browser.new_context(**options).new_page()
        sign_up(page, url, name)
        pages.append(page)
    pages[0].get_by_test_id("search-button").click()
    expect(pages[0].get_by_test_id("search-cancel")).to_be_visible()
    pages[1].get_by_test_id("search-button").click()
    for page in pages:
        expect(page).to_have_url(ENCLAVE_URL, timeout=20_000)
    return pages


def join_by_invite(browser, inviter, name: str):
    """A new user follows an invite link made by `inviter` and lands in the enclave."""
    inviter.get_by_test_id("invite-create").click()
    link = inviter.get_by_test_id("invite-link")
    expect(link).to_have_value(re.compile(r"/join/"))
    page = browser.new_context().new_page()
    sign_up(page, link.input_value(), name)
    page.get_by_test_id("join-accept").click()
    expect(page).to_have_url(ENCLAVE_URL, timeout=20_000)
    return page


def wait_direct(page, count: int) -> None:
    """Until `count` peers are connected directly over WebRTC."""
    expect(page.get_by_test_id("peer-state").filter(has_text="direct")).to_have_count(count, timeout=30_000)


def say(page, text: str) -> None:
    box = page.get_by_test_id("chat-input")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def texts(page) -> list[str]:
    return page.get_by_test_id("chat-message").locator("div[dir=auto]").all_inner_texts()


def expect_texts(page, expected: list[str], timeout: float = 10_000) -> None:
    """The page's messages are exactly `expected`, in order, waiting up to `timeout` ms:
    a page whose Reflex state comes back late re-renders its list from a spinner."""
    expect(page.get_by_test_id("chat-message").locator("div[dir=auto]")).to_have_text(expected, timeout=timeout)


def quiet_console(page) -> list[str]:
    """From now on, what `page` logs as a warning or error and every file it asks
    for that is not there (a page's own 404, the static export's deep links, excepted)."""
    noise: list[str] = []
    page.on("console", lambda m: m.type in ("warning", "error") and noise.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda err: noise.append(f"pageerror: {err}"))
    page.on("response", lambda r: r.status == 404 and r.request.resource_type != "document" and noise.append(f"404: {r.url}"))
    return noise


def icons_answer(page, site: str) -> None:
    """The page names its icons and each is there, and so is /favicon.ico, which
    a browser asks for when a page names none (headless Chromium never asks, so
    the console alone would not tell)."""
    hrefs = page.eval_on_selector_all("link[rel~=icon]", "links => links.map((l) => l.href)")
    assert hrefs, "no <link rel=icon> in the page's head"
    for url in [*hrefs, f"{site}/favicon.ico"]:
        response = page.request.get(url)
        assert response.status == 200 and response.headers["content-type"].startswith("image/"), (url, response.status)


# Every text the page shows, each time anything in it changes, from its very
# first paint (innerText leaves out what is hidden: visibility, display).
_SNAPSHOTS = """
window.__texts = [];
const look = () => document.body && window.__texts.push(document.body.innerText);
new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
"""


def english_before_persian(browser, url: str) -> tuple[list[str], list[str]]:
    """The login page's English lines a Persian reader was shown while the page
    came up (there should be none), and what its console said meanwhile."""
    english = browser.new_context(locale="en-US").new_page()
    english.goto(url)
    expect(english.get_by_test_id("login-submit")).to_have_text("Start", timeout=20_000)
    english_lines = {line.strip() for line in english.locator("body").inner_text().splitlines() if line.strip()}
    english.context.close()

    context = browser.new_context(locale="fa-IR")
    context.add_init_script(_SNAPSHOTS)
    page = context.new_page()
    noise = quiet_console(page)
    page.goto(url)
    expect(page.get_by_test_id("login-submit")).to_have_text("شروع", timeout=20_000)
    expect(page.locator("html")).not_to_have_attribute("data-ephem-wait", "")  # shown
    page.wait_for_timeout(1000)  # the backend's answers arrive meanwhile: nothing may turn English
    persian_lines = {line.strip() for line in page.locator("body").inner_text().splitlines() if line.strip()}
    only_english = english_lines - persian_lines  # "ephem" and the menu's "English" are in both
    assert "Start" in only_english and len(only_english) > 5, only_english
    snapshots = page.evaluate("window.__texts")
    assert any("شروع" in text for text in snapshots), "the observer saw the page being drawn"
    seen = sorted({line for text in snapshots for line in only_english if line in text.splitlines()})
    context.close()
    return seen, noise
