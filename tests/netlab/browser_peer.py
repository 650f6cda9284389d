"""One headless Chromium for the network lab, run inside a namespace (the browser inherits it).

Signs up on the lab's static site, searches, waits until the other member's
row says how the link runs, and prints JSON lines like chat_peer.py:
`open` (the row: data-path, its words, data-links), optionally `selftest`
(each STUN/TURN URL and its verdict), then one `round` per --rounds: it
sends --count messages and waits until the other side's messages of that
round are in and its own are delivered (`seconds` from the round's start).
Rounds after the first start when a line arrives on stdin, so the test can
change the network in between. With --call it then starts (or joins) the
call and says `call` once the other member's video and sound arrive: frames
decoded and audio packets, read twice 3 s apart. With --file-mb, the member
named A (or --file-role send) then sends a file of that many random MiB and
the other accepts it:
both say `file` (its SHA-256; the receiver also `seconds` from its card
showing `receiving` to `done`, on the page's clock). It stays open until its
stdin closes.

    python -m tests.netlab.browser_peer --site http://100.64.0.11 --name A --count 5 --rounds 2
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.support.browser import ENCLAVE_URL, say, sign_up
from tests.support.live_app import CHROMIUM, CHROMIUM_ARGS

OTHER_ROW = "[data-testid=enclave-member]:not([data-path=''])"


def say_line(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def row(page) -> dict:
    """The other member's row: how the link runs, in words and as data attributes."""
    found = page.locator("[data-testid=enclave-member]").filter(has=page.get_by_test_id("peer-state")).first
    return {
        "path": found.get_attribute("data-path"),
        "words": found.get_by_test_id("peer-state").inner_text(),
        "rtt": found.get_by_test_id("peer-rtt").inner_text(),
        "links": int(found.get_attribute("data-links") or 0),
        "ice_restarts": int(found.get_attribute("data-ice-restarts") or 0),
    }


def messages(page) -> list[dict]:
    return page.evaluate(
        """() => [...document.querySelectorAll("[data-testid=chat-message]")].map((m) => ({
            mine: m.dataset.mine === "true", status: m.dataset.status, text: m.querySelector("div[dir=auto]").innerText }))"""
    )


def call(page, timeout: float) -> dict:
    """Start or join the call; the other member's tile once its video decodes, and again 3 s later."""
    page.get_by_test_id("call-start").click()
    page.get_by_test_id("call-leave").wait_for(timeout=timeout * 1000)
    other = "[data-testid=call-tile][data-self=false]"
    page.wait_for_function(
        "(selector) => { const el = document.querySelector(selector);"
        " return el !== null && Number(el.dataset.framesDecoded) > 0 && Number(el.dataset.audioPackets) > 0; }",
        arg=other, timeout=timeout * 1000,
    )

    def read() -> dict:
        tile = page.locator(other)
        return {key: int(tile.get_attribute(f"data-{key}")) for key in ("frames-decoded", "audio-packets", "frame-width")}

    first = read()
    page.wait_for_timeout(3000)
    return {"first": first, "then": read()}


# When the newest incoming card first showed each status, on the page's clock.
WATCH_FILES = """() => {
  window.__file = {};
  const scan = () => {
    const cards = document.querySelectorAll('[data-testid="file-transfer"][data-direction="in"]');
    const card = cards[cards.length - 1];
    if (card && !(card.dataset.status in window.__file)) window.__file[card.dataset.status] = performance.now();
  };
  new MutationObserver(scan).observe(document, {subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"]});
}"""


def send_file(page, mib: float, timeout: float) -> dict:
    """A file of `mib` random MiB through the file input, until the receiver's row says done."""
    folder = Path(tempfile.mkdtemp(prefix="ephem-netlab-file-"))
    source = folder / "lab.bin"
    source.write_bytes(os.urandom(int(mib * 1024 * 1024)))
    page.get_by_test_id("file-input").set_input_files(str(source))
    row = page.locator('[data-testid="file-transfer"][data-direction="out"]').last.get_by_test_id("file-receiver")
    row.and_(page.locator("[data-status=done]")).wait_for(timeout=timeout * 1000)
    sent = {"sha256": hashlib.sha256(source.read_bytes()).hexdigest(), "bytes": source.stat().st_size}
    shutil.rmtree(folder)
    return sent


