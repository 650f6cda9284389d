"""Accessibility: axe-core (from the npm registry, tests/node) run inside each
page finds no serious or critical violation, in the light and the dark theme,
at a phone's and a desktop's width. The theme follows the system until the
reader picks one, which is remembered."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_room_layout import DESKTOP, PHONE
from tests.support.browser import meet, wait_direct
from tests.support.live_app import ROOT

pytestmark = pytest.mark.browser

AXE = ROOT / "tests/node/node_modules/axe-core/axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
RUN = """(rules) => axe.run(document, { runOnly: { type: "tag", values: rules } }).then((r) =>
  r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " :: " + n.failureSummary) })))"""


def serious(page) -> list[dict]:
    assert AXE.is_file(), f"{AXE} is missing: run `make node-client` (npm install in tests/node)"
    page.wait_for_timeout(400)  # let transitions and colour changes settle
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    found = page.evaluate(RUN, RULES)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def check(page, where: str, problems: list) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        expect(page.locator("html")).to_have_class(re.compile(rf"\b{scheme}\b"), timeout=5_000)
        problems += [(where, scheme, v) for v in serious(page)]


def test_no_serious_violations_on_any_page(live, browser):
    problems: list = []
    # Signed out (the sign-up page), at both widths.
    for size in (PHONE, DESKTOP):
        page = browser.new_context(viewport=size).new_page()
        page.goto(live.frontend)
        expect(page.get_by_test_id("login-name")).to_be_visible(timeout=20_000)
        check(page, f"sign-in {size['width']}", problems)
        page.context.close()

    phone, desk = meet(browser, live.frontend, "Phone", "Desk", ({"viewport": PHONE}, {"viewport": DESKTOP}))
    wait_direct(phone, 1)
    desk.get_by_test_id("chat-input").fill("hello https://example.org 🎉")
    desk.get_by_test_id("chat-input").press("Enter")
    expect(phone.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)
    check(desk, "enclave desktop", problems)
    check(phone, "enclave phone", problems)
    phone.get_by_test_id("side-open").click()
    expect(phone.get_by_test_id("side-panel")).to_be_visible()
    check(phone, "enclave phone drawer", problems)

    # An invite page, and the home page with its enclave list.
    desk.get_by_test_id("invite-create").click()
    link = desk.get_by_test_id("invite-link")
    expect(link).to_have_value(re.compile(r"/join/"))
    home = desk.context.new_page()
    home.set_viewport_size(DESKTOP)
    home.goto(link.input_value())
    expect(home.get_by_test_id("invite-name")).to_be_visible(timeout=20_000)
    check(home, "invite", problems)
    home.goto(live.frontend)
    expect(home.get_by_test_id("enclave-link")).to_be_visible(timeout=20_000)
    check(home, "home", problems)
    home.goto(f"{live.frontend}/offline.html")  # plain HTML, following the system's scheme
    for scheme in ("light", "dark"):
        home.emulate_media(color_scheme=scheme)
        problems += [("offline", scheme, v) for v in serious(home)]

    assert not problems, "\n".join(f"{where} ({scheme}): {v['id']} [{v['impact']}] {v['help']}: {v['nodes']}" for where, scheme, v in problems)
    for page in (phone, desk):
        page.context.close()


def test_the_theme_follows_the_system_until_picked_and_is_remembered(live, browser):
    page = browser.new_context(color_scheme="dark").new_page()
    page.goto(live.frontend)
    html = page.locator("html")
    expect(html).to_have_class(re.compile(r"\bdark\b"), timeout=20_000)
    page.emulate_media(color_scheme="light")
    expect(html).to_have_class(re.compile(r"\blight\b"))
    page.get_by_test_id("theme-menu").click()
    page.get_by_test_id("theme-dark").click()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    page.reload()
    expect(html).to_have_class(re.compile(r"\bdark\b"), timeout=20_000)  # remembered over the system's light
    page.get_by_test_id("theme-menu").click()
    page.get_by_test_id("theme-system").click()
    expect(html).to_have_class(re.compile(r"\blight\b"))
    page.context.close()
