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
from attendbot.model import DayStatus
from attendbot.outputs.workbook import workbook_path, write_workbook

DAY = dt.date(2026, 11, 24)
MORNING = "Morning Process Group"
EVENING = "Evening Skills Group"
FORMULA_TEXT = '=HYPERLINK("http://x","y")'
CHARGES_FILE = "inbox/2026-11-24/charges.xlsx"
SIGNIN_FILE = "inbox/2026-11-24/signin.pdf"

SHEETS = ["Summary", "Charges", "Gaps", "No-shows", "Sessions", "Sources", "Responses",
          "Trends"]  # + Authorizations when on file
TABLES = SHEETS[1:-1]
HEADERS = {
    "Charges": [
        "Charge ID", "Date", "Patient ID", "Patient name", "Payer", "Code", "Modifiers", "Units",
        "Supported units", "Supported code", "Session", "Disposition", "Gaps", "Amount", "At risk", "No-show fee",
        "Source", "Billing status", "Billing notes",
    ],
    "Gaps": [
        "Code", "Owner", "Blocks billing", "Likely CARC if unfixed", "Charge ID", "Patient ID", "Session",
        "Message", "Where", "File", "Page", "Sheet", "Row", "Answered in Slack",
    ],
    "No-shows": ["Charge ID", "Patient ID", "Session", "Payer", "Kind", "Policy", "Fee"],
    "Sessions": [
        "Session", "Start", "End", "Facilitator", "Sign-in sheet", "Sheet read by", "Charges", "Attendees",
        "Signed lines", "Sheet lines", "Minutes", "Answered in Slack",
    ],
    "Sources": [
        "Path", "Kind", "Status", "Detail", "SHA-256", "Days", "Used for this day", "Quarantined to",
    ],
    "Responses": [
        "Answered at", "By", "Answer", "Session", "Gap", "Charge ID", "Detail", "Attested time out",
        "Time out on the sheet",
    ],
}
CARC = {"MISSING_SIGNATURE": "16 — lacks information", "NO_SHOW": "=1+1"}


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
    return write_workbook(result, files, workbook_path(tmp_path / "audit", DAY), program="Riverbend IOP",
                          carc=CARC)


@pytest.fixture
def book(saved) -> Workbook:
    return openpyxl.load_workbook(saved)


def records(ws) -> list[dict]:
    """The data rows of a sheet, keyed by header."""
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def by_charge_id(ws) -> dict[str, dict]:
    return {r["Charge ID"]: r for r in records(ws)}


def column_of(ws, header: str) -> str:
    return openpyxl.utils.get_column_letter([c.value for c in ws[1]].index(header) + 1)


def table(ws, title: str) -> tuple[list[dict], dict | None]:
    """One of the Summary's small tables: (rows keyed by its header, its total row or None)."""
    [start] = [c.row for c in ws["A"] if c.value == title]
    header = [v for v in next(ws.iter_rows(min_row=start + 1, max_row=start + 1, values_only=True)) if v is not None]
    rows, total = [], None
    for values in ws.iter_rows(min_row=start + 2, max_col=len(header), values_only=True):
        if values[0] is None:
            break
        row = dict(zip(header, values))
        if values[0] == "Total":
            total = row
            break
        rows.append(row)
    return rows, total


def keyed(rows: list[dict], *keys: str) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def kpis(ws) -> dict[str, tuple]:
    """The Summary's headline figures: label -> (value, detail)."""
    labels, values, details = (list(r) for r in ws.iter_rows(min_row=4, max_row=6, values_only=True))
    return {label: (value, detail) for label, value, detail in zip(labels, values, details) if label}


def chart_title(chart) -> str:
    return "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or []))


# --- layout -------------------------------------------------------------------


def test_workbook_path_is_dated_in_the_audit_dir(tmp_path):
    assert workbook_path(tmp_path, DAY) == tmp_path / "2026-11-24-attendance-audit.xlsx"


def test_sheets_come_in_the_spec_order(book):
    assert book.sheetnames == SHEETS


@pytest.mark.parametrize("title", TABLES)
def test_every_table_sheet_has_a_bold_header_and_a_filter_over_its_data(book, title):
    ws = book[title]
    header = [c.value for c in ws[1]]
    assert header == HEADERS[title]
    assert all(c.font.bold for c in ws[1])
    last_column = openpyxl.utils.get_column_letter(len(header))
    assert ws.auto_filter.ref == f"A1:{last_column}{ws.max_row}"


