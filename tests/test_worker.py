"""The afternoon worker: business days, run_at, catch-up, follow-ups, failures, locks, stopping.

Most tests drive :meth:`Worker.tick` with a fake clock and a fake ``run`` that
records ``(day, now, alerts)``; a few use the real ``run_once`` on the sample
program (its inbox is empty, which reconciles fine).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import zoneinfo

import pytest

from attendbot import run as run_module, worker
from attendbot.errors import AttendbotError
from attendbot.ledger import Ledger
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.readers.source import SourceFile
from attendbot.samples.tables import write_table_xlsx
from attendbot.worker import Worker, is_business_day, previous_business_day

from builders import CHARGE_HEADER, charge_row

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
TUE = dt.date(2026, 11, 24)
MON = dt.date(2026, 11, 23)
FRI = dt.date(2026, 11, 20)
THANKSGIVING = dt.date(2026, 11, 26)


class Clock:
    """A mutable 'now' in America/Chicago."""

    def __init__(self, day: dt.date, hhmm: str):
        self.set(day, hhmm)

    def set(self, day: dt.date, hhmm: str) -> None:
        self.now = dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=CHICAGO)

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def __call__(self) -> dt.datetime:
        return self.now


class FakeRun:
    """Stands in for run_once: records (day, now, alerts); raises ``fail`` when set."""

    def __init__(self):
        self.calls: list[tuple[dt.date, dt.datetime, bool]] = []
        self.fail: Exception | None = None

    def __call__(self, settings, day, *, dry_run, out, now=None, alerts=True):
        assert dry_run is False
        self.calls.append((day, now, alerts))
        if self.fail:
            raise self.fail

    @property
    def days(self) -> list[dt.date]:
        return [day for day, _, _ in self.calls]


def with_program(settings, **changes):
    main = settings.main.model_copy(update={"program": settings.program.model_copy(update=changes)})
    return dataclasses.replace(settings, main=main)


@pytest.fixture
def settings(program):
    return program.settings()


@pytest.fixture
def fake():
    return FakeRun()


def make(settings, fake, day=TUE, hhmm="15:30"):
    clock = Clock(day, hhmm)
    return Worker(settings, clock=clock, run=fake, out=io.StringIO()), clock


@pytest.fixture
def info(caplog):
    caplog.set_level(logging.INFO, logger="attendbot.worker")
    return caplog


def lines(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "attendbot.worker")


# --- business days -------------------------------------------------------------------


def test_weekdays_are_business_days_and_weekends_are_not(settings):
    assert [is_business_day(settings, TUE + dt.timedelta(days=n)) for n in range(-1, 6)] == \
        [True, True, True, False, True, False, False]  # Mon..Sun, with Thanksgiving on Thursday


def test_a_public_holiday_and_a_closed_day_from_config_are_not_business_days(settings):
    assert not is_business_day(settings, THANKSGIVING)
    assert not is_business_day(settings, dt.date(2026, 12, 24))  # closed_days in the sample config
    assert is_business_day(with_program(settings, holidays=""), THANKSGIVING)


def test_the_previous_business_day_skips_weekends_holidays_and_closed_days(settings):
    assert previous_business_day(settings, MON) == FRI
    assert previous_business_day(settings, dt.date(2026, 11, 27)) == dt.date(2026, 11, 25)
    assert previous_business_day(settings, dt.date(2026, 12, 28)) == dt.date(2026, 12, 23)


# --- the afternoon run ------------------------------------------------------------------


def test_nothing_runs_before_run_at(settings, fake):
    w, clock = make(settings, fake, hhmm="15:29")
    assert w.tick() == [] and fake.calls == []


def test_at_run_at_the_previous_business_day_is_reconciled_first_then_today(settings, fake):
    w, clock = make(settings, fake, day=MON)
    assert w.tick() == [FRI, MON]
    assert fake.calls == [(FRI, clock.now, True), (MON, clock.now, True)]


def test_the_afternoon_run_happens_once_per_afternoon(settings, fake):
    w, clock = make(settings, fake)
    w.tick()
    for _ in range(5):
        clock.advance(seconds=30)
        assert w.tick() == []
    assert fake.days == [MON, TUE]
    clock.set(TUE + dt.timedelta(days=1), "15:30")
    assert w.tick() == [TUE, TUE + dt.timedelta(days=1)]


@pytest.mark.parametrize("day, why", [
    (dt.date(2026, 11, 28), "2026-11-28 is a Saturday, not one of [program] business_days: no run"),
    (THANKSGIVING, "2026-11-26 is Thanksgiving Day: no run"),
    (dt.date(2026, 12, 24), "2026-12-24 is a closed day in [program] closed_days: no run"),
])
def test_no_run_on_a_weekend_a_holiday_or_a_closed_day_and_the_log_says_why_once(settings, fake, info, day, why):
    w, clock = make(settings, fake, day=day)
    w.tick()
    clock.advance(minutes=1)
    w.tick()
    assert fake.calls == []
    assert lines(info).splitlines() == [why]


# --- catch-up at start-up -------------------------------------------------------------


def test_a_worker_started_after_run_at_catches_up_before_close(settings, fake, info):
    w, clock = make(settings, fake, hhmm="16:10")
    assert w.start() == [MON, TUE]
    assert all(alerts for _, _, alerts in fake.calls)
    assert "catching up" in lines(info)


def test_a_worker_started_after_close_reconciles_without_alerts_and_says_why(settings, fake, info):
    w, clock = make(settings, fake, hhmm="18:45")
    assert w.start() == [MON, TUE]
    assert [alerts for _, _, alerts in fake.calls] == [False, False]
    assert "after close of business: alerts for 2026-11-24 wait for the next afternoon run" in lines(info)


def test_a_worker_started_before_run_at_waits_for_it(settings, fake):
    w, clock = make(settings, fake, hhmm="09:00")
    assert w.start() == [] and fake.calls == []
    clock.set(TUE, "15:30")
    assert w.tick() == [MON, TUE]


def ledger_run(settings, day, started_at, status="ok"):
    ledger = Ledger(settings.db)
    ledger.db["runs"].insert({"day": day.isoformat(), "started_at": started_at, "status": status, "dry_run": 0})
    ledger.close()


def test_a_restarted_worker_does_not_repeat_todays_afternoon_run_found_in_the_ledger(settings, fake, info):
    ledger_run(settings, TUE, "2026-11-24T21:30:05+00:00")  # 15:30 in Chicago
    w, clock = make(settings, fake, hhmm="16:00")
    assert w.start() == [] and fake.calls == []
    assert "already happened at 15:30" in lines(info)


def test_a_morning_run_or_a_failed_run_does_not_count_as_the_afternoon_run(settings, fake):
    ledger_run(settings, TUE, "2026-11-24T15:00:00+00:00")  # 09:00 in Chicago
    ledger_run(settings, TUE, "2026-11-24T21:31:00+00:00", status="failed")
    w, clock = make(settings, fake, hhmm="16:00")
    assert w.start() == [MON, TUE]


# --- follow-ups ---------------------------------------------------------------------------


def test_a_follow_up_runs_today_again_only_when_a_file_arrives_and_not_more_often_than_configured(
        settings, fake, program):
    (program.inbox / "charges.csv").write_text("a\n")
    w, clock = make(settings, fake)  # follow_up_minutes = 30
    assert w.tick() == [MON, TUE]
    clock.set(TUE, "16:01")
    assert w.tick() == []  # due, but nothing new in the inbox
    (program.inbox / "ehr.csv").write_text("b\n")
    clock.set(TUE, "16:05")
    assert w.tick() == [TUE]
    (program.inbox / "ehr.csv").write_text("b, fixed\n")
    clock.set(TUE, "16:20")
    assert w.tick() == []  # a changed file, but the last run was at 16:05
    clock.set(TUE, "16:35")
    assert w.tick() == [TUE]
    assert fake.calls[-1] == (TUE, clock.now, True)
    clock.set(TUE, "16:59")
    assert w.tick() == []  # nothing new since 16:35


def test_no_follow_up_after_close_of_business_or_when_follow_ups_are_off(settings, fake, program):
    w, clock = make(settings, fake)
    w.tick()
    (program.inbox / "late.csv").write_text("x\n")
    clock.set(TUE, "17:00")
    assert w.tick() == []
    off, clock = make(with_program(settings, follow_up_minutes=0), FakeRun())
    off.tick()
    (program.inbox / "later.csv").write_text("y\n")
    clock.set(TUE, "16:30")
    assert off.tick() == []


# --- failures -------------------------------------------------------------------------------


def test_a_failed_run_is_logged_and_retried_after_a_back_off_without_stopping_the_worker(settings, fake, info):
    w, clock = make(settings, fake)
    fake.fail = RuntimeError("disk full")
    assert w.tick() == []
    assert "reconciling 2026-11-23 failed: RuntimeError: disk full; trying again after 15:35" in lines(info)
    clock.advance(seconds=30)
    assert w.tick() == []
    assert len(fake.calls) == 2  # one try per day per tick, none during the back-off
    fake.fail = None
    clock.advance(minutes=5)
    assert w.tick() == [MON, TUE]


def test_a_day_that_keeps_failing_does_not_stop_todays_follow_ups(settings, program):
    class FailsMonday(FakeRun):
        def __call__(self, settings, day, **kw):
            super().__call__(settings, day, **kw)
            if day == MON:
                raise AttendbotError("ledger damaged")

    run = FailsMonday()
    w, clock = make(settings, run)
    assert w.tick() == [TUE]
    (program.inbox / "new.csv").write_text("x\n")
    clock.set(TUE, "16:00")
    assert w.tick() == [TUE]  # Monday was tried again, failed again; today's follow-up still ran
    assert run.days == [MON, TUE, MON, TUE]


# --- printing tomorrow's rosters ([rosters] folder) -------------------------------------------

WED = dt.date(2026, 11, 25)
BLACK_FRIDAY = dt.date(2026, 11, 27)  # the business day after WED: Thanksgiving is closed
PRINTED = [("M-1", "Stone, Avery"), ("M-2", "Rivers, Blake")]


@pytest.fixture
def printing(program):
    """The sample program with ``[rosters] folder = "print"``, and a charge export for BLACK_FRIDAY."""
    from attendbot.demo import ATTENDBOT_TOML, PAYERS_TOML

    program.write_config(ATTENDBOT_TOML + '\n[rosters]\nfolder = "print"\n', PAYERS_TOML)
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row(f"C-{n}", mrn, name, day=BLACK_FRIDAY) for n, (mrn, name) in enumerate(PRINTED)])
    return program.settings()


def read_rosters(path):
    src = SourceFile(path, path.name)
    try:
        return SigninPdfReader().read(src).sheets
    finally:
        src.close()


def test_after_the_afternoon_run_the_next_business_days_rosters_are_printed_once(printing, program, fake, info):
    # issue 16: "serve prints the next business day's rosters into a folder each afternoon"
    w, clock = make(printing, fake, day=WED)
    assert w.tick() == [TUE, WED]
    out = program.root / "print" / "rosters-2026-11-27.pdf"
    [sheet] = read_rosters(out)  # the sheet attendbot rosters prints: straight from the printer, unsigned
    assert (sheet.group, sheet.service_date, sheet.start) == ("Morning Process Group", BLACK_FRIDAY, dt.time(9))
    assert [ln.printed_name for ln in sheet.lines] == ["Rivers, Blake", "Stone, Avery"]
    assert not any(ln.signed for ln in sheet.lines)
    assert f"printed 1 roster for 2026-11-27 to {out}" in lines(info)
    before = out.stat().st_mtime_ns
    (program.inbox / "ehr.csv").write_text("a follow-up's news\n")
    clock.set(WED, "16:05")
    assert w.tick() == [WED]  # a follow-up: the same rosters again, so the file is left as it was
    assert out.stat().st_mtime_ns == before
    assert "the rosters for 2026-11-27 in" in lines(info) and lines(info).count("printed 1 roster") == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["rosters-2026-11-27.pdf"]  # no temporary file left


def test_without_a_charge_export_for_the_next_business_day_nothing_is_printed_and_the_log_says_so(
        printing, program, fake, info):
    w, _ = make(printing, fake, day=TUE)  # the export covers Friday, not Wednesday
    assert w.tick() == [MON, TUE]
    assert "no charge export in the inbox has charges on 2026-11-25 yet: no rosters printed" in lines(info)
    assert not (program.root / "print").exists()


def test_a_failure_to_print_is_logged_and_the_worker_carries_on(printing, program, fake, info):
    (program.root / "print").write_text("a file where the folder should be\n")
    w, clock = make(printing, fake, day=WED)
    assert w.tick() == [TUE, WED]  # reconciled; printing failed
    assert "printing the rosters for the business day after 2026-11-25 failed: the rosters could not be " \
           "written to" in lines(info)
    (program.inbox / "ehr.csv").write_text("news\n")
    clock.set(WED, "16:05")
    assert w.tick() == [WED]  # the worker goes on


def test_without_a_rosters_folder_the_worker_prints_nothing(settings, program, fake):
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row("C-1", "M-1", "Stone, Avery", day=WED)])
    assert settings.rosters_dir is None
    w, _ = make(settings, fake)
    assert w.tick() == [MON, TUE]
    assert sorted(p.name for p in program.root.iterdir()) == ["config", "inbox"]


# --- the lock, with the real pipeline ---------------------------------------------------------


def test_the_real_pipeline_reconciles_both_days_into_the_ledger(settings, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    w = Worker(settings, clock=Clock(TUE, "15:30"), out=io.StringIO())
    assert w.tick() == [MON, TUE]
    ledger = Ledger(settings.db)
    assert [(r["day"], r["status"]) for r in ledger.db["runs"].rows] == [("2026-11-23", "ok"), ("2026-11-24", "ok")]
    ledger.close()


def hold_lock(settings) -> subprocess.Popen:
    """Another process holding the ledger's lock (as a running `attendbot run` would)."""
    settings.db.parent.mkdir(parents=True, exist_ok=True)
    code = ("import filelock, sys, time\n"
            "lock = filelock.FileLock(sys.argv[1])\n"  # kept referenced: a collected lock releases itself
            "lock.acquire()\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(settings.db) + ".lock"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_stale_lock_left_by_a_killed_process_does_not_block_the_next_run(settings, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setattr(run_module, "LOCK_WAIT_SECONDS", 0.5)
    proc = hold_lock(settings)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    proc.stdout.close()
    assert (settings.db.parent / (settings.db.name + ".lock")).exists()  # the file stays; the lock died
    w = Worker(settings, clock=Clock(TUE, "15:30"), out=io.StringIO())
    assert w.tick() == [MON, TUE]


def test_a_lock_held_by_a_live_process_fails_the_run_which_is_logged_and_retried(settings, monkeypatch, info):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setattr(run_module, "LOCK_WAIT_SECONDS", 0.2)
    proc = hold_lock(settings)
    clock = Clock(TUE, "15:30")
    w = Worker(settings, clock=clock, out=io.StringIO())
    try:
        assert w.tick() == []
    finally:
        proc.kill()
        proc.wait(timeout=5)
        proc.stdout.close()
    assert "reconciling 2026-11-24 failed: another attendbot run is reconciling this program" in lines(info)
    clock.advance(minutes=5)
    assert w.tick() == [MON, TUE]


# --- stopping ---------------------------------------------------------------------------------


def test_setting_the_stop_event_ends_serve_promptly(settings, fake):
    ticked = threading.Event()
    clock = Clock(TUE, "15:30")
    calls = []

    def counting_clock():
        calls.append(1)
        if len(calls) >= 3:
            ticked.set()
        return clock()

    w = Worker(settings, clock=counting_clock, run=fake, out=io.StringIO())
    stop = threading.Event()
    thread = threading.Thread(target=w.serve, args=(stop, 0.01), daemon=True)
    thread.start()
    assert ticked.wait(5), "the scheduler never ticked"
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert fake.days == [MON, TUE]  # ticked several times, ran the afternoon once


def test_sigterm_stops_serve_cleanly_with_status_zero_and_restores_the_handlers(settings, info):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers need the main thread")
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        saturday = Clock(dt.date(2026, 11, 28), "15:30")  # nothing to run: only the loop and the signal
        assert worker.serve(settings, clock=saturday, interval=0.01, out=io.StringIO()) == 0
    finally:
        timer.cancel()
    assert signal.getsignal(signal.SIGTERM) is before
    assert "stopped cleanly on SIGTERM" in lines(info)
