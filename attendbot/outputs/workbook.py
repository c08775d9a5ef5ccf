"""The audit workbook: one XLSX per reconciled day, for the billing lead.

Sheets, in order: Summary (a dashboard: the day's status, headline figures, two
charts and small tables), Charges, Gaps, No-shows, Sessions, Scanned lines (on a
day with scanned sign-in sheets: each line, how its signature was judged and how
sure the reading is), Sources, Responses
(every answer given in Slack), Authorizations (when an authorizations export is on
file), Trends (the last business days in the ledger, with charts) and, only when
there is something to keep, Earlier notes. Every table sheet is declared
once as a list of :class:`Column` (header, value function, format, wrapping)
and written by the same loop; every sheet gets the same print setup
(:func:`_print_setup`: landscape, one page wide, header rows repeated, a footer
with program, date and "Page n of m").

The billing lead works the day in the Charges sheet's last two columns,
"Billing status" (a drop-down: to do / fixed / billed / written off) and
"Billing notes". A re-run replaces the workbook, so before it does, what the
lead typed there is read back from the previous file at the same path
(:func:`_read_lead_work`) and written again beside the same charge, matched by
charge id and patient id. Work on a charge that is no longer in the day's
charges is kept on the Earlier notes sheet, never dropped.

Things here that are deliberate (see STYLE.md "Verified pitfalls"):

* Text from input files is written as text, never as a formula or an error.
  openpyxl turns a string starting with ``=`` into a formula and ``#N/A`` into an
  error cell; :func:`_put` forces every string cell back to the string type.
  No formula or hyperlink is ever built from input text: the Gaps sheet's
  "Where" is plain text.
* The file is written to a temp file in the target folder and then moved into
  place with :func:`os.replace`, so a crash never leaves half a workbook under
  the final name. The file is readable by its owner only (it holds PHI).
* Nothing in the workbook depends on the clock, so two runs over the same
  inputs give the same cell values.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import re
import tempfile
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import openpyxl
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.series import DataPoint
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from attendbot import AUDIT_WORKBOOK_MARK
from attendbot.codes import Disposition, GapCode, Owner
from attendbot.ledger import gap_id
from attendbot.model import (AuthStatus, ChargeResult, DayResult, DayStatus, DayTrend, Evidence, FileReport, Gap,
                             Response, SessionSummary, SigninLine)
from attendbot.outputs.slack_actions import ANSWER_WORDS

log = logging.getLogger("attendbot.workbook")

DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "h:mm AM/PM"
MONEY_FORMAT = '"$"#,##0.00'

MIN_WIDTH = 8
MAX_WIDTH = 60
MESSAGE_WIDTH = 50  # a gap's message wraps at about this many characters
LINE_HEIGHT = 15  # points per line of 11-point text: the height given to rows of wrapped text
_MAX_ROW_HEIGHT = 409  # Excel's limit

#: What a gap code does to billing, in the words of the spec's "blocks billing" column.
BLOCKS_BILLING = {
    Disposition.READY: "no",
    Disposition.ADJUST: "adjust",
    Disposition.HOLD: "yes",
    Disposition.VOID: "void",
}

#: The spec's meaning of each disposition, shown beside it on the Summary.
DISPOSITION_MEANING = {
    Disposition.READY: "documented and billable as scheduled",
    Disposition.ADJUST: "billable with different units or as a different code",
    Disposition.HOLD: "do not submit until the listed gaps are resolved",
    Disposition.VOID: "not billable under the payer's policy (no-show, cancellation)",
}

#: (fill, font colour) per disposition: Excel's own Good / Neutral / Bad palette, and grey for void.
DISPOSITION_COLOURS = {
    Disposition.READY: ("C6EFCE", "006100"),
    Disposition.ADJUST: ("FFEB9C", "9C5700"),
    Disposition.HOLD: ("FFC7CE", "9C0006"),
    Disposition.VOID: ("D9D9D9", "404040"),
}

#: The billing lead's choices in the Charges sheet's "Billing status" column.
BILLING_STATUSES = ("to do", "fixed", "billed", "written off")
NEW_CHARGE_STATUS = "to do"
BILLING_STATUS = "Billing status"
BILLING_NOTES = "Billing notes"
EARLIER_NOTES = "Earlier notes"

# Characters XML 1.0 cannot hold; openpyxl raises IllegalCharacterError on them.
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010\013\014\016-\037]")
_MAX_CELL_CHARS = 32767
_MAX_FOOTER_PROGRAM = 80  # a footer holds 255 characters in all, codes included

_NO_CARC: Mapping[str, str] = MappingProxyType({})


#: (fill, font colour) of the Summary's day-status cell, per :class:`~attendbot.model.DayStatus` state.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "complete": DISPOSITION_COLOURS[Disposition.READY],
    "incomplete": DISPOSITION_COLOURS[Disposition.ADJUST],
    "not_business_day": ("DDEBF7", "1F4E78"),
    "nothing_checked": DISPOSITION_COLOURS[Disposition.HOLD],
}


def workbook_path(audit_dir: Path, day: dt.date) -> Path:
    """The spec's name for a day's workbook: ``<audit_dir>/<YYYY-MM-DD>-attendance-audit.xlsx``."""
    return Path(audit_dir) / f"{day.isoformat()}-attendance-audit.xlsx"


def write_workbook(
    result: DayResult,
    files: list[FileReport],
    path: Path,
    *,
    program: str = "",
    status: DayStatus | None = None,
    carc: Mapping[str, str] = _NO_CARC,
    trends: Sequence[DayTrend] = (),
    authorizations: Sequence[AuthStatus] = (),
    responses: Sequence[Response] = (),
) -> Path:
    """Write the audit workbook for one reconciled day to ``path``, atomically.

    What the billing lead typed in the previous workbook at ``path`` ("Billing
    status" and "Billing notes" on the Charges sheet, and the Earlier notes
    sheet) is carried over, by charge id and patient id. A previous file that is
    missing, damaged or not a workbook is logged and otherwise ignored.

    Args:
        result: the day as reconciled.
        files: every inbox file this run saw (the Sources sheet).
        path: the final file name, chosen by the caller (see :func:`workbook_path`).
            Missing folders are created, readable by the owner only (0o700).
        program: the program's name, shown on the Summary and in every page footer.
        status: how complete the day is (see :class:`DayStatus`); None shows
            ``complete``, so a caller that knows better must say so.
        carc: the likely denial reason if a gap goes out unfixed, by gap code:
            ``{"AUTH_MISSING": "197", "DUPLICATE_CHARGE": "18", ...}``. Keys are
            gap code values (``str(GapCode.X)``); values are Claim Adjustment
            Reason Codes as text, optionally with a short reason
            (``"197 — authorization absent"``), shown as given in the Gaps sheet's
            and the Summary's "Likely CARC if unfixed" column. A code with no
            entry shows an empty cell. The table belongs to configuration; the
            default is empty.
        trends: the last business days in the ledger, oldest first (the day itself
            last): the Trends sheet, with charts. Empty: the sheet shows the day alone.
        authorizations: each patient's authorization as of the day: the
            Authorizations sheet, left out when there are none.
        responses: every answer given in Slack to the day's alerts: the Responses sheet, and
            an "Answered in Slack" cell on each Gaps and Sessions row they concern.

    Returns:
        ``path``. The file SHALL be complete or absent: it is written to a temp
        file in the same folder and moved into place with :func:`os.replace`.
        It has mode 0o600.

    Raises:
        OSError (or whatever the writer raised): nothing was written under
        ``path`` and the temp file is removed; an older file at ``path`` is kept.
    """
    path = Path(path)
    status = status or DayStatus()
    lead_work, kept = _match_lead_work(result.charges, _read_lead_work(path))
    wb = Workbook()
    wb.remove(wb.active)
    _write_summary(wb.create_sheet("Summary"), result, files, program, status, carc)
    tables: list[tuple[str, Sequence[Column], Sequence[Any]]] = [
        ("Charges", _charge_columns(lead_work), result.charges),
        ("Gaps", [*_gap_columns(carc), _gap_answers(result.day, responses)], result.gaps),
        ("No-shows", NO_SHOWS, result.no_shows),
        ("Sessions", [*SESSIONS, _session_answers(responses)], result.sessions),
        ("Sources", SOURCES, files),
        (RESPONSES, RESPONSE_COLUMNS, list(responses)),
    ]
    scanned = scanned_lines(result)
    if scanned:  # right after the Sessions sheet: the lines of its scanned sheets
        tables.insert([title for title, _, _ in tables].index("Sessions") + 1, (SCANNED_LINES, SCANNED, scanned))
    if authorizations:
        tables.append((AUTHORIZATIONS, AUTHORIZATION_COLUMNS, authorizations))
    if kept:
        tables.append((EARLIER_NOTES, KEPT_NOTES, kept))
    for title, columns, rows in tables:
        ws = wb.create_sheet(title)
        n = _write_table(ws, columns, rows)
        _decorate(ws, title, columns, n)
    _write_trends(wb.create_sheet(TRENDS, index=wb.sheetnames.index(RESPONSES) + 1 + bool(authorizations)),
                  list(trends) or [_day_trend(result)])
    for ws in wb.worksheets:
        _print_setup(ws, program, result.day)
    _mark_as_ours(wb, result.day)
    _save_atomically(wb, path)
    return path


# --- the lead's own work, carried from one run to the next -------------------------


@dataclass(frozen=True)
class LeadWork:
    """What the billing lead typed beside one charge."""

    charge_id: str
    patient_id: str
    status: Any = None
    notes: Any = None
    patient_name: Any = None  # from the previous workbook, to recognise a kept note

    @property
    def typed(self) -> bool:
        """Anything beyond the untouched default: worth keeping even when the charge is gone."""
        return (self.status not in (None, NEW_CHARGE_STATUS)) or self.notes is not None


def _key_text(value: Any) -> str:
    """An id cell as text, the way it was written (Excel may have made ``1001`` a number)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _typed_text(value: Any) -> Any:
    """A cell the lead typed: None for empty, stripped text, other values as they are."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _read_lead_work(path: Path) -> list[LeadWork]:
    """The lead's status and notes in the workbook now at ``path``, in sheet order.

    Read from the Charges sheet, then the Earlier notes sheet, finding columns by
    their header so that a lead who sorted, filtered or moved columns loses
    nothing. A missing file gives nothing; so does one that cannot be read (logged).
    """
    if not path.is_file():
        return []
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # damaged, truncated, not a workbook at all: nothing to carry over
        log.warning("the previous audit workbook %s could not be read (%s: %s); "
                    "billing statuses and notes typed in it are not carried over",
                    path, type(exc).__name__, str(exc)[:200])
        return []
    work: list[LeadWork] = []
    try:
        for title in ("Charges", EARLIER_NOTES):
            if title in wb.sheetnames:
                work.extend(_lead_rows(wb[title]))
    except Exception as exc:
        log.warning("the previous audit workbook %s is damaged (%s: %s); "
                    "billing statuses and notes typed in it are not carried over",
                    path, type(exc).__name__, str(exc)[:200])
        return []
    finally:
        wb.close()
    return work


def _lead_rows(ws) -> Iterable[LeadWork]:
    rows = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    if "Charge ID" not in header or (BILLING_STATUS not in header and BILLING_NOTES not in header):
        return

    def column(name: str) -> Callable[[tuple], Any]:
        i = header.index(name) if name in header else None
        return lambda row: row[i] if i is not None and i < len(row) else None

    charge_id, patient_id = column("Charge ID"), column("Patient ID")
    status, notes, name = column(BILLING_STATUS), column(BILLING_NOTES), column("Patient name")
    for row in rows:
        if _key_text(charge_id(row)):
            yield LeadWork(_key_text(charge_id(row)), _key_text(patient_id(row)),
                           _typed_text(status(row)), _typed_text(notes(row)), name(row))


def _match_lead_work(charges: Sequence[ChargeResult],
                     previous: Iterable[LeadWork]) -> tuple[dict[int, LeadWork], list[LeadWork]]:
    """Give each charge the work typed beside it last time: by (charge id, patient id).

    Two charges with the same ids take the earlier entries in order. Returns
    (work by ``id()`` of the charge, typed work no charge of this run took).
    """
    pool: dict[tuple[str, str], deque[LeadWork]] = defaultdict(deque)
    for work in previous:
        pool[(work.charge_id, work.patient_id)].append(work)
    matched: dict[int, LeadWork] = {}
    for cr in charges:
        entries = pool.get((_key_text(cr.charge.charge_id), _key_text(cr.charge.patient_id)))
        if entries:
            matched[id(cr)] = entries.popleft()
    kept = [w for entries in pool.values() for w in entries if w.typed]
    return matched, kept


# --- table specs ------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, how to get its value from a row, how to show it."""

    header: str
    value: Callable[[Any], Any]
    number_format: str | None = None  # for numbers; dates and times get theirs from the type
    width: int | None = None  # fixed width, when sizing from content would be wrong
    wrap: bool = False  # long text wraps within the column (rows grow) instead of spilling over
    max_width: int = MAX_WIDTH


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def _evidence_text(ev: Evidence | None) -> str | None:
    """Evidence in one cell, with the full path (two days' folders may hold the same file name)."""
    return None if ev is None else ev.describe(full_path=True)


