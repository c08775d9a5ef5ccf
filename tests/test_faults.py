"""Faults the machine throws at a run: a kill mid-run, a full disk, two runs at once, odd text."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from attendbot import config, readers
from attendbot.cli import main
from attendbot.demo import DAY, write_program
from attendbot.ingest import Ingest, shown_path
from attendbot.ledger import Ledger
from attendbot.model import FileReport
from attendbot.run import run_day

# run ids, times and content hashes differ between two otherwise identical programs (openpyxl
# stamps the save time into every XLSX, so the demo's XLSX bytes differ); the rest must not
VOLATILE = {"run_id", "first_seen_at", "seq", "first_run", "last_run", "resolved_run", "id", "file_sha",
            "sheet_id", "sha256"}
RESULT_TABLES = ("dispositions", "no_shows", "files", "gaps", "charges", "attendance", "signin_sheets",
                 "signin_lines")


def final_state(root: Path) -> dict:
    """Everything a run leaves behind, minus run ids and timestamps."""
    ledger = Ledger(root / "var" / "attendbot.db")
    try:
        tables = {t: sorted(json.dumps({k: v for k, v in row.items() if k not in VOLATILE}, sort_keys=True)
                            for row in ledger.db[t].rows) for t in RESULT_TABLES}
        tables["slack"] = sorted((r["key"], r["status"], r["payload_hash"]) for r in ledger.db["slack_messages"].rows)
    finally:
        ledger.close()
    wb = openpyxl.load_workbook(root / "audit" / f"{DAY}-attendance-audit.xlsx", read_only=True)
    tables["workbook"] = {}
    for ws in wb.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        keep = [i for i, h in enumerate(rows[0]) if "SHA" not in str(h)]
        tables["workbook"][ws.title] = [[r[i] for i in keep] for r in rows]
    tables["audit_files"] = sorted(p.name for p in (root / "audit").iterdir())
    tables["quarantine"] = sorted(str(p.relative_to(root)) for p in (root / "quarantine").rglob("*"))
    tables["inbox"] = sorted(str(p.relative_to(root)) for p in (root / "inbox").rglob("*"))
    return tables


def run_cli(root: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    return subprocess.Popen([sys.executable, "-m", "attendbot", "run", "--date", DAY.isoformat(), "--json"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("reference")
    write_program(root)
    proc = run_cli(root)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return {"state": final_state(root), "json": json.loads(out)}


@pytest.mark.parametrize("delay", [0.4, 0.9, 1.3, 1.7, 2.2])
def test_a_run_killed_at_any_point_is_completed_by_the_next_run_as_if_never_interrupted(tmp_path, reference, delay):
    root = tmp_path / "program"
    root.mkdir()
    write_program(root)
    proc = run_cli(root)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    again = run_cli(root)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert json.loads(out) == reference["json"]
    assert final_state(root) == reference["state"]


# A kill at each step of quarantining the demo's blank scan: its note written, then its ledger
# row, then the move. The run's own process kills itself there (SIGKILL: no clean-up runs).
KILL_AT = {
    "after the note": "attendbot.ledger.Ledger.record_file",
    "after the ledger row": "attendbot.ingest.inbox.Slot.move",
}
KILLED_RUN = """
import os, signal, sys
from pydoc import locate
owner, _, attr = sys.argv[1].rpartition(".")
cls, real = locate(owner), getattr(locate(owner), attr)
def kill(*args, **kwargs):
    if attr == "move" or args[1].quarantined_to:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
setattr(cls, attr, kill)
from attendbot.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("step", KILL_AT)
def test_a_run_killed_while_quarantining_a_file_is_completed_by_the_next_as_if_never_interrupted(
        tmp_path, reference, step):
    root = tmp_path / "program"
    root.mkdir()
    write_program(root)
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, KILL_AT[step], "run", "--date", DAY.isoformat(),
                             "--json"], cwd=root, env=env, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (root / "quarantine" / str(DAY) / "Scan_0042.pdf.why.txt").exists()
    assert (root / "inbox" / str(DAY) / "Scan_0042.pdf").exists()
    again = run_cli(root)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert json.loads(out) == reference["json"]
    assert final_state(root) == reference["state"]


