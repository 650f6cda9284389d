"""Operators' tool, on the configured database (REFLEX_DB_URL) directly:

    python -m ephem.admin reports [--open]
    python -m ephem.admin show REPORT_ID
    python -m ephem.admin close REPORT_ID
    python -m ephem.admin ban ACCOUNT_ID [--reason TEXT]
    python -m ephem.admin unban ACCOUNT_ID
    python -m ephem.admin bans

The REST API has no operator endpoint; whoever can run this can read the
database anyway. A ban takes effect at the account's next sign-in, connect,
search or join, and within 30 seconds for its open connections.
"""

import argparse
import sys

from sqlalchemy.exc import OperationalError

from ephem.core.clock import iso
from ephem.core.db import get_engine, unreachable
from ephem.core.settings import get_settings
from ephem.errors import EphemError
from ephem.safety import ReportView, Safety


def _line(report: ReportView) -> str:
    state = "closed" if report.closed_at else "open"
    banned = {True: " [banned]", False: "", None: " [account gone]"}[report.banned]
    return (
        f"{report.id}  {iso(report.created_at)}  {state:6}  {report.reported_id} {report.reported_name!r}{banned}"
        f"  {len(report.evidence)} messages  {report.reason[:60]!r}"
    )


def _show(report: ReportView) -> str:
    lines = [
        f"report    {report.id}",
        f"created   {iso(report.created_at)}",
        f"state     {'closed ' + iso(report.closed_at) if report.closed_at else 'open'}",
        f"reported  {report.reported_id} {report.reported_name!r}"
        + {True: " (banned)", False: "", None: " (account gone)"}[report.banned],
        f"reporter  {report.reporter_id}",
        f"enclave   {report.enclave_id or '-'}",
        f"reason    {report.reason}",
        f"evidence  {len(report.evidence)} messages, as the reporter's screen showed them:",
    ]
    for message in report.evidence:
        who = "reporter" if message.mine else repr(message.name)
        lines.append(f"  [{message.ts}] {who}: {message.text}")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m ephem.admin", description="ephem operators' tool")
    commands = top.add_subparsers(dest="command", required=True)
    reports = commands.add_parser("reports", help="list reports, newest first")
    reports.add_argument("--open", action="store_true", help="only those not yet closed")
    commands.add_parser("show", help="a report with its evidence").add_argument("report_id")
    commands.add_parser("close", help="close a report without a ban").add_argument("report_id")
    ban = commands.add_parser("ban", help="ban an account (closes its open reports)")
    ban.add_argument("account_id")
    ban.add_argument("--reason", default="")
    commands.add_parser("unban", help="lift a ban").add_argument("account_id")
    commands.add_parser("bans", help="list banned accounts")
    return top


def run(args: argparse.Namespace, safety: Safety) -> str:
    if args.command == "reports":
        found = safety.reports(open_only=args.open)
        return "\n".join(_line(r) for r in found) if found else "no reports"
    if args.command == "show":
        return _show(safety.get_report(args.report_id))
    if args.command == "close":
        safety.close_report(args.report_id)
        return f"closed {args.report_id}"
    if args.command == "ban":
        ban = safety.ban(args.account_id, args.reason)
        return f"banned {ban.account_id} {ban.name!r} since {iso(ban.banned_at)}"
    if args.command == "unban":
        safety.unban(args.account_id)
        return f"unbanned {args.account_id}"
    bans = safety.bans()
    return "\n".join(f"{b.account_id}  {iso(b.banned_at)}  {b.name!r}  {b.reason!r}" for b in bans) if bans else "no bans"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = get_settings()
    try:
        print(run(args, Safety(get_engine(), settings)))
    except EphemError as exc:
        print(f"ephem.admin: {exc.message}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(unreachable(settings.db_url, exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
