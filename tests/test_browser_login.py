"""Sign-up, reload and restore in headless Chromium against the running app."""

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.live import CHROMIUM, CHROMIUM_ARGS, running_app

pytestmark = pytest.mark.browser

NAME = "مریم رضایی"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("live")) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_up(page, live, name: str, remember: bool) -> str:
    page.goto(live.frontend)
    page.get_by_test_id("login-name").fill(name)
    switch = page.get_by_test_id("login-remember")
    if (switch.get_attribute("data-state") == "checked") != remember:
        switch.click()
    page.get_by_test_id("login-submit").click()
    token = page.get_by_test_id("recovery-token")
    expect(token).to_have_text(re.compile(r"^[A-Za-z0-9_-]{32}$"), timeout=30_000)
    return token.inner_text()


def test_sign_up_reload_and_restore_elsewhere(live, browser):
    context = browser.new_context()
    page = context.new_page()
    recovery = sign_up(page, live, NAME, remember=True)
    page.get_by_role("button", name="I saved it, continue").click()
    expect(page.get_by_test_id("me-name")).to_have_text(NAME)
    expect(page.get_by_test_id("me-name")).to_have_attribute("dir", "auto")
    expect(page.get_by_test_id("search-button")).to_be_visible()

    page.reload()
    expect(page.get_by_test_id("me-name")).to_have_text(NAME, timeout=30_000)

    # A remembered session outlives the tab: a new page in the same browser profile.
    again = context.new_page()
    again.goto(live.frontend)
    expect(again.get_by_test_id("me-name")).to_have_text(NAME, timeout=30_000)
    context.close()

    fresh = browser.new_context()
    other = fresh.new_page()
    other.goto(live.frontend)
    other.get_by_test_id("restore-token").fill(recovery)
    other.get_by_test_id("restore-submit").click()
    expect(other.get_by_test_id("me-name")).to_have_text(NAME, timeout=30_000)
    fresh.close()


def test_session_only_account_is_forgotten_with_the_tab(live, browser):
    context = browser.new_context()
    page = context.new_page()
    sign_up(page, live, "Дмитрий", remember=False)
    page.get_by_role("button", name="I saved it, continue").click()
    expect(page.get_by_test_id("me-name")).to_have_text("Дмитрий")
    page.reload()  # same tab: sessionStorage survives a reload
    expect(page.get_by_test_id("me-name")).to_have_text("Дмитрий", timeout=30_000)
    other_tab = context.new_page()
    other_tab.goto(live.frontend)
    expect(other_tab.get_by_test_id("login-name")).to_be_visible(timeout=30_000)
    context.close()


def test_bad_inputs_show_clear_errors(live, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(live.frontend)
    page.get_by_test_id("restore-token").fill("not-a-real-token")
    page.get_by_test_id("restore-submit").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid", timeout=30_000)
    page.get_by_test_id("login-name").fill("   ")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_role("alert").filter(has_text="Please enter a name.")).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("me-name")).to_have_count(0)
    context.close()
