"""Chat on real network paths: the network lab (tests/netlab) measured, with Python peers and browsers.

    .venv/bin/python bench/netlab.py [--runs 5] [--messages 1000] [--size 1000] [--browser-runs 3]

Needs what the lab needs (root, `nft`, `turnserver`: `make netlab-tools`).
Builds the lab's internet once (backend, coturn with TLS on 443), then for
each path a fresh pair of homes and two Python peers (tests/netlab/chat_peer.py),
each a process in its home:

- direct: two hosts on the internet;
- TURN/UDP: symmetric NAT on both sides;
- TURN/TLS: one side behind a firewall that lets only TCP 443 out.

Figures: search → first message, from the second peer's `search` to the
first chat message shown on either side (both send as soon as their channel
opens; CLOCK_MONOTONIC is one clock for every namespace), median of --runs,
and the slower peer's connect before it (socket, hello, and probing which
ICE servers answer: ephem/peer/turn.py);
and chat throughput, both peers writing --messages messages of --size
characters at once, until each has all the other's and all its own are
acked: messages/s and MB/s of chat frames (acks not counted). Fails if a
path is not the one asked for, or a message is missing or doubled.

Then the same search → first message with two headless Chromiums
(tests/netlab/browser_peer.py) on the lab's static site, per path, median
of --browser-runs: from the later of the two Search clicks to the first
message of the other side shown on either page (each page types its
message as soon as the other member's row says how the link runs). Fails
if a row names another path.

Then file throughput between the two Chromiums, per --file-paths: A sends
--file-mb random MiB (above 25 MB, B accepts it first); MB/s from B's card
showing `receiving` to `done` (hash checked), on B's page clock, median of
--file-runs. On TURN/UDP and TURN/TLS both browsers can only use relay
candidates (symmetric NAT; only TCP 443 out), so every byte crosses coturn.
Fails if the SHA-256 received differs or a row names another path. The
same with a Chromium in home A and a Python peer (chat_peer.py) in home B,
the file each way (--file-python): the Python side times its receiving on
its own clock, from accepting the file to saving it.
--files-only skips everything before. Writes bench/results/netlab.csv.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import describe_machine, fail, write_csv

from tests.netlab.internet import finish, internet_up, remove_leftovers, serve_site, start_peer
from tests.netlab.lab import ONLY_TCP_443, SYMMETRIC_NAT, missing_requirements

PATHS = {
    "direct": lambda lab: (lab.open_home("home-a", 1), lab.open_home("home-b", 2)),
    "TURN/UDP": lambda lab: (lab.home_behind_router("home-a", 1, SYMMETRIC_NAT), lab.home_behind_router("home-b", 2, SYMMETRIC_NAT)),
    "TURN/TLS": lambda lab: (lab.home_behind_router("home-a", 1, ONLY_TCP_443), lab.open_home("home-b", 2)),
}


def path_of(route_a: dict, route_b: dict) -> str:
    """Which path a pair's ICE routes are: the relay's transport if either side is relayed."""
    for route in (route_a, route_b):
        if route.get("local") == "relay":
            return "TURN/TLS" if route["turn"]["tls"] else f"TURN/{route['turn']['transport'].upper()}"
    return "direct"


def chat(internet, path: str, *args: str, rounds: int = 1, timeout: float = 120) -> tuple[dict, dict, list[dict]]:
    """Two peers on `path` chat --rounds rounds; (A's open line, B's, each side's round lines of the last round)."""
    with internet.lab.scope() as lab:
        home_a, home_b = PATHS[path](lab)
        count = ["--rounds", str(rounds), "--timeout", str(timeout), *args]
        runs = [start_peer(internet, home_a, "A", "tests.netlab.chat_peer", "--server", internet.server, *count)]
        time.sleep(0.2)
        runs.append(start_peer(internet, home_b, "B", "tests.netlab.chat_peer", "--server", internet.server, *count))
        try:
            opened = [run.wait_for("open", timeout) for run in runs]
            connected = [run.wait_for("connected", timeout) for run in runs]
            opened[0]["connect_seconds"] = max(line["seconds"] for line in connected)
            for n in range(2, rounds + 1):
                runs[0].wait_for_nth("round", n - 1, timeout)
                runs[1].wait_for_nth("round", n - 1, timeout)
                for run in runs:
                    run.say()  # both write at once
            last = [run.wait_for_nth("round", rounds, timeout) for run in runs]
            done = [run.wait_for("done", timeout) for run in runs]
        finally:
            finish(runs)
    found = path_of(last[0]["route"], last[1]["route"])
    if found != path:
        fail(f"{path}: the peers ended up on {found}: {last[0]['route']} / {last[1]['route']}")
    sent = int(args[args.index("--count") + 1]) * rounds
    for line, other in zip(done, "BA"):
        if line["received"] != [f"{other} {i}" for i in range(sent)]:
            fail(f"{path}: messages missing, doubled or out of order: {line['received'][:20]}…")
    return opened[0], opened[1], last


def search_to_first_message(internet, path: str) -> tuple[float, float]:
    """(search → first message, the slower peer's connect: socket, hello and the ICE server probe)."""
    a, b, last = chat(internet, path, "--count", "1")
    return min(line["first_message_at"] for line in last) - max(a["searched_at"], b["searched_at"]), a["connect_seconds"]


# What the member rows say on each path (tests/netlab/test_browsers.py): A's row, B's row.
BROWSER_ROWS = {
    "direct": ({"direct"}, {"direct"}),
    "TURN/UDP": ({"relay-udp", "relay"}, {"relay-udp", "relay"}),
    "TURN/TLS": ({"relay-tls"}, {"relay"}),
}


def browser_search_to_first_message(internet, site: str, path: str, timeout: float = 120) -> float:
    with internet.lab.scope() as lab:
        home_a, home_b = PATHS[path](lab)
        args = ("--site", site, "--count", "1", "--timeout", str(timeout))
        runs = [start_peer(internet, home, name, "tests.netlab.browser_peer", *args) for home, name in ((home_a, "A"), (home_b, "B"))]
        try:
            opened = [run.wait_for("open", timeout) for run in runs]
            rounds = [run.wait_for("round", timeout) for run in runs]
        finally:
            finish(runs)
    for line, wanted in zip(rounds, BROWSER_ROWS[path]):
        if line["row"]["path"] not in wanted:
            fail(f"browsers, {path}: a row says {line['row']}")
    return min(line["first_message_at"] for line in rounds) - max(line["searched_at"] for line in opened)


def browser_file_throughput(internet, site: str, path: str, mib: float, timeout: float = 300) -> dict:
    with internet.lab.scope() as lab:
        home_a, home_b = PATHS[path](lab)
        args = ("--site", site, "--count", "1", "--file-mb", str(mib), "--timeout", str(timeout))
        runs = [start_peer(internet, home, name, "tests.netlab.browser_peer", *args) for home, name in ((home_a, "A"), (home_b, "B"))]
        try:
            rounds = [run.wait_for("round", timeout) for run in runs]
            sent, received = [run.wait_for("file", timeout) for run in runs]
        except AssertionError as error:
            fail(f"browsers, {path}, file: {error}\nthe other side: {runs[1].lines}\n{runs[1].tail()}")
        finally:
            finish(runs)
    for line, wanted in zip(rounds, BROWSER_ROWS[path]):
        if line["row"]["path"] not in wanted:
            fail(f"browsers, {path}: a row says {line['row']}")
    if (sent["sha256"], sent["bytes"]) != (received["sha256"], received["bytes"]):
        fail(f"browsers, {path}: the file arrived different: {sent} / {received}")
    return {"seconds": received["seconds"], "mb_per_s": round(received["bytes"] / received["seconds"] / 1e6, 2)}


def python_file_throughput(internet, site: str, path: str, mib: float, browser_sends: bool, timeout: float = 300) -> dict:
    """A Chromium in home A and a Python peer in home B; the file one way, MB/s at its receiver."""
    with internet.lab.scope() as lab:
        home_a, home_b = PATHS[path](lab)
        roles = ("send", "receive") if browser_sends else ("receive", "send")
        runs = [start_peer(internet, home_a, "A", "tests.netlab.browser_peer", "--site", site, "--count", "1",
                           "--file-mb", str(mib), "--file-role", roles[0], "--timeout", str(timeout))]
        time.sleep(0.2)
        runs.append(start_peer(internet, home_b, "B", "tests.netlab.chat_peer", "--server", internet.server, "--count", "1",
                               "--file-mb", str(mib), "--file-role", roles[1], "--timeout", str(timeout)))
        way = "browser -> python" if browser_sends else "python -> browser"
        try:
            row, done = runs[0].wait_for("round", timeout)["row"], runs[1].wait_for("done", timeout)
            sent, received = (run.wait_for("file", timeout) for run in (runs if browser_sends else runs[::-1]))
        except AssertionError as error:
            fail(f"{way}, {path}, file: {error}\nthe other side: {runs[1].lines}\n{runs[1].tail()}")
        finally:
            finish(runs)
    route = done["route"] if isinstance(done["route"], dict) else {}  # "relayed": the server's relay, not TURN
    relayed = "relay" in (route.get("local"), route.get("remote"))
    if row["path"] not in BROWSER_ROWS[path][0] or not route or relayed != (path != "direct"):
        fail(f"{way}, {path}: the browser's row says {row}, the Python peer's route {done['route']}")
    if (sent["sha256"], sent["bytes"]) != (received["sha256"], received["bytes"]):
        fail(f"{way}, {path}: the file arrived different: {sent} / {received}")
    return {"seconds": received["seconds"], "mb_per_s": round(received["bytes"] / received["seconds"] / 1e6, 2)}


def throughput(internet, path: str, messages: int, size: int) -> dict:
    # Round 1 warms the path up; round 2 starts on both sides at once and is the one measured.
    _, _, last = chat(internet, path, "--count", str(messages), "--size", str(size), rounds=2)
    seconds = max(line["seconds"] for line in last)
    frame_bytes = sum(line["frame_bytes"] for line in last)
    return {"messages_per_s": round(2 * messages / seconds), "mb_per_s": round(frame_bytes / seconds / 1e6, 2),
            "seconds": seconds, "frame_bytes": frame_bytes}



def file_row(way: str, path: str, mib: int, figures: list[dict]) -> dict:
    """One CSV row for a file transfer's runs on one path, printed as it is made."""
    speeds = [f["mb_per_s"] for f in figures]
    row = {"path": f"{way} file {path}", "runs": len(figures), "file_mib": mib,
           "file_mb_per_s_median": statistics.median(speeds), "file_mb_per_s_min": min(speeds),
           "file_mb_per_s_max": max(speeds)}
    print(f"{way} {path:9} file of {mib} MiB: median {row['file_mb_per_s_median']} MB/s "
          f"(min {min(speeds)}, max {max(speeds)}, {len(figures)} runs: "
          f"{', '.join(str(f['seconds']) for f in figures)} s)", flush=True)
    return row

def main(args) -> None:
    reason = missing_requirements()
    if reason:
        fail(reason)
    remove_leftovers()
    print(f"netlab bench, {describe_machine()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ephem-netlab-") as tmp, internet_up(Path(tmp)) as internet:
        for path in [] if args.files_only else PATHS:
            measured = [search_to_first_message(internet, path) for _ in range(args.runs)]
            times, connects = [m[0] for m in measured], [m[1] for m in measured]
            row = {"path": path, "runs": args.runs, "search_to_first_ms_median": round(statistics.median(times) * 1000),
                   "min_ms": round(min(times) * 1000), "max_ms": round(max(times) * 1000),
                   "connect_ms_median": round(statistics.median(connects) * 1000)}
            print(f"{path:9} search → first message: median {row['search_to_first_ms_median']} ms "
                  f"(min {row['min_ms']}, max {row['max_ms']}, {args.runs} runs); connect with the ICE server probe: "
                  f"median {row['connect_ms_median']} ms", flush=True)
            if path in args.throughput:
                figures = throughput(internet, path, args.messages, args.size)
                row.update({"messages": args.messages, "size": args.size, **figures})
                print(f"{path:9} throughput: {figures['messages_per_s']} messages/s, {figures['mb_per_s']} MB/s of chat "
                      f"frames ({2 * args.messages} messages of {args.size} characters in {figures['seconds']} s)", flush=True)
            rows.append(row)
        site = serve_site(internet) if args.browser_runs or args.file_runs or args.file_python else None
        if args.browser_runs and not args.files_only:
            for path in PATHS:
                times = [browser_search_to_first_message(internet, site, path) for _ in range(args.browser_runs)]
                row = {"path": f"browsers {path}", "runs": args.browser_runs,
                       "search_to_first_ms_median": round(statistics.median(times) * 1000),
                       "min_ms": round(min(times) * 1000), "max_ms": round(max(times) * 1000)}
                print(f"browsers {path:9} search → first message: median {row['search_to_first_ms_median']} ms "
                      f"(min {row['min_ms']}, max {row['max_ms']}, {args.browser_runs} runs)", flush=True)
                rows.append(row)
        for path in args.file_paths if args.file_runs else []:  # browser -> browser
            figures = [browser_file_throughput(internet, site, path, args.file_mb, args.file_timeout) for _ in range(args.file_runs)]
            rows.append(file_row("browsers", path, args.file_mb, figures))
        for path in args.file_paths if args.file_python else []:
            for browser_sends in (True, False):
                figures = [python_file_throughput(internet, site, path, args.file_mb, browser_sends, args.file_timeout)
                           for _ in range(args.file_python)]
                rows.append(file_row("browser -> python" if browser_sends else "python -> browser", path, args.file_mb, figures))
    print(f"wrote {write_csv('netlab-files' if args.files_only else 'netlab', rows)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="search → first message runs per path")
    parser.add_argument("--messages", type=int, default=1000, help="messages each peer writes for throughput")
    parser.add_argument("--size", type=int, default=1000, help="characters of padding in each of them")
    parser.add_argument("--browser-runs", type=int, default=3, help="search → first message runs per path with browsers (0: none)")
    parser.add_argument("--throughput", nargs="*", default=list(PATHS), choices=list(PATHS), help="paths to measure it on")
    parser.add_argument("--file-mb", type=float, default=20, help="MiB of the file the browsers send")
    parser.add_argument("--file-runs", type=int, default=3, help="file transfers per path with browsers (0: none)")
    parser.add_argument("--file-paths", nargs="*", default=list(PATHS), choices=list(PATHS), help="paths to send files on")
    parser.add_argument("--file-python", type=int, default=1, help="file transfers per path and way between a browser and a Python peer (0: none)")
    parser.add_argument("--file-timeout", type=float, default=300, help="seconds a file may take")
    parser.add_argument("--files-only", action="store_true", help="only the file transfers")
    main(parser.parse_args())
    sys.exit(0)