def receive_file(page, timeout: float) -> dict:
    """Accept the next incoming file (when asked), time it from `receiving` to `done`, hash what downloads."""
    card = page.locator('[data-testid="file-transfer"][data-direction="in"]').last
    card.and_(page.locator("[data-status=offered], [data-status=receiving], [data-status=done]")).wait_for(timeout=timeout * 1000)
    if card.get_attribute("data-status") == "offered":  # above 25 MB: asked first
        card.get_by_test_id("file-accept").click()
    card.and_(page.locator("[data-status=done]")).wait_for(timeout=timeout * 1000)
    seen = page.evaluate("window.__file")
    with page.expect_download() as info:
        card.get_by_test_id("file-download").click()
    data = Path(info.value.path()).read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "seconds": round((seen["done"] - seen["receiving"]) / 1000, 3)}


def main(args) -> None:
    with sync_playwright() as p:
        # The lab's coturn has a self-signed certificate; Chromium checks TURN-over-TLS ones too.
        # Calls need a secure context, which a plain-HTTP lab address is not unless Chromium is told.
        # Only for calls: a secure page does not come back from an address move (test_browsers.py).
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, "--ignore-certificate-errors", *([f"--unsafely-treat-insecure-origin-as-secure={args.site}"] if args.call else [])])
        page = browser.new_context().new_page()
        if args.file_mb:
            page.add_init_script(f"({WATCH_FILES})()")
        page.on("console", lambda m: m.type in ("warning", "error", "info") and print(f"console {m.type}: {m.text}", file=sys.stderr, flush=True))
        started = time.monotonic()
        sign_up(page, args.site, args.name)
        searched_at = time.monotonic()  # CLOCK_MONOTONIC: one clock for every namespace (bench/netlab.py)
        page.get_by_test_id("search-button").click()
        page.wait_for_url(ENCLAVE_URL, timeout=args.timeout * 1000)
        page.wait_for_selector(OTHER_ROW, timeout=args.timeout * 1000)
        say_line("open", seconds=round(time.monotonic() - started, 2), searched_at=searched_at, row=row(page))
        if args.selftest:
            page.get_by_test_id("selftest-run").click()
            page.wait_for_selector("[data-testid=selftest-server], [data-testid=selftest-no-servers]", timeout=args.timeout * 1000)
            servers = page.locator("[data-testid=selftest-server]")
            found = [{"url": s.get_attribute("data-url"), "result": s.get_attribute("data-result")} for s in servers.all()]
            say_line("selftest", servers=found)
        for round_ in range(args.rounds):
            if round_:
                sys.stdin.readline()
            began = time.monotonic()
            for i in range(args.count):
                say(page, f"{args.name} {round_}-{i}")
            first_message_at = None
            if not round_:  # when the other side's first message showed (bench/netlab.py)
                page.wait_for_selector("[data-testid=chat-message]:not([data-mine=true])", timeout=args.timeout * 1000)
                first_message_at = time.monotonic()
            page.wait_for_function(
                """([count]) => {
                    const all = [...document.querySelectorAll("[data-testid=chat-message]")];
                    const theirs = all.filter((m) => m.dataset.mine !== "true").length;
                    const mine = all.filter((m) => m.dataset.mine === "true");
                    return theirs >= count && mine.length >= count && mine.every((m) => m.dataset.status === "delivered");
                }""",
                arg=[args.count * (round_ + 1)],
                timeout=args.timeout * 1000,
            )
            seconds = round(time.monotonic() - began, 2)
            page.wait_for_timeout(500)  # anything arriving twice would show up here
            say_line("round", i=round_, seconds=seconds, messages=messages(page), row=row(page), first_message_at=first_message_at)
        if args.call:
            say_line("call", **call(page, args.timeout))
        if args.file_mb:
            if (args.file_role or ("send" if args.name == "A" else "receive")) == "send":
                say_line("file", **send_file(page, args.file_mb, args.timeout))
            else:
                say_line("file", **receive_file(page, args.timeout))
        sys.stdin.read()  # the test closes stdin once both sides are done
        browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--site", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--selftest", action="store_true")
    parser.add_argument("--call", action="store_true")
    parser.add_argument("--file-mb", type=float, default=0, help="A sends a file of this many MiB, the other receives it")
    parser.add_argument("--file-role", choices=["send", "receive"], help="instead of by name")
    parser.add_argument("--timeout", type=float, default=45)
    try:
        main(parser.parse_args())
    except Exception as error:  # noqa: BLE001 - reported to the test as a line, with the reason
        say_line("error", error=re.sub(r"\s+", " ", repr(error))[:2000])
        sys.exit(1)
