"""A quiet console: navigating the app (dev server here; the static export in
test_static_export.py) logs no warning or error and asks for no file that is
not there (a favicon, say)."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import icons_answer, meet, quiet_console, wait_direct

pytestmark = pytest.mark.browser


def test_navigating_the_dev_server_logs_nothing_wrong(live, browser):
    alice, bob = meet(browser, live.frontend, "Quiet Alice", "Quiet Bob")
    noise = [quiet_console(page) for page in (alice, bob)]
    wait_direct(alice, 1)
    room = alice.url
    alice.locator("a[href='/']").first.click()  # the room's way home, in the page
    expect(alice.get_by_test_id("enclave-link")).to_have_count(1, timeout=20_000)
    alice.get_by_test_id("enclave-link").click()
    expect(alice).to_have_url(room, timeout=20_000)
    wait_direct(alice, 1)
    for page in (alice, bob):
        page.reload()
        expect(page.get_by_test_id("chat-input")).to_be_visible(timeout=20_000)
    wait_direct(alice, 1)
    alice.goto(live.frontend)
    expect(alice.get_by_test_id("search-button")).to_be_visible(timeout=20_000)
    alice.wait_for_timeout(1000)  # anything late
    assert noise == [[], []]
    icons_answer(alice, live.frontend)
    for page in (alice, bob):
        page.context.close()