def _where(ev: Evidence | None) -> str | None:
    """Where to look, in words: ``signin.pdf, page 1, row 4``. Plain text: never a link or a formula."""
    return None if ev is None else ev.where()


def _gap_codes(cr: ChargeResult) -> str:
    return ", ".join(dict.fromkeys(str(g.code) for g in cr.gaps))


def _ev(attr: str) -> Callable[[Gap], Any]:
    return lambda g: getattr(g.evidence, attr) if g.evidence is not None else None


def _charge_columns(lead_work: Mapping[int, LeadWork]) -> list[Column]:
    def status(cr: ChargeResult) -> Any:
        work = lead_work.get(id(cr))
        return work.status if work is not None and work.status is not None else NEW_CHARGE_STATUS

    def notes(cr: ChargeResult) -> Any:
        work = lead_work.get(id(cr))
        return work.notes if work is not None else None

    return [
        Column("Charge ID", lambda c: c.charge.charge_id),
        Column("Date", lambda c: c.charge.service_date),
        Column("Patient ID", lambda c: c.charge.patient_id),
        Column("Patient name", lambda c: c.charge.patient_name, wrap=True, max_width=24),
        Column("Payer", lambda c: c.charge.payer, wrap=True, max_width=18),
        Column("Code", lambda c: c.charge.code),
        Column("Modifiers", lambda c: ", ".join(c.charge.modifiers)),
        Column("Units", lambda c: c.charge.units),
        Column("Supported units", lambda c: c.supported_units),
        Column("Supported code", lambda c: c.supported_code),
        Column("Session", lambda c: c.session_label or c.charge.session, wrap=True, max_width=22),
        Column("Disposition", lambda c: str(c.disposition)),
        Column("Gaps", _gap_codes, wrap=True, max_width=26),
        Column("Amount", lambda c: c.charge.amount, MONEY_FORMAT),
        Column("At risk", lambda c: round(c.dollars_at_risk, 2), MONEY_FORMAT),
        Column("No-show fee", lambda c: c.no_show_fee, MONEY_FORMAT),
        Column("Source", lambda c: _evidence_text(c.charge.evidence), wrap=True, max_width=28),
        Column(BILLING_STATUS, status, width=13),
        Column(BILLING_NOTES, notes, width=32, wrap=True),
    ]


