"""``attendbot serve``: the unattended afternoon worker.

A private :class:`schedule.Scheduler` calls :meth:`Worker.tick` every few seconds;
the tick decides, in our own code and against an injected clock, whether it is
time to reconcile. ``schedule`` is only the metronome: its ``.at(..., tz)`` would
need pytz, it never runs missed jobs and never catches a job's exception, so
catch-up, time zones, business days and failures are all handled here.

One business afternoon, in the program's time zone::

    run_at ............................ close_of_business ............ midnight
    |  previous business day, then today |                               |
    |  (alerts on; sessions not ended by |  a run still owed reconciles  |
    |  `now` are not alerted on yet)     |  with alerts=False: the       |
    |  follow-up: today again when the   |  messages wait for the next   |
    |  inbox changed, at most every      |  afternoon run                |
    |  follow_up_minutes                 |                               |

Never two reconciliations at once: the worker is single-threaded, and
:func:`attendbot.pipeline.run_day` holds an OS lock on ``<db>.lock`` that also
excludes a cron-started ``attendbot run``. A lock held elsewhere is just a failed
run: logged, and retried :data:`RETRY_AFTER` later.

With ``[rosters] folder`` set, each afternoon run of today (and each follow-up) is followed
by printing the next business day's rosters into that folder (:meth:`Worker._print_rosters`).

Logging goes to ``logging.getLogger("attendbot.worker")``: one INFO line per
decision, file counts but never inbox file names or patient data.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

import schedule

from attendbot.ingest import inbox
from attendbot.config import Settings
from attendbot.errors import AttendbotError
from attendbot.ledger import Ledger
from attendbot.listener import Listener, app_token
from attendbot.model import DayOutcome
from attendbot.outputs.report import console_text
from attendbot.outputs.slack_followup import escalate, escalation_due, report_close
from attendbot.rosters import print_rosters
from attendbot.run import run_day

log = logging.getLogger("attendbot.worker")

#: How often the scheduler calls :meth:`Worker.tick`, in seconds.
TICK_SECONDS = 30.0
#: After a failed run, the same day is not tried again before this much time has passed.
RETRY_AFTER = dt.timedelta(minutes=5)

Snapshot = frozenset[tuple[str, int, int]]  # (path, size, mtime_ns) of each settled inbox file


# --- business days: small pure functions ---------------------------------------------


def closed_reason(settings: Settings, day: dt.date) -> str | None:
    """Why the program does not work on ``day`` (``"Thanksgiving Day"``), or None on a business day.

    Closed are: weekdays missing from ``[program] business_days``, the days in
    ``closed_days``, and the public holidays of the ``holidays`` country code
    (``""``: none). :func:`attendbot.calendar.why_closed` decides; see
    :meth:`attendbot.calendar.Calendar.closed_reason`.
    """
    return settings.program.calendar.closed_reason(day)


def is_business_day(settings: Settings, day: dt.date) -> bool:
    """True when the program works on ``day`` (see :func:`closed_reason`)."""
    return closed_reason(settings, day) is None


def previous_business_day(settings: Settings, day: dt.date) -> dt.date:
    """The last business day strictly before ``day``.

    Raises:
        ValueError: no business day in the year before ``day`` (a configuration that closes everything).
    """
    return settings.program.calendar.previous_business_day(day)


def local_time(settings: Settings, day: dt.date, hhmm: str) -> dt.datetime:
    """``hhmm`` (``"15:30"``) on ``day`` as an aware datetime in the program's time zone."""
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=settings.program.tz)


def afternoon_run_started(settings: Settings, day: dt.date) -> dt.datetime | None:
    """When ``day``'s afternoon run started (an ``ok`` run at or after ``run_at`` local time,
    from the ledger, read-only), or None if it has not happened. A missing or unreadable
    ledger means "not run" (an extra run is harmless: runs are idempotent)."""
    run_at = local_time(settings, day, settings.program.run_at)
    try:
        started = Ledger.runs_started(settings.db, day)
    except AttendbotError as exc:
        log.warning("%s: assuming %s has not been reconciled", exc, day)
        return None
    started = [s for s in started if s.tzinfo is not None and s >= run_at]
    return max(started).astimezone(settings.program.tz) if started else None


