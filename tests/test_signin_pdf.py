"""PDF sign-in sheets: drawn by the sample writer, read back by SigninPdfReader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from attendbot.codes import GapCode
from attendbot.errors import UnreadableFileError
from attendbot.model import Evidence, ReadResult
from attendbot.readers.pdf_backend import open_pdf
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.readers.source import SourceFile
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.signin_pdf import HeaderStyle, PdfCanvas, draw_sheet, new_pdf, write_signin_pdf

DAY = dt.date(2026, 11, 24)
SHOWN = "inbox/signin.pdf"


def draft(**changes) -> SheetDraft:
    values = dict(
        group="Relapse Prevention",
        date=DAY,
        facilitator="Dana Whitfield",
        lines=[
            LineDraft("Avery Quinlan", "stroke", "9:02 AM", "12:00 PM"),
            LineDraft("Jordan Pell", "image", "9:05 AM", "11:45 AM"),
            LineDraft("Casey Marrow", "text", "9:00 AM", "12:00 PM"),
            LineDraft("Riley Stone", None),
        ],
    )
    return SheetDraft(**{**values, **changes})


def source(path: Path) -> SourceFile:
    return SourceFile(path, shown=SHOWN)


def read_back(tmp_path: Path, *sheets: SheetDraft, style: HeaderStyle = HeaderStyle()) -> ReadResult:
    src = source(write_signin_pdf(tmp_path / "signin.pdf", list(sheets), style))
    try:
        reader = SigninPdfReader()
        assert reader.identify(src)
        return reader.read(src)
    finally:
        src.close()


def test_stroke_image_and_text_signatures_all_count_as_signed(tmp_path):
    [sheet] = read_back(tmp_path, draft()).sheets
    signed = {line.printed_name: line.signed for line in sheet.lines}
    assert signed == {"Avery Quinlan": True, "Jordan Pell": True, "Casey Marrow": True, "Riley Stone": False}


def test_an_empty_signature_cell_is_a_missing_signature(tmp_path):
    lines = [LineDraft(f"Patient {c}", None) for c in "ABC"]
    [sheet] = read_back(tmp_path, draft(lines=lines)).sheets
    assert [line.signed for line in sheet.lines] == [False, False, False]


def test_blank_spare_rows_are_ignored_and_rows_are_numbered_from_one(tmp_path):
    result = read_back(tmp_path, draft())
    [sheet] = result.sheets
    assert [line.row for line in sheet.lines] == [1, 2, 3, 4]
    assert sheet.lines[1].evidence == Evidence(SHOWN, page=1, row=2)
    assert result.problems == []


def test_the_header_block_and_each_line_s_times_are_read(tmp_path):
    [sheet] = read_back(tmp_path, draft()).sheets
    assert (sheet.group, sheet.service_date, sheet.facilitator) == ("Relapse Prevention", DAY, "Dana Whitfield")
    assert (sheet.start, sheet.end) == (dt.time(9, 0), dt.time(12, 0))
    assert sheet.evidence == Evidence(SHOWN, page=1)
    assert (sheet.lines[1].time_in, sheet.lines[1].time_out) == (dt.time(9, 5), dt.time(11, 45))
    assert (sheet.lines[3].time_in, sheet.lines[3].time_out) == (None, None)


def test_separate_start_and_end_time_fields_give_the_session_time(tmp_path):
    [sheet] = read_back(tmp_path, draft(separate_times=True, start="1:00 PM", end="4:00 PM")).sheets
    assert (sheet.start, sheet.end) == (dt.time(13, 0), dt.time(16, 0))


def test_a_group_name_label_and_a_spelled_out_date_are_read(tmp_path):
    style = HeaderStyle(group_label="Group Name:", date_format="%B %d, %Y")
    [sheet] = read_back(tmp_path, draft(), style=style).sheets
    assert (sheet.group, sheet.service_date) == ("Relapse Prevention", DAY)


def test_a_group_name_wrapped_onto_two_header_lines_is_read_whole(tmp_path):
    long_name = "Dialectical Behavior Therapy Skills Group for Adults - Morning Track B"
    [sheet] = read_back(tmp_path, draft(group=long_name)).sheets
    assert sheet.group == long_name


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("stroke", True), ("image", True), ("text", True), (None, False), ("no-field", None)],
)
def test_the_facilitator_signature_is_ink_above_the_footer_line(tmp_path, kind, expected):
    [sheet] = read_back(tmp_path, draft(facilitator_signature=kind)).sheets
    assert sheet.facilitator_signed is expected


def test_a_time_that_cannot_be_read_is_left_empty_and_reported_with_its_row(tmp_path):
    lines = [LineDraft("Avery Quinlan", "stroke", "late", "12:00 PM")]
    result = read_back(tmp_path, draft(lines=lines))
    [line] = result.sheets[0].lines
    assert (line.time_in, line.time_out) == (None, dt.time(12, 0))
    [problem] = result.problems
    assert problem.evidence == Evidence(SHOWN, page=1, row=1)
    assert "time in" in problem.message and problem.gap is None


def test_a_pdf_of_several_sessions_gives_one_sheet_per_page(tmp_path):
    sessions = [draft(group="Relapse Prevention"), draft(group="Coping Skills", start="1:00 PM", end="3:00 PM"),
                draft(group="Family Systems", date=DAY + dt.timedelta(days=1))]
    result = read_back(tmp_path, *sessions)
    assert [(s.group, s.service_date, s.evidence.page) for s in result.sheets] == [
        ("Relapse Prevention", DAY, 1), ("Coping Skills", DAY, 2), ("Family Systems", DAY + dt.timedelta(days=1), 3)]
    assert result.sheets[2].lines[0].evidence == Evidence(SHOWN, page=3, row=1)


def test_a_scanned_page_inside_a_signin_pdf_is_read_as_a_scan_and_the_others_as_text(tmp_path):
    result = read_back(tmp_path, draft(group="Relapse Prevention"), draft(group="Coping Skills", scanned=True),
                       draft(group="Family Systems"))
    assert [(s.group, s.how) for s in result.sheets] == [
        ("Relapse Prevention", None), ("Coping Skills", "ocr"), ("Family Systems", None)]
    assert result.sheets[1].evidence == Evidence(SHOWN, page=2)
    assert result.problems == []


def test_an_instructions_page_is_skipped_with_a_problem_that_says_so(tmp_path):
    pdf = new_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(72, 100, "How to fill in the sign-in sheet: print your name, then sign.")
    pdf.add_page()
    draw_sheet(PdfCanvas(pdf), draft())
    path = tmp_path / "with-instructions.pdf"
    pdf.output(str(path))
    result = SigninPdfReader().read(source(path))
    assert [s.evidence.page for s in result.sheets] == [2]
    [problem] = result.problems
    assert problem.evidence == Evidence(SHOWN, page=1) and problem.gap is None
    assert "not a sign-in sheet" in problem.message and "skipped" in problem.message


def test_a_sheet_without_a_group_name_is_reported_not_read(tmp_path):
    result = read_back(tmp_path, draft(group=""), draft(group="Coping Skills"))
    assert [s.group for s in result.sheets] == ["Coping Skills"]
    [problem] = result.problems
    assert problem.evidence == Evidence(SHOWN, page=1) and problem.gap is GapCode.UNREADABLE_FILE
    assert "no group name" in problem.message


def test_an_image_only_pdf_is_left_to_the_scan_reader(tmp_path):
    from attendbot.readers.signin_scan import SigninScanReader

    src = source(write_signin_pdf(tmp_path / "scan.pdf", [draft(scanned=True), draft(scanned=True)]))
    assert SigninPdfReader().identify(src) is False
    assert SigninScanReader().identify(src) is True


def test_a_pdf_that_is_not_a_signin_sheet_is_not_identified(tmp_path):
    pdf = new_pdf()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(72, 100, "Quarterly newsletter. Date: 11/24/2026. Name the new garden!")
    path = tmp_path / "newsletter.pdf"
    pdf.output(str(path))
    assert SigninPdfReader().identify(source(path)) is False


def test_a_file_that_is_not_a_pdf_is_not_identified(tmp_path):
    path = tmp_path / "charges.csv"
    path.write_text("Charge ID,Patient\n1,Avery Quinlan\n")
    assert SigninPdfReader().identify(source(path)) is False


def test_a_truncated_pdf_is_unreadable(tmp_path):
    data = write_signin_pdf(tmp_path / "full.pdf", [draft()]).read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFileError, match="damaged PDF") as caught:
        SigninPdfReader().identify(source(path))
    assert caught.value.reason


def test_a_zero_byte_file_is_unreadable(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    assert SigninPdfReader().identify(source(path)) is False  # by content it is no PDF at all
    with pytest.raises(UnreadableFileError, match="empty file"):
        SigninPdfReader().read(source(path))
    with pytest.raises(UnreadableFileError, match="empty file"):
        open_pdf(b"", SHOWN)


def test_a_password_protected_pdf_is_unreadable(tmp_path):
    pdf = new_pdf()
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    pdf.add_page()
    draw_sheet(PdfCanvas(pdf), draft())
    path = tmp_path / "locked.pdf"
    pdf.output(str(path))
    with pytest.raises(UnreadableFileError, match="encrypted or password-protected PDF"):
        SigninPdfReader().identify(source(path))


def test_the_writer_draws_the_same_bytes_for_the_same_sheets(tmp_path):
    sheets = [draft(), draft(scanned=True)]
    first = write_signin_pdf(tmp_path / "a.pdf", sheets).read_bytes()
    assert write_signin_pdf(tmp_path / "b.pdf", sheets).read_bytes() == first


def test_the_backend_reads_no_more_pages_than_its_cap_and_says_so(tmp_path):
    data = write_signin_pdf(tmp_path / "three.pdf", [draft(), draft(), draft()]).read_bytes()
    doc = open_pdf(data, SHOWN, max_pages=2)
    assert (doc.page_count, doc.truncated) == (3, True)
    assert [page.number for page in doc.pages()] == [1, 2]
    doc.close()
