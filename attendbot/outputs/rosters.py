"""Printed rosters: one pre-filled sign-in sheet per scheduled session, from the charge export.

``attendbot rosters --date D`` writes one PDF for the day. Each page is a sign-in
sheet the existing readers understand both ways:

* **signed on a tablet or in a PDF editor**, it is an ordinary digital sign-in
  sheet (``Group:``/``Date:``/``Time:``/``Facilitator:`` header, a ruled table with
  ``Printed Name`` and ``Signature`` columns, a ``Facilitator Signature:`` footer),
  read by :mod:`attendbot.readers.signin_pdf`;
* **printed, signed on paper and scanned**, it is known by its QR mark (see
  :mod:`attendbot.mark`: session, date, layout, one check per printed name — never
  a patient's name) and read by :mod:`attendbot.readers.signin_scan` with the
  layout below, which is why the layout is a versioned constant (``R1``, its geometry
  in :mod:`attendbot.mark`): a change to where things are drawn is a new layout id,
  and old scans stay readable.

Rows are printed in a deterministic order — scheduled patients sorted by name,
then patient id, one row per patient however many charges they have in the
session — followed by spare rows for walk-ins. The four filled corner squares
show whether the whole page was scanned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

from attendbot.mark import (CORNER, CORNER_INSET, CORNER_MIDDLES, COLUMNS, FACILITATOR_LINE_W, FACILITATOR_LINE_X,
                            FOOTER_GAP, HEADER_STEP, HEADER_TOP, HEADER_VALUE_WIDTH, HEADER_VALUE_X, LAYOUT, MARGIN,
                            PAGE_H, QR_LEFT, QR_SIZE, QR_TOP, ROW_H, ROWS_PER_PAGE, SPARE_ROWS, TITLE_SIZE,
                            RosterMark, name_check)

_FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

Box = tuple[float, float, float, float]  # x, top, width, height in points


@dataclass(frozen=True)
class Roster:
    """One session's sheet: what is printed on it."""

    group: str
    service_date: dt.date
    start: dt.time | None = None
    end: dt.time | None = None
    facilitator: str | None = None
    names: tuple[str, ...] = ()  # the scheduled patients' names, in print order


@dataclass
class RosterPage:
    """Where one printed page put things (points from the top-left corner): for tests and tools that sign it."""

    mark: RosterMark
    table: Box
    rows: dict[int, dict[str, Box]] = field(default_factory=dict)  # row number -> column name -> cell
    facilitator_signature: Box = (0.0, 0.0, 0.0, 0.0)  # the space above the footer's line