@pytest.fixture
def demo_root(tmp_path, monkeypatch):
    root = tmp_path / "program"
    root.mkdir()
    write_program(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    return root


def result_rows(root: Path) -> dict:
    ledger = Ledger(root / "var" / "attendbot.db")
    try:
        return {t: list(ledger.db[t].rows) for t in ("dispositions", "gaps", "gap_events", "no_shows")}
    finally:
        ledger.close()


def test_a_full_disk_while_writing_the_workbook_exits_1_and_leaves_the_days_results_unchanged(
        demo_root, monkeypatch, capsys):
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    before = result_rows(demo_root)
    workbook = demo_root / "audit" / f"{DAY}-attendance-audit.xlsx"
    saved = workbook.read_bytes()
    # a fixed roster arrives, but the disk is full when the workbook is saved
    (demo_root / "inbox" / "late.csv").write_text("Session Date,Client ID,Group,Attendance Status\n"
                                                 "11/24/2026,004824,Morning Process,Present\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("openpyxl.workbook.workbook.Workbook.save", full)
    capsys.readouterr()
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "audit workbook could not be written" in err and "No space left" in err
    assert result_rows(demo_root) == before
    assert workbook.read_bytes() == saved
    assert [p.name for p in workbook.parent.iterdir()] == [workbook.name]


def test_a_second_run_while_one_holds_the_lock_exits_1_with_a_clear_message(demo_root, monkeypatch, capsys):
    monkeypatch.setattr("attendbot.run.LOCK_WAIT_SECONDS", 0.3)
    db = demo_root / "var" / "attendbot.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c",
                               "import filelock, sys, time; l = filelock.FileLock(sys.argv[1]); l.acquire(); "
                               "print('held', flush=True); time.sleep(60)", str(db) + ".lock"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 1
        assert "another attendbot run is reconciling" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0  # the lock died with its holder


def test_two_runs_started_together_both_finish_and_the_ledger_is_whole(demo_root):
    procs = [run_cli(demo_root) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    first, second = (json.loads(o) for o, _ in outs)
    assert first["charges"] == second["charges"]
    ledger = Ledger(demo_root / "var" / "attendbot.db")
    try:
        assert ledger.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert ledger.db["dispositions"].count == 22
    finally:
        ledger.close()


def test_names_and_free_text_in_any_script_survive_end_to_end(tmp_path, monkeypatch):
    """Accents, hyphens, apostrophes, right-to-left text, emoji and mixed line endings."""
    from attendbot.samples.drafts import LineDraft, SheetDraft
    from attendbot.samples.tables import write_signin_xlsx, write_table_csv
    from builders import CHARGE_HEADER, EHR_HEADER, charge_row, ehr_row

    root = tmp_path / "p"
    root.mkdir()
    write_program(root)
    for f in (root / "inbox").rglob("*"):
        if f.is_file() and f.name != "README.txt":
            f.unlink()
    people = [("M-1", "O'Brien-Núñez, Siobhán"), ("M-2", "עזרא, דוד"), ("M-3", "Zoë 🌈 Ångström")]
    write_table_csv(root / "inbox" / "charges.csv", CHARGE_HEADER, [charge_row(f"C-{i}", mrn, name)
                                                                    for i, (mrn, name) in enumerate(people)])
    ehr = write_table_csv(root / "inbox" / "ehr.csv", EHR_HEADER, [ehr_row(mrn, name) for mrn, name in people],
                          newline="\n")
    ehr.write_bytes(ehr.read_bytes().replace(b"\n", b"\r\n", 2))  # mixed line endings
    lines = [LineDraft("Siobhan O'Brien Nunez", "text", "9:00 AM", "12:00 PM"),
             LineDraft("דוד עזרא", "text", "9:00 AM", "12:00 PM"),
             LineDraft("Zoe Angstrom", "✍️", "9:00 AM", "12:00 PM")]
    write_signin_xlsx(root / "inbox" / "sheet.xlsx", [SheetDraft("Morning Process Group", DAY, lines=lines,
                                                                 facilitator="Dana Whitfield")])
    monkeypatch.chdir(root)
    outcome = run_day(config.load(root / "config" / "attendbot.toml"), DAY, dry_run=True)
    assert {cr.charge.patient_name for cr in outcome.result.charges} == {name for _, name in people}
    assert {str(cr.disposition) for cr in outcome.result.charges} == {"ready"}
    wb = openpyxl.load_workbook(outcome.workbook)
    names = {row[3] for row in wb["Charges"].iter_rows(min_row=2, values_only=True)}
    assert names == {name for _, name in people}


class ReadPath:
    """The run's own read path — :meth:`Ingest.one`: size from stat, hashing, the forked and
    budgeted reader, vetting, storing in a real ledger, quarantine — on one program folder."""

    IGNORED = {readers.NOT_A_SIGNIN_PDF, readers.NO_KNOWN_HEADER, readers.NOT_A_KNOWN_FORMAT}
    READ = re.compile(r"^\d+ (charge line|attendance row|sign-in sheet)s?[ ,]")

    def __init__(self, root: Path):
        write_program(root)
        for f in (root / "inbox").rglob("*"):
            if f.is_file():
                f.unlink()
        self.settings = config.load(root / "config" / "attendbot.toml", base=root)
        self.ledger = Ledger(self.settings.db)
        self.run_id = self.ledger.start_run(DAY, dry_run=True)
        self.n = 0

    def check(self, data: bytes, suffix: str) -> FileReport:
        """Read ``data`` as an inbox file and check the verdict the run reports for it."""
        self.n += 1
        path = self.settings.inbox / f"fuzz-{self.n}{suffix}"
        path.write_bytes(data)
        report = Ingest(self.settings, self.ledger, self.run_id, DAY).one(path, shown_path(path))
        assert "\n" not in report.detail and "unexpected" not in report.detail, report.detail
        row = self.ledger.file(report.sha256) if report.sha256 else None
        if report.status == "read":
            assert self.READ.match(report.detail), report.detail
            assert row["status"] == "read" and path.exists()
        elif report.status == "ignored":
            assert report.detail in self.IGNORED, report.detail
            assert row["status"] == "ignored" and path.exists()
        elif report.status == "unreadable":
            assert report.detail and not path.exists() and report.quarantined_to, report
            assert row["status"] == "unreadable"
        else:
            assert report.status == "duplicate" and report.detail.startswith("same bytes as "), report
        return report


_read_paths: dict[Path, ReadPath] = {}


def read_path(tmp_path: Path) -> ReadPath:
    """One program folder and ledger for all the examples of one test."""
    if tmp_path not in _read_paths:
        _read_paths.clear()
        _read_paths[tmp_path] = ReadPath(tmp_path / "program")
    return _read_paths[tmp_path]


_cells = st.one_of(st.text(max_size=12), st.sampled_from(["Charge ID", "DOS", "MRN", "Patient", "Payer", "CPT",
                                                            "Units", "Group", "Status", "Date", "Present", "No Show",
                                                            "11/24/2026", "9:00 AM", "H0015", "", "=1+1", "\u202e"]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cells, max_size=10), max_size=12), delimiter=st.sampled_from([",", ";", "\t", "|"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
def test_any_csv_gives_records_or_a_clear_error_never_a_crash(tmp_path, rows, delimiter, encoding):
    text = "\r\n".join(delimiter.join(c.replace(delimiter, " ").replace("\n", " ") for c in r) for r in rows)
    read_path(tmp_path).check(text.encode(encoding, errors="replace"), ".csv")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(st.one_of(_cells, st.integers(-5, 90000), st.floats(allow_nan=False, width=32),
                                        st.dates(), st.times()), max_size=8), max_size=10))
def test_any_worksheet_gives_records_or_a_clear_error_never_a_crash(tmp_path, rows):
    wb = openpyxl.Workbook()
    buf = io.BytesIO()
    try:
        for row in rows:
            wb.active.append(row)
        wb.save(buf)
    except Exception:  # openpyxl refuses control characters in cells: no real export holds them
        return
    read_path(tmp_path).check(buf.getvalue(), ".xlsx")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000))
def test_any_bytes_give_a_clear_verdict_never_a_crash(tmp_path, data):
    read_path(tmp_path).check(data, ".bin")


_values = st.one_of(st.integers(-10**25, 10**25), st.floats(), st.sampled_from(["1e19", "-1", "inf", "nan", "1e309",
                                                                               "31/02/2026", "0001-01-01", "$(5)",
                                                                               "9999-12-31", "", " "]),
                    st.text(max_size=8), st.dates())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(_values, _values, _values), min_size=1, max_size=6),
       fmt=st.sampled_from(["csv", "xlsx"]))
