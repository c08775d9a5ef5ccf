"""``attendbot run --from D1 --to D2``: every business day of a range, oldest first, on one ledger."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import shutil

import openpyxl
import pytest

from attendbot import run
from attendbot.calendar import business_days_between
from attendbot.cli import main
from attendbot.demo import write_program
from attendbot.errors import AttendbotError
from attendbot.ingest import sandbox
from attendbot.ledger import Ledger
from attendbot.outputs import workbook
from attendbot.samples.tables import write_table_csv, write_table_xlsx

from builders import CHARGE_HEADER, EHR_HEADER, charge_row, ehr_row

MONDAY = dt.date(2026, 11, 23)
SUNDAY = dt.date(2026, 11, 29)  # Thanksgiving (Thursday 26th) and the weekend fall inside


def week_of_exports(program):
    days = [MONDAY + dt.timedelta(days=n) for n in range(5)]
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row(f"C-{d.day}", "M-1", "Silva, Ana", d) for d in days])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER, [ehr_row("M-1", "Silva, Ana", d) for d in days])


def test_business_days_between_skips_weekends_holidays_and_closed_days():
    days = business_days_between(MONDAY, dt.date(2026, 12, 25), ["mon", "tue", "wed", "thu", "fri"],
                                 [dt.date(2026, 12, 24)], "US")
    assert days[:4] == [MONDAY, dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 27)]
    assert dt.date(2026, 12, 24) not in days and dt.date(2026, 12, 25) not in days
    assert days == sorted(days)


def test_a_backfill_reconciles_each_business_day_oldest_first_on_one_ledger(program, monkeypatch, capsys):
    week_of_exports(program)
    monkeypatch.chdir(program.root)
    assert main(["run", "--from", MONDAY.isoformat(), "--to", SUNDAY.isoformat(), "--json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert [d["date"] for d in doc["days"]] == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27"]
    assert all([c["charge_id"] for c in d["charges"]] == [f"C-{d['date'][-2:].lstrip('0')}"] for d in doc["days"])
    assert "4/4 2026-11-27" in err  # plain progress lines when stderr is not a terminal
    ledger = Ledger(program.settings().db)
    try:
        runs = [r["day"] for r in ledger.db["runs"].rows_where("status = 'ok'", order_by="id")]
        sent = [r for r in ledger.db["slack_messages"].rows if r["status"] != "dry_run"]
    finally:
        ledger.close()
    assert runs == ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-27"]
    assert sent == []  # a back-fill pages nobody about past days


def test_a_backfill_needs_both_ends_in_order(program, monkeypatch, capsys):
    monkeypatch.chdir(program.root)
    assert main(["run", "--from", MONDAY.isoformat()]) == 2
    assert main(["run", "--from", SUNDAY.isoformat(), "--to", MONDAY.isoformat()]) == 2
    assert main(["run", "--date", MONDAY.isoformat(), "--from", MONDAY.isoformat(), "--to", SUNDAY.isoformat()]) == 2
    assert "after --to" in capsys.readouterr().err


# --- on several cores (issue 15): workbooks written beside the reconciling ----------------------

DEMO_FROM, DEMO_TO = dt.date(2026, 11, 23), dt.date(2026, 11, 27)  # the demo's week: four business days


def ledger_rows(db) -> dict:
    """Every row of every table, in order, without the columns that say when (or a random token, or
    a kept outcome and its key, which hold the program's own folder)."""
    ledger = Ledger(db)
    try:
        return {t.name: [{k: v for k, v in row.items()
                          if not (k == "at" or k.endswith("_at") or k in ("token", "key", "outcome"))}
                         for row in t.rows_where(order_by="rowid")]
                for t in ledger.db.tables if not t.name.startswith("_")}
    finally:
        ledger.close()


def workbook_values(path) -> dict:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in wb}


def demo_backfill(root, monkeypatch, workers: int) -> tuple[int, dict]:
    monkeypatch.chdir(root)
    monkeypatch.setenv(sandbox.WORKERS_VARIABLE, str(workers))
    code = main(["run", "--from", DEMO_FROM.isoformat(), "--to", DEMO_TO.isoformat(), "--json"])
    return code, root / "var" / "attendbot.db"


