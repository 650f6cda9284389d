"""Shared Playwright helpers for the browser tests."""

import re

from playwright.sync_api import expect

TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


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