def test_any_value_in_a_charge_export_costs_at_most_its_row(tmp_path, cells, fmt):
    """Units, date and amount of each row drawn from what cannot be right, too: every row is
    stored or named as not used, and the file is never lost to one of them."""
    from attendbot.samples.tables import write_table_csv, write_table_xlsx
    from builders import CHARGE_HEADER, charge_row

    rows = []
    for n, (units, day, amount) in enumerate(cells):
        row = charge_row(f"C-{n}", f"M-{n}", "Silva, Ana")
        row[1], row[7], row[-1] = day, units, amount
        rows.append(row)
    scratch = tmp_path / f"scratch.{fmt}"
    try:
        (write_table_csv if fmt == "csv" else write_table_xlsx)(scratch, CHARGE_HEADER, rows)
    except Exception:  # openpyxl cannot even write some of them (control characters, huge integers)
        return
    paths = read_path(tmp_path)
    report = paths.check(scratch.read_bytes(), f".{fmt}")
    if report.status == "read":
        stored = paths.ledger.db.execute("SELECT COUNT(*) FROM charges WHERE file_sha = ?", [report.sha256]).fetchone()[0]
        problems = paths.ledger.db.execute("SELECT COUNT(*) FROM problems WHERE file_sha = ?",
                                           [report.sha256]).fetchone()[0]
        assert stored + problems == len(rows), report.detail
    elif report.status == "unreadable":  # no row could be used: every one of them is named
        assert report.detail.startswith("row "), report.detail
