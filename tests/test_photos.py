"""Phone photos of sign-in sheets (issue 16): the page a trapezoid on a darker table, lit from one
side, at a phone's lower resolution. It is warped back to a rectangle before it is read — a printed
roster by its four corner squares, any other sheet by the paper's outline — and then read like a
scan. What a photo does not show clearly enough is SCAN_UNCERTAIN, never guessed; a flat scan is
not warped at all.

The photos are made by :func:`attendbot.samples.scans.photograph` and read the way a run reads a
file (``attendbot.readers.identify``, then ``read``). OCR is slow, so each photo is read once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from attendbot.codes import GapCode
from attendbot.errors import UnreadableFileError
from attendbot.mark import CORNER_MIDDLES, PAGE_H, PAGE_W, name_letters
from attendbot.names import match_name
from attendbot.readers import all_readers, identify
from attendbot.readers.scan_image import Perspective, corner_marks, page_outline, prepare
from attendbot.readers.signin_scan import SigninScanReader, judge_ink
from attendbot.readers.source import SourceFile
from attendbot.samples.scans import PhotoStyle, ScanStyle, image_only_pdf, photograph, render_page, save_image, scan
from attendbot.samples.signin_pdf import write_signin_pdf

from builders import ROSTER, ROSTER_NAMES, ROSTER_SIGNED, SCAN_LINES, SCAN_SHEET, signed_roster

CORRECTED = "at an angle; it was read with its perspective corrected"
ROSTER_MARKS = np.float64(CORNER_MIDDLES)


def photographed(pdf: Path, out: Path, style: PhotoStyle = PhotoStyle()) -> Path:
    """Page 1 of ``pdf`` photographed, saved as ``out``: a JPEG, or an image-only PDF."""
    image = photograph(render_page(pdf, 1, style.dpi), style)
    return image_only_pdf([image], out, style.dpi) if out.suffix == ".pdf" else save_image(image, out, style.dpi)


def read(path: Path):
    """``path`` identified among all the readers and read, as a run does it."""
    src = SourceFile(path, path.name)
    try:
        reader = identify(src, all_readers())
        assert isinstance(reader, SigninScanReader)
        return reader.read(src)
    finally:
        src.close()


def doubts(result) -> set[int | None]:
    return {p.evidence.row for p in result.problems if p.gap is GapCode.SCAN_UNCERTAIN}


@pytest.fixture(scope="module")
def roster_pdf(tmp_path_factory) -> Path:
    return signed_roster(tmp_path_factory.mktemp("roster") / "roster.pdf")


@pytest.mark.parametrize("name, style", [
    ("roster-photo.jpg", PhotoStyle()),
    ("roster-photo-sideways.pdf", PhotoStyle(quarter_turns=1, light=0.5, seed=3)),
])
def test_a_phone_photo_of_a_printed_roster_is_known_by_its_mark_and_every_box_read_right(roster_pdf, tmp_path,
                                                                                      name, style):
    result = read(photographed(roster_pdf, tmp_path / name, style))
    [sheet] = result.sheets
    assert (sheet.group, sheet.service_date, sheet.start, sheet.end, sheet.facilitator, sheet.how) == (
        ROSTER.group, ROSTER.service_date, ROSTER.start, ROSTER.end, ROSTER.facilitator, "roster")
    assert [(ln.row, name_letters(ln.printed_name), ln.signed, ln.confidence) for ln in sheet.lines] == [
        (n, name_letters(printed), n in ROSTER_SIGNED, 1.0) for n, printed in enumerate(ROSTER_NAMES, start=1)]
    assert sheet.facilitator_signed is True
    assert doubts(result) == set()
    notes = [p.message for p in result.problems if CORRECTED in p.message]
    assert notes == [f"page 1 was photographed or scanned {CORRECTED}"]


def test_a_phone_photo_of_the_digital_sheet_layout_is_read_by_ocr_and_no_box_is_judged_wrong(tmp_path):
    pdf = write_signin_pdf(tmp_path / "sheet.pdf", [SCAN_SHEET])
    result = read(photographed(pdf, tmp_path / "sheet-photo.pdf", PhotoStyle(seed=4)))
    [sheet] = result.sheets
    assert (sheet.group, sheet.service_date, sheet.start, sheet.end, sheet.facilitator, sheet.how) == (
        "Morning Process Group", SCAN_SHEET.date, dt.time(9), dt.time(12), "Dana Whitfield, LCSW", "ocr")
    doubtful = doubts(result)
    patients = [(f"M-{n}", line.name) for n, line in enumerate(SCAN_LINES, start=1)]
    read_back = {ln.row: (match_name(ln.printed_name, patients).key, ln.signed) for ln in sheet.lines}
    wrong = [n for n, line in enumerate(SCAN_LINES, start=1)
             if n not in doubtful and read_back.get(n) != (f"M-{n}", line.signature is not None)]
    assert wrong == []  # every box judged right, or reported to be looked at
    assert len(doubtful) <= 1  # and a photo like this one is read, not merely reported
    assert sheet.facilitator_signed is True or None in doubtful


@pytest.mark.parametrize("source, style, reason", [
    ("roster", PhotoStyle(corners=((0.2, 0.05), (0.18, 0.05), (0.0, 0.0), (0.0, 0.0)), seed=8),
     "the photographed page could not be read with confidence (it was photographed at too steep an angle: its "
     "far edge looks 62% as long as its near one"),
    ("sheet", PhotoStyle(dpi=90, seed=9), "the photographed page could not be read with confidence (it is too "
                                          "small in the photo: about 8"),
    # the page fills the frame, so its outline is not there to warp it back: its rules run askew
    ("sheet", PhotoStyle(dpi=112, margin=0.0, corners=((0.015, 0.032), (0.002, 0.029), (0.035, 0.049), (0.042, 0.0)),
                         background=87, light=0.35, blur=0.74, noise=7.7, seed=5),
     "the sheet could not be read with confidence (no ruled table with a printed-name and a signature column"),
], ids=["too-steep", "too-small", "askew-uncorrected"])
def test_a_photo_too_distorted_to_judge_is_scan_uncertain_and_nothing_is_read(roster_pdf, tmp_path, source, style,
                                                                             reason):
    pdf = roster_pdf if source == "roster" else write_signin_pdf(tmp_path / "sheet.pdf", [SCAN_SHEET])
    with pytest.raises(UnreadableFileError) as info:
        read(photographed(pdf, tmp_path / f"{source}.jpg", style))
    assert reason in info.value.reason


def test_in_a_blurred_photo_a_signature_too_faint_to_count_as_ink_is_scan_uncertain_not_unsigned(roster_pdf,
                                                                                              tmp_path):
    """At 113 px an inch and 1.5 px of blur a thin pen stroke is no longer dark enough to be ink. Its
    box is not empty either, so it is not judged: the line counts as unsigned, and the row is reported."""
    assert judge_ink(0.0, faint=0.02).value is None and judge_ink(0.0, faint=0.0).value is False
    result = read(photographed(roster_pdf, tmp_path / "blurred.jpg", PhotoStyle(dpi=113, blur=1.5, seed=101)))
    [sheet] = result.sheets
    doubtful = doubts(result)
    assert [ln.row for ln in sheet.lines if ln.signed != (ln.row in ROSTER_SIGNED) and ln.row not in doubtful] == []
    assert doubtful & ROSTER_SIGNED  # some signatures were too faint here: reported, not judged
    assert all(not ln.signed for ln in sheet.lines if ln.row in doubtful)


def test_the_four_corners_found_are_where_the_photo_put_them_and_a_flat_scan_is_left_alone(roster_pdf):
    style = PhotoStyle()
    page = render_page(roster_pdf, 1, style.dpi)
    grey = np.asarray(photograph(page, style))
    where = Perspective(corner_marks(prepare(grey), grey.shape), ROSTER_MARKS, (PAGE_W, PAGE_H))
    assert not where.flat and where.too_distorted() is None
    upright = where.rectify(grey)  # warped back: the corner squares are where layout R1 prints them
    found = corner_marks(upright, upright.grey.shape)
    assert np.abs(found - ROSTER_MARKS * upright.width / PAGE_W).max() < 3
    w, h = page.size  # the paper's own outline, against the table it lies on
    mx, my = int(w * style.margin), int(h * style.margin)
    (l0, t0), (r1, t1), (r2, b2), (l3, b3) = style.corners
    expected = [(mx + l0 * w, my + t0 * h), (mx + w - r1 * w, my + t1 * h), (mx + w - r2 * w, my + h - b2 * h),
                (mx + l3 * w, my + h - b3 * h)]
    outline = page_outline(grey)
    assert outline.size == (PAGE_W, PAGE_H) and np.abs(outline.seen - expected).max() < 0.01 * w
    # a flat scan, turned 3 degrees on a scanner's grey lid, has square corners: it is only straightened
    flat = np.asarray(scan(render_page(roster_pdf, 1, 150), ScanStyle(dpi=150, angle=3.0, margin=0.06, seed=1)))
    assert Perspective(corner_marks(prepare(flat), flat.shape), ROSTER_MARKS, (PAGE_W, PAGE_H)).flat
    assert page_outline(flat).flat
