"""The run as a whole: files in, ledger, quarantine, duplicates, several days, re-runs."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from PIL import Image

from attendbot.ledger import Ledger
from attendbot.outputs.report import json_document
from attendbot.samples.drafts import LineDraft
from attendbot.samples.scans import image_only_pdf
from attendbot.samples.signin_pdf import write_signin_pdf
from attendbot.samples.tables import write_signin_xlsx, write_table_csv, write_table_xlsx

from builders import CHARGE_HEADER, CORPUS, DAY, EHR_HEADER, charge_row, ehr_row, morning_sheet

def small_day(program, day=DAY):
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row("C-1", "M-1", "Silva, Ana", day), charge_row("C-2", "M-2", "Okoro, Ben", day)],
                     title=["Charges report"])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER,
                    [ehr_row("M-1", "Silva, Ana", day), ehr_row("M-2", "Okoro, Ben", day)])
    write_signin_pdf(program.inbox / "sheet.pdf", [morning_sheet(day)])


def by_charge(outcome):
    return {cr.charge.charge_id: (str(cr.disposition), sorted(g.code.value for g in cr.gaps))
            for cr in outcome.result.charges}


def test_a_clean_day_is_all_ready(program):
    small_day(program)
    assert by_charge(program.run()) == {"C-1": ("ready", []), "C-2": ("ready", [])}


def test_bad_files_are_quarantined_with_a_note_and_the_rest_of_the_run_goes_on(program):
    small_day(program)
    good_pdf = (program.inbox / "sheet.pdf").read_bytes()
    (program.inbox / "empty.csv").write_bytes(b"")
    (program.inbox / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 2])
    (program.inbox / "locked.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    (program.inbox / "broken.xlsx").write_bytes((program.inbox / "charges.xlsx").read_bytes()[:900])
    image_only_pdf([Image.new("L", (1700, 2200), 235)], program.inbox / "scan.pdf")  # a blank page, scanned
    outcome = program.run()

    status = {f.path.rsplit("/", 1)[-1]: f.status for f in outcome.files}
    assert status == {"charges.xlsx": "read", "ehr.csv": "read", "sheet.pdf": "read", "empty.csv": "unreadable",
                      "truncated.pdf": "unreadable", "locked.xlsx": "unreadable", "broken.xlsx": "unreadable",
                      "scan.pdf": "unreadable"}
    assert by_charge(outcome) == {"C-1": ("ready", []), "C-2": ("ready", [])}
    quarantined = sorted(p.name for p in (program.quarantine / DAY.isoformat()).iterdir())
    for name in ("empty.csv", "truncated.pdf", "locked.xlsx", "broken.xlsx", "scan.pdf"):
        assert name in quarantined and f"{name}.why.txt" in quarantined
        assert not (program.inbox / name).exists()
    unreadable = [g for g in outcome.result.gaps if g.code == "UNREADABLE_FILE"]
    assert len(unreadable) == 5
    assert "encrypted" in next(f.detail for f in outcome.files if f.path.endswith("locked.xlsx"))


def test_quarantined_files_stay_reported_for_their_day_on_a_re_run(program):
    small_day(program)
    (program.inbox / "empty.csv").write_bytes(b"")
    first = json_document(program.run())
    second = json_document(program.run())
    assert first == second
    assert any(f["path"].endswith("empty.csv") and f["status"] == "unreadable" for f in second["files"])


def test_the_same_bytes_under_another_name_are_a_duplicate_that_adds_nothing(program):
    small_day(program)
    program.run()
    (program.inbox / "copy-of-ehr.csv").write_bytes((program.inbox / "ehr.csv").read_bytes())
    outcome = program.run()
    copy = next(f for f in outcome.files if f.path.endswith("copy-of-ehr.csv"))
    assert copy.status == "duplicate" and "ehr.csv" in copy.detail
    original = next(f for f in outcome.files if f.path.endswith("/ehr.csv"))
    assert original.status == "read"


def test_a_weeks_export_read_on_monday_also_serves_tuesday(program):
    monday, tuesday = DAY - dt.timedelta(days=1), DAY
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row("C-1", "M-1", "Silva, Ana", monday), charge_row("C-2", "M-1", "Silva, Ana", tuesday)])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER,
                    [ehr_row("M-1", "Silva, Ana", monday), ehr_row("M-1", "Silva, Ana", tuesday)])
    write_signin_pdf(program.inbox / "sheets.pdf",
                     [morning_sheet(monday, LineDraft("Ana Silva", "stroke", "9:00", "12:00")),
                      morning_sheet(tuesday, LineDraft("Ana Silva", "stroke", "9:00", "12:00"))])
    assert by_charge(program.run(monday)) == {"C-1": ("ready", [])}
    for name in ("charges.xlsx", "ehr.csv", "sheets.pdf"):  # the files leave the inbox after Monday
        (program.inbox / name).rename(program.root / name)
    outcome = program.run(tuesday)
    assert by_charge(outcome) == {"C-2": ("ready", [])}


def test_a_newer_export_for_the_same_day_replaces_the_older_rows(program):
    small_day(program)
    assert by_charge(program.run())["C-2"] == ("ready", [])
    time.sleep(0.01)
    write_table_csv(program.inbox / "ehr-corrected.csv", EHR_HEADER,
                    [ehr_row("M-1", "Silva, Ana"), ehr_row("M-2", "Okoro, Ben", note="Draft")])
    outcome = program.run()
    assert by_charge(outcome)["C-2"] == ("hold", ["NOTE_UNSIGNED"])
    used = {f.path.rsplit("/", 1)[-1]: f.used_for_day for f in outcome.files}
    assert used["ehr-corrected.csv"] and not used["ehr.csv"]


def test_fixing_the_paperwork_resolves_the_gap_and_the_ledger_keeps_its_history(program):
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER, [charge_row("C-1", "M-1", "Silva, Ana")])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER, [ehr_row("M-1", "Silva, Ana")])
    write_signin_pdf(program.inbox / "sheet.pdf", [morning_sheet(DAY, LineDraft("Ana Silva", None, "9:00", "12:00"))])
    first = program.run()
    assert by_charge(first)["C-1"] == ("hold", ["ATTENDANCE_CONFLICT", "MISSING_SIGNATURE"])
    assert first.gap_events["opened"] == 2

    write_signin_pdf(program.inbox / "sheet-signed.pdf",
                     [morning_sheet(DAY, LineDraft("Ana Silva", "stroke", "9:00", "12:00"))])
    second = program.run()
    assert by_charge(second)["C-1"] == ("ready", [])
    assert second.gap_events == {"opened": 0, "reopened": 0, "resolved": 2}
    ledger = Ledger(program.settings().db)
    try:
        rows = ledger.gap_rows(DAY)
        assert {r["code"]: r["status"] for r in rows} == {"ATTENDANCE_CONFLICT": "resolved",
                                                          "MISSING_SIGNATURE": "resolved"}
        events = [r["event"] for r in ledger.db["gap_events"].rows_where(order_by="id")]
        assert events == ["opened", "opened", "resolved", "resolved"]
        assert ledger.db["dispositions"].get((DAY.isoformat(), "C-1", "M-1"))["disposition"] == "ready"
    finally:
        ledger.close()


def test_files_dropped_a_moment_before_the_run_are_waited_for_and_read(program):
    """Issue 10: fresh mtimes are not skipped; the run waits (bounded by settle_seconds) and reads."""
    settings = program.settings()
    small_day(program)  # written just now
    object.__setattr__(settings.main.paths, "settle_seconds", 3.0)
    from attendbot.run import run_day

    started = time.monotonic()
    outcome = run_day(settings, DAY, dry_run=True)
    assert time.monotonic() - started < 60  # a bound on the wait, not a speed target
    assert {f.status for f in outcome.files} == {"read"}
    assert outcome.status.state == "complete" and len(outcome.result.charges) == 2


def test_a_file_still_being_written_after_the_wait_is_left_and_the_day_is_incomplete(program):
    import threading

    settings = program.settings()
    small_day(program)
    object.__setattr__(settings.main.paths, "settle_seconds", 2.0)
    growing = program.inbox / "late-export.csv"
    stop = threading.Event()

    def writer():  # a sync client still copying a file
        with growing.open("a") as f:
            while not stop.is_set():
                f.write("x" * 100 + "\n")
                f.flush()
                time.sleep(0.1)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        from attendbot.run import run_day

        outcome = run_day(settings, DAY, dry_run=True)
    finally:
        stop.set()
        thread.join()
    report = {f.path.rsplit("/", 1)[-1]: f for f in outcome.files}
    assert report["late-export.csv"].status == "ignored" and "next run" in report["late-export.csv"].detail
    assert {report[n].status for n in ("charges.xlsx", "ehr.csv", "sheet.pdf")} == {"read"}
    assert outcome.status.state == "incomplete" and "left for the next run" in outcome.status.note
    billing = outcome.slack.messages[-1]
    assert "Incomplete" in billing.text and "left for the next run" in billing.text
    assert growing.exists()


def test_files_in_a_day_subfolder_are_read_and_readmes_are_not(program):
    (program.inbox / DAY.isoformat()).mkdir()
    write_signin_xlsx(program.inbox / DAY.isoformat() / "roster.xlsx", [morning_sheet()])
    (program.inbox / "README.md").write_text("drop files here")
    outcome = program.run()
    assert [(f.path.rsplit("/", 1)[-1], f.kind, f.status) for f in outcome.files] == [
        ("roster.xlsx", "signin", "read")]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no real-PDF corpus at {CORPUS} (CI has it; .ci/run fails without it)")
def test_every_real_world_pdf_is_reported_and_none_is_lost(program):
    import shutil

    names = sorted(p.name for p in CORPUS.glob("*.pdf"))
    assert len(names) == 52
    for name in names:
        shutil.copy(CORPUS / name, program.inbox / name)
    outcome = program.run()
    assert sorted(f.path.rsplit("/", 1)[-1] for f in outcome.files) == names
    assert {f.status for f in outcome.files} <= {"ignored", "unreadable", "duplicate"}  # the corpus repeats a file
    assert all(f.detail for f in outcome.files)
    for f in outcome.files:  # each file is either still in the inbox or in quarantine: none lost
        name = f.path.rsplit("/", 1)[-1]
        where = program.root / f.quarantined_to if f.status == "unreadable" else program.inbox / name
        assert where.exists(), name
    assert outcome.result.charges == []