#: The Charges sheet's columns kept frozen while the lead scrolls right: ids, date and name.
CHARGES_FROZEN = "E2"


def _gap_columns(carc: Mapping[str, str]) -> list[Column]:
    return [
        Column("Code", lambda g: str(g.code)),
        Column("Owner", lambda g: g.owner),
        Column("Blocks billing", lambda g: BLOCKS_BILLING[g.code.effect]),
        Column("Likely CARC if unfixed", lambda g: carc.get(str(g.code)), wrap=True, max_width=18),
        Column("Charge ID", lambda g: g.charge_id),
        Column("Patient ID", lambda g: g.patient_id),
        Column("Session", lambda g: g.session, wrap=True, max_width=20),
        Column("Message", lambda g: g.message, wrap=True, max_width=MESSAGE_WIDTH),
        Column("Where", lambda g: _where(g.evidence), wrap=True, max_width=28),
        Column("File", _ev("file"), wrap=True, max_width=26),
        Column("Page", _ev("page")),
        Column("Sheet", _ev("sheet")),
        Column("Row", _ev("row")),
    ]


NO_SHOWS: list[Column] = [
    Column("Charge ID", lambda n: n.charge_id),
    Column("Patient ID", lambda n: n.patient_id),
    Column("Session", lambda n: n.session, wrap=True, max_width=40),
    Column("Payer", lambda n: n.payer, wrap=True, max_width=30),
    Column("Kind", lambda n: n.kind),
    Column("Policy", lambda n: n.policy),
    Column("Fee", lambda n: n.fee, MONEY_FORMAT),
]

#: How a session's sign-in sheet was read (:attr:`SessionSummary.read_by`): as a digital file's own text
#: and strokes, by OCR of a scan, or from a scanned attendbot roster known by its QR mark.
READ_BY = {None: "text", "ocr": "OCR scan", "roster": "printed roster (QR)"}


def _read_by(s: SessionSummary) -> str | None:
    return READ_BY.get(s.read_by, s.read_by) if s.sheet is not None else None


SESSIONS: list[Column] = [
    Column("Session", lambda s: s.label, wrap=True, max_width=40),
    Column("Start", lambda s: s.start),
    Column("End", lambda s: s.end),
    Column("Facilitator", lambda s: s.facilitator, wrap=True, max_width=30),
    Column("Sign-in sheet", lambda s: _evidence_text(s.sheet), wrap=True, max_width=50),
    Column("Sheet read by", _read_by),
    Column("Charges", lambda s: s.charges),
    Column("Attendees", lambda s: s.attendees),
    Column("Signed lines", lambda s: s.signed_lines),
    Column("Sheet lines", lambda s: s.sheet_lines),
    Column("Minutes", lambda s: s.minutes),
]

SCANNED_LINES = "Scanned lines"
#: The Scanned lines sheet's "Signature" for a box the scan could not judge (SCAN_UNCERTAIN): held.
NOT_JUDGED = "not judged: counted unsigned"


@dataclass(frozen=True)
class ScannedLine:
    """One row of the Scanned lines sheet: a sheet line read from a scan, and what it is to the day."""

    session: SessionSummary
    line: SigninLine
    charges: tuple[str, ...]  # the charges whose patient's line it is
    doubtful: bool  # a SCAN_UNCERTAIN names its row: the signature box was not judged


def scanned_lines(result: DayResult) -> list[ScannedLine]:
    """Every line of the day's scanned sheets, session by session, in sheet order."""
    doubts = {g.evidence for g in result.gaps if g.code is GapCode.SCAN_UNCERTAIN}
    rows = []
    for summary in result.sessions:
        for line in summary.scanned_lines:
            charges = tuple(cid for cid, ev in summary.lines.items() if ev == line.evidence)
            rows.append(ScannedLine(summary, line, charges, line.evidence in doubts))
    return rows


def _signature(r: ScannedLine) -> str:
    return NOT_JUDGED if r.doubtful else "signed" if r.line.signed else "not signed"


SCANNED: list[Column] = [
    Column("Session", lambda r: r.session.label, wrap=True, max_width=30),
    Column("Sheet read by", lambda r: _read_by(r.session)),
    Column("Where", lambda r: _where(r.line.evidence), wrap=True, max_width=28),
    Column("Printed name (as read)", lambda r: r.line.printed_name, wrap=True, max_width=24),
    Column("Charge ID", lambda r: ", ".join(r.charges) or None, wrap=True, max_width=20),
    Column("Signature", _signature, wrap=True, max_width=18),
    Column("Confidence", lambda r: r.line.confidence, "0%"),
]

SOURCES: list[Column] = [
    Column("Path", lambda f: f.path, wrap=True, max_width=36),
    Column("Kind", lambda f: f.kind),
    Column("Status", lambda f: f.status),
    Column("Detail", lambda f: f.detail, wrap=True, max_width=40),
    Column("SHA-256", lambda f: f.sha256, width=34, wrap=True),  # 64 hex digits, shown whole on two lines
    Column("Days", lambda f: ", ".join(f.days), wrap=True, max_width=24),
    Column("Used for this day", lambda f: _yes_no(f.used_for_day)),
    Column("Quarantined to", lambda f: f.quarantined_to, wrap=True, max_width=30),
]

KEPT_NOTES: list[Column] = [
    Column("Charge ID", lambda w: w.charge_id),
    Column("Patient ID", lambda w: w.patient_id),
    Column("Patient name", lambda w: w.patient_name, max_width=30),
    Column(BILLING_STATUS, lambda w: w.status, width=14),
    Column(BILLING_NOTES, lambda w: w.notes, width=40, wrap=True),
    Column("Why it is here", lambda w: "typed beside a charge that this run no longer has for the day "
                                       "(gone from the charge export, or its id changed)", width=40, wrap=True),
]


