"""Sign-in sheets kept in Excel: one session per worksheet, typed signatures, read back by SigninXlsxReader."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from attendbot.model import ReadResult
from attendbot.readers import all_readers, identify
from attendbot.readers.signin_xlsx import SigninXlsxReader
from attendbot.readers.source import SourceFile
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.tables import write_signin_xlsx, write_table_csv

DAY = dt.date(2026, 11, 24)
SHOWN = "inbox/2026-11-24/signin.xlsx"


def draft(**changes) -> SheetDraft:
    values = dict(
        group="Morning Process",
        date=DAY,
        facilitator="Dana Whitfield",
        lines=[
            LineDraft("Avery Quinlan", "text", "9:02 AM", "12:00 PM"),
            LineDraft("Jordan Pell", "image", "9:05 AM", "11:45 AM"),
            LineDraft("Casey Marrow", "stroke", "9:00 AM", "12:00 PM"),
            LineDraft("Riley Stone", None),
        ],
        facilitator_signature="text",
    )
    return SheetDraft(**{**values, **changes})


def workbook(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """A hand-made workbook: worksheet title -> rows, written as given."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    wb.save(path)
    return path


def signin_rows(*header: Sequence[Any], lines: Sequence[Sequence[Any]] = (), footer: Sequence[Sequence[Any]] = ()):
    """A sheet: title, header block, blank row, the table (header at row len(header)+3), footer."""
    return [["Riverbend Recovery IOP — Group Sign-In Sheet"], *header, [],
            ["#", "Printed Name", "Signature", "Time In", "Time Out"],
            *[[i, *line] for i, line in enumerate(lines, 1)], [], *footer]


STANDARD_HEADER = (["Group:", "Morning Process"], ["Date:", DAY], ["Time:", "9:00 AM - 12:00 PM"],
                   ["Facilitator:", "Dana Whitfield"])


def read(path: Path) -> ReadResult:
    src = SourceFile(path, shown=SHOWN)
    try:
        reader = SigninXlsxReader()
        assert reader.identify(src)
        return reader.read(src)
    finally:
        src.close()


def read_one(path: Path):
    result = read(path)
    assert len(result.sheets) == 1, result.problems
    return result.sheets[0], result


# --- what the sample writer makes ------------------------------------------------------

def test_a_sample_sheet_is_read_back_with_its_header_block_and_lines(tmp_path):
    sheet, result = read_one(write_signin_xlsx(tmp_path / "s.xlsx", [draft()]))
    assert result.problems == []
    assert sheet.group == "Morning Process"
    assert sheet.service_date == DAY
    assert (sheet.start, sheet.end) == (dt.time(9, 0), dt.time(12, 0))
    assert sheet.facilitator == "Dana Whitfield"
    assert [line.printed_name for line in sheet.lines] == ["Avery Quinlan", "Jordan Pell", "Casey Marrow", "Riley Stone"]
    assert [line.signed for line in sheet.lines] == [True, True, True, False]
    assert sheet.lines[0].time_in == dt.time(9, 2)
    assert sheet.lines[1].time_out == dt.time(11, 45)
    assert sheet.lines[3].time_in is None and sheet.lines[3].time_out is None


def test_a_sign_in_workbook_is_identified_as_a_sign_in_sheet_only(tmp_path):
    src = SourceFile(write_signin_xlsx(tmp_path / "s.xlsx", [draft()]))
    assert identify(src, all_readers()).kind == "signin"


def test_a_csv_is_never_claimed_by_the_xlsx_sign_in_reader(tmp_path):
    path = write_table_csv(tmp_path / "s.csv", ["Group:", "Morning Process"], [["Date:", "11/24/2026"],
                                                                               ["Printed Name", "Signature"]])
    assert not SigninXlsxReader().identify(SourceFile(path))


