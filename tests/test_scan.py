"""Scanned sign-in sheets (issue 16): the project's own sheet layouts, printed, signed, and scanned
at 150-300 dpi, turned up to 3 degrees (or upside down), blurred, noisy, dusty, on a scanner's grey
background, as image-only PDFs, PNGs and JPEGs. Every box is judged right or reported
SCAN_UNCERTAIN; nothing is guessed.

Scanning is slow next to the other readers (OCR runs a neural network), so each scan here is
made once per module and the checks that can share one do.
"""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from fpdf import FPDF
from PIL import Image

from attendbot.codes import GapCode
from attendbot.errors import UnreadableFileError
from attendbot.model import Evidence
from attendbot.outputs.rosters import Roster, build_rosters_pdf
from attendbot.readers import ocr
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.readers.signin_scan import (SIGNED_INK, UNSIGNED_INK, SigninScanReader, judge_ink)
from attendbot.readers.source import SourceFile
from attendbot.names import match_name
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.scans import ScanStyle, image_only_pdf, render_page, save_image, scan
from attendbot.samples.signin_pdf import PdfCanvas, _scribble, write_signin_pdf

from builders import CHARGE_HEADER, DAY, EHR_HEADER, SCAN_LINES, SCAN_SHEET, Program, charge_row, ehr_row

LINES, SHEET = SCAN_LINES, SCAN_SHEET
STYLES = {  # how each scan is made and saved
    "150dpi-tilted-left-pdf": (ScanStyle(dpi=150, angle=3.0, blur=1.0, noise=10, seed=1), "pdf"),
    "300dpi-tilted-right-png": (ScanStyle(dpi=300, angle=-3.0, blur=1.3, noise=14, dust=600, seed=2), "png"),
    "200dpi-upside-down-jpeg": (ScanStyle(dpi=200, angle=181.5, blur=0.8, noise=8, seed=3), "jpg"),
}


def scanned(pdf: Path, out: Path, style: ScanStyle, kind: str, pages: tuple[int, ...] = (1,)) -> Path:
    images = [scan(render_page(pdf, n, style.dpi), style) for n in pages]
    if kind == "pdf":
        return image_only_pdf(images, out.with_suffix(".pdf"), style.dpi)
    return save_image(images[0], out.with_suffix("." + kind), style.dpi)


def read(path: Path):
    src = SourceFile(path, path.name)
    try:
        reader = SigninScanReader()
        assert reader.identify(src) and not SigninPdfReader().identify(src)
        return reader.read(src)
    finally:
        src.close()


def uncertain(result) -> list:
    return [p for p in result.problems if p.gap is GapCode.SCAN_UNCERTAIN]


@pytest.fixture(scope="module")
def digital(tmp_path_factory) -> Path:
    return write_signin_pdf(tmp_path_factory.mktemp("digital") / "sheet.pdf", [SHEET])


@pytest.fixture(scope="module", params=list(STYLES))
def scanned_sheet(request, digital, tmp_path_factory):
    style, kind = STYLES[request.param]
    path = scanned(digital, tmp_path_factory.mktemp("scans") / request.param, style, kind)
    return request.param, read(path), path.name


def test_every_box_of_a_scanned_digital_sheet_is_judged_right(scanned_sheet):
    _, result, name = scanned_sheet
    [sheet] = result.sheets
    assert (sheet.group, sheet.service_date, sheet.start, sheet.end, sheet.facilitator) == (
        "Morning Process Group", DAY, dt.time(9), dt.time(12), "Dana Whitfield, LCSW")
    assert sheet.how == "ocr" and sheet.evidence == Evidence(name, page=1)
    # every printed name matched to its patient the way reconciliation matches names (OCR may
    # misread a letter of a name it is sure of, 'Quinian' for 'Quinlan': matching absorbs it)
    patients = [(f"M-{n}", line.name) for n, line in enumerate(LINES, start=1)]
    got = [(ln.row, match_name(ln.printed_name, patients).key, ln.signed) for ln in sheet.lines]
    assert got == [(n, f"M-{n}", line.signature is not None) for n, line in enumerate(LINES, start=1)]
    assert sheet.facilitator_signed is True
    assert all(ln.how == "ocr" and ln.confidence >= 0.8 for ln in sheet.lines)
    assert uncertain(result) == []