@pytest.fixture
def two_groups(monkeypatch):
    monkeypatch.setattr(run, "BACKFILL_GROUP_DAYS", 2)  # the demo's four days in two groups


def test_a_backfill_on_two_workers_gives_the_same_days_ledger_and_workbooks_as_on_one(
        tmp_path, monkeypatch, capsys, two_groups):
    write_program(tmp_path / "one")
    shutil.copytree(tmp_path / "one", tmp_path / "two")  # the same bytes (an XLSX carries its save time)
    assert demo_backfill(tmp_path / "one", monkeypatch, 1)[0] == 0
    one = json.loads(capsys.readouterr().out)
    assert demo_backfill(tmp_path / "two", monkeypatch, 2)[0] == 0
    two = json.loads(capsys.readouterr().out)
    assert two == one and len(two["days"]) == 4
    assert ledger_rows(tmp_path / "two" / "var" / "attendbot.db") == ledger_rows(tmp_path / "one" / "var" / "attendbot.db")
    books = sorted(p.name for p in (tmp_path / "one" / "audit").iterdir())
    assert books == sorted(p.name for p in (tmp_path / "two" / "audit").iterdir()) and len(books) == 4
    for name in books:
        assert workbook_values(tmp_path / "two" / "audit" / name) == workbook_values(tmp_path / "one" / "audit" / name)


def ok_days(db) -> list[str]:
    ledger = Ledger(db)
    try:
        return [r["day"] for r in ledger.db["runs"].rows_where("status = 'ok'", order_by="id")]
    finally:
        ledger.close()


def test_a_workbook_that_cannot_be_written_in_a_backfill_keeps_none_of_its_groups_results(
        tmp_path, monkeypatch, capsys, two_groups):
    write_program(tmp_path)
    real = workbook.write_workbook

    def no_room_on_wednesday(result, files, path, **options):  # inherited by the forked writer
        if result.day == dt.date(2026, 11, 25):
            raise OSError(28, "No space left on device")
        return real(result, files, path, **options)

    monkeypatch.setattr(workbook, "write_workbook", no_room_on_wednesday)
    code, db = demo_backfill(tmp_path, monkeypatch, 2)
    assert code == 1
    err = capsys.readouterr().err
    assert "the audit workbook for 2026-11-25 could not be written in" in err and "No space left on device" in err
    assert ok_days(db) == ["2026-11-23", "2026-11-24"]  # the first group landed; the second not at all
    ledger = Ledger(db)
    try:
        failed = [r["day"] for r in ledger.db["runs"].rows_where("status = 'failed'")]
        kept = {r["day"] for r in ledger.db["dispositions"].rows}
    finally:
        ledger.close()
    assert failed == ["2026-11-25"]
    assert kept <= {"2026-11-23", "2026-11-24"}  # nothing of the 25th nor of the 27th
    assert not list((tmp_path / "audit").glob(".*.tmp"))


def test_a_day_that_fails_in_a_backfill_keeps_none_of_its_groups_results_and_leaves_no_writer(
        tmp_path, monkeypatch, capsys, two_groups):
    write_program(tmp_path)
    real = run.reconcile

    def fails_on_friday(day, *args, **kwargs):
        if day == dt.date(2026, 11, 27):
            raise AttendbotError("the ledger is damaged (a test)")
        return real(day, *args, **kwargs)

    monkeypatch.setattr(run, "reconcile", fails_on_friday)
    code, db = demo_backfill(tmp_path, monkeypatch, 2)
    assert code == 1 and "the ledger is damaged (a test)" in capsys.readouterr().err
    assert ok_days(db) == ["2026-11-23", "2026-11-24"]
    assert not multiprocessing.active_children()
    # Wednesday's workbook was written before Friday failed: it may be there (a workbook newer
    # than the ledger, as when a run is killed between the two), never a half-written one.
    assert not list((tmp_path / "audit").glob(".*.tmp"))