@pytest.mark.parametrize(("title", "frozen"), [
    ("Summary", "A3"),  # the title and the day's status stay in view
    ("Charges", "E2"),  # the header, and charge id, date, patient id and name while scrolling right
    ("Gaps", "A2"), ("No-shows", "A2"), ("Sessions", "A2"), ("Sources", "A2"),
])
def test_header_rows_and_the_charges_id_columns_are_frozen(book, title, frozen):
    assert book[title].freeze_panes == frozen


@pytest.mark.parametrize("title", TABLES)
def test_column_widths_are_readable_and_capped(book, title):
    ws = book[title]
    for j, header in enumerate(HEADERS[title], start=1):
        width = ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width
        assert max(len(word) for word in header.split()) <= width <= 60


def test_headers_wrap_and_their_row_is_tall_enough_when_they_do(book):
    ws = book["Charges"]
    assert all(c.alignment.wrap_text for c in ws[1])
    assert ws.row_dimensions[1].height >= 30  # "Supported units" takes two lines in its column


def test_a_long_message_wraps_whole_in_a_column_fifty_wide(tmp_path):
    result, files = build_day()
    result.gaps.append(gap(GapCode.NOTE_UNSIGNED, "word " * 60, "C-1005", "M-512"))
    ws = openpyxl.load_workbook(write_workbook(result, files, tmp_path / "w.xlsx"))["Gaps"]
    message = column_of(ws, "Message")
    assert ws.column_dimensions[message].width == 50
    cell = ws[f"{message}{ws.max_row}"]
    assert cell.value == "word " * 60  # no cut
    assert cell.alignment.wrap_text
    assert ws.row_dimensions[ws.max_row].height >= 6 * 15  # 300 characters: at least six lines


@pytest.mark.parametrize(("title", "header"), [
    ("Charges", "Billing notes"), ("Charges", "Session"), ("Gaps", "Message"), ("Gaps", "Where"),
    ("No-shows", "Session"), ("Sessions", "Sign-in sheet"), ("Sources", "Detail"), ("Sources", "Path"),
])
def test_long_text_columns_wrap(book, title, header):
    ws = book[title]
    column = column_of(ws, header)
    assert all(ws[f"{column}{r}"].alignment.wrap_text for r in range(2, ws.max_row + 1))


def test_an_empty_day_still_has_every_sheet_with_headers_and_a_summary(tmp_path):
    empty = DayResult(DAY, [], [], [], [], [])
    book = openpyxl.load_workbook(write_workbook(empty, [], tmp_path / "empty.xlsx"))
    assert book.sheetnames == SHEETS
    assert book["Charges"].auto_filter.ref == "A1:S1"
    figures = kpis(book["Summary"])
    assert figures["Charges"][0] == 0 and figures["Dollars at risk"][0] == 0
    assert figures["No-show fees to bill"][0] == 0
    assert len(book["Summary"]._charts) == 2
    rows, _ = table(book["Summary"], "Gaps by code")
    assert rows == [{"Code": "No gaps", "Owner": None, "Blocks billing": None, "Gaps": None, "Charges": None,
                     "Likely CARC if unfixed": None}]


# --- printing -------------------------------------------------------------------


@pytest.mark.parametrize("title", SHEETS)
def test_every_sheet_prints_landscape_one_page_wide_with_its_header_on_every_page(book, title):
    ws = book[title]
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)  # one wide, as many tall as needed
    assert ws.print_title_rows == ("$1:$2" if title == "Summary" else "$1:$1")


@pytest.mark.parametrize("title", SHEETS)
def test_every_page_footer_names_the_program_the_sheet_the_date_and_page_n_of_m(book, title):
    footer = book[title].oddFooter
    assert footer.left.text == "Riverbend IOP"
    assert footer.center.text == "&A — Tuesday 2026-11-24"  # &A: the sheet's name
    assert footer.right.text == "Page &P of &N"


def test_an_ampersand_in_the_program_name_is_printed_not_read_as_a_footer_code(tmp_path):
    result, files = build_day()
    book = openpyxl.load_workbook(write_workbook(result, files, tmp_path / "w.xlsx", program="R&D Recovery"))
    assert book["Charges"].oddFooter.left.text == "R&&D Recovery"
    assert book["Summary"]["A1"].value.startswith("R&D Recovery")


