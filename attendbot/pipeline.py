"""One run: inbox -> readers -> ledger -> reconcile -> ledger, workbook, Slack.

Data flows one way. New inbox files are read once and everything they hold is
stored in the ledger; the day's records are then taken from the ledger (so a
week's export dropped on Monday serves Tuesday), reconciled, and the results
written. One bad file never stops the run: it is quarantined and reported.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from attendbot import budget, inbox
from attendbot.codes import GapCode
from attendbot.config import Settings
from attendbot.errors import AttendbotError
from attendbot.model import DayResult, Evidence, FileReport, ReadResult
from attendbot.outputs.ledger import Ledger, exclusive
from attendbot.outputs.workbook import workbook_path, write_workbook
from attendbot.readers import Reader, all_readers
from attendbot.readers.source import SourceFile
from attendbot.reconcile import reconcile

log = logging.getLogger("attendbot")

LOCK_WAIT_SECONDS = 30


@dataclass
class RunOutcome:
    day: dt.date
    run_id: int
    result: DayResult
    files: list[FileReport]
    workbook: Path
    gap_events: dict[str, int]
    slack_mode: str = "dry-run"
    slack_messages: list = field(default_factory=list)
    slack_report: object = None  # a DeliveryReport once delivery ran


def shown_path(path: Path, base: Path | None = None) -> str:
    """A path as people see it: relative to the working folder when it is inside it."""
    base = base or Path.cwd()
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


class Ingest:
    """Reads new inbox files into the ledger, one file at a time, each in its own trap."""

    def __init__(self, settings: Settings, ledger: Ledger, run_id: int, day: dt.date,
                 readers: tuple[Reader, ...] | None = None):
        self.settings, self.ledger, self.run_id, self.day = settings, ledger, run_id, day
        self.readers = readers or all_readers(settings.columns)

    def all(self) -> list[FileReport]:
        now = time.time()
        reports = []
        for path in inbox.candidates(self.settings.inbox):
            shown = shown_path(path)
            if inbox.still_changing(path, self.settings.main.paths.settle_seconds, now):
                reports.append(FileReport(shown, "unknown", "ignored",
                                          "changed in the last few seconds (still being written?); "
                                          "left for the next run"))
                continue
            reports.append(self.one(path, shown))
        return reports

    def one(self, path: Path, shown: str) -> FileReport:
        src = SourceFile(path, shown)
        name = path.relative_to(self.settings.inbox).as_posix()
        try:
            known = self.ledger.file(src.sha256)
            if known and known["status"] in ("read", "ignored"):
                return self._known(known, name, shown)
            return self._read(src, path, name)
        except OSError as exc:
            return FileReport(shown, "unknown", "ignored", f"could not be opened ({exc.strerror}); will retry")
        finally:
            src.close()

    @staticmethod
    def _known(known: dict, name: str, shown: str) -> FileReport:
        """A file whose bytes the ledger has: the same file again, or a copy under another name."""
        days = tuple(json.loads(known["days"] or "[]"))
        if known["name"] == name:
            return FileReport(shown, known["kind"], known["status"], known["detail"], known["sha256"], days)
        return FileReport(shown, known["kind"], "duplicate",
                          f"same bytes as {known['path']}, already {known['status']}; adds nothing new",
                          known["sha256"], days)

    def _read(self, src: SourceFile, path: Path, name: str) -> FileReport:
        """Identify and read the file within its time and memory budget (:mod:`attendbot.budget`:
        a separate process the run kills when it overruns), then record or quarantine it."""
        outcome = budget.read_file(path, src.shown, self.readers)
        if outcome.status == "retry" or (outcome.sha256 and outcome.sha256 != src.sha256):
            return FileReport(src.shown, "unknown", "ignored",
                              outcome.reason if outcome.status == "retry"
                              else "changed while it was being read (still being written?); left for the next run")
        if outcome.status == "ignored":
            report = FileReport(src.shown, "unknown", "ignored", outcome.reason, src.sha256)
            self.ledger.record_file(report, name, self.run_id)
            return report
        if outcome.status != "read":
            return self._quarantine(src, path, name, outcome.kind, outcome.reason)
        result = outcome.result
        if not result.days:
            return self._quarantine(src, path, name, outcome.kind, _nothing_read(outcome.kind, result))
        report = FileReport(src.shown, outcome.kind, "read", _read_detail(result), src.sha256,
                            tuple(sorted(d.isoformat() for d in result.days)))
        self.ledger.record_file(report, name, self.run_id, outcome.reader, result)
        return report

    def _quarantine(self, src: SourceFile, path: Path, name: str, kind: str, reason: str) -> FileReport:
        src.close()
        target = inbox.quarantine_target(path, self.settings.inbox, self.day)
        report = FileReport(src.shown, kind, "unreadable", reason, src.sha256,
                            quarantined_to=shown_path(target))
        # Recorded first, moved second: killed in between, the file is still in the inbox and
        # is simply quarantined again by the next run; never moved without a record.
        self.ledger.record_file(report, name, self.run_id)
        inbox.quarantine(path, target, reason)
        log.warning("%s could not be read (%s); moved to %s", src.shown, reason, report.quarantined_to)
        return report


def _nothing_read(kind: str, result: ReadResult) -> str:
    if result.problems:
        return "; ".join(p.message for p in result.problems[:3])
    return f"identified as {kind} but holds no rows"


def _read_detail(result: ReadResult) -> str:
    counts = [(len(result.charges), "charge line"), (len(result.attendance), "attendance row"),
              (len(result.sheets), "sign-in sheet")]
    parts = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n]
    days = sorted(result.days)
    span = days[0].isoformat() if len(days) == 1 else f"{len(days)} days, {days[0]} to {days[-1]}"
    detail = f"{', '.join(parts)} ({span})"
    if result.problems:
        detail += f"; {len(result.problems)} not used: " + "; ".join(p.message for p in result.problems[:3])
        if len(result.problems) > 3:
            detail += "; …"
    return detail


def _file_gaps(ledger: Ledger, day: dt.date, used: set[str]) -> tuple[list[tuple[Evidence, str, str]], list]:
    """What the day's files could not give: quarantined files and unreadable pages, and other
    reader problems that are gaps of their own."""
    unreadable, problems = [], []
    for row in ledger.files_quarantined_on(day):
        unreadable.append((Evidence(row["path"]), row["detail"],
                           f"it was moved to {row['quarantined_to']}; fix or re-export it and drop it in the inbox again"))
    for problem in ledger.day_problems(used):
        if problem.gap == GapCode.UNREADABLE_FILE:
            unreadable.append((problem.evidence, problem.message,
                               "fix or re-scan that part and drop the file in the inbox again"))
        elif problem.gap:
            problems.append(problem)
    return unreadable, problems


def run_day(settings: Settings, day: dt.date, *, dry_run: bool = False,
            deliver: Callable[[RunOutcome, Ledger], None] | None = None) -> RunOutcome:
    """Reconcile one business day and write every output.

    Raises:
        AttendbotError: the run could not be completed (another run holds the lock,
            the ledger is damaged, the audit folder cannot be written).
    """
    settings.db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    busy = "another attendbot run is reconciling this program; try again when it has finished"
    with exclusive(settings.db, LOCK_WAIT_SECONDS, busy):
        ledger = Ledger(settings.db)
        try:
            run_id = ledger.start_run(day, dry_run)
            try:
                outcome = _run(settings, ledger, run_id, day)
                if deliver is not None:
                    deliver(outcome, ledger)
            except BaseException as exc:
                ledger.finish_run(run_id, "failed", {"error": str(exc)[:500]})
                raise
            ledger.finish_run(run_id, "ok", summarize(outcome))
            return outcome
        finally:
            ledger.close()


def _run(settings: Settings, ledger: Ledger, run_id: int, day: dt.date) -> RunOutcome:
    reports = Ingest(settings, ledger, run_id, day).all()
    charges, attendance, sheets, used = ledger.day_records(day)
    shown = {r.path for r in reports}
    for row in ledger.files_quarantined_on(day):
        if row["path"] not in shown:
            reports.append(FileReport(row["path"], row["kind"], "unreadable", row["detail"], row["sha256"],
                                      quarantined_to=row["quarantined_to"]))
    reports.sort(key=lambda r: r.path)  # the same inbox gives the same report, whatever was moved when
    for report in reports:
        report.used_for_day = report.sha256 in used and report.status == "read"
    unreadable, problems = _file_gaps(ledger, day, used)
    result = reconcile(day, charges, attendance, sheets, settings.payers, unreadable=unreadable, problems=problems)
    # The day's results and its workbook land together: if the workbook cannot be
    # written, the results are rolled back and the ledger keeps the previous state.
    with ledger.db.atomic():
        events = ledger.record_results(run_id, result)
        try:
            path = write_workbook(result, reports, workbook_path(settings.audit_dir, day),
                                  program=settings.program.name)
        except OSError as exc:
            raise AttendbotError(f"the audit workbook could not be written in {settings.audit_dir}: "
                                 f"{exc.strerror or exc}") from exc
    return RunOutcome(day, run_id, result, reports, path, events)


def summarize(outcome: RunOutcome) -> dict:
    counts: dict[str, int] = {}
    for cr in outcome.result.charges:
        counts[str(cr.disposition)] = counts.get(str(cr.disposition), 0) + 1
    return {"dispositions": counts, "gaps": len(outcome.result.gaps), "files": len(outcome.files),
            "gap_events": outcome.gap_events}
