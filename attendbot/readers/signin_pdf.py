"""Sign-in sheets in PDF: one group session per page.

A page is a sign-in sheet when it has the header block (``Group:`` or ``Group
Name:``, ``Date:``, ``Time:`` or ``Start Time:``/``End Time:``,
``Facilitator:``) and a ruled patient table with a printed-name and a signature
column. A line is signed when there is ink in its signature cell: strokes, an
image, or text. All PDF access goes through :mod:`attendbot.readers.pdf_backend`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from attendbot.codes import GapCode
from attendbot.model import Evidence, Problem, ReadResult, SigninLine, SigninSheet
from attendbot.readers import parse
from attendbot.readers.base import Reader
from attendbot.readers.pdf_backend import Box, Cell, PageUnreadable, PageView, Table
from attendbot.readers.source import SourceFile

IDENTIFY_PAGES = 3  # identify looks at this many pages at most
SCAN_COVERAGE = 0.8  # an image over this share of a page with text: an OCR'd scan
# Pages with no text layer, and OCR'd scans, are read as scans (attendbot.readers.signin_scan); a
# PDF whose first pages are all images is the scan reader's, not this one's.

# Header labels; an alternative that fails on the colon falls through to the next
# one, so "Group Leader:" is a facilitator and "Start Time:" is not "Time:".
_LABEL = re.compile(
    r"(?<!\w)(?:"
    r"(?P<facilitator_signature>facilitator'?s?\s+signature)"
    r"|(?P<start>(?:session\s+)?start(?:\s+time)?|time\s+started)"
    r"|(?P<end>(?:session\s+)?end(?:\s+time)?|time\s+ended)"
    r"|(?P<group>group\s+name|group\s+title|group|program\s+group)"
    r"|(?P<facilitator>facilitator(?:\s+name)?|group\s+leader|group\s+facilitator|leader|clinician|therapist)"
    r"|(?P<date>session\s+date|service\s+date|date\s+of\s+service|group\s+date|date)"
    r"|(?P<time>session\s+time|group\s+time|time)"
    r")\s*:",
    re.IGNORECASE,
)
_SIGNATURE_WORD = re.compile(r"\b(?:signature|initials)\b", re.IGNORECASE)
_NAME_WORD = re.compile(r"\bname\b", re.IGNORECASE)
_FACILITATOR_SIGNATURE = r"facilitator'?s?\s+signature\s*:?"
_DATE_IN_TEXT = re.compile(
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}[ -][A-Za-z]{3}[ -]\d{2,4}"
)

# Patient-table columns, tried in this order on each header cell (so "Sign In" is a signature).
_COLUMNS = (
    ("signature", re.compile(r"\bsignature\b|^sign( in)?$|^initials$")),
    ("name", re.compile(r"\bname\b|^(patient|client|participant|member)$")),
    ("time_in", re.compile(r"\b(in|arrival|arrived)\b")),
    ("time_out", re.compile(r"\b(out|departure|departed|left)\b")),
)


def _is_table_header_line(line: str) -> bool:
    """``# Printed Name Signature Time In Time Out``: a name and a signature column, not a sentence."""
    rest = re.sub(_FACILITATOR_SIGNATURE, " ", line, flags=re.IGNORECASE)
    return bool(_NAME_WORD.search(rest) and _SIGNATURE_WORD.search(rest)) and len(rest.split()) <= 12


@dataclass
class _Layout:
    """What a page's text says about it: the header fields and whether the table header is there."""

    fields: dict[str, str] = field(default_factory=dict)
    table_header: bool = False

    @classmethod
    def of(cls, text: str) -> _Layout:
        layout = cls()
        current: str | None = None
        for line in text.splitlines():
            if _is_table_header_line(line):
                layout.table_header = True
                break
            matches = list(_LABEL.finditer(line))
            if not matches:
                if current and line.strip():  # a header value wrapped onto the next line
                    layout.fields[current] = f"{layout.fields[current]} {line.strip()}".strip()
                continue
            for m, nxt in zip(matches, [*matches[1:], None]):
                value = line[m.end():nxt.start() if nxt else None].strip()
                current = m.lastgroup if m.lastgroup not in layout.fields else None  # the first label counts
                if current:
                    layout.fields[current] = value
        return layout

    @property
    def is_signin(self) -> bool:
        return self.table_header and "group" in self.fields and "date" in self.fields

    @property
    def looks_like_signin(self) -> bool:
        """Enough of a sign-in sheet that a missing part is a problem, not a foreign page."""
        return self.table_header or ("group" in self.fields and "date" in self.fields)


def _date(value: str) -> tuple[dt.date | None, str | None]:
    """The header's date, or None and the reason there is none."""
    if not value:
        return None, "the header has no date"
    for candidate in (value, *(m.group(0) for m in _DATE_IN_TEXT.finditer(value))):
        try:
            return parse.parse_date(candidate), None
        except ValueError:
            continue
    return None, f"the header date {value[:40]!r} is not a date"


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
                    for name, pattern in _COLUMNS:
                        if name not in columns and words and pattern.search(words):
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
            except PageUnreadable as exc:
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
        group = " ".join(layout.fields.get("group", "").split())
        day, no_date = _date(layout.fields.get("date", ""))
        reasons = [] if group else ["the header has no group name"]
        if no_date:
            reasons.append(no_date)
        patients = None if reasons else _PatientTable.find(page.tables)
        if day is None or patients is None:
            reasons = reasons or ["no ruled patient table with a printed-name and a signature column"]
            self.problem(f"page {n} cannot be used: {'; '.join(reasons)}", GapCode.UNREADABLE_FILE)
            return
        start, end = self.session_times(layout.fields)
        self.result.sheets.append(SigninSheet(
            group=group,
            service_date=day,
            start=start,
            end=end,
            facilitator=" ".join(layout.fields.get("facilitator", "").split()) or None,
            facilitator_signed=self.facilitator_signed(patients.table.box),
            lines=tuple(self.lines(patients)),
            evidence=Evidence(self.shown, page=n),
        ))

    def session_times(self, fields: dict[str, str]) -> tuple[dt.time | None, dt.time | None]:
        if "start" in fields or "end" in fields:
            return (self.time(fields.get("start"), "start time"), self.time(fields.get("end"), "end time"))
        try:
            return parse.parse_time_range(fields.get("time"))
        except ValueError as exc:
            self.problem(f"page {self.n}: session time: {exc}")
            return None, None

    def time(self, value: str | None, what: str, row: int | None = None) -> dt.time | None:
        try:
            return parse.parse_time(value)
        except ValueError as exc:
            where = f"page {self.n}" + (f" row {row}" if row is not None else "")
            self.problem(f"{where}: {what}: {exc}", row=row)
            return None

    def lines(self, patients: _PatientTable) -> list[SigninLine]:
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
                time_in=self.time(text("time_in"), "time in", row),
                time_out=self.time(text("time_out"), "time out", row),
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