# --- Summary --------------------------------------------------------------------


def test_summary_names_the_program_and_the_day(book):
    assert book["Summary"]["A1"].value == "Riverbend IOP — attendance audit for Tuesday 2026-11-24"


def test_the_day_is_complete_unless_the_caller_says_otherwise(book):
    ws = book["Summary"]
    assert (ws["A2"].value, ws["B2"].value, ws["C2"].value) == ("Day status", "Complete", None)


@pytest.mark.parametrize(("state", "label"), [
    ("complete", "Complete"), ("incomplete", "Incomplete"), ("not_business_day", "Not a business day"),
    ("nothing_checked", "Nothing checked"),
])
def test_the_callers_day_status_and_its_note_are_on_the_summary(tmp_path, state, label):
    result, files = build_day()
    note = "Thanksgiving Day: reconciled on request " * 5
    ws = openpyxl.load_workbook(write_workbook(result, files, tmp_path / "w.xlsx",
                                               status=DayStatus(state, note)))["Summary"]
    assert (ws["B2"].value, ws["C2"].value) == (label, note)
    assert ws["C2"].alignment.wrap_text and "C2:F2" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.row_dimensions[2].height >= 30


def test_a_day_status_outside_the_four_states_is_refused():
    with pytest.raises(ValueError, match="complete, incomplete, not_business_day, nothing_checked"):
        DayStatus("done")


def test_the_headline_figures_read_in_ten_seconds(book):
    figures = kpis(book["Summary"])
    assert figures == {
        "Charges": (5, "$800.00 scheduled"),
        "Ready to bill": (250, "1 charge"),
        "Dollars at risk": (430, "4 charges held, adjusted or void"),  # 310 held + 80 void + 160 * 2/8
        "Charges held": (2, "$310.00 held"),
        "No-show fees to bill": (50, "1 fee"),  # the self-pay $50 fee
        "Gaps blocking billing": (3, "of 7 gaps in all"),
    }
    ws = book["Summary"]
    assert all("$" in ws.cell(row=5, column=j).number_format for j in (2, 3, 5))


def test_summary_gives_charges_dollars_and_dollars_at_risk_by_disposition(book):
    rows, total = table(book["Summary"], "Charges by disposition")
    got = {r["Disposition"]: (r["Charges"], r["Amount"], r["Dollars at risk"]) for r in rows}
    assert got == {"ready": (1, 250, 0), "adjust": (1, 160, 40), "hold": (2, 310, 310), "void": (1, 80, 80)}
    assert (total["Charges"], total["Amount"], total["Dollars at risk"]) == (5, 800, 430)
    assert keyed(rows, "Disposition")["hold"]["Meaning"] == "do not submit until the listed gaps are resolved"


def test_summary_numbers_match_the_charges_sheet(book):
    charges = records(book["Charges"])
    rows, total = table(book["Summary"], "Charges by disposition")
    for row in rows:
        mine = [c for c in charges if c["Disposition"] == row["Disposition"]]
        assert row["Charges"] == len(mine)
        assert row["Amount"] == pytest.approx(sum(c["Amount"] for c in mine))
        assert row["Dollars at risk"] == pytest.approx(sum(c["At risk"] for c in mine))
    assert total["Amount"] == pytest.approx(sum(c["Amount"] for c in charges))
    figures = kpis(book["Summary"])
    assert figures["Dollars at risk"][0] == pytest.approx(sum(c["At risk"] for c in charges))
    assert figures["Charges held"][0] == sum(c["Disposition"] == "hold" for c in charges)
    fees = sum(c["No-show fee"] or 0 for c in charges)
    assert figures["No-show fees to bill"][0] == fees == sum(r["Fee"] for r in records(book["No-shows"]))


def test_summary_lists_no_show_fees_to_bill_by_payer(book):
    rows, total = table(book["Summary"], "No-shows and late cancellations")
    assert rows == [{"Payer": "Self Pay", "No-shows": 1, "Late cancels": 0, "Fees to bill": 1, "Fee amount": 50}]
    assert total["Fee amount"] == 50


