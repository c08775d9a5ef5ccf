"""Whatever lands in the inbox, the run survives it: each file has a time and a size budget,
and one bad file never hangs or kills the run.

Every test drops a good charge export next to the hostile file and checks it is still read
in the same run. (Corrupt, truncated, zero-byte and encrypted PDFs and XLSX: test_pipeline.)
"""

from __future__ import annotations

import os
import signal
import zipfile
from pathlib import Path

import pytest

from attendbot.ingest import sandbox
from attendbot.readers import limits
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.samples.signin_pdf import PdfCanvas, draw_sheet, new_pdf, write_signin_pdf
from attendbot.samples.tables import write_table_csv, write_table_xlsx

from builders import DAY
from builders import CHARGE_HEADER, EHR_HEADER, charge_row, ehr_row, morning_sheet

SHEET_XML = "xl/worksheets/sheet1.xml"
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def good_file(program) -> None:
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER,
                     [charge_row("C-1", "M-1", "Silva, Ana"), charge_row("C-2", "M-2", "Okoro, Ben")],
                     title=["Charges report"])


def files(outcome) -> dict:
    return {f.path.rsplit("/", 1)[-1]: f for f in outcome.files}


def assert_good_file_read(outcome) -> None:
    assert files(outcome)["charges.xlsx"].status == "read"
    assert sorted(cr.charge.charge_id for cr in outcome.result.charges) == ["C-1", "C-2"]


def unreadable(program, outcome, name: str) -> str:
    """The file was reported unreadable and moved to quarantine with its note; its reason."""
    report = files(outcome)[name]
    assert report.status == "unreadable", (report.status, report.detail)
    where = program.quarantine / DAY.isoformat()
    assert (where / name).exists() and (where / f"{name}.why.txt").exists()
    assert not (program.inbox / name).exists()
    assert any(g.code == "UNREADABLE_FILE" for g in outcome.result.gaps)
    return report.detail


def replace_sheet(good: Path, path: Path, write_sheet) -> Path:
    """A copy of the workbook ``good`` whose first worksheet's XML ``write_sheet(f)`` writes."""
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            if info.filename == SHEET_XML:
                with dst.open(SHEET_XML, "w") as f:
                    write_sheet(f)
            else:
                dst.writestr(info, src.read(info))
    return path


# --- files that are not what their name says -------------------------------------------


def test_a_csv_named_xlsx_is_read_as_the_csv_it_is(program):
    good_file(program)
    write_table_csv(program.inbox / "attendance.xlsx", EHR_HEADER,
                    [ehr_row("M-1", "Silva, Ana"), ehr_row("M-2", "Okoro, Ben")])
    outcome = program.run()
    report = files(outcome)["attendance.xlsx"]
    assert (report.kind, report.status) == ("ehr_attendance", "read")
    assert_good_file_read(outcome)


@pytest.mark.parametrize("name, head", [
    ("report.xlsx", b"\xef\xbb\xbf  \r\n<!DOCTYPE html>\n<html><head><title>Charges</title></head>"),
    ("report.csv", b"<HTML>\n<body><table><tr><td>Charge ID</td><td>MRN</td></tr></table>"),
])
def test_a_web_page_saved_as_a_spreadsheet_is_unreadable_with_what_to_do(program, name, head):
    good_file(program)
    (program.inbox / name).write_bytes(head + b"<table>" + b"<tr><td>C-1</td><td>M-1</td></tr>" * 50
                                       + b"</table></body></html>")
    outcome = program.run()
    assert unreadable(program, outcome, name) == ("an HTML page, not a spreadsheet: "
                                                  "export the report again as XLSX or CSV")
    assert_good_file_read(outcome)


# --- size budgets, checked before parsing ------------------------------------------------


def test_a_csv_of_a_million_rows_is_refused_before_it_is_parsed(program):
    good_file(program)
    row = b"C-9,11/24/2026,M-1,\"Silva, Ana\",Aetna,H0015,,1,Morning Process Group,9:00 AM,12:00 PM,,11,200\r\n"
    header = ",".join(CHARGE_HEADER).encode() + b"\r\n"
    (program.inbox / "huge.csv").write_bytes(header + row * 1_000_000)
    outcome = program.run()
    detail = unreadable(program, outcome, "huge.csv")
    assert f"more than {limits.MAX_ROWS:,} rows" in detail and "shorter date range" in detail
    assert_good_file_read(outcome)


def test_a_worksheet_over_the_row_budget_is_refused(program, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 50)
    good_file(program)
    write_table_xlsx(program.inbox / "long.xlsx", CHARGE_HEADER,
                     [charge_row(f"C-{n}", "M-1", "Silva, Ana") for n in range(10, 210)])
    outcome = program.run()
    assert "worksheet 'Report' has more than 50 rows" in unreadable(program, outcome, "long.xlsx")
    assert_good_file_read(outcome)


def test_a_file_over_the_size_budget_is_refused_unread(program, monkeypatch):
    good_file(program)
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", (program.inbox / "charges.xlsx").stat().st_size + 1000)
    write_table_csv(program.inbox / "big.csv", EHR_HEADER, [ehr_row(f"M-{n}", "Silva, Ana") for n in range(2000)])
    outcome = program.run()
    detail = unreadable(program, outcome, "big.csv")
    assert "more than the" in detail and "split it" in detail
    assert_good_file_read(outcome)


