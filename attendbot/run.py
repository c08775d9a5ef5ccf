"""One run of one day, straight through: ingest → reconcile → record → outputs.

:func:`run_day` calls each step in order under the program's lock and returns an
immutable :class:`~attendbot.model.DayOutcome`; the command layer prints it. New
inbox files are read once and everything they hold is stored in the ledger; the
day's records are then taken from the ledger (so a week's export dropped on
Monday serves Tuesday), reconciled, and the results written: ledger and workbook
together, then Slack through the ledger's outbox.

:func:`run_days` is a back-fill: past days one after another on one ledger, each
day's workbook written in a forked process while the next days are reconciled,
and the days' results committed in groups once their workbooks are written.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import logging
import multiprocessing
import signal
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from attendbot.codes import GapCode
from attendbot.config import Settings
from attendbot.errors import AttendbotError, ConfigError
from attendbot import rerun
from attendbot.ingest import Ingest, inbox, sandbox
from attendbot.ledger import Ledger, exclusive
from attendbot.model import DayOutcome, DayResult, DayStatus, Evidence, FileReport, FileStatus
from attendbot.reconcile import reconcile
from attendbot.reconcile.across_days import History, authorization_status

log = logging.getLogger("attendbot")

LOCK_WAIT_SECONDS = 30
TREND_DAYS = 30  # business days on the workbook's Trends sheet
NO_SHOW_LOOKBACK_DAYS = 366  # the longest repeat_no_show.days the config allows
BACKFILL_GROUP_DAYS = 20  # a back-fill commits this many days' results at once, their workbooks written


def run_day(settings: Settings, day: dt.date, *, now: dt.datetime | None = None, dry_run: bool = False,
            alerts: bool = True) -> DayOutcome:
    """Reconcile one day and write every output.

    Args:
        now: the time of the run in the program's zone (default: the clock); sessions of
            ``day`` that have not ended by then are not alerted on yet.
        dry_run: post nothing to Slack; the messages are built and recorded. Without a
            Slack token a run is always dry (``slack.reason`` says so).
        alerts: False reconciles and records everything but posts nothing (a catch-up
            run after close of business); the messages wait in the outbox for the next run.

    Raises:
        AttendbotError: the run could not be completed (another run holds the lock,
            the ledger is damaged, the audit folder cannot be written).
    """
    now = now or dt.datetime.now(settings.program.tz)
    with _locked(settings):
        ledger = Ledger(settings.db)
        try:
            live = not dry_run and bool(settings.slack_token)
            if live:
                from attendbot.outputs.slack_followup import collect_notes

                collect_notes(settings, ledger, day)  # replies in the alerts' threads since the last pass
            listed, newest_change = inbox.listing(settings.inbox)
            before = rerun.key(settings, ledger, day, listed, dry_run=dry_run, alerts=alerts)
            kept = rerun.kept(settings, ledger, day, before, newest_change, now)
            run_id = ledger.start_run(day, dry_run, reused_run=kept.run_id if kept else None)
            if kept:  # nothing it depends on changed: the last run's outcome, re-emitted
                outcome = rerun.again(kept, run_id)
                ledger.finish_run(run_id, "ok", summarize(outcome))
                return outcome
            try:
                outcome = _run(settings, ledger, run_id, day, now, dry_run=dry_run, alerts=alerts)
            except BaseException as exc:
                ledger.finish_run(run_id, "failed", {"error": str(exc)[:500]})
                raise
            ledger.finish_run(run_id, "ok", summarize(outcome))
            _keep(settings, ledger, [outcome], listed, now, dry_run=dry_run, alerts=alerts, live=live)
            return outcome
        finally:
            ledger.close()


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """The program's lock: never two reconciliations at once."""
    if not settings.inbox.is_dir():
        raise ConfigError(str(settings.config_path), "paths.inbox",
                          f"the inbox folder {settings.inbox} does not exist (a typo, or the share is not mounted?)")
    settings.db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    busy = "another attendbot run is reconciling this program; try again when it has finished"
    with exclusive(settings.db, LOCK_WAIT_SECONDS, busy):
        yield