def _printable(text: str) -> str:
    """``text`` as the PDF's built-in fonts can print it (Latin-1); other letters lose their accents."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        s = unicodedata.normalize("NFKD", text)
        return "".join(c if ord(c) < 256 else "?" for c in s if not unicodedata.combining(c))


def _clock(t: dt.time | None) -> str:
    return t.strftime("%I:%M %p").lstrip("0") if t else ""


def _qr_png(text: str) -> io.BytesIO:
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=8, border=4)
    buffer.seek(0)
    return buffer


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """``text`` in lines no wider than ``width`` at the current font."""
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and pdf.get_string_width(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else [""]


def _pages(roster: Roster) -> list[tuple[int, tuple[str, ...]]]:
    """(first row number, names) for each page: every page keeps SPARE_ROWS rows for walk-ins."""
    per_page = ROWS_PER_PAGE - SPARE_ROWS
    names = roster.names
    chunks = [names[i:i + per_page] for i in range(0, len(names), per_page)] or [()]
    out, first = [], 1
    for chunk in chunks:
        out.append((first, chunk))
        first += len(chunk) + SPARE_ROWS
    return out


def draw_roster_page(pdf: FPDF, roster: Roster, program: str, first_row: int, names: Sequence[str],
                     page_no: int, page_count: int) -> RosterPage:
    """One roster page on a new PDF page; returns where its cells are."""
    pdf.add_page()
    mark = RosterMark(service_date=roster.service_date, group=roster.group, start=roster.start, end=roster.end,
                      facilitator=roster.facilitator, rows=len(names), spare=SPARE_ROWS, first_row=first_row,
                      checks=tuple(name_check(roster.service_date, roster.group, first_row + i, _printable(n))
                                   for i, n in enumerate(names)), layout=LAYOUT)
    pdf.set_draw_color(0)
    pdf.set_fill_color(0)
    for x, y in CORNER_MIDDLES:
        pdf.rect(x - CORNER / 2, y - CORNER / 2, CORNER, CORNER, style="F")
    pdf.image(_qr_png(mark.encode()), QR_LEFT, QR_TOP, QR_SIZE, QR_SIZE)

    pdf.set_text_color(0)
    title = _printable(f"{program} - Group Sign-In Sheet" if program else "Group Sign-In Sheet")
    size = TITLE_SIZE
    pdf.set_font("Helvetica", "B", size)
    while size > 9 and pdf.get_string_width(title) > HEADER_VALUE_WIDTH + 80:
        size -= 0.5
        pdf.set_font("Helvetica", "B", size)
    pdf.text(MARGIN, MARGIN + 10, title)
    pdf.set_font("Helvetica", "", 8.5)
    pdf.text(MARGIN, MARGIN + 24, "Please sign in the box beside your printed name; walk-ins use an empty row.")

    times = f"{_clock(roster.start)} - {_clock(roster.end)}" if roster.start and roster.end else _clock(roster.start)
    y = HEADER_TOP
    for label, value in (("Group:", roster.group), ("Date:", roster.service_date.strftime("%m/%d/%Y")),
                         ("Time:", times), ("Facilitator:", roster.facilitator or "")):
        pdf.set_font("Helvetica", "B", 11)
        pdf.text(MARGIN, y, label)
        pdf.set_font("Helvetica", "", 11)
        for part in _wrap(pdf, _printable(value), HEADER_VALUE_WIDTH):
            pdf.text(HEADER_VALUE_X, y, part)
            y += HEADER_STEP
    top = y + 6

    page = RosterPage(mark=mark, table=(MARGIN, top, sum(w for _, w in COLUMNS), 0.0))
    pdf.set_line_width(0.75)
    x = MARGIN
    pdf.set_fill_color(225)
    for title_text, width in COLUMNS:
        pdf.rect(x, top, width, ROW_H, style="DF")
        pdf.set_font("Helvetica", "B", 10)
        pdf.text(x + 4, top + ROW_H - 10, title_text)
        x += width
    y = top
    body = [*names, *[None] * SPARE_ROWS]
    for offset, name in enumerate(body):
        y += ROW_H
        number = first_row + offset
        cells: dict[str, Box] = {}
        x = MARGIN
        for (title_text, width), key in zip(COLUMNS, ("number", "name", "signature", "time_in", "time_out")):
            pdf.rect(x, y, width, ROW_H, style="D")
            cells[key] = (x, y, width, ROW_H)
            x += width
        pdf.set_font("Helvetica", "", 10)
        pdf.text(MARGIN + 4, y + ROW_H - 10, str(number))
        if name is not None:
            pdf.set_font("Helvetica", "", 11)
            pdf.text(cells["name"][0] + 5, y + ROW_H - 10, _printable(name))
        page.rows[number] = cells
    bottom = y + ROW_H
    page.table = (MARGIN, top, sum(w for _, w in COLUMNS), bottom - top)

    y = bottom + FOOTER_GAP
    pdf.set_font("Helvetica", "B", 11)
    pdf.text(MARGIN, y, "Facilitator Signature:")
    pdf.line(FACILITATOR_LINE_X, y + 2, FACILITATOR_LINE_X + FACILITATOR_LINE_W, y + 2)
    page.facilitator_signature = (FACILITATOR_LINE_X, y - 26, FACILITATOR_LINE_W, 26.0)
    pdf.set_font("Helvetica", "", 7)
    pdf.set_text_color(90)
    pdf.text(MARGIN, PAGE_H - CORNER_INSET - 4,
             f"attendbot roster, layout {LAYOUT}, page {page_no} of {page_count}. "
             "Scan the signed sheet into the inbox.")
    pdf.set_text_color(0)
    return page


def build_rosters_pdf(rosters: Sequence[Roster], program: str) -> tuple[FPDF, list[RosterPage]]:
    """The day's rosters drawn into one PDF (not yet written), and where each page put its cells."""
    pdf = FPDF(orientation="P", unit="pt", format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(_printable(f"{program} sign-in rosters" if program else "sign-in rosters"))
    pages: list[RosterPage] = []
    for roster in rosters:
        chunks = _pages(roster)
        for page_no, (first_row, names) in enumerate(chunks, start=1):
            pages.append(draw_roster_page(pdf, roster, program, first_row, names, page_no, len(chunks)))
    return pdf, pages


def write_rosters(path: Path, rosters: Sequence[Roster], program: str) -> bool:
    """Write the rosters to ``path`` atomically (a temporary file, then a rename).

    Returns False, writing nothing, when ``path`` already holds exactly this PDF (the same rosters
    drawn again give the same bytes): a printer watching the folder is not sent the same sheets twice.
    """
    if not rosters:
        raise ValueError("no sessions to print")
    pdf, _ = build_rosters_pdf(rosters, program)
    data = bytes(pdf.output())
    path = Path(path)
    with contextlib.suppress(OSError):
        if path.is_file() and path.read_bytes() == data:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".rosters-", suffix=".pdf", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
