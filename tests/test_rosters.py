"""Printed rosters (issue 16): one pre-filled sheet per scheduled session, readable signed on a
tablet (the digital PDF reader) and signed on paper then scanned (the scan reader, by its mark)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import zxingcpp

from attendbot.cli import main
from attendbot.codes import GapCode
from attendbot.mark import MarkError, RosterMark, name_check, name_letters
from attendbot.model import Charge, Evidence
from attendbot.outputs.rosters import build_rosters_pdf
from attendbot.rosters import rosters_for
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.readers.signin_scan import SigninScanReader
from attendbot.readers.source import SourceFile
from attendbot.samples.scans import ScanStyle, image_only_pdf, render_page, save_image, scan
from attendbot.samples.signin_pdf import PdfCanvas, _scribble
from attendbot.samples.tables import write_table_csv, write_table_xlsx

from builders import (CHARGE_HEADER, DAY, EHR_HEADER, ROSTER, ROSTER_NAMES, ROSTER_SIGNED, Program, charge_row, ehr_row,
                      signed_roster)

NAMES, SIGNED = ROSTER_NAMES, ROSTER_SIGNED


def charge(cid, pid, name, group="Morning Process Group", start=dt.time(9), provider=None, day=DAY):
    return Charge(charge_id=cid, service_date=day, patient_id=pid, patient_name=name, payer="Aetna", code="H0015",
                  units=1, session=group, start=start, end=dt.time(12) if start == dt.time(9) else dt.time(15),
                  provider=provider)


def test_rosters_are_one_per_scheduled_session_with_each_patient_once_in_a_stable_order():
    charges = [charge("C-1", "M-2", "Zhang, Wei", provider="Dana Whitfield"),
               charge("C-2", "M-1", "Chen, Bo", provider="Dana Whitfield"),
               charge("C-3", "M-1", "Chen, Bo"),  # a second code for the same patient: one row
               charge("C-4", "M-3", "Reyes, Mateo", group="Coping Skills Group", start=dt.time(13)),
               charge("C-5", "M-4", "Other Day", day=DAY + dt.timedelta(days=1))]
    rosters = rosters_for(reversed(charges), DAY)
    assert [(r.group, r.start, r.names, r.facilitator) for r in rosters] == [
        ("Morning Process Group", dt.time(9), ("Chen, Bo", "Zhang, Wei"), "Dana Whitfield"),
        ("Coping Skills Group", dt.time(13), ("Reyes, Mateo",), None)]


def test_a_roster_signed_on_a_tablet_is_read_by_the_digital_pdf_reader(tmp_path):
    path = signed_roster(tmp_path / "roster.pdf")
    src = SourceFile(path, "roster.pdf")
    reader = SigninPdfReader()
    assert reader.identify(src) and not SigninScanReader().identify(src)
    [sheet] = reader.read(src).sheets
    src.close()
    assert (sheet.group, sheet.service_date, sheet.start, sheet.end, sheet.facilitator, sheet.facilitator_signed) == (
        "Morning Process Group", DAY, dt.time(9), dt.time(12), "Dana Whitfield, LCSW", True)
    assert [(ln.row, ln.printed_name, ln.signed) for ln in sheet.lines] == [
        (n, name, n in SIGNED) for n, name in enumerate(NAMES, start=1)]


def test_the_mark_carries_the_session_and_layout_but_no_patient(tmp_path):
    pdf, [page] = build_rosters_pdf([ROSTER], "Riverbend Recovery IOP")
    pdf.output(str(tmp_path / "r.pdf"))
    [code] = zxingcpp.read_barcodes(np.asarray(render_page(tmp_path / "r.pdf", 1, 150)))
    mark = RosterMark.decode(code.text)
    assert mark == page.mark
    assert (mark.group, mark.service_date, mark.start, mark.end, mark.facilitator, mark.rows, mark.layout) == (
        "Morning Process Group", DAY, dt.time(9), dt.time(12), "Dana Whitfield, LCSW", 5, "R1")
    # its only free text is the group and the facilitator; per patient it holds a one-byte check
    assert [f.split("=")[0] for f in code.text.split(";")[1:]] == ["L", "D", "S", "E", "N", "X", "O", "C", "G", "F"]
    assert len(mark.checks) == len(NAMES) and all(len(c) == 2 for c in mark.checks)
    free = set(f"{mark.group} {mark.facilitator}".lower().replace(",", " ").split())
    assert not free & {name_letters(part) for name in NAMES for part in name.replace(",", " ").split()}
    assert mark.matches(2, "Nunez, Maria") and mark.matches(2, "NÚÑEZ MARÍA")  # OCR's accents and case
    assert not mark.matches(2, "Quinlan, Avery") and not mark.matches(6, "anyone")  # row 6 is a spare row
    assert name_check(DAY, "Morning Process Group", 1, "Chen, Bo") != name_check(DAY, "Coping Skills", 1, "Chen, Bo")
    assert RosterMark.decode("https://example.org/menu") is None
    with pytest.raises(MarkError):
        RosterMark.decode(code.text.replace("C=", "C=zz"))
    with pytest.raises(MarkError, match="layout"):
        RosterMark.decode(code.text.replace("L=R1", "L=R9"))


SCANS = {
    "150dpi-tilted-pdf": (ScanStyle(dpi=150, angle=3.0, blur=1.0, noise=10, seed=11), "pdf"),
    "300dpi-tilted-png": (ScanStyle(dpi=300, angle=-3.0, blur=1.3, noise=14, dust=600, seed=12), "png"),
    "200dpi-upside-down-jpeg": (ScanStyle(dpi=200, angle=178.0, blur=0.8, seed=13), "jpg"),
}


@pytest.fixture(scope="module", params=list(SCANS))
def scanned_roster(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("roster")
    pdf = signed_roster(folder / "signed.pdf", walk_in=(7, "Kim Lee"))
    style, kind = SCANS[request.param]
    image = scan(render_page(pdf, 1, style.dpi), style)
    path = image_only_pdf([image], folder / "scan.pdf", style.dpi) if kind == "pdf" else \
        save_image(image, folder / f"scan.{kind}", style.dpi)
    src = SourceFile(path, path.name)
    reader = SigninScanReader()
    assert reader.identify(src)
    result = reader.read(src)
    src.close()
    return result, path.name


def test_a_scanned_roster_is_read_back_exactly(scanned_roster):
    result, name = scanned_roster
    [sheet] = result.sheets
    assert (sheet.group, sheet.service_date, sheet.start, sheet.end, sheet.facilitator, sheet.how) == (
        "Morning Process Group", DAY, dt.time(9), dt.time(12), "Dana Whitfield, LCSW", "roster")
    # exactly the printed names, up to what OCR may drop and name matching ignores (accents, case)
    printed = [(ln.row, name_letters(ln.printed_name), ln.signed, ln.confidence)
               for ln in sheet.lines if ln.row <= len(NAMES)]
    assert printed == [(n, name_letters(nm), n in SIGNED, 1.0) for n, nm in enumerate(NAMES, start=1)]
    assert sheet.facilitator_signed is True
    assert sheet.evidence == Evidence(name, page=1)
    assert not [p for p in result.problems if p.gap is GapCode.SCAN_UNCERTAIN]


def test_a_walk_in_written_on_a_spare_row_is_read_by_ocr(scanned_roster):
    result, _ = scanned_roster
    [walk_in] = [ln for ln in result.sheets[0].lines if ln.row > len(NAMES)]
    assert (walk_in.row, walk_in.printed_name, walk_in.signed, walk_in.how) == (7, "Kim Lee", True, "roster")


def test_a_printed_name_that_does_not_read_back_is_scan_uncertain_and_left_out(tmp_path):
    path = signed_roster(tmp_path / "smudged.pdf")
    pdf, [page] = build_rosters_pdf([ROSTER], "Riverbend Recovery IOP")  # the same page, row 4 half covered
    canvas = PdfCanvas(pdf)
    for row in SIGNED:
        canvas.curve(_scribble(f"row {row}", page.rows[row]["signature"]))
    x, y, w, h = page.rows[4]["name"]
    pdf.set_fill_color(255)
    pdf.rect(x + 40, y + 3, w - 45, h - 6, style="F")  # correction fluid over most of the name
    pdf.output(str(path))
    image = scan(render_page(path, 1, 200), ScanStyle(dpi=200, seed=14))
    src = SourceFile(save_image(image, tmp_path / "smudged.png"), "smudged.png")
    result = SigninScanReader().read(src)
    src.close()
    [sheet] = result.sheets
    assert [ln.row for ln in sheet.lines] == [1, 2, 3, 5]
    [doubt] = [p for p in result.problems if p.gap is GapCode.SCAN_UNCERTAIN]
    assert doubt.evidence == Evidence("smudged.png", page=1, row=4) and "printed name" in doubt.message
    assert sheet.facilitator_signed is False  # no facilitator signature on this one


def _inbox(program: Program, signed_file) -> None:
    rows = [charge_row(f"C-{n}", f"M-{n}", name) for n, name in enumerate(NAMES, start=1)]
    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER, rows, title=["Charges report"])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER,
                    [ehr_row(f"M-{n}", name, status="Absent" if n == 5 else "Present")
                     for n, name in enumerate(NAMES, start=1)])
    if signed_file is not None:
        signed_file(program.inbox)


def test_attendbot_rosters_prints_the_days_sessions_from_the_inbox(tmp_path, monkeypatch, capsys):
    program = Program(tmp_path / "p")
    _inbox(program, None)
    monkeypatch.chdir(program.root)
    out = program.root / "print" / "rosters.pdf"
    assert main(["rosters", "--date", DAY.isoformat(), "--config", str(program.config_path), "--out", str(out)]) == 0
    assert "wrote 1 roster" in capsys.readouterr().out
    src = SourceFile(out, "rosters.pdf")
    [sheet] = SigninPdfReader().read(src).sheets  # unsigned, straight from the printer
    src.close()
    assert (sheet.group, sheet.service_date, sheet.start) == ("Morning Process Group", DAY, dt.time(9))
    assert [ln.printed_name for ln in sheet.lines] == sorted(NAMES, key=lambda n: n.lower().replace("ú", "u"))
    assert not any(ln.signed for ln in sheet.lines) and sheet.facilitator_signed is False
    before = out.stat().st_mtime_ns
    assert main(["rosters", "--date", DAY.isoformat(), "--config", str(program.config_path), "--out", str(out)]) == 0
    assert "unchanged: 1 roster" in capsys.readouterr().out and out.stat().st_mtime_ns == before  # not re-sent
    assert main(["rosters", "--date", "2026-11-25", "--config", str(program.config_path), "--out", str(out)]) == 1
    assert "nothing to print" in capsys.readouterr().err


def test_a_scanned_roster_reconciles_exactly_like_the_roster_signed_on_a_tablet(tmp_path):
    def by_charge(outcome):
        return {cr.charge.charge_id: (str(cr.disposition), sorted(g.code.value for g in cr.gaps))
                for cr in outcome.result.charges}

    tablet = Program(tmp_path / "tablet")
    _inbox(tablet, lambda inbox: signed_roster(inbox / "roster.pdf"))
    paper = Program(tmp_path / "paper")
    _inbox(paper, lambda inbox: save_image(
        scan(render_page(signed_roster(tmp_path / "to-print.pdf"), 1, 200), ScanStyle(dpi=200, angle=1.5, seed=15)),
        inbox / "Scan_0001.jpg"))
    expected = by_charge(tablet.run())
    assert expected["C-2"] == ("hold", ["ATTENDANCE_CONFLICT", "MISSING_SIGNATURE"])  # present, did not sign
    assert expected["C-5"][0] == "void"  # absent and unsigned: a no-show
    outcome = paper.run()
    assert by_charge(outcome) == expected
    [report] = [f for f in outcome.files if f.path.endswith("Scan_0001.jpg")]
    assert (report.kind, report.status) == ("signin", "read")
