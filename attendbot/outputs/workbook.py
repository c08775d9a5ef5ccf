"""The audit workbook: one XLSX per reconciled day, for the billing lead.

Six sheets, each a plain table (bold frozen header row, auto-filter, widths from
content): Summary, Charges, Gaps, No-shows, Sessions, Sources. Every sheet is
declared once as a list of :class:`Column` (header, value function, format) and
written by the same loop.

Two things here are deliberate (see STYLE.md "Verified pitfalls"):

* Text from input files is written as text, never as a formula or an error.
  openpyxl turns a string starting with ``=`` into a formula and ``#N/A`` into an
  error cell; :func:`_put` forces every string cell back to the string type.
* The file is written to a temp file in the target folder and then moved into
  place with :func:`os.replace`, so a crash never leaves half a workbook under
  the final name. The file is readable by its owner only (it holds PHI).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from attendbot.codes import Disposition, GapCode
from attendbot.model import ChargeResult, DayResult, Evidence, FileReport, Gap

DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "h:mm AM/PM"
MONEY_FORMAT = '"$"#,##0.00'

MIN_WIDTH = 8
MAX_WIDTH = 60

#: What a gap code does to billing, in the words of the spec's "blocks billing" column.
BLOCKS_BILLING = {
    Disposition.READY: "no",
    Disposition.ADJUST: "adjust",
    Disposition.HOLD: "yes",
    Disposition.VOID: "void",
}

# Characters XML 1.0 cannot hold; openpyxl raises IllegalCharacterError on them.
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010\013\014\016-\037]")
_MAX_CELL_CHARS = 32767


def workbook_path(audit_dir: Path, day: dt.date) -> Path:
    """The spec's name for a day's workbook: ``<audit_dir>/<YYYY-MM-DD>-attendance-audit.xlsx``."""
    return Path(audit_dir) / f"{day.isoformat()}-attendance-audit.xlsx"


def dollars_at_risk(charge: ChargeResult) -> float:
    """The part of a charge's amount that will not be billed as scheduled.

    ``hold`` and ``void``: the whole amount. ``adjust``: the share of units the
    minutes do not support, ``amount * (units - supported_units) / units``.
    ``ready``, or no amount: 0.
    """
    amount = charge.charge.amount or 0.0
    disposition = charge.disposition
    if disposition in (Disposition.HOLD, Disposition.VOID):
        return amount
    if disposition == Disposition.ADJUST and charge.charge.units > 0:
        if charge.supported_units is None:  # unknown units put the whole amount at risk
            return amount
        missing = max(0, charge.charge.units - charge.supported_units)
        return amount * missing / charge.charge.units
    return 0.0


def write_workbook(result: DayResult, files: list[FileReport], path: Path, *, program: str = "") -> Path:
    """Write the audit workbook for one reconciled day to ``path``, atomically.

    Args:
        result: the day as reconciled.
        files: every inbox file this run saw (the Sources sheet).
        path: the final file name, chosen by the caller (see :func:`workbook_path`).
            Missing folders are created, readable by the owner only (0o700).
        program: the program's name, shown on the Summary sheet.

    Returns:
        ``path``. The file SHALL be complete or absent: it is written to a temp
        file in the same folder and moved into place with :func:`os.replace`.
        It has mode 0o600.

    Raises:
        OSError (or whatever the writer raised): nothing was written under
        ``path`` and the temp file is removed; an older file at ``path`` is kept.
    """
    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    for title, columns, rows in _sheets(result, files, program):
        _write_table(wb.create_sheet(title), columns, rows)
    _save_atomically(wb, path)
    return path


# --- table specs ------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, how to get its value from a row, how to show it."""

    header: str
    value: Callable[[Any], Any]
    number_format: str | None = None  # for numbers; dates and times get theirs from the type
    width: int | None = None  # fixed width, when sizing from content would be wrong


def _sheets(result: DayResult, files: Sequence[FileReport], program: str):
    """(title, columns, rows) for every sheet, in order."""
    return [
        ("Summary", SUMMARY, _summary_rows(result, files, program)),
        ("Charges", CHARGES, result.charges),
        ("Gaps", GAPS, result.gaps),
        ("No-shows", NO_SHOWS, result.no_shows),
        ("Sessions", SESSIONS, result.sessions),
        ("Sources", SOURCES, files),
    ]


