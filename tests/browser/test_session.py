"""Signing out in one tab signs out every tab on that session."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_up

pytestmark = pytest.mark.browser


def test_signing_out_in_one_tab_ends_the_others_search_too(live, browser):
    context = browser.new_context()
    first = context.new_page()
    sign_up(first, live.frontend, "Zed", remember=True)
    second = context.new_page()  # shares the remembered session
    second.goto(live.frontend)
    second.get_by_test_id("search-button").click()
    expect(second.get_by_test_id("search-cancel")).to_be_visible(timeout=15_000)

    first.get_by_role("button", name="Account menu").click()
    first.get_by_role("menuitem", name="Sign out").click()
    expect(first.get_by_test_id("login-name")).to_be_visible(timeout=15_000)
    # The other tab is told at once, not at its next reload, and its search ends:
    # nobody can be matched with a session that no longer exists.
    expect(second.get_by_test_id("login-name")).to_be_visible(timeout=15_000)
    expect(second.get_by_test_id("search-button")).to_have_count(0)
    assert httpx.get(f"{live.backend}/api/stats", timeout=10).json()["searching"] == 0
    context.close()
