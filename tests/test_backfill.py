"""``attendbot run --from D1 --to D2``: every business day of a range, oldest first, on one ledger."""

from __future__ import annotations

import datetime as dt
import json

from attendbot.calendar import business_days_between
from attendbot.cli import main
from attendbot.ledger import Ledger
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