RESPONSES = "Responses"
ANSWERED = "Answered in Slack"


def _answered_at(r: Response) -> Any:
    """When an answer was given, as the program's local time (Excel has no time zones)."""
    try:
        return dt.datetime.fromisoformat(r.at).replace(tzinfo=None)
    except (TypeError, ValueError):
        return r.at


def _clock_cell(value: str | None) -> Any:
    try:
        return dt.time.fromisoformat(value) if value else None
    except ValueError:
        return value


def _who(r: Response) -> str:
    return f"{r.by_name} ({r.by})" if r.by_name else r.by


RESPONSE_COLUMNS: list[Column] = [
    Column("Answered at", _answered_at),
    Column("By", _who, wrap=True, max_width=28),
    Column("Answer", lambda r: ANSWER_WORDS.get(r.answer, r.answer)),
    Column("Session", lambda r: r.session, wrap=True, max_width=30),
    Column("Gap", lambda r: r.gap_code),
    Column("Charge ID", lambda r: r.charge_id),
    Column("Detail", lambda r: r.detail, wrap=True, max_width=MESSAGE_WIDTH),
    Column("Attested time out", lambda r: _clock_cell(r.attested_time)),
    Column("Time out on the sheet", lambda r: _clock_cell(r.sheet_time)),
]


def _said(r: Response) -> str:
    at = _answered_at(r)
    when = f"{at:%H:%M}" if isinstance(at, dt.datetime) else str(at)
    detail = f": {r.detail}" if r.answer in ("left_early", "note") and r.detail else ""
    return f"{ANSWER_WORDS.get(r.answer, r.answer)} — {r.by_name or r.by}, {when}{detail}"


def _gap_answers(day: dt.date, responses: Sequence[Response]) -> Column:
    """The answers covering each gap (by the ledger's gap id), oldest first."""
    def value(g: Gap) -> str | None:
        gid = gap_id(day, g)
        said = [_said(r) for r in responses if gid in r.gap_ids and r.answer != "note"]
        return "; ".join(said) or None

    return Column(ANSWERED, value, wrap=True, max_width=40)


def _session_answers(responses: Sequence[Response]) -> Column:
    """The answers and thread notes given on each session's alert."""
    def value(s: Any) -> str | None:
        said = [_said(r) for r in responses if r.session == s.label]
        return "; ".join(said) or None

    return Column(ANSWERED, value, wrap=True, max_width=50)


# --- across days: authorizations and trends ----------------------------------------

AUTHORIZATIONS = "Authorizations"
TRENDS = "Trends"


def _auth_flag(a: AuthStatus) -> str:
    """What needs doing about the authorization, worst first; "" when nothing does."""
    if a.state == "expired":
        return "expired"
    if a.state == "not started":
        return "not started"
    if a.units_left is not None and a.units_left < 0:
        return "over units"
    if a.review == "overdue":
        return "review overdue"
    if a.units_left == 0:
        return "no units left"
    if a.review == "due":
        return "review due"
    return ""


#: (fill, font) per flag of the Authorizations sheet: what blocks billing red, what is due yellow.
AUTH_FLAG_COLOURS = {
    "expired": DISPOSITION_COLOURS[Disposition.HOLD],
    "not started": DISPOSITION_COLOURS[Disposition.HOLD],
    "over units": DISPOSITION_COLOURS[Disposition.HOLD],
    "review overdue": DISPOSITION_COLOURS[Disposition.HOLD],
    "no units left": DISPOSITION_COLOURS[Disposition.ADJUST],
    "review due": DISPOSITION_COLOURS[Disposition.ADJUST],
}

AUTHORIZATION_COLUMNS: list[Column] = [
    Column("Patient ID", lambda a: a.patient_id),
    Column("Payer", lambda a: a.payer, wrap=True, max_width=18),
    Column("Auth #", lambda a: a.auth_number),
    Column("Codes", lambda a: ", ".join(a.codes), wrap=True, max_width=18),
    Column("Start", lambda a: a.start),
    Column("End", lambda a: a.end),
    Column("State", lambda a: a.state),
    Column("Units authorized", lambda a: a.units_authorized),
    Column("Used as of file", lambda a: a.units_used),
    Column("Billed since", lambda a: a.units_billed_since),
    Column("Today", lambda a: a.units_today),
    Column("Units left after today", lambda a: a.units_left),
    Column("Next review", lambda a: a.next_review),
    Column("Needs", _auth_flag, max_width=16),
]


def _day_trend(result: DayResult) -> DayTrend:
    """The day alone, as a trend row (a caller with no ledger history)."""
    gaps = Counter(str(g.code) for g in result.gaps)
    held: dict[str, int] = defaultdict(int)
    at_risk: dict[str, float] = defaultdict(float)
    for c in result.charges:
        held[c.charge.payer] += c.disposition == Disposition.HOLD
        at_risk[c.charge.payer] += c.dollars_at_risk
    kinds = Counter(n.kind for n in result.no_shows)
    return DayTrend(result.day, dict(gaps), dict(held), {p: round(v, 2) for p, v in at_risk.items()},
                    kinds["no_show"], kinds["late_cancel"])


#: The Trends sheet names this many gap codes and payers, the most frequent over the window;
#: the rest are summed in an "Other" column (the sheet prints one page wide).
TREND_TOP_CODES = 8
TREND_TOP_PAYERS = 6
_TREND_COLUMN_WIDTH = 12  # long gap codes wrap in the header
_TREND_CHART_ROWS = 16  # rows a chart takes under its table
_TREND_INTRO = ("The last {n} business day{s} the ledger has reconciled, to {day}, as the ledger has them now: "
                "open gaps, charges on hold and dollars at risk, no-shows. A chart follows each table.")


@dataclass(frozen=True)
class _TrendTable:
    """One table of the Trends sheet: a title, columns after the date, and its chart."""

    title: str
    headers: list[str]
    values: Callable[[DayTrend], list[Any]]
    number_format: str | None
    chart: str  # stacked | line | clustered
    y_title: str
    total: bool  # the last column is a total, left out of the chart


def _top(counts: Mapping[str, float], n: int, order: Sequence[str] | None = None) -> list[str]:
    """The ``n`` keys with the largest totals (ties in ``order``, else alphabetical), in that order."""
    keys = [k for k in (order or sorted(counts, key=str.casefold)) if counts.get(k)]
    return sorted(keys, key=lambda k: -counts[k])[:n]


