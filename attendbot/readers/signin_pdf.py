"""Sign-in sheets in PDF: one group session per page.

A page is a sign-in sheet when it has the header block (``Group:`` or ``Group
Name:``, ``Date:``, ``Time:`` or ``Start Time:``/``End Time:``,
``Facilitator:``) and a ruled patient table with a printed-name and a signature
column (other columns — staff initials, a reason — may sit anywhere beside them).
A line is signed when there is ink in its signature cell: strokes, an image, or
text. All PDF access goes through :mod:`attendbot.readers.pdf_backend`.

The header is read from the words above the patient table, line by line as they
sit on the page: a value is what follows its label on that line, up to the next
label or an instruction sentence (:mod:`attendbot.readers.signin_header`), so an
instruction printed under the header, or a table header of many columns, never
becomes part of the facilitator's name. Line times written without AM/PM are
read within the header's hours.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from attendbot.codes import GapCode
from attendbot.model import Evidence, Problem, ReadResult, SigninLine, SigninSheet
from attendbot.readers import parse
from attendbot.readers.base import Reader
from attendbot.readers.pdf_backend import Box, Cell, PageUnreadableError, PageView, Table, Word
from attendbot.readers.signin_header import (NOT_A_COLUMN, TABLE_COLUMNS, Header, fields_in, is_instruction,
                                             labels_in)
from attendbot.readers.source import SourceFile

IDENTIFY_PAGES = 3  # identify looks at this many pages at most
SCAN_COVERAGE = 0.8  # an image over this share of a page with text: an OCR'd scan
# Pages with no text layer, and OCR'd scans, are read as scans (attendbot.readers.signin_scan); a
# PDF whose first pages are all images is the scan reader's, not this one's.

_SIGNATURE_WORD = re.compile(r"\b(?:signature|initials)\b", re.IGNORECASE)
_NAME_WORD = re.compile(r"\bname\b", re.IGNORECASE)
_FACILITATOR_SIGNATURE = r"facilitator'?s?\s+signature\s*:?"
TABLE_HEADER_WORDS = 25  # a table header line of more words is a sentence


def _is_table_header_line(line: str) -> bool:
    """``# Printed Name Signature Time In Time Out``: a name and a signature column, not a sentence."""
    rest = re.sub(_FACILITATOR_SIGNATURE, " ", line, flags=re.IGNORECASE)
    return bool(_NAME_WORD.search(rest) and _SIGNATURE_WORD.search(rest)) and not labels_in(rest) \
        and not is_instruction(rest) and len(rest.split()) <= TABLE_HEADER_WORDS


@dataclass
class _Layout:
    """What a page's text says about it: enough of the header, and whether the table header is
    there, to tell a sign-in sheet (the values themselves are read from the page's geometry)."""

    fields: dict[str, str] = field(default_factory=dict)
    table_header: bool = False

    @classmethod
    def of(cls, text: str) -> _Layout:
        layout = cls()
        for line in text.splitlines():
            if _is_table_header_line(line):
                layout.table_header = True
                break
            for name, value in fields_in(line):
                layout.fields.setdefault(name, value)
        return layout

    @property
    def is_signin(self) -> bool:
        return self.table_header and "group" in self.fields and "date" in self.fields

    @property
    def looks_like_signin(self) -> bool:
        """Enough of a sign-in sheet that a missing part is a problem, not a foreign page."""
        return self.table_header or ("group" in self.fields and "date" in self.fields)


_LINE_TOLERANCE = 3.0  # points: words this close in height are on one line
_VALUE_COLUMN_TOLERANCE = 4.0  # points: a wrapped value starts under the value it continues


