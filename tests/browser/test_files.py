"""Files and pictures peer to peer between headless Chromium pages."""

import asyncio
import hashlib
import os
import struct
import time
import zlib

import pytest
from playwright.sync_api import expect

from tests.support.browser import meet, wait_direct

pytestmark = pytest.mark.browser


def png(width: int = 3, height: int = 2) -> bytes:
    """A real PNG (red pixels), so the browser can decode it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def transfers(page, direction: str):
    return page.locator(f"[data-testid=file-transfer][data-direction={direction}]")


# A card's status and the bytes its (first) progress bar shows, read at once.
PROGRESS = """el => {
  const p = el.querySelector("[data-testid=file-progress]");
  return [el.dataset.status, p ? Number(p.dataset.done) : null];
}"""


def downloaded(page, card) -> bytes:
    with page.expect_download() as info:
        card.get_by_test_id("file-download").click()
    return open(info.value.path(), "rb").read()


@pytest.fixture(scope="module")
def pair(live, browser):
    alice, bob = meet(browser, live.frontend, "Alice", "Bob")
    wait_direct(alice, 1)
    wait_direct(bob, 1)
    yield alice, bob
    for page in (alice, bob):
        page.context.close()


@pytest.fixture
def python_peer(live, browser, tmp_path):
    """A page and a Python peer (in its own thread) in one enclave, their link
    open; the peer saves into tmp_path/downloads. Yields (worker, page, peer)."""
    from tests.peer.test_peer_files import linked
    from tests.support.peer_thread import PeerThread, meet_python_peer

    worker = PeerThread()
    page = browser.new_context().new_page()
    try:
        peer = meet_python_peer(worker, page, live.frontend, live.backend, ("Browser", "Py"))
        peer.files.downloads = tmp_path / "downloads"
        worker.run(linked(peer))
        yield worker, page, peer
        worker.run(peer.close())
    finally:
        page.context.close()
        worker.stop()


def test_a_picture_shows_inline_and_other_files_only_download(pair, tmp_path):
    alice, bob = pair
    picture = tmp_path / "red.png"
    picture.write_bytes(png())
    # Active content under a picture's name and a hostile path: bytes to download, nothing rendered.
    svg = tmp_path / "evil.svg"
    svg.write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    alice.get_by_test_id("file-input").set_input_files([str(picture), str(svg)])

    incoming = transfers(bob, "in")
    expect(incoming).to_have_count(2, timeout=20_000)
    shown = incoming.filter(has_text="red.png")
    expect(shown).to_have_attribute("data-status", "done", timeout=20_000)
    expect(shown).to_have_attribute("data-type", "image/png")
    thumb = shown.get_by_test_id("file-thumb")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("img => img.naturalWidth") == 3
    thumb.click()  # opens full size; Escape closes it
    expect(bob.get_by_test_id("file-full")).to_be_visible()
    bob.keyboard.press("Escape")
    expect(bob.get_by_test_id("file-full")).to_be_hidden()
    assert downloaded(bob, shown) == picture.read_bytes()

    other = incoming.filter(has_text="evil.svg")
    expect(other).to_have_attribute("data-status", "done", timeout=20_000)
    expect(other).to_have_attribute("data-type", "application/octet-stream")
    expect(other.get_by_test_id("file-thumb")).to_have_count(0)
    assert other.get_by_test_id("file-download").evaluate("a => a.href").startswith("blob:")
    assert downloaded(bob, other) == svg.read_bytes()
    for card in transfers(alice, "out").all():
        expect(card).to_have_attribute("data-status", "done", timeout=20_000)
        expect(card.get_by_test_id("file-receiver")).to_have_attribute("data-status", "done")
    # The sender sees its own picture as the others do; the SVG only by name.
    expect(transfers(alice, "out").filter(has_text="red.png").get_by_test_id("file-thumb")).to_be_visible()
    expect(transfers(alice, "out").filter(has_text="evil.svg").get_by_test_id("file-thumb")).to_have_count(0)


# Files dropped onto the conversation, then pasted into the message box, as the browser would deliver them.
DROP_AND_PASTE = """([name, bytes, how]) => {
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], name));
  if (how === "drop") {
    const log = document.querySelector('[role=log][aria-label=Messages]');
    log.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
    log.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
  } else {
    const box = document.querySelector('[data-testid=chat-input]');
    box.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
  }
}"""


def test_files_dropped_on_the_conversation_or_pasted_are_sent(pair):
    alice, bob = pair
    before = transfers(bob, "in").count()
    alice.evaluate(DROP_AND_PASTE, ["dropped.txt", list(b"dropped bytes"), "drop"])
    alice.evaluate(DROP_AND_PASTE, ["pasted.png", list(png(2, 2)), "paste"])
    expect(transfers(bob, "in")).to_have_count(before + 2, timeout=20_000)
    dropped = transfers(bob, "in").filter(has_text="dropped.txt")
    expect(dropped).to_have_attribute("data-status", "done", timeout=20_000)
    assert downloaded(bob, dropped) == b"dropped bytes"
    pasted = transfers(bob, "in").filter(has_text="pasted.png")
    expect(pasted).to_have_attribute("data-type", "image/png", timeout=20_000)
    expect(alice.get_by_test_id("chat-input")).to_have_value("")  # the paste was a file, not text


# What the receiving page holds in JavaScript while a file arrives: received
# chunks wait as ArrayBuffers until COMPACT_BYTES (4 MiB, file_links.js) of
# them join the Blob, whose bytes Chromium keeps outside the renderer's heap.
# So after a forced collection, the heap plus ArrayBuffer backing stores may
# grow by those 4 MiB, the messages Chromium has already turned into
# ArrayBuffers but the busy page not yet handled (more the busier the page),
# and the page's own churn: 5 to 12 MiB measured, the most under the heaviest
# load. Not by the file: below 20 MiB for a 50 MiB file, where chunks kept in
# an array instead measured 51 MiB.
# JSHeapUsedSize alone does not count ArrayBuffer stores.
HELD_BOUND = 20 * 1024 * 1024


def js_held(cdp) -> int:
    """Bytes the page's JavaScript holds alive: heap objects and ArrayBuffer stores, after a full collection."""
    cdp.send("HeapProfiler.collectGarbage")
    usage = cdp.send("Runtime.getHeapUsage")
    return usage["usedSize"] + usage["backingStorageSize"]