def _trend_tables(rows: Sequence[DayTrend]) -> list[_TrendTable]:
    code_totals: Counter = Counter()
    held_totals: Counter = Counter()
    risk_totals: dict[str, float] = defaultdict(float)
    for r in rows:
        code_totals.update(r.gaps)
        held_totals.update(r.held)
        for p, v in r.at_risk.items():
            risk_totals[p] += v
    spec_order = [str(c) for c in GapCode] + sorted(set(code_totals) - {str(c) for c in GapCode})
    codes = _top(code_totals, TREND_TOP_CODES, spec_order)
    codes = [c for c in spec_order if c in codes]
    payer_totals = {p: held_totals.get(p, 0) + risk_totals.get(p, 0.0) for p in {*held_totals, *risk_totals}}
    payers = sorted(_top(payer_totals, TREND_TOP_PAYERS), key=str.casefold)

    def split(keys: list[str], other: str, of: Callable[[DayTrend], Mapping[str, float]]):
        """Headers (the keys, and ``other`` when anything falls outside them) and a row function."""
        extra = any(v for r in rows for k, v in of(r).items() if k not in keys)

        def row(r: DayTrend) -> list[Any]:
            got = of(r)
            rest = [sum(v for k, v in got.items() if k not in keys)] if extra else []
            return [got.get(k, 0) for k in keys] + rest
        return keys + ([other] if extra else []), row

    gap_headers, gap_row = split(codes, "Other codes", lambda r: r.gaps)
    held_headers, held_row = split(payers, "Other payers", lambda r: r.held)
    risk_headers, risk_row = split(payers, "Other payers", lambda r: r.at_risk)
    return [
        _TrendTable("Open gaps per day, by code", gap_headers + ["Open gaps"],
                    lambda r: gap_row(r) + [sum(r.gaps.values())], None, "stacked", "Gaps", True),
        _TrendTable("Charges on hold per day, by payer", held_headers + ["On hold"],
                    lambda r: held_row(r) + [sum(r.held.values())], None, "stacked", "Charges", True),
        _TrendTable("Dollars at risk per day, by payer", risk_headers + ["At risk"],
                    lambda r: [round(v, 2) for v in risk_row(r)] + [round(sum(r.at_risk.values()), 2)],
                    MONEY_FORMAT, "line", "Dollars", True),
        _TrendTable("No-shows and late cancellations per day", ["No-shows", "Late cancellations"],
                    lambda r: [r.no_shows, r.late_cancels], None, "clustered", "Patients", False),
    ]


def _write_trends(ws: Worksheet, rows: Sequence[DayTrend]) -> None:
    """The Trends sheet: an intro line, then one table per measure (a row a day, oldest first),
    each followed by its native Excel chart. The first table carries the sheet's filter."""
    tables = _trend_tables(rows)
    last_day = rows[-1].day if rows else None
    _put(ws, 1, 1, _TREND_INTRO.format(n=len(rows), s="" if len(rows) == 1 else "s", day=last_day))
    ws.cell(row=1, column=1).font = _MUTED_FONT
    width = max(len(t.headers) for t in tables) + 1
    ws.column_dimensions["A"].width = 12
    for j in range(2, width + 1):
        ws.column_dimensions[get_column_letter(j)].width = _TREND_COLUMN_WIDTH
    top = 3
    for i, table in enumerate(tables):
        _put(ws, top, 1, table.title)
        ws.cell(row=top, column=1).font = _BLOCK_FONT
        header_row = top + 1
        headers = ["Date", *table.headers]
        for j, header in enumerate(headers, start=1):
            _put(ws, header_row, j, header)
            cell = ws.cell(row=header_row, column=j)
            cell.font, cell.fill, cell.border, cell.alignment = _BOLD, _HEADER_FILL, _UNDERLINE, _HEADER_ALIGNMENT
        lines = max(_wrapped_lines(h, _TREND_COLUMN_WIDTH) for h in headers)
        ws.row_dimensions[header_row].height = min(lines * LINE_HEIGHT, _MAX_ROW_HEIGHT)
        for n, trend in enumerate(rows, start=header_row + 1):
            _put(ws, n, 1, trend.day)
            for j, value in enumerate(table.values(trend), start=2):
                _put(ws, n, j, value, table.number_format)
        last = header_row + len(rows)
        if i == 0:
            ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(headers))}{max(last, header_row + 1)}"
        series = len(table.headers) - (1 if table.total else 0) or 1  # nothing to split: the total alone
        chart_top = last + 2
        if rows and series:
            ws.add_chart(_trend_chart(ws, table, header_row, last, series), f"A{chart_top}")
        top = chart_top + _TREND_CHART_ROWS + 2
    ws.freeze_panes = "A2"


def _trend_chart(ws: Worksheet, table: _TrendTable, header_row: int, last: int, series: int):
    """A native chart of one Trends table: the series are its columns (totals left out), the days its categories."""
    chart = LineChart() if table.chart == "line" else BarChart()
    if table.chart != "line":
        chart.type = "col"
        chart.grouping = table.chart
        if table.chart == "stacked":
            chart.overlap = 100
    chart.title = table.title
    chart.y_axis.title = table.y_title
    chart.add_data(Reference(ws, min_col=2, max_col=1 + series, min_row=header_row, max_row=last),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last))
    chart.x_axis.number_format = "mm-dd"
    chart.x_axis.delete = False  # without these, recent Excel draws the charts with no axes
    chart.y_axis.delete = False
    if table.number_format == MONEY_FORMAT:
        chart.y_axis.number_format = '"$"#,##0'
    for line in chart.series:
        line.smooth = False  # a day's figure is a point, not a curve
    chart.width = max(12.0, min(24.0, (12 + _TREND_COLUMN_WIDTH * (series + 2)) * 0.19))
    chart.height = _TREND_CHART_ROWS * 0.5
    chart.legend.position = "r"
    return chart


def _decorate(ws: Worksheet, title: str, columns: Sequence[Column], n: int) -> None:
    """What a sheet has beyond the plain table: colours, drop-downs, frozen id columns."""
    headers = [c.header for c in columns]
    last_row = max(n + 1, 2)
    last_col = get_column_letter(len(columns))

    def letter(header: str) -> str:
        return get_column_letter(headers.index(header) + 1)

    if title == AUTHORIZATIONS:
        _colour_rows(ws, f"A2:{last_col}{last_row}", letter("Needs"), AUTH_FLAG_COLOURS)
    if title == SCANNED_LINES:
        _colour_rows(ws, f"A2:{last_col}{last_row}", letter("Signature"),
                     {NOT_JUDGED: DISPOSITION_COLOURS[Disposition.HOLD]})
    if title == "Charges":
        ws.freeze_panes = CHARGES_FROZEN
        _colour_rows(ws, f"A2:{last_col}{last_row}", letter("Disposition"),
                     {str(d): DISPOSITION_COLOURS[d] for d in Disposition})
    elif title == "Gaps":
        _colour_rows(ws, f"A2:{last_col}{last_row}", letter("Blocks billing"),
                     {BLOCKS_BILLING[d]: DISPOSITION_COLOURS[d] for d in Disposition if d != Disposition.READY})
    if title in ("Charges", EARLIER_NOTES):
        status = letter(BILLING_STATUS)
        choices = DataValidation(
            type="list", formula1='"' + ",".join(BILLING_STATUSES) + '"', allow_blank=True,
            showErrorMessage=True, errorStyle="warning", errorTitle="Billing status",
            error="Choose one of: " + ", ".join(BILLING_STATUSES),
            showInputMessage=True, promptTitle="Billing status", prompt="Your own status for this charge; "
            "the next run keeps it.")
        choices.add(f"{status}2:{status}{last_row}")
        ws.add_data_validation(choices)
        for cell in ws[f"{letter(BILLING_STATUS)}1:{letter(BILLING_NOTES)}1"][0]:
            cell.fill = _LEAD_HEADER_FILL


