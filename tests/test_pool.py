"""Several inbox files read at once (issue 15): the same reports and ledger as one at a time, and
each file still within its own time and memory budget (attendbot.ingest.sandbox.Pool).

No test here times anything: the speed-up is measured by bench/backfill.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import signal
import time

import pytest

from attendbot import config
from attendbot.demo import DAY, write_program
from attendbot.ingest import sandbox
from attendbot.ledger import Ledger
from attendbot.readers import all_readers
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.run import run_day
from attendbot.samples.signin_pdf import write_signin_pdf
from attendbot.samples.tables import write_table_xlsx

from builders import CHARGE_HEADER, charge_row, morning_sheet

# Every table a file's reading fills, and the columns that say when, not what.
TABLES = ("files", "charges", "attendance", "signin_sheets", "signin_lines", "problems", "authorizations")
WHEN = {"first_seen_at"}


def demo_program(root):
    """The demo's program: every kind of input, a blank scan that is quarantined, and a copy of
    one file under another name."""
    write_program(root)
    shutil.copy(root / "inbox" / "EHR_attendance.csv", root / "inbox" / "EHR_attendance (copy).csv")
    return root


def demo_run(root, monkeypatch, workers: int):
    """The demo's first day run with ``workers`` readers; its outcome and the ledger's rows."""
    monkeypatch.chdir(root)  # the reports' paths are shown relative to the working folder
    monkeypatch.setenv(sandbox.WORKERS_VARIABLE, str(workers))
    outcome = run_day(config.load(root / "config" / "attendbot.toml"), DAY, dry_run=True)
    ledger = Ledger(root / "var" / "attendbot.db")
    try:
        rows = {table: [{k: v for k, v in row.items() if k not in WHEN}
                        for row in ledger.db[table].rows_where(order_by="rowid")] for table in TABLES}
    finally:
        ledger.close()
    return outcome, rows


def test_one_worker_and_two_give_the_same_reports_results_and_ledger(tmp_path, monkeypatch):
    shutil.copytree(demo_program(tmp_path / "one"), tmp_path / "two")  # the same bytes (XLSX carry a time)
    one, one_rows = demo_run(tmp_path / "one", monkeypatch, 1)
    two, two_rows = demo_run(tmp_path / "two", monkeypatch, 2)
    assert two.files == one.files
    assert two.result == one.result
    assert two_rows == one_rows  # the same rows in the same order: files keep their inbox order (seq)
    statuses = {f.path: f.status for f in two.files}
    # the copy comes first in the inbox's order (" " < "."), so it is read and the original is the duplicate
    assert statuses["inbox/EHR_attendance (copy).csv"] == "read"
    assert statuses["inbox/EHR_attendance.csv"] == "duplicate"
    assert statuses["inbox/2026-11-24/Scan_0042.pdf"] == "unreadable"
    assert [r["name"] for r in sorted(two_rows["files"], key=lambda r: r["seq"])] == \
        sorted(r["name"] for r in two_rows["files"])  # recorded in the inbox's order


def good_files(program, n: int = 4) -> list[str]:
    """``n`` charge exports, each for its own day (C-0 is the day's): the files a hostile one must not cost."""
    names = [f"charges-{i}.xlsx" for i in range(n)]
    for i, name in enumerate(names):
        write_table_xlsx(program.inbox / name, CHARGE_HEADER,
                         [charge_row(f"C-{i}", f"M-{i}", "Silva, Ana", day=DAY + dt.timedelta(days=i))])
    return names


@pytest.fixture
def two_workers(monkeypatch):
    monkeypatch.setenv(sandbox.WORKERS_VARIABLE, "2")


def hostile(monkeypatch, program, behave) -> None:
    """``a-bad.pdf`` (first in the inbox's order) whose identification ``behave`` turns hostile,
    inherited by the forked readers."""
    write_signin_pdf(program.inbox / "a-bad.pdf", [morning_sheet()])
    real = SigninPdfReader.identify

    def identify(self, src):
        if src.path.name == "a-bad.pdf":
            behave(src)
        return real(self, src)

    monkeypatch.setattr(SigninPdfReader, "identify", identify)


def assert_only_the_bad_file_lost(program, outcome, names, reason_starts: str) -> None:
    reports = {f.path.rsplit("/", 1)[-1]: f for f in outcome.files}
    assert reports["a-bad.pdf"].status == "unreadable"
    assert reports["a-bad.pdf"].detail.startswith(reason_starts), reports["a-bad.pdf"].detail
    assert (program.quarantine / DAY.isoformat() / "a-bad.pdf").exists()
    assert all(reports[n].status == "read" for n in names)
    assert [cr.charge.charge_id for cr in outcome.result.charges] == ["C-0"]


def test_a_file_that_hangs_in_the_pool_costs_only_itself(program, monkeypatch, two_workers):
    monkeypatch.setattr(sandbox, "FILE_SECONDS", 2)

    def spin(src):
        while True:
            pass

    hostile(monkeypatch, program, spin)
    names = good_files(program)
    assert_only_the_bad_file_lost(program, program.run(), names, "reading took longer than 2 s")


def test_a_file_that_blows_its_memory_in_the_pool_costs_only_itself(program, monkeypatch, two_workers):
    monkeypatch.setattr(sandbox, "FILE_MEMORY_BYTES", 256 * 1024**2)

    def hog(src):
        held = []
        while True:
            held.append(bytearray(16 * 1024**2))

    hostile(monkeypatch, program, hog)
    names = good_files(program)
    assert_only_the_bad_file_lost(program, program.run(), names, "reading it needed more than 256 MiB")


def test_a_reader_killed_in_the_pool_costs_only_its_file(program, monkeypatch, two_workers):
    hostile(monkeypatch, program, lambda src: os.kill(os.getpid(), signal.SIGKILL))
    names = good_files(program)
    assert_only_the_bad_file_lost(program, program.run(), names, "the process reading it died (killed by SIGKILL)")


def test_reports_and_ledger_keep_the_inbox_order_whichever_file_finishes_first(program, monkeypatch, two_workers):
    names = good_files(program, 3)
    real = SigninPdfReader.identify

    def slow_first(self, src):  # the first file in the inbox's order is read last
        if src.path.name == names[0]:
            time.sleep(1)
        return real(self, src)

    monkeypatch.setattr(SigninPdfReader, "identify", slow_first)
    outcome = program.run()
    assert [f.path.rsplit("/", 1)[-1] for f in outcome.files] == names
    ledger = Ledger(program.settings().db)
    try:
        recorded = [r["name"] for r in ledger.db["files"].rows_where(order_by="seq")]
    finally:
        ledger.close()
    assert recorded == names


def test_a_pool_never_has_more_children_than_its_size_and_leaves_none_behind(program, monkeypatch):
    names = good_files(program, 5)
    alive = []
    real_start = sandbox.Pool._start

    def counting(self):
        real_start(self)
        alive.append(len(self._reading))

    monkeypatch.setattr(sandbox.Pool, "_start", counting)
    with sandbox.Pool(all_readers(), size=2) as pool:
        jobs = [pool.submit(program.inbox / n, n) for n in names]
        outcomes = [pool.outcome(j) for j in jobs]
    assert [o.status for o in outcomes] == ["read"] * 5
    assert max(alive) == 2
    assert not pool._reading and all(j.child is not None and j.done for j in jobs)


@pytest.mark.parametrize("value, expected", [("1", 1), ("3", 3), (" 2 ", 2)])
def test_the_number_of_workers_comes_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(sandbox.WORKERS_VARIABLE, value)
    assert sandbox.workers() == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", "100000"])
def test_a_number_of_workers_that_cannot_be_is_said_and_one_per_core_is_used(monkeypatch, caplog, value):
    monkeypatch.setenv(sandbox.WORKERS_VARIABLE, value)
    monkeypatch.setattr(sandbox, "_said", set())
    with caplog.at_level(logging.WARNING, logger="attendbot"):
        assert sandbox.workers() == len(os.sched_getaffinity(0))
        assert sandbox.workers() == len(os.sched_getaffinity(0))
    assert caplog.text.count(sandbox.WORKERS_VARIABLE) == 1  # said once, not at every run of a back-fill


def test_a_pool_left_early_kills_its_readers_and_leaves_the_rest_to_be_retried(program, monkeypatch):
    names = good_files(program, 3)
    monkeypatch.setattr(SigninPdfReader, "identify", lambda self, src: time.sleep(60))  # every reader hangs
    pool = sandbox.Pool(all_readers(), size=2)
    with pool:
        jobs = [pool.submit(program.inbox / n, n) for n in names]
        started = [j.child.pid for j in jobs if j.child is not None]
    assert len(started) == 2
    for pid in started:  # killed and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for job in jobs:
        with pytest.raises(OSError, match="the run stopped before it was read"):
            pool.outcome(job)  # retried by the next run, never reported unreadable
    assert all((program.inbox / n).exists() for n in names)


def test_by_default_one_worker_per_core(monkeypatch):
    monkeypatch.delenv(sandbox.WORKERS_VARIABLE, raising=False)
    assert sandbox.workers() == len(os.sched_getaffinity(0))
