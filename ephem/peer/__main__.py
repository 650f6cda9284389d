"""Chat in the terminal: `python -m ephem.peer --server URL --name NAME (--search | --invite LINK)`.

Incoming messages are printed with their sender's name; each line typed is
sent; your own messages get a mark when they are sent (✓) and delivered (✓✓).
`/verify NAME` prints the safety code of your pair with NAME: compare it with
theirs (in person, by phone); the same code on both sides means nobody, the
server included, sits in between. `/send PATH` sends a file to everyone here;
files others send are saved in `--downloads DIR` (refused without it), those
above 25 MB once you `/accept` them (or `/decline`). `/block NAME` (or an
account id) stops everything from and to a member and keeps you apart in
matchmaking; `/blocks` lists your blocks, `/unblock NAME_OR_ID` lifts one.
Ctrl-C or end of input (Ctrl-D) leaves cleanly.
"""

import argparse
import asyncio
import contextlib
import sys
from datetime import datetime
from pathlib import Path

import httpx

from ephem.peer.client import EphemError, EphemPeer
from ephem.peer.files import format_bytes, format_duration

FLUSH_SECONDS = 5  # on EOF, how long to wait for what is still on its way
PROGRESS_SECONDS = 2  # how often transfers in progress are reported


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ephem.peer", description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="backend URL, e.g. http://localhost:8000")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--name", help="display name for a new account")
    who.add_argument("--recovery-token", help="restore an existing account instead")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--search", action="store_true", help="meet a stranger who is searching")
    where.add_argument("--invite", metavar="LINK", help="join an enclave through its invite link")
    parser.add_argument("--interests", metavar="A,B", default="", help="with --search: meet someone sharing one first")
    parser.add_argument("--remember", action="store_true", help="keep the account for 30 days")
    parser.add_argument("--downloads", metavar="DIR", help="save files others send here (without it they are refused)")
    parser.add_argument("--lang", metavar="TAG", default=None,
                        help="the language the server answers in, e.g. fa or ru-RU (default: from LC_ALL / LC_MESSAGES / LANG)")
    return parser.parse_args(argv)


def say(line: str) -> None:
    print(line, flush=True)


def stamp(iso_ts: str) -> str:
    try:
        return datetime.fromisoformat(iso_ts.replace("Z", "+00:00")).astimezone().strftime("%H:%M")
    except ValueError:
        return "--:--"


def verify(peer: EphemPeer, name: str) -> str:
    if not name.strip():
        return "! Say whose code: /verify NAME"
    peer_id = peer.peer_named(name)
    if peer_id is None:
        return f"! Nobody called {name.strip()} is connected here."
    code = peer.safety_code(peer_id)
    if code is None:
        return f"! No safety code with {name.strip()} yet: their key has not arrived."
    return f"Safety code with {name.strip()}: {code} (the same on their side means nobody is in between)"


def resolve_member(peer: EphemPeer, who: str, also: dict[str, str] | None = None) -> tuple[str | None, str]:
    """(account_id, "") for the member of this enclave (or of `also`, id -> name) called `who`
    or with that account id; (None, why not) otherwise. Names are matched case-insensitively."""
    wanted = who.strip()
    known = {a: m.name for a, m in (peer.conversation.members.items() if peer.conversation else ())}
    known.update({a: n for a, n in (also or {}).items() if a not in known or not known[a]})
    known.pop(peer.account.get("id", ""), None)
    if wanted in known:
        return wanted, ""
    if wanted == peer.account.get("id") or wanted.casefold() == peer.name.casefold():
        return None, "! That is you."
    named = sorted(a for a, name in known.items() if name and name.casefold() == wanted.casefold())
    if len(named) == 1:
        return named[0], ""
    if named:
        return None, f"! {len(named)} members are called {wanted}: say which by account id ({', '.join(named)})."
    return None, f"! Nobody called {wanted} is here (give a member's name or account id)."