def _colour_rows(ws: Worksheet, cells: str, key_column: str, colours: Mapping[str, tuple[str, str]]) -> None:
    """Colour each row of ``cells`` by the value in its ``key_column`` (conditional formats)."""
    first_row = int(re.search(r"\d+", cells).group())
    for value, (fill, font) in colours.items():
        ws.conditional_formatting.add(cells, FormulaRule(
            formula=[f'${key_column}{first_row}="{value}"'],
            fill=PatternFill(fill_type="solid", start_color=fill, end_color=fill),
            font=Font(color=font)))


# --- the Summary dashboard --------------------------------------------------------


_TITLE_FONT = Font(bold=True, size=14)
_BLOCK_FONT = Font(bold=True, size=12)
_KPI_FONT = Font(bold=True, size=16)
_MUTED_FONT = Font(italic=True, color="595959")
_HEADER_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
_LEAD_HEADER_FILL = PatternFill(fill_type="solid", start_color="FFF2CC", end_color="FFF2CC")
_UNDERLINE = Border(bottom=Side(style="thin"))
_TOTAL_LINE = Border(top=Side(style="thin"))
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Summary rows: 1 title, 2 day status (both frozen and printed on every page), 4-6 headline figures.
SUMMARY_FROZEN = "A3"
_KPI_ROW = 4
_CHART_ROW = 8
_CHART_ROWS = 17  # rows left free for the charts
_SUMMARY_COLUMNS = 6
_SUMMARY_MIN_WIDTH = 14
_SUMMARY_MAX_WIDTH = 32  # the longest gap code, unwrapped


@dataclass
class _Block:
    """Where one Summary table landed: its header row and its data rows."""

    header_row: int
    first_row: int
    last_row: int  # == header_row when the table has no rows


def _fill(colour: str) -> PatternFill:
    return PatternFill(fill_type="solid", start_color=colour, end_color=colour)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _write_summary(ws: Worksheet, result: DayResult, files: Sequence[FileReport], program: str,
                   status: DayStatus, carc: Mapping[str, str]) -> None:
    """The day on one screen: status, six headline figures, two charts, then the tables behind them."""
    charges = result.charges
    day = result.day
    by_disposition = {d: [c for c in charges if c.disposition == d] for d in Disposition}

    def total(crs: Iterable[ChargeResult]) -> float:
        return round(sum(c.charge.amount or 0.0 for c in crs), 2)

    def at_risk(crs: Iterable[ChargeResult]) -> float:
        return round(sum(c.dollars_at_risk for c in crs), 2)

    title = f"{program} — " if program else ""
    _put(ws, 1, 1, f"{title}attendance audit for {_WEEKDAYS[day.weekday()]} {day.isoformat()}")
    ws.cell(row=1, column=1).font = _TITLE_FONT
    _put(ws, 2, 1, "Day status")
    ws.cell(row=2, column=1).font = _BOLD
    _put(ws, 2, 2, status.label)
    fill, font = STATUS_COLOURS[status.state]
    ws.cell(row=2, column=2).fill = _fill(fill)
    ws.cell(row=2, column=2).font = Font(bold=True, color=font)
    _put(ws, 2, 3, status.note)
    ws.cell(row=2, column=3).alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=2, start_column=3, end_row=2, end_column=_SUMMARY_COLUMNS)

    fees = [n for n in result.no_shows if n.policy == "fee" and n.fee]
    at_risk_crs = [c for c in charges if c.disposition > Disposition.READY]
    blocking = [g for g in result.gaps if g.code.effect == Disposition.HOLD]
    held = by_disposition[Disposition.HOLD]
    kpis = [
        ("Charges", len(charges), None, f"{_money(total(charges))} scheduled"),
        ("Ready to bill", total(by_disposition[Disposition.READY]), MONEY_FORMAT,
         _plural(len(by_disposition[Disposition.READY]), "charge")),
        ("Dollars at risk", at_risk(charges), MONEY_FORMAT,
         f"{_plural(len(at_risk_crs), 'charge')} held, adjusted or void"),
        ("Charges held", len(held), None, f"{_money(total(held))} held"),
        ("No-show fees to bill", round(sum(n.fee for n in fees), 2), MONEY_FORMAT, _plural(len(fees), "fee")),
        ("Gaps blocking billing", len(blocking), None, f"of {_plural(len(result.gaps), 'gap')} in all"),
    ]
    for j, (label, value, number_format, detail) in enumerate(kpis, start=1):
        _put(ws, _KPI_ROW, j, label)
        cell = ws.cell(row=_KPI_ROW, column=j)
        cell.font, cell.fill, cell.alignment = _BOLD, _HEADER_FILL, _WRAP
        _put(ws, _KPI_ROW + 1, j, value, number_format)
        cell = ws.cell(row=_KPI_ROW + 1, column=j)
        cell.font, cell.alignment = _KPI_FONT, Alignment(horizontal="left", vertical="center")
        _put(ws, _KPI_ROW + 2, j, detail)
        cell = ws.cell(row=_KPI_ROW + 2, column=j)
        cell.font, cell.alignment = _MUTED_FONT, _WRAP
    ws.row_dimensions[_KPI_ROW + 1].height = 24

    tables = _Tables(ws, _CHART_ROW + _CHART_ROWS + 1)
    dispositions = tables.add(
        "Charges by disposition", ["Disposition", "Charges", "Amount", "Dollars at risk", "Meaning"],
        [(str(d), len(by_disposition[d]), total(by_disposition[d]), at_risk(by_disposition[d]),
          DISPOSITION_MEANING[d]) for d in Disposition],
        [None, None, MONEY_FORMAT, MONEY_FORMAT, None],
        total_row=("Total", len(charges), total(charges), at_risk(charges), None))
    for i, d in enumerate(Disposition):
        colour, font = DISPOSITION_COLOURS[d]
        ws.cell(row=dispositions.first_row + i, column=1).fill = _fill(colour)
        ws.cell(row=dispositions.first_row + i, column=1).font = Font(color=font)

    no_show_rows = []
    for payer in sorted({n.payer for n in result.no_shows}, key=str.casefold):
        mine = [n for n in result.no_shows if n.payer == payer]
        mine_fees = [n for n in mine if n.policy == "fee" and n.fee]
        no_show_rows.append((payer, sum(n.kind == "no_show" for n in mine), sum(n.kind == "late_cancel" for n in mine),
                             len(mine_fees), round(sum(n.fee for n in mine_fees), 2)))
    tables.add(
        "No-shows and late cancellations", ["Payer", "No-shows", "Late cancels", "Fees to bill", "Fee amount"],
        no_show_rows, [None, None, None, None, MONEY_FORMAT], empty="No no-shows or late cancellations",
        total_row=("Total", sum(r[1] for r in no_show_rows), sum(r[2] for r in no_show_rows), len(fees),
                   round(sum(n.fee for n in fees), 2)) if no_show_rows else None)

    owner_rows = []
    for owner in Owner:
        gaps = [g for g in result.gaps if g.code.owner == owner]
        affected = sum(1 for c in charges if any(g.code.owner == owner for g in c.gaps))
        owner_rows.append((str(owner), len(gaps), sum(g.code.effect == Disposition.HOLD for g in gaps), affected))
    owners = tables.add(
        "Gaps by owner", ["Owner", "Gaps", "Blocking billing", "Charges affected"], owner_rows,
        total_row=("Total", len(result.gaps), len(blocking),
                   sum(1 for c in charges if c.gaps)))

    facilitators = {s.label: s.facilitator for s in result.sessions}
    sessions: dict[str, list[ChargeResult]] = {}
    for c in charges:
        sessions.setdefault(c.session_label or c.charge.session or "", []).append(c)
    session_rows = []
    for label, crs in sessions.items():
        held_here = [c for c in crs if c.disposition == Disposition.HOLD]
        session_rows.append((label or "(no session)", facilitators.get(label), len(held_here), total(held_here),
                             len(crs)))
    session_rows.sort(key=lambda r: (-r[2], -r[3], r[0].casefold()))
    tables.add(
        "Held charges by session", ["Session", "Facilitator", "Held", "Amount held", "Charges"],
        session_rows, [None, None, None, MONEY_FORMAT, None], empty="No charges",
        total_row=("Total", None, len(held), total(held), len(charges)) if session_rows else None)

    unknown = set(result.unknown_payers)
    seen = dict.fromkeys([c.charge.payer for c in charges] + [n.payer for n in result.no_shows])
    payer_rows = []
    for payer in sorted(seen, key=lambda p: (p or "").casefold()):
        crs = [c for c in charges if c.charge.payer == payer]
        payer_rows.append((payer, _section_of(payer, result, unknown), len(crs), total(crs), at_risk(crs),
                           "no section matched: [defaults] rules used" if payer in unknown else None))
    payer_block = tables.add(
        "Payers, and the payers.toml section each ran under",
        ["Payer (as written)", "Section", "Charges", "Amount", "Dollars at risk", "Note"],
        payer_rows, [None, None, None, MONEY_FORMAT, MONEY_FORMAT, None], empty="No payers")
    for i, r in enumerate(payer_rows):
        if r[0] in unknown:
            ws.cell(row=payer_block.first_row + i, column=6).fill = _fill(DISPOSITION_COLOURS[Disposition.ADJUST][0])

    file_rows = sorted(Counter(f.status for f in files).items())
    tables.add("Files", ["Status", "Files"], file_rows, empty="No files",
               total_row=("Total", len(files)) if file_rows else None)

    code_counts = Counter(g.code for g in result.gaps)
    code_rows = []
    for code in GapCode:  # the spec's table order
        if code_counts[code]:
            affected = sum(1 for c in charges if any(g.code == code for g in c.gaps))
            code_rows.append((str(code), str(code.owner), BLOCKS_BILLING[code.effect], code_counts[code], affected,
                              carc.get(str(code))))
    codes = tables.add(
        "Gaps by code", ["Code", "Owner", "Blocks billing", "Gaps", "Charges", "Likely CARC if unfixed"],
        code_rows, empty="No gaps")
    # The last table holds the sheet's one filter, so filtering it hides none of the others.
    last = max(codes.last_row, codes.header_row + 1)  # with no gaps, the "No gaps" row
    ws.auto_filter.ref = f"A{codes.header_row}:{get_column_letter(_SUMMARY_COLUMNS)}{last}"

    widths = tables.size_columns()
    for r in (_KPI_ROW, _KPI_ROW + 2):
        lines = max(_wrapped_lines(ws.cell(row=r, column=j).value, widths[j - 1]) for j in range(1, len(kpis) + 1))
        ws.row_dimensions[r].height = lines * LINE_HEIGHT
    ws.row_dimensions[2].height = min(_wrapped_lines(status.note, sum(widths[2:])) * LINE_HEIGHT, _MAX_ROW_HEIGHT)
    _add_charts(ws, dispositions, owners, widths)
    ws.freeze_panes = SUMMARY_FROZEN


