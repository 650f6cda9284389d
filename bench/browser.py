"""Browser: Search click to first delivered message, and DataChannel chat throughput, in headless Chromium.

    .venv/bin/python bench/browser.py                      # 20 rounds, 3 x 500 messages
    .venv/bin/python bench/browser.py --rounds 5 --messages 200 --batches 1

Starts the real app with `reflex run` on free ports and its own database
(tests/support/live_app.py `running_app`: the development server, as the browser tests
use it) and two users in two Chromium contexts (Debian's /usr/bin/chromium,
loopback). Each round: A presses Search; B presses Search, and as soon as
B's enclave page shows the message box B types a message and presses Enter;
the round's figure is the time from B's Search click to that message
appearing in A's page (a `chat-message` element in A's DOM: delivered to the
other browser). Both times are taken inside the pages (a click listener and
a MutationObserver, on the one system clock), so Playwright's polling is not
counted. Also recorded: when both pages were on the enclave URL, when B's
own message showed, and when B saw it acknowledged (`data-status` =
delivered). Then both go home and search again. Prints the median of
--rounds and fails unless every round delivered within --timeout.

Throughput: in the last enclave, A's chat panel sends --messages chat
messages at once through `session.send` (what the Send button calls; the
session is read from the panel's React props, since typing through
Playwright would measure Playwright), and the time until every one is
acknowledged by B over the DataChannel gives messages per second; B's page
must then show all of them. Median of --batches. Writes
bench/results/browser.csv and browser.png.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from harness import BENCH_ENV, describe_machine, fail, new_figure, save_plot, write_csv

from playwright.sync_api import expect, sync_playwright
from tests.support.browser import ENCLAVE_URL, sign_up, wait_direct
from tests.support.live_app import CHROMIUM, CHROMIUM_ARGS, running_app

# Installed in every document of both pages: when the Search button was
# clicked, and when each chat message first appeared and was first acked.
WATCH = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  window.__bench = {click: 0, seen: {}, acked: {}};
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest('[data-testid="search-button"]')) window.__bench.click = now();
  }, true);
  const scan = () => {
    for (const el of document.querySelectorAll('[data-testid="chat-message"]')) {
      const text = (el.querySelector("div[dir=auto]") || el).textContent;
      if (!(text in window.__bench.seen)) window.__bench.seen[text] = now();
      if (el.dataset.status === "delivered" && !(text in window.__bench.acked)) window.__bench.acked[text] = now();
    }
  };
  new MutationObserver(scan).observe(document, {subtree: true, childList: true, attributes: true,
                                                attributeFilter: ["data-status"], characterData: true});
})();
"""

# Sends `n` chat messages through the chat panel's session and resolves when
# every one is acknowledged; the session comes from the panel's React props.
BURST = """
async ([n, tag]) => {
  const input = document.querySelector('[data-testid="chat-input"]');
  const key = Object.keys(input).find((k) => k.startsWith("__reactFiber$"));
  let fiber = input[key];
  while (fiber && !(fiber.memoizedProps && fiber.memoizedProps.session)) fiber = fiber.return;
  if (!fiber) throw new Error("no chat panel session found");
  const session = fiber.memoizedProps.session;
  const mesh = session.mesh;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const sent = session.send(`${tag} ${i}`);
    if (!sent.ok) throw new Error(`send refused: ${sent.error}`);
  }
  const mine = mesh.messages.filter((m) => m.mine && m.text.startsWith(`${tag} `));
  if (mine.length !== n) throw new Error(`${mine.length} of ${n} messages queued`);
  await new Promise((resolve) => {
    const check = () => {
      if (mine.every((m) => m.status === "delivered")) {
        unsubscribe();
        resolve();
      }
    };
    const unsubscribe = mesh.subscribe(check);
    check();
  });
  return performance.now() - started;
}
"""


def stamp(page, expression: str):
    return page.evaluate(f"() => window.__bench && {expression}")