def test_fifty_megabytes_arrive_whole_after_accepting_with_steady_progress_and_bounded_memory(pair, tmp_path):
    alice, bob = pair
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(50 * 1024 * 1024))
    before = transfers(bob, "in").count()
    cdp = bob.context.new_cdp_session(bob)
    baseline = js_held(cdp)
    alice.get_by_test_id("file-input").set_input_files(str(big))

    card = transfers(bob, "in").nth(before)
    expect(card).to_have_attribute("data-status", "offered", timeout=30_000)  # above 25 MB: asked first
    card.get_by_test_id("file-accept").click()
    sender_card = transfers(alice, "out").last
    seen, sent, held = [], [], []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status, done = card.evaluate(PROGRESS)
        _, acked = sender_card.evaluate(PROGRESS)
        seen += [done] if done is not None else []
        sent += [acked] if acked is not None else []
        if status != "receiving":
            break
        held.append(js_held(cdp))
        bob.wait_for_timeout(100)
    expect(card).to_have_attribute("data-status", "done", timeout=30_000)
    assert seen == sorted(seen) and sent == sorted(sent), "progress went backwards"
    assert len(set(seen)) > 2, f"too few progress steps seen: {seen}"
    assert len(held) > 2, f"too few heap samples: {held}"
    peak = max(held) - baseline
    print(f"receiver JS heap + ArrayBuffers: peak growth {peak / 2**20:.1f} MiB over {len(held)} samples")
    assert peak < HELD_BOUND, f"the receiver held {peak / 2**20:.1f} MiB of JS memory for a 50 MiB file"
    data = downloaded(bob, card)
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256(big.read_bytes()).hexdigest()
    expect(transfers(alice, "out").last).to_have_attribute("data-status", "done", timeout=10_000)
    cdp.detach()


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_either_side_cancels_a_transfer(pair, tmp_path, side):
    alice, bob = pair
    big = tmp_path / "cancel.bin"
    with big.open("wb") as sparse:  # big enough to be mid-way for seconds, instant to write
        sparse.truncate(150 * 1024 * 1024)
    before = transfers(bob, "in").count()
    alice.get_by_test_id("file-input").set_input_files(str(big))
    card = transfers(bob, "in").nth(before)
    expect(card).to_have_attribute("data-status", "offered", timeout=30_000)
    card.get_by_test_id("file-accept").click()
    expect(card).to_have_attribute("data-status", "receiving")
    mine = transfers(alice, "out").last
    (mine if side == "sender" else card).get_by_test_id("file-cancel").click()
    expect(card).to_have_attribute("data-status", "cancelled", timeout=10_000)
    expect(mine.get_by_test_id("file-receiver")).to_have_attribute("data-status", "cancelled", timeout=10_000)
    expect(mine).to_have_attribute("data-status", "cancelled", timeout=10_000)
    expect(card.get_by_test_id("file-download")).to_have_count(0)


