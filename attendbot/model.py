"""Normalized records: what the readers produce and reconciliation consumes.

Every record carries its :class:`Evidence` (file, page or sheet, row), because
every gap must say where it came from. Records are plain frozen dataclasses so
they can be stored in and loaded from the ledger without a mapping layer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from attendbot.codes import Disposition, GapCode, disposition_of


@dataclass(frozen=True)
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
        parts = [self.file if full_path else self.file.rsplit("/", 1)[-1]]
        if self.page is not None:
            parts.append(f"p.{self.page}")
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        return " ".join(parts)


class Status(StrEnum):
    """EHR attendance status, normalized."""

    PRESENT = "present"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class NoteStatus(StrEnum):
    SIGNED = "signed"
    UNSIGNED = "unsigned"


class Modality(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    AUDIO = "audio"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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

    @property
    def days(self) -> set[dt.date]:
        return {r.service_date for r in (*self.charges, *self.attendance, *self.sheets)}


@dataclass
class FileReport:
    """One inbox file as this run saw it: the ``files`` entries of the --json document."""

    path: str  # as shown to people: relative to the working folder where possible
    kind: str  # charges | ehr_attendance | signin | authorizations | unknown
    status: str  # read | duplicate | unreadable | ignored
    detail: str
    sha256: str | None = None
    days: tuple[str, ...] = ()  # ISO dates the file holds rows for
    used_for_day: bool = False  # this run's day took its rows of this kind from this file
    quarantined_to: str | None = None

    def as_dict(self) -> dict:
        return {"path": self.path, "kind": self.kind, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class Gap:
    code: GapCode
    message: str  # free of patient names and ids: safe for every output
    evidence: Evidence | None = None
    charge_id: str | None = None
    patient_id: str | None = None
    session: str | None = None
    key: str = ""  # what distinguishes two gaps of one code in one session (a row, a file)

    @property
    def owner(self) -> str:
        return str(self.code.owner)


@dataclass
class ChargeResult:
    charge: Charge
    gaps: list[Gap]
    supported_units: int | None  # None: unknown until the missing times are recorded
    session_label: str
    no_show_fee: float | None = None

    @property
    def disposition(self) -> Disposition:
        """The strongest effect among the charge's gaps: void > hold > adjust > ready."""
        return disposition_of(g.code for g in self.gaps)


@dataclass(frozen=True)
class NoShow:
    charge_id: str
    patient_id: str
    session: str
    payer: str
    kind: str  # "no_show" | "late_cancel"
    policy: str  # "not_billable" | "fee"
    fee: float


@dataclass
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


@dataclass
class DayResult:
    day: dt.date
    charges: list[ChargeResult]
    gaps: list[Gap]  # every gap, charge-bound or not
    no_shows: list[NoShow]
    sessions: list[SessionSummary]
    unknown_payers: list[str]