def test_typed_times_on_a_scan_are_read_when_ocr_is_sure_of_them(scanned_sheet):
    _, result, _ = scanned_sheet
    times = {ln.row: (ln.time_in, ln.time_out) for ln in result.sheets[0].lines}
    assert times[1] == (dt.time(9, 2), dt.time(12, 0))
    assert times[4] == (dt.time(9, 15), dt.time(11, 45))
    assert times[2] == (None, None)


def test_an_upside_down_page_is_read_turned_round_and_says_so(scanned_sheet):
    style, result, name = scanned_sheet
    notes = [p for p in result.problems if "upside down" in p.message]
    if "upside-down" in style:
        assert [(p.evidence, p.gap) for p in notes] == [(Evidence(name, page=1), None)]
    else:
        assert notes == []


def _roster(path: Path, tick_row: int | None = None, group: str = "Coping Skills",
            hours: tuple[int, int] = (13, 15), facilitator: bool = False) -> Path:
    """A printed roster (the fast kind of scan to read), rows 1 and 3 signed (and the footer, with
    ``facilitator``); optionally a short tick in one row's signature box: too much ink for an empty
    box, too little for a signature."""
    pdf, [page] = build_rosters_pdf([Roster(group, DAY, dt.time(hours[0]), dt.time(hours[1]), "Dana Whitfield",
                                            ("Chen, Bo", "Quinlan, Avery", "Reyes, Mateo"))], "Riverbend")
    canvas = PdfCanvas(pdf)
    for row in (1, 3):
        canvas.curve(_scribble(f"row {row}", page.rows[row]["signature"]))
    if facilitator:
        canvas.curve(_scribble("facilitator", page.facilitator_signature))
    if tick_row is not None:
        x, y, w, h = page.rows[tick_row]["signature"]
        pdf.set_line_width(1.0)
        pdf.line(x + w / 2, y + h / 2, x + w / 2 + 9, y + h / 2)
    pdf.output(str(path))
    return path


def test_a_blank_page_is_skipped_with_a_note_and_a_blank_scan_is_unreadable(tmp_path):
    style = ScanStyle(dpi=150, seed=4)
    blank = scan(Image.new("L", (1275, 1650), 255), style)
    with pytest.raises(UnreadableFileError, match="page 1 is blank"):
        read(save_image(blank, tmp_path / "blank.png"))
    sheet = scan(render_page(_roster(tmp_path / "roster.pdf"), 1, 150), style)
    result = read(image_only_pdf([sheet, blank], tmp_path / "front-and-back.pdf", 150))
    assert [s.evidence.page for s in result.sheets] == [1]
    [note] = result.problems
    assert note.evidence == Evidence("front-and-back.pdf", page=2) and note.gap is None
    assert "blank" in note.message


def test_a_doubtful_signature_box_is_scan_uncertain_naming_page_and_row_and_counts_as_unsigned(tmp_path):
    pdf = _roster(tmp_path / "tick.pdf", tick_row=2)
    result = read(scanned(pdf, tmp_path / "tick-scan", ScanStyle(dpi=200, seed=5), "png"))
    [sheet] = result.sheets
    assert [(ln.printed_name, ln.signed) for ln in sheet.lines] == [
        ("Chen, Bo", True), ("Quinlan, Avery", False), ("Reyes, Mateo", True)]
    [doubt] = uncertain(result)
    assert doubt.evidence == Evidence("tick-scan.png", page=1, row=2)
    assert "Page 1 row 2" in doubt.message and "signature box" in doubt.message
    assert "Quinlan" not in doubt.message  # gap messages never name a patient
    assert sheet.lines[1].confidence < 0.5 <= sheet.lines[0].confidence


@pytest.fixture(scope="module")
def doubtful_day(tmp_path_factory):
    """A day whose scanned roster has a doubtful signature box in row 2 (the EHR marks everyone
    present), run live through the real Slack client to the loopback stub: (outcome, stub)."""
    from attendbot.outputs import slack_delivery
    from attendbot.run import run_day
    from attendbot.samples.tables import write_table_csv, write_table_xlsx
    from slack_stub import SlackStub

    folder = tmp_path_factory.mktemp("doubtful")
    stub = SlackStub().start()
    program = Program(folder / "p")
    program.config_path.write_text(program.config_path.read_text().replace(
        "[slack]\n", f'[slack]\napi_url = "{stub.url}"\n'))
    names = [("M-1", "Chen, Bo"), ("M-2", "Quinlan, Avery"), ("M-3", "Reyes, Mateo")]
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row(f"C-{i}", mrn, name) for i, (mrn, name) in enumerate(names, start=1)])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER, [ehr_row(mrn, name) for mrn, name in names])
    roster = _roster(folder / "tick.pdf", tick_row=2, group="Morning Process Group", hours=(9, 12), facilitator=True)
    scanned(roster, program.inbox / "scan", ScanStyle(dpi=200, seed=5), "png")
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
            mp.setattr(slack_delivery, "PACE_SECONDS", 0.0)
            yield run_day(program.settings(), DAY, dry_run=False), stub
    finally:
        stub.stop()


