"""Protected health information: owner-only files, no patient data in logs, no secrets in
config files, and ``attendbot purge`` for programs that must not keep records past their policy."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import stat
import unicodedata
from pathlib import Path

import pytest
import sqlite_utils

from attendbot import config, demo, purge
from attendbot.cli import main
from attendbot.errors import ConfigError
from attendbot.ledger import Ledger
from attendbot.run import run_day
from attendbot.samples.tables import write_table_csv

from builders import DAY

OTHER_DAY = dt.date(2026, 11, 23)  # the demo's EHR export holds one row for it
TODAY = dt.date(2026, 11, 25)
MAIN_TOML = "config/attendbot.toml"


@pytest.fixture
def umask():
    """A permissive umask, as a cron job or a shell often has; the test's own is restored after."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def demo_program(tmp_path, monkeypatch, umask) -> Path:
    root = tmp_path / "program"
    demo.write_program(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setattr(purge, "today", lambda settings: TODAY)
    return root


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# --- owner-only files -------------------------------------------------------------


def test_everything_a_run_writes_is_readable_by_its_owner_only(demo_program):
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    tops = [demo_program / name for name in ("var", "audit", "quarantine")]
    folders = tops + [p for top in tops for p in top.rglob("*") if p.is_dir()]
    files = [p for top in tops for p in top.rglob("*") if p.is_file()]
    assert {p.relative_to(demo_program).as_posix() for p in folders} == {
        "var", "audit", "quarantine", f"quarantine/{DAY}"}
    assert {"attendbot.db", f"{DAY}-attendance-audit.xlsx", "Scan_0042.pdf.why.txt"} <= {p.name for p in files}
    wrong = {p.relative_to(demo_program).as_posix(): oct(_mode(p)) for p in folders if _mode(p) != 0o700}
    # the quarantined file itself keeps the mode it had in the inbox: see the next test
    wrong |= {p.relative_to(demo_program).as_posix(): oct(_mode(p)) for p in files
              if _mode(p) != 0o600 and p.name != "Scan_0042.pdf"}
    assert wrong == {}


def test_a_quarantined_file_dropped_group_readable_becomes_owner_only(demo_program):
    scan = demo_program / "inbox" / DAY.isoformat() / "Scan_0042.pdf"
    assert _mode(scan) == 0o644
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    assert _mode(demo_program / "quarantine" / DAY.isoformat() / "Scan_0042.pdf") == 0o600


def test_the_ledgers_wal_and_shm_files_are_owner_only_even_under_a_permissive_umask(tmp_path, umask):
    ledger = Ledger(tmp_path / "var" / "ledger.db")
    try:
        ledger.start_run(DAY, dry_run=True)
        sidecars = [tmp_path / "var" / f"ledger.db{suffix}" for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in sidecars)
        assert {p.name: oct(_mode(p)) for p in [ledger.path, *sidecars]} == {
            "ledger.db": "0o600", "ledger.db-wal": "0o600", "ledger.db-shm": "0o600"}
        assert _mode(tmp_path / "var") == 0o700
    finally:
        ledger.close()


def test_main_leaves_the_callers_umask_as_it_found_it(demo_program):
    assert main(["check"]) == 0
    assert os.umask(0o022) == 0o022


# --- no patient data in logs ------------------------------------------------------


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _patient_identifiers() -> set[str]:
    """Every demo patient's first and last names (with and without accents) and MRN."""
    names = [row[2] for row in demo.CHARGES] + [row[1] for row in demo.EHR]
    names += [line.name for sheets in demo._sheets() for sheet in sheets for line in sheet.lines]
    words = {w for name in names for w in re.split(r"[,\s]+", name) if len(w) > 1}
    return words | {_plain(w) for w in words} | {row[1] for row in demo.CHARGES} | {row[0] for row in demo.EHR}


def _found(identifiers: set[str], text: str) -> set[str]:
    return {w for w in identifiers if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, re.IGNORECASE)}


def test_the_identifier_list_covers_accented_and_plain_names_and_mrns():
    ids = _patient_identifiers()
    assert {"Núñez", "Nunez", "María", "Maria", "MARIA", "Okafor", "Chidi", "004821", "Vance", "Fey"} <= ids


