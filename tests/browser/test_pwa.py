"""Installable: a web app manifest with icons, and a service worker that
opens the site offline to a clear "No connection" page. The static export
is checked the same way in test_static_export.py."""

import pytest

from tests.support.pwa import check_installed_and_offline, check_manifest

pytestmark = pytest.mark.browser


def test_the_manifest_and_its_icons_are_served_and_valid(live):
    check_manifest(live.frontend)


def test_the_service_worker_runs_and_offline_says_no_connection(live, browser):
    check_installed_and_offline(browser, live.frontend)
