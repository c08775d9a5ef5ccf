"""Sign-in sheets kept in Excel: one group session per worksheet.

A worksheet is a sign-in sheet when it has a header block naming the group and
the date, and a table whose header has a name column and a signature column.
A typed or pasted signature counts as signed (``parse.xlsx_signed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from attendbot.codes import GapCode
from attendbot.model import Evidence, Problem, ReadResult, SigninLine, SigninSheet
from attendbot.readers import parse
from attendbot.readers.base import Reader
from attendbot.readers.source import SourceFile

#: header-block label (as ``parse.words`` gives it) -> field
LABELS = {
    "group": "group", "group name": "group", "session": "group", "group session": "group",
    "date": "date", "session date": "date", "date of service": "date",
    "time": "time", "session time": "time", "start time": "start", "start": "start",
    "end time": "end", "end": "end",
    "facilitator": "facilitator", "group facilitator": "facilitator", "clinician": "facilitator",
    "facilitator signature": "facilitator_signature",
}
_HEADER_SCAN = 20


@dataclass
class _Layout:
    labels: dict[str, tuple[Any, bool]] = field(default_factory=dict)  # field -> (value, label seen)
    table_row: int | None = None
    columns: dict[str, int] = field(default_factory=dict)  # name, signature, time_in, time_out

    @property
    def is_signin(self) -> bool:
        return "group" in self.labels and "date" in self.labels and self.table_row is not None


def _label_and_value(cells: tuple[Any, ...], i: int) -> tuple[str, Any] | None:
    """``'Group:' | 'Morning'`` or ``'Group: Morning'`` -> ``('group', 'Morning')``."""
    cell = cells[i]
    if not isinstance(cell, str) or ":" not in cell:
        return None
    label, _, rest = cell.partition(":")
    name = LABELS.get(parse.words(label))
    if name is None:
        return None
    if rest.strip():
        return name, rest.strip()
    following = [c for c in cells[i + 1:] if not parse.is_blank(c)]
    return name, following[0] if following else None


def _table_columns(cells: tuple[Any, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        w = parse.words(cell)
        if not w or "facilitator" in w:
            continue
        if "signature" in w or w == "sign here":
            found.setdefault("signature", i)
        elif "name" in w:
            found.setdefault("name", i)
        elif w in ("time in", "in", "arrived", "check in", "arrival"):
            found.setdefault("time_in", i)
        elif w in ("time out", "out", "departed", "check out", "departure"):
            found.setdefault("time_out", i)
    return found if {"name", "signature"} <= found.keys() else {}


def _layout(rows: list[tuple[Any, ...]]) -> _Layout:
    layout = _Layout()
    for r, cells in enumerate(rows):
        if layout.table_row is None and r >= _HEADER_SCAN:
            break
        for i in range(len(cells)):
            hit = _label_and_value(cells, i)
            if hit and hit[0] not in layout.labels:
                layout.labels[hit[0]] = (hit[1], True)
        if layout.table_row is None:
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
        label = {k: v for k, (v, _) in layout.labels.items()}
        group = parse.text(label.get("group"))
        day = parse.parse_date(label.get("date"))
        if not group or day is None:
            raise ValueError("the header names no group or no date")
        start, end = parse.parse_time_range(label["time"]) if label.get("time") else (None, None)
        start = parse.parse_time(label.get("start")) or start
        end = parse.parse_time(label.get("end")) or end
        lines = []
        cols = layout.columns
        number = 0
        for r in range(layout.table_row + 1, len(rows)):
            cells = rows[r]
            if any(_label_and_value(cells, i) for i in range(len(cells))):
                break  # the footer block (Facilitator Signature: …)
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
                    times[key] = parse.parse_time(value)
                except ValueError as exc:
                    times[key] = None
                    result.problems.append(Problem(f"row {r + 1}: {exc}", line_evidence))
            signature = cells[cols["signature"]] if cols["signature"] < len(cells) else None
            lines.append(SigninLine(row=number, printed_name=" ".join(name.split()),
                                    signed=parse.xlsx_signed(signature), evidence=line_evidence, **times))
        fac_sig = layout.labels.get("facilitator_signature")
        return SigninSheet(
            group=" ".join(group.split()), service_date=day, start=start, end=end,
            facilitator=parse.text(label.get("facilitator")),
            facilitator_signed=None if fac_sig is None else parse.xlsx_signed(fac_sig[0]),
            lines=tuple(lines), evidence=evidence,
        )
