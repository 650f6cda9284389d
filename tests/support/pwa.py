"""Checks that a site is installable: its manifest, icons, service worker and offline page."""

import struct

import httpx
from playwright.sync_api import expect

from tests.support.browser import sign_up


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def check_manifest(site: str) -> dict:
    """The manifest as a browser reads it: a name, a start URL in scope,
    standalone display and PNG icons of 192 and 512 pixels that are served."""
    answer = httpx.get(f"{site}/manifest.webmanifest", timeout=10)
    assert answer.status_code == 200
    manifest = answer.json()
    assert manifest["name"] and manifest["short_name"] == "ephem"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    sizes = set()
    for icon in manifest["icons"]:
        image = httpx.get(site + icon["src"], timeout=10)
        assert image.status_code == 200, icon
        width, height = png_size(image.content)
        assert f"{width}x{height}" == icon["sizes"] and icon["type"] == "image/png"
        sizes.add(width)
    assert {192, 512} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])
    worker = httpx.get(f"{site}/sw.js", timeout=10)
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    return manifest


def check_installed_and_offline(browser, site: str) -> None:
    """The page links the manifest and runs the service worker; offline, it opens to "No connection"."""
    context = browser.new_context()
    page = context.new_page()
    sign_up(page, site, "Installer")
    assert page.locator("link[rel=manifest]").get_attribute("href") == "/manifest.webmanifest"
    page.wait_for_function("navigator.serviceWorker.getRegistration().then((r) => Boolean(r && r.active))", timeout=15_000)
    assert page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.scope)") == f"{site}/"
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
    expect(page.get_by_test_id("search-button")).to_be_visible(timeout=20_000)

    context.set_offline(True)
    page.reload()
    expect(page.get_by_test_id("offline")).to_contain_text("No connection", timeout=15_000)
    expect(page.get_by_test_id("offline-retry")).to_have_attribute("href", "/")
    context.set_offline(False)
    page.get_by_test_id("offline-retry").click()
    expect(page.get_by_test_id("search-button")).to_be_visible(timeout=20_000)
    context.close()