def test_declining_a_large_file(pair, tmp_path):
    alice, bob = pair
    big = tmp_path / "declined.bin"
    big.write_bytes(b"\x00" * (26 * 1024 * 1024))
    before = transfers(bob, "in").count()
    alice.get_by_test_id("file-input").set_input_files(str(big))
    card = transfers(bob, "in").nth(before)
    expect(card).to_have_attribute("data-status", "offered", timeout=30_000)
    card.get_by_test_id("file-decline").click()
    expect(card).to_have_attribute("data-status", "declined")
    expect(transfers(alice, "out").last.get_by_test_id("file-receiver")).to_have_attribute("data-status", "declined", timeout=10_000)


def test_browser_and_python_peer_send_files_both_ways(python_peer, tmp_path):
    from tests.peer.test_peer_files import crafted, next_event

    worker, page, peer = python_peer

    # Browser -> Python: saved under its name, whole.
    source = tmp_path / "notes.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    page.get_by_test_id("file-input").set_input_files(str(source))
    received = worker.run(next_event(peer, "file_received"), timeout=120)
    assert received.path == peer.files.downloads / "notes.bin"
    assert received.path.read_bytes() == source.read_bytes()
    expect(transfers(page, "out").last).to_have_attribute("data-status", "done", timeout=10_000)

    # Python -> browser: a picture inline, bytes to download.
    picture = tmp_path / "dot.png"
    picture.write_bytes(png(5, 4))

    async def send(path):
        out = await peer.send_file(path)
        await peer.files.wait(out, timeout=60)
        return [r.status for r in out.receivers.values()]

    assert worker.run(send(picture), timeout=90) == ["done"]
    card = transfers(page, "in").last
    expect(card).to_have_attribute("data-type", "image/png")
    assert card.get_by_test_id("file-thumb").evaluate("img => img.naturalWidth") == 5
    blob = tmp_path / "blob.bin"
    blob.write_bytes(os.urandom(1024 * 1024))
    assert worker.run(send(blob), timeout=90) == ["done"]
    assert downloaded(page, transfers(page, "in").last) == blob.read_bytes()

    # A hostile name is shown as plain text, sanitised; a lying size is refused.
    html = tmp_path / "page.html"
    html.write_bytes(b"<script>document.title='owned'</script>")

    async def offer(path, **lies):
        out = crafted(peer, path, **lies)
        await peer.files.wait(out, timeout=30)
        return [(r.status, r.error) for r in out.receivers.values()]

    assert worker.run(offer(html, name='../../<img src=x onerror="alert(1)">.html'))[0][0] == "done"
    card = transfers(page, "in").last
    expect(card.get_by_test_id("file-name")).to_have_text("_img src=x onerror=_alert(1)__.html")
    expect(card).to_have_attribute("data-type", "application/octet-stream")
    expect(card.locator("img")).to_have_count(0)
    assert page.title() != "owned"

    big = tmp_path / "liar.bin"
    big.write_bytes(os.urandom(300_000))
    answers = worker.run(offer(big, size=70_000, sha256=hashlib.sha256(big.read_bytes()[:70_000]).hexdigest()))
    assert answers == [("cancelled", "The file is not the size it was offered as.")]
    card = transfers(page, "in").last
    expect(card).to_have_attribute("data-status", "failed")
    expect(card.get_by_role("alert")).to_contain_text("not the size it was offered as")
    expect(card.get_by_test_id("file-download")).to_have_count(0)


def test_a_transfer_to_the_python_peer_resumes_after_its_link_drops(python_peer, tmp_path):
    from tests.peer.test_peer_files import next_event

    worker, page, peer = python_peer
    source = tmp_path / "long.bin"
    source.write_bytes(os.urandom(12 * 1024 * 1024))
    page.get_by_test_id("file-input").set_input_files(str(source))

    async def drop_a_third_in():
        while not peer.files.incoming or next(iter(peer.files.incoming.values())).rx is None:
            await asyncio.sleep(0.01)
        item = next(iter(peer.files.incoming.values()))
        while item.rx.count < item.rx.total // 3:
            await asyncio.sleep(0.01)
        (link,) = peer.links.values()
        link.rebuild()  # its path is gone: a fresh connection, the file channel with it
        return item.rx.total

    total = worker.run(drop_a_third_in(), timeout=120)
    received = worker.run(next_event(peer, "file_received"), timeout=180)
    assert received.path.read_bytes() == source.read_bytes()
    row = transfers(page, "out").last.get_by_test_id("file-receiver")
    expect(row).to_have_attribute("data-status", "done", timeout=10_000)
    starts = [int(n) for n in row.get_attribute("data-starts").split(",")]
    assert starts[0] == 0 and len(starts) >= 2 and starts[-1] >= total // 3, starts


