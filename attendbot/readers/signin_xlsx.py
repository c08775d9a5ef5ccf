"""Sign-in sheets kept in Excel: one group session per worksheet.

A worksheet is a sign-in sheet when it has a header block naming the group and
the date, and a table whose header has a name column and a signature column.
A typed or pasted signature counts as signed (``parse.xlsx_signed``).

Header labels may sit a few rows above the table, in merged cells, with the value
in the label's own cell (``Group: Morning``, several labels to a cell) or in the
next filled cell of the row; a value ends at the next label or an instruction
sentence and is checked like the PDF's (:mod:`attendbot.readers.signin_header`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from attendbot.codes import GapCode
from attendbot.model import Evidence, Problem, ReadResult, SigninLine, SigninSheet
from attendbot.readers import parse
from attendbot.readers.base import Reader
from attendbot.readers.signin_header import Header, cut_instruction, fields_in, labels_in
from attendbot.readers.source import SourceFile

_HEADER_SCAN = 20
_NOT_A_COLUMN = re.compile(r"\b(staff|facilitator|reason|comments?|notes?)\b")


@dataclass
class _Layout:
    header: Header = field(default_factory=Header)
    table_row: int | None = None
    columns: dict[str, int] = field(default_factory=dict)  # name, signature, time_in, time_out

    @property
    def is_signin(self) -> bool:
        return "group" in self.header and "date" in self.header and self.table_row is not None


def _row_fields(cells: tuple[Any, ...]) -> list[tuple[str, Any]]:
    """The header fields on one row: ``'Group:' | 'Morning'``, ``'Group: Morning'``, and several
    labels in one (merged) cell, ``'Group: Morning   Date: 11/24/2026'``.

    A label's value is the rest of its cell up to the next label or an instruction sentence;
    when that is empty, the next non-blank cell of the row, unless that cell is a label itself.
    """
    out: list[tuple[str, Any]] = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, str) or ":" not in cell:
            continue
        hits = labels_in(cell)
        if not hits or cell[:hits[0].start].strip():
            continue  # a label starts the cell, or the cell is text that mentions one
        values = fields_in(cell)
        for (name, value), hit in zip(values, hits):
            if value or hit is not hits[-1]:
                out.append((name, value or None))
                continue
            following = next((c for c in cells[i + 1:] if not parse.is_blank(c)), None)
            if isinstance(following, str):
                if labels_in(following) and not following[:labels_in(following)[0].start].strip():
                    following = None  # the next label: this one is empty
                else:
                    following = cut_instruction(following) or None
            out.append((name, following))
    return out


def _starts_with_label(cells: tuple[Any, ...]) -> bool:
    """A row whose first filled cell is a header label: the footer, not a patient's line (whose
    reason or comment cell may well hold a colon)."""
    first = next((c for c in cells if not parse.is_blank(c)), None)
    return isinstance(first, str) and bool(_row_fields((first,)))


def _table_columns(cells: tuple[Any, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        w = parse.words(cell)
        if not w or _NOT_A_COLUMN.search(w):
            continue
        if "signature" in w or w in ("sign here", "sign in", "initials", "patient initials"):
            found.setdefault("signature", i)
        elif "name" in w or w in ("patient", "client", "participant"):
            found.setdefault("name", i)
        elif w in ("time in", "in", "arrived", "check in", "arrival", "in time", "checked in", "time arrived"):
            found.setdefault("time_in", i)
        elif w in ("time out", "out", "departed", "check out", "departure", "out time", "checked out",
                   "time left", "time departed"):
            found.setdefault("time_out", i)
    return found if {"name", "signature"} <= found.keys() else {}


def _layout(rows: list[tuple[Any, ...]]) -> _Layout:
    layout = _Layout()
    for r, cells in enumerate(rows):
        if layout.table_row is None and r >= _HEADER_SCAN:
            break
        if layout.table_row is not None and r > layout.table_row:
            break  # the header block ends at the table; the footer is read with the lines
        for name, value in _row_fields(cells):
            layout.header.put(name, value)
        columns = _table_columns(cells)
        if columns:
            layout.table_row, layout.columns = r, columns
    return layout


class SigninXlsxReader(Reader):
    kind = "signin"

    def identify(self, src: SourceFile) -> bool:
        return src.format == "xlsx" and any(_layout(rows).is_signin for _, rows in src.tables)

    def read(self, src: SourceFile) -> ReadResult:
        result = ReadResult()
        for title, rows in src.tables:
            evidence = Evidence(src.shown, sheet=title)
            layout = _layout(rows)
            if not layout.is_signin:
                if any(any(not parse.is_blank(c) for c in r) for r in rows):
                    result.problems.append(Problem(f"worksheet {title!r} is not a sign-in sheet; skipped", evidence))
                continue
            try:
                result.sheets.append(self._sheet(rows, layout, evidence, result))
            except ValueError as exc:
                result.problems.append(Problem(f"worksheet {title!r}: {exc}; the sheet was not used", evidence))
        return result

    def _sheet(self, rows: list[tuple[Any, ...]], layout: _Layout, evidence: Evidence,
               result: ReadResult) -> SigninSheet:
        header = layout.header
        group = header.group()
        day, no_date = header.date()
        if not group or day is None:
            raise ValueError(no_date if group else "the header names no group")
        start, end = header.times()
        facilitator = header.facilitator()
        for problem in header.problems:
            result.problems.append(Problem(f"worksheet {evidence.sheet!r}: {problem}", evidence))
        lines = []
        cols = layout.columns
        number = 0
        facilitator_signature: tuple[Any] | None = None
        for r in range(layout.table_row + 1, len(rows)):
            cells = rows[r]
            if _starts_with_label(cells):  # the footer block (Facilitator Signature: …)
                footer = [f for row in rows[r:] for f in _row_fields(row)]
                facilitator_signature = next(((v,) for k, v in footer if k == "facilitator_signature"), None)
                break
            name = parse.text(cells[cols["name"]]) if cols["name"] < len(cells) else None
            line_evidence = Evidence(evidence.file, sheet=evidence.sheet, row=r + 1)
            if not name:
                if any(not parse.is_blank(cells[i]) for k, i in cols.items() if k != "name" and i < len(cells)):
                    result.problems.append(Problem(f"row {r + 1} of worksheet {evidence.sheet!r} is signed or timed "
                                                   "but has no printed name", line_evidence,
                                                   GapCode.UNMATCHED_SIGNIN_NAME))
                continue
            number += 1
            times = {}
            for key in ("time_in", "time_out"):
                value = cells[cols[key]] if key in cols and cols[key] < len(cells) else None
                try:
                    times[key] = parse.parse_time_near(value, start, end)
                except ValueError as exc:
                    times[key] = None
                    result.problems.append(Problem(f"row {r + 1}: {exc}", line_evidence))
            signature = cells[cols["signature"]] if cols["signature"] < len(cells) else None
            lines.append(SigninLine(row=number, printed_name=" ".join(name.split()),
                                    signed=parse.xlsx_signed(signature), evidence=line_evidence, **times))
        if facilitator_signature is None and "facilitator_signature" in header:
            facilitator_signature = (header.raw["facilitator_signature"],)
        return SigninSheet(
            group=group, service_date=day, start=start, end=end, facilitator=facilitator,
            facilitator_signed=None if facilitator_signature is None else parse.xlsx_signed(facilitator_signature[0]),
            lines=tuple(lines), evidence=evidence,
        )