def _item(i: int) -> Callable[[tuple], Any]:
    return lambda row: row[i]


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _evidence_text(ev: Evidence | None) -> str | None:
    """Evidence in one cell, with the full path (two days' folders may hold the same file name)."""
    return None if ev is None else ev.describe(full_path=True)


def _gap_codes(cr: ChargeResult) -> str:
    return ", ".join(dict.fromkeys(str(g.code) for g in cr.gaps))


def _ev(attr: str) -> Callable[[Gap], Any]:
    return lambda g: getattr(g.evidence, attr) if g.evidence is not None else None


SUMMARY: list[Column] = [
    Column("Section", _item(0)),
    Column("Item", _item(1)),
    Column("Detail", _item(2)),
    Column("Count", _item(3)),
    Column("Amount", _item(4), MONEY_FORMAT),
]

CHARGES: list[Column] = [
    Column("Charge ID", lambda c: c.charge.charge_id),
    Column("Date", lambda c: c.charge.service_date),
    Column("Patient ID", lambda c: c.charge.patient_id),
    Column("Patient name", lambda c: c.charge.patient_name),
    Column("Payer", lambda c: c.charge.payer),
    Column("Code", lambda c: c.charge.code),
    Column("Modifiers", lambda c: ", ".join(c.charge.modifiers)),
    Column("Units", lambda c: c.charge.units),
    Column("Supported units", lambda c: c.supported_units),
    Column("Session", lambda c: c.session_label or c.charge.session),
    Column("Disposition", lambda c: str(c.disposition)),
    Column("Gaps", _gap_codes),
    Column("Amount", lambda c: c.charge.amount, MONEY_FORMAT),
    Column("No-show fee", lambda c: c.no_show_fee, MONEY_FORMAT),
    Column("Source", lambda c: _evidence_text(c.charge.evidence)),
]

GAPS: list[Column] = [
    Column("Code", lambda g: str(g.code)),
    Column("Owner", lambda g: g.owner),
    Column("Blocks billing", lambda g: BLOCKS_BILLING[g.code.effect]),
    Column("Charge ID", lambda g: g.charge_id),
    Column("Patient ID", lambda g: g.patient_id),
    Column("Session", lambda g: g.session),
    Column("Message", lambda g: g.message),
    Column("File", _ev("file")),
    Column("Page", _ev("page")),
    Column("Sheet", _ev("sheet")),
    Column("Row", _ev("row")),
]

NO_SHOWS: list[Column] = [
    Column("Charge ID", lambda n: n.charge_id),
    Column("Patient ID", lambda n: n.patient_id),
    Column("Session", lambda n: n.session),
    Column("Payer", lambda n: n.payer),
    Column("Kind", lambda n: n.kind),
    Column("Policy", lambda n: n.policy),
    Column("Fee", lambda n: n.fee, MONEY_FORMAT),
]

SESSIONS: list[Column] = [
    Column("Session", lambda s: s.label),
    Column("Start", lambda s: s.start),
    Column("End", lambda s: s.end),
    Column("Facilitator", lambda s: s.facilitator),
    Column("Sign-in sheet", lambda s: _evidence_text(s.sheet)),
    Column("Charges", lambda s: s.charges),
    Column("Attendees", lambda s: s.attendees),
    Column("Signed lines", lambda s: s.signed_lines),
    Column("Sheet lines", lambda s: s.sheet_lines),
    Column("Minutes", lambda s: s.minutes),
]

SOURCES: list[Column] = [
    Column("Path", lambda f: f.path),
    Column("Kind", lambda f: f.kind),
    Column("Status", lambda f: f.status),
    Column("Detail", lambda f: f.detail),
    Column("SHA-256", lambda f: f.sha256, width=66),  # 64 hex digits, shown whole
    Column("Days", lambda f: ", ".join(f.days)),
    Column("Used for this day", lambda f: _yes_no(f.used_for_day)),
    Column("Quarantined to", lambda f: f.quarantined_to),
]


