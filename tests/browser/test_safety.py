"""Block, Next, Report and Remove in headless Chromium."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import ENCLAVE_URL, join_by_invite, meet, say, texts, wait_direct

pytestmark = pytest.mark.browser

HOME = re.compile(r"/$")


def member(page, name: str):
    return page.get_by_test_id("enclave-member").filter(has_text=name)


def open_menu(page, name: str) -> None:
    member(page, name).get_by_test_id("member-menu").click()


def test_block_drops_messages_offers_to_leave_and_lists_on_the_account_page(live, browser):
    ana, bo = meet(browser, live.frontend, "Ana", "Bo")
    wait_direct(ana, 1)
    say(bo, "before the block")
    expect(ana.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)

    open_menu(ana, "Bo")
    ana.get_by_test_id("member-block").click()
    ana.get_by_test_id("offer-leave-cancel").click()  # stay for now
    expect(member(ana, "Bo").get_by_test_id("member-blocked")).to_be_visible()
    say(bo, "after the block")
    ana.wait_for_timeout(1500)
    assert texts(ana) == ["before the block"]  # the blocked account's frames are dropped

    # Unblock from the row: messages come through again.
    open_menu(ana, "Bo")
    ana.get_by_test_id("member-unblock").click()
    expect(member(ana, "Bo").get_by_test_id("member-blocked")).to_have_count(0)
    say(bo, "unblocked now")
    expect(ana.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)

    # Block again and take the offer to leave; the account page lists the block.
    open_menu(ana, "Bo")
    ana.get_by_test_id("member-block").click()
    ana.get_by_test_id("offer-leave-confirm").click()
    expect(ana).to_have_url(HOME, timeout=15_000)
    blocked = ana.get_by_test_id("blocked-account")
    expect(blocked).to_have_count(1, timeout=10_000)
    expect(blocked).to_contain_text("Bo")

    # Both search again: they are not matched with each other.
    ana.get_by_test_id("search-button").click()
    bo.goto(live.frontend)
    bo.get_by_test_id("search-button").click()
    ana.wait_for_timeout(2000)
    expect(ana).to_have_url(HOME)
    expect(bo).to_have_url(HOME)
    ana.get_by_test_id("search-cancel").click()
    bo.get_by_test_id("search-cancel").click()

    ana.get_by_test_id("block-unblock").click()
    expect(blocked).to_have_count(0, timeout=10_000)
    for page in (ana, bo):
        page.context.close()


def test_next_leaves_and_searches_again(live, browser):
    ana, bo = meet(browser, live.frontend, "Ana", "Bo")
    first = ana.url
    ana.get_by_test_id("enclave-next").click()
    expect(ana).to_have_url(HOME, timeout=15_000)
    expect(ana.get_by_test_id("search-cancel")).to_be_visible(timeout=15_000)  # searching already
    # Bo hears Ana left; a newcomer meets Ana.
    expect(bo.get_by_test_id("enclave-member")).to_have_count(1, timeout=15_000)
    cy = browser.new_context().new_page()
    from tests.support.browser import sign_up

    sign_up(cy, live.frontend, "Cy")
    cy.get_by_test_id("search-button").click()
    expect(ana).to_have_url(ENCLAVE_URL, timeout=20_000)
    assert ana.url != first
    expect(member(ana, "Cy")).to_have_count(1, timeout=10_000)
    for page in (ana, bo, cy):
        page.context.close()


def test_report_sends_only_ticked_messages(live, browser):
    ana, bo = meet(browser, live.frontend, "Ana", "Bo")
    wait_direct(ana, 1)
    say(bo, "first, harmless")
    say(bo, "second, abusive")
    expect(ana.get_by_test_id("chat-message")).to_have_count(2, timeout=10_000)

    open_menu(ana, "Bo")
    ana.get_by_test_id("member-report").click()
    form = ana.get_by_test_id("report-form")
    expect(form).to_be_visible()
    ana.get_by_test_id("report-send").click()
    expect(form.get_by_role("alert")).to_be_visible()  # a reason is needed
    ana.get_by_test_id("report-reason").fill("abuse")
    form.get_by_test_id("report-message").filter(has_text="second, abusive").locator("input").check()
    ana.get_by_test_id("report-send").click()
    expect(form).to_have_count(0, timeout=10_000)

    from ephem.core.db import make_engine
    from ephem.core.settings import Settings
    from ephem.safety import Safety

    db_url = f"sqlite:///{live.db_path}"
    engine = make_engine(db_url)
    try:
        (report,) = Safety(engine, Settings(db_url=db_url, secret=b"x" * 16)).reports()
    finally:
        engine.dispose()
    assert report.reason == "abuse" and report.reported_name == "Bo"
    assert [(e.name, e.text) for e in report.evidence] == [("Bo", "second, abusive")]
    for page in (ana, bo):
        page.context.close()


def test_a_host_removes_an_invitee(live, browser):
    ana, bo = meet(browser, live.frontend, "Ana", "Bo")
    cy = join_by_invite(browser, ana, "Cy")
    expect(ana.get_by_test_id("enclave-member")).to_have_count(3, timeout=15_000)
    # Cy joined by invite: no Remove in Cy's menu for the hosts, and none for Cy at all.
    open_menu(cy, "Ana")
    expect(cy.get_by_test_id("member-report")).to_be_visible()
    expect(cy.get_by_test_id("member-remove")).to_have_count(0)
    cy.keyboard.press("Escape")
    expect(cy.get_by_test_id("enclave-next")).to_have_count(0)

    open_menu(ana, "Bo")
    expect(ana.get_by_test_id("member-remove")).to_have_count(0)  # hosts cannot remove each other
    ana.keyboard.press("Escape")
    open_menu(ana, "Cy")
    ana.get_by_test_id("member-remove").click()
    expect(cy).to_have_url(HOME, timeout=15_000)  # Cy is told and sent home
    for page in (ana, bo):
        expect(page.get_by_test_id("enclave-member")).to_have_count(2, timeout=15_000)
    for page in (ana, bo, cy):
        page.context.close()