def report_run(settings: Settings, day: dt.date, *, dry_run: bool, out: TextIO, now: dt.datetime | None = None,
               alerts: bool = True) -> DayOutcome:
    """Run ``day`` and print what it did to ``out``: the worker's default ``run``."""
    outcome = run_day(settings, day, now=now, dry_run=dry_run, alerts=alerts)
    print(console_text(outcome), file=out)
    return outcome


# --- the worker -----------------------------------------------------------------------


class Worker:
    """Decides, tick by tick, what to reconcile; runs it; survives every failure.

    Args:
        clock: returns the current time as an *aware* datetime (converted to the program's zone).
        run: :func:`report_run` or a stand-in with the same signature.
        out: where ``run`` prints its summaries (and dry-run Slack messages).

    State lives in memory: a restarted worker learns from the ledger only whether
    today's afternoon run has happened (:meth:`start`).
    """

    def __init__(self, settings: Settings, *,
                 clock: Callable[[], dt.datetime] | None = None,
                 run: Callable[..., object] = report_run, out: TextIO | None = None):
        self.settings = settings
        self.clock = clock or (lambda: dt.datetime.now(settings.program.tz))
        self.run = run
        self.out = out if out is not None else sys.stderr
        self._owed: set[dt.date] = set()  # days whose afternoon reconciliation has not succeeded yet
        self._afternoon_of: dt.date | None = None  # the last day whose afternoon run began
        self._retry_at: dict[dt.date, dt.datetime] = {}
        self._last_run: dt.datetime | None = None  # when today was last reconciled successfully
        self._seen: Snapshot = frozenset()  # the inbox as today's last successful run saw it
        self._today: dt.date | None = None
        self._said: set[str] = set()  # INFO lines said once a day
        self._closed_on: dt.date | None = None  # the last day whose close of business was reported

    # -- entry points --

    def start(self) -> list[dt.date]:
        """The catch-up check, once at start-up; returns the days reconciled.

        On a business day past ``run_at`` whose afternoon run is not in the ledger,
        run it now: with alerts before close of business, without after (logged).
        If the ledger has it, only follow-ups remain for today.
        """
        now = self._now()
        today = now.date()
        run_at = local_time(self.settings, today, self.settings.program.run_at)
        close = local_time(self.settings, today, self.settings.program.close_of_business)
        if not is_business_day(self.settings, today):
            return self.tick()  # says why there is no run today
        if now < run_at:
            log.info("started: %s's run is at %s %s", today, self.settings.program.run_at,
                     self.settings.program.timezone)
            return []
        started = afternoon_run_started(self.settings, today)
        if started is not None:
            log.info("started: %s's afternoon run already happened at %s; watching the inbox for follow-ups",
                     today, f"{started:%H:%M}")
            self._afternoon_of, self._last_run = today, started
            self._seen = frozenset(e for e in self._snapshot() if e[2] / 1e9 <= started.timestamp())
            return []
        if now < close:
            log.info("started after %s: catching up %s's missed afternoon run now", self.settings.program.run_at, today)
        else:
            log.info("started after close of business: reconciling %s's missed afternoon run without alerts", today)
        return self.tick()

    def tick(self) -> list[dt.date]:
        """Do what is due now; returns the days reconciled successfully in this tick.

        SHALL reconcile a day at most once per tick, never before ``run_at`` nor on a
        closed day, and never raise for a failed run (it is logged, and retried no
        sooner than :data:`RETRY_AFTER`).
        """
        now = self._now()
        today = now.date()
        program = self.settings.program
        reason = closed_reason(self.settings, today)
        if reason:
            self._say(f"{today} is {reason}: no run")
            return []
        run_at = local_time(self.settings, today, program.run_at)
        close = local_time(self.settings, today, program.close_of_business)
        if now < run_at:
            return []
        if self._afternoon_of != today:  # the afternoon run begins: yesterday's evening groups first
            self._afternoon_of = today
            self._owed |= {previous_business_day(self.settings, today), today}
        done = [day for day in sorted(self._owed)
                if self._due(day, now) and self._reconcile(day, now, alerts=now < close)]
        if today not in self._owed and today not in done and self._due(today, now) \
                and self._follow_up_due(now, close):
            if self._reconcile(today, now, alerts=True):
                done.append(today)
        self._answers_due(now, close)
        if today in done:
            self._print_rosters(today)
        return done

    def serve(self, stop: threading.Event, interval: float = TICK_SECONDS) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set; returns between runs, never during one."""
        scheduler = schedule.Scheduler()  # private: nothing else can add jobs to it
        scheduler.every(interval).seconds.do(self._safe_tick)
        while not stop.is_set():
            scheduler.run_pending()
            stop.wait(max(scheduler.idle_seconds or 0.0, 0.0))

    # -- decisions --

    def _now(self) -> dt.datetime:
        now = self.clock().astimezone(self.settings.program.tz)
        if now.date() != self._today:  # a new day: its own follow-ups and log lines
            self._today, self._last_run, self._seen = now.date(), None, frozenset()
            self._said.clear()
        return now

    def _due(self, day: dt.date, now: dt.datetime) -> bool:
        retry_at = self._retry_at.get(day)
        return retry_at is None or now >= retry_at

    def _follow_up_due(self, now: dt.datetime, close: dt.datetime) -> bool:
        """Before close, ``follow_up_minutes`` after today's last run, and only if the inbox has news."""
        minutes = self.settings.program.follow_up_minutes
        if not minutes or now >= close:
            return False
        if self._last_run is not None and now - self._last_run < dt.timedelta(minutes=minutes):
            return False
        news = len(self._snapshot() - self._seen)
        if news:
            log.info("follow-up: %d new or changed file%s in the inbox", news, "" if news == 1 else "s")
        return bool(news)

    def _reconcile(self, day: dt.date, now: dt.datetime, *, alerts: bool) -> bool:
        """One run of ``day``; True if it succeeded. A failure is logged and backs off."""
        if not alerts:
            log.info("after close of business: alerts for %s wait for the next afternoon run", day)
        snapshot = self._snapshot() if day == now.date() else None  # before the run: later files are news
        try:
            self.run(self.settings, day, dry_run=False, out=self.out, now=now, alerts=alerts)
        except Exception as exc:  # the worker keeps running whatever a run raised
            retry_at = now + RETRY_AFTER
            self._retry_at[day] = retry_at
            log.error("reconciling %s failed: %s; trying again after %s", day, _failure(exc), f"{retry_at:%H:%M}")
            log.debug("reconciling %s failed", day, exc_info=True)
            return False
        log.info("reconciled %s", day)
        self._owed.discard(day)
        self._retry_at.pop(day, None)
        if snapshot is not None:
            self._last_run, self._seen = now, snapshot
        return True

    def _print_rosters(self, today: dt.date) -> None:
        """After today's afternoon run (and each follow-up), print the next business day's rosters into
        ``[rosters] folder``, as ``attendbot rosters`` would (:func:`attendbot.rosters.print_rosters`).

        A file already holding the same rosters is left alone; with no charge export for that day in
        the inbox yet, nothing is printed (said once a day: a later follow-up may bring it). A failure
        is logged and never stops the worker."""
        folder = self.settings.rosters_dir
        if folder is None:
            return
        try:
            day = self.settings.program.calendar.next_business_day(today)
            out = folder / f"rosters-{day.isoformat()}.pdf"
            printed = print_rosters(self.settings, day, out)
        except Exception as exc:  # a printer folder that is gone or full must not stop reconciling
            log.error("printing the rosters for the business day after %s failed: %s; they are tried again "
                      "after today's next run (a follow-up)", today, _failure(exc))
            log.debug("printing the rosters after %s failed", today, exc_info=True)
            return
        if printed is None:
            self._say(f"no charge export in the inbox has charges on {day} yet: no rosters printed for it")
        elif printed.written:
            n = len(printed.rosters)
            log.info("printed %d roster%s for %s to %s", n, "" if n == 1 else "s", day, out)
        else:
            self._say(f"the rosters for {day} in {out} are up to date")

    def _answers_due(self, now: dt.datetime, close: dt.datetime) -> None:
        """Before close of business, raise unanswered blocking gaps again in their alerts' threads
        (``[slack] escalate_before_close_minutes``); at close, have the billing summary list what is
        still open, by facilitator. Live only; a failure is logged and tried again next tick."""
        if not self.settings.slack_token:
            return
        today = now.date()
        try:
            if escalation_due(self.settings, now):
                days = [previous_business_day(self.settings, today), today]
                raised = escalate(self.settings, days, now)
                if raised:
                    log.info("escalation: %d unanswered item%s raised again before close of business", raised,
                             "" if raised == 1 else "s")
            elif now >= close and self._closed_on != today:
                report_close(self.settings, today, now)
                self._closed_on = today
                log.info("close of business: the billing summary lists what is still open")
        except Exception as exc:
            what = str(exc) if isinstance(exc, AttendbotError) else type(exc).__name__
            log.error("escalation or the close-of-business summary failed: %s; trying again at the next tick", what)

    def _snapshot(self) -> Snapshot:
        """(path, size, mtime_ns) of each inbox file; a file still being written is not seen yet."""
        settle = self.settings.main.paths.settle_seconds
        wall = time.time()
        entries = set()
        for path in inbox.candidates(self.settings.inbox):
            try:
                st = path.stat()
            except OSError:  # moved away between listing and stat (quarantined, synced)
                continue
            if settle <= 0 or wall - st.st_mtime >= settle:
                entries.add((str(path), st.st_size, st.st_mtime_ns))
        return frozenset(entries)

    def _say(self, line: str) -> None:
        if line not in self._said:
            self._said.add(line)
            log.info(line)

    def _safe_tick(self) -> None:
        # schedule does not catch a job's exception: a bug in a tick must not end the loop.
        try:
            self.tick()
        except Exception:
            log.exception("the worker's tick failed; trying again at the next tick")