def _summary_rows(result: DayResult, files: Sequence[FileReport], program: str) -> list[tuple]:
    """The Summary sheet as one long table: (section, item, detail, count, amount).

    A long table rather than blocks of cells so that it has one header row and
    one filter, like every other sheet.
    """
    charges = result.charges

    def total(crs: Iterable[ChargeResult]) -> float:
        return round(sum(c.charge.amount or 0.0 for c in crs), 2)

    def with_disposition(d: Disposition) -> list[ChargeResult]:
        return [c for c in charges if c.disposition == d]

    rows: list[tuple] = [
        ("Program", "Name", program, None, None),
        ("Program", "Date", result.day, None, None),
        ("Program", "Charges", None, len(charges), total(charges)),
    ]
    for d in Disposition:
        crs = with_disposition(d)
        rows.append(("Disposition", str(d), None, len(crs), total(crs)))

    at_risk_total = 0.0
    for d in (Disposition.HOLD, Disposition.VOID, Disposition.ADJUST):
        crs = with_disposition(d)
        amount = round(sum(dollars_at_risk(c) for c in crs), 2)
        at_risk_total += amount
        rows.append(("Dollars at risk", str(d), None, len(crs), amount))
    at_risk_count = sum(1 for c in charges if c.disposition > Disposition.READY)
    rows.append(("Dollars at risk", "total", None, at_risk_count, round(at_risk_total, 2)))

    gap_counts = Counter(g.code for g in result.gaps)
    for code in GapCode:  # the spec's table order
        if gap_counts[code]:
            rows.append(("Gap", str(code), str(code.owner), gap_counts[code], None))

    by_payer: dict[tuple[str, Disposition], list[ChargeResult]] = {}
    for c in charges:
        by_payer.setdefault((c.charge.payer, c.disposition), []).append(c)
    for payer, d in sorted(by_payer, key=lambda k: (k[0].casefold(), k[1])):
        crs = by_payer[(payer, d)]
        rows.append(("Payer", payer, str(d), len(crs), total(crs)))

    for payer in result.unknown_payers:
        crs = [c for c in charges if c.charge.payer == payer]
        ids = ", ".join(c.charge.charge_id for c in crs)
        rows.append(("Unknown payer (defaults used)", payer, ids, len(crs), total(crs)))

    for status, n in sorted(Counter(f.status for f in files).items()):
        rows.append(("Files", status, None, n, None))
    return rows


# --- writing cells ----------------------------------------------------------


def _put(ws: Worksheet, row: int, column: int, value: Any, number_format: str | None = None) -> None:
    """Write one cell. Strings always stay strings: never a formula, never an error cell."""
    if value is None:
        return
    if isinstance(value, Enum):
        value = str(value)
    if isinstance(value, bool):
        value = _yes_no(value)
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = _ILLEGAL_CHARACTERS.sub("", str(value))[:_MAX_CELL_CHARS]
        cell.data_type = "s"  # openpyxl made "=..." a formula and "#N/A" an error: undo that
    elif isinstance(value, dt.datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = "yyyy-mm-dd h:mm"
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, dt.time):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = TIME_FORMAT
    else:
        cell.value = value
        if number_format:
            cell.number_format = number_format


def _shown_width(value: Any, number_format: str | None) -> int:
    """About how many characters Excel needs to show ``value``."""
    if value is None:
        return 0
    if isinstance(value, str):
        return max(len(line) for line in value.splitlines() or [""])
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, dt.time):
        return 8
    if number_format == MONEY_FORMAT and isinstance(value, (int, float)):
        return len(f"${value:,.2f}")
    return len(str(value))


_BOLD = Font(bold=True)


def _write_table(ws: Worksheet, columns: Sequence[Column], rows: Iterable[Any]) -> None:
    """Header row (bold, frozen), one row per item, an auto-filter, widths from content."""
    widths = [len(c.header) for c in columns]
    for j, column in enumerate(columns, start=1):
        _put(ws, 1, j, column.header)
        ws.cell(row=1, column=j).font = _BOLD
    n = 0
    for n, item in enumerate(rows, start=1):
        for j, column in enumerate(columns, start=1):
            value = column.value(item)
            _put(ws, n + 1, j, value, column.number_format)
            widths[j - 1] = max(widths[j - 1], _shown_width(value, column.number_format))
    for j, (column, width) in enumerate(zip(columns, widths), start=1):
        ws.column_dimensions[get_column_letter(j)].width = column.width or min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n + 1}"


# --- saving -----------------------------------------------------------------


def _make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parents with mode 0o700 (only those created here)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by someone else: not ours to chmod
            continue
        os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask


def _save_atomically(wb: Workbook, path: Path) -> None:
    """Save to a temp file next to ``path``, fsync, then ``os.replace``; clean up on any error."""
    _make_private_dirs(path.parent)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a run that was killed mid-save
        with contextlib.suppress(OSError):
            stale.unlink()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0o600
    os.close(fd)
    try:
        wb.save(tmp)
        os.chmod(tmp, 0o600)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable; not every platform can fsync a folder.
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
