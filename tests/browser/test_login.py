"""Sign-up, reload and restore in headless Chromium against the running app."""

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_up

pytestmark = pytest.mark.browser

NAME = "مریم رضایی"


def test_sign_up_reload_and_restore_elsewhere(live, browser):
    context = browser.new_context()
    page = context.new_page()
    recovery = sign_up(page, live.frontend, NAME, remember=True)
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
    sign_up(page, live.frontend, "Дмитрий", remember=False)
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


def test_the_page_stays_connected_while_the_recovery_token_is_shown(live, browser):
    """A session-only account lives while its tab is open: even on the token panel."""
    import httpx

    def online():
        return httpx.get(f"{live.backend}/api/stats").json()["online"]

    context = browser.new_context()
    page = context.new_page()
    before = online()
    page.goto(live.frontend)
    page.get_by_test_id("login-name").fill("Reader")
    switch = page.get_by_test_id("login-remember")
    if switch.get_attribute("data-state") == "checked":
        switch.click()
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("recovery-token")).to_be_visible(timeout=30_000)
    for _ in range(50):
        if online() == before + 1:
            break
        page.wait_for_timeout(200)
    assert online() == before + 1
    context.close()


def stored_token(page) -> str:
    return page.evaluate("localStorage.getItem('ephem_session') || sessionStorage.getItem('ephem_session') || ''")


@pytest.mark.parametrize("remember", [True, False])
def test_no_token_reaches_server_side_state(live, browser, remember):
    """Reflex pickles its state on the server (disk here, Redis with several
    workers): a session token kept there would sign anyone in who reads it."""
    context = browser.new_context()
    page = context.new_page()
    recovery = sign_up(page, live.frontend, f"Pickle {remember}", remember=remember)
    expect(page.get_by_test_id("search-button")).to_be_visible()
    session = stored_token(page)
    assert len(session) >= 22, "the browser keeps its session token"
    page.reload()  # the token is read again on load and used to sign in
    expect(page.get_by_test_id("me-name")).to_have_text(f"Pickle {remember}", timeout=30_000)
    page.get_by_test_id("search-button").click()
    expect(page.get_by_test_id("search-cancel")).to_be_visible()
    page.get_by_test_id("search-cancel").click()

    deadline = time.monotonic() + 5
    pickles: list[Path] = []
    while time.monotonic() < deadline and not pickles:
        pickles = [f for f in live.states.rglob("*") if f.is_file()]
        time.sleep(0.2)
    assert pickles, f"Reflex wrote no state under {live.states}"
    for secret in (session, recovery):
        holders = [f.name for f in pickles if secret.encode() in f.read_bytes()]
        assert not holders, f"a token is in server-side state: {holders}"

    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_test_id("login-name")).to_be_visible(timeout=30_000)
    assert stored_token(page) == "", "signing out removes the token from the browser"
    context.close()
