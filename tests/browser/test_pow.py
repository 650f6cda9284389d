"""A flooded address still signs up in the browser: the page solves the proof of work in a worker."""

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import TOKEN, insecure_url

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def flooded(tmp_path_factory):
    """An app of its own whose sign-up bucket never refills during a test:
    once drained, the page must pay (with the shared app's refill, a token
    could come back between the drain and the click)."""
    from tests.support.live_app import running_app, seed_web

    tmp = tmp_path_factory.mktemp("flooded")
    seed_web(tmp / "web")  # a `.web` of its own: the shared app's dev server must not see it rebuilt
    env = {"EPHEM_SIGNUP_BURST": "1", "EPHEM_SIGNUP_RATE": "0.001", "REFLEX_WEB_WORKDIR": str(tmp / "web")}
    with running_app(tmp, env) as app:
        yield app


def drain(backend: str) -> dict:
    """Empty this address's sign-up bucket; returns the challenge it was refused with."""
    with httpx.Client(base_url=backend) as http:
        for i in range(40):
            answer = http.post("/api/accounts", json={"name": f"flood {i}"})
            if answer.status_code == 429:
                return answer.json()["error"]["challenge"]
    raise AssertionError("the sign-up bucket never emptied")


def test_a_flooded_address_signs_up_after_the_worker_solves(flooded, browser):
    page = browser.new_context().new_page()
    page.goto(flooded.frontend)
    expect(page.get_by_test_id("login-name")).to_be_visible(timeout=30_000)
    # Count what the page solves, in the worker that ephemSolve spawns.
    page.evaluate(
        """() => {
            const solve = window.ephemSolve;
            window.solvedChallenges = [];
            window.ephemSolve = (c) => solve(c).then((nonce) => (window.solvedChallenges.push([c.id, nonce]), nonce));
        }"""
    )
    assert drain(flooded.backend)["purpose"] == "signup"
    page.get_by_test_id("login-name").fill("Flooded")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("recovery-token")).to_have_text(TOKEN, timeout=30_000)
    solved = page.evaluate("window.solvedChallenges")
    assert len(solved) == 1 and len(solved[0][0]) == 32


def test_a_page_that_is_not_secure_solves_too(flooded, browser):
    """No crypto.subtle on plain HTTP beyond localhost: the worker hashes with sha256.js."""
    url = insecure_url(flooded.frontend)
    page = browser.new_context().new_page()
    page.goto(url)
    expect(page.get_by_test_id("login-name")).to_be_visible(timeout=30_000)
    assert page.evaluate("[window.isSecureContext, typeof crypto.subtle]") == [False, "undefined"]
    # The server counts sign-ups per address: the page's comes from the machine's own.
    assert drain(flooded.backend.replace("localhost", urlsplit(url).hostname))["purpose"] == "signup"
    page.get_by_test_id("login-name").fill("Plain")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("recovery-token")).to_have_text(TOKEN, timeout=30_000)


@pytest.mark.parametrize(
    "breaking",
    [
        "() => { window.ephemSolve = () => Promise.reject(new Error('no workers here')); }",
        "() => { delete window.ephemSolve; }",  # missing altogether: the same answer, not a hang
    ],
)
def test_a_page_that_cannot_solve_says_so_and_stays_usable(flooded, browser, breaking):
    page = browser.new_context().new_page()
    page.goto(flooded.frontend)
    expect(page.get_by_test_id("login-name")).to_be_visible(timeout=30_000)
    page.evaluate(breaking)
    drain(flooded.backend)
    page.get_by_test_id("login-name").fill("Unsolved")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_role("alert")).to_contain_text("not a robot", timeout=30_000)
    expect(page.get_by_test_id("login-submit")).to_be_enabled()
    expect(page.get_by_test_id("login-solving")).to_have_count(0)