def test_a_doubtful_box_reaches_the_facilitators_alert_naming_page_and_row_and_holds_its_charge(doubtful_day):
    # issue 16: SCAN_UNCERTAIN is facilitator-owned and blocking, so it belongs in the session's alert
    # (through the real Slack client, to the loopback stub), not only in the billing summary
    outcome, stub = doubtful_day
    [report] = [f for f in outcome.files if f.path.endswith("scan.png")]
    assert (report.kind, report.status) == ("signin", "read")
    [gap] = [g for g in outcome.result.gaps if g.code is GapCode.SCAN_UNCERTAIN]
    assert (gap.evidence.file.endswith("scan.png"), gap.evidence.page, gap.evidence.row) == (True, 1, 2)
    assert "signature box" in gap.message and "Quinlan" not in gap.message
    [session] = outcome.result.sessions
    assert (gap.session_key, gap.line, gap.charge_id, gap.patient_id) == (session.key, 2, "C-2", "M-2")
    by_charge = {cr.charge.charge_id: (str(cr.disposition), {g.code for g in cr.gaps}) for cr in outcome.result.charges}
    assert by_charge["C-2"] == ("hold", {GapCode.SCAN_UNCERTAIN, GapCode.MISSING_SIGNATURE,  # unsigned, never guessed
                                         GapCode.ATTENDANCE_CONFLICT})
    assert by_charge["C-1"] == by_charge["C-3"] == ("ready", set())

    [alert] = stub.posted("C0GROUPS")
    [billing] = stub.posted("C0BILLING")
    assert "<@U01DANA>" in alert["text"] and "1 item to fix" in alert["text"]
    [bullet] = [ln for ln in alert["text"].splitlines() if ln.startswith("• ")]
    assert bullet.startswith("• Page 1 row 2 of the scanned sheet scan.png: the signature box could not be read")
    assert "charge C-2" in bullet and "scan.png, page 1, line 2" in bullet and "Quinlan" not in bullet
    assert "Page 1 row 2" not in billing["text"] and "no session" not in billing["text"]


def test_the_workbook_says_the_sheet_was_scanned_and_how_each_line_was_judged(doubtful_day):
    # issue 16: the billing lead sees which sheets came from a scan, and how sure each line's reading is
    outcome, _ = doubtful_day
    book = openpyxl.load_workbook(outcome.workbook)
    assert book.sheetnames.index("Scanned lines") == book.sheetnames.index("Sessions") + 1
    sessions = book["Sessions"]
    [session] = [dict(zip([c.value for c in sessions[1]], row)) for row in sessions.iter_rows(min_row=2,
                                                                                               values_only=True)]
    assert session["Sheet read by"] == "printed roster (QR)"
    ws = book["Scanned lines"]
    rows = [dict(zip([c.value for c in ws[1]], row)) for row in ws.iter_rows(min_row=2, values_only=True)]
    assert [(r["Where"], r["Charge ID"], r["Signature"], r["Sheet read by"]) for r in rows] == [
        ("scan.png, page 1, row 1", "C-1", "signed", "printed roster (QR)"),
        ("scan.png, page 1, row 2", "C-2", "not judged: counted unsigned", "printed roster (QR)"),
        ("scan.png, page 1, row 3", "C-3", "signed", "printed roster (QR)")]
    confidence = [r["Confidence"] for r in rows]
    assert confidence[1] < 0.5 <= min(confidence[0], confidence[2]) and ws["G2"].number_format == "0%"
    assert (ws.freeze_panes, ws.auto_filter.ref, ws.page_setup.orientation) == ("A2", "A1:G4", "landscape")
    assert ws["A1"].font.bold and ws.conditional_formatting  # the doubtful row is coloured like a hold


def test_judging_ink_has_a_band_where_nothing_is_decided():
    assert judge_ink(0.0).value is False and judge_ink(0.0).confidence == 1.0
    assert judge_ink(0.05).value is True and judge_ink(0.05).confidence == 1.0
    middle = judge_ink((SIGNED_INK + UNSIGNED_INK) / 2)
    assert middle.value is None and middle.confidence == 0.0
    assert judge_ink(UNSIGNED_INK).confidence == judge_ink(SIGNED_INK).confidence == 0.5