def test_summary_counts_gaps_by_owner_with_those_blocking_billing(book):
    rows, total = table(book["Summary"], "Gaps by owner")
    got = {r["Owner"]: (r["Gaps"], r["Blocking billing"], r["Charges affected"]) for r in rows}
    assert got == {"facilitator": (3, 2, 2), "billing": (4, 1, 3), "intake": (0, 0, 0), "clinical": (0, 0, 0)}
    assert (total["Gaps"], total["Blocking billing"], total["Charges affected"]) == (7, 3, 4)


def test_summary_counts_gaps_by_code_with_owner_effect_and_likely_carc(book):
    rows, _ = table(book["Summary"], "Gaps by code")
    got = {r["Code"]: (r["Owner"], r["Blocks billing"], r["Gaps"], r["Likely CARC if unfixed"]) for r in rows}
    assert got["MISSING_SIGNATURE"] == ("facilitator", "yes", 1, "16 — lacks information")
    assert got["UNITS_EXCEED_TIME"] == ("billing", "adjust", 1, None)
    assert got["UNREADABLE_FILE"] == ("billing", "no", 1, None)
    assert sum(r["Gaps"] for r in rows) == 7


def test_summary_filter_is_on_its_last_table_so_it_hides_no_other(book):
    ws = book["Summary"]
    [start] = [c.row for c in ws["A"] if c.value == "Gaps by code"]
    assert ws.auto_filter.ref == f"A{start + 1}:F{ws.max_row}"


def test_summary_gives_held_charges_per_session_and_facilitator(book):
    rows, total = table(book["Summary"], "Held charges by session")
    assert [(r["Session"], r["Facilitator"], r["Held"], r["Amount held"], r["Charges"]) for r in rows] == [
        (MORNING, "Dana Whitfield", 2, 310, 4),
        (EVENING, "#N/A", 0, 0, 1),
    ]
    assert book["Summary"].cell(row=[c.row for c in book["Summary"]["B"] if c.value == "#N/A"][0],
                                column=2).data_type == "s"
    assert (total["Held"], total["Amount held"]) == (2, 310)


def test_summary_names_each_payer_with_the_section_it_ran_under(tmp_path):
    result, files = build_day()
    result.payer_sections = {"Medicaid": "medicaid", "Self Pay": "selfpay", "Acme Health Plan": None}
    ws = openpyxl.load_workbook(write_workbook(result, files, tmp_path / "w.xlsx"))["Summary"]
    rows, _ = table(ws, "Payers, and the payers.toml section each ran under")
    got = {r["Payer (as written)"]: (r["Section"], r["Charges"], r["Amount"], r["Dollars at risk"], r["Note"])
           for r in rows}
    assert got == {
        "Acme Health Plan": ("defaults", 1, 250, 0, "no section matched: [defaults] rules used"),
        "Medicaid": ("payers.medicaid", 3, 470, 350, None),
        "Self Pay": ("payers.selfpay", 1, 80, 80, None),
    }


def test_without_the_payer_book_unknown_payers_still_show_defaults(book):
    rows, _ = table(book["Summary"], "Payers, and the payers.toml section each ran under")
    sections = {r["Payer (as written)"]: r["Section"] for r in rows}
    assert sections == {"Acme Health Plan": "defaults", "Medicaid": "a payers.toml section",
                        "Self Pay": "a payers.toml section"}


def test_summary_counts_files_by_status(book):
    rows, total = table(book["Summary"], "Files")
    assert {r["Status"]: r["Files"] for r in rows} == {"duplicate": 1, "read": 3, "unreadable": 1}
    assert total["Files"] == 5


def test_summary_has_native_charts_of_dollars_by_disposition_and_gaps_by_owner(book):
    ws = book["Summary"]
    charts = ws._charts
    assert [type(c).__name__ for c in charts] == ["BarChart", "BarChart"]
    assert [chart_title(c) for c in charts] == ["Dollars by disposition", "Gaps by owner"]
    [money] = charts[0].series
    [start] = [c.row for c in ws["A"] if c.value == "Charges by disposition"]
    assert money.val.numRef.f == f"'Summary'!$C${start + 2}:$C${start + 5}"  # the table's Amount column
    assert len(money.dPt) == 4  # one colour per disposition


