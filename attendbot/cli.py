"""``attendbot run | serve | demo | check | purge | rosters``.

Exit status: 0 the day was reconciled (gaps or not); 2 bad configuration or
arguments; 1 anything else that stopped the run.

Every command runs with umask 077: the ledger (and SQLite's -wal/-shm files),
audit workbooks, quarantined files' notes, lock files and every folder the bot
creates are readable by their owner only, on top of the explicit modes the
writers set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import json
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from attendbot import __version__, config
from attendbot.errors import AttendbotError, ConfigError

log = logging.getLogger("attendbot")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 for bad arguments, as the spec wants
        self.print_usage(sys.stderr)
        self.exit(2, f"attendbot: {message}\n")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-24") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="attendbot", description="Daily attendance reconciliation for IOP programs.")
    parser.add_argument("--version", action="version", version=f"attendbot {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="reconcile one business day",
                         description="Reconcile one business day (default: today in the program's time zone).")
    run.add_argument("--date", type=_date, help="the day to reconcile, YYYY-MM-DD")
    run.add_argument("--from", dest="from_day", type=_date, metavar="YYYY-MM-DD",
                     help="back-fill: reconcile every business day from this day (with --to), oldest first; "
                          "nothing is posted to Slack for a day before today")
    run.add_argument("--to", dest="to_day", type=_date, metavar="YYYY-MM-DD", help="back-fill: the last day")
    run.add_argument("--config", help="path to attendbot.toml (default: config/attendbot.toml)")
    run.add_argument("--inbox", help="the inbox folder (overrides [paths] inbox)")
    run.add_argument("--db", help="the ledger file (overrides [paths] db)")
    run.add_argument("--audit-dir", help="where audit workbooks go (overrides [paths] audit_dir)")
    run.add_argument("--dry-run", action="store_true", help="post nothing to Slack; print what would be sent")
    run.add_argument("--json", action="store_true", help="print the result as one JSON document on stdout")

    serve = sub.add_parser("serve", help="the scheduled worker: reconcile every business afternoon",
                           description="Run unattended: reconcile at [program] run_at on business days (and the "
                                       "previous business day again), catch up a missed run, follow up on new "
                                       "files until close of business. Stops cleanly on SIGTERM/SIGINT.")
    serve.add_argument("--config", help="path to attendbot.toml (default: config/attendbot.toml)")

    check = sub.add_parser("check", help="validate config and inbox; change nothing",
                           description="Validate the configuration and list what the inbox holds. Changes nothing.")
    check.add_argument("--config", help="path to attendbot.toml (default: config/attendbot.toml)")

    demo = sub.add_parser("demo", help="build a sample program and run it",
                          description="Write a sample program (config and a day's inbox) into a folder and run it. "
                                      "Needs no configuration and no network.")
    demo.add_argument("--dir", default="attendbot-demo", help="folder to create (default: ./attendbot-demo)")

    purge = sub.add_parser("purge", help="delete records older than the retention period",
                           description="Delete the ledger rows, audit workbooks and quarantined files of service "
                                       "days before DATE (default: today minus [retention] keep_days; retention "
                                       "is off unless one of them is given). Never touches the inbox. Prints "
                                       "counts only.")
    purge.add_argument("--before", type=_date, metavar="DATE",
                       help="delete service days strictly before this day, YYYY-MM-DD")
    purge.add_argument("--config", help="path to attendbot.toml (default: config/attendbot.toml)")
    purge.add_argument("--dry-run", action="store_true", help="delete nothing; print what would be deleted")

    rosters = sub.add_parser("rosters", help="print pre-filled sign-in sheets for a day's sessions",
                             description="Write one PDF with a pre-filled sign-in sheet for each session scheduled "
                                         "on DATE in the inbox's charge export: printed names, signature and time "
                                         "boxes, spare rows for walk-ins, and a QR mark that lets a scan of the "
                                         "signed sheet be read back exactly.")
    rosters.add_argument("--date", type=_date, required=True, help="the day of the sessions, YYYY-MM-DD")
    rosters.add_argument("--config", help="path to attendbot.toml (default: config/attendbot.toml)")
    rosters.add_argument("--out", help="the PDF to write (default: <audit_dir>/<date>-rosters.pdf)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    verbose = args.verbose or args.command == "serve"  # the worker's log is its only voice
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="attendbot: %(levelname)s: %(message)s", stream=sys.stderr)
    previous_umask = os.umask(0o077)  # whatever a command creates is readable by its owner only
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"attendbot: configuration error: {exc}", file=sys.stderr)
        return 2
    except AttendbotError as exc:
        print(f"attendbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("attendbot: interrupted", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback for the user: one line, and what to do
        print(f"attendbot: {_unexpected(exc)}", file=sys.stderr)
        log.debug("stopped by", exc_info=True)
        return 1
    finally:
        os.umask(previous_umask)


def entry() -> None:
    """The console script and ``python -m attendbot``: :func:`main`, then the process ends at once.

    Every command has closed, committed and reaped all it opened before :func:`main` returns, so
    the interpreter's teardown (freeing each object and module one by one, 0.3–0.5 s after a large
    day's run: a tenth of it) does nothing anyone needs. The log and the console are flushed first.
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, a closed stream: nothing more to say
            pass
    os._exit(code)


