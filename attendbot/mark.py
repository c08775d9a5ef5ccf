"""The machine-readable mark on a printed roster: what it carries, written and read back.

A roster printed by ``attendbot rosters`` carries a QR code so that a scan of it
is known for what it is: which session (group, date, start and end), who runs
it, which layout the page was drawn with, and how many of its rows were printed
with a scheduled patient's name. It never carries a patient's name or id: a QR
code is read by any phone, and a sign-in sheet lies on a table for everyone.

What it carries instead, per printed row, is a one-byte *check* of the printed
name (:func:`name_check`). The scan reader reads each printed name by OCR and
keeps it only when its check matches: 255 OCR misreadings in 256 are caught, so
a name that passes is, to that odds, exactly what was printed. One byte is far
too little to tell who is on a roster: a guessed name passes one row in 256 by
chance, and the check is salted with the session and the row, so rows of two
rosters cannot be compared.

The text is short, ASCII and versioned::

    ATTENDBOT-ROSTER/1;L=R1;D=2026-11-24;S=09:00;E=12:00;N=3;X=3;O=1;C=a1b2c3;G=Morning%20Process;F=Dana%20Whitfield
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

PREFIX = "ATTENDBOT-ROSTER/1"
LAYOUTS = ("R1",)  # the layouts this version can read back; R1 is attendbot.outputs.rosters


class MarkError(ValueError):
    """An attendbot mark that cannot be used (damaged, or from a newer layout)."""


def name_letters(name: str) -> str:
    """Only the letters of a name, lower-case and without accents: what OCR reliably gives back
    (``"O'Brien-Smith, María"`` -> ``"obriensmithmaria"``)."""
    s = unicodedata.normalize("NFKD", name)
    return "".join(c for c in s if "a" <= c.lower() <= "z" and not unicodedata.combining(c)).lower()


def name_check(day: dt.date, group: str, row: int, name: str) -> str:
    """Two hex digits: the check of the name printed on ``row`` of that session's roster."""
    text = f"{day.isoformat()}|{' '.join(group.lower().split())}|{row}|{name_letters(name)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:2]


@dataclass(frozen=True)
class RosterMark:
    service_date: dt.date
    group: str
    start: dt.time | None = None
    end: dt.time | None = None
    facilitator: str | None = None
    rows: int = 0  # rows printed with a scheduled patient's name
    spare: int = 0  # empty rows after them, for walk-ins
    first_row: int = 1  # the number of this page's first row (a roster longer than a page goes on)
    checks: tuple[str, ...] = field(default=())  # name_check of each printed row, in order
    layout: str = "R1"

    def encode(self) -> str:
        def t(value: dt.time | None) -> str:
            return value.strftime("%H:%M") if value else ""

        parts = [PREFIX, f"L={self.layout}", f"D={self.service_date.isoformat()}", f"S={t(self.start)}",
                 f"E={t(self.end)}", f"N={self.rows}", f"X={self.spare}", f"O={self.first_row}",
                 f"C={''.join(self.checks)}", f"G={quote(self.group, safe='')}",
                 f"F={quote(self.facilitator or '', safe='')}"]
        return ";".join(parts)

    @classmethod
    def decode(cls, text: str) -> RosterMark | None:
        """The mark in ``text``; None when the text is not an attendbot mark at all.

        Raises:
            MarkError: it is one, but damaged or of a layout this version cannot read.
        """
        if not text or not text.startswith("ATTENDBOT-ROSTER/"):
            return None
        parts = text.split(";")
        if parts[0] != PREFIX:
            raise MarkError(f"a roster mark of another version ({parts[0]}): print the roster again")
        try:
            values = dict(p.split("=", 1) for p in parts[1:])
            rows, checks = int(values["N"]), values["C"]
            if len(checks) != 2 * rows or not re.fullmatch(r"[0-9a-f]*", checks):
                raise ValueError("checks")
            mark = cls(
                service_date=dt.date.fromisoformat(values["D"]),
                group=unquote(values["G"]),
                start=dt.time.fromisoformat(values["S"]) if values["S"] else None,
                end=dt.time.fromisoformat(values["E"]) if values["E"] else None,
                facilitator=unquote(values["F"]) or None,
                rows=rows, spare=int(values["X"]), first_row=int(values["O"]),
                checks=tuple(checks[i:i + 2] for i in range(0, len(checks), 2)),
                layout=values["L"],
            )
        except (KeyError, ValueError) as exc:
            raise MarkError(f"the roster's mark is damaged ({type(exc).__name__})") from exc
        if mark.layout not in LAYOUTS:
            raise MarkError(f"a roster of layout {mark.layout}, which this version cannot read: print it again")
        if not mark.group:
            raise MarkError("the roster's mark names no group")
        return mark

    def check_of(self, row: int) -> str | None:
        """The check printed for ``row`` (numbered as on the sheet), None for a spare row."""
        index = row - self.first_row
        return self.checks[index] if 0 <= index < len(self.checks) else None

    def matches(self, row: int, name: str) -> bool:
        check = self.check_of(row)
        return check is not None and name_check(self.service_date, self.group, row, name) == check


# --- layout R1: where attendbot.outputs.rosters draws a roster, and where the scan reader
# (attendbot.readers.signin_scan) looks for it. A change to where things are drawn is a new layout id.

LAYOUT = "R1"
PAGE_W, PAGE_H = 612.0, 792.0  # US Letter, points
MARGIN = 54.0
CORNER = 12.0  # side of a corner mark
CORNER_INSET = 24.0  # from the page's edges to a corner mark's outer corner
_MIDDLE = CORNER_INSET + CORNER / 2
CORNER_MIDDLES = ((_MIDDLE, _MIDDLE), (PAGE_W - _MIDDLE, _MIDDLE), (PAGE_W - _MIDDLE, PAGE_H - _MIDDLE),
                  (_MIDDLE, PAGE_H - _MIDDLE))  # the corner marks' middles: top-left, then clockwise
QR_SIZE = 96.0  # the mark, quiet zone included
QR_TOP = 30.0
QR_LEFT = PAGE_W - MARGIN - QR_SIZE + 12
QR_MIDDLE = (QR_LEFT + QR_SIZE / 2, QR_TOP + QR_SIZE / 2)
TITLE_SIZE = 15.0
HEADER_TOP = MARGIN + 48  # first header line's baseline
HEADER_STEP = 16.0
HEADER_VALUE_X = MARGIN + 80
HEADER_VALUE_WIDTH = (PAGE_W - MARGIN - QR_SIZE) - HEADER_VALUE_X  # values stop left of the mark
COLUMNS = (("#", 24.0), ("Printed Name", 180.0), ("Signature", 170.0), ("Time In", 65.0), ("Time Out", 65.0))
TABLE_WIDTH = sum(width for _, width in COLUMNS)
ROW_H = 28.0
ROWS_PER_PAGE = 16  # body rows that fit above the footer
SPARE_ROWS = 3  # empty rows for walk-ins on every page
FOOTER_GAP = 50.0  # from the table's bottom to the footer's baseline
FACILITATOR_LINE_X = MARGIN + 130
FACILITATOR_LINE_W = 220.0
