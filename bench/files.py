"""Files peer to peer: MB/s browser -> browser, browser -> Python peer and Python peer -> browser, on loopback.

    .venv/bin/python bench/files.py                 # 50 MB, 3 runs each way
    .venv/bin/python bench/files.py --mb 20 --runs 1 --ways browser

Starts the real app (`reflex run`, as the browser tests do), two Chromium
users who meet through Search, and a Python peer (aiortc) who meets a third.
Each run sends one file of --mb random megabytes. "hash" is the sender's
SHA-256 pass before the offer (the browser reads the file in 4 MB slices);
"transfer" runs from the receiver's card showing `receiving` (or the Python
peer's `file_accept` leaving) until it is `done` with the hash checked, read
inside the receiving page by a MutationObserver (Python: on its own clock).
Every received file is checked against the source's SHA-256; a mismatch
fails the run. Writes bench/results/files.csv.
"""

import argparse
import asyncio
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

from harness import BENCH_ENV, describe_machine, fail, write_csv

from playwright.sync_api import expect, sync_playwright
from tests.peer.test_peer_files import linked, next_event
from tests.support.browser import meet, wait_direct
from tests.support.live_app import CHROMIUM, CHROMIUM_ARGS, running_app
from tests.support.peer_thread import PeerThread, meet_python_peer

# When each incoming card first showed each status, on the page's clock.
WATCH = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  window.__files = {};
  const scan = () => {
    document.querySelectorAll('[data-testid="file-transfer"][data-direction="in"]').forEach((el, i) => {
      const seen = (window.__files[i] ||= {});
      if (!(el.dataset.status in seen)) seen[el.dataset.status] = now();
    });
  };
  new MutationObserver(scan).observe(document, {subtree: true, childList: true, attributes: true,
                                                attributeFilter: ["data-status"]});
})();
"""


def browser_to_browser(browser, site: str, source: Path, runs: int) -> list[dict]:
    contexts = [browser.new_context(), browser.new_context()]
    for context in contexts:
        context.add_init_script(WATCH)
    a, b = meet_in(contexts, site)
    rows = []
    for run in range(runs):
        started = time.time() * 1000
        a.get_by_test_id("file-input").set_input_files(str(source))
        card = b.locator('[data-testid="file-transfer"][data-direction="in"]').nth(run)
        expect(card).to_have_attribute("data-status", "offered", timeout=120_000)
        card.get_by_test_id("file-accept").click()
        expect(card).to_have_attribute("data-status", "done", timeout=600_000)
        seen = b.evaluate(f"window.__files[{run}]")
        with b.expect_download() as info:
            card.get_by_test_id("file-download").click()
        check(info.value.path(), source)
        rows.append(row("browser -> browser", source, seen["offered"] - started, seen["done"] - seen["receiving"], run))
    for context in contexts:
        context.close()
    return rows


def meet_in(contexts, site: str):
    """`meet` with our own contexts (to carry the watcher)."""

    class Browser:  # what `meet` asks of a browser: new_context()
        def __init__(self):
            self.given = iter(contexts)

        def new_context(self):
            return next(self.given)

    a, b = meet(Browser(), site, "Ada", "Bob")
    wait_direct(a, 1)
    wait_direct(b, 1)
    return a, b


def with_python(browser, live, source: Path, runs: int, downloads: Path) -> list[dict]:
    worker = PeerThread()
    context = browser.new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    rows = []
    try:
        peer = meet_python_peer(worker, page, live.frontend, live.backend, ("Web", "Py"))
        peer.files.downloads = downloads
        peer.files.ask_above = source.stat().st_size + 1
        worker.run(linked(peer))
        for run in range(runs):
            started = time.monotonic()
            page.get_by_test_id("file-input").set_input_files(str(source))

            async def timed():
                while not peer.files.incoming or all(i.rx is None for i in peer.files.incoming.values()):
                    await asyncio_sleep()
                began = time.monotonic()
                received = await next_event(peer, "file_received", timeout=600)
                return began, time.monotonic(), received

            began, ended, received = worker.run(timed(), timeout=700)
            check(received.path, source)
            received.path.unlink()
            peer.files.incoming.clear()
            rows.append(row("browser -> python", source, (began - started) * 1000, (ended - began) * 1000, run))

        for run in range(runs):

            async def send():
                out = await peer.send_file(source)  # hashes first
                offered = time.monotonic()
                await peer.files.wait(out, timeout=600)
                return offered

            started = time.monotonic()
            sending = asyncio.run_coroutine_threadsafe(send(), worker.loop)
            card = page.locator('[data-testid="file-transfer"][data-direction="in"]').nth(run)
            expect(card).to_have_attribute("data-status", "offered", timeout=120_000)  # above 25 MB: asked first
            card.get_by_test_id("file-accept").click()
            offered = sending.result(700)
            expect(card).to_have_attribute("data-status", "done", timeout=600_000)
            seen = page.evaluate(f"window.__files[{run}]")
            with page.expect_download() as info:
                card.get_by_test_id("file-download").click()
            check(info.value.path(), source)
            rows.append(row("python -> browser", source, (offered - started) * 1000, seen["done"] - seen["receiving"], run))
        worker.run(peer.close())
    finally:
        context.close()
        worker.stop()
    return rows


async def asyncio_sleep():
    await asyncio.sleep(0.005)


def check(path, source: Path) -> None:
    if hashlib.sha256(Path(path).read_bytes()).digest() != hashlib.sha256(source.read_bytes()).digest():
        fail(f"{path} differs from {source}")


def row(way: str, source: Path, hash_ms: float, transfer_ms: float, run: int) -> dict:
    mb = source.stat().st_size / 1e6
    figure = {"way": way, "run": run, "mb": round(mb, 1), "hash_ms": round(hash_ms), "transfer_ms": round(transfer_ms),
              "mb_per_s": round(mb / (transfer_ms / 1000), 2)}
    print(f"  {way:18} run {run}: {figure['mb_per_s']:6.2f} MB/s ({transfer_ms / 1000:.1f} s; hash and offer {hash_ms / 1000:.1f} s)")
    return figure


def main(args) -> None:
    print(f"Files peer to peer, {args.mb} MB, headless Chromium and aiortc on loopback, {describe_machine()}")
    knobs = {k: v for k, v in BENCH_ENV.items() if k.startswith("EPHEM_SIGNUP")}
    with tempfile.TemporaryDirectory(prefix="ephem-files-") as tmp:
        source = Path(tmp) / "bench.bin"
        source.write_bytes(os.urandom(args.mb * 1024 * 1024))
        with running_app(Path(tmp), knobs) as live, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                rows = browser_to_browser(browser, live.frontend, source, args.runs) if "browser" in args.ways else []
                if "python" in args.ways:
                    rows += with_python(browser, live, source, args.runs, Path(tmp) / "downloads")
            finally:
                browser.close()
    write_csv(args.csv, rows)
    for way in ("browser -> browser", "browser -> python", "python -> browser"):
        speeds = [r["mb_per_s"] for r in rows if r["way"] == way]
        if not speeds:
            continue
        print(f"{way:18}: median {statistics.median(speeds):.2f} MB/s over {len(speeds)} runs of {args.mb} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="file size in MiB")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ways", default="browser,python", help="browser (browser -> browser), python (both ways with the Python peer)")
    parser.add_argument("--csv", default="files", help="the name under bench/results/")
    main(parser.parse_args())
