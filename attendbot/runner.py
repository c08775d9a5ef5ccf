"""What the commands do, above the pipeline: Slack delivery, printing, ``check``."""

from __future__ import annotations

import datetime as dt
from typing import TextIO

from attendbot import budget, inbox
from attendbot.config import Settings
from attendbot.outputs.ledger import Ledger
from attendbot.outputs.report import human_summary
from attendbot.outputs.slack_client import DeliveryReport, Outbox
from attendbot.outputs.slack_messages import build_messages
from attendbot.pipeline import RunOutcome, run_day, shown_path
from attendbot.readers import all_readers

PACE_SECONDS = 1.0  # Slack asks for about one message a second per channel


def run_once(settings: Settings, day: dt.date, *, dry_run: bool, out: TextIO,
             now: dt.datetime | None = None, alerts: bool = True) -> RunOutcome:
    """Reconcile ``day``, deliver its Slack messages (or print them), and print a summary.

    Args:
        now: the time of the run in the program's zone (default: the clock); sessions of
            ``day`` that have not ended by then are not alerted on yet.
        alerts: False reconciles and records everything but posts nothing (a catch-up
            run after close of business); the messages wait in the outbox for the next run.
    """
    now = now or dt.datetime.now(settings.program.tz)
    live = not dry_run and bool(settings.slack_token)
    if not dry_run and not live:
        print("attendbot: no SLACK_BOT_TOKEN in the environment — running as --dry-run: "
              "Slack messages are printed, not sent", file=out)

    def deliver(outcome: RunOutcome, ledger: Ledger) -> None:
        outcome.slack_mode = "live" if live else "dry-run"
        report = _deliver(settings, ledger, outcome, now, live=live, alerts=alerts)
        outcome.slack_report = report
        if not live:
            for message in outcome.slack_messages:
                print(f"--- Slack (dry run) to {message.channel or '(no channel configured)'} ---\n"
                      f"{message.text}\n", file=out)

    outcome = run_day(settings, day, dry_run=not live, deliver=deliver)
    print(human_summary(outcome), file=out)
    return outcome


def _deliver(settings: Settings, ledger: Ledger, outcome: RunOutcome, now: dt.datetime, *,
             live: bool, alerts: bool) -> DeliveryReport:
    """Build the day's messages and send them through the outbox: sessions first, then the
    billing summary, which reports any delivery problem the session alerts met."""
    result, day = outcome.result, outcome.day
    iso = day.isoformat()
    today = now.date()
    not_ended = {s.label for s in result.sessions
                 if day > today or (day == today and s.end is not None and s.end > now.time().replace(tzinfo=None))}
    alerted = {row["session"] for row in ledger.outbox(day).values() if row["kind"] == "session" and row["ts"]}
    resolved: dict[str, list[str]] = {}
    for row in ledger.gap_rows(day, "resolved"):
        if row["owner"] == "facilitator" and row["session"] in alerted:
            resolved.setdefault(row["session"], []).append(row["message"])
    close = dt.time.fromisoformat(settings.program.close_of_business)
    before_close = now.time().replace(tzinfo=None) < close if (live and alerts and day == today) else None

    def build(notes=()):
        return build_messages(result, outcome.files, settings.slack, program=settings.program.name,
                              sent_before_close=before_close, resolved=resolved, not_ended=not_ended, notes=notes)

    messages = build()
    outbox = Outbox(ledger, settings.slack_token if live else None, api_url=settings.slack.api_url,
                    program=settings.program.name, run_id=outcome.run_id, pace_seconds=PACE_SECONDS)
    post = live and alerts
    hold = "queued" if live else "dry_run"
    report = outbox.send([m for m in messages if m.kind != "billing"], iso, post=post, status_if_not_posted=hold)
    if report.problems:
        messages = build(report.problems)
    outbox.send([m for m in messages if m.kind == "billing"], iso, post=post, status_if_not_posted=hold,
                report=report)
    if post:
        outbox.resend_waiting({iso}, report)
    outcome.slack_messages = messages
    return report


def check(settings: Settings) -> str:
    """The configuration is valid (or ConfigError was raised) — list what the inbox holds, changing nothing."""
    lines = [f"configuration OK: {shown_path(settings.config_path)} and payers.toml "
             f"({len(settings.payers.sections)} payer sections, "
             f"{len(settings.payers.default.codes)} default code rules)",
             f"inbox: {shown_path(settings.inbox)}" + ("" if settings.inbox.is_dir() else " (does not exist yet)")]
    readers = all_readers(settings.columns)
    for path in inbox.candidates(settings.inbox):
        shown = shown_path(path)
        outcome = budget.read_file(path, shown, readers)  # the run's own reading, under the same budgets
        what = {"read": outcome.kind, "ignored": f"ignored: {outcome.reason}",
                "unreadable": f"unreadable: {outcome.reason} (a run would quarantine it)",
                }.get(outcome.status, f"not read now: {outcome.reason}")
        lines.append(f"  {shown}: {what}")
    if len(lines) == 2:
        lines.append("  (no files)")
    return "\n".join(lines)
