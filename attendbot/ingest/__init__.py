"""Ingest: the inbox's new files, read safely, into the ledger.

The inbox lists candidates (:mod:`attendbot.ingest.inbox`), the sandbox identifies
and reads each within its time and memory budget, several files at once, one forked
process each (:mod:`attendbot.ingest.sandbox`), and what was read is recorded in the
ledger in the inbox's order. A file that cannot be read is recorded first and then
quarantined, so a kill in between loses nothing. One bad file never stops the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from attendbot.config import Settings
from attendbot.ingest import inbox, sandbox
from attendbot.ledger import Ledger
from attendbot.errors import UnreadableFileError
from attendbot.model import FileReport, FileStatus, ReadResult
from attendbot.readers import Reader, all_readers, limits
from attendbot.readers.source import SourceFile
from attendbot.secrets import clean, one_line

log = logging.getLogger("attendbot")


def shown_path(path: Path, base: Path | None = None) -> str:
    """A path as people see it: relative to the working folder when it is inside it, on one line
    (a control character in a file name is shown as ``?``: it never forges a line of a report)."""
    return shown_paths([path], base)[0]


def shown_paths(paths: Iterable[Path], base: Path | None = None) -> list[str]:
    """:func:`shown_path` of each path, each folder resolved once (an inbox holds many files a folder)."""
    base = (base or Path.cwd()).resolve()
    folders: dict[Path, Path] = {}
    shown = []
    for path in paths:
        if path.parent not in folders:
            folders[path.parent] = path.parent.resolve()
        try:  # the folder resolved, the name as it is: a link is shown where it is, not where it points
            shown.append(one_line(str((folders[path.parent] / path.name).relative_to(base)), "?"))
        except ValueError:
            shown.append(one_line(str(path), "?"))
    return shown


class Ingest:
    """Reads new inbox files into the ledger, each in its own trap, several at once.

    The run's process looks at every file in the inbox's order (its size, its hash, whether
    the ledger has it already) and hands those to be read to a :class:`~attendbot.ingest.sandbox.Pool`
    of ``workers`` forked readers (default: one per core); what each gave is recorded, or the
    file quarantined, in the inbox's order again. So the reports and the ledger are the same
    whatever the number of workers.
    """

    def __init__(self, settings: Settings, ledger: Ledger, run_id: int, day: dt.date,
                 readers: tuple[Reader, ...] | None = None, workers: int | None = None):
        self.settings, self.ledger, self.run_id, self.day = settings, ledger, run_id, day
        self.readers = readers or all_readers(settings.columns)
        self.workers = workers

    def all(self) -> tuple[list[FileReport], int]:
        """Every inbox file's report, and how many files were left for the next run because
        they were still changing after waiting ``settle_seconds`` for them."""
        entries = list(inbox.scan(self.settings.inbox))
        # Entries that are not regular files — links (to files or folders), pipes, devices, folders
        # that cannot be read — are each ``ignored`` with its reason; never opened, followed, moved
        # or deleted, and not recorded (the next run looks at them again).
        reports = [FileReport(shown, "unknown", FileStatus.IGNORED, e.reason)
                   for e, shown in zip(entries, shown_paths(e.path for e in entries)) if e.reason is not None]
        paths = [e.path for e in entries if e.reason is None]
        wait = self.settings.main.paths.settle_seconds
        changing = inbox.wait_until_settled(paths, wait)
        with sandbox.Pool(self.readers, self.workers) as pool:
            reading: set[str] = set()
            steps = [_done(_later(shown, f"still being written after waiting {wait:g} s; left for the next run"))
                     if path in changing else self.start(path, shown, pool, reading)
                     for path, shown in zip(paths, shown_paths(paths))]
            reports.extend(step() for step in steps)  # recorded in the inbox's order
        return reports, len(changing)

    def one(self, path: Path, shown: str) -> FileReport:
        """Read one inbox file into the ledger, or say why not."""
        with sandbox.Pool(self.readers, 1) as pool:
            return self.start(path, shown, pool, set())()

    def start(self, path: Path, shown: str, pool: sandbox.Pool, reading: set[str]) -> Callable[[], FileReport]:
        """Look at one inbox file and, if it is to be read, hand it to ``pool``; return what
        finishes it (records it, or quarantines it) and gives its report, to be called in the
        inbox's order. Its size is taken from ``lstat`` before any byte is read or hashed: a file
        over the budget is quarantined unread. ``reading`` holds the hashes handed over so far: a
        second copy of the same bytes waits for the first to be recorded, then is looked at again."""
        name = path.relative_to(self.settings.inbox).as_posix()
        try:
            st = path.lstat()
        except OSError as exc:
            return _done(_unopened(shown, exc))
        if not stat.S_ISREG(st.st_mode):  # swapped for a link or a pipe since the inbox was listed
            return _done(FileReport(shown, "unknown", "ignored", inbox.LINK if stat.S_ISLNK(st.st_mode)
                                    else "not a regular file: it is never opened"))
        too_big = limits.too_big(st.st_size)
        if too_big:
            return lambda: self._quarantine(path, name, shown, _unhashed_key(name, st), "unknown", too_big)
        src = SourceFile(path, shown)
        try:
            sha256 = src.sha256
            known = self.ledger.file(sha256)
            if known and known["status"] == "read":
                return _done(self._known(known, name, shown))
            if sha256 in reading:
                return lambda: self.start(path, shown, pool, set())()
            reading.add(sha256)
            # An ignored file is identified again on every run (cheap): a new [columns.*]
            # mapping, or a reader that now knows its layout, takes effect at once.
            job = pool.submit(path, shown)
            return lambda: self._read(path, name, shown, sha256, known, pool, job)
        except UnreadableFileError as exc:  # grew past the size budget while it was hashed
            reason = exc.reason
            return lambda: self._quarantine(path, name, shown, _unhashed_key(name, st), "unknown", reason)
        except OSError as exc:
            return _done(_unopened(shown, exc))
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

    def _read(self, path: Path, name: str, shown: str, sha256: str, known: dict | None, pool: sandbox.Pool,
              job: sandbox.Reading) -> FileReport:
        """The file as read within its time and memory budget (:mod:`attendbot.ingest.sandbox`: a
        separate process the run kills when it overruns), recorded or quarantined."""
        try:
            outcome = pool.outcome(job)
        except OSError as exc:  # no process could be started to read it
            return _unopened(shown, exc)
        if outcome.status == "retry" or (outcome.sha256 and outcome.sha256 != sha256):
            return _later(shown, outcome.reason if outcome.status == "retry"
                          else "changed while it was being read (still being written?); left for the next run")
        if outcome.status == "ignored":
            report = FileReport(shown, "unknown", "ignored", outcome.reason, sha256)
            if not (known and known["status"] == "ignored" and known["detail"] == report.detail):
                self.ledger.record_file(report, name, self.run_id)  # an unchanged verdict is not rewritten
            return report
        if outcome.status != "read":
            return self._quarantine(path, name, shown, sha256, outcome.kind, outcome.reason)
        result = outcome.result
        if result.empty:
            return self._quarantine(path, name, shown, sha256, outcome.kind, _nothing_read(outcome.kind, result))
        report = FileReport(shown, outcome.kind, "read", _read_detail(result), sha256,
                            tuple(sorted(d.isoformat() for d in result.days)))
        try:  # whatever the reader returned is stored inside this file's trap
            self.ledger.record_file(report, name, self.run_id, outcome.reader, result)
        except UnreadableFileError as exc:
            return self._quarantine(path, name, shown, sha256, outcome.kind, exc.reason)
        return report

    def _quarantine(self, path: Path, name: str, shown: str, sha256: str, kind: str, reason: str) -> FileReport:
        """Record the file unreadable, then move it to ``quarantine/<day>/`` beside a note. A quarantine
        folder that is a link (or cannot be written) leaves the file where it is, said so."""
        reason = clean(reason)
        try:
            slot = inbox.reserve(path, self.settings.inbox, self.day, reason, sha256)
        except OSError as exc:
            where = shown_path(Path(exc.filename)) if exc.filename else "the quarantine folder"
            report = FileReport(shown, kind, "unreadable",
                                f"{reason}; it was left in the inbox because {where} "
                                f"{exc.strerror or exc}", sha256)
            log.warning("%s could not be read (%s) and was not moved: %s %s", shown, reason, where, exc.strerror)
            return report
        report = FileReport(shown, kind, "unreadable", reason, sha256, quarantined_to=shown_path(slot.target))
        try:
            # Recorded first, moved second: killed in between, the file is still in the inbox and
            # is simply quarantined again by the next run; never moved without a record.
            self.ledger.record_file(report, name, self.run_id)
            slot.move(path)
        finally:
            slot.close()
        log.warning("%s could not be read (%s); moved to %s", shown, reason, report.quarantined_to)
        return report


def _done(report: FileReport) -> Callable[[], FileReport]:
    return lambda: report


def _later(shown: str, reason: str) -> FileReport:
    """A file left for the next run to try again (nothing is recorded of it)."""
    return FileReport(shown, "unknown", FileStatus.IGNORED, reason, retry=True)


def _unopened(shown: str, exc: OSError) -> FileReport:
    return _later(shown, f"could not be opened ({exc.strerror or exc}); will retry")


def _unhashed_key(name: str, st: os.stat_result) -> str:
    """The ledger key of a file refused from its ``stat()`` alone (never hashed): its name, size,
    time and inode, so the same refused file is one row."""
    ident = f"unhashed\0{name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
    return hashlib.sha256(ident.encode("utf-8", "surrogateescape")).hexdigest()


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
