"""Synthetic exports as real systems write them: title lines, blank rows, Excel cells."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from attendbot.samples.drafts import SheetDraft


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


def write_signin_xlsx(path: Path, sheets: Sequence[SheetDraft], program: str = "Sample IOP") -> Path:
    """One worksheet per session; a signature is whatever was typed into its cell."""
    wb = Workbook()
    wb.remove(wb.active)
    for n, draft in enumerate(sheets, 1):
        ws = wb.create_sheet(f"{draft.group[:24]} {n}")
        ws.append([f"{program} — Group Sign-In Sheet"])
        ws.append(["Group:", draft.group])
        ws.append(["Date:", draft.date])
        if draft.separate_times:
            ws.append(["Start Time:", draft.start])
            ws.append(["End Time:", draft.end])
        else:
            ws.append(["Time:", f"{draft.start} - {draft.end}"])
        ws.append(["Facilitator:", draft.facilitator])
        ws.append([])
        ws.append(["#", "Printed Name", "Signature", "Time In", "Time Out"])
        for i, line in enumerate(draft.lines, 1):
            signature = {None: None, "text": line.name, "image": f"/s/ {line.name}"}.get(line.signature, line.name)
            ws.append([i, line.name, signature, line.time_in, line.time_out])
        ws.append([])
        if draft.facilitator_signature != "no-field":
            ws.append(["Facilitator Signature:", draft.facilitator if draft.facilitator_signature else None])
        for col, width in zip("ABCDE", (22, 28, 28, 12, 12)):
            ws.column_dimensions[col].width = width
    wb.save(path)
    return path