def test_a_pdf_of_500_pages_has_its_first_200_read_and_the_rest_reported(program):
    good_file(program)
    pdf = new_pdf()
    pdf.add_page()
    draw_sheet(PdfCanvas(pdf), morning_sheet())
    pdf.set_font("Helvetica", "", 8)
    for number in range(2, 501):
        pdf.add_page()
        pdf.text(72, 72, f"page {number}")
    pdf.output(str(program.inbox / "long.pdf"))
    outcome = program.run()
    report = files(outcome)["long.pdf"]
    assert (report.kind, report.status) == ("signin", "read")
    assert report.detail.startswith("1 sign-in sheet (2026-11-24)")
    [gap] = [g for g in outcome.result.gaps if g.code == "UNREADABLE_FILE"]
    assert gap.evidence.page == 201 and "the PDF has 500 pages; only the first 200 were read" in gap.message
    assert_good_file_read(outcome)


# --- XML and zip bombs inside an XLSX ------------------------------------------------------


def test_openpyxl_parses_xlsx_xml_through_defusedxml():
    import openpyxl.xml
    from openpyxl.xml import functions

    assert openpyxl.xml.DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")


def test_an_xml_bomb_in_a_worksheet_is_refused(program):
    good_file(program)
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    bomb = (f'<?xml version="1.0"?>\n<!DOCTYPE worksheet [\n{chr(10).join(entities)}\n]>\n'
            f'<worksheet xmlns="{SHEET_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t>'
            f'</is></c></row></sheetData></worksheet>').encode()
    replace_sheet(program.inbox / "charges.xlsx", program.inbox / "laughs.xlsx", lambda f: f.write(bomb))
    outcome = program.run()
    detail = unreadable(program, outcome, "laughs.xlsx")
    assert "XML bomb" in detail and "EntitiesForbidden" in detail
    assert_good_file_read(outcome)


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """A workbook whose one cell holds 300 MB of text, compressed to about 1.4 MB."""
    root = tmp_path_factory.mktemp("bomb")
    write_table_xlsx(root / "good.xlsx", ["a"], [["b"]])

    def sheet(f):
        f.write(f'<worksheet xmlns="{SHEET_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'.encode())
        chunk = b"A" * (1 << 20)
        for _ in range(300):
            f.write(chunk)
        f.write(b"</t></is></c></row></sheetData></worksheet>")

    return replace_sheet(root / "good.xlsx", root / "bomb.xlsx", sheet)


def test_a_zip_bomb_in_an_xlsx_is_refused_before_it_is_unpacked(program, zip_bomb):
    good_file(program)
    (program.inbox / "bomb.xlsx").write_bytes(zip_bomb.read_bytes())
    outcome = program.run()
    detail = unreadable(program, outcome, "bomb.xlsx")
    assert f"{SHEET_XML} is compressed" in detail and "zip bomb" in detail
    assert_good_file_read(outcome)


def test_an_xlsx_that_would_unpack_past_the_size_budget_is_refused(program, zip_bomb, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ZIP_RATIO", 10_000)
    monkeypatch.setattr(limits, "MAX_UNZIPPED_BYTES", 100 * 1024**2)
    good_file(program)
    (program.inbox / "bomb.xlsx").write_bytes(zip_bomb.read_bytes())
    outcome = program.run()
    detail = unreadable(program, outcome, "bomb.xlsx")
    assert "would unpack to 300 MB, more than 100 MB" in detail
    assert_good_file_read(outcome)


# --- a file that makes a library spin, eat memory or crash ---------------------------------


@pytest.fixture
def hostile_pdf(program, monkeypatch):
    """bad.pdf, a good sign-in sheet whose reading ``behave(src)`` turns hostile; the other
    readers and files are left alone. The patch is inherited by the forked reading process."""
    good_file(program)
    write_signin_pdf(program.inbox / "bad.pdf", [morning_sheet()])
    real = SigninPdfReader.identify

    def install(behave):
        def identify(self, src):
            if src.path.name == "bad.pdf":
                behave(src)
            return real(self, src)

        monkeypatch.setattr(SigninPdfReader, "identify", identify)

    return install


def test_a_file_that_makes_a_reader_spin_is_stopped_at_the_time_budget(program, hostile_pdf, monkeypatch):
    monkeypatch.setattr(sandbox, "FILE_SECONDS", 2)

    def spin(src):
        while True:
            pass

    hostile_pdf(spin)
    outcome = program.run()
    assert unreadable(program, outcome, "bad.pdf") == "reading took longer than 2 s (a pathological file?)"
    assert_good_file_read(outcome)


def test_a_file_that_makes_a_reader_allocate_without_bound_is_stopped_at_the_memory_budget(
        program, hostile_pdf, monkeypatch):
    monkeypatch.setattr(sandbox, "FILE_MEMORY_BYTES", 256 * 1024**2)

    def hog(src):
        held = []
        while True:
            held.append(bytearray(16 * 1024**2))

    hostile_pdf(hog)
    outcome = program.run()
    assert unreadable(program, outcome, "bad.pdf") == ("reading it needed more than 256 MiB of memory "
                                                       "(a pathological file?)")
    assert_good_file_read(outcome)


def test_a_reading_process_that_is_killed_makes_the_file_unreadable_and_the_run_goes_on(program, hostile_pdf):
    hostile_pdf(lambda src: os.kill(os.getpid(), signal.SIGKILL))
    outcome = program.run()
    detail = unreadable(program, outcome, "bad.pdf")
    assert detail.startswith("the process reading it died (killed by SIGKILL)")
    assert_good_file_read(outcome)

