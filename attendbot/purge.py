"""``attendbot purge``: delete records older than the program's retention period.

For programs whose policy says how long attendance records may be kept. Nothing
is deleted unless ``attendbot purge`` is run (by hand or from cron); the cut-off
is ``--before DATE``, or else today in the program's time zone minus
``[retention] keep_days`` from ``attendbot.toml`` (default 0: retention is off,
and purge without ``--before`` refuses to run).

For service days strictly before the cut-off it deletes:

* ledger rows: charges, EHR attendance, sign-in sheets and their lines,
  dispositions, gaps and their open/resolved history, the no-show log, Slack
  messages, and runs (by the day they reconciled); input files, with their
  reader problems, none of whose days is on or after the cut-off and that were
  first seen by a run for a day before it;
* audit workbooks ``<audit_dir>/<YYYY-MM-DD>-attendance-audit.xlsx`` (and any
  leftover of an interrupted write of one);
* quarantine folders ``<inbox>/../quarantine/<YYYY-MM-DD>/`` (named by the day
  of the run that quarantined the files): the files and their ``.why.txt`` notes.

The inbox is never touched: an export still in it is read again by the next run,
which brings its old days back; the summary says how many such files there are.

The ledger rows go in one transaction, under the same lock as a run; the ledger
is then compacted (``VACUUM``, with ``secure_delete`` on and the write-ahead log
truncated) so deleted rows do not linger in free pages. ``--dry-run`` opens the
ledger read-only and deletes nothing. The summary holds counts only, never
patient data.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from attendbot.config import Settings
from attendbot.errors import AttendbotError
from attendbot.ledger import Ledger, exclusive

LOCK_WAIT_SECONDS = 30  # the run's lock: <db>.lock, as attendbot.run.run_day takes it

_WORKBOOK = re.compile(r"^(\.)?(\d{4}-\d{2}-\d{2})-attendance-audit\.xlsx(?(1)\..+\.tmp)$")
_DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class PurgeReport:
    """What was deleted (or, dry run, would be): counts only."""

    before: dt.date
    dry_run: bool
    ledger: bool = False  # a ledger file exists
    rows: dict[str, int] = field(default_factory=dict)
    workbooks: int = 0
    leftovers: int = 0  # temporary files of interrupted workbook writes
    quarantined_files: int = 0
    quarantine_folders: int = 0
    still_in_inbox: int = 0  # deleted input files the next run will read again

    def summary(self) -> str:
        verb = "would delete (dry run: nothing was changed)" if self.dry_run else "deleted"
        lines = [f"attendbot purge: service days before {self.before} — {verb}:"]
        total = sum(self.rows.values())
        if not self.ledger:
            lines.append("  ledger: no ledger file yet")
        else:
            detail = ", ".join(f"{table} {n}" for table, n in self.rows.items() if n)
            lines.append(f"  ledger rows: {total}" + (f" ({detail})" if detail else ""))
        lines.append(f"  audit workbooks: {self.workbooks}"
                     + (f" (and {self.leftovers} leftover temporary file{'s' * (self.leftovers != 1)})"
                        if self.leftovers else ""))
        lines.append(f"  quarantined files: {self.quarantined_files} "
                     f"(in {self.quarantine_folders} day folder{'s' * (self.quarantine_folders != 1)})")
        if self.still_in_inbox:
            n = self.still_in_inbox
            lines.append(f"note: {n} input file{'s' * (n != 1)} in the inbox hold{'s' * (n == 1)} only days before "
                         f"{self.before}; the next run reads {'them' if n != 1 else 'it'} again — move "
                         f"{'them' if n != 1 else 'it'} out of the inbox (purge never touches the inbox)")
        return "\n".join(lines)


def today(settings: Settings) -> dt.date:
    """Today in the program's time zone."""
    return dt.datetime.now(settings.program.tz).date()


def cutoff(settings: Settings, before: dt.date | None, on: dt.date) -> dt.date | None:
    """``before`` if given, else ``on`` minus ``[retention] keep_days``; None when retention is off."""
    if before is not None:
        return before
    keep = settings.main.retention.keep_days
    return on - dt.timedelta(days=keep) if keep else None


def purge(settings: Settings, before: dt.date, *, dry_run: bool = False) -> PurgeReport:
    """Delete (or count, with ``dry_run``) everything of service days strictly before ``before``.

    Raises:
        AttendbotError: a run holds the lock, or the ledger is damaged or not a ledger.
    """
    report = PurgeReport(before, dry_run, ledger=settings.db.exists())
    if dry_run:
        _purge_ledger(settings, report)
        _purge_files(settings, report)
        return report
    if not settings.db.parent.is_dir():  # no ledger has ever been written here: nothing to lock
        _purge_files(settings, report)
        return report
    with exclusive(settings.db, LOCK_WAIT_SECONDS,
                   "an attendbot run is using the ledger; try the purge again when it has finished"):
        _purge_ledger(settings, report)
        _purge_files(settings, report)
    return report


def _purge_ledger(settings: Settings, report: PurgeReport) -> None:
    if not report.ledger:
        return
    ledger = Ledger(settings.db, readonly=report.dry_run)
    try:
        report.rows, report.still_in_inbox = ledger.purge_before(report.before, settings.inbox,
                                                                 dry_run=report.dry_run)
    finally:
        ledger.close()


def _purge_files(settings: Settings, report: PurgeReport) -> None:
    """Audit workbooks and quarantine day folders before the cut-off. Never the inbox."""
    if settings.audit_dir.is_dir():
        for path in sorted(settings.audit_dir.iterdir()):
            match = _WORKBOOK.match(path.name)
            if not match or path.is_dir() or not _before(match.group(2), report.before):
                continue
            if match.group(1):
                report.leftovers += 1
            else:
                report.workbooks += 1
            if not report.dry_run:
                _delete(path.unlink, path)
    quarantine = settings.inbox.parent / "quarantine"  # where attendbot.ingest.inbox.reserve puts them
    if quarantine.is_dir() and not quarantine.is_symlink():  # a link is never followed: what it points to is not ours
        for folder in sorted(quarantine.iterdir()):
            if folder.is_symlink() or not folder.is_dir() or not _DAY_FOLDER.match(folder.name) \
                    or not _before(folder.name, report.before):
                continue
            report.quarantine_folders += 1
            report.quarantined_files += sum(1 for p in folder.rglob("*")
                                            if p.is_file() and not p.name.endswith(".why.txt"))
            if not report.dry_run:
                _delete(shutil.rmtree, folder)


def _delete(how, path: Path) -> None:
    try:
        how(path)
    except OSError as exc:
        raise AttendbotError(f"could not delete {path}: {exc.strerror or exc}; the ledger rows are already "
                             "gone — fix the permissions and run the purge again to finish") from exc


def _before(iso: str, cut: dt.date) -> bool:
    try:
        return dt.date.fromisoformat(iso) < cut
    except ValueError:
        return False