async def block(peer: EphemPeer, who: str) -> str:
    if not who.strip():
        return "! Say whom: /block NAME_OR_ACCOUNT_ID"
    account_id, why = resolve_member(peer, who)
    if account_id is None:
        return why
    try:
        await peer.block(account_id)
    except (EphemError, httpx.HTTPError) as exc:
        return f"! {getattr(exc, 'message', None) or exc}"
    return f"* Blocked {peer.blocked_names.get(account_id) or who.strip()}: nothing from or to them now, never matched again (/unblock to lift)."


async def unblock(peer: EphemPeer, who: str) -> str:
    if not who.strip():
        return "! Say whom: /unblock NAME_OR_ACCOUNT_ID"
    try:
        await peer.refresh_blocks()  # blocks made on another device count too
    except (EphemError, httpx.HTTPError) as exc:
        return f"! {getattr(exc, 'message', None) or exc}"
    account_id, why = resolve_member(peer, who, peer.blocked_names)
    if account_id is None:
        return why
    if account_id not in peer.blocked:
        return f"! You have not blocked {who.strip()}."
    name = peer.blocked_names.get(account_id) or who.strip()
    try:
        await peer.unblock(account_id)
    except (EphemError, httpx.HTTPError) as exc:
        return f"! {getattr(exc, 'message', None) or exc}"
    return f"* Unblocked {name}."


async def list_blocks(peer: EphemPeer) -> str:
    try:
        await peer.refresh_blocks()
    except (EphemError, httpx.HTTPError) as exc:
        return f"! {getattr(exc, 'message', None) or exc}"
    if not peer.blocked_names:
        return "* You have blocked nobody."
    return "* Blocked: " + ", ".join(f"{name or 'someone'} ({account_id})" for account_id, name in peer.blocked_names.items())


async def send_file(peer: EphemPeer, path: str) -> str:
    if not path:
        return "! Say which file: /send PATH"
    try:
        out = await peer.send_file(Path(path).expanduser())
    except (ValueError, OSError) as exc:
        return f"! {exc}"
    names = ", ".join(r.name or "someone" for r in out.receivers.values())
    return f"* Offering {out.offer.name} ({format_bytes(out.offer.size)}) to {names}"


def progress_lines(peer: EphemPeer):
    """(key, line) for each transfer moving now, both ways: done, of, speed, time left."""

    def line(arrow, name, who, done, size, meter):
        parts = [f"{100 * done // max(1, size)}%", f"{format_bytes(done)} of {format_bytes(size)}"]
        if meter.speed > 0:
            parts.append(f"{format_bytes(round(meter.speed))}/s")
        left = format_duration(meter.eta(size - done))
        if left and done < size:
            parts.append(f"{left} left")
        return f"  {arrow} {name} {who}: " + " · ".join(parts)

    for out in list(peer.files.outgoing.values()):
        for account_id, r in out.receivers.items():
            if r.status == "sending":
                done = min(out.offer.size, r.acked * out.offer.chunk)
                yield (out.offer.id, account_id), line("↑", out.offer.name, f"to {r.name or 'someone'}", done, out.offer.size, r.meter)
    for item in list(peer.files.incoming.values()):
        if item.status == "receiving" and item.rx is not None:
            yield (item.offer.id, item.sender), line("↓", item.offer.name, f"from {item.name or 'someone'}", item.rx.bytes, item.offer.size, item.meter)


def file_event(kind: str, item, waiting: list) -> str:
    if kind == "file_offer":
        waiting.append(item)
        size = format_bytes(item.offer.size)
        return f"? {item.name or 'someone'} sends {item.offer.name} ({size}): /accept or /decline"
    if kind == "file_received":
        return f"* Saved {item.path} ({format_bytes(item.offer.size)}, SHA-256 checked) from {item.name or 'someone'}"
    if kind == "file_failed":
        return f"! {item.offer.name} from {item.name or 'someone'}: {item.status}, {item.error}"
    if kind == "file_refused":
        return f"! Refused {item[0]}: {item[1]}"
    if kind == "file_sent":
        parts = [f"{r.name or 'someone'} {r.status}" + (f" ({r.error})" if r.error else "") for r in item.receivers.values()]
        return f"* {item.offer.name}: {', '.join(parts)}"
    return f"* {kind}"


async def stdin_lines():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield line.decode(errors="replace").rstrip("\n")


