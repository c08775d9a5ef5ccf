"""The audit workbook, read back with openpyxl: values, not bytes (STYLE.md pitfalls)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook

from attendbot.codes import GapCode
from attendbot.model import (
    Charge,
    ChargeResult,
    DayResult,
    Evidence,
    FileReport,
    Gap,
    NoShow,
    SessionSummary,
)
from attendbot.outputs.workbook import workbook_path, write_workbook

DAY = dt.date(2026, 11, 24)
MORNING = "Morning Process Group"
EVENING = "Evening Skills Group"
FORMULA_TEXT = '=HYPERLINK("http://x","y")'
CHARGES_FILE = "inbox/2026-11-24/charges.xlsx"
SIGNIN_FILE = "inbox/2026-11-24/signin.pdf"

SHEETS = ["Summary", "Charges", "Gaps", "No-shows", "Sessions", "Sources"]
HEADERS = {
    "Summary": ["Section", "Item", "Detail", "Count", "Amount"],
    "Charges": [
        "Charge ID", "Date", "Patient ID", "Patient name", "Payer", "Code", "Modifiers", "Units",
        "Supported units", "Session", "Disposition", "Gaps", "Amount", "No-show fee", "Source",
    ],
    "Gaps": [
        "Code", "Owner", "Blocks billing", "Charge ID", "Patient ID", "Session", "Message",
        "File", "Page", "Sheet", "Row",
    ],
    "No-shows": ["Charge ID", "Patient ID", "Session", "Payer", "Kind", "Policy", "Fee"],
    "Sessions": [
        "Session", "Start", "End", "Facilitator", "Sign-in sheet", "Charges", "Attendees",
        "Signed lines", "Sheet lines", "Minutes",
    ],
    "Sources": [
        "Path", "Kind", "Status", "Detail", "SHA-256", "Days", "Used for this day", "Quarantined to",
    ],
}


# --- a small synthetic day ----------------------------------------------------


def charge(charge_id, patient_id, name, payer, code, units, amount, session=MORNING, row=2, **kw):
    return Charge(
        charge_id=charge_id, service_date=DAY, patient_id=patient_id, patient_name=name,
        payer=payer, code=code, units=units, session=session, amount=amount,
        evidence=Evidence(CHARGES_FILE, sheet="Charges", row=row), **kw,
    )


def gap(code, message, charge_id=None, patient_id=None, session=MORNING, evidence=None):
    return Gap(code=code, message=message, evidence=evidence, charge_id=charge_id,
               patient_id=patient_id, session=session)


def build_day() -> tuple[DayResult, list[FileReport]]:
    missing_signature = gap(GapCode.MISSING_SIGNATURE, "row 4 of the 9:00 sheet is unsigned",
                            "C-1001", "M-204", evidence=Evidence(SIGNIN_FILE, page=1, row=4))
    units = gap(GapCode.UNITS_EXCEED_TIME, "attended 90 minutes: 6 of 8 units supported",
                "C-1002", "M-305", evidence=Evidence("inbox/2026-11-24/ehr.csv", row=7))
    no_show = gap(GapCode.NO_SHOW, "#N/A", "C-1003", "M-411")
    group_size = gap(GapCode.GROUP_SIZE_EXCEEDED, "11 attendees, Medicaid allows 10", "C-1005", "M-512")
    note = gap(GapCode.NOTE_UNSIGNED, "session note is a draft", "C-1005", "M-512")
    unreadable = gap(GapCode.UNREADABLE_FILE, "scanned page without a text layer", session=None,
                     evidence=Evidence("inbox/2026-11-24/scan.pdf", page=1))
    unmatched = gap(GapCode.UNMATCHED_SIGNIN_NAME, "row 6 matches no patient", session=EVENING,
                    evidence=Evidence("inbox/2026-11-24/evening.xlsx", sheet="Evening", row=6))
    charges = [
        ChargeResult(charge("C-1001", "M-204", "Núñez, María", "Medicaid", "H0015", 1, 250.0, row=2),
                     [missing_signature], 1, MORNING),
        ChargeResult(charge("C-1002", "M-305", "Okafor, Ben", "Medicaid", "H2019", 8, 160.0, row=3,
                            modifiers=("HQ", "GT")),
                     [units], 6, MORNING),
        ChargeResult(charge("C-1003", "M-411", "Lind, Tova", "Self Pay", "90853", 1, 80.0, row=4),
                     [no_show], 0, MORNING, no_show_fee=50.0),
        ChargeResult(charge("C-1004", "M-620", FORMULA_TEXT, "Acme Health Plan", "H0015", 1, 250.0,
                            session=EVENING, row=5),
                     [], 1, EVENING),
        ChargeResult(charge("C-1005", "M-512", "Park, Jo", "Medicaid", "90853", 1, 60.0, row=6),
                     [group_size, note, note], 1, MORNING),
    ]
    result = DayResult(
        day=DAY,
        charges=charges,
        gaps=[missing_signature, units, no_show, group_size, note, unreadable, unmatched],
        no_shows=[NoShow("C-1003", "M-411", MORNING, "Self Pay", "no_show", "fee", 50.0)],
        sessions=[
            SessionSummary(MORNING, dt.time(9, 0), dt.time(12, 0), "Dana Whitfield",
                           Evidence(SIGNIN_FILE, page=1), charges=4, attendees=3, signed_lines=2,
                           sheet_lines=4, minutes=180),
            SessionSummary(EVENING, dt.time(18, 0), dt.time(21, 0), "#N/A", None, charges=1,
                           attendees=0, signed_lines=0, sheet_lines=0, minutes=None),
        ],
        unknown_payers=["Acme Health Plan"],
    )
    files = [
        FileReport(CHARGES_FILE, "charges", "read", "5 charges", "a" * 64, ("2026-11-24",), True),
        FileReport("inbox/2026-11-24/ehr.csv", "ehr_attendance", "read", "12 rows", "b" * 64,
                   ("2026-11-23", "2026-11-24"), True),
        FileReport(SIGNIN_FILE, "signin", "read", "1 page", "c" * 64, ("2026-11-24",), True),
        FileReport("inbox/2026-11-24/scan.pdf", "unknown", "unreadable",
                   "page 1 has no text layer (needs OCR)", "d" * 64,
                   quarantined_to="quarantine/2026-11-24/scan.pdf"),
        FileReport("inbox/2026-11-24/charges copy.xlsx", "charges", "duplicate",
                   f"same bytes as {CHARGES_FILE}", "a" * 64, ("2026-11-24",)),
    ]
    return result, files


@pytest.fixture
def saved(tmp_path) -> Path:
    result, files = build_day()
    return write_workbook(result, files, workbook_path(tmp_path / "audit", DAY), program="Riverbend IOP")


@pytest.fixture
def book(saved) -> Workbook:
    return openpyxl.load_workbook(saved)


def records(ws) -> list[dict]:
    """The data rows of a sheet, keyed by header."""
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def by_charge_id(ws) -> dict[str, dict]:
    return {r["Charge ID"]: r for r in records(ws)}


def summary(book) -> dict[tuple, tuple]:
    return {(r["Section"], r["Item"], r["Detail"]): (r["Count"], r["Amount"])
            for r in records(book["Summary"])}


# --- layout -------------------------------------------------------------------


def test_workbook_path_is_dated_in_the_audit_dir(tmp_path):
    assert workbook_path(tmp_path, DAY) == tmp_path / "2026-11-24-attendance-audit.xlsx"


def test_sheets_come_in_the_spec_order(book):
    assert book.sheetnames == SHEETS


@pytest.mark.parametrize("title", SHEETS)
def test_every_sheet_has_a_bold_frozen_header_and_a_filter_over_its_data(book, title):
    ws = book[title]
    header = [c.value for c in ws[1]]
    assert header == HEADERS[title]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    last_column = openpyxl.utils.get_column_letter(len(header))
    assert ws.auto_filter.ref == f"A1:{last_column}{ws.max_row}"


@pytest.mark.parametrize("title", SHEETS)
def test_column_widths_are_readable_and_capped(book, title):
    ws = book[title]
    for j, header in enumerate(HEADERS[title], start=1):
        width = ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width
        assert len(header) <= width <= 66


def test_a_long_message_does_not_make_its_column_wider_than_sixty(tmp_path):
    result, files = build_day()
    result.gaps.append(gap(GapCode.NOTE_UNSIGNED, "x" * 300, "C-1005", "M-512"))
    book = openpyxl.load_workbook(write_workbook(result, files, tmp_path / "w.xlsx"))
    assert book["Gaps"].column_dimensions["G"].width == 60
    assert records(book["Gaps"])[-1]["Message"] == "x" * 300


def test_an_empty_day_still_has_every_sheet_with_headers(tmp_path):
    empty = DayResult(DAY, [], [], [], [], [])
    book = openpyxl.load_workbook(write_workbook(empty, [], tmp_path / "empty.xlsx"))
    assert book.sheetnames == SHEETS
    assert book["Charges"].auto_filter.ref == "A1:O1"
    assert summary(book)[("Dollars at risk", "total", None)] == (0, 0)


# --- content ------------------------------------------------------------------


def test_summary_names_the_program_and_the_day_as_a_real_date(book):
    rows = records(book["Summary"])
    assert rows[0]["Detail"] == "Riverbend IOP"
    assert rows[1]["Detail"] == dt.datetime(2026, 11, 24)
    assert book["Summary"]["C3"].is_date


def test_summary_counts_charges_by_disposition(book):
    s = summary(book)
    assert s[("Program", "Charges", None)] == (5, 800)
    assert s[("Disposition", "ready", None)] == (1, 250)
    assert s[("Disposition", "adjust", None)] == (1, 160)
    assert s[("Disposition", "hold", None)] == (2, 310)
    assert s[("Disposition", "void", None)] == (1, 80)


def test_summary_gives_dollars_at_risk_with_the_unsupported_share_of_adjusted_units(book):
    s = summary(book)
    assert s[("Dollars at risk", "hold", None)] == (2, 310)
    assert s[("Dollars at risk", "void", None)] == (1, 80)
    assert s[("Dollars at risk", "adjust", None)] == (1, 40)  # 160 * (8 - 6) / 8
    assert s[("Dollars at risk", "total", None)] == (4, 430)


def test_summary_counts_gaps_by_code_with_their_owner(book):
    s = summary(book)
    assert s[("Gap", "MISSING_SIGNATURE", "facilitator")] == (1, None)
    assert s[("Gap", "NO_SHOW", "billing")] == (1, None)
    assert s[("Gap", "UNREADABLE_FILE", "billing")] == (1, None)
    assert sum(count for (section, *_), (count, _) in s.items() if section == "Gap") == 7


def test_summary_counts_charges_by_payer_and_disposition(book):
    s = summary(book)
    assert s[("Payer", "Medicaid", "hold")] == (2, 310)
    assert s[("Payer", "Medicaid", "adjust")] == (1, 160)
    assert s[("Payer", "Self Pay", "void")] == (1, 80)
    assert s[("Payer", "Acme Health Plan", "ready")] == (1, 250)


def test_summary_lists_payers_that_matched_no_section(book):
    assert summary(book)[("Unknown payer (defaults used)", "Acme Health Plan", "C-1004")] == (1, 250)


def test_summary_counts_files_by_status(book):
    s = summary(book)
    assert s[("Files", "read", None)] == (3, None)
    assert s[("Files", "unreadable", None)] == (1, None)
    assert s[("Files", "duplicate", None)] == (1, None)


def test_money_has_a_currency_format_and_counts_are_numbers(book):
    ws = book["Charges"]
    header = HEADERS["Charges"]
    amount = ws.cell(row=2, column=header.index("Amount") + 1)
    units = ws.cell(row=2, column=header.index("Units") + 1)
    assert amount.value == 250 and "$" in amount.number_format
    assert units.data_type == "n" and units.value == 1
    assert "$" in book["Summary"]["E4"].number_format  # Program / Charges total


def test_every_charge_is_listed_with_its_disposition_and_gaps(book):
    charges = by_charge_id(book["Charges"])
    assert {k: (v["Disposition"], v["Gaps"]) for k, v in charges.items()} == {
        "C-1001": ("hold", "MISSING_SIGNATURE"),
        "C-1002": ("adjust", "UNITS_EXCEED_TIME"),
        "C-1003": ("void", "NO_SHOW"),
        "C-1004": ("ready", None),
        "C-1005": ("hold", "GROUP_SIZE_EXCEEDED, NOTE_UNSIGNED"),
    }


def test_charge_rows_carry_units_fee_date_and_source(book):
    ws = book["Charges"]
    charges = by_charge_id(ws)
    adjusted = charges["C-1002"]
    assert (adjusted["Units"], adjusted["Supported units"], adjusted["Modifiers"]) == (8, 6, "HQ, GT")
    assert charges["C-1003"]["No-show fee"] == 50
    assert charges["C-1001"]["No-show fee"] is None
    assert charges["C-1001"]["Patient name"] == "Núñez, María"
    assert charges["C-1001"]["Date"] == dt.datetime(2026, 11, 24)
    assert ws["B2"].is_date
    assert charges["C-1001"]["Source"] == f"{CHARGES_FILE} sheet 'Charges' row 2"


def test_gaps_sheet_gives_owner_effect_and_evidence_in_separate_columns(book):
    gaps = {r["Code"]: r for r in records(book["Gaps"])}
    signature = gaps["MISSING_SIGNATURE"]
    assert signature["Owner"] == "facilitator"
    assert signature["Blocks billing"] == "yes"
    assert (signature["Charge ID"], signature["Patient ID"], signature["Session"]) == ("C-1001", "M-204", MORNING)
    assert (signature["File"], signature["Page"], signature["Sheet"], signature["Row"]) == (SIGNIN_FILE, 1, None, 4)
    assert gaps["UNITS_EXCEED_TIME"]["Blocks billing"] == "adjust"
    assert gaps["NO_SHOW"]["Blocks billing"] == "void"
    assert gaps["UNREADABLE_FILE"]["Blocks billing"] == "no"
    assert gaps["UNREADABLE_FILE"]["Charge ID"] is None
    unmatched = gaps["UNMATCHED_SIGNIN_NAME"]
    assert (unmatched["Sheet"], unmatched["Row"], unmatched["Page"]) == ("Evening", 6, None)


def test_no_shows_sheet_gives_policy_and_fee(book):
    [row] = records(book["No-shows"])
    assert row == {"Charge ID": "C-1003", "Patient ID": "M-411", "Session": MORNING, "Payer": "Self Pay",
                   "Kind": "no_show", "Policy": "fee", "Fee": 50}


def test_sessions_sheet_gives_times_facilitator_signatures_and_minutes(book):
    morning, evening = records(book["Sessions"])
    assert (morning["Start"], morning["End"]) == (dt.time(9, 0), dt.time(12, 0))
    assert morning["Sign-in sheet"] == f"{SIGNIN_FILE} p.1"
    assert (morning["Attendees"], morning["Signed lines"], morning["Sheet lines"], morning["Minutes"]) == (3, 2, 4, 180)
    assert evening["Sign-in sheet"] is None and evening["Minutes"] is None


def test_sources_sheet_lists_every_file_with_its_hash_and_use(book):
    sources = {r["Path"]: r for r in records(book["Sources"])}
    assert len(sources) == 5
    assert sources[CHARGES_FILE]["SHA-256"] == "a" * 64
    assert sources[CHARGES_FILE]["Used for this day"] == "yes"
    assert sources["inbox/2026-11-24/ehr.csv"]["Days"] == "2026-11-23, 2026-11-24"
    scan = sources["inbox/2026-11-24/scan.pdf"]
    assert (scan["Status"], scan["Quarantined to"], scan["Used for this day"]) == (
        "unreadable", "quarantine/2026-11-24/scan.pdf", "no")
    assert sources["inbox/2026-11-24/charges copy.xlsx"]["Status"] == "duplicate"


# --- text stays text ----------------------------------------------------------


def test_formula_and_error_text_from_inputs_is_stored_as_inert_text(book):
    charge_row = book["Charges"]["D5"]  # C-1004's patient name
    assert (charge_row.value, charge_row.data_type) == (FORMULA_TEXT, "s")
    facilitator = book["Sessions"]["D3"]
    assert (facilitator.value, facilitator.data_type) == ("#N/A", "s")
    message = book["Gaps"]["G4"]  # the no-show gap's message
    assert (message.value, message.data_type) == ("#N/A", "s")


@pytest.mark.parametrize("text", [
    FORMULA_TEXT, "=1+1", "+1", "-2", "@x", "#N/A", "#DIV/0!", "#REF!", "=", "  padded  ", "Zoë Ångström",
])
def test_any_patient_name_round_trips_as_a_string_cell(tmp_path, text):
    result, files = build_day()
    result.charges[0] = ChargeResult(charge("C-1", "M-1", text, "Medicaid", "H0015", 1, 1.0), [], 1, MORNING)
    book = openpyxl.load_workbook(write_workbook(result, files, tmp_path / "w.xlsx"))
    cell = book["Charges"]["D2"]
    assert (cell.value, cell.data_type) == (text, "s")


def test_control_characters_excel_cannot_hold_are_dropped_not_fatal(tmp_path):
    result, files = build_day()
    result.charges[0] = ChargeResult(charge("C-1", "M-1", "Ana\x0bBell", "Medicaid", "H0015", 1, 1.0), [], 1, MORNING)
    book = openpyxl.load_workbook(write_workbook(result, files, tmp_path / "w.xlsx"))
    assert book["Charges"]["D2"].value == "AnaBell"


# --- writing safely -------------------------------------------------------------


def test_workbook_and_the_folder_it_creates_are_private_to_the_owner(tmp_path):
    result, files = build_day()
    path = write_workbook(result, files, tmp_path / "new" / "audit" / "day.xlsx")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "audit").st_mode) == 0o700


def test_no_temp_file_is_left_behind(saved):
    assert os.listdir(saved.parent) == [saved.name]


def test_rewriting_the_same_day_replaces_the_file(saved):
    result, files = build_day()
    result.charges.pop()
    write_workbook(result, files, saved)
    assert len(records(openpyxl.load_workbook(saved)["Charges"])) == 4
    assert os.listdir(saved.parent) == [saved.name]


def test_a_failure_while_saving_leaves_no_final_file_and_no_temp_file(tmp_path, monkeypatch):
    def half_write_then_fail(self, filename):
        Path(filename).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(Workbook, "save", half_write_then_fail)
    result, files = build_day()
    target = tmp_path / "audit" / "day.xlsx"
    with pytest.raises(OSError, match="disk full"):
        write_workbook(result, files, target)
    assert not target.exists()
    assert os.listdir(target.parent) == []


def test_a_failure_while_saving_keeps_the_previous_workbook(saved, monkeypatch):
    before = saved.read_bytes()

    def fail(self, filename):
        raise OSError("disk full")

    monkeypatch.setattr(Workbook, "save", fail)
    result, files = build_day()
    with pytest.raises(OSError):
        write_workbook(result, files, saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]
