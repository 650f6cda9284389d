"""Search, match, enclave presence and invites in headless Chromium."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_up

pytestmark = pytest.mark.browser

ENCLAVE_URL = re.compile(r"/enclave/[0-9a-f-]{36}$")


PHONE = {"width": 375, "height": 667}


def online_members(page):
    return page.locator("[data-testid=enclave-member][data-online=true]")


def box(page, testid: str) -> dict:
    return page.get_by_test_id(testid).first.bounding_box()


def wait_focus(page, selector: str) -> None:
    """Until the element `selector` has the focus (document.activeElement: a
    page in the background of the headless browser is "inactive" to Playwright's focus checks)."""
    page.wait_for_function("sel => document.activeElement === document.querySelector(sel)", arg=selector, timeout=10_000)


def leave_enclave(page) -> None:
    """Leave through the confirmation dialog; the enclave's history entry is replaced by home."""
    before = page.evaluate("history.length")
    page.get_by_test_id("enclave-leave").click()
    page.get_by_test_id("enclave-leave-confirm").click()
    expect(page).to_have_url(re.compile(r"/$"), timeout=15_000)
    assert page.evaluate("history.length") == before


THIRD = "Третий" + "ё" * 26  # 32 letters, no space to break at


def test_two_strangers_meet_and_a_third_joins_by_invite(live, browser):
    first, second = (browser.new_context().new_page() for _ in range(2))
    sign_up(first, live.frontend, "Alice")
    sign_up(second, live.frontend, "بهرام")

    first.get_by_test_id("search-button").click()
    expect(first.get_by_test_id("search-cancel")).to_be_visible()
    expect(first.get_by_test_id("stats")).to_contain_text("1 searching", timeout=10_000)
    second.get_by_test_id("search-button").click()

    for page in (first, second):
        expect(page).to_have_url(ENCLAVE_URL, timeout=20_000)
    assert first.url.rsplit("/", 1)[1] == second.url.rsplit("/", 1)[1]
    for page in (first, second):
        members = page.get_by_test_id("enclave-members")
        expect(members).to_contain_text("Alice")
        expect(members).to_contain_text("بهرام")
        expect(online_members(page)).to_have_count(2, timeout=15_000)

    first.get_by_test_id("invite-create").click()
    link = first.get_by_test_id("invite-link")
    expect(link).to_have_value(re.compile(r"/join/[A-Za-z0-9_-]{32}$"))
    invite = link.input_value()

    third = browser.new_context().new_page()
    sign_up(third, invite, THIRD)
    invited_to = third.get_by_test_id("invite-name")  # checked on load
    for name in ("Alice", "بهرام"):
        expect(invited_to).to_contain_text(name)
    expect(invited_to).to_have_attribute("dir", "auto")
    third.get_by_test_id("join-accept").click()
    expect(third).to_have_url(ENCLAVE_URL, timeout=20_000)
    assert third.url.rsplit("/", 1)[1] == first.url.rsplit("/", 1)[1]
    for page in (first, second, third):
        expect(page.get_by_test_id("enclave-member")).to_have_count(3, timeout=15_000)
        expect(online_members(page)).to_have_count(3, timeout=15_000)
    expect(first.get_by_test_id("system-message").last).to_contain_text(f"{THIRD} joined")

    # On a phone the members are in the drawer: an empty log takes no room
    # (one gap between Members and the next card, not two), the round-trip
    # time never breaks in two, and Copy and Revoke sit on one line.
    for page in (first, third):
        page.set_viewport_size(PHONE)
        page.get_by_test_id("side-open").click()
        expect(page.get_by_test_id("side-panel")).to_be_visible()
    expect(third.get_by_test_id("system-message")).to_have_count(0)
    members = third.get_by_test_id("enclave-members").locator("xpath=..").bounding_box()  # its card
    details = third.get_by_test_id("keep-history").locator("xpath=ancestor::div[contains(@class, 'rt-Card')]").bounding_box()
    assert details["y"] - (members["y"] + members["height"]) < 20, (members, details)
    rtt = third.get_by_test_id("peer-rtt").filter(has_text="ms").first
    expect(rtt).to_be_visible(timeout=15_000)
    # A long name squeezes the row like this.
    third.get_by_test_id("enclave-members").evaluate("el => { el.parentElement.style.width = '140px'; }")
    assert rtt.bounding_box()["height"] < 24
    third.get_by_test_id("enclave-members").evaluate("el => { el.parentElement.style.width = ''; }")
    # The longest name fits the phone: no member row is wider than its list.
    for page in (first, third):
        assert page.get_by_test_id("enclave-members").evaluate(
            "el => [...el.querySelectorAll('[data-testid=enclave-member]')]"
            ".every(row => row.getBoundingClientRect().right <= el.getBoundingClientRect().right + 0.5"
            " && row.scrollWidth <= row.clientWidth + 0.5)"
        )
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

    # Revoking stops the link from working for anyone else.
    copy, revoke = box(first, "invite-copy"), box(first, "invite-revoke")
    assert abs(copy["y"] - revoke["y"]) < 1 and abs(copy["height"] - revoke["height"]) < 1, (copy, revoke)
    first.get_by_test_id("invite-revoke").click()
    expect(first.get_by_test_id("invite-link")).to_have_count(0)
    # The dead link says so as the page opens, before any sign-up, with no Join.
    fourth = browser.new_context().new_page()
    fourth.goto(invite)
    expect(fourth.get_by_test_id("invite-error")).to_contain_text("not valid", timeout=15_000)
    expect(fourth.get_by_test_id("join-accept")).to_have_count(0)
    expect(fourth.get_by_test_id("login-name")).to_have_count(0)
    fourth.get_by_test_id("join-home").click()
    expect(fourth.get_by_test_id("login-name")).to_be_visible(timeout=15_000)
    fourth.context.close()

    for page in (first, third):
        page.get_by_test_id("side-close").click()
        expect(page.get_by_test_id("side-panel")).to_be_hidden()

    # Leaving asks first; staying changes nothing.
    third.get_by_test_id("enclave-leave").click()
    third.get_by_test_id("enclave-leave-cancel").click()
    expect(third.get_by_role("alertdialog")).to_have_count(0)
    expect(third).to_have_url(ENCLAVE_URL)
    wait_focus(third, "[data-testid=enclave-leave]")
    leave_enclave(third)
    expect(first.get_by_test_id("system-message").last).to_contain_text(f"{THIRD} left", timeout=15_000)
    expect(online_members(first)).to_have_count(2)
    for page in (first, second, third):
        page.context.close()


def test_cancelled_search_matches_nobody(live, browser):
    page = browser.new_context().new_page()
    sign_up(page, live.frontend, "Patient")
    page.get_by_test_id("search-button").click()
    expect(page.get_by_test_id("search-cancel")).to_be_visible()
    page.get_by_test_id("search-cancel").click()
    expect(page.get_by_test_id("search-button")).to_be_visible()
    expect(page.get_by_test_id("stats")).to_contain_text("0 searching", timeout=10_000)

    other = browser.new_context().new_page()
    sign_up(other, live.frontend, "Late")
    other.get_by_test_id("search-button").click()
    expect(other.get_by_test_id("stats")).to_contain_text("1 searching", timeout=10_000)
    expect(page).not_to_have_url(ENCLAVE_URL)
    other.get_by_test_id("search-cancel").click()
    page.context.close()
    other.context.close()


def test_an_unknown_enclave_or_invite_says_so_and_leads_home(live, browser):
    page = browser.new_context().new_page()
    sign_up(page, live.frontend, "Curious")
    page.goto(f"{live.frontend}/enclave/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_test_id("enclave-missing")).to_be_visible(timeout=20_000)
    expect(page.get_by_role("heading", name="ephem")).to_be_visible()
    page.get_by_test_id("enclave-home").click()
    expect(page.get_by_test_id("search-button")).to_be_visible(timeout=15_000)

    page.goto(f"{live.frontend}/join/no-such-code")
    expect(page.get_by_test_id("invite-error")).to_contain_text("not valid", timeout=20_000)
    expect(page.get_by_test_id("join-accept")).to_have_count(0)
    page.get_by_test_id("join-home").click()
    expect(page.get_by_test_id("search-button")).to_be_visible(timeout=15_000)
    page.context.close()


def test_search_and_the_account_dialog_work_from_the_keyboard(live, browser):
    page = browser.new_context().new_page()
    sign_up(page, live.frontend, "Keys")
    search = page.get_by_test_id("search-button")
    search.focus()
    page.keyboard.press("Enter")
    wait_focus(page, "[data-testid=search-cancel]")  # not lost with the Search button
    page.keyboard.press("Escape")
    wait_focus(page, "[data-testid=search-button]")
    expect(page.get_by_test_id("stats")).to_contain_text("0 searching", timeout=10_000)

    account = page.get_by_role("button", name="Account menu")
    account.click()
    page.get_by_role("menuitem", name="Delete account").click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("alertdialog")).to_have_count(0, timeout=10_000)
    wait_focus(page, "#account-button")
    expect(page.get_by_test_id("me-name")).to_have_text("Keys")  # nothing deleted
    page.context.close()


def test_strangers_sharing_an_interest_see_it_in_their_enclave(live, browser):
    first, second = (browser.new_context().new_page() for _ in range(2))
    sign_up(first, live.frontend, "Chess One")
    sign_up(second, live.frontend, "Chess Two")

    first.get_by_test_id("search-interests").fill("chess; rm")
    first.get_by_test_id("search-button").click()
    expect(first.get_by_test_id("search-interests-error")).to_contain_text("separated by commas")
    expect(first.get_by_test_id("search-cancel")).to_have_count(0)

    first.get_by_test_id("search-interests").fill("Chess, Go")
    first.get_by_test_id("search-interests").press("Enter")  # searches too
    expect(first.get_by_test_id("search-cancel")).to_be_visible()
    expect(first.get_by_test_id("stats")).to_contain_text("1 searching", timeout=10_000)
    second.get_by_test_id("search-interests").fill("jazz,chess")
    second.get_by_test_id("search-button").click()

    for page in (first, second):
        expect(page).to_have_url(ENCLAVE_URL, timeout=20_000)
        expect(page.get_by_test_id("shared-interests")).to_have_text("You both like: chess", timeout=10_000)
    for page in (first, second):
        leave_enclave(page)