def _section_of(payer: str, result: DayResult, unknown: set[str]) -> str:
    """The ``payers.toml`` section a payer name ran under: ``payers.<name>``, or ``defaults``."""
    if payer in result.payer_sections:
        section = result.payer_sections[payer]
        return f"payers.{section}" if section else "defaults"
    return "defaults" if payer in unknown else "a payers.toml section"


class _Tables:
    """The Summary's small tables, one under another from ``row``."""

    def __init__(self, ws: Worksheet, row: int):
        self.ws = ws
        self.row = row
        self.title_rows: list[int] = []
        self.text_rows: list[int] = []  # header and data rows, whose text wraps

    def add(self, title: str, headers: Sequence[str], rows: Sequence[tuple],
            formats: Sequence[str | None] = (), *, empty: str | None = None,
            total_row: tuple | None = None) -> _Block:
        """A title, a header row, the rows (or ``empty`` in grey), an optional bold total row."""
        ws = self.ws
        self.title_rows.append(self.row)
        _put(ws, self.row, 1, title)
        ws.cell(row=self.row, column=1).font = _BLOCK_FONT
        header_row = self.row + 1
        for j, header in enumerate(headers, start=1):
            _put(ws, header_row, j, header)
            cell = ws.cell(row=header_row, column=j)
            cell.font, cell.fill, cell.border = _BOLD, _HEADER_FILL, _UNDERLINE
            cell.alignment = _WRAP
        self.text_rows.append(header_row)

        def number_format(j: int) -> str | None:
            return formats[j - 1] if j <= len(formats) else None

        r = header_row
        for r, values in enumerate(rows, start=header_row + 1):
            for j, value in enumerate(values, start=1):
                _put(ws, r, j, value, number_format(j))
                ws.cell(row=r, column=j).alignment = _WRAP
            self.text_rows.append(r)
        block = _Block(header_row, header_row + 1, r)
        if not rows and empty:
            r += 1
            _put(ws, r, 1, empty)
            ws.cell(row=r, column=1).font = _MUTED_FONT
        if total_row is not None:
            r += 1
            for j, value in enumerate(total_row, start=1):
                _put(ws, r, j, value, number_format(j))
                ws.cell(row=r, column=j).font = _BOLD
                ws.cell(row=r, column=j).border = _TOTAL_LINE
        self.row = r + 2
        return block

    def size_columns(self) -> list[float]:
        """Widths from the tables' cells (not their titles, which spill over); longer text wraps."""
        widths = [float(_SUMMARY_MIN_WIDTH)] * _SUMMARY_COLUMNS
        first = min(self.title_rows, default=self.row)
        skip = set(self.title_rows)
        for row in self.ws.iter_rows(min_row=first, max_col=_SUMMARY_COLUMNS):
            for cell in row:
                if cell.row in skip or cell.value is None:
                    continue
                money = MONEY_FORMAT if cell.number_format == MONEY_FORMAT else None
                widths[cell.column - 1] = max(widths[cell.column - 1],
                                              min(_shown_width(cell.value, money) + 2, _SUMMARY_MAX_WIDTH))
        for j, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(j)].width = width
        for r in self.text_rows:
            lines = max(_wrapped_lines(self.ws.cell(row=r, column=j).value, widths[j - 1])
                        for j in range(1, _SUMMARY_COLUMNS + 1))
            if lines > 1:
                self.ws.row_dimensions[r].height = min(lines * LINE_HEIGHT, _MAX_ROW_HEIGHT)
        return widths