def _text_lines(words: list[Word]) -> list[list[Word]]:
    """Words grouped into lines, top to bottom, each left to right."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.box.top, w.box.x0)):
        if lines and abs(lines[-1][0].box.top - word.box.top) <= _LINE_TOLERANCE:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [sorted(line, key=lambda w: w.box.x0) for line in lines]


def _header(words: list[Word]) -> Header:
    """The header fields from the words above the patient table.

    A value is what follows its label on the label's own line, up to the next label or an
    instruction sentence. Only a group name may wrap: a next line without a label that starts
    under the value (not at the labels' margin) and is no sentence continues it.
    """
    header = Header()
    wrap_at: float | None = None  # where the group's value starts, while it may still wrap
    for line in _text_lines(words):
        text, starts = "", []
        for word in line:
            starts.append(len(text) + (1 if text else 0))
            text = f"{text} {word.text}" if text else word.text
        hits = labels_in(text)
        if not hits:
            if wrap_at is not None and not is_instruction(text) \
                    and abs(line[0].box.x0 - wrap_at) <= _VALUE_COLUMN_TOLERANCE:
                header.raw["group"] = f"{header.raw['group']} {' '.join(text.split())}"
                continue
            wrap_at = None
            continue
        wrap_at = None
        for hit, (name, value) in zip(hits, fields_in(text)):
            first = name not in header
            header.put(name, value)
            if name == "group" and first and value and hit is hits[-1]:
                value_words = [w for w, at in zip(line, starts) if at >= hit.end]
                wrap_at = value_words[0].box.x0 if value_words else None
    return header


@dataclass(frozen=True)
class _PatientTable:
    table: Table
    header_row: int
    columns: dict[str, int]

    @classmethod
    def find(cls, tables: list[Table]) -> _PatientTable | None:
        for table in tables:
            for index, row in enumerate(table.rows[:3]):
                columns: dict[str, int] = {}
                for col, cell in enumerate(row):
                    words = parse.words(cell.text)
                    if not words or NOT_A_COLUMN.search(words):
                        continue
                    for name, pattern in TABLE_COLUMNS:
                        if name not in columns and pattern.search(words):
                            columns[name] = col
                            break
                if "name" in columns and "signature" in columns:
                    return cls(table, index, columns)
        return None

    def body(self) -> list[tuple[int, dict[str, Cell]]]:
        """Patient rows numbered from 1, each as column name -> cell."""
        out = []
        for number, row in enumerate(self.table.rows[self.header_row + 1:], start=1):
            out.append((number, {name: row[col] for name, col in self.columns.items() if col < len(row)}))
        return out


class SigninPdfReader(Reader):
    kind = "signin"

    def identify(self, src: SourceFile) -> bool:
        if src.format != "pdf":
            return False
        for page in src.pdf.pages(limit=IDENTIFY_PAGES):
            if page.has_text_layer and _Layout.of(page.text).is_signin:
                return True
        return False  # no sign-in text; an image-only PDF is SigninScanReader's

    def read(self, src: SourceFile) -> ReadResult:
        from attendbot.readers.signin_scan import read_scanned_pdf_page

        doc = src.pdf
        result = ReadResult()
        for page in doc.pages():
            try:
                _PageReader(src.shown, page, result, lambda n: read_scanned_pdf_page(src, n, result)).read()
            except PageUnreadableError as exc:
                result.problems.append(Problem(exc.reason, Evidence(src.shown, page=page.number),
                                               GapCode.UNREADABLE_FILE))
        if doc.truncated:
            result.problems.append(Problem(
                f"the PDF has {doc.page_count} pages; only the first {doc.max_pages} were read",
                Evidence(src.shown, page=doc.max_pages + 1), GapCode.UNREADABLE_FILE))
        return result


class _PageReader:
    """One page into at most one sheet, and problems into the result."""

    def __init__(self, shown: str, page: PageView, result: ReadResult, scan=None):
        self.shown, self.page, self.result = shown, page, result
        self.n = page.number
        self.scan = scan  # reads page n as a scanned image instead

    def problem(self, message: str, gap: GapCode | None = None, row: int | None = None) -> None:
        self.result.problems.append(Problem(message, Evidence(self.shown, page=self.n, row=row), gap))

    def read(self) -> None:
        page, n = self.page, self.n
        if not page.has_text_layer:
            self.scan(n)  # an image-only page: read it as a scan
            return
        layout = _Layout.of(page.text)
        if not layout.looks_like_signin:
            self.problem(f"page {n} is not a sign-in sheet (no Group/Date header and no signature table); skipped")
            return
        if page.image_coverage >= SCAN_COVERAGE:
            self.scan(n)  # a scan with an OCR text layer: its signatures are ink in the image
            return
        patients = _PatientTable.find(page.tables)
        table_top = patients.table.box.top if patients else page.box.bottom
        header = _header([w for w in page.words if w.box.bottom <= table_top + 1])
        group = header.group()
        day, no_date = header.date()
        reasons = [] if group else ["the header has no group name"]
        if no_date:
            reasons.append(no_date)
        if reasons or patients is None:
            reasons = reasons or ["no ruled patient table with a printed-name and a signature column"]
            self.problem(f"page {n} cannot be used: {'; '.join(reasons)}", GapCode.UNREADABLE_FILE)
            return
        start, end = header.times()
        facilitator = header.facilitator()
        for problem in header.problems:
            self.problem(f"page {n}: {problem}")
        self.result.sheets.append(SigninSheet(
            group=group,
            service_date=day,
            start=start,
            end=end,
            facilitator=facilitator,
            facilitator_signed=self.facilitator_signed(patients.table.box),
            lines=tuple(self.lines(patients, (start, end))),
            evidence=Evidence(self.shown, page=n),
        ))

    def time(self, value: str | None, what: str, row: int | None = None,
             hours: tuple[dt.time | None, dt.time | None] = (None, None)) -> dt.time | None:
        """A line's time; one written without AM/PM is read within the session's hours."""
        try:
            return parse.parse_time_near(value, *hours)
        except ValueError as exc:
            where = f"page {self.n}" + (f" row {row}" if row is not None else "")
            self.problem(f"{where}: {what}: {exc}", row=row)
            return None

    def lines(self, patients: _PatientTable, hours: tuple[dt.time | None, dt.time | None]) -> list[SigninLine]:
        out = []
        for row, cells in patients.body():
            def text(column: str) -> str:
                cell = cells.get(column)
                return cell.text if cell else ""

            signature = cells.get("signature")
            signed = bool(signature and signature.box and self.page.ink_in(signature.box))
            name = text("name")
            if not name:
                if signed or text("time_in") or text("time_out"):
                    self.problem(f"page {self.n} row {row}: a signed or timed line has no printed name",
                                 GapCode.UNMATCHED_SIGNIN_NAME, row)
                continue  # otherwise a blank spare row
            out.append(SigninLine(
                row=row,
                printed_name=name,
                signed=signed,
                time_in=self.time(text("time_in"), "time in", row, hours),
                time_out=self.time(text("time_out"), "time out", row, hours),
                evidence=Evidence(self.shown, page=self.n, row=row),
            ))
        return out

    def facilitator_signed(self, table: Box) -> bool | None:
        """None when the page has no ``Facilitator Signature:`` field, else whether it holds ink."""
        labels = self.page.search(_FACILITATOR_SIGNATURE)
        if not labels:
            return None
        below = [b for b in labels if b.top >= table.bottom - 1]
        label = (below or labels)[-1]
        top = label.top - 30
        if label.top >= table.bottom - 1:
            top = max(top, table.bottom + 1)
        area = Box(label.x1 + 1, top, self._field_end(label), label.bottom + 6)
        return self.page.ink_in(area)

    def _field_end(self, label: Box) -> float:
        """Where the signature space right of ``label`` ends: its underline, the next label, or the page edge."""
        for rule in self.page.horizontal_rules():
            if (label.x1 - 5 <= rule.x0 <= label.x1 + 40 and label.top <= rule.top <= label.bottom + 8
                    and rule.width >= 30):
                return rule.x1
        for run in self.page.search(r"_{3,}"):
            if label.x1 - 5 <= run.x0 <= label.x1 + 40 and abs(run.top - label.top) < 6:
                return run.x1
        next_labels = [w.box.x0 for w in self.page.words
                       if w.text.endswith(":") and w.box.x0 > label.x1 and abs(w.box.top - label.top) < 4]
        return min(next_labels, default=self.page.box.x1) - 2
