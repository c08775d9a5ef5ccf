"""One run of one day, straight through: ingest → reconcile → record → outputs.

:func:`run_day` calls each step in order under the program's lock and returns an
immutable :class:`~attendbot.model.DayOutcome`; the command layer prints it. New
inbox files are read once and everything they hold is stored in the ledger; the
day's records are then taken from the ledger (so a week's export dropped on
Monday serves Tuesday), reconciled, and the results written: ledger and workbook
together, then Slack through the ledger's outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict

from attendbot.codes import GapCode
from attendbot.config import Settings
from attendbot.errors import AttendbotError, ConfigError
from attendbot import rerun
from attendbot.ingest import Ingest, inbox
from attendbot.ledger import Ledger, exclusive
from attendbot.model import DayOutcome, DayResult, DayStatus, Evidence, FileReport, FileStatus
from attendbot.reconcile import reconcile
from attendbot.reconcile.across_days import History, authorization_status

log = logging.getLogger("attendbot")

LOCK_WAIT_SECONDS = 30
TREND_DAYS = 30  # business days on the workbook's Trends sheet
NO_SHOW_LOOKBACK_DAYS = 366  # the longest repeat_no_show.days the config allows


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
    if not settings.inbox.is_dir():
        raise ConfigError(str(settings.config_path), "paths.inbox",
                          f"the inbox folder {settings.inbox} does not exist (a typo, or the share is not mounted?)")
    settings.db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    busy = "another attendbot run is reconciling this program; try again when it has finished"
    with exclusive(settings.db, LOCK_WAIT_SECONDS, busy):
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
            after = inbox.listing(settings.inbox)[0]
            if set(after) <= set(listed) and not any(f.retry for f in outcome.files):
                # kept under the inbox as the run left it (quarantined files gone), unless a file
                # came or changed meanwhile, or one was left to try again
                rerun.keep(settings, ledger, outcome, rerun.key(settings, ledger, day, after, dry_run=dry_run,
                                                                alerts=alerts), now, live=live)
            return outcome
        finally:
            ledger.close()


def _run(settings: Settings, ledger: Ledger, run_id: int, day: dt.date, now: dt.datetime, *,
         dry_run: bool, alerts: bool) -> DayOutcome:
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
        shows = rerun.digest(result, files, settings.program.name, status, settings.carc, trends, authorizations,
                             responses)
        if shows != ledger.workbook_digest(day) or not path.is_file():  # else it already shows all of this
            try:
                write_workbook(result, list(files), path, program=settings.program.name, status=status,
                               carc=settings.carc, trends=trends, authorizations=authorizations, responses=responses)
            except OSError as exc:
                raise AttendbotError(f"the audit workbook could not be written in {settings.audit_dir}: "
                                     f"{exc.strerror or exc}") from exc
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