def test_in_a_group_every_member_gets_the_file_and_the_sender_sees_each(live, browser, tmp_path):
    from tests.support.browser import join_by_invite

    ana, ben = meet(browser, live.frontend, "Ana", "Ben")
    cleo = join_by_invite(browser, ana, "Cleo")
    try:
        for page in (ana, ben, cleo):
            wait_direct(page, 2)
        source = tmp_path / "group.bin"
        source.write_bytes(os.urandom(6 * 1024 * 1024))
        ana.get_by_test_id("file-input").set_input_files(str(source))
        rows = transfers(ana, "out").last.get_by_test_id("file-receiver")
        expect(rows).to_have_count(2, timeout=20_000)
        assert sorted(rows.all_inner_texts()[i].split(" · ")[0] for i in range(2)) == ["Ben", "Cleo"]
        for page in (ben, cleo):
            card = transfers(page, "in").last
            expect(card).to_have_attribute("data-status", "done", timeout=60_000)
            assert downloaded(page, card) == source.read_bytes()
        for i in range(2):
            expect(rows.nth(i)).to_have_attribute("data-status", "done", timeout=10_000)
        expect(transfers(ana, "out").last).to_have_attribute("data-status", "done")
    finally:
        for page in (ana, ben, cleo):
            page.context.close()


def test_with_no_webrtc_path_files_go_sealed_through_the_relay(live, browser, tmp_path):
    from tests.browser.test_relay import relayed_pair

    a, b = relayed_pair(browser, live.frontend)
    try:
        source = tmp_path / "relayed.bin"
        source.write_bytes(os.urandom(200_000 + 7))  # four chunks, the last one short
        a.get_by_test_id("file-input").set_input_files(str(source))
        card = transfers(b, "in").last
        expect(card).to_have_attribute("data-status", "receiving", timeout=20_000)
        expect(card.locator("[data-relayed]")).to_have_attribute("data-relayed", "true", timeout=20_000)
        expect(card).to_have_attribute("data-status", "done", timeout=60_000)
        assert downloaded(b, card) == source.read_bytes()
        expect(transfers(a, "out").last).to_have_attribute("data-status", "done", timeout=10_000)
    finally:
        for page in (a, b):
            page.context.close()