def run_days(settings: Settings, days: Sequence[dt.date], *, workers: int | None = None) -> Iterator[DayOutcome]:
    """Reconcile ``days`` (oldest first) on one ledger, each as ``run_day(..., dry_run=True)``, and
    yield each day's outcome once its results and workbook have landed: a back-fill.

    A day's checks across days read the days before it, so the days are reconciled one after
    another; what runs beside them is the writing of each day's audit workbook, in a forked
    process, up to ``workers`` at once (default :func:`attendbot.ingest.sandbox.workers`; 1 is
    :func:`run_day` day after day). So that a day's results still never land without its
    workbook, the days go in groups of :data:`BACKFILL_GROUP_DAYS`: a group's results are
    committed only once every one of its workbooks has been written; if one cannot be, or a day
    fails, none of the group's results are kept (the ledger keeps the state before the group,
    as after a failed :func:`run_day`), that day's run is recorded as failed, and the error
    (AttendbotError, as from :func:`run_day`) names the day.
    """
    size = workers or sandbox.workers()
    if size <= 1:
        for day in days:
            yield run_day(settings, day, dry_run=True)
        return
    for start in range(0, len(days), BACKFILL_GROUP_DAYS):
        yield from _run_group(settings, days[start:start + BACKFILL_GROUP_DAYS], size)


def _run_group(settings: Settings, days: Sequence[dt.date], size: int) -> list[DayOutcome]:
    """One group of a back-fill: its days reconciled in one transaction, committed when every
    workbook is written."""
    with _locked(settings):
        ledger = Ledger(settings.db)
        workbooks = _Workbooks(settings, size)
        outcomes: list[DayOutcome] = []
        listed, now = inbox.listing(settings.inbox)[0], dt.datetime.now(settings.program.tz)
        try:
            with ledger.db.atomic():
                for day in days:
                    run_id = ledger.start_run(day, True)
                    outcome = _run(settings, ledger, run_id, day, now, dry_run=True, alerts=True,
                                   write=workbooks.write)
                    ledger.finish_run(run_id, "ok", summarize(outcome))
                    outcomes.append(outcome)
                workbooks.wait()  # raises for a workbook not written: the group is rolled back
            _keep(settings, ledger, outcomes, listed, now, dry_run=True, alerts=True, live=False)
            return outcomes
        except BaseException as exc:
            workbooks.close()
            failed = days[len(outcomes)] if len(outcomes) < len(days) else workbooks.failed_day or days[-1]
            if not ledger.broken:  # recorded after the rollback, as run_day records its failure
                with contextlib.suppress(AttendbotError):
                    ledger.finish_run(ledger.start_run(failed, True), "failed", {"error": str(exc)[:500]})
            raise
        finally:
            ledger.close()


class _Workbooks:
    """Audit workbooks written in forked processes, at most ``size`` at once, while the run goes on.

    :meth:`write` has :func:`write_workbook`'s signature and returns the path at once; the child
    writes it as :func:`write_workbook` always does (a temp file, then ``os.replace``). :meth:`wait`
    waits for every one and raises AttendbotError for the first that could not be written.
    Without fork, or when no process can be started, the workbook is written in-process.
    """

    def __init__(self, settings: Settings, size: int):
        self.audit_dir, self.size = settings.audit_dir, size
        self._writing: collections.deque = collections.deque()  # (day, process, pipe), oldest first
        self.failed_day: dt.date | None = None
        self._failure = ""

    def write(self, result: DayResult, files: list[FileReport], path: Path, **options) -> Path:
        from attendbot.outputs.workbook import write_workbook

        while len(self._writing) >= self.size:
            self._reap()
        try:
            ctx = multiprocessing.get_context("fork")
            receive, send = ctx.Pipe(duplex=False)
        except (ValueError, OSError):
            return write_workbook(result, files, path, **options)
        child = ctx.Process(target=_write_child, args=(send, result, files, path, options),
                            name=f"attendbot-workbook-{result.day}")
        try:
            sandbox.start_child(child)
        except OSError:
            receive.close()
            return write_workbook(result, files, path, **options)
        finally:
            send.close()
        self._writing.append((result.day, child, receive))
        return path

    def wait(self) -> None:
        self.close()
        if self.failed_day is not None:
            raise _unwritten(self.audit_dir, self._failure, self.failed_day)

    def close(self) -> None:
        while self._writing:
            self._reap()

    def _reap(self) -> None:
        day, child, receive = self._writing.popleft()
        try:
            problem = receive.recv()
        except (EOFError, OSError):
            problem = "the process writing it stopped before it had finished"
        child.join()
        receive.close()
        child.close()
        if problem is not None and self.failed_day is None:
            self.failed_day, self._failure = day, problem


