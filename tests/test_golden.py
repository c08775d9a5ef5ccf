"""End to end on the demo day: every charge's disposition and gaps, the JSON, the workbook, a re-run.

The expected --json document is ``tests/golden/demo-day.json``. After an intended
change, regenerate it with ``ATTENDBOT_REGENERATE=1 pytest tests/test_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import openpyxl
import pytest

from attendbot import config
from attendbot.demo import DAY, write_program
from attendbot.outputs.report import json_document
from attendbot.run import run_day

GOLDEN = Path(__file__).parent / "golden" / "demo-day.json"

EXPECTED = {  # charge id -> (disposition, gap codes): the demo's story, stated by hand
    "C-1001": ("ready", []),
    "C-1002": ("hold", ["NOTE_UNSIGNED"]),
    "C-1003": ("hold", ["ATTENDANCE_CONFLICT", "MISSING_SIGNATURE"]),  # the per diem: the primary of its pair
    "C-1004": ("void", ["NO_SHOW"]),
    "C-1005": ("void", ["LATE_CANCEL"]),
    "C-1006": ("hold", ["SHORT_DURATION"]),
    "C-1007": ("hold", ["NO_EHR_ATTENDANCE"]),
    "C-1008": ("hold", ["TELEHEALTH_MODIFIER_UNEXPECTED"]),
    "C-1009": ("hold", ["GROUP_SIZE_EXCEEDED"]),
    "C-1010": ("ready", []),
    "C-1011": ("ready", []),
    "C-1012": ("adjust", ["UNITS_EXCEED_TIME"]),
    "C-1013": ("hold", ["MISSING_TIMES", "TELEHEALTH_MODIFIER_MISSING"]),
    "C-1014": ("hold", ["ATTENDANCE_CONFLICT", "NOT_ON_SIGNIN"]),
    "C-1015": ("hold", ["SAME_DAY_CONFLICT"]),  # H2019, the component, beside C-1003's H0015
    "C-1016": ("hold", ["FACILITATOR_SIGNATURE_MISSING", "INVALID_NPI"]),
    "C-1017": ("hold", ["FACILITATOR_SIGNATURE_MISSING"]),
    "C-1018": ("hold", ["NO_SIGNIN_SHEET"]),
    "C-1019": ("hold", ["DUPLICATE_CHARGE", "NO_SIGNIN_SHEET"]),  # the second S9480 of the day
    "C-1020": ("ready", []),  # a per diem made of two 90-minute groups
    "C-1021": ("adjust", ["CODE_TIME_MISMATCH"]),  # 90837 for 45 minutes: bill 90834
    "C-1022": ("void", ["EXCUSED_ABSENCE"]),  # excused: void, and no fee even for self-pay
}


@pytest.fixture
def demo(tmp_path, monkeypatch):
    root = tmp_path / "demo"
    root.mkdir()
    config_path = write_program(root)
    monkeypatch.chdir(root)  # paths in the document are shown relative to the working folder
    settings = config.load(config_path)

    def run():
        return run_day(settings, DAY, dry_run=True)

    return root, settings, run


def test_every_charge_gets_the_expected_disposition_and_gaps(demo):
    _, _, run = demo
    doc = json_document(run())
    got = {c["charge_id"]: (c["disposition"], c["gaps"]) for c in doc["charges"]}
    assert got == EXPECTED


def test_day_level_gaps_name_the_unbilled_patient_the_stranger_and_the_scan(demo):
    _, _, run = demo
    gaps = json_document(run())["gaps"]
    loose = {(g["code"], g["patient_id"]) for g in gaps if g["charge_id"] is None}
    assert loose == {("UNBILLED_ATTENDANCE", "004838"), ("UNMATCHED_SIGNIN_NAME", None), ("UNREADABLE_FILE", None)}
    unmatched = next(g for g in gaps if g["code"] == "UNMATCHED_SIGNIN_NAME")
    assert unmatched["evidence"] == {"file": "inbox/2026-11-24/signin_morning_family.pdf", "page": 1, "row": 10}


def test_the_json_document_matches_the_golden_file(demo):
    _, _, run = demo
    doc = json_document(run())
    text = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("ATTENDBOT_REGENERATE"):
        GOLDEN.write_text(text, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "got"))
        pytest.fail(f"--json document differs from {GOLDEN.name} (regenerate with ATTENDBOT_REGENERATE=1):\n{diff}")


def test_json_document_has_the_spec_shape(demo):
    _, _, run = demo
    doc = json_document(run())
    assert set(doc) == {"date", "charges", "gaps", "no_shows", "files", "slack", "calendar", "status", "responses"}
    assert doc["date"] == "2026-11-24"
    assert set(doc["charges"][0]) == {"charge_id", "patient_id", "code", "payer", "session", "disposition",
                                      "units", "supported_units", "gaps"}
    assert set(doc["gaps"][0]) == {"code", "charge_id", "patient_id", "session", "owner", "message", "evidence"}
    assert all(set(n) == {"patient_id", "session", "payer", "policy", "fee"} for n in doc["no_shows"])
    assert {(n["patient_id"], n["policy"], n["fee"]) for n in doc["no_shows"]} == {
        ("004824", "not_billable", 0.0), ("004825", "fee", 50.0), ("004840", "not_billable", 0.0)}
    adjusted = {c["charge_id"]: c for c in doc["charges"] if "supported_code" in c}
    assert {cid: (c["code"], c["supported_code"]) for cid, c in adjusted.items()} == {"C-1021": ("90837", "90834")}
    statuses = {Path(f["path"]).name: (f["kind"], f["status"]) for f in doc["files"]}
    assert statuses == {
        "charges_export_20261124.xlsx": ("charges", "read"),
        "EHR_attendance.csv": ("ehr_attendance", "read"),
        "signin_morning_family.pdf": ("signin", "read"),
        "signin_recovery_individual.pdf": ("signin", "read"),
        "skills_signin.xlsx": ("signin", "read"),
        "Scan_0042.pdf": ("signin", "unreadable"),  # a scan, but of a sheet's blank back
        "meeting-notes.docx": ("unknown", "ignored"),
        "authorizations_report.xlsx": ("authorizations", "read"),  # the later days' story (samples/later_days)
        "charges_export_20261125.csv": ("charges", "read"),
        "EHR_attendance_20261125.csv": ("ehr_attendance", "read"),
        "morning_signin_20261125.xlsx": ("signin", "read"),
        "charges_export_20261127.csv": ("charges", "read"),
        "EHR_attendance_20261127.csv": ("ehr_attendance", "read"),
        "morning_signin_20261127.xlsx": ("signin", "read"),
    }
    assert doc["slack"] == {"mode": "dry-run", "messages": 5}
    json.dumps(doc)  # serialisable as is


def test_the_scan_is_quarantined_with_a_note_and_nothing_is_lost(demo):
    root, _, run = demo
    run()
    moved = root / "quarantine" / "2026-11-24" / "Scan_0042.pdf"
    assert moved.exists() and not (root / "inbox" / "2026-11-24" / "Scan_0042.pdf").exists()
    assert "page 1 is blank" in moved.with_name("Scan_0042.pdf.why.txt").read_text()
    assert (root / "inbox" / "meeting-notes.docx").exists()  # ignored files stay where they were dropped


def test_the_audit_workbook_has_its_sheets_with_every_charge(demo):
    _, _, run = demo
    outcome = run()
    wb = openpyxl.load_workbook(outcome.workbook)
    assert wb.sheetnames == ["Summary", "Charges", "Gaps", "No-shows", "Sessions", "Sources", "Responses",
                             "Authorizations", "Trends"]
    charges = wb["Charges"]
    header = [c.value for c in charges[1]]
    ids = [row[header.index("Charge ID")] for row in charges.iter_rows(min_row=2, values_only=True)]
    assert sorted(ids) == sorted(EXPECTED)
    codes = {row[header.index("Charge ID")]: (row[header.index("Code")], row[header.index("Supported code")])
             for row in charges.iter_rows(min_row=2, values_only=True)}
    assert codes["C-1021"] == ("90837", "90834")  # adjust: bill it as the down-code
    assert codes["C-1001"] == ("H0015", None)
    for ws in wb.worksheets:
        assert ws.freeze_panes and openpyxl.utils.cell.coordinate_from_string(ws.freeze_panes)[1] >= 2  # headers frozen
        assert ws.auto_filter.ref


def test_a_second_run_with_the_same_files_changes_nothing(demo):
    root, settings, run = demo
    first = json_document(run())
    from attendbot.ledger import Ledger

    def snapshot():
        ledger = Ledger(settings.db)
        try:
            return {t: list(ledger.db[t].rows) for t in ("files", "charges", "attendance", "signin_sheets",
                                                         "signin_lines", "dispositions", "gaps", "gap_events",
                                                         "no_shows")}
        finally:
            ledger.close()

    before = snapshot()
    second_outcome = run()
    second = json_document(second_outcome)
    assert second == first
    assert snapshot() == before
    assert second_outcome.gap_events == {"opened": 0, "reopened": 0, "resolved": 0}