def _unexpected(exc: Exception) -> str:
    """One line for an error no step turned into an AttendbotError (a full disk under the ledger at
    a commit, a folder that cannot be read), cleaned of secrets and control characters."""
    from attendbot.ledger import explain
    from attendbot.secrets import clean

    reason = explain(exc)
    if reason:
        return reason
    if isinstance(exc, OSError):
        where = f" {clean(exc.filename)}" if exc.filename else ""
        return f"stopped:{where} {clean(exc.strerror or exc)}; nothing half-written was kept — fix it and run again"
    return (f"stopped by an unexpected {type(exc).__name__}: {clean(exc)[:300]} — nothing half-written was kept; "
            "run again with -v and report it if it repeats")


def cmd_run(args: argparse.Namespace) -> int:
    from attendbot.outputs.report import console_text, json_document, status_line
    from attendbot.run import run_day

    if (args.from_day is None) != (args.to_day is None) or (args.from_day and args.date):
        return _usage("give --date, or --from and --to together")
    settings = config.load(args.config, inbox=args.inbox, db=args.db, audit_dir=args.audit_dir)
    # A short batch process: most of what it allocates lives until it ends, so the cyclic
    # collector's frequent young-generation passes are mostly wasted work.
    gc.set_threshold(50_000, 20, 20)
    if args.from_day is not None:
        return _backfill(settings, args)
    day = args.date or dt.datetime.now(settings.program.tz).date()
    outcome = run_day(settings, day, dry_run=args.dry_run)
    print(console_text(outcome), file=sys.stderr if args.json else sys.stdout)
    if outcome.status.state != "complete" and not args.json:
        print(status_line(outcome), file=sys.stderr)
    if args.json:
        json.dump(json_document(outcome), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    return 0


def _usage(message: str) -> int:
    build_parser().print_usage(sys.stderr)
    print(f"attendbot: {message}", file=sys.stderr)
    return 2


def _backfill(settings: config.Settings, args: argparse.Namespace) -> int:
    """``run --from D1 --to D2``: every business day of the range, oldest first, on one ledger.

    Days before today are reconciled without posting (their Slack messages are recorded as a
    dry run: a back-fill must not page facilitators about last month), their workbooks written
    beside the reconciling on the other cores (:func:`attendbot.run.run_days`); today, when in
    the range, is a normal run. A progress bar in a terminal, one line a day otherwise.
    """
    from attendbot.calendar import business_days_between
    from attendbot.outputs.report import human_summary, json_document
    from attendbot.run import run_day, run_days

    if args.from_day > args.to_day:
        return _usage(f"--from {args.from_day} is after --to {args.to_day}")
    program = settings.program
    days = business_days_between(args.from_day, args.to_day, program.business_days, program.closed_days,
                                 program.holidays)
    today = dt.datetime.now(program.tz).date()
    past = [day for day in days if args.dry_run or day < today]  # days are sorted: these come first
    outcomes = itertools.chain(run_days(settings, past), (run_day(settings, day) for day in days[len(past):]))
    documents = []
    for outcome in _progress(outcomes, len(days), f"back-fill {args.from_day} to {args.to_day}"):
        documents.append(json_document(outcome))
        if not args.json:
            log.info("%s", human_summary(outcome))
    print(f"attendbot: back-fill reconciled {len(days)} business day{'s' if len(days) != 1 else ''} "
          f"from {args.from_day} to {args.to_day}", file=sys.stderr)
    if args.json:
        json.dump({"from": args.from_day.isoformat(), "to": args.to_day.isoformat(), "days": documents},
                  sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    return 0


def _progress(outcomes: Iterable, total: int, what: str):
    """A tqdm progress bar on a terminal; plain lines (one a day) in a log or a pipe."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        yield from tqdm(outcomes, total=total, desc=what, unit="day", file=sys.stderr)
        return
    for n, outcome in enumerate(outcomes, start=1):
        print(f"attendbot: {what}: {n}/{total} {outcome.day}", file=sys.stderr)
        yield outcome


def cmd_serve(args: argparse.Namespace) -> int:
    from attendbot.worker import serve

    return serve(config.load(args.config))


def cmd_check(args: argparse.Namespace) -> int:
    from attendbot.check import check

    settings = config.load(args.config)
    print(check(settings))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from attendbot.demo import run_demo

    return run_demo(Path(args.dir), out=sys.stdout)


def cmd_purge(args: argparse.Namespace) -> int:
    from attendbot import purge

    settings = config.load(args.config)
    today = purge.today(settings)
    before = purge.cutoff(settings, args.before, today)
    if before is None:
        print("attendbot: retention is off: give --before DATE or set [retention] keep_days", file=sys.stderr)
        return 2
    if before > today:
        print(f"attendbot: --before {before} is after today ({today}): purge deletes only days that are over",
              file=sys.stderr)
        return 2
    print(purge.purge(settings, before, dry_run=args.dry_run).summary())
    return 0


def cmd_rosters(args: argparse.Namespace) -> int:
    from attendbot.rosters import print_rosters

    settings = config.load(args.config)
    out = Path(args.out) if args.out else settings.audit_dir / f"{args.date.isoformat()}-rosters.pdf"
    printed = print_rosters(settings, args.date, out)
    if printed is None:
        print(f"attendbot: no charge export in {settings.inbox} has charges on {args.date}: nothing to print",
              file=sys.stderr)
        return 1
    n = len(printed.rosters)
    done = "wrote" if printed.written else "unchanged:"
    print(f"{done} {n} roster{'s' if n != 1 else ''} for {args.date} from {printed.source} to {out}")
    for roster in printed.rosters:
        print(f"  {roster.group}: {len(roster.names)} scheduled")
    return 0


COMMANDS = {"run": cmd_run, "serve": cmd_serve, "check": cmd_check, "demo": cmd_demo, "purge": cmd_purge,
            "rosters": cmd_rosters}
