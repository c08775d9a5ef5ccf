"""Ingest: the inbox's new files, read safely, into the ledger.

One file at a time: the inbox lists candidates (:mod:`attendbot.ingest.inbox`), the
sandbox identifies and reads each within its time and memory budget
(:mod:`attendbot.ingest.sandbox`), and what was read is recorded in the ledger. A
file that cannot be read is recorded first and then quarantined, so a kill in
between loses nothing. One bad file never stops the run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from attendbot.config import Settings
from attendbot.ingest import inbox, sandbox
from attendbot.ledger import Ledger
from attendbot.model import FileReport, FileStatus, ReadResult
from attendbot.readers import Reader, all_readers
from attendbot.readers.source import SourceFile

log = logging.getLogger("attendbot")


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

    def all(self) -> tuple[list[FileReport], int]:
        """Every inbox file's report, and how many files were left for the next run because
        they were still changing after waiting ``settle_seconds`` for them."""
        paths = list(inbox.candidates(self.settings.inbox))
        changing = inbox.wait_until_settled(paths, self.settings.main.paths.settle_seconds)
        reports = []
        for path in paths:
            shown = shown_path(path)
            if path in changing:
                reports.append(FileReport(shown, "unknown", FileStatus.IGNORED,
                                          f"still being written after waiting {self.settings.main.paths.settle_seconds:g} s; "
                                          "left for the next run"))
                continue
            reports.append(self.one(path, shown))
        return reports, len(changing)

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
        """Identify and read the file within its time and memory budget (:mod:`attendbot.ingest.sandbox`:
        a separate process the run kills when it overruns), then record or quarantine it."""
        outcome = sandbox.read_file(path, src.shown, self.readers)
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
        if result.empty:
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
              (len(result.sheets), "sign-in sheet"), (len(result.authorizations), "authorization")]
    parts = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n]
    days = sorted(result.days)
    if days:
        span = days[0].isoformat() if len(days) == 1 else f"{len(days)} days, {days[0]} to {days[-1]}"
    else:
        patients = len({a.patient_id for a in result.authorizations})
        span = f"{patients} patient{'s' if patients != 1 else ''}"
    detail = f"{', '.join(parts)} ({span})"
    if result.problems:
        detail += f"; {len(result.problems)} not used: " + "; ".join(p.message for p in result.problems[:3])
        if len(result.problems) > 3:
            detail += "; …"
    return detail
