"""Synthetic PDF sign-in sheets, drawn the way a program's paper sheets look.

One page per :class:`SheetDraft`: a title, the header block (group, date, time,
facilitator), a bordered patient table with a few spare rows, and the
facilitator-signature footer. Signatures are ink, not text fields: hand-drawn
strokes, a pasted scribble image, or a typed cursive name.

The layout is drawn once, onto a *canvas*: the PDF itself, or, for a
``scanned`` page, a Pillow image that is then placed on the page alone, so the
page has no text layer at all. Everything is deterministic: the same drafts
give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import random
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from attendbot.samples.drafts import SheetDraft

PROGRAM = "Riverbend Recovery IOP"
PAGE_W, PAGE_H = 612.0, 792.0  # US Letter, in points
MARGIN = 54.0
COLUMNS = (("#", 26.0), ("Printed Name", 170.0), ("Signature", 160.0), ("Time In", 74.0), ("Time Out", 74.0))
#: What each column of a table holds, by its title; any other title is an extra column
#: (``LineDraft.extras``, in order).
ROLES = {"#": "number", "Printed Name": "name", "Patient Name": "name", "Client Name": "name", "Name": "name",
         "Signature": "signature", "Patient Signature": "signature", "Client Signature": "signature",
         "Time In": "time_in", "Time Out": "time_out", "In": "time_in", "Out": "time_out"}
#: A form with more columns: staff initials and a reason column beside the usual ones.
SIX_COLUMNS = (("#", 22.0), ("Printed Name", 126.0), ("Signature", 110.0), ("Time In", 50.0), ("Time Out", 50.0),
               ("Staff Initials", 52.0), ("Reason if late or left early", 94.0))
ROW_H = 26.0
SPARE_ROWS = 3
HEADER_WRAP = 52  # characters: longer header values continue on the next line
INK = (20, 30, 110)  # ballpoint blue
SCAN_DPI = 100
_FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

Box = tuple[float, float, float, float]  # x, y (top), width, height in points


class Canvas(Protocol):
    def text(self, x: float, y: float, s: str, size: float = 11, style: str = "") -> None:
        """``s`` with its baseline at ``y``; style ``""``, ``"B"`` (bold) or ``"sig"`` (cursive)."""

    def rect(self, x: float, y: float, w: float, h: float, shade: bool = False) -> None: ...

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None: ...

    def curve(self, points: list[tuple[float, float]]) -> None:
        """Chained cubic Béziers through ``points`` (1 + 3k points), in ink."""

    def picture(self, image: Image.Image, box: Box) -> None: ...


class PdfCanvas:
    _FONTS = {"": ("Helvetica", ""), "B": ("Helvetica", "B"), "sig": ("Times", "I")}

    def __init__(self, pdf: FPDF):
        self.pdf = pdf

    def text(self, x, y, s, size=11, style=""):
        family, emphasis = self._FONTS[style]
        self.pdf.set_font(family, emphasis, size)
        self.pdf.set_text_color(*(INK if style == "sig" else (0, 0, 0)))
        self.pdf.text(x, y, s)

    def rect(self, x, y, w, h, shade=False):
        self.pdf.set_line_width(0.75)
        self.pdf.set_draw_color(0)
        self.pdf.set_fill_color(225)
        self.pdf.rect(x, y, w, h, style="DF" if shade else "D")

    def line(self, x1, y1, x2, y2):
        self.pdf.set_line_width(0.75)
        self.pdf.set_draw_color(0)
        self.pdf.line(x1, y1, x2, y2)

    def curve(self, points):
        self.pdf.set_line_width(1.1)
        self.pdf.set_draw_color(*INK)
        for i in range(0, len(points) - 3, 3):
            self.pdf.bezier(points[i:i + 4])

    def picture(self, image, box):
        x, y, w, h = box
        self.pdf.image(image, x, y, w, h)


class ImageCanvas:
    """The same drawing calls onto a Pillow image, ``scale`` pixels per point."""

    def __init__(self, image: Image.Image, scale: float):
        self.image, self.scale = image, scale
        self.draw = ImageDraw.Draw(image)

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale, y * self.scale

    def text(self, x, y, s, size=11, style=""):
        font = ImageFont.load_default(size * self.scale)
        self.draw.text(self._xy(x, y), s, fill=INK if style == "sig" else 0, font=font, anchor="ls")

    def rect(self, x, y, w, h, shade=False):
        self.draw.rectangle((*self._xy(x, y), *self._xy(x + w, y + h)), outline=0,
                            fill=(225, 225, 225) if shade else None, width=max(1, round(self.scale * 0.75)))

    def line(self, x1, y1, x2, y2):
        self.draw.line((*self._xy(x1, y1), *self._xy(x2, y2)), fill=0, width=max(1, round(self.scale * 0.75)))

    def curve(self, points):
        samples = [self._xy(*_bezier_at(points[i:i + 4], t / 12))
                   for i in range(0, len(points) - 3, 3) for t in range(13)]
        self.draw.line(samples, fill=INK, width=max(2, round(self.scale * 1.1)), joint="curve")

    def picture(self, image, box):
        x, y, w, h = box
        self.image.paste(image.resize((round(w * self.scale), round(h * self.scale))), (round(x * self.scale), round(y * self.scale)))


def _bezier_at(p: list[tuple[float, float]], t: float) -> tuple[float, float]:
    u = 1 - t
    weights = (u ** 3, 3 * u * u * t, 3 * u * t * t, t ** 3)
    return (sum(w * q[0] for w, q in zip(weights, p)), sum(w * q[1] for w, q in zip(weights, p)))


def _scribble(name: str, box: Box) -> list[tuple[float, float]]:
    """A name's own squiggle inside ``box``: 1 + 3k Bézier points, left to right, never outside the box."""
    rng = random.Random(zlib.crc32(name.encode("utf-8")))
    x, y, w, h = box
    pad = min(4.0, h / 5)
    left, right, top, bottom = x + pad, x + min(w - pad, pad + 40 + 12 * len(name)), y + pad, y + h - pad
    segments = 3 + rng.randrange(3)
    step = (right - left) / segments

    def at(fx: float, fy: float) -> tuple[float, float]:
        return min(max(fx, left), right), min(max(fy, top), bottom)

    points = [at(left, rng.uniform(top, bottom))]
    for i in range(segments):
        x0 = left + i * step
        points += [at(x0 + rng.uniform(0, step * 1.5), rng.uniform(top, bottom)),
                   at(x0 + rng.uniform(-step * 0.5, step), rng.uniform(top, bottom)),
                   at(x0 + step, rng.uniform(top, bottom))]
    return points