async def chat(args: argparse.Namespace) -> int:
    try:
        if args.recovery_token:
            peer = await EphemPeer.restore(args.server, args.recovery_token, lang=args.lang)
        else:
            peer = await EphemPeer.sign_up(args.server, args.name, remember=args.remember, lang=args.lang)
        await peer.connect()
    except (EphemError, OSError, Exception) as exc:  # noqa: BLE001 - one clear line, not a traceback
        print(f"Could not sign in: {exc}", file=sys.stderr)
        return 2
    try:
        if peer.recovery_token and not args.recovery_token:
            print(f"Signed in as {peer.name}. Recovery token: {peer.recovery_token}", file=sys.stderr)
        if args.search:
            say("Searching for a stranger…")
            await peer.search(interests=[t.strip() for t in args.interests.split(",") if t.strip()])
            if peer.shared_interests:
                say(f"You both like: {', '.join(peer.shared_interests)}")
        else:
            await peer.join_invite(args.invite)
        if args.downloads:
            peer.files.downloads = Path(args.downloads).expanduser()
        say(f"In enclave {peer.enclave_id}. Type a message and press Enter; Ctrl-D to leave.")

        async def show_incoming():
            async for message in peer.messages():
                say(f"[{stamp(message.ts)}] {message.name}: {message.text}")

        waiting = []  # offers above the threshold, for /accept and /decline

        async def show_events():
            async for kind, item in peer.events():
                if kind.startswith("file_"):
                    say(file_event(kind, item, waiting))
                    continue
                if kind == "status":
                    mark = "✓✓" if item.status == "delivered" else "✓"
                    say(f"  {mark} {item.status}: {item.text[:40]}")
                elif kind in ("joined", "left"):
                    say(f"* {item or 'someone'} {kind}")
                elif kind == "transport":
                    name, how = item
                    say(f"* {name or 'someone'}: {'relayed, end-to-end encrypted' if how == 'relayed' else 'direct link'}")
                elif kind == "key_changed":
                    say(f"! {item or 'someone'}'s safety code changed: /verify {item} and compare again")

        async def show_progress():
            shown: dict[tuple, str] = {}
            while True:
                await asyncio.sleep(PROGRESS_SECONDS)
                for key, line in progress_lines(peer):
                    if shown.get(key) != line:
                        shown[key] = line
                        say(line)

        watchers = [asyncio.ensure_future(w()) for w in (show_incoming, show_events, show_progress)]
        sent = []
        async for line in stdin_lines():
            if line.strip().startswith("/verify"):
                say(verify(peer, line.strip()[len("/verify"):]))
            elif line.strip() == "/blocks":
                say(await list_blocks(peer))
            elif line.strip().split(" ")[0] in ("/block", "/unblock"):
                command, _, who = line.strip().partition(" ")
                say(await (block if command == "/block" else unblock)(peer, who))
            elif line.strip().startswith("/send"):
                say(await send_file(peer, line.strip()[len("/send"):].strip()))
            elif line.strip() in ("/accept", "/decline"):
                waiting[:] = [item for item in waiting if item.status == "offered"]  # not those stopped meanwhile (a block)
                if not waiting:
                    say("! No file is waiting for an answer.")
                else:
                    item = waiting.pop(0)
                    (peer.accept_file if line.strip() == "/accept" else peer.decline_file)(item)
                    say(f"* {'Receiving' if line.strip() == '/accept' else 'Declined'} {item.offer.name}")
                    # Its first progress line at once: a fast transfer can be over before the next report.
                    for key, text in progress_lines(peer):
                        if key == (item.offer.id, item.sender):
                            say(text)
            elif line.strip():
                try:
                    sent.append(await peer.send(line))
                except ValueError as exc:
                    say(f"! {exc}")
        # End of input: give what is still on its way a moment to arrive.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(peer.wait_status(m, "delivered", FLUSH_SECONDS) for m in sent)), FLUSH_SECONDS
            )
        for watcher in watchers:
            watcher.cancel()
        say("Bye.")
        return 0
    except EphemError as exc:
        print(f"{exc.message}", file=sys.stderr)
        return 1
    finally:
        await peer.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(chat(args))
    except KeyboardInterrupt:
        say("Bye.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