def _foreign_sheet(path: Path, names: list[str | None], signed: set[int]) -> Path:
    """A sign-in sheet the project did not draw: other labels, fonts, column order and widths."""
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("Times", "B", 18)
    pdf.text(72, 80, "Harbor Light Counseling")
    pdf.set_font("Times", "", 12)
    for i, (label, value) in enumerate((("Group Name:", "Relapse Prevention"), ("Session Date:", "November 24, 2026"),
                                        ("Start Time:", "1:00 PM"), ("End Time:", "3:00 PM"),
                                        ("Leader:", "Marcus Oyelaran"))):
        pdf.text(72, 120 + 18 * i, label)
        pdf.text(170, 120 + 18 * i, value)
    widths = (("Sign In", 190.0), ("Client", 200.0), ("Arrived", 78.0))
    top, row_h = 230.0, 30.0
    pdf.set_line_width(1.0)
    for r in range(len(names) + 1):
        x = 72.0
        for c, (title, width) in enumerate(widths):
            pdf.rect(x, top + r * row_h, width, row_h)
            if r == 0:
                pdf.set_font("Times", "B", 12)
                pdf.text(x + 6, top + 20, title)
            elif c == 1 and names[r - 1]:
                pdf.set_font("Courier", "", 12)
                pdf.text(x + 6, top + r * row_h + 20, names[r - 1])
            elif c == 1:  # a name written by hand: a scribble OCR cannot read
                pdf.set_draw_color(20, 30, 110)
                pdf.set_line_width(1.2)
                pdf.bezier([(x + 8, top + r * row_h + 20), (x + 40, top + r * row_h + 2),
                            (x + 70, top + r * row_h + 28), (x + 120, top + r * row_h + 10)])
                pdf.set_draw_color(0)
                pdf.set_line_width(1.0)
            elif c == 0 and r in signed:
                pdf.set_draw_color(20, 30, 110)
                pdf.set_line_width(1.2)
                pdf.bezier([(x + 10, top + r * row_h + 22), (x + 60, top + r * row_h + 4),
                            (x + 90, top + r * row_h + 26), (x + 150, top + r * row_h + 8)])
                pdf.set_draw_color(0)
                pdf.set_line_width(1.0)
            x += width
    pdf.output(str(path))
    return path


def test_a_foreign_layout_is_read_by_ocr_and_what_it_cannot_read_is_scan_uncertain(tmp_path):
    names = ["Rosa Castillo", None, "Mateo Reyes", "Dana Brooks"]  # row 2's name is handwritten
    pdf = _foreign_sheet(tmp_path / "foreign.pdf", names, signed={1, 2, 4})
    result = read(scanned(pdf, tmp_path / "foreign-scan", ScanStyle(dpi=200, angle=-2.0, seed=6), "pdf"))
    [sheet] = result.sheets
    assert (sheet.group, sheet.service_date, sheet.start, sheet.end, sheet.facilitator) == (
        "Relapse Prevention", DAY, dt.time(13), dt.time(15), "Marcus Oyelaran")
    assert sheet.facilitator_signed is None  # this form has no facilitator-signature line
    assert [(ln.row, ln.printed_name, ln.signed) for ln in sheet.lines] == [
        (1, "Rosa Castillo", True), (3, "Mateo Reyes", False), (4, "Dana Brooks", True)]
    [doubt] = uncertain(result)  # the handwritten name: never guessed
    assert doubt.evidence.row == 2 and "printed name" in doubt.message


def test_a_foreign_sheet_without_a_signature_column_is_never_guessed(tmp_path):
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 12)
    pdf.text(72, 90, "Group: Relapse Prevention    Date: 11/24/2026")
    for r in range(4):
        for c, width in enumerate((200.0, 200.0)):
            pdf.rect(72 + c * 200, 130 + r * 28, width, 28)
        pdf.text(78, 148 + r * 28, ("Name", "Rosa Castillo", "Mateo Reyes", "Dana Brooks")[r])
        pdf.text(278, 148 + r * 28, ("Phone", "555-0101", "555-0102", "555-0103")[r])
    pdf.output(str(tmp_path / "phone-list.pdf"))
    with pytest.raises(UnreadableFileError, match="no ruled table with a printed-name and a signature column"):
        read(scanned(tmp_path / "phone-list.pdf", tmp_path / "phone-list-scan", ScanStyle(dpi=150, seed=7), "png"))