def _scribble_image(name: str, size: tuple[float, float]) -> Image.Image:
    """A scanned-looking PNG of the name's squiggle, as pasted into a form."""
    scale = 3.0
    image = Image.new("RGB", (round(size[0] * scale), round(size[1] * scale)), "white")
    ImageCanvas(image, scale).curve(_scribble(name, (0, 0, *size)))
    return image


def _signature(canvas: Canvas, kind: str | None, name: str, box: Box) -> None:
    x, y, w, h = box
    if kind == "stroke":
        canvas.curve(_scribble(name, box))
    elif kind == "image":
        inner = (x + 3, y + 3, w - 6, h - 6)
        canvas.picture(_scribble_image(name, inner[2:]), inner)
    elif kind == "text":
        canvas.text(x + 6, y + h - 7, name, size=14, style="sig")
    elif kind is not None:
        raise ValueError(f"unknown signature kind {kind!r}")


@dataclass(frozen=True)
class HeaderStyle:
    """How a program's form words its header: ``Group:`` or ``Group Name:``, ``11/24/2026`` or
    ``Tuesday, November 24, 2026``, the facilitator's label, instruction sentences printed under
    the header, and the table's columns (``(title, width)``, see :data:`ROLES`)."""

    group_label: str = "Group:"
    date_format: str = "%m/%d/%Y"
    facilitator_label: str = "Facilitator:"
    instructions: tuple[str, ...] = ()
    columns: tuple[tuple[str, float], ...] = COLUMNS
    two_per_line: bool = False  # "Group: …   Date: …" side by side, as a form with a boxed header prints it

    def lines(self, sheet: SheetDraft) -> list[tuple[str, str]]:
        times = ([("Start Time:", sheet.start), ("End Time:", sheet.end)] if sheet.separate_times
                 else [("Time:", f"{sheet.start} - {sheet.end}")])
        return [(self.group_label, sheet.group), ("Date:", sheet.date.strftime(self.date_format)), *times,
                (self.facilitator_label, sheet.facilitator)]