def test_a_browser_with_no_webrtc_path_and_a_python_peer_send_files_both_ways_through_the_relay(live, browser, tmp_path):
    from tests.browser.test_relay import RELAYED, relayed_with_python
    from tests.peer.test_peer_files import next_event
    from tests.support.peer_thread import PeerThread

    worker = PeerThread()
    page = None
    try:
        page, peer = relayed_with_python(browser, live, worker)
        peer.files.downloads = tmp_path / "downloads"
        expect(page.get_by_test_id("peer-state")).to_have_text(RELAYED, timeout=20_000)

        # Browser -> Python: four chunks, the last one short, in sealed parts.
        source = tmp_path / "up.bin"
        source.write_bytes(os.urandom(3 * 64 * 1024 + 4321))
        page.get_by_test_id("file-input").set_input_files(str(source))
        received = worker.run(next_event(peer, "file_received", timeout=90), timeout=100)
        assert hashlib.sha256(received.path.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
        row = transfers(page, "out").last.get_by_test_id("file-receiver")
        expect(row).to_have_attribute("data-status", "done", timeout=10_000)

        # Python -> browser.
        down = tmp_path / "down.bin"
        down.write_bytes(os.urandom(2 * 64 * 1024 + 99))

        async def send():
            out = await peer.send_file(down)
            await peer.files.wait(out, timeout=90)
            (other,) = peer.links
            return [r.status for r in out.receivers.values()], peer.transport(other), peer.relay_rejected

        statuses, transport, rejected = worker.run(send(), timeout=100)
        assert (statuses, transport, rejected) == (["done"], "relayed", 0)
        card = transfers(page, "in").last
        expect(card).to_have_attribute("data-status", "done", timeout=10_000)
        expect(card.locator("[data-relayed]")).to_have_attribute("data-relayed", "true")
        assert hashlib.sha256(downloaded(page, card)).digest() == hashlib.sha256(down.read_bytes()).digest()
        worker.run(peer.close())
    finally:
        if page is not None:
            page.context.close()
        worker.stop()


# The page's mesh, from the chat panel's React props (as bench/browser.py finds the session).
MESH = """() => {
  const input = document.querySelector("[data-testid=chat-input]");
  let fiber = input[Object.keys(input).find((k) => k.startsWith("__reactFiber$"))];
  while (fiber && !(fiber.memoizedProps && fiber.memoizedProps.session)) fiber = fiber.return;
  return fiber.memoizedProps.session.mesh;
}"""


def test_between_browsers_a_transfer_resumes_after_the_connection_is_rebuilt(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "resumed.bin"
    source.write_bytes(os.urandom(30 * 1024 * 1024))
    before = transfers(bob, "in").count()
    alice.get_by_test_id("file-input").set_input_files(str(source))
    card = transfers(bob, "in").nth(before)
    expect(card).to_have_attribute("data-status", "offered", timeout=30_000)
    card.get_by_test_id("file-accept").click()
    third = len(source.read_bytes()) // 3
    # Once a third is in, the path dies: Bob's side drops the RTCPeerConnection and builds a new one, as
    # after failed ICE restarts. Checked and done in one task of the page: the progress bar, redrawn
    # when the page has time, can lag far enough under load for the rest to arrive before the drop.
    bob.wait_for_function(
        f"""third => {{
          const mesh = ({MESH})();
          const inc = [...mesh.files.incoming.values()].pop();
          if (!inc || !inc.rx || inc.rx.bytes < third) return false;
          mesh.relink([...mesh.links.values()][0]);
          return true;
        }}""",
        arg=third,
        timeout=60_000,
    )
    expect(card).to_have_attribute("data-status", "done", timeout=120_000)
    assert hashlib.sha256(downloaded(bob, card)).digest() == hashlib.sha256(source.read_bytes()).digest()
    row = transfers(alice, "out").last.get_by_test_id("file-receiver")
    expect(row).to_have_attribute("data-status", "done", timeout=10_000)
    starts = [int(n) for n in row.get_attribute("data-starts").split(",")]
    assert starts[0] == 0 and len(starts) >= 2 and starts[-1] * 64 * 1024 >= third * 0.9, starts


def test_a_transfer_goes_on_through_an_ice_restart(pair, tmp_path):
    alice, bob = pair
    source = tmp_path / "restart.bin"
    source.write_bytes(os.urandom(20 * 1024 * 1024))
    before = transfers(bob, "in").count()
    alice.get_by_test_id("file-input").set_input_files(str(source))
    card = transfers(bob, "in").nth(before)
    expect(card).to_have_attribute("data-status", "receiving", timeout=30_000)
    restarts = int(bob.get_by_test_id("enclave-member").first.get_attribute("data-ice-restarts") or 0)
    bob.evaluate(f"() => [...({MESH})().links.values()][0].restart(true)")  # as when the network changes
    expect(bob.get_by_test_id("enclave-member").first).to_have_attribute("data-ice-restarts", str(restarts + 1), timeout=10_000)
    expect(card).to_have_attribute("data-status", "done", timeout=120_000)
    assert downloaded(bob, card) == source.read_bytes()
    expect(transfers(alice, "out").last).to_have_attribute("data-status", "done", timeout=10_000)


def test_the_operator_keeps_files_off_the_relay(browser, tmp_path_factory, tmp_path):
    from tests.browser.test_relay import relayed_pair
    from tests.support.live_app import running_app, seed_web

    tmp = tmp_path_factory.mktemp("no-file-relay")
    seed_web(tmp / "web")  # a `.web` of its own, as in test_pow.py: the shared app's dev server must not see it rebuilt
    with running_app(tmp, {"EPHEM_RELAY_FILES": "false", "REFLEX_WEB_WORKDIR": str(tmp / "web")}) as app:
        a, b = relayed_pair(browser, app.frontend)
        try:
            source = tmp_path / "kept.bin"
            source.write_bytes(os.urandom(100_000))
            a.get_by_test_id("file-input").set_input_files(str(source))
            row = transfers(a, "out").last.get_by_test_id("file-receiver")
            expect(row).to_contain_text("waiting for a direct connection", timeout=20_000)  # accepted, bytes held back
            card = transfers(b, "in").last
            expect(card).to_have_attribute("data-status", "receiving")
            b.wait_for_timeout(2000)
            assert card.evaluate(PROGRESS)[1] == 0
            transfers(a, "out").last.get_by_test_id("file-cancel").click()
            expect(card).to_have_attribute("data-status", "cancelled", timeout=10_000)
        finally:
            for page in (a, b):
                page.context.close()
