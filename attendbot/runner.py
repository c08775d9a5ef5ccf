"""What the commands do, above the pipeline: Slack delivery mode, printing, ``check``."""

from __future__ import annotations

import datetime as dt
from typing import TextIO

from attendbot import inbox
from attendbot.config import Settings
from attendbot.errors import UnreadableFile
from attendbot.outputs.report import human_summary
from attendbot.outputs.slack_messages import build_messages
from attendbot.pipeline import RunOutcome, run_day, shown_path
from attendbot.readers import Ambiguous, all_readers, identify, why_ignored
from attendbot.readers.source import SourceFile


def run_once(settings: Settings, day: dt.date, *, dry_run: bool, out: TextIO,
             now: dt.datetime | None = None, alerts: bool = True) -> RunOutcome:
    """Reconcile ``day``, deliver its Slack messages (or print them), and print a summary.

    Args:
        now: the time of the run in the program's zone (default: the clock); sessions of
            ``day`` that have not ended by then are not alerted on yet.
        alerts: False reconciles and records everything but posts nothing (a catch-up
            run after close of business); the messages wait for the next run.
    """
    if not dry_run and not settings.slack_token:
        print("attendbot: no SLACK_BOT_TOKEN in the environment — running as --dry-run: "
              "Slack messages are printed, not sent", file=out)
        dry_run = True

    def deliver(outcome: RunOutcome) -> None:
        messages = build_messages(outcome.result, outcome.files, settings.slack, program=settings.program.name)
        outcome.slack_messages = messages
        outcome.slack_mode = "dry-run"
        for message in messages:
            print(f"--- Slack (dry run) to {message.channel or '(no channel configured)'} ---\n{message.text}\n",
                  file=out)

    outcome = run_day(settings, day, dry_run=dry_run, deliver=deliver)
    print(human_summary(outcome), file=out)
    return outcome


def check(settings: Settings) -> str:
    """The configuration is valid (or ConfigError was raised) — list what the inbox holds, changing nothing."""
    lines = [f"configuration OK: {shown_path(settings.config_path)} and payers.toml "
             f"({len(settings.payers.sections)} payer sections, "
             f"{len(settings.payers.default.codes)} default code rules)",
             f"inbox: {shown_path(settings.inbox)}" + ("" if settings.inbox.is_dir() else " (does not exist yet)")]
    readers = all_readers(settings.columns)
    for path in inbox.candidates(settings.inbox):
        src = SourceFile(path, shown_path(path))
        try:
            reader = identify(src, readers)
            what = f"{reader.kind}" if reader else f"ignored: {why_ignored(src)}"
        except UnreadableFile as exc:
            what = f"unreadable: {exc.reason} (a run would quarantine it)"
        except Ambiguous as exc:
            what = f"unreadable: ambiguous, {exc} (a run would quarantine it)"
        except Exception as exc:
            what = f"unreadable: unexpected {type(exc).__name__}: {str(exc)[:120]}"
        finally:
            src.close()
        lines.append(f"  {src.shown}: {what}")
    if len(lines) == 2:
        lines.append("  (no files)")
    return "\n".join(lines)