def test_money_has_a_currency_format_and_counts_are_numbers(book):
    ws = book["Charges"]
    header = HEADERS["Charges"]
    amount = ws.cell(row=2, column=header.index("Amount") + 1)
    units = ws.cell(row=2, column=header.index("Units") + 1)
    assert amount.value == 250 and "$" in amount.number_format
    assert units.data_type == "n" and units.value == 1
    rows, _ = table(book["Summary"], "Charges by disposition")
    [start] = [c.row for c in book["Summary"]["A"] if c.value == "Charges by disposition"]
    assert "$" in book["Summary"][f"C{start + 2}"].number_format


# --- Charges ----------------------------------------------------------------------


def test_every_charge_is_listed_with_its_disposition_and_gaps(book):
    charges = by_charge_id(book["Charges"])
    assert {k: (v["Disposition"], v["Gaps"]) for k, v in charges.items()} == {
        "C-1001": ("hold", "MISSING_SIGNATURE"),
        "C-1002": ("adjust", "UNITS_EXCEED_TIME"),
        "C-1003": ("void", "NO_SHOW"),
        "C-1004": ("ready", None),
        "C-1005": ("hold", "GROUP_SIZE_EXCEEDED, NOTE_UNSIGNED"),
    }


def test_charge_rows_carry_units_fee_date_risk_and_source(book):
    ws = book["Charges"]
    charges = by_charge_id(ws)
    adjusted = charges["C-1002"]
    assert (adjusted["Units"], adjusted["Supported units"], adjusted["Modifiers"]) == (8, 6, "HQ, GT")
    assert adjusted["At risk"] == 40
    assert charges["C-1003"]["No-show fee"] == 50
    assert charges["C-1001"]["No-show fee"] is None
    assert charges["C-1001"]["Patient name"] == "Núñez, María"
    assert charges["C-1001"]["Date"] == dt.datetime(2026, 11, 24)
    assert ws["B2"].is_date
    assert charges["C-1001"]["Source"] == f"{CHARGES_FILE} sheet 'Charges' row 2"


def test_charges_are_coloured_by_disposition_with_conditional_formats(book):
    ws = book["Charges"]
    rules = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            rules[rule.formula[0]] = (str(cf.sqref), rule.dxf.fill.fgColor.rgb[-6:], rule.dxf.font.color.rgb[-6:])
    assert rules == {
        '$L2="ready"': ("A2:S6", "C6EFCE", "006100"),
        '$L2="adjust"': ("A2:S6", "FFEB9C", "9C5700"),
        '$L2="hold"': ("A2:S6", "FFC7CE", "9C0006"),
        '$L2="void"': ("A2:S6", "D9D9D9", "404040"),
    }
    assert ws["K2"].fill.fill_type is None  # the colour is a rule, not a static fill


def test_gaps_are_coloured_by_what_they_do_to_billing(book):
    ws = book["Gaps"]
    formulas = {rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules}
    assert formulas == {'$C2="yes"', '$C2="adjust"', '$C2="void"'}


def test_billing_status_is_a_drop_down_of_the_leads_four_choices(book):
    ws = book["Charges"]
    [validation] = ws.data_validations.dataValidation
    assert validation.type == "list"
    assert validation.formula1 == '"to do,fixed,billed,written off"'
    assert str(validation.sqref) == "R2:R6"
    assert validation.allow_blank
    assert [r["Billing status"] for r in records(ws)] == ["to do"] * 5
    assert [r["Billing notes"] for r in records(ws)] == [None] * 5


