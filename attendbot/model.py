"""Normalized records: what the readers produce and reconciliation consumes.

Every record carries its :class:`Evidence` (file, page or sheet, row), because
every gap must say where it came from. Records are plain frozen dataclasses so
they can be stored in and loaded from the ledger without a mapping layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from attendbot.codes import Disposition, GapCode, disposition_of


@dataclass(frozen=True, slots=True)
class Evidence:
    file: str
    page: int | None = None
    sheet: str | None = None
    row: int | None = None

    def as_dict(self) -> dict:
        out: dict = {"file": self.file}
        if self.page is not None:
            out["page"] = self.page
        if self.sheet is not None:
            out["sheet"] = self.sheet
        if self.row is not None:
            out["row"] = self.row
        return out

    def describe(self, full_path: bool = False) -> str:
        """Short human form: ``roster.pdf p.2 row 4`` (with ``full_path``, the file's whole path)."""
        return " ".join(self._parts(full_path, "p.{}", "sheet {!r}"))

    def where(self) -> str:
        """Where to look, in words: ``signin.pdf, page 1, row 4`` (plain text, never a link)."""
        return ", ".join(self._parts(False, "page {}", "sheet '{}'"))

    def _parts(self, full_path: bool, page: str, sheet: str) -> list[str]:
        parts = [self.file if full_path else self.file.rsplit("/", 1)[-1]]
        if self.page is not None:
            parts.append(page.format(self.page))
        if self.sheet is not None:
            parts.append(sheet.format(self.sheet))
        if self.row is not None:
            parts.append(f"row {self.row}")
        return parts


class Status(StrEnum):
    """EHR attendance status, normalized."""

    PRESENT = "present"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"  # a late cancellation
    EXCUSED = "excused"  # an excused absence: not billable, never a fee, not a no-show


class NoteStatus(StrEnum):
    SIGNED = "signed"
    UNSIGNED = "unsigned"


class Modality(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True, slots=True)
class Charge:
    charge_id: str
    service_date: dt.date
    patient_id: str
    patient_name: str
    payer: str
    code: str
    units: int
    session: str
    modifiers: tuple[str, ...] = ()
    start: dt.time | None = None
    end: dt.time | None = None
    provider: str | None = None
    npi: str | None = None
    pos: str | None = None
    auth_number: str | None = None
    amount: float | None = None
    evidence: Evidence = field(default_factory=lambda: Evidence(""), compare=False)
    revenue_code: str | None = None  # UB-04 revenue code of a facility claim line (0905, 0906…)


@dataclass(frozen=True, slots=True)
class Attendance:
    service_date: dt.date
    patient_id: str
    session: str
    status: Status
    patient_name: str | None = None
    time_in: dt.time | None = None
    time_out: dt.time | None = None
    note_status: NoteStatus | None = None  # None: the export has no note-status column
    facilitator: str | None = None
    modality: Modality | None = None
    evidence: Evidence = field(default_factory=lambda: Evidence(""), compare=False)


@dataclass(frozen=True, slots=True)
class SigninLine:
    row: int  # 1-based row in the sheet's patient table
    printed_name: str
    signed: bool
    time_in: dt.time | None = None
    time_out: dt.time | None = None
    evidence: Evidence = field(default_factory=lambda: Evidence(""), compare=False)
    # How a scanned line was judged (None: read from a digital sheet's own text and strokes):
    # ``roster`` (an attendbot roster, known by its mark) or ``ocr`` (any other layout), and the
    # lowest confidence (0-1) among its printed-name and signature judgements.
    how: str | None = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class SigninSheet:
    group: str
    service_date: dt.date
    start: dt.time | None = None
    end: dt.time | None = None
    facilitator: str | None = None
    facilitator_signed: bool | None = None  # None: the sheet has no such field
    lines: tuple[SigninLine, ...] = ()
    evidence: Evidence = field(default_factory=lambda: Evidence(""), compare=False)
    how: str | None = None  # None: a digital sheet; "roster" or "ocr": a scan (see SigninLine.how)


@dataclass(frozen=True, slots=True)
class Authorization:
    """One row of an authorizations export: a payer's approval of units of some codes for a period.

    ``codes`` are the codes the row covers (a list in one cell, or one code a row: each
    row is its own pool of ``units_authorized``). ``units_used`` is what the payer or the
    EHR counted as used as of ``as_of`` (the file's own "as of" column, or else the day of
    the run that first read the file); units billed on and after ``as_of`` come from the ledger.
    """

    patient_id: str
    auth_number: str
    codes: tuple[str, ...]
    start: dt.date
    end: dt.date
    units_authorized: int
    payer: str | None = None
    units_used: int | None = None  # None: the export has no such column (count every unit the ledger has)
    next_review: dt.date | None = None
    as_of: dt.date | None = None
    patient_name: str | None = None
    evidence: Evidence = field(default_factory=lambda: Evidence(""), compare=False)

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def lists(self, code: str) -> bool:
        return code.upper() in self.codes


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a reader could not use: a row it could not parse, a page it could not read.

    ``gap`` is set when the problem must reach the day's gaps (an unreadable page).
    """

    message: str
    evidence: Evidence
    gap: GapCode | None = None


@dataclass
class ReadResult:
    """What one reader got out of one file: records for every day in it, and problems."""

    charges: list[Charge] = field(default_factory=list)
    attendance: list[Attendance] = field(default_factory=list)
    sheets: list[SigninSheet] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    authorizations: list[Authorization] = field(default_factory=list)  # dated by period, not by service day

    @property
    def days(self) -> set[dt.date]:
        return {r.service_date for r in (*self.charges, *self.attendance, *self.sheets)}

    @property
    def empty(self) -> bool:
        """Nothing usable was read: no service day and no authorization."""
        return not self.days and not self.authorizations


class FileStatus(StrEnum):
    """What a run did with an inbox file (the ``status`` of the JSON's ``files``)."""

    READ = "read"
    DUPLICATE = "duplicate"
    UNREADABLE = "unreadable"
    IGNORED = "ignored"


@dataclass(frozen=True)
class FileReport:
    """One inbox file as this run saw it: the ``files`` entries of the --json document."""

    path: str  # as shown to people: relative to the working folder where possible
    kind: str  # charges | ehr_attendance | signin | authorizations | unknown
    status: FileStatus
    detail: str
    sha256: str | None = None
    days: tuple[str, ...] = ()  # ISO dates the file holds rows for
    used_for_day: bool = False  # this run's day took its rows of this kind from this file
    quarantined_to: str | None = None
    retry: bool = False  # left in the inbox for the next run to try again (still being written, could not be opened)

    def as_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "status": str(self.status), "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Gap:
    """One documentation gap, as structure; every output renders it, none parses it.

    ``facts`` are the values its message was rendered from (minutes, codes, the sheet
    line…), without the charge id, so outputs can group the same problem across charges.
    ``session_key`` identifies the session (:attr:`SessionSummary.key`); ``session`` is
    its display label.
    """

    code: GapCode
    message: str  # free of patient names and ids: safe for every output
    evidence: Evidence | None = None
    charge_id: str | None = None
    patient_id: str | None = None
    session: str | None = None
    key: str = ""  # what distinguishes two gaps of one code in one session (a row, a file)
    session_key: str | None = None
    line: int | None = None  # the sign-in sheet's row the gap points to, where one does
    facts: tuple[tuple[str, str], ...] = ()

    @property
    def owner(self) -> str:
        return str(self.code.owner)

    @property
    def problem(self) -> tuple:
        """What the gap says apart from which charge it is on: equal for one problem on many charges."""
        return (self.code, self.session_key, self.facts) if self.facts else (self.code, self.message)


@dataclass(slots=True)
class ChargeResult:
    charge: Charge
    gaps: list[Gap]
    supported_units: int | None  # None: unknown until the missing times are recorded
    session_label: str
    no_show_fee: float | None = None
    session_key: str = ""
    supported_code: str | None = None  # adjust to this code (the minutes support it, not the code charged)

    @property
    def disposition(self) -> Disposition:
        """The strongest effect among the charge's gaps: void > hold > adjust > ready."""
        return disposition_of(g.code for g in self.gaps)

    @property
    def dollars_at_risk(self) -> float:
        """The part of the charge's amount that will not be billed as scheduled.

        ``hold`` and ``void``: the whole amount. ``adjust``: the share of units the
        minutes do not support, ``amount * (units - supported_units) / units``.
        ``ready``, or no amount: 0.
        """
        amount = self.charge.amount or 0.0
        disposition = self.disposition
        if disposition in (Disposition.HOLD, Disposition.VOID):
            return amount
        if disposition == Disposition.ADJUST and self.charge.units > 0:
            if self.supported_units is None:  # unknown units put the whole amount at risk
                return amount
            missing = max(0, self.charge.units - self.supported_units)
            return amount * missing / self.charge.units
        return 0.0


@dataclass(frozen=True, slots=True)
class NoShow:
    charge_id: str
    patient_id: str
    session: str
    payer: str
    kind: str  # "no_show" | "late_cancel" | "excused"
    policy: str  # "not_billable" | "fee"
    fee: float


@dataclass(slots=True)
class SessionSummary:
    """One group session as reconciled: for the Sessions sheet and the facilitator alert."""

    label: str
    start: dt.time | None
    end: dt.time | None
    facilitator: str | None
    sheet: Evidence | None
    charges: int
    attendees: int
    signed_lines: int
    sheet_lines: int
    minutes: int | None
    key: str = ""  # unique within the day: what gaps and charges name the session by
    facilitator_note: str | None = None  # the sheet, EHR and charge export name different people: for billing
    lines: Mapping[str, Evidence] = field(default_factory=dict)  # charge id -> its patient's sheet line
    read_by: str | None = None  # how the sheet was read: None (digital, or no sheet), "ocr" or "roster"
    scanned_lines: tuple[SigninLine, ...] = ()  # the sheet's lines read from a scan, each with how and confidence


@dataclass(frozen=True, slots=True)
class PatientDay:
    """What one patient attended on one day, across its sessions (time in two at once counts once):
    what later days' weekly-hours check reads back from the ledger."""

    patient_id: str
    minutes: int
    attended: bool


@dataclass
class DayResult:
    day: dt.date
    charges: list[ChargeResult]
    gaps: list[Gap]  # every gap, charge-bound or not
    no_shows: list[NoShow]
    sessions: list[SessionSummary]
    unknown_payers: list[str]
    payer_sections: Mapping[str, str | None] = field(default_factory=dict)  # payer name -> section (None: defaults)
    patient_days: tuple[PatientDay, ...] = ()  # each charged patient's attendance of the day
    program_minutes: int | None = None  # how long the program's day ran (its sessions, overlaps once)
    notes: tuple[str, ...] = ()  # day-level facts the billing summary says once (a check that could not be made)


@dataclass(frozen=True)
class DayTrend:
    """One reconciled day as the ledger remembers it, for the workbook's Trends sheet."""

    day: dt.date
    gaps: Mapping[str, int]  # gap code -> open gaps
    held: Mapping[str, int]  # payer -> charges on hold
    at_risk: Mapping[str, float]  # payer -> dollars at risk
    no_shows: int
    late_cancels: int = 0


@dataclass(frozen=True)
class AuthStatus:
    """A patient's authorization as of the day: the workbook's Authorizations sheet."""

    patient_id: str
    auth_number: str | None
    payer: str | None
    codes: tuple[str, ...]
    start: dt.date | None
    end: dt.date | None
    units_authorized: int | None
    units_used: int | None  # as of the file
    units_billed_since: int  # from the ledger, after the file and before the day
    units_today: int
    next_review: dt.date | None
    state: str  # covering | expired | not started | none
    review: str = ""  # "" | due | overdue

    @property
    def units_left(self) -> int | None:
        """Units left after the day's charges (negative: over the authorization)."""
        if self.units_authorized is None:
            return None
        return self.units_authorized - (self.units_used or 0) - self.units_billed_since - self.units_today


@dataclass(frozen=True)
class DayStatus:
    """How far the run's "clean" can be trusted: what it saw, and what it could not see.

    ``state`` is one of:

    * ``complete``: every input the day needs was seen;
    * ``incomplete``: the day was reconciled, but something is missing or was left
      for the next run (a file still changing, no EHR export covering the day);
    * ``not_business_day``: a weekend, holiday or closed day reconciled on request;
    * ``nothing_checked``: no charge export covers the day, so no charge was judged.

    ``note`` says why, in sentences people read (``"Thanksgiving Day"``). ``business_day``
    and ``calendar_note`` are the JSON's ``calendar``.
    """

    state: str = "complete"
    note: str = ""
    business_day: bool = True
    calendar_note: str = ""

    LABELS: ClassVar[dict[str, str]] = {
        "complete": "Complete",
        "incomplete": "Incomplete",
        "not_business_day": "Not a business day",
        "nothing_checked": "Nothing checked",
    }

    def __post_init__(self) -> None:
        if self.state not in self.LABELS:
            raise ValueError(f"day status {self.state!r} is not one of {', '.join(self.LABELS)}")

    @property
    def label(self) -> str:
        return self.LABELS[self.state]


@dataclass(frozen=True)
class OutgoingMessage:
    """One Slack message to post (or to edit, when a message with the same ``key`` was posted before).

    Attributes:
        key: stable identity across re-runs: ``"<day>:session:<session label>"``,
            ``"<day>:reroute:<session label>"``, ``"<day>:intake"``, ``"<day>:clinical"`` or ``"<day>:billing"``.
        channel: the channel id from ``[slack]``.
        text: the plain-text fallback (notifications, screen readers); PHI-minimised like the blocks.
        blocks: Block Kit JSON, ready for ``chat.postMessage`` / ``chat.update``.
        kind: ``"session"``, ``"reroute"`` (a session alert copied to the billing channel after
            "Not my group"), ``"intake"``, ``"clinical"`` or ``"billing"``.
        session: the session label for a session alert or its copy; None otherwise.
        items: for a session alert, how many things to fix it lists (its bullets).
    """

    key: str
    channel: str
    text: str
    blocks: list[dict]
    kind: str
    session: str | None
    items: int = 0  # the things to fix a session alert lists, one bullet each
    targets: tuple[AnswerTarget, ...] = ()  # what the alert's buttons answer (SPEC "Answers in Slack")
    mention: str | None = None  # the Slack user id the alert addresses: who may answer it, with the billing leads

    def as_dict(self) -> dict:
        return {"key": self.key, "channel": self.channel, "text": self.text, "blocks": self.blocks,
                "kind": self.kind, "session": self.session}


@dataclass(frozen=True)
class AnswerTarget:
    """What one set of buttons on a facilitator alert answers: one gap line, or the whole session.

    ``token`` is all a button carries (opaque, no patient data); the ledger maps it back to
    this. ``scope`` is ``"line"`` (one bullet: ``gaps`` are that bullet's) or ``"session"``
    (every facilitator gap of the alert). ``charge_id`` is set when the line stands for one
    charge; ``line`` is that charge's patient's row on the sign-in sheet, where there is one.
    """

    token: str
    scope: str
    session: str
    session_key: str
    gaps: tuple[Gap, ...]
    charge_id: str | None = None
    line: Evidence | None = None


@dataclass(frozen=True)
class Response:
    """One answer given in Slack to a facilitator alert: the ``responses`` of the --json document.

    ``answer`` is ``fixed``, ``did_not_attend``, ``left_early``, ``not_my_group`` or ``note``;
    ``by`` the Slack user id; ``at`` ISO 8601 in the program's time zone. ``gap_code`` and
    ``charge_id`` are those of the line answered (None for the session's own buttons and for
    thread notes); ``gap_ids`` the ledger's ids of every gap the answer covers.
    """

    answer: str
    by: str
    at: str
    session: str | None = None
    gap_code: str | None = None
    charge_id: str | None = None
    detail: str = ""
    gap_ids: tuple[str, ...] = ()
    attested_time: str | None = None  # left_early: the time out the facilitator attests (HH:MM)
    sheet_time: str | None = None  # left_early: the time out on the sign-in sheet, where it has one
    by_name: str | None = None  # the facilitator's name from [slack.facilitators], or "billing lead"

    def as_dict(self) -> dict:
        return {"gap_code": self.gap_code, "charge_id": self.charge_id, "session": self.session, "by": self.by,
                "answer": self.answer, "detail": self.detail, "at": self.at}


@dataclass(frozen=True)
class SlackOutcome:
    """What the run did in Slack: ``mode`` is ``live`` or ``dry-run``; counts of messages
    ``posted``, ``updated``, ``unchanged`` and ``waiting`` for a later run; ``problems`` an
    administrator must fix; ``reason`` why a run not asked to be dry was one (no token)."""

    mode: str
    messages: tuple[OutgoingMessage, ...] = ()
    posted: int = 0
    updated: int = 0
    unchanged: int = 0
    waiting: int = 0
    problems: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class DayOutcome:
    """Everything one run of one day did: what the command layer prints and the JSON holds."""

    day: dt.date
    run_id: int
    result: DayResult
    files: tuple[FileReport, ...]
    workbook: Path
    gap_events: Mapping[str, int]
    slack: SlackOutcome
    status: DayStatus = DayStatus()
    responses: tuple[Response, ...] = ()  # every answer given in Slack to the day's alerts
    reused_run: int | None = None  # nothing had changed since this run: its outcome, re-emitted (attendbot.rerun)
