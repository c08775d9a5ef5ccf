"""Scanned sign-in sheets: image-only PDF pages and PNG, JPEG or TIFF files.

A page goes through :mod:`attendbot.readers.scan_image` (paper made white,
turned upright, a phone photo taken at an angle warped back to a rectangle — by a
roster's corner squares, or else the paper's outline — straightened, the ruled
table found) and is then read one of two ways:

* **an attendbot roster** (``attendbot rosters``), known by its QR mark
  (:mod:`attendbot.mark`). The mark gives the session — group, date, times,
  facilitator — and the layout, so no header is read. The printed names are read by
  OCR and each is kept only when it matches the check the mark carries for its row,
  so a name that is kept is exactly the name that was printed (see the mark's
  module for why names are not taken from the charge export by row number).
* **any other sheet**, read by OCR: the header block above the table (``Group:``,
  ``Date:``, ``Time:``, ``Facilitator:``, parsed by the digital reader's own rules),
  the column titles (``Printed Name``, ``Signature``, ``Time In``/``Out``), and each
  row's printed name.

Either way a signature is *ink*: the share of a signature cell's inside (away from
its ruled border) that is dark, specks aside. Every judgement carries a confidence;
one that falls short is never guessed:

* a signature cell between :data:`UNSIGNED_INK` and :data:`SIGNED_INK`, or one
  with too little ink to be signed but :data:`FAINT_MARKS` of fainter strokes (a
  blurred photo) — the line is kept as **unsigned** (the charge is held) and a
  ``SCAN_UNCERTAIN`` problem names the page and row to look at;
* a printed name read with less than :data:`NAME_MIN_SCORE` (or, on a roster, one
  that does not match its check) — the line is left out (the patient is then not on
  the sheet, and the charge is held) and ``SCAN_UNCERTAIN`` names the row;
* a page whose table, column titles, group or date cannot be read, or a photo of it
  too steep or too small to judge its boxes — no sheet, and ``SCAN_UNCERTAIN`` names
  the page; a file none of whose pages gives a sheet
  raises :class:`~attendbot.errors.UnreadableFileError`.

Handwritten times are kept only when OCR reads them with at least
:data:`TIME_MIN_SCORE` and they parse; otherwise they are left empty (the EHR's
times, or ``MISSING_TIMES``, apply). Blank pages (the back of a sheet) are skipped
with a note; a page fed upside down is turned round and read, with a note.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass

import numpy as np

from attendbot.codes import GapCode
from attendbot.errors import UnreadableFileError
from attendbot.mark import (CORNER_MIDDLES, FACILITATOR_LINE_X, FOOTER_GAP, MARGIN, PAGE_H, PAGE_W, QR_MIDDLE, QR_SIZE,
                            TABLE_WIDTH, MarkError, RosterMark)
from attendbot.messages import gap_message
from attendbot.model import Evidence, Problem, ReadResult, SigninLine, SigninSheet
from attendbot.readers import limits, parse
from attendbot.readers.base import Reader
from attendbot.readers.ocr import OcrUnavailable, lines, read_text, recognize, recognize_many
from attendbot.readers.scan_image import (BLANK_INK, FAINT_LEVEL, MAX_PAGES, Grid, Page, Perspective, QrFound,
                                          corner_marks, find_grid, find_qr, horizontal_rules, image_format,
                                          image_pages, page_outline, pdf_page_count, pdf_pages, prepare)
from attendbot.readers.signin_header import NOT_A_COLUMN, TABLE_COLUMNS, Header, fields_in
from attendbot.readers.source import SourceFile

IDENTIFY_PAGES = 3  # a PDF none of whose first pages has text is a scan
# Thresholds, calibrated on the tests' scans (150-300 dpi, +-3 degrees, blur up to 1.3 px, noise,
# dust, grey background): an empty signature cell there holds at most 0.06% ink, the smallest
# signature (a small pasted scribble at 150 dpi) 1.2%. The band between the two thresholds is
# what is not judged.
UNSIGNED_INK = 0.002  # share of a signature cell's inside: at most this, the cell is empty
SIGNED_INK = 0.006  # at least this, it is signed; in between, it is not judged
FAINT_MARKS = 0.006  # share of a cell marked at least faintly: an "empty" cell with this much is not judged
NAME_MIN_SCORE = 0.80  # OCR confidence (0-1) a printed name needs to be used
HEADER_MIN_SCORE = 0.80  # ... the group and date lines of a header
TIME_MIN_SCORE = 0.90  # ... a handwritten time
TIME_SHARE = 0.75  # share of the per-file time budget the pages may take; the rest are reported
FOOTER_LINE_MIN = 0.2  # of the page's width: the shortest facilitator-signature line looked for
CELL_MARGIN = 0.14  # of a row's height: what is trimmed off a cell's sides so its borders are not ink
ROSTER_COLUMNS = {"name": 1, "signature": 2, "time_in": 3, "time_out": 4}  # layout R1

_FACILITATOR_SIGNATURE = re.compile(r"facilitator ?s? ?signature")  # OCR may run the words together


@dataclass(frozen=True)
class Judgement:
    """A yes/no read off the page, with how sure it is (0-1; below 0.5 it is not judged)."""

    value: bool | None  # None: not judged
    confidence: float
    detail: str = ""


def judge_ink(share: float, faint: float = 0.0) -> Judgement:
    """A signature cell's ink share as signed / unsigned / not judged; ``faint``, the share marked
    at least faintly (:data:`~attendbot.readers.scan_image.FAINT_LEVEL`), keeps a box holding a
    stroke too faint or blurred to count as ink from being judged empty."""
    pct = f"ink covers {share:.2%} of the box"
    if share >= SIGNED_INK:
        return Judgement(True, min(1.0, 0.5 + 0.5 * (share - SIGNED_INK) / SIGNED_INK), pct)
    if share <= UNSIGNED_INK and faint >= FAINT_MARKS:
        return Judgement(None, 0.0, f"{pct}, but faint strokes cover {faint:.2%}: a signature too faint or "
                                    "blurred to count")
    if share <= UNSIGNED_INK:
        return Judgement(False, 0.5 + 0.5 * (1 - share / UNSIGNED_INK), pct)
    middle, half = (SIGNED_INK + UNSIGNED_INK) / 2, (SIGNED_INK - UNSIGNED_INK) / 2
    return Judgement(None, 0.5 * abs(share - middle) / half,
                     f"{pct}: between the {UNSIGNED_INK:.1%} of an empty box and the {SIGNED_INK:.1%} of a "
                     "signed one")


def judge_space(page: Page, area: tuple[float, float, float, float]) -> Judgement:
    """Whether the space for a signature, (x0, top, x1, bottom) in page pixels, is signed."""
    return judge_ink(page.ink_in(*area)[0], page.ink_in(*area, level=FAINT_LEVEL)[0])


class SigninScanReader(Reader):
    """Sign-in sheets that are pictures: image-only PDFs and PNG, JPEG or TIFF files."""

    kind = "signin"

    def identify(self, src: SourceFile) -> bool:
        if src.format == "pdf":
            pages = list(src.pdf.pages(limit=IDENTIFY_PAGES))
            return bool(pages) and not any(page.has_text_layer for page in pages)
        return image_format(src.data[:16]) is not None

    def read(self, src: SourceFile) -> ReadResult:
        result = ReadResult()
        if src.format == "pdf":
            count = pdf_page_count(src.data)
            pages = pdf_pages(src.data, list(range(1, min(count, MAX_PAGES) + 1)))
        else:
            count, pages = 0, image_pages(src.data)
        deadline = time.monotonic() + TIME_SHARE * limits.FILE_SECONDS
        last = 0
        try:
            for number, grey in pages:
                if last and time.monotonic() > deadline:  # the first page is always read
                    result.problems.append(Problem(
                        f"pages {number} and after were not read: a scanned file may take "
                        f"{TIME_SHARE * limits.FILE_SECONDS:g} s — split the scan into smaller files",
                        Evidence(src.shown, page=number), GapCode.UNREADABLE_FILE))
                    break
                try:
                    ScanPageReader(src.shown, number, result).read(grey)
                except UnreadableFileError as exc:  # this page only; the others are still read
                    result.problems.append(Problem(f"page {number} cannot be read: {exc.reason}",
                                                   Evidence(src.shown, page=number), GapCode.UNREADABLE_FILE))
                last = number
        except OcrUnavailable as exc:
            raise UnreadableFileError(exc.reason) from None
        if count > MAX_PAGES and last == MAX_PAGES:
            result.problems.append(Problem(f"the scan has {count} pages; only the first {MAX_PAGES} were read",
                                           Evidence(src.shown, page=MAX_PAGES + 1), GapCode.UNREADABLE_FILE))
        if not result.sheets:
            reasons = "; ".join(p.message for p in result.problems[:3]) or "no page could be read"
            raise UnreadableFileError(f"no sign-in sheet could be read from the scan: {reasons}")
        return result


def read_scanned_pdf_page(src: SourceFile, number: int, result: ReadResult) -> None:
    """Read page ``number`` of a PDF that is otherwise digital, as a scan (the sign-in PDF
    reader sends its image-only pages here). A page that cannot be read at all is an
    ``UNREADABLE_FILE`` problem naming it."""
    try:
        for n, grey in pdf_pages(src.data, [number]):
            ScanPageReader(src.shown, n, result).read(grey)
    except (UnreadableFileError, OcrUnavailable) as exc:
        result.problems.append(Problem(f"page {number} is a scan that cannot be read: {exc.reason}",
                                       Evidence(src.shown, page=number), GapCode.UNREADABLE_FILE))


class ScanPageReader:
    """One scanned page into at most one sheet, and problems into the result."""

    def __init__(self, shown: str, number: int, result: ReadResult):
        self.shown, self.n, self.result = shown, number, result

    # --- reporting ---------------------------------------------------------------------

    def note(self, message: str, gap: GapCode | None = None, row: int | None = None) -> None:
        self.result.problems.append(Problem(message, Evidence(self.shown, page=self.n, row=row), gap))

    def uncertain(self, what: str, detail: str, row: int | None = None) -> None:
        where = f"Page {self.n}" + (f" row {row}" if row is not None else "")
        self.note(gap_message(GapCode.SCAN_UNCERTAIN, where=where, file=self.shown.rsplit("/", 1)[-1],
                              what=what, detail=detail), GapCode.SCAN_UNCERTAIN, row)

    # --- the page ----------------------------------------------------------------------

    def read(self, grey) -> None:
        page = prepare(grey)
        if page.ink_share < BLANK_INK:
            self.note(f"page {self.n} is blank (the back of a sheet?); skipped")
            return
        found = find_qr(page)
        mark = None
        if found is not None:
            try:
                mark = RosterMark.decode(found.text)
            except MarkError as exc:
                self.uncertain("the roster's mark", str(exc))
                return
        if mark is not None:
            upright = self.from_above(grey, page, self.roster_corners(grey, page, found), found.quarter_turns)
            if upright is not None:
                self.read_roster(upright.straightened(), mark)
        else:
            upright = self.from_above(grey, page, page_outline(grey))
            if upright is not None:
                self.read_other(upright.straightened())

    def roster_corners(self, grey, page: Page, found: QrFound) -> Perspective | None:
        """Where a roster's four corner squares are in ``grey`` (the page as it came, ``page`` prepared
        from it), when all four are clearly there and the QR mark lies where they say it should."""
        seen = corner_marks(page, grey.shape)
        if seen is None or found.centre is None:
            return None
        where = Perspective(seen, np.float64(CORNER_MIDDLES), (PAGE_W, PAGE_H)).turned(found.quarter_turns)
        x, y = found.centre
        qr = where.page_at((x * grey.shape[1] / page.width, y * grey.shape[0] / page.height))
        return where if math.dist(qr, QR_MIDDLE) <= 0.25 * QR_SIZE else None

    def from_above(self, grey, page: Page, where: Perspective | None, quarter_turns: int = 0) -> Page | None:
        """The page upright and as if seen from straight above: warped back when ``where`` shows a photo
        taken at an angle; ``page`` turned upright when nothing clear was found or it is flat (a scan,
        which straightening makes right); None, reported, when the photo is too distorted to read."""
        if where is None or where.flat:
            return page.rotated(quarter_turns)
        problem = where.too_distorted()
        if problem:
            self.uncertain("the photographed page", problem)
            return None
        self.note(f"page {self.n} was photographed or scanned at an angle; it was read with its perspective corrected")
        return where.rectify(grey, quarter_turns)

    def turned_note(self, page: Page) -> None:
        if page.turned == 2:
            self.note(f"page {self.n} was scanned upside down; it was read turned round")
        elif page.turned:
            self.note(f"page {self.n} was scanned sideways; it was read turned upright")

    def read_roster(self, page: Page, mark: RosterMark) -> None:
        grid = find_grid(page)
        body = mark.rows + mark.spare
        if grid is None or grid.columns != len(ROSTER_COLUMNS) + 1 or grid.rows != body + 1:
            found = f"{grid.rows - 1} rows and {grid.columns} columns" if grid else "no ruled table"
            self.uncertain("the roster's table",
                           f"its mark says {body} rows and {len(ROSTER_COLUMNS) + 1} columns; the scan shows {found} "
                           "(folded, cut off or scanned crooked?)")
            return
        self.turned_note(page)
        rows = RowReader(self, page, grid, ROSTER_COLUMNS, "roster")
        rows.prefetch(range(1, body + 1))
        sheet_lines = []
        for index in range(1, body + 1):
            number = mark.first_row + index - 1
            line = rows.read(index, number, mark=mark if index <= mark.rows else None)
            if line is not None:
                sheet_lines.append(line)
        self.result.sheets.append(SigninSheet(
            group=mark.group, service_date=mark.service_date, start=mark.start, end=mark.end,
            facilitator=mark.facilitator, facilitator_signed=self.facilitator_signed(page, grid, known=True),
            lines=tuple(sheet_lines), evidence=Evidence(self.shown, page=self.n), how="roster"))

    def read_other(self, page: Page) -> None:
        for attempt in (page, page.rotated(2)):
            grid = find_grid(attempt)
            columns = self.column_titles(attempt, grid) if grid else {}
            if "name" in columns and "signature" in columns:
                page = attempt
                break
        else:
            self.uncertain("the sheet", "no ruled table with a printed-name and a signature column was found")
            return
        blocks = [b for b in read_text(page.crop(0, 0, page.width, grid.top - 4)) if b.text.strip()]
        header, score_of = Header(), {}  # the digital readers' own header rules, on OCR's lines
        for row in lines(blocks):
            text, score = " ".join(b.text for b in row), min(b.score for b in row)
            for name, value in fields_in(text):
                if name not in header:
                    header.put(name, value)
                    score_of[name] = score
        group = header.group()
        day, no_date = header.date()
        sure = {key: score_of.get(key, 0.0) >= HEADER_MIN_SCORE for key in ("group", "date")}
        if not group or day is None or not all(sure.values()):
            missing = [w for w, ok in (("group", bool(group) and sure["group"]),
                                       ("date", day is not None and sure["date"])) if not ok]
            detail = no_date if day is None and no_date else (
                header.problems[0] if header.problems else "OCR could not read it clearly")
            self.uncertain("the header's " + " and ".join(missing), detail)
            return
        self.turned_note(page)
        start, end = header.times()
        facilitator = header.facilitator()
        for problem in header.problems:
            self.note(f"page {self.n}: {problem}")
        rows = RowReader(self, page, grid, columns, "ocr")
        rows.prefetch(range(1, grid.rows))
        sheet_lines = []
        for index in range(1, grid.rows):
            line = rows.read(index, index)
            if line is not None:
                sheet_lines.append(line)
        self.result.sheets.append(SigninSheet(
            group=group, service_date=day, start=start, end=end, facilitator=facilitator,
            facilitator_signed=self.facilitator_signed(page, grid, known=False), lines=tuple(sheet_lines),
            evidence=Evidence(self.shown, page=self.n), how="ocr"))

    def column_titles(self, page: Page, grid: Grid) -> dict[str, int]:
        columns: dict[str, int] = {}
        found = []
        for col in range(grid.columns):
            x0, top, x1, bottom = grid.cell(0, col)
            box = page.ink_in(x0 + 4, top + 4, x1 - 4, bottom - 4)[1]
            if box is not None:
                found.append((col, page.crop(box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6)))
        for (col, _), (text, score) in zip(found, recognize_many([crop for _, crop in found])):
            title = parse.words(text)
            if score < HEADER_MIN_SCORE or not title or NOT_A_COLUMN.search(title):
                continue
            for name, pattern in TABLE_COLUMNS:
                if name not in columns and pattern.search(title):
                    columns[name] = col
                    break
        return columns

    def facilitator_signed(self, page: Page, grid: Grid, known: bool) -> bool | None:
        """None when the page has no facilitator-signature line below its table, else whether it is signed.

        On a roster the line's place is known (layout R1, scaled by the table's width). On another
        sheet it is a horizontal rule below the table with ``Facilitator Signature`` left of it;
        of several such rules close together (a signature's straight stroke can look like one)
        the lowest is the line. A signature that cannot be judged counts as missing and is reported."""
        row_h = grid.row_height
        below = [r for r in horizontal_rules(page, page.width * FOOTER_LINE_MIN)
                 if r.y > grid.bottom + 0.3 * row_h and r.width < 0.9 * (grid.right - grid.left)]
        rule = None
        if known:
            scale = (grid.right - grid.left) / TABLE_WIDTH  # layout R1 (attendbot.mark), scaled
            y = grid.bottom + (FOOTER_GAP + 2) * scale
            x0 = grid.left + (FACILITATOR_LINE_X - MARGIN) * scale
            near = [r for r in below if abs(r.y - y) < 0.5 * row_h and abs(r.x0 - x0) < 0.05 * page.width]
            if not near:
                self.uncertain("the facilitator signature", "the signature line below the table was not found")
                return False
            rule = max(near, key=lambda r: r.y)
        else:
            for candidate in below[:4]:
                if rule is not None and candidate.y > rule.y + 1.5 * row_h:
                    break
                box = page.ink_in(grid.left, candidate.y - row_h, candidate.x0 - 2, candidate.y + 0.2 * row_h)[1]
                if box is None:
                    continue
                text, _ = recognize(page.crop(box[0] - 6, box[1] - 6, box[2] + 6, box[3] + 6))
                if _FACILITATOR_SIGNATURE.search(parse.words(text)):
                    rule = candidate
            if rule is None:
                return None
        judged = judge_space(page, (rule.x0 + 4, rule.y - 1.1 * row_h, rule.x1 - 4, rule.y - max(6.0, 0.12 * row_h)))
        if judged.value is None:
            self.uncertain("the facilitator signature", judged.detail)
            return False
        return judged.value


class RowReader:
    """The rows of one page's table: each into a line, a problem, or nothing (an empty spare row)."""

    def __init__(self, page_reader: ScanPageReader, page: Page, grid: Grid, columns: dict[str, int], how: str):
        self.pr, self.page, self.grid, self.columns, self.how = page_reader, page, grid, columns, how
        self.margin = max(4.0, CELL_MARGIN * grid.row_height)
        self.texts: dict[tuple[int, str], tuple[str, float] | None] = {}

    def prefetch(self, indices: range) -> None:
        """Read the written cells (names, times) of these rows by OCR, all in one batch."""
        wanted = []
        for index in indices:
            for column in ("name", "time_in", "time_out"):
                crop = self.crop_of(index, column)
                self.texts[(index, column)] = None
                if crop is not None:
                    wanted.append(((index, column), crop))
        for (key, _), read in zip(wanted, recognize_many([crop for _, crop in wanted])):
            self.texts[key] = read

    def inside(self, index: int, column: str) -> tuple[float, float, float, float] | None:
        col = self.columns.get(column)
        if col is None:
            return None
        x0, top, x1, bottom = self.grid.cell(index, col)
        m = self.margin
        return x0 + m, top + m, x1 - m, bottom - m

    def crop_of(self, index: int, column: str, pad_share: float = 0.2):
        """The written part of a cell (its ink's box, padded by ``pad_share`` of the row height),
        or None when the cell is empty."""
        area = self.inside(index, column)
        if area is None:
            return None
        _, box = self.page.ink_in(*area)
        if box is None:
            return None
        pad = pad_share * self.grid.row_height
        x0, top, x1, bottom = self.grid.cell(index, self.columns[column])
        return self.page.crop(max(x0 + 3, box[0] - pad), max(top + 3, box[1] - pad),
                              min(x1 - 3, box[2] + pad), min(bottom - 3, box[3] + pad))

    def text_in(self, index: int, column: str) -> tuple[str, float] | None:
        """What is written in a cell, by OCR: None when the cell is empty."""
        if (index, column) not in self.texts:
            self.prefetch(range(index, index + 1))
        return self.texts[(index, column)]

    def read(self, index: int, number: int, mark: RosterMark | None = None) -> SigninLine | None:
        """Row ``index`` of the table (1: the first under the titles), numbered ``number`` on the sheet."""
        pr = self.pr
        signature = judge_space(self.page, self.inside(index, "signature"))
        name_read = self.text_in(index, "name")
        times = {key: self.time_at(index, key, number) for key in ("time_in", "time_out")}
        if name_read is None:
            if signature.value or any(times.values()):
                pr.note(f"page {pr.n} row {number}: a signed or timed line has no printed name",
                        GapCode.UNMATCHED_SIGNIN_NAME, number)
            elif signature.value is None:
                pr.uncertain("the signature box of a row with no printed name", signature.detail, number)
            return None
        name, score = name_read
        if mark is not None:  # a printed roster row: the name must be the one printed there
            if not mark.matches(number, name):
                name = self.second_reading(index, number, mark)
            if name is None:
                pr.uncertain("the printed name", "it did not read back as the roster printed it", number)
                return None
            confidence = 1.0
        else:
            confidence = score
            if score < NAME_MIN_SCORE or not parse.words(name):
                pr.uncertain("the printed name", f"OCR confidence {score:.2f}, below {NAME_MIN_SCORE:.2f}", number)
                return None
        if signature.value is None:
            pr.uncertain("the signature box", signature.detail, number)
        return SigninLine(
            row=number, printed_name=" ".join(name.split()), signed=bool(signature.value),
            time_in=times["time_in"], time_out=times["time_out"],
            evidence=Evidence(pr.shown, page=pr.n, row=number), how=self.how,
            confidence=round(min(confidence, signature.confidence), 3))

    def second_reading(self, index: int, number: int, mark: RosterMark) -> str | None:
        """A roster name OCR misread (its check failed), read again from differently framed crops
        (the recogniser scales a crop to a fixed height, so the framing changes what it sees):
        the first reading that matches the check, or None."""
        crops = [c for c in (self.crop_of(index, "name", share) for share in (0.08, 0.35)) if c is not None]
        for text, _ in recognize_many(crops):
            if mark.matches(number, text):
                return text
        return None

    def time_at(self, index: int, column: str, number: int) -> dt.time | None:
        read = self.text_in(index, column)
        if read is None:
            return None
        text, score = read
        what = column.replace("_", " ")
        if score >= TIME_MIN_SCORE:
            try:
                return parse.parse_time(text)
            except ValueError:
                pass
        self.pr.note(f"page {self.pr.n} row {number}: the {what} could not be read with confidence; left empty",
                     row=number)
        return None