def _cells(line, number: int, columns: tuple[tuple[str, float], ...]) -> list[str]:
    """The printed values of one table row, column by column."""
    extras = iter(line.extras if line else ())
    out = []
    for title, _ in columns:
        role = ROLES.get(title, "extra")
        if role == "number":
            out.append(str(number))
        elif line is None or role == "signature":
            out.append("")
        elif role == "name":
            out.append(line.name)
        elif role in ("time_in", "time_out"):
            out.append(getattr(line, role) or "")
        else:
            out.append(next(extras, ""))
    return out


def _title(canvas: Canvas, x: float, y: float, title: str, width: float) -> None:
    """A column title, wrapped onto two lines in a smaller type when it is wider than its column."""
    if len(title) * 5.2 <= width - 6:
        canvas.text(x + 4, y + ROW_H - 9, title, size=10, style="B")
        return
    parts = textwrap.wrap(title, max(4, int((width - 6) / 4.4)))[:2]
    for i, part in enumerate(parts):
        canvas.text(x + 3, y + 10 + 9 * i, part, size=8, style="B")


def draw_sheet(canvas: Canvas, sheet: SheetDraft, style: HeaderStyle = HeaderStyle()) -> None:
    """One sign-in page, in points from the top-left corner."""
    canvas.text(MARGIN, MARGIN + 14, f"{PROGRAM} - Group Sign-In Sheet", size=15, style="B")
    y = MARGIN + 44
    fields = style.lines(sheet)
    if style.two_per_line:
        for i in range(0, len(fields), 2):
            for (label, value), x in zip(fields[i:i + 2], (MARGIN, MARGIN + 270)):
                canvas.text(x, y, label, style="B")
                canvas.text(x + 80, y, value)
            y += 16
        fields = []
    for label, value in fields:
        canvas.text(MARGIN, y, label, style="B")
        for part in textwrap.wrap(value, HEADER_WRAP) or [""]:
            canvas.text(MARGIN + 80, y, part)
            y += 16
    for sentence in style.instructions:
        for part in textwrap.wrap(sentence, 95):
            canvas.text(MARGIN, y, part, size=9)
            y += 13
    y += 12

    x = MARGIN
    for title, width in style.columns:
        canvas.rect(x, y, width, ROW_H, shade=True)
        _title(canvas, x, y, title, width)
        x += width
    for number, line in enumerate([*sheet.lines, *[None] * SPARE_ROWS], start=1):
        y += ROW_H
        x = MARGIN
        for (title, width), value in zip(style.columns, _cells(line, number, style.columns)):
            canvas.rect(x, y, width, ROW_H)
            if value:
                canvas.text(x + 4, y + ROW_H - 9, value, size=10)
            if ROLES.get(title) == "signature" and line is not None:
                _signature(canvas, line.signature, line.name, (x, y, width, ROW_H))
            x += width
    if y + ROW_H > PAGE_H - MARGIN - 70:
        raise ValueError(f"{len(sheet.lines)} lines do not fit on one sign-in page")

    if sheet.facilitator_signature == "no-field":
        return
    y += ROW_H + 60
    canvas.text(MARGIN, y, "Facilitator Signature:", style="B")
    line_x = MARGIN + 130
    canvas.line(line_x, y + 2, line_x + 220, y + 2)
    _signature(canvas, sheet.facilitator_signature, sheet.facilitator or "Facilitator", (line_x, y - 26, 220, 26))


def _scanned(sheet: SheetDraft, style: HeaderStyle) -> Image.Image:
    scale = SCAN_DPI / 72
    image = Image.new("RGB", (round(PAGE_W * scale), round(PAGE_H * scale)), "white")
    draw_sheet(ImageCanvas(image, scale), sheet, style)
    return image.convert("L")


def new_pdf() -> FPDF:
    """A blank Letter document in points, dated so that the same pages give the same bytes."""
    pdf = FPDF(orientation="P", unit="pt", format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(_FIXED_DATE)
    return pdf


def write_signin_pdf(path: Path, sheets: list[SheetDraft], style: HeaderStyle = HeaderStyle()) -> Path:
    """Write one sign-in page per draft to ``path``; a ``scanned`` draft becomes an image-only page."""
    pdf = new_pdf()
    pdf.set_title(f"{PROGRAM} sign-in sheets")
    canvas = PdfCanvas(pdf)
    for sheet in sheets:
        pdf.add_page()
        if sheet.scanned:
            pdf.image(_scanned(sheet, style), 0, 0, PAGE_W, PAGE_H)
        else:
            draw_sheet(canvas, sheet, style)
    path = Path(path)
    pdf.output(str(path))
    return path