def test_logs_and_console_output_of_a_run_hold_no_patient_names_or_mrns(demo_program, caplog, capsys):
    caplog.set_level(logging.INFO, logger="attendbot")
    assert main(["-v", "run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    assert main(["-v", "run", "--date", DAY.isoformat()]) == 0  # no token: a dry run that says so
    assert main(["-v", "run", "--date", OTHER_DAY.isoformat()]) == 0
    assert main(["-v", "check"]) == 0
    captured = capsys.readouterr()
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert any(r.name.startswith("attendbot") for r in caplog.records)  # the scan's quarantine, at least
    assert "22 charges" in captured.out
    ids = _patient_identifiers()
    assert _found(ids, logged) == set()
    assert _found(ids, captured.out) == set()
    assert _found(ids, captured.err) == set()


# --- secrets stay out of config files ---------------------------------------------


@pytest.mark.parametrize("main_toml, payers_toml, file, key", [
    ('[slack]\nbot_token = "xoxb-1234-5678-AbCdEf"\n', "", "attendbot.toml", "slack.bot_token"),
    ('[slack]\nslack_token = ""\n', "", "attendbot.toml", "slack.slack_token"),
    ('token = "anything"\n', "", "attendbot.toml", "token"),
    ('[slack]\nbilling_channel = "xoxb-1234-5678-AbCdEf"\n', "", "attendbot.toml", "slack.billing_channel"),
    ('[slack]\napi_url = "https://slack.example/api?auth=xoxp-99-AbC"\n', "", "attendbot.toml", "slack.api_url"),
    ('[slack.facilitators]\n"Dana Whitfield" = "xapp-1-A0B1-xyz"\n', "", "attendbot.toml",
     "slack.facilitators.Dana Whitfield"),
    ('[secrets]\nSLACK_BOT_TOKEN = "xoxe.xoxp-1-AbC"\n', "", "attendbot.toml", "secrets"),
    ("", '[payers.x]\npassword = "hunter2"\n', "payers.toml", "payers.x.password"),
    ("", '[payers.x]\nmatch = ["aetna", "xoxb-77-Zz"]\n', "payers.toml", "payers.x.match.1"),
    ("", '[defaults.codes.H0015]\nunit = "day"\nsecret = 1\n', "payers.toml", "defaults.codes.H0015.secret"),
])
def test_a_secret_in_a_config_file_is_refused_naming_file_and_key(program, main_toml, payers_toml, file, key):
    program.write_config(main_toml, payers_toml)
    with pytest.raises(ConfigError) as info:
        program.settings()
    err = info.value
    assert (Path(err.file).name, err.key, err.problem) == (file, key, config.SECRET_PROBLEM)
    assert "SLACK_BOT_TOKEN environment variable" in str(err)
    for secret in ("xoxb-", "xoxp-", "xapp-", "hunter2", "AbCdEf"):
        assert secret not in str(err)


def test_a_secret_is_reported_before_the_unknown_key_it_also_is(program):
    program.write_config('[slack]\nbot_tokn = "x"\nbot_token = "xoxb-1-2"\n', "")
    with pytest.raises(ConfigError, match="looks like a secret") as info:
        program.settings()
    assert info.value.key == "slack.bot_token"


def test_a_facilitator_or_payer_whose_name_looks_like_a_secret_word_is_fine(program):
    program.write_config('[slack.facilitators]\n"Toby Secret" = "U03TOBY"\n',
                         '[payers.token]\nmatch = ["token health plan"]\n')
    settings = program.settings()
    assert settings.slack.facilitators == {"Toby Secret": "U03TOBY"}
    assert settings.payers.policy_for("Token Health Plan", "H0015").section == "token"


def test_a_run_with_a_token_in_its_config_exits_2_naming_file_and_key(demo_program, capsys):
    path = demo_program / MAIN_TOML
    path.write_text(path.read_text().replace("[slack]\n", '[slack]\nbot_token = "xoxb-1234-5678-AbCdEf"\n'))
    assert main(["run", "--date", DAY.isoformat()]) == 2
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert f"{MAIN_TOML}: slack.bot_token: looks like a secret" in err
    assert "SLACK_BOT_TOKEN environment variable" in err and "xoxb" not in err
    assert not (demo_program / "var").exists()


# --- retention and purge ----------------------------------------------------------


@pytest.mark.parametrize("toml, key, words", [
    ("[retention]\nkeep_days = -1\n", "retention.keep_days", "greater than or equal to 0"),
    ("[retention]\nkeep_days = \"90\"\n", "retention.keep_days", "integer"),
    ("[retention]\nkeep = 90\n", "retention.keep", "unknown key"),
])
def test_a_bad_retention_setting_names_the_key(program, toml, key, words):
    program.write_config(toml, "")
    with pytest.raises(ConfigError) as info:
        program.settings()
    assert info.value.key == key and words in info.value.problem


def test_retention_is_off_by_default(program):
    assert program.settings().main.retention.keep_days == 0


EHR_23 = ["Session Date", "Client ID", "Client Name", "Group", "Attendance Status", "Check In", "Check Out",
          "Note Status", "Staff", "Service Mode"]


@pytest.fixture
def two_days(demo_program) -> Path:
    """The demo program reconciled for 23 and 24 November: the 23rd's run quarantines the scan and
    reads an export holding only the 23rd; the 24th's quarantines a broken PDF of its own."""
    write_table_csv(demo_program / "inbox" / "ehr_2026-11-23.csv", EHR_23,
                    [("11/23/2026", "004822", "Okafor, Chidi", "Morning Process", "Present", "09:00", "12:00",
                      "Signed", demo.DANA, "In Person")])
    settings = config.load(MAIN_TOML)
    run_day(settings, OTHER_DAY, dry_run=True)
    (demo_program / "inbox" / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type")
    run_day(settings, DAY, dry_run=True)
    return demo_program


def _dump(root: Path) -> dict[str, set[str]]:
    db = sqlite_utils.Database(root / "var" / "attendbot.db")
    try:
        return {t: {json.dumps(r, sort_keys=True) for r in db[t].rows} for t in db.table_names()
                if not t.startswith("_")}
    finally:
        db.close()


def _rows(dump: dict[str, set[str]], table: str) -> list[dict]:
    return [json.loads(r) for r in dump[table]]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(("-wal", "-shm", ".lock"))}


DAY_COLUMN = {"charges": "service_date", "attendance": "service_date", "signin_sheets": "service_date",
              "dispositions": "day", "gaps": "day", "no_shows": "day", "slack_messages": "day", "runs": "day"}


def test_purge_deletes_exactly_the_older_days_rows_workbook_and_quarantine_folder(two_days, capsys):
    leftover = two_days / "audit" / f".{OTHER_DAY}-attendance-audit.xlsx.k3j9.tmp"
    leftover.write_bytes(b"half a workbook")
    before, inbox_before = _dump(two_days), _tree(two_days / "inbox")
    old = {t: [r for r in _rows(before, t) if r[c] < DAY.isoformat()] for t, c in DAY_COLUMN.items()}
    assert all(old[t] for t in ("attendance", "gaps", "runs", "slack_messages"))  # there is something to purge

    assert main(["purge", "--before", DAY.isoformat()]) == 0

    after = _dump(two_days)
    for table, column in DAY_COLUMN.items():  # every row of the 24th is kept as it was, none of the 23rd
        assert after[table] == {r for r in before[table] if json.loads(r)[column] >= DAY.isoformat()}, table
    assert after["signin_lines"] == before["signin_lines"]  # all on the 24th's sheets
    kept_gaps = {g["id"] for g in _rows(after, "gaps")}
    assert after["gap_events"] == {e for e in before["gap_events"] if json.loads(e)["gap_id"] in kept_gaps}
    assert after["gap_events"] < before["gap_events"]
    files = {f["name"]: f for f in _rows(after, "files")}
    gone = {f["name"] for f in _rows(before, "files")} - set(files)
    # first seen by the 23rd's run and holding no later day: the scan quarantined then, the stray
    # document, and the export of the 23rd alone; the week's EHR export also serves the 24th and stays
    assert gone == {f"{DAY}/Scan_0042.pdf", "meeting-notes.docx", "ehr_2026-11-23.csv"}
    assert files["EHR_attendance.csv"]["days"] == json.dumps([OTHER_DAY.isoformat(), DAY.isoformat()])
    assert after["problems"] == {p for p in before["problems"] if json.loads(p)["file_sha"] in
                                 {f["sha256"] for f in files.values()}}

    assert sorted(p.name for p in (two_days / "audit").iterdir()) == [f"{DAY}-attendance-audit.xlsx"]
    assert sorted(p.relative_to(two_days / "quarantine").as_posix() for p in (two_days / "quarantine").rglob("*")) \
        == [str(DAY), f"{DAY}/broken.pdf", f"{DAY}/broken.pdf.why.txt"]
    assert _tree(two_days / "inbox") == inbox_before  # the inbox is never touched

    out = capsys.readouterr().out
    assert f"service days before {DAY} — deleted" in out
    assert f"attendance {len(old['attendance'])}," in out and f"runs {len(old['runs'])}" in out
    assert "audit workbooks: 1 (and 1 leftover temporary file)" in out
    assert "quarantined files: 1 (in 1 day folder)" in out
    assert "note: 1 input file in the inbox holds only days before 2026-11-24; the next run reads it again" in out
    assert _found(_patient_identifiers(), out) == set()


def test_purged_rows_do_not_linger_in_the_ledger_file(two_days):
    before = _dump(two_days)
    old = [g["id"] for g in _rows(before, "gaps") if g["day"] < DAY.isoformat()]
    old += [m["payload_hash"] for m in _rows(before, "slack_messages") if m["day"] < DAY.isoformat()]
    assert len(old) >= 2
    assert main(["purge", "--before", DAY.isoformat()]) == 0
    raw = b"".join(p.read_bytes() for p in (two_days / "var").glob("attendbot.db*") if p.is_file())
    assert [value for value in old if value.encode() in raw] == []


def test_the_ledger_still_reconciles_after_a_purge(two_days):
    assert main(["purge", "--before", DAY.isoformat()]) == 0
    outcome = run_day(config.load(MAIN_TOML), DAY, dry_run=True)
    assert len(outcome.result.charges) == 22


def test_purge_dry_run_counts_and_changes_nothing(two_days, capsys):
    before = (_dump(two_days), _tree(two_days))
    assert main(["purge", "--before", DAY.isoformat(), "--dry-run"]) == 0
    assert (_dump(two_days), _tree(two_days)) == before
    out = capsys.readouterr().out
    assert "would delete (dry run: nothing was changed)" in out
    assert "audit workbooks: 1" in out and "quarantined files: 1 (in 1 day folder)" in out


def test_purge_without_a_cut_off_says_retention_is_off_and_deletes_nothing(two_days, capsys):
    before = _tree(two_days)
    assert main(["purge"]) == 2
    assert "retention is off: give --before DATE or set [retention] keep_days" in capsys.readouterr().err
    assert _tree(two_days) == before


def test_purge_takes_the_cut_off_from_keep_days_in_the_program_time_zone(two_days, capsys):
    path = two_days / MAIN_TOML
    path.write_text(path.read_text() + "\n[retention]\nkeep_days = 1\n")  # today is the 25th: keep the 24th on
    assert main(["purge"]) == 0
    assert f"service days before {DAY}" in capsys.readouterr().out
    assert sorted(p.name for p in (two_days / "audit").iterdir()) == [f"{DAY}-attendance-audit.xlsx"]
    assert {r["day"] for r in _rows(_dump(two_days), "runs")} == {DAY.isoformat()}


def test_purge_refuses_a_cut_off_after_today(two_days, capsys):
    before = _tree(two_days)
    assert main(["purge", "--before", "2062-11-24"]) == 2
    assert "is after today (2026-11-25)" in capsys.readouterr().err
    assert _tree(two_days) == before


def test_purge_before_any_run_creates_no_ledger(demo_program, capsys):
    assert main(["purge", "--before", DAY.isoformat()]) == 0
    assert "ledger: no ledger file yet" in capsys.readouterr().out
    assert not (demo_program / "var").exists()


def test_purge_refuses_a_damaged_ledger_and_leaves_it_untouched(two_days, capsys):
    db = two_days / "var" / "attendbot.db"
    db.write_bytes(b"not a database" * 500)
    assert main(["purge", "--before", DAY.isoformat()]) == 1
    assert "damaged or not an attendbot ledger" in capsys.readouterr().err
    assert db.read_bytes() == b"not a database" * 500
    assert (two_days / "audit" / f"{OTHER_DAY}-attendance-audit.xlsx").exists()
