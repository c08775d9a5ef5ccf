"""Never a false all-clear (issue 10): a run says what it saw and what it could not see."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from attendbot.cli import main
from attendbot.outputs.report import json_document
from attendbot.samples.tables import write_table_csv, write_table_xlsx

from builders import CHARGE_HEADER, DAY, EHR_HEADER, charge_row, ehr_row


def day_of(program, day=DAY, ehr=True):
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row("C-1", "M-1", "Silva, Ana", day), charge_row("C-2", "M-2", "Okoro, Ben", day)])
    if ehr:
        write_table_csv(program.inbox / "ehr.csv", EHR_HEADER,
                        [ehr_row("M-1", "Silva, Ana", day), ehr_row("M-2", "Okoro, Ben", day)])


def billing(outcome) -> str:
    return next(m for m in outcome.slack.messages if m.kind == "billing").text


def test_a_day_with_no_charge_export_says_nothing_was_checked(program):
    day_of(program, day=DAY + dt.timedelta(days=1))  # files for another day only
    outcome = program.run(DAY)
    codes = {g.code.value for g in outcome.result.gaps}
    assert {"NO_CHARGE_EXPORT", "NO_EHR_EXPORT"} <= codes
    assert outcome.status.state == "nothing_checked"
    assert "Nothing was checked" in billing(outcome) and "No charges scheduled" not in billing(outcome)
    doc = json_document(outcome)
    day_gaps = [g for g in doc["gaps"] if g["code"] == "NO_CHARGE_EXPORT"]
    assert day_gaps and day_gaps[0]["charge_id"] is None and day_gaps[0]["session"] is None


def test_a_day_with_no_ehr_export_is_incomplete_and_says_so_once(program):
    day_of(program, ehr=False)
    outcome = program.run(DAY)
    assert [g.code.value for g in outcome.result.gaps].count("NO_EHR_EXPORT") == 1
    assert outcome.status.state == "incomplete" and "no EHR attendance export" in outcome.status.note
    assert "no EHR attendance export" in billing(outcome)


@pytest.mark.parametrize("day, note", [
    (dt.date(2026, 11, 29), "Sunday"),
    (dt.date(2026, 11, 26), "Thanksgiving Day"),
    (dt.date(2026, 12, 24), "closed day"),
])
def test_a_day_that_is_not_a_business_day_is_reconciled_but_says_so(program, day, note):
    day_of(program, day=day)
    outcome = program.run(day)
    doc = json_document(outcome)
    assert doc["calendar"] == {"business_day": False, "note": note}
    assert outcome.status.state == "not_business_day"
    assert note in billing(outcome) and len(outcome.result.charges) == 2


def test_a_business_day_says_so_in_the_json(program):
    day_of(program)
    assert json_document(program.run(DAY))["calendar"] == {"business_day": True, "note": ""}


def test_the_not_a_business_day_line_goes_to_stderr(program, monkeypatch, capsys):
    day = dt.date(2026, 11, 26)
    day_of(program, day=day)
    monkeypatch.chdir(program.root)
    assert main(["run", "--date", day.isoformat(), "--dry-run"]) == 0
    assert "Thanksgiving Day" in capsys.readouterr().err


def test_a_missing_inbox_is_bad_configuration(program, monkeypatch, capsys):
    monkeypatch.chdir(program.root)
    assert main(["run", "--date", DAY.isoformat(), "--inbox", "inbxo", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "paths.inbox" in err and "does not exist" in err and "Traceback" not in err


def test_a_missing_payers_file_is_bad_configuration(program, monkeypatch, capsys):
    (program.root / "config" / "payers.toml").unlink()
    monkeypatch.chdir(program.root)
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 2
    assert "payers.toml: file not found" in capsys.readouterr().err


def test_a_replacement_export_that_drops_most_of_the_day_is_used_and_called_out(program):
    rows = [charge_row(f"C-{i}", f"M-{i}", f"Person{i}, Pat", DAY) for i in range(1, 11)]
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER, rows)
    program.run(DAY)
    write_table_xlsx(program.inbox / "charges-correction.xlsx", CHARGE_HEADER, rows[:1])
    outcome = program.run(DAY)
    assert [c.charge.charge_id for c in outcome.result.charges] == ["C-1"]  # the newest export wins
    assert "dropped 9 of its 10 charge lines" in outcome.status.note
    assert "dropped 9 of its 10 charge lines" in billing(outcome)


def test_dry_run_prints_the_text_and_blocks_slack_would_receive(program, monkeypatch, capsys):
    day_of(program)
    monkeypatch.chdir(program.root)
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    out = capsys.readouterr().out
    from attendbot.run import run_day

    outcome = run_day(program.settings(), DAY, dry_run=True)
    for message in outcome.slack.messages:
        assert message.text in out
        assert json.dumps(message.blocks, ensure_ascii=False) in out


def test_demo_rerun_from_inside_its_folder_keeps_the_users_files(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", "--dir", str(folder)]) == 0
    mine = folder / "inbox" / "my-notes.txt"
    mine.write_text("mine")
    monkeypatch.chdir(folder)
    assert main(["demo", "--dir", "."]) == 0
    assert mine.read_text() == "mine" and folder.is_dir()
    assert "audit workbook" in capsys.readouterr().out