def test_one_session_is_read_per_worksheet(tmp_path):
    drafts = [draft(), draft(group="Afternoon Skills", start="1:00 PM", end="4:00 PM"),
              draft(group="Evening Relapse Prevention", date=DAY + dt.timedelta(days=1), start="6:00 PM", end="9:00 PM")]
    result = read(write_signin_xlsx(tmp_path / "s.xlsx", drafts))
    assert result.problems == []
    assert [(s.group, s.service_date, s.start, s.end) for s in result.sheets] == [
        ("Morning Process", DAY, dt.time(9), dt.time(12)),
        ("Afternoon Skills", DAY, dt.time(13), dt.time(16)),
        ("Evening Relapse Prevention", DAY + dt.timedelta(days=1), dt.time(18), dt.time(21)),
    ]
    assert len({s.evidence.sheet for s in result.sheets}) == 3
    assert result.days == {DAY, DAY + dt.timedelta(days=1)}


# --- signatures ------------------------------------------------------------------------

@pytest.mark.parametrize("signature", ["Avery Quinlan", "/s/ Avery Quinlan", "AQ", "x", 1, "absent-minded A. Q.", "Ávery"])
def test_a_typed_or_pasted_signature_counts_as_signed(tmp_path, signature):
    path = workbook(tmp_path / "s.xlsx", {"Morning": signin_rows(*STANDARD_HEADER, lines=[["Avery Quinlan", signature]])})
    sheet, _ = read_one(path)
    assert sheet.lines[0].signed is True


@pytest.mark.parametrize("signature", [None, "", "   ", "absent", "ABSENT", "Absent", "refused", "Refused", "n/a", "N/A",
                                       "NA", " n/a "])
def test_blank_absent_refused_or_na_is_not_a_signature(tmp_path, signature):
    path = workbook(tmp_path / "s.xlsx", {"Morning": signin_rows(*STANDARD_HEADER, lines=[["Avery Quinlan", signature]])})
    sheet, _ = read_one(path)
    assert sheet.lines[0].signed is False


@pytest.mark.parametrize("signature", ["✓", "✔", "王伟", "Иван Петров", "محمد"])
def test_a_signature_without_latin_letters_still_counts_as_signed(tmp_path, signature):
    path = workbook(tmp_path / "s.xlsx", {"Morning": signin_rows(*STANDARD_HEADER, lines=[["Avery Quinlan", signature]])})
    sheet, _ = read_one(path)
    assert sheet.lines[0].signed is True


# --- worksheets that are not sign-in sheets -------------------------------------------

def test_an_instructions_worksheet_is_reported_as_a_problem_not_silently_skipped(tmp_path):
    path = workbook(tmp_path / "s.xlsx", {
        "Instructions": [["How to use this workbook"], ["Print one sheet per group and have each patient sign."]],
        "Morning": signin_rows(*STANDARD_HEADER, lines=[["Avery Quinlan", "AQ"]]),
    })
    result = read(path)
    assert [s.group for s in result.sheets] == ["Morning Process"]
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.evidence.file == SHOWN
    assert problem.evidence.sheet == "Instructions"
    assert "Instructions" in problem.message


def test_a_workbook_whose_sign_in_sheet_comes_after_an_instructions_sheet_is_still_identified(tmp_path):
    path = workbook(tmp_path / "s.xlsx", {
        "Instructions": [["Fill in one worksheet per group."]],
        "Morning": signin_rows(*STANDARD_HEADER, lines=[["Avery Quinlan", "AQ"]]),
    })
    assert identify(SourceFile(path), all_readers()).kind == "signin"


def test_a_sheet_whose_date_cannot_be_read_is_a_problem_with_the_sheet_as_evidence(tmp_path):
    header = (["Group:", "Morning Process"], ["Date:", "someday soon"])
    result = read(workbook(tmp_path / "s.xlsx", {
        "Bad date": signin_rows(*header, lines=[["Avery Quinlan", "AQ"]]),
        "Good": signin_rows(*STANDARD_HEADER, lines=[["Avery Quinlan", "AQ"]]),
    }))
    assert [s.evidence.sheet for s in result.sheets] == ["Good"]
    assert [(p.evidence.file, p.evidence.sheet) for p in result.problems] == [(SHOWN, "Bad date")]


# --- header block variants -------------------------------------------------------------