def _failure(exc: Exception) -> str:
    """One line for a failed step: an AttendbotError's own message, else the exception's type and text."""
    return (str(exc) if isinstance(exc, AttendbotError) else f"{type(exc).__name__}: {exc}")[:500]


# --- the command ---------------------------------------------------------------------


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[list[int]]:
    """SIGTERM and SIGINT set ``stop`` (main thread only); the previous handlers come back on exit."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: object) -> None:  # no logging here: not safe in a signal handler
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def start_listener(settings: Settings, clock: Callable[[], dt.datetime]) -> Listener | None:
    """Listen for answers in Slack (Socket Mode) when ``SLACK_APP_TOKEN`` is set; None otherwise."""
    token = app_token()
    if not token:
        log.info("no SLACK_APP_TOKEN in the environment: not listening for answers in Slack")
        return None
    if not settings.slack_token:
        log.warning("SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not: answers in Slack need both; not listening")
        return None
    try:
        return Listener(settings, app_token=token, clock=clock).start()
    except Exception as exc:  # the worker runs without answers rather than not at all
        log.error("could not start listening for answers in Slack: %s", type(exc).__name__)
        return None


def serve(settings: Settings, *, clock: Callable[[], dt.datetime] | None = None,
          stop: threading.Event | None = None, interval: float = TICK_SECONDS,
          out: TextIO | None = None) -> int:
    """Run the worker until SIGTERM, SIGINT or ``stop``; returns 0 on a clean stop (for the CLI).

    Signal handlers are installed only when called from the main thread. A signal
    during a run lets the run finish, then the loop ends.
    """
    stop = stop or threading.Event()
    worker = Worker(settings, clock=clock, out=out)
    with _stop_on_signals(stop) as received:
        log.info("serving %s: runs at %s %s on business days, ticking every %gs", settings.program.name,
                 settings.program.run_at, settings.program.timezone, interval)
        answers = start_listener(settings, worker.clock)
        try:
            try:
                worker.start()
            except Exception:  # a failed catch-up check must not stop the service
                log.exception("the start-up catch-up check failed; carrying on")
            worker.serve(stop, interval)
        finally:
            if answers is not None:
                answers.stop()
    why = f" on {signal.Signals(received[0]).name}" if received else ""
    log.info("stopped cleanly%s", why)
    return 0