def wait_stamp(page, expression: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = stamp(page, expression)
        if value:
            return value
        time.sleep(0.02)
    fail(f"timed out waiting for {expression}")


def round_trip(a, b, home: str, index: int, timeout: float) -> dict:
    text = f"hello from B, round {index}"
    for page in (a, b):
        page.goto(home)
        expect(page.get_by_test_id("search-button")).to_be_visible(timeout=30_000)
    a.get_by_test_id("search-button").click()
    expect(a.get_by_test_id("search-cancel")).to_be_visible(timeout=10_000)
    b.get_by_test_id("search-button").click()
    box = b.get_by_test_id("chat-input")
    box.wait_for(state="visible", timeout=timeout * 1000)
    entered = time.time() * 1000
    box.fill(text)
    box.press("Enter")
    clicked = wait_stamp(b, "window.__bench.click", 5)
    shown_a = wait_stamp(a, f"window.__bench.seen[{text!r}]", timeout)
    shown_b = wait_stamp(b, f"window.__bench.seen[{text!r}]", 5)
    acked_b = wait_stamp(b, f"window.__bench.acked[{text!r}]", timeout)
    for page in (a, b):
        if not ENCLAVE_URL.search(page.url):
            fail(f"round {index}: a page is not in an enclave: {page.url}")
    if a.url != b.url:
        fail(f"round {index}: A and B are in different enclaves: {a.url} {b.url}")
    return {
        "round": index + 1,
        "click_to_delivered_ms": round(shown_a - clicked, 1),
        "click_to_box_ms": round(entered - clicked, 1),
        "click_to_sent_ms": round(shown_b - clicked, 1),
        "click_to_acked_ms": round(acked_b - clicked, 1),
    }


def throughput(a, b, count: int, batches: int) -> list[dict]:
    wait_direct(a, 1)
    wait_direct(b, 1)
    rows = []
    for batch in range(batches):
        tag = f"bulk{batch}"
        ms = a.evaluate(BURST, [count, tag])
        expect(b.locator('[data-testid="chat-message"]', has_text=f"{tag} ")).to_have_count(count, timeout=60_000)
        rows.append({"batch": batch + 1, "messages": count, "all_acked_ms": round(ms, 1),
                     "messages_per_s": round(count / (ms / 1000), 1)})
    return rows


def main(args) -> None:
    print(f"Browser figures, headless Chromium on loopback, {describe_machine()}")
    knobs = {k: v for k, v in BENCH_ENV.items() if k.startswith("EPHEM_SIGNUP")}
    with tempfile.TemporaryDirectory(prefix="ephem-browser-") as tmp:
        started = time.monotonic()
        with running_app(Path(tmp), knobs) as live, sync_playwright() as pw:
            print(f"  app up in {time.monotonic() - started:.0f} s at {live.frontend}")
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                pages = []
                for name in ("Ada", "Bob"):
                    context = browser.new_context()
                    context.add_init_script(WATCH)
                    page = context.new_page()
                    sign_up(page, live.frontend, name)
                    pages.append(page)
                a, b = pages
                rounds = []
                for i in range(args.warmup + args.rounds):
                    row = round_trip(a, b, live.frontend, i, args.timeout)
                    if i < args.warmup:
                        continue
                    row["round"] = i + 1 - args.warmup
                    rounds.append(row)
                    print(f"  round {row['round']:>2}: Search click -> message in the other browser "
                          f"{row['click_to_delivered_ms']:.0f} ms (enclave page + box {row['click_to_box_ms']:.0f} ms, "
                          f"B's ack {row['click_to_acked_ms']:.0f} ms)", flush=True)
                bursts = throughput(a, b, args.messages, args.batches)
                for row in bursts:
                    print(f"  burst {row['batch']}: {row['messages']} messages all acknowledged in "
                          f"{row['all_acked_ms']:.0f} ms = {row['messages_per_s']:,.0f} messages/s", flush=True)
            finally:
                browser.close()
    median = statistics.median(r["click_to_delivered_ms"] for r in rounds)
    rate = statistics.median(r["messages_per_s"] for r in bursts)
    print(f"Search click -> first message delivered in the other browser: median {median:.0f} ms of {len(rounds)} "
          f"(min {min(r['click_to_delivered_ms'] for r in rounds):.0f}, max "
          f"{max(r['click_to_delivered_ms'] for r in rounds):.0f}); DataChannel chat throughput with acks: "
          f"median {rate:,.0f} messages/s of {len(bursts)} bursts of {args.messages}")
    write_csv("browser", [{"kind": "round", **r} for r in rounds] + [{"kind": "burst", **r} for r in bursts])
    plot(rounds, bursts, median)


def plot(rounds: list[dict], bursts: list[dict], median: float) -> None:
    fig, (left, right) = new_figure("Headless Chromium, two users on loopback", columns=2)
    xs = [r["round"] for r in rounds]
    for key, label in (("click_to_box_ms", "B's enclave page shows the box"),
                       ("click_to_sent_ms", "B's message shows in B's page"),
                       ("click_to_delivered_ms", "... and in A's page (delivered)"),
                       ("click_to_acked_ms", "B sees it acknowledged")):
        left.plot(xs, [r[key] for r in rounds], marker="o", markersize=3, label=label)
    left.axhline(median, color="gray", linestyle=":", label=f"median delivered: {median:.0f} ms")
    left.axhline(1000, color="red", linewidth=0.8, label="target median: 1 s")
    left.set_xlabel("round")
    left.set_ylabel("ms since B's Search click")
    left.set_ylim(bottom=0)
    left.legend(fontsize=7)
    right.bar([str(r["batch"]) for r in bursts], [r["messages_per_s"] for r in bursts])
    right.set_xlabel(f"burst of {bursts[0]['messages']} messages")
    right.set_ylabel("messages per second, all acknowledged")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
    save_plot(fig, "browser")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1, help="rounds run first and not counted")
    parser.add_argument("--messages", type=int, default=500, help="messages per throughput burst")
    parser.add_argument("--batches", type=int, default=3, help="throughput bursts")
    parser.add_argument("--timeout", type=float, default=30, help="seconds a round may take before the run fails")
    main(parser.parse_args())
