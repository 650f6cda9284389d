"""Unread counts, sound and desktop notifications: only for others' messages,
a notification only while the tab is hidden, permission asked on a click."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import meet, say, wait_direct

pytestmark = pytest.mark.browser

# Records what the page shows through the browser's real Notification, and
# lets the test hide the tab: headless Chromium keeps every page "visible".
WATCH = """
window.__notes = []; window.__asked = 0; window.__hidden = false;
const Real = window.Notification;
class Recorded extends Real {
  constructor(title, options) { super(title, options); window.__notes.push({ title, body: options && options.body }); }
}
Recorded.requestPermission = (...args) => { window.__asked += 1; return Real.requestPermission(...args); };
window.Notification = Recorded;
Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get() { return window.__hidden ? "hidden" : "visible"; } });
Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return window.__hidden; } });
window.__setHidden = (hidden) => { window.__hidden = hidden; document.dispatchEvent(new Event("visibilitychange")); };
"""


def notes(page) -> list[dict]:
    return page.evaluate("window.__notes")


def test_notifications_only_when_hidden_and_unread_counts_reach_home(live, browser):
    granted = {"permissions": ["notifications"]}
    reader, writer = meet(browser, live.frontend, "Reader", "Writer", (granted, granted))
    for page in (reader, writer):
        page.context.add_init_script(WATCH)
        page.reload()
    wait_direct(reader, 1)
    wait_direct(writer, 1)
    for page in (reader, writer):
        assert page.evaluate("window.__asked") == 0  # never asked on load
        page.get_by_test_id("alert-desktop").check()
        expect(page.get_by_test_id("alert-desktop")).to_be_checked()
    title = reader.title()

    say(writer, "while you look")
    expect(reader.get_by_test_id("chat-message")).to_have_count(1, timeout=10_000)
    reader.wait_for_timeout(300)
    assert notes(reader) == [] and reader.title() == title

    reader.evaluate("window.__setHidden(true)")
    writer.evaluate("window.__setHidden(true)")  # hidden too, but its own messages raise nothing
    say(writer, "while you are away 1")
    say(writer, "while you are away 2")
    expect(reader.get_by_test_id("chat-message")).to_have_count(3, timeout=10_000)
    reader.wait_for_function("window.__notes.length === 2", timeout=5_000)
    assert [n["body"] for n in notes(reader)] == ["while you are away 1", "while you are away 2"]
    assert all(n["title"] == "Writer" for n in notes(reader))
    assert reader.title() == f"(2) {title}"
    assert notes(writer) == []

    # The home page (another tab of the same browser) shows the count and who is online.
    home = reader.context.new_page()
    home.goto(live.frontend)
    row = home.get_by_test_id("enclave-link")
    expect(row.get_by_test_id("enclave-unread")).to_have_text("2 unread", timeout=15_000)
    expect(row.get_by_test_id("enclave-online")).to_contain_text("Writer")

    # Looking again reads them: the title and the home tab's badge clear.
    reader.evaluate("window.__setHidden(false)")
    expect(reader).to_have_title(title)
    expect(row.get_by_test_id("enclave-unread")).to_have_count(0, timeout=5_000)
    # Who is online follows along: the writer goes, and the home tab says so.
    writer.context.close()
    expect(row.get_by_test_id("enclave-online")).to_have_count(0, timeout=20_000)
    reader.context.close()


def test_permission_is_asked_on_the_click_not_on_load(live, browser):
    asker, other = meet(browser, live.frontend, "Asker", "Other")
    asker.context.add_init_script(WATCH)
    asker.reload()
    wait_direct(asker, 1)
    assert asker.evaluate("window.__asked") == 0
    asker.get_by_test_id("alert-desktop").click()
    asker.wait_for_function("window.__asked === 1", timeout=5_000)
    # Not granted (headless answers for the user): the box says so and stays off.
    expect(asker.get_by_test_id("alert-desktop")).not_to_be_checked()
    asker.get_by_test_id("alert-sound").check()
    asker.reload()
    expect(asker.get_by_test_id("alert-sound")).to_be_checked(timeout=15_000)  # remembered
    for page in (asker, other):
        page.context.close()