def _add_charts(ws: Worksheet, dispositions: _Block, owners: _Block, widths: Sequence[float]) -> None:
    """Dollars by disposition (coloured as on the Charges sheet) and gaps by owner, side by side."""
    cm_per_char = 0.19  # a Calibri 11 character is about 7 pixels; 37.8 pixels to the centimetre
    left = sum(widths[:3]) * cm_per_char - 0.3
    right = sum(widths[3:]) * cm_per_char - 0.3
    height = _CHART_ROWS * 0.53 - 0.5

    money = BarChart()
    money.type = "col"
    money.title = "Dollars by disposition"
    money.add_data(Reference(ws, min_col=3, min_row=dispositions.header_row, max_row=dispositions.last_row),
                   titles_from_data=True)
    money.set_categories(Reference(ws, min_col=1, min_row=dispositions.first_row, max_row=dispositions.last_row))
    for i, d in enumerate(Disposition):
        point = DataPoint(idx=i)
        point.graphicalProperties.solidFill = DISPOSITION_COLOURS[d][1]
        money.series[0].dPt.append(point)
    money.y_axis.number_format = '"$"#,##0'

    gaps = BarChart()
    gaps.type = "col"
    gaps.title = "Gaps by owner"
    gaps.add_data(Reference(ws, min_col=2, min_row=owners.header_row, max_row=owners.last_row), titles_from_data=True)
    gaps.set_categories(Reference(ws, min_col=1, min_row=owners.first_row, max_row=owners.last_row))
    gaps.series[0].graphicalProperties.solidFill = "1F4E78"

    for chart, width, anchor in ((money, left, "A"), (gaps, right, get_column_letter(4))):
        chart.legend = None
        chart.width, chart.height = max(width, 6.0), height
        # the value alone on each bar (left unsaid, some readers add the series and category names)
        chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False,
                                         showLegendKey=False, showPercent=False)
        chart.x_axis.delete = False  # without these, recent Excel draws the charts with no axes
        chart.y_axis.delete = False
        chart.y_axis.majorGridlines = None
        ws.add_chart(chart, f"{anchor}{_CHART_ROW}")


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


def _wrapped_lines(value: Any, width: float) -> int:
    """About how many lines ``value`` takes wrapped in a column ``width`` characters wide."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(int(width) - 1, 1)
    return sum(max(1, math.ceil(len(line) / per_line)) for line in value.splitlines() or [""])


_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="bottom")


def _named_style(ws: Worksheet, name: str, alignment: Alignment) -> str:
    """A named cell style of the workbook (added the first time): giving thousands of cells a style
    by name is cheap, where giving each its own Alignment makes openpyxl look it up each time."""
    if name not in ws.parent.named_styles:
        ws.parent.add_named_style(NamedStyle(name=name, alignment=alignment))
    return name


def _write_table(ws: Worksheet, columns: Sequence[Column], rows: Iterable[Any]) -> int:
    """Header row (bold, frozen), one row per item, an auto-filter, widths from content.

    Long text wraps in the columns that say so; rows of wrapped text are given the
    height their longest cell needs (Excel does not always grow them itself).
    Returns the number of data rows.
    """
    widths = [max(len(word) for word in c.header.split()) for c in columns]  # headers wrap between words
    for j, column in enumerate(columns, start=1):
        _put(ws, 1, j, column.header)
        cell = ws.cell(row=1, column=j)
        cell.font, cell.fill, cell.border, cell.alignment = _BOLD, _HEADER_FILL, _UNDERLINE, _HEADER_ALIGNMENT
    values: list[list[Any]] = []
    for item in rows:
        values.append([column.value(item) for column in columns])
    wrapped, top = _named_style(ws, "attendbot wrapped", _WRAP), _named_style(ws, "attendbot top", _TOP)
    for n, row_values in enumerate(values, start=2):
        for j, (column, value) in enumerate(zip(columns, row_values), start=1):
            ws.cell(row=n, column=j).style = wrapped if column.wrap else top  # before the number format
            _put(ws, n, j, value, column.number_format)
            widths[j - 1] = max(widths[j - 1], _shown_width(value, column.number_format))
    final = [column.width or min(max(width + 2, MIN_WIDTH), column.max_width)
             for column, width in zip(columns, widths)]
    for j, width in enumerate(final, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    header_lines = max(_wrapped_lines(c.header, w) for c, w in zip(columns, final))
    if header_lines > 1:
        ws.row_dimensions[1].height = header_lines * LINE_HEIGHT
    for n, row_values in enumerate(values, start=2):
        lines = max((_wrapped_lines(v, w) for c, v, w in zip(columns, row_values, final) if c.wrap), default=1)
        if lines > 1:
            ws.row_dimensions[n].height = min(lines * LINE_HEIGHT, _MAX_ROW_HEIGHT)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(values) + 1}"
    return len(values)


# --- printing ---------------------------------------------------------------------


def _footer_text(text: str) -> str:
    """Text for a header/footer: ``&`` starts a code there, so a literal one is doubled."""
    text = _ILLEGAL_CHARACTERS.sub("", text).replace("\n", " ")[:_MAX_FOOTER_PROGRAM]
    return text.replace("&", "&&")


def _print_setup(ws: Worksheet, program: str, day: dt.date) -> None:
    """Landscape, one page wide (as many tall as needed), header rows on every page, a footer.

    The footer reads ``<program>`` · ``<sheet> — <weekday> <date>`` · ``Page n of m``.
    """
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as it takes
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    if ws.title == "Summary":
        ws.print_title_rows = "1:2"
    else:
        ws.print_title_rows = "1:1"
        ws.print_options.gridLines = ws.title != TRENDS  # the Trends tables sit among charts
    ws.oddFooter.left.text = _footer_text(program or "attendbot")
    ws.oddFooter.center.text = f"&A — {_WEEKDAYS[day.weekday()]} {day.isoformat()}"
    ws.oddFooter.right.text = "Page &P of &N"
    for part in (ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right):
        part.size = 9


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


def _mark_as_ours(wb: Workbook, day) -> None:
    """The custom document property that tells the readers this is attendbot's own output: an
    audit workbook copied into the inbox is ignored, never read as a charge export."""
    from openpyxl.packaging.custom import StringProperty

    wb.custom_doc_props.append(StringProperty(name=AUDIT_WORKBOOK_MARK, value=day.isoformat()))


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
