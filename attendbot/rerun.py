"""Re-runs that do no work twice.

``run`` is idempotent (SPEC): run again on the same files, a day gives the same result. So when
nothing a run depends on has changed, the run keeps what it did and a re-run re-emits it:

* **The key** of a run is what its outcome is made from: attendbot's own code (version and
  files), both configuration files as validated, the paths (and the working folder, which
  the files are shown relative to) and flags, whether Slack is
  connected, the day, the inbox as the filesystem lists it (each entry's name, size, times,
  inode and mode: nothing is opened or hashed) and the newest answer given in Slack.
* **Reused** only when the key is the same as the day's last run's, *and* no file has been
  recorded and no other run of this day or an earlier one has happened since (a later
  day never changes an earlier one), nothing waits in the day's Slack outbox, the audit
  workbook is still there, no inbox file changed in the last ``settle_seconds`` (at least
  :data:`QUIET_SECONDS`), and the clock has not reached ``valid_until``: the next moment at
  which the same inputs would tell Slack something else (a session of today ending, close
  of business for a live run, midnight for a day in the future).
* A reused run is recorded as a run of its own (``runs.reused_run`` names the one it reused)
  and reports no new gap events and no new Slack messages: what an idempotent re-run does.

When anything differs, the run is done in full; files already read are still never read again
(the ledger knows them by SHA-256), and the audit workbook is rewritten only when what it shows
changed (:func:`digest`), so a billing lead's open copy is not replaced for nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import time
from functools import cache
from pathlib import Path
from typing import Any

import pydantic_core
from pydantic import TypeAdapter, ValidationError

import attendbot
from attendbot.config import Settings
from attendbot.ledger import Ledger
from attendbot.model import DayOutcome

log = logging.getLogger("attendbot")

#: The outcomes this process kept, by ledger and day: a long-running process (``serve``, answers in
#: Slack) re-emits them without reading them back from the ledger.
_recent: dict[tuple[Path, dt.date], DayOutcome] = {}
RECENT = 8  # the worker re-runs today and the previous business day
QUIET_SECONDS = 2.0  # a file changed more recently than this may still be changing (coarse clocks)
_SENT = ("sent", "dry_run")


def digest(*values: Any) -> str:
    """A stable SHA-256 of plain values and dataclasses (the same values give the same digest in any process)."""
    return hashlib.sha256(pydantic_core.to_json(values, fallback=str)).hexdigest()


@cache
def _code_version() -> str:
    """attendbot's version and its package files (name, size, time): a changed install is new code."""
    package = Path(attendbot.__file__).parent
    files = sorted((p.relative_to(package).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return digest(attendbot.__version__, files)


def key(settings: Settings, ledger: Ledger, day: dt.date, inbox_lines: list[tuple], *,
        dry_run: bool, alerts: bool) -> str:
    """What a run of ``day`` is made from (the Slack token itself is never part of it, only whether there is one)."""
    return digest(_code_version(), settings.main.model_dump(mode="json"), settings.payers.file.model_dump(mode="json"),
                  [str(p) for p in (settings.config_path, settings.inbox, settings.db, settings.audit_dir,
                                    Path.cwd())],  # files are shown relative to the working folder
                  bool(settings.slack_token), day.isoformat(), dry_run, alerts, inbox_lines,
                  ledger.newest_response())


def valid_until(settings: Settings, outcome: DayOutcome, now: dt.datetime, *, live: bool) -> dt.datetime | None:
    """The first moment after ``now`` at which the same inputs would give other Slack messages: a
    session of the day that has not ended yet ends, close of business comes (live runs), or the
    day itself begins. None: nothing the clock does changes this day's outcome any more."""
    day, tz = outcome.day, now.tzinfo
    if day > now.date():
        return dt.datetime.combine(day, dt.time(), tz)
    if day < now.date():
        return None
    moments = [dt.datetime.combine(day, s.end, tz) for s in outcome.result.sessions if s.end is not None]
    if live:
        moments.append(dt.datetime.combine(day, dt.time.fromisoformat(settings.program.close_of_business), tz))
    moments.append(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz))
    return min(m for m in moments if m > now)


def keep(settings: Settings, ledger: Ledger, outcome: DayOutcome, run_key: str, now: dt.datetime, *,
         live: bool) -> None:
    """Remember ``outcome`` as the day's re-usable result under ``run_key`` (the key after the run)."""
    until = valid_until(settings, outcome, now, live=live)
    _recent.pop((settings.db, outcome.day), None)
    _recent[(settings.db, outcome.day)] = outcome
    while len(_recent) > RECENT:
        del _recent[next(iter(_recent))]
    ledger.keep_outcome(outcome.day, run_key, outcome.run_id, until.isoformat() if until else None,
                        pydantic_core.to_json(outcome, fallback=str).decode())


@cache
def _outcome_type() -> TypeAdapter:
    return TypeAdapter(DayOutcome)


def kept(settings: Settings, ledger: Ledger, day: dt.date, run_key: str, newest_change: float,
         now: dt.datetime) -> DayOutcome | None:
    """The day's kept outcome when a re-run would do exactly what it did (see the module's text); else None."""
    row = ledger.kept_outcome(day)
    if row is None or row["key"] != run_key:
        return None
    if row["valid_until"] and now >= dt.datetime.fromisoformat(row["valid_until"]):
        return None
    if time.time() - newest_change < max(settings.main.paths.settle_seconds, QUIET_SECONDS):
        return None
    if ledger.changed_since(row["run_id"], day):
        return None
    if any(r["status"] not in _SENT for r in ledger.outbox(day).values()):
        return None
    outcome = _recent.get((settings.db, day))
    if outcome is None or outcome.run_id != row["run_id"]:
        try:
            outcome = _outcome_type().validate_json(row["outcome"])
        except ValidationError:  # kept by another version of attendbot: do the run
            return None
    return outcome if outcome.workbook.is_file() else None


def again(outcome: DayOutcome, run_id: int) -> DayOutcome:
    """The kept outcome as this run's: nothing new happened to the gaps or in Slack."""
    slack = outcome.slack
    return dataclasses.replace(
        outcome, run_id=run_id, reused_run=outcome.run_id, gap_events={event: 0 for event in outcome.gap_events},
        slack=dataclasses.replace(slack, posted=0, updated=0, unchanged=slack.posted + slack.updated + slack.unchanged))