def _write_child(conn, result: DayResult, files: list[FileReport], path: Path, options: dict) -> None:
    """In the forked child: write one workbook; send None, or why it could not be written."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a stopped run lets its workbooks finish (nothing half-written)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from attendbot.outputs.workbook import write_workbook

    try:
        write_workbook(result, files, path, **options)
        problem = None
    except OSError as exc:
        problem = str(exc.strerror or exc)
    except Exception as exc:  # a bug: said as the run would say it
        problem = f"unexpected {type(exc).__name__}: {str(exc)[:300]}"
    conn.send(problem)
    conn.close()


def _keep(settings: Settings, ledger: Ledger, outcomes: Sequence[DayOutcome], listed: list[tuple],
          now: dt.datetime, *, dry_run: bool, alerts: bool, live: bool) -> None:
    """Keep each outcome for a re-run (:mod:`attendbot.rerun`) under the inbox as the run left it
    (quarantined files gone) — unless a file came or changed meanwhile, or one was left to retry."""
    after = inbox.listing(settings.inbox)[0]
    if not set(after) <= set(listed):
        return
    for outcome in outcomes:
        if not any(f.retry for f in outcome.files):
            key = rerun.key(settings, ledger, outcome.day, after, dry_run=dry_run, alerts=alerts)
            rerun.keep(settings, ledger, outcome, key, now, live=live)


def _unwritten(audit_dir: Path, reason: str, day: dt.date | None = None) -> AttendbotError:
    which = f" for {day}" if day else ""
    return AttendbotError(f"the audit workbook{which} could not be written in {audit_dir}: {reason}")


def _run(settings: Settings, ledger: Ledger, run_id: int, day: dt.date, now: dt.datetime, *,
         dry_run: bool, alerts: bool, write: Callable[..., Path] | None = None) -> DayOutcome:
    # The outputs' libraries (openpyxl, slack-sdk) are imported only by a run that writes them.
    from attendbot.outputs.slack_answers import day_responses
    from attendbot.outputs.slack_delivery import deliver
    from attendbot.outputs.workbook import workbook_path, write_workbook

    files, left = Ingest(settings, ledger, run_id, day).all()
    charges, attendance, sheets, used = ledger.day_records(day)
    history, auth_files = history_for(settings, ledger, day, charges)
    shown = {r.path for r in files}
    for row in ledger.files_quarantined_on(day):
        if row["path"] not in shown:
            files.append(FileReport(row["path"], row["kind"], FileStatus.UNREADABLE, row["detail"], row["sha256"],
                                    quarantined_to=row["quarantined_to"]))
    files = tuple(sorted(  # the same inbox gives the same report, whatever was moved when
        (dataclasses.replace(f, used_for_day=f.sha256 in (used | auth_files) and f.status == FileStatus.READ)
         for f in files),
        key=lambda f: f.path))
    unreadable, problems = _file_gaps(ledger, day, used)
    result = reconcile(day, charges, attendance, sheets, settings.payers.policy_for, unreadable=unreadable,
                       problems=problems, history=history)
    authorizations = authorization_status(day, result.charges, history, settings.payers.policy_for)
    status = day_status(settings, day, result, left, ledger.replaced_charge_lines(day))
    responses = day_responses(settings, ledger, day)
    # The day's results and its workbook land together: if the workbook cannot be
    # written, the results are rolled back and the ledger keeps the previous state.
    with ledger.db.atomic():
        events = ledger.record_results(run_id, result)
        trends = ledger.trends(trend_days(settings, ledger, day))
        path = workbook_path(settings.audit_dir, day)
        options = dict(program=settings.program.name, status=status, carc=settings.carc, trends=trends,
                       authorizations=authorizations, responses=responses)
        shows = rerun.digest(result, files, options)
        if shows != ledger.workbook_digest(day) or not path.is_file():  # else it already shows all of this
            try:
                (write or write_workbook)(result, list(files), path, **options)
            except OSError as exc:
                raise _unwritten(settings.audit_dir, str(exc.strerror or exc)) from exc
            ledger.keep_workbook_digest(day, shows)
    slack = deliver(settings, ledger, run_id, result, files, now, dry_run=dry_run, alerts=alerts, status=status)
    return DayOutcome(day, run_id, result, files, path, events, slack, status, responses)


def day_status(settings: Settings, day: dt.date, result: DayResult, left: int,
               replaced: tuple[str, str, int, int] | None) -> DayStatus:
    """What the run saw and could not see (SPEC: never a false all-clear)."""
    closed = settings.program.calendar.why_closed(day)
    codes = {g.code for g in result.gaps}
    notes, state = [], "complete"
    if GapCode.NO_CHARGE_EXPORT in codes:
        state = "nothing_checked"
        notes.append(f"no charge export covers {day}: nothing was checked")
    if left:
        notes.append(f"{left} inbox file{'s were' if left != 1 else ' was'} still being written and "
                     f"{'are' if left != 1 else 'is'} left for the next run")
    if GapCode.NO_EHR_EXPORT in codes:
        notes.append(f"no EHR attendance export covers {day}: charges were judged on the sign-in sheets alone")
    if replaced is not None and replaced[2] > 2 * replaced[3]:
        newest, earlier, before, now = replaced
        notes.append(f"{newest} replaced {earlier} for this day and dropped {before - now} of its {before} charge "
                     "lines (the newest export wins; check it is the whole day)")
    if state == "complete" and (left or GapCode.NO_EHR_EXPORT in codes):
        state = "incomplete"
    if closed:
        notes.append(f"{closed}: not a business day, reconciled on request")
        state = "not_business_day" if state == "complete" else state
    return DayStatus(state=state, note="; ".join(notes), business_day=closed is None, calendar_note=closed or "")


def history_for(settings: Settings, ledger: Ledger, day: dt.date, charges) -> tuple[History, set[str]]:
    """What reconciling ``day`` needs to know of other days, read from the ledger: the
    authorizations on file, units billed under them, earlier no-shows, the week's attendance
    so far; and the files the authorizations came from."""
    auths, shas = ledger.authorizations()
    charged = {c.patient_id for c in charges if c.service_date == day}
    yesterday = day - dt.timedelta(days=1)
    billed: dict[str, list] = defaultdict(list)
    starts = [a.as_of if a.units_used is not None and a.as_of else a.start for rows in auths.values() for a in rows]
    if starts:
        for pid, code, when, units in ledger.units_billed(min(starts), yesterday):
            if pid in auths:
                billed[pid].append((code, when, units))
    no_shows = ledger.no_show_sessions(day - dt.timedelta(days=NO_SHOW_LOOKBACK_DAYS), yesterday)
    monday = day - dt.timedelta(days=day.weekday())
    program, patients = ledger.attendance_days(monday, yesterday)
    weekly = ledger.gap_days("WEEKLY_HOURS_LOW", monday, yesterday)
    history = History(
        is_business_day=settings.program.calendar.is_business_day,
        authorizations=auths, have_authorizations=bool(auths), billed=dict(billed),
        no_shows={pid: frozenset(v) for pid, v in no_shows.items() if pid in charged},
        program_minutes=program, patient_days={pid: v for pid, v in patients.items() if pid in charged},
        weekly_raised={pid: frozenset(v) for pid, v in weekly.items() if pid in charged})
    return history, shas


def trend_days(settings: Settings, ledger: Ledger, day: dt.date) -> list[dt.date]:
    """The last :data:`TREND_DAYS` business days the ledger has reconciled, up to ``day`` (always included)."""
    calendar = settings.program.calendar
    days = [d for d in ledger.reconciled_days(day) if calendar.is_business_day(d) and d != day]
    return days[-(TREND_DAYS - 1):] + [day]


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


def summarize(outcome: DayOutcome) -> dict:
    counts: dict[str, int] = {}
    for cr in outcome.result.charges:
        counts[str(cr.disposition)] = counts.get(str(cr.disposition), 0) + 1
    return {"dispositions": counts, "gaps": len(outcome.result.gaps), "files": len(outcome.files),
            "gap_events": outcome.gap_events, **({"reused_run": outcome.reused_run} if outcome.reused_run else {})}