def test_time_as_one_range_gives_start_and_end(tmp_path):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        ["Group:", "Morning Process"], ["Date:", DAY], ["Time:", "9:00 AM - 12:00 PM"],
        lines=[["Avery Quinlan", "AQ"]])}))
    assert (sheet.start, sheet.end) == (dt.time(9, 0), dt.time(12, 0))


def test_separate_start_and_end_time_labels_give_start_and_end(tmp_path):
    sheet, _ = read_one(write_signin_xlsx(tmp_path / "s.xlsx", [draft(separate_times=True, start="1:00 PM",
                                                                       end="4:30 PM")]))
    assert (sheet.start, sheet.end) == (dt.time(13, 0), dt.time(16, 30))
    assert len(sheet.lines) == 4


def test_start_and_end_time_as_excel_time_cells_are_read(tmp_path):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        ["Group:", "Morning Process"], ["Date:", DAY], ["Start Time:", dt.time(9, 0)], ["End Time:", dt.time(12, 0)],
        lines=[["Avery Quinlan", "AQ"]])}))
    assert (sheet.start, sheet.end) == (dt.time(9, 0), dt.time(12, 0))


def test_no_time_in_the_header_block_leaves_start_and_end_unknown(tmp_path):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        ["Group:", "Morning Process"], ["Date:", DAY], lines=[["Avery Quinlan", "AQ"]])}))
    assert (sheet.start, sheet.end) == (None, None)


def test_the_group_name_label_variant_names_the_group(tmp_path):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        ["Group Name:", "Afternoon  Skills"], ["Date:", DAY], lines=[["Avery Quinlan", "AQ"]])}))
    assert sheet.group == "Afternoon Skills"


def test_label_and_value_in_one_cell_are_read(tmp_path):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        ["Group: Morning Process"], ["Date: 11/24/2026"], ["Time: 9:00 AM - 12:00 PM"], ["Facilitator: Dana Whitfield"],
        lines=[["Avery Quinlan", "AQ"]])}))
    assert sheet.group == "Morning Process"
    assert sheet.service_date == DAY
    assert (sheet.start, sheet.end) == (dt.time(9, 0), dt.time(12, 0))
    assert sheet.facilitator == "Dana Whitfield"


def test_labels_side_by_side_on_one_row_are_all_read(tmp_path):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        ["Group:", "Morning Process", None, "Date:", DAY],
        ["Time:", "9:00 AM - 12:00 PM", None, "Facilitator:", "Dana Whitfield"],
        lines=[["Avery Quinlan", "AQ"]])}))
    assert (sheet.group, sheet.service_date, sheet.facilitator) == ("Morning Process", DAY, "Dana Whitfield")
    assert (sheet.start, sheet.end) == (dt.time(9, 0), dt.time(12, 0))


@pytest.mark.parametrize("written", [DAY, dt.datetime(2026, 11, 24, 0, 0), "11/24/2026", "2026-11-24", "Nov 24, 2026"])
def test_the_date_label_is_read_in_any_form(tmp_path, written):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        ["Group:", "Morning Process"], ["Date:", written], lines=[["Avery Quinlan", "AQ"]])}))
    assert sheet.service_date == DAY


# --- facilitator signature -------------------------------------------------------------

@pytest.mark.parametrize("field, expected", [("text", True), (None, False), ("no-field", None)])
def test_the_facilitator_signature_is_signed_empty_or_absent_as_a_field(tmp_path, field, expected):
    sheet, _ = read_one(write_signin_xlsx(tmp_path / "s.xlsx", [draft(facilitator_signature=field)]))
    assert sheet.facilitator_signed is expected
    assert len(sheet.lines) == 4  # the footer is never read as a patient line


@pytest.mark.parametrize("value", ["n/a", "refused"])
def test_a_facilitator_signature_of_na_or_refused_is_not_signed(tmp_path, value):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        *STANDARD_HEADER, lines=[["Avery Quinlan", "AQ"]], footer=[["Facilitator Signature:", value]])}))
    assert sheet.facilitator_signed is False


