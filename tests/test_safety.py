"""Tried as a hostile user would (issue 9): nothing escapes the inbox, one bad value never stops a
day, attendbot never reads its own output, a damaged or full ledger is never written to, and no
secret, forged line or other patient's name reaches Slack, a log or the ledger's message rows.

Every test works on real files and a real SQLite ledger it makes itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from attendbot import config, purge
from attendbot.cli import main
from attendbot.demo import write_program
from attendbot.errors import ConfigError
from attendbot.ingest import sandbox
from attendbot.ledger import Ledger
from attendbot.readers import parse
from attendbot.readers.source import SourceFile
from attendbot.run import run_day
from attendbot.samples.drafts import LineDraft
from attendbot.samples.signin_pdf import write_signin_pdf
from attendbot.samples.tables import write_table_csv, write_table_xlsx

from builders import CHARGE_HEADER, DAY, EHR_HEADER, charge_row, ehr_row, morning_sheet

AFTERNOON = dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.timezone(dt.timedelta(hours=-6)))


def strings(obj) -> list[str]:
    """Every string in a Block Kit payload."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings(v)]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in strings(v)]
    return []


def reports(outcome) -> dict:
    return {f.path.rsplit("/", 1)[-1]: f for f in outcome.files}


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder`` (links not followed): a file's bytes, a link's target."""
    out: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_file():
            out[key] = path.read_bytes()
        else:
            out[key] = "dir"
    return out


def good_charges(program, name: str = "charges.csv") -> Path:
    return write_table_csv(program.inbox / name, CHARGE_HEADER,
                           [charge_row("C-1", "M-1", "Silva, Ana"), charge_row("C-2", "M-2", "Okoro, Ben")])


def cli(root: Path, *args: str, unprivileged: bool = False, timeout: float = 180) -> subprocess.CompletedProcess:
    """``attendbot run`` as a separate process in ``root``, with a time limit. ``unprivileged``:
    without the capabilities that let root ignore file permissions (a folder mode 0, a
    read-only file), so the run meets them as any other user would."""
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")}
    prefix: list[str] = []
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
        drop = "-dac_override,-dac_read_search,-fowner"
        prefix = [setpriv, f"--bounding-set={drop}", f"--inh-caps={drop}", "--"]
    return subprocess.run([*prefix, sys.executable, "-m", "attendbot", "run", "--date", DAY.isoformat(), *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=timeout)


# --- the inbox is read safely ------------------------------------------------------------


def test_a_linked_folder_and_linked_files_are_listed_ignored_and_never_moved_or_deleted_even_by_purge(
        program, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "2026-11-24").mkdir(parents=True)
    (elsewhere / "empty.csv").write_bytes(b"")
    (elsewhere / "damaged.xlsx").write_bytes(b"PK\x03\x04 not really a workbook" * 10)
    write_table_csv(elsewhere / "charges-elsewhere.csv", CHARGE_HEADER, [charge_row("C-9", "M-9", "Vale, Indigo")])
    (elsewhere / "2026-11-24" / "notes.pdf").write_bytes(b"%PDF-1.4 broken")
    good_charges(program)
    (program.inbox / "linked-folder").symlink_to(elsewhere, target_is_directory=True)
    (program.inbox / "2026-11-24").mkdir()
    (program.inbox / "2026-11-24" / "linked-file.csv").symlink_to(elsewhere / "empty.csv")
    (program.inbox / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    (program.root / "var").mkdir()
    (program.inbox / "ledger-folder").symlink_to(program.root / "var", target_is_directory=True)
    before = snapshot(elsewhere)

    outcome = program.run()

    seen = reports(outcome)
    for name in ("linked-folder", "linked-file.csv", "dangling.csv", "ledger-folder"):
        assert (seen[name].status, seen[name].detail) == ("ignored", "a symbolic link: links are never followed "
                                                          "— copy the file itself into the inbox"), name
    assert sorted(cr.charge.charge_id for cr in outcome.result.charges) == ["C-1", "C-2"]
    assert not any("elsewhere" in f.path for f in outcome.files)
    assert snapshot(elsewhere) == before
    assert (program.root / "var" / "attendbot.db.lock").exists() or (program.root / "var" / "attendbot.db").exists()
    assert not (program.quarantine / DAY.isoformat()).exists()

    settings = program.settings()
    purge.purge(settings, DAY + dt.timedelta(days=400))
    assert snapshot(elsewhere) == before
    assert (program.inbox / "linked-folder").is_symlink()


def test_a_quarantine_folder_that_is_a_link_is_neither_written_through_nor_purged_through(program, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "2026-01-05").mkdir(parents=True)
    (elsewhere / "2026-01-05" / "keep.txt").write_text("someone else's")
    program.quarantine.symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    good_charges(program)
    (program.inbox / "empty.csv").write_bytes(b"")

    outcome = program.run()

    report = reports(outcome)["empty.csv"]
    assert report.status == "unreadable" and report.quarantined_to is None
    assert "it was left in the inbox because" in report.detail and "symbolic link" in report.detail
    assert (program.inbox / "empty.csv").exists()
    assert snapshot(elsewhere) == before
    purge.purge(program.settings(), DAY + dt.timedelta(days=400))
    assert snapshot(elsewhere) == before


def test_a_link_planted_where_a_quarantine_note_goes_is_never_written_through(program, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "existing.txt").write_text("keep me")
    folder = program.quarantine / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "bad.csv.why.txt").symlink_to(victim / "created-through-the-link.txt")  # dangling: would be created
    (folder / "bad.1.csv").symlink_to(victim / "existing.txt")
    (folder / "bad.2.csv.why.txt").symlink_to(victim / "existing.txt")
    good_charges(program)
    (program.inbox / "bad.csv").write_bytes(b"")

    outcome = program.run()

    assert sorted(p.name for p in victim.iterdir()) == ["existing.txt"]
    assert (victim / "existing.txt").read_text() == "keep me"
    report = reports(outcome)["bad.csv"]
    assert report.status == "unreadable" and report.quarantined_to.endswith("quarantine/2026-11-24/bad.3.csv")
    assert (folder / "bad.3.csv").is_file() and not (folder / "bad.3.csv").is_symlink()
    assert "bad.csv was moved here" in (folder / "bad.3.csv.why.txt").read_text()
    assert all((folder / name).is_symlink() for name in ("bad.csv.why.txt", "bad.1.csv", "bad.2.csv.why.txt"))


def test_a_note_left_by_a_cut_short_quarantine_is_taken_again_only_for_the_same_file(program):
    """A note with no file beside it is reused only when its ledger key is this file's; another
    file's note and a pipe under a note's name are left as they are (and never waited on)."""
    folder = program.quarantine / DAY.isoformat()
    folder.mkdir(parents=True)
    others = "other.csv was moved here ...\n\nLedger key: " + "0" * 64 + "\n"
    (folder / "bad.csv.why.txt").write_text(others)
    os.mkfifo(folder / "bad.1.csv.why.txt")
    (folder / "bad.2.csv.why.txt").write_text("bad.csv was moved here ...\n\nLedger key: "
                                              + hashlib.sha256(b"").hexdigest() + "\n")
    good_charges(program)
    (program.inbox / "bad.csv").write_bytes(b"")

    outcome = program.run()

    assert reports(outcome)["bad.csv"].quarantined_to.endswith("quarantine/2026-11-24/bad.2.csv")
    assert sorted(p.name for p in folder.iterdir()) == ["bad.1.csv.why.txt", "bad.2.csv", "bad.2.csv.why.txt",
                                                       "bad.csv.why.txt"]
    assert (folder / "bad.csv.why.txt").read_text() == others
    assert stat.S_ISFIFO((folder / "bad.1.csv.why.txt").lstat().st_mode)
    note = (folder / "bad.2.csv.why.txt").read_text()
    assert "could not be read" in note and note.endswith(f"Ledger key: {hashlib.sha256(b'').hexdigest()}\n")


def test_a_named_pipe_in_the_inbox_is_listed_ignored_and_the_run_never_blocks_on_it(tmp_path):
    root = tmp_path / "program"
    write_program(root)
    os.mkfifo(root / "inbox" / "pipe.csv")
    os.mkfifo(root / "inbox" / "2026-11-24" / "charges-pipe.xlsx")

    proc = cli(root, "--json", timeout=120)  # a run that opened a pipe would wait for a writer forever

    assert proc.returncode == 0, proc.stderr
    files = {f["path"]: f for f in json.loads(proc.stdout)["files"]}
    for name in ("inbox/pipe.csv", "inbox/2026-11-24/charges-pipe.xlsx"):
        assert files[name]["status"] == "ignored"
        assert files[name]["detail"] == "a named pipe (FIFO), not a file: it is never opened"
    assert (root / "inbox" / "pipe.csv").exists()


def test_a_folder_that_cannot_be_read_and_a_folder_too_deep_are_listed_ignored(tmp_path):
    root = tmp_path / "program"
    write_program(root)
    inbox = root / "inbox"
    (inbox / "2026-11-24" / "deeper").mkdir()
    write_table_csv(inbox / "2026-11-24" / "deeper" / "charges.csv", CHARGE_HEADER,
                    [charge_row("C-9", "M-9", "Vale, Indigo")])
    (inbox / "locked").mkdir()
    (inbox / "locked" / "charges.csv").write_text("Charge ID\n")
    os.chmod(inbox / "locked", 0)

    proc = cli(root, "--json", unprivileged=True)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    files = {f["path"]: f for f in json.loads(proc.stdout)["files"]}
    assert files["inbox/locked"]["status"] == "ignored"
    assert files["inbox/locked"]["detail"] == ("a folder that cannot be read (Permission denied): "
                                               "its files were not read")
    assert files["inbox/2026-11-24/deeper"]["detail"] == ("a folder inside a day folder: only the inbox and its "
                                                          "day folders are read")
    os.chmod(inbox / "locked", 0o700)
    assert (inbox / "2026-11-24" / "deeper" / "charges.csv").exists()


@pytest.mark.parametrize("how, problem", [
    ("root", "is the filesystem root"),
    ("home", "is a home folder"),
    ("program", "contains the ledger"),
    ("audit", "contains the audit folder"),
    ("quarantine", "contains the quarantine folder"),
])
def test_an_inbox_that_is_root_a_home_folder_or_holds_attendbots_own_files_exits_2(
        tmp_path, monkeypatch, capsys, how, problem):
    root = tmp_path / "program"
    write_program(root)
    monkeypatch.chdir(root)
    args = []
    if how == "root":
        args = ["--inbox", "/"]
    elif how == "home":
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        (tmp_path / "home").mkdir()
        args = ["--inbox", str(tmp_path / "home")]
    elif how == "program":
        args = ["--inbox", "."]
    elif how == "audit":
        args = ["--audit-dir", "inbox/audit"]
    else:  # the quarantine beside the inbox is a link into it
        (root / "inbox" / "q").mkdir()
        (root / "quarantine").symlink_to(root / "inbox" / "q", target_is_directory=True)
    before = snapshot(root)

    assert main(["run", "--date", DAY.isoformat(), *args]) == 2

    err = capsys.readouterr().err
    assert err.startswith("attendbot: configuration error: config/attendbot.toml: ") and problem in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert snapshot(root) == before


def test_check_refuses_audit_dir_inside_the_inbox(tmp_path, monkeypatch, capsys):
    root = tmp_path / "program"
    path = write_program(root)
    path.write_text(path.read_text().replace('audit_dir = "audit"', 'audit_dir = "inbox/audit"'))
    monkeypatch.chdir(root)
    assert main(["check"]) == 2
    assert "paths.inbox: inbox contains the audit folder" in capsys.readouterr().err.replace(str(root) + "/", "")


# --- attendbot's own outputs are never inputs ---------------------------------------------


@pytest.mark.parametrize("mark", ["marked", "older, unmarked"])
def test_an_audit_workbook_dropped_into_the_inbox_is_ignored_as_attendbots_own(program, mark):
    good_charges(program)
    first = program.run()
    copy = program.inbox / "2026-11-24-attendance-audit (copy).xlsx"
    if mark == "marked":
        shutil.copy(first.workbook, copy)
    else:
        wb = openpyxl.load_workbook(first.workbook)
        wb.custom_doc_props.props.clear()
        wb.save(copy)
        assert "attendbot-audit-workbook" not in str(openpyxl.load_workbook(copy).custom_doc_props.props)

    second = program.run()

    report = reports(second)[copy.name]
    assert (report.status, report.kind) == ("ignored", "unknown")
    assert report.detail.startswith("attendbot's own audit workbook (an output, never read as an input)")
    assert [(cr.charge.charge_id, str(cr.disposition)) for cr in second.result.charges] == \
           [(cr.charge.charge_id, str(cr.disposition)) for cr in first.result.charges]


# --- size limits from stat(), before any byte is read ----------------------------------------


def test_a_20_gb_sparse_file_is_refused_from_its_size_without_a_byte_hashed_or_read(program, monkeypatch):
    good_charges(program)
    huge = program.inbox / "huge.csv"
    with huge.open("wb") as f:
        f.write(b"Charge ID,Date of Service\n")
    os.truncate(huge, 20 * 1024**3)
    opened = SourceFile.open

    def refuse_huge(self):
        assert self.path.name != "huge.csv", "the 20 GB file was opened"
        return opened(self)

    monkeypatch.setattr(SourceFile, "open", refuse_huge)  # the forked reader inherits it

    outcome = program.run()

    report = reports(outcome)["huge.csv"]
    assert report.status == "unreadable"
    assert report.detail == ("the file is 20,480 MB, more than the 100 MB an export or sign-in file may be: "
                             "export a shorter date range, or split it")
    moved = program.quarantine / DAY.isoformat() / "huge.csv"
    assert moved.stat().st_size == 20 * 1024**3 and not huge.exists()
    assert sorted(cr.charge.charge_id for cr in outcome.result.charges) == ["C-1", "C-2"]


# --- a value that cannot be right costs its row, never the file or the run ------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_values_that_cannot_be_right_cost_only_their_rows(program, fmt):
    rows = [charge_row("C-1", "M-1", "Silva, Ana"),
            charge_row("C-2", "M-2", "Okoro, Ben", units=1e19),
            charge_row("C-3", "M-3", "Moore, Casey", units=-2),
            charge_row("C-4", "M-4", "Fields, Drew", day="31/02/2026"),
            charge_row("C-5", "M-5", "Banks, Emery"),
            charge_row("C-6", "M-6", "Hart, Finley")]
    rows[4][-1] = "inf"
    rows[5][-1] = "nan"
    if fmt == "csv":
        write_table_csv(program.inbox / "charges.csv", CHARGE_HEADER, rows)
    else:
        write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER, rows)

    outcome = program.run()
    again = program.run(DAY + dt.timedelta(days=1))  # and every later day still runs

    report = reports(outcome)[f"charges.{fmt}"]
    assert report.status == "read"
    assert [cr.charge.charge_id for cr in outcome.result.charges] == ["C-1"]
    assert report.detail.startswith("1 charge line (2026-11-24); 5 not used: row 3: ")
    assert "units cannot be right (more than 1,000 on one line)" in report.detail
    assert "units cannot be right (a negative count)" in report.detail
    assert "'31/02/2026' is not a date" in report.detail
    assert again.result.day == DAY + dt.timedelta(days=1)
    ledger = Ledger(program.settings().db)
    try:
        problems = [r["message"] for r in ledger.db["problems"].rows]
        assert any(m.startswith("row 6: 'inf' is not an amount that can be right") for m in problems)
        assert any(m.startswith("row 7: 'nan' is not an amount that can be right") for m in problems)
    finally:
        ledger.close()


def test_a_value_the_ledger_cannot_store_quarantines_that_file_and_the_run_goes_on(program, monkeypatch):
    # Both checks that stop it earlier switched off: the storing itself must be inside the file's trap.
    monkeypatch.setattr(parse, "parse_units", lambda value: int(float(value)))
    monkeypatch.setattr(sandbox, "vetted", lambda result: result)
    write_table_csv(program.inbox / "charges.csv", CHARGE_HEADER,
                    [charge_row("C-1", "M-1", "Silva, Ana", units=1e19)])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER, [ehr_row("M-1", "Silva, Ana")])

    outcome = program.run()

    report = reports(outcome)["charges.csv"]
    assert report.status == "unreadable"
    assert report.detail.startswith("a value in it cannot be stored (OverflowError: ")
    assert (program.quarantine / DAY.isoformat() / "charges.csv").exists()
    assert reports(outcome)["ehr.csv"].status == "read"


# --- an ignored file is looked at again --------------------------------------------------------


def test_an_ignored_file_is_identified_again_so_a_new_columns_mapping_takes_effect_at_once(program):
    header = ["Person Key" if h == "MRN" else h for h in CHARGE_HEADER]
    write_table_csv(program.inbox / "charges.csv", header, [charge_row("C-1", "M-1", "Silva, Ana")])
    first = program.run()
    assert reports(first)["charges.csv"].status == "ignored"
    assert first.result.charges == []

    main_toml = program.config_path.read_text()
    assert 'patient_id = ["Acct No"]' in main_toml
    program.config_path.write_text(main_toml.replace('patient_id = ["Acct No"]', 'patient_id = ["Acct No", "Person Key"]'))
    second = program.run()

    assert (reports(second)["charges.csv"].status, reports(second)["charges.csv"].kind) == ("read", "charges")
    assert [(cr.charge.charge_id, cr.charge.patient_id) for cr in second.result.charges] == [("C-1", "M-1")]


# --- the ledger -----------------------------------------------------------------------------------


def _damage_a_middle_page(db: Path) -> None:
    """Garbage over one page in the middle of the file — an index of the charges, a page opening the
    ledger never reads — leaving the header and the schema intact: only a check of every page finds it."""
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        [page] = conn.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'charges' "
                              "ORDER BY rootpage DESC LIMIT 1").fetchone()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert 1 < page < pages
    data = bytearray(db.read_bytes())
    start = page_size * (page - 1)
    data[start:start + page_size] = bytes([0xA5]) * page_size
    db.write_bytes(bytes(data))


def _newer(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('attendbot', 'm999_from_the_future', '2099-01-01')")
    conn.close()


@pytest.mark.parametrize("damage, words", [
    (_damage_a_middle_page, "is damaged or not an attendbot ledger (quick_check: "),
    (_newer, "was written by a newer version of attendbot (schema m999_from_the_future)"),
])
def test_a_damaged_or_newer_ledger_stops_the_run_with_exit_1_and_is_never_written(tmp_path, monkeypatch,
                                                                                    capsys, damage, words):
    root = tmp_path / "program"
    write_program(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    db = root / "var" / "attendbot.db"
    damage(db)
    before = db.read_bytes()
    (root / "inbox" / "late.csv").write_text("Session Date,Client ID,Group,Attendance Status\n"
                                             "11/24/2026,004824,Morning Process,Present\n")
    capsys.readouterr()

    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 1

    err = capsys.readouterr().err
    assert words in err and "left untouched" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert db.read_bytes() == before
    assert (root / "inbox" / "late.csv").exists()


def test_a_read_only_ledger_stops_the_run_with_exit_1_and_is_never_written(tmp_path):
    root = tmp_path / "program"
    write_program(root)
    assert cli(root, "--dry-run").returncode == 0
    db = root / "var" / "attendbot.db"
    os.chmod(db, 0o444)
    before = db.read_bytes()

    proc = cli(root, "--dry-run", unprivileged=True)

    assert proc.returncode == 1
    assert proc.stderr == (f"attendbot: the ledger {db} is read-only (the file cannot be written); it was left "
                           "untouched — make it and its folder writable by the user attendbot runs as, or set "
                           "--db / [paths] db to another file\n")
    assert db.read_bytes() == before


def test_a_ledger_filling_the_disk_mid_run_is_reported_full_not_damaged_and_the_days_results_stay(
        tmp_path, monkeypatch, capsys):
    root = tmp_path / "program"
    write_program(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    db = root / "var" / "attendbot.db"

    def results() -> dict:
        ledger = Ledger(db)
        try:
            return {t: list(ledger.db[t].rows) for t in ("dispositions", "gaps", "no_shows", "files")}
        finally:
            ledger.close()

    before = results()
    opened = Ledger.__init__

    def no_room_to_grow(self, path, **kwargs):  # SQLite's own SQLITE_FULL, as on a full disk
        opened(self, path, **kwargs)
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count = {pages}")

    monkeypatch.setattr(Ledger, "__init__", no_room_to_grow)
    for n in range(40):  # more than the ledger has room for
        write_table_csv(root / "inbox" / f"late-{n}.csv", EHR_HEADER,
                        [ehr_row(f"M-{n}-{i}", "Silva, Ana") for i in range(50)])
    capsys.readouterr()

    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 1

    err = capsys.readouterr().err
    assert "is full (database or disk is full)" in err and "free some space" in err
    assert "damaged" not in err and "Traceback" not in err and err.count("\n") == 1
    monkeypatch.setattr(Ledger, "__init__", opened)
    assert results() == before


def test_a_disk_with_no_room_left_is_said_before_the_ledger_is_touched(tmp_path, monkeypatch, capsys):
    root = tmp_path / "program"
    write_program(root)
    monkeypatch.chdir(root)
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    db = root / "var" / "attendbot.db"
    before = db.read_bytes()
    full = shutil.disk_usage(db.parent)._replace(free=4096)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: full)
    capsys.readouterr()

    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 1

    assert capsys.readouterr().err == (f"attendbot: the disk holding the ledger {db} is full (4,096 bytes free); "
                                       "nothing was written to it — free some space and run again\n")
    assert db.read_bytes() == before


def test_a_db_whose_folder_cannot_be_made_exits_1_with_a_clear_line(tmp_path, monkeypatch, capsys):
    root = tmp_path / "program"
    write_program(root)
    monkeypatch.chdir(root)
    (root / "a-file").write_text("not a folder")

    assert main(["run", "--date", DAY.isoformat(), "--dry-run", "--db", "a-file/ledger/attendbot.db"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("attendbot: ") and "a-file" in err and "Traceback" not in err and err.count("\n") == 1
    assert main(["run", "--date", DAY.isoformat(), "--dry-run", "--db", "new/folder/attendbot.db"]) == 0
    assert (root / "new" / "folder" / "attendbot.db").exists()


# --- secrets -----------------------------------------------------------------------------------

TOKEN = "xoxb-1111-2222-TopSecretValue"
APP_TOKEN = "xapp-1-A0B1-AnotherSecret"


@pytest.mark.parametrize("fault", [{"status": 200}, {"status": 502}], ids=["slack error", "proxy page"])
def test_a_token_echoed_in_an_error_never_reaches_the_outbox_the_log_or_the_billing_summary(
        tmp_path, monkeypatch, stub, caplog, fault):
    from attendbot.outputs import slack_delivery

    root = tmp_path / "program"
    path = write_program(root)
    path.write_text(path.read_text().replace("[slack]\n", f'[slack]\napi_url = "{stub.url}"\n'))
    monkeypatch.chdir(root)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setattr(slack_delivery, "PACE_SECONDS", 0.0)
    monkeypatch.setattr(slack_delivery, "RETRY_BACKOFF", 0.01)
    stub.fail("chat.postMessage", times=3 if fault["status"] == 200 else 1, echo_auth=True, **fault)
    caplog.set_level(logging.DEBUG)
    now = dt.datetime(2026, 11, 24, 16, 30, tzinfo=config.load(path).program.tz)

    outcome = run_day(config.load(path), DAY, dry_run=False, now=now)
    logging.getLogger("attendbot.slack").warning("what the endpoint said: %s", f"Bearer {TOKEN}")

    ledger = Ledger(root / "var" / "attendbot.db")
    try:
        stored = json.dumps([list(ledger.db[t].rows) for t in ("slack_messages", "runs")])
    finally:
        ledger.close()
    billing = [m for m in stub.posted() if "Billing summary" in (m["text"] or "")]
    assert billing
    if fault["status"] == 200:  # Slack's answer, with the echoed header in it, was stored and reported: cleaned
        assert "invalid_auth (you sent Bearer [redacted])" in stored
        assert "Slack refused a message to" in billing[0]["text"] and "[redacted]" in billing[0]["text"]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    shown = json.dumps([m.text for m in outcome.slack.messages] + list(outcome.slack.problems))
    for where in (stored, json.dumps(stub.posted()), logged, shown):
        for secret in (TOKEN, "TopSecretValue", APP_TOKEN):
            assert secret not in where


@pytest.mark.parametrize("main_toml, payers_toml, file, key", [
    ('[slack.facilitators]\n"xoxb-1234-5678-AbCdEf" = "U01DANA"\n', "", "attendbot.toml",
     "slack.facilitators.<a key that looks like a Slack token>"),
    ('[columns.charges]\n"xoxp-99-AbCdEf" = ["MRN"]\n', "", "attendbot.toml",
     "columns.charges.<a key that looks like a Slack token>"),
    ("", '[payers."xapp-1-A0B1-AbCdEf"]\nkind = "commercial"\n', "payers.toml",
     "payers.<a key that looks like a Slack token>"),
])
def test_a_token_used_as_a_config_key_is_refused_without_being_echoed(program, main_toml, payers_toml, file, key):
    program.write_config(main_toml, payers_toml)
    with pytest.raises(ConfigError) as info:
        program.settings()
    assert (Path(info.value.file).name, info.value.key, info.value.problem) == (file, key, config.SECRET_PROBLEM)
    assert "AbCdEf" not in str(info.value)


# --- control characters in file names and input text --------------------------------------


def test_a_file_name_or_a_cell_with_control_characters_forges_no_line_in_slack_or_the_log(program, caplog):
    good_charges(program)
    forged = "bad\nBilling summary — all 19 charges ready\r\x1b[2K.csv"
    (program.inbox / forged).write_bytes(b"")
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER,
                    [ehr_row("M-1", "Silva, Ana", group="Morning Process\x1b[31m\u202e"),
                     ehr_row("M-2", "Okoro,\nBen")])
    caplog.set_level(logging.INFO)

    outcome = run_day(program.settings(), DAY, now=AFTERNOON, dry_run=True)

    report = next(f for f in outcome.files if "/inbox/bad" in f.path)
    assert report.path.endswith("/inbox/bad?Billing summary — all 19 charges ready??[2K.csv")
    assert report.status == "unreadable"
    assert any(m.kind == "session" for m in outcome.slack.messages)
    for message in outcome.slack.messages:
        assert not any(ch in text for text in strings(message.blocks) for ch in "\r\x1b\u202e"), message.blocks
        assert not any(line.lstrip("• ").startswith("Billing summary — all 19") for text in strings(message.blocks)
                       for line in text.splitlines())
        assert not any(ch in message.text for ch in "\r\x1b\u202e")
        assert not any(line.startswith("Billing summary — all 19") for line in message.text.splitlines())
    assert "bad?Billing summary" in next(m.text for m in outcome.slack.messages if m.kind == "billing")
    assert [r for r in caplog.records if r.name.startswith("attendbot")]
    for record in caplog.records:
        if record.name.startswith("attendbot"):
            assert not any(ch in record.getMessage() for ch in "\n\r\x1b\u202e")
    ledger = Ledger(program.settings().db)
    try:
        names = [r["patient_name"] for r in ledger.db["attendance"].rows]
        assert "Okoro, Ben" in names and not any("\n" in (n or "") for n in names)
    finally:
        ledger.close()


# --- two patients' lines sharing one charge id ------------------------------------------------


def test_two_patients_lines_sharing_a_charge_id_are_both_kept_and_neither_is_named_for_the_other(program):
    text = program.config_path.read_text().replace('patient_identity = "none"', 'patient_identity = "initials"')
    program.config_path.write_text(text)
    write_table_csv(program.inbox / "charges.csv", CHARGE_HEADER,
                    [charge_row("C-7", "004821", "Silva, Ana"), charge_row("C-7", "004822", "Okoro, Ben")])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER,
                    [ehr_row("004821", "Silva, Ana"), ehr_row("004822", "Okoro, Ben")])
    write_signin_pdf(program.inbox / "sheet.pdf",
                     [morning_sheet(DAY, LineDraft("Ana Silva", "stroke", "9:00", "12:00"))])

    outcome = run_day(program.settings(), DAY, now=AFTERNOON, dry_run=True)

    assert sorted(cr.charge.patient_id for cr in outcome.result.charges) == ["004821", "004822"]
    ledger = Ledger(program.settings().db)
    try:
        rows = sorted((r["charge_id"], r["patient_id"]) for r in ledger.db["dispositions"].rows)
    finally:
        ledger.close()
    assert rows == [("C-7", "004821"), ("C-7", "004822")]
    okoro = [g for g in outcome.result.gaps if g.patient_id == "004822" and g.code == "NOT_ON_SIGNIN"]
    assert okoro, [(g.code, g.patient_id) for g in outcome.result.gaps]
    [alert] = [m for m in outcome.slack.messages if m.kind == "session"]
    lines = [line for line in alert.text.splitlines() if "not on the" in line]
    assert lines and all("B.O." in line and "…4822" in line for line in lines)
    assert all("A.S." not in line and "…4821" not in line for line in lines)