def lead_edits(path: Path, edits: dict[str, tuple], sheet="Charges") -> None:
    """Open the workbook as the billing lead would, type a status and notes beside charges, save."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    status, notes = column_of(ws, "Billing status"), column_of(ws, "Billing notes")
    for r in range(2, ws.max_row + 1):
        charge_id = ws[f"A{r}"].value
        if charge_id in edits:
            ws[f"{status}{r}"], ws[f"{notes}{r}"] = edits[charge_id]
    wb.save(path)


def lead_columns(path: Path, sheet="Charges") -> dict[tuple, tuple]:
    return {(r["Charge ID"], r["Patient ID"]): (r["Billing status"], r["Billing notes"])
            for r in records(openpyxl.load_workbook(path)[sheet])}


def test_a_rerun_keeps_the_status_and_notes_the_lead_typed(saved):
    lead_edits(saved, {"C-1001": ("fixed", "Dana re-signed the sheet 3:10pm"), "C-1003": ("billed", "$50 fee")})
    result, files = build_day()
    write_workbook(result, files, saved, program="Riverbend IOP")
    kept = lead_columns(saved)
    assert kept[("C-1001", "M-204")] == ("fixed", "Dana re-signed the sheet 3:10pm")
    assert kept[("C-1003", "M-411")] == ("billed", "$50 fee")
    assert kept[("C-1002", "M-305")] == ("to do", None)
    book = openpyxl.load_workbook(saved)
    assert book.sheetnames == SHEETS  # nothing left over, so no Earlier notes sheet
    assert str(book["Charges"].data_validations.dataValidation[0].sqref) == "R2:R6"


def test_a_rerun_with_changed_charges_keeps_notes_by_charge_and_parks_the_orphans(saved):
    lead_edits(saved, {"C-1001": ("fixed", "re-signed"), "C-1004": ("written off", "duplicate in EHR"),
                       "C-1002": ("to do", None)})
    result, files = build_day()
    result.charges.reverse()
    fixed = result.charges.pop(1)  # C-1004 leaves the export
    assert fixed.charge.charge_id == "C-1004"
    result.charges.append(ChargeResult(charge("C-1006", "M-700", "New, Pat", "Medicaid", "H0015", 1, 250.0),
                                       [], 1, MORNING))
    write_workbook(result, files, saved)
    kept = lead_columns(saved)
    assert kept[("C-1001", "M-204")] == ("fixed", "re-signed")
    assert kept[("C-1006", "M-700")] == ("to do", None)
    assert ("C-1004", "M-620") not in kept
    book = openpyxl.load_workbook(saved)
    assert book.sheetnames == [*SHEETS, "Earlier notes"]
    [parked] = records(book["Earlier notes"])
    assert (parked["Charge ID"], parked["Patient ID"], parked["Patient name"]) == ("C-1004", "M-620", FORMULA_TEXT)
    assert (parked["Billing status"], parked["Billing notes"]) == ("written off", "duplicate in EHR")
    assert book["Earlier notes"]["C2"].data_type == "s"  # the formula-looking name stays text

    # the charge comes back: its notes return to the Charges sheet and the parking sheet goes away
    write_workbook(*build_day(), saved)
    assert lead_columns(saved)[("C-1004", "M-620")] == ("written off", "duplicate in EHR")
    assert openpyxl.load_workbook(saved).sheetnames == SHEETS


def test_two_patients_sharing_a_charge_id_keep_their_own_notes(tmp_path):
    result, files = build_day()
    result.charges[1] = ChargeResult(charge("C-1001", "M-999", "Other, Ann", "Medicaid", "H0015", 1, 250.0),
                                     [], 1, MORNING)
    path = write_workbook(result, files, tmp_path / "w.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Charges"]
    status, notes = column_of(ws, "Billing status"), column_of(ws, "Billing notes")
    for r in range(2, ws.max_row + 1):
        if ws[f"C{r}"].value == "M-999":
            ws[f"{status}{r}"], ws[f"{notes}{r}"] = "billed", "Ann's claim"
    wb.save(path)
    result.charges[0], result.charges[1] = result.charges[1], result.charges[0]
    write_workbook(result, files, path)
    kept = lead_columns(path)
    assert kept[("C-1001", "M-999")] == ("billed", "Ann's claim")
    assert kept[("C-1001", "M-204")] == ("to do", None)


def test_the_lead_may_sort_the_sheet_and_type_anything_the_notes_still_follow_the_charge(saved):
    wb = openpyxl.load_workbook(saved)
    ws = wb["Charges"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    rows.sort(key=lambda r: r[0], reverse=True)
    for r, values in enumerate(rows, start=2):
        for j, value in enumerate(values, start=1):
            ws.cell(row=r, column=j).value = value
    status, notes = column_of(ws, "Billing status"), column_of(ws, "Billing notes")
    ws[f"{status}2"], ws[f"{notes}2"] = "Fixed ", 42  # C-1005 now: odd case, a number for a note
    ws[f"{notes}3"] = "=1+1"  # C-1004: a formula the lead typed (not calculated: openpyxl wrote it)
    wb.save(saved)
    write_workbook(*build_day(), saved)
    kept = lead_columns(saved)
    assert kept[("C-1005", "M-512")] == ("Fixed", 42)
    assert kept[("C-1004", "M-620")] == ("to do", None)  # no value was ever calculated for it


@pytest.mark.parametrize("previous", [b"", b"not a workbook", b"PK\x03\x04 half a workbook"])
def test_a_damaged_previous_workbook_is_replaced_without_fuss(tmp_path, previous, caplog):
    path = tmp_path / "w.xlsx"
    path.write_bytes(previous)
    write_workbook(*build_day(), path)
    assert set(lead_columns(path).values()) == {("to do", None)}
    assert "could not be read" in caplog.text


def test_a_previous_workbook_without_the_lead_columns_gives_nothing_to_carry(tmp_path):
    path = tmp_path / "w.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Charges"
    wb.active.append(["Charge ID", "Patient ID"])
    wb.active.append(["C-1001", "M-204"])
    wb.save(path)
    write_workbook(*build_day(), path)
    assert lead_columns(path)[("C-1001", "M-204")] == ("to do", None)


# --- Gaps, No-shows, Sessions, Sources -------------------------------------------------


def test_gaps_sheet_gives_owner_effect_carc_and_evidence_in_separate_columns(book):
    gaps = {r["Code"]: r for r in records(book["Gaps"])}
    signature = gaps["MISSING_SIGNATURE"]
    assert signature["Owner"] == "facilitator"
    assert signature["Blocks billing"] == "yes"
    assert signature["Likely CARC if unfixed"] == "16 — lacks information"
    assert (signature["Charge ID"], signature["Patient ID"], signature["Session"]) == ("C-1001", "M-204", MORNING)
    assert (signature["File"], signature["Page"], signature["Sheet"], signature["Row"]) == (SIGNIN_FILE, 1, None, 4)
    assert signature["Where"] == "signin.pdf, page 1, row 4"
    assert gaps["UNITS_EXCEED_TIME"]["Blocks billing"] == "adjust"
    assert gaps["UNITS_EXCEED_TIME"]["Likely CARC if unfixed"] is None  # not in the mapping
    assert gaps["NO_SHOW"]["Blocks billing"] == "void"
    assert gaps["UNREADABLE_FILE"]["Blocks billing"] == "no"
    assert gaps["UNREADABLE_FILE"]["Charge ID"] is None
    unmatched = gaps["UNMATCHED_SIGNIN_NAME"]
    assert (unmatched["Sheet"], unmatched["Row"], unmatched["Page"]) == ("Evening", 6, None)
    assert unmatched["Where"] == "evening.xlsx, sheet 'Evening', row 6"


def test_a_carc_value_that_looks_like_a_formula_is_text(book):
    ws = book["Gaps"]
    carc = column_of(ws, "Likely CARC if unfixed")
    [cell] = [ws[f"{carc}{r}"] for r in range(2, ws.max_row + 1) if ws[f"A{r}"].value == "NO_SHOW"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


def test_where_is_plain_text_even_for_a_file_named_like_a_formula(tmp_path):
    result, files = build_day()
    result.gaps.append(gap(GapCode.UNREADABLE_FILE, "bad", session=None,
                           evidence=Evidence("inbox/=SUM(A1).pdf", page=2)))
    ws = openpyxl.load_workbook(write_workbook(result, files, tmp_path / "w.xlsx"))["Gaps"]
    where = ws[f"{column_of(ws, 'Where')}{ws.max_row}"]
    assert (where.value, where.data_type, where.hyperlink) == ("=SUM(A1).pdf, page 2", "s", None)
    file = ws[f"{column_of(ws, 'File')}{ws.max_row}"]
    assert (file.value, file.data_type, file.hyperlink) == ("inbox/=SUM(A1).pdf", "s", None)


def test_no_cell_anywhere_is_a_formula_or_a_hyperlink(book):
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f" and cell.hyperlink is None, (ws.title, cell.coordinate)


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
    assert (morning["Sheet read by"], evening["Sheet read by"]) == ("text", None)  # a digital sheet; no sheet
    assert "Scanned lines" not in book.sheetnames  # a day without scans has no such sheet


def test_sources_sheet_lists_every_file_with_its_whole_hash_and_use(book):
    sources = {r["Path"]: r for r in records(book["Sources"])}
    assert len(sources) == 5
    assert sources[CHARGES_FILE]["SHA-256"] == "a" * 64
    assert book["Sources"]["E2"].alignment.wrap_text  # shown whole, on two lines
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
    message = book["Gaps"]["H4"]  # the no-show gap's message
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