def test_a_facilitator_signature_in_the_same_cell_as_its_label_counts(tmp_path):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        *STANDARD_HEADER, lines=[["Avery Quinlan", "AQ"]], footer=[["Facilitator Signature: Dana Whitfield"]])}))
    assert sheet.facilitator_signed is True


# --- lines, times and evidence ---------------------------------------------------------

def test_lines_are_numbered_from_one_with_file_sheet_and_excel_row_as_evidence(tmp_path):
    sheet, _ = read_one(write_signin_xlsx(tmp_path / "s.xlsx", [draft()]))
    # title, Group, Date, Time, Facilitator, blank, table header (row 7): patients from row 8
    assert [line.row for line in sheet.lines] == [1, 2, 3, 4]
    assert [line.evidence.row for line in sheet.lines] == [8, 9, 10, 11]
    assert {line.evidence.file for line in sheet.lines} == {SHOWN}
    assert {line.evidence.sheet for line in sheet.lines} == {sheet.evidence.sheet} == {"Morning Process 1"}
    assert sheet.evidence.file == SHOWN


def test_separate_time_labels_shift_the_evidence_rows_by_one(tmp_path):
    sheet, _ = read_one(write_signin_xlsx(tmp_path / "s.xlsx", [draft(separate_times=True)]))
    assert [line.evidence.row for line in sheet.lines] == [9, 10, 11, 12]


def test_blank_rows_inside_the_table_are_skipped_without_breaking_the_numbering(tmp_path):
    rows = signin_rows(*STANDARD_HEADER, lines=[["Avery Quinlan", "AQ"]])
    rows[-1:-1] = [[None, None, None], [2, "Jordan Pell", "JP"]]  # a blank row, then a second patient
    sheet, result = read_one(workbook(tmp_path / "s.xlsx", {"S": rows}))
    assert [(line.row, line.printed_name, line.evidence.row) for line in sheet.lines] == [
        (1, "Avery Quinlan", 8), (2, "Jordan Pell", 10)]
    assert result.problems == []


def test_printed_names_have_their_spacing_tidied(tmp_path):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        *STANDARD_HEADER, lines=[["  Avery   Quinlan ", "AQ"]])}))
    assert sheet.lines[0].printed_name == "Avery Quinlan"


@pytest.mark.parametrize("time_in, time_out", [
    ("9:02 AM", "12:00 PM"),
    ("09:02", "12:00"),
    ("0902", "1200"),
    (dt.time(9, 2), dt.time(12, 0)),
    (dt.datetime(2026, 11, 24, 9, 2), dt.datetime(2026, 11, 24, 12, 0)),
])
def test_time_in_and_out_are_read_in_any_form(tmp_path, time_in, time_out):
    sheet, _ = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        *STANDARD_HEADER, lines=[["Avery Quinlan", "AQ", time_in, time_out]])}))
    assert (sheet.lines[0].time_in, sheet.lines[0].time_out) == (dt.time(9, 2), dt.time(12, 0))


def test_an_unreadable_time_keeps_the_line_and_reports_a_problem_with_its_row(tmp_path):
    sheet, result = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        *STANDARD_HEADER, lines=[["Avery Quinlan", "AQ", "around nine", "12:00 PM"]])}))
    assert sheet.lines[0].printed_name == "Avery Quinlan"
    assert sheet.lines[0].signed is True
    assert sheet.lines[0].time_in is None
    assert sheet.lines[0].time_out == dt.time(12, 0)
    assert [(p.evidence.file, p.evidence.sheet, p.evidence.row) for p in result.problems] == [(SHOWN, "S", 8)]


def test_a_signed_line_without_a_printed_name_is_reported_not_silently_dropped(tmp_path):
    sheet, result = read_one(workbook(tmp_path / "s.xlsx", {"S": signin_rows(
        *STANDARD_HEADER, lines=[["Avery Quinlan", "AQ"], [None, "scribble", "9:00 AM", "12:00 PM"]])}))
    assert [line.printed_name for line in sheet.lines] == ["Avery Quinlan"]
    assert [(p.evidence.sheet, p.evidence.row) for p in result.problems] == [("S", 9)]