def test_a_scanned_page_in_a_digital_pdf_is_read_as_a_scan(tmp_path):
    pdf = write_signin_pdf(tmp_path / "mixed.pdf", [SHEET, SheetDraft("Coping Skills", DAY, "1:00 PM", "3:00 PM",
                                                                      "Dana Whitfield", scanned=True,
                                                                      lines=[LineDraft("Bo Chen", None)])])
    src = SourceFile(pdf, "mixed.pdf")
    result = SigninPdfReader().read(src)
    src.close()
    assert [(s.group, s.how, s.evidence.page) for s in result.sheets] == [
        ("Morning Process Group", None, 1), ("Coping Skills", "ocr", 2)]
    assert [(ln.printed_name, ln.signed) for ln in result.sheets[1].lines] == [("Bo Chen", False)]


def test_without_the_ocr_engine_a_scan_is_unreadable_with_the_reason_and_nothing_crashes(tmp_path, monkeypatch,
                                                                                      digital):
    def missing():
        raise ocr.OcrUnavailable("the OCR engine is not installed (no module 'rapidocr'): install it")

    monkeypatch.setattr(ocr, "engine", missing)
    path = save_image(scan(render_page(digital, 1, 150), ScanStyle(dpi=150)), tmp_path / "scan.png")
    with pytest.raises(UnreadableFileError, match="OCR engine is not installed"):
        read(path)
    mixed = write_signin_pdf(tmp_path / "mixed.pdf", [SHEET, SheetDraft("Coping Skills", DAY, scanned=True)])
    src = SourceFile(mixed, "mixed.pdf")
    result = SigninPdfReader().read(src)
    src.close()
    assert [s.evidence.page for s in result.sheets] == [1]
    [problem] = result.problems
    assert problem.gap is GapCode.UNREADABLE_FILE and problem.evidence == Evidence("mixed.pdf", page=2)
    assert "OCR engine is not installed" in problem.message


def test_the_ocr_engine_reads_with_the_network_cut_off(monkeypatch):
    """Its models come from the installed package: nothing is fetched at run time."""
    def refuse(*args, **kwargs):
        raise OSError("network access during OCR")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(ocr, "_engine", None)  # a fresh engine, loading its models now
    image = Image.new("L", (360, 60), 255)
    from PIL import ImageDraw, ImageFont

    ImageDraw.Draw(image).text((10, 12), "Avery Quinlan", fill=0, font=ImageFont.load_default(32))
    text, score = ocr.recognize(np.asarray(image))
    assert text == "Avery Quinlan" and score > 0.9


def _small_day(program: Program, sheet_file) -> None:
    from attendbot.samples.tables import write_table_csv, write_table_xlsx

    names = [("M-1", "Quinlan, Avery"), ("M-2", "Núñez, María"), ("M-3", "O'Brien-Smith, Quinn"),
             ("M-4", "Chen, Bo"), ("M-5", "Fitzgerald-Hughes, Jonathan")]
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row(f"C-{i}", mrn, name) for i, (mrn, name) in enumerate(names, start=1)])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER,
                    [ehr_row(mrn, name, status="Absent" if mrn == "M-5" else "Present") for mrn, name in names])
    sheet_file(program.inbox)


def test_a_scan_of_a_digital_sheet_reconciles_to_the_same_dispositions_as_the_sheet(tmp_path, digital):
    def by_charge(outcome):
        return {cr.charge.charge_id: (str(cr.disposition), sorted(g.code.value for g in cr.gaps))
                for cr in outcome.result.charges}

    paper = Program(tmp_path / "paper")
    _small_day(paper, lambda inbox: (inbox / "sheet.pdf").write_bytes(digital.read_bytes()))
    scanned_program = Program(tmp_path / "scanned")
    _small_day(scanned_program, lambda inbox: scanned(digital, inbox / "scan", STYLES["150dpi-tilted-left-pdf"][0],
                                                      "pdf"))
    expected = by_charge(paper.run())
    assert expected["C-2"] == ("hold", ["ATTENDANCE_CONFLICT", "MISSING_SIGNATURE"])  # the sheet's story
    outcome = scanned_program.run()
    assert by_charge(outcome) == expected
    [report] = [f for f in outcome.files if f.path.endswith("scan.pdf")]
    assert (report.kind, report.status) == ("signin", "read")
    assert not [g for g in outcome.result.gaps if g.code is GapCode.SCAN_UNCERTAIN]
