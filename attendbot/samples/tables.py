"""Synthetic exports as real systems write them: title lines, blank rows, Excel cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook

from attendbot.samples.drafts import LineDraft, SheetDraft


def write_table_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]],
                     title: Sequence[str] = (), sheet: str = "Report") -> Path:
    """An export: title lines, a blank row, the header, then rows (dates/times as Excel cells)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for line in title:
        ws.append([line])
    if title:
        ws.append([])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def write_table_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]],
                    title: Sequence[str] = (), encoding: str = "utf-8-sig", newline: str = "\r\n") -> Path:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=newline)
    for line in title:
        writer.writerow([line])
    if title:
        writer.writerow([])
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


@dataclass(frozen=True)
class XlsxStyle:
    """How a program lays out its sign-in worksheet.

    ``header``: ``"cells"`` (``Group:`` | value), ``"merged"`` (the label, then the value in a
    merged cell spanning the row) or ``"one-cell"`` (``Group: value`` in merged cells, two fields a
    row). ``gap_rows`` blank rows and ``instructions`` rows (merged across the table) come between
    the header and the table. ``columns`` are the table's titles (roles as in
    :data:`attendbot.samples.signin_pdf.ROLES`; other titles are extra columns). ``date_format``
    writes the date as text instead of an Excel date cell.
    """

    header: str = "cells"
    gap_rows: int = 1
    instructions: tuple[str, ...] = ()
    columns: tuple[str, ...] = ("#", "Printed Name", "Signature", "Time In", "Time Out")
    date_format: str | None = None
    facilitator_label: str = "Facilitator:"


def _signature_value(line: LineDraft) -> str | None:
    return {None: None, "text": line.name, "image": f"/s/ {line.name}"}.get(line.signature, line.name)


def _row(line: LineDraft, number: int, columns: Sequence[str]) -> list[Any]:
    from attendbot.samples.signin_pdf import ROLES

    extras = iter(line.extras)
    values = {"number": number, "name": line.name, "signature": _signature_value(line), "time_in": line.time_in,
              "time_out": line.time_out}
    return [values[ROLES[c]] if ROLES.get(c, "extra") in values else next(extras, None) for c in columns]


def write_signin_xlsx(path: Path, sheets: Sequence[SheetDraft], program: str = "Sample IOP",
                      style: XlsxStyle = XlsxStyle()) -> Path:
    """One worksheet per session; a signature is whatever was typed into its cell."""
    wb = Workbook()
    wb.remove(wb.active)
    width = max(len(style.columns), 5)
    for n, draft in enumerate(sheets, 1):
        ws = wb.create_sheet(f"{draft.group[:24]} {n}")
        ws.append([f"{program} — Group Sign-In Sheet"])
        date = draft.date.strftime(style.date_format) if style.date_format else draft.date
        times = ([("Start Time:", draft.start), ("End Time:", draft.end)] if draft.separate_times
                 else [("Time:", f"{draft.start} - {draft.end}")])
        fields = [("Group:", draft.group), ("Date:", date), *times, (style.facilitator_label, draft.facilitator)]
        if style.header == "one-cell":
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
            half = width // 2
            texts = [f"{label} {value.strftime('%m/%d/%Y') if isinstance(value, dt.date) else value}"
                     for label, value in fields]
            for i in range(0, len(texts), 2):
                row: list[Any] = [None] * width
                row[0] = texts[i]
                ws.append(row)
                r = ws.max_row
                ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=half)
                if i + 1 < len(texts):
                    ws.cell(r, half + 1, texts[i + 1])
                    ws.merge_cells(start_row=r, start_column=half + 1, end_row=r, end_column=width)
        else:
            for label, value in fields:
                ws.append([label, value])
                if style.header == "merged":
                    r = ws.max_row
                    ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=width)
        for sentence in style.instructions:
            ws.append([sentence])
            r = ws.max_row
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        for _ in range(style.gap_rows):
            ws.append([])
        ws.append(list(style.columns))
        for i, line in enumerate(draft.lines, 1):
            ws.append(_row(line, i, style.columns))
        ws.append([])
        if draft.facilitator_signature != "no-field":
            ws.append(["Facilitator Signature:", draft.facilitator if draft.facilitator_signature else None])
        for col, w in zip("ABCDEFG"[:width], (22, 28, 28, 12, 12, 14, 30)):
            ws.column_dimensions[col].width = w
    wb.save(path)
    return path
