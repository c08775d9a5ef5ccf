"""One small check per gap code. Each reads facts and the payer's :class:`Policy`, never a payer's name.

Three kinds of checks, each a list below:

* :data:`CHARGE_RULES` look at one charge and what the day knows about it
  (:class:`ChargeFacts`, its minutes and units already judged over the patient's :class:`PatientDay`);
* :data:`DAY_RULES` look at all of one patient's charges of the day;
* :data:`SESSION_RULES` look at a session's sheet lines and attendees that no
  charge explains.

The minutes and units a charge is judged on (per diem over the patient's day, time
codes summed over the day, per-session codes with their down-codes) are decided
before the rules run, in :mod:`attendbot.reconcile.day`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from attendbot.codes import GapCode as G
from attendbot.messages import gap_facts, gap_message, no_show_policy
from attendbot.model import (Attendance, Charge, Evidence, Gap, Modality, NoteStatus, Problem, SigninLine,
                             SigninSheet, Status)
from attendbot.npi import npi_valid
from attendbot.reconcile.policy import CodeRule, Policy
from attendbot.reconcile.sessions import Session
from attendbot.reconcile.units import Interval, union_minutes


@dataclass(slots=True)
class PatientDay:
    """One patient's day: every session they attended (EHR present or signed line), with the
    stretch of it they were there (None where no source gives a time in and out), and their
    charges of the day in export order."""

    patient_id: str
    attended: tuple[tuple[Session, Interval | None], ...] = ()  # tuples: a large day has a million of them
    charges: tuple[ChargeFacts, ...] = ()

    @property
    def minutes(self) -> int | None:
        """Minutes attended over the whole day, time in two sessions at once counted once;
        None when no attended session has times."""
        spans = [span for _, span in self.attended if span is not None]
        return union_minutes(spans) if spans else None

    @property
    def untimed(self) -> list[Session]:
        """Attended sessions whose minutes nobody recorded."""
        return [session for session, span in self.attended if span is None]


@dataclass(slots=True)
class ChargeFacts:
    """What the day's sources say about one charge."""

    charge: Charge
    policy: Policy
    session: Session
    sheet: SigninSheet | None
    line: SigninLine | None
    ehr: Attendance | None
    attendees: int  # patients who attended the session, whatever their payer
    minutes: int | None  # the minutes the code's rule judges: the patient's day (per diem), the day's lines
    #                      of this code (time), or the charge's own session
    supported_units: int | None
    session_minutes: int | None = None  # minutes in the charge's own session
    interval: Interval | None = None  # when, in the charge's own session, the patient was there
    supported_code: str | None = None  # the down-code the minutes support instead of the code charged
    down_rules: tuple[CodeRule, ...] = ()  # the code's down-codes for this payer, nearest first
    code_day: Sequence[ChargeFacts] = ()  # time codes: the patient's attended lines of
    #                                                             this code that day (this one included)
    code_supported: int | None = None  # time codes: the units the day's minutes of the code support in all
    shared_id: Sequence[ChargeFacts] = ()  # other patients' lines with this charge id
    gaps: Sequence[Gap] = ()  # what the checks found on the charge

    @property
    def rule(self) -> CodeRule | None:
        return self.policy.rule

    @property
    def attendance_required(self) -> bool:
        """False for a code billed without the patient (``attendance = "not_required"``)."""
        return self.rule is None or self.rule.attendance != "not_required"

    @property
    def signed(self) -> bool:
        return self.line is not None and self.line.signed

    @property
    def present(self) -> bool:
        return self.ehr is not None and self.ehr.status is Status.PRESENT

    @property
    def attended(self) -> bool:
        """EHR marks them present, or their sheet line is signed (always, for a code billed
        without the patient)."""
        return self.present or self.signed or not self.attendance_required

    @property
    def absence(self) -> Status | None:
        """NO_SHOW, CANCELLED or EXCUSED when the day's evidence says the patient did not come;
        None when they attended, when nothing is known (no EHR row and no sheet), or when the
        code is not judged on the patient's attendance."""
        if self.attended:
            return None
        if self.ehr is not None:
            return self.ehr.status
        return Status.NO_SHOW if self.sheet is not None else None

    @property
    def fee(self) -> float | None:
        """The fee to bill instead of a voided charge, per the payer's policy; None: no fee.
        Never for an excused absence, and never for a payer of kind ``medicaid`` — whatever
        the layers of ``payers.toml`` say."""
        policy, absence = self.policy, self.absence
        if absence is None or policy.kind == "medicaid":
            return None
        if absence is Status.NO_SHOW and policy.no_show == "fee":
            return policy.no_show_fee
        if absence is Status.CANCELLED and policy.late_cancel == "fee":
            return policy.late_cancel_fee
        return None

    @property
    def distinct(self) -> bool:
        """The line carries a distinct-service modifier (59, XE, XS, XP, XU, 76…)."""
        return bool(set(self.charge.modifiers) & set(self.policy.distinct_service_modifiers))

    @property
    def ehr_modality(self) -> Modality | None:
        return self.ehr.modality if self.ehr is not None else None

    @property
    def modality(self) -> Modality:
        """The EHR's modality decides; only without one does the place of service (02/10: video)."""
        if self.ehr_modality is not None:
            return self.ehr_modality
        if self.charge.pos and self.charge.pos in self.policy.telehealth_pos:
            return Modality.VIDEO
        return Modality.IN_PERSON

    def gap(self, code: G, evidence: Evidence | None = None, **values: object) -> Gap:
        c = self.charge
        values = {"session": self.session.display(), "code": c.code, "payer": c.payer, **values}
        on_line = self.line is not None and evidence == self.line.evidence
        return Gap(code=code, message=gap_message(code, charge_id=c.charge_id, **values),
                   evidence=evidence or c.evidence, charge_id=c.charge_id, patient_id=c.patient_id,
                   session=self.session.display(), session_key=self.session.ident,
                   line=self.line.row if on_line else None, facts=gap_facts(code, values))


def line_ref(line: SigninLine) -> str:
    """``3``, or ``3 on page 2`` for a roster that runs over PDF pages: "line {line_ref}"."""
    page = line.evidence.page
    return f"{line.row}" + (f" on page {page}" if page and page > 1 else "")


def _or(values) -> str:
    return " or ".join(values)


ChargeRule = Callable[[ChargeFacts], Iterator[Gap]]
CHARGE_RULES: list[ChargeRule] = []


def charge_rule(fn: ChargeRule) -> ChargeRule:
    CHARGE_RULES.append(fn)
    return fn


# --- attendance -------------------------------------------------------------------

_ABSENCE_GAP = {Status.NO_SHOW: G.NO_SHOW, Status.CANCELLED: G.LATE_CANCEL, Status.EXCUSED: G.EXCUSED_ABSENCE}
_FEE_NAME = {Status.NO_SHOW: "no-show", Status.CANCELLED: "late-cancel", Status.EXCUSED: "excused-absence"}


@charge_rule
def absence(f: ChargeFacts) -> Iterator[Gap]:
    """NO_SHOW, LATE_CANCEL, EXCUSED_ABSENCE: logged for every charged patient who did not attend,
    with the payer's policy (``no_show``, ``late_cancel``; an excused absence never has a fee)."""
    if f.absence is None:
        return
    evidence = f.ehr.evidence if f.ehr else (f.sheet.evidence if f.sheet else None)
    yield f.gap(_ABSENCE_GAP[f.absence], evidence, policy=no_show_policy(f.fee, _FEE_NAME[f.absence]))


@charge_rule
def signin(f: ChargeFacts) -> Iterator[Gap]:
    """NO_SIGNIN_SHEET, NOT_ON_SIGNIN, MISSING_SIGNATURE, FACILITATOR_SIGNATURE_MISSING."""
    if f.absence is not None or not f.attendance_required or not f.policy.require_signature:
        return
    if f.sheet is None:
        yield f.gap(G.NO_SIGNIN_SHEET)
        return
    if f.line is None:
        yield f.gap(G.NOT_ON_SIGNIN, f.sheet.evidence)
    elif not f.line.signed:
        yield f.gap(G.MISSING_SIGNATURE, f.line.evidence, line=line_ref(f.line))
    if f.sheet.facilitator_signed is False:
        yield f.gap(G.FACILITATOR_SIGNATURE_MISSING, f.sheet.evidence)


@charge_rule
def ehr_attendance(f: ChargeFacts) -> Iterator[Gap]:
    """NO_EHR_ATTENDANCE: the charge has no EHR attendance row."""
    if f.attendance_required and f.ehr is None and (f.attended or f.absence is None):
        yield f.gap(G.NO_EHR_ATTENDANCE)


_STATUS_WORDS = {Status.NO_SHOW: "a no-show", Status.CANCELLED: "cancelled", Status.EXCUSED: "excused",
                 Status.PRESENT: "present"}


@charge_rule
def attendance_conflict(f: ChargeFacts) -> Iterator[Gap]:
    """Sheet and EHR disagree: signed but marked absent, or present but not signed."""
    if f.ehr is None or f.sheet is None or not f.attendance_required:
        return
    if f.signed and not f.present:
        yield f.gap(G.ATTENDANCE_CONFLICT, f.line.evidence,
                    detail=f"line {line_ref(f.line)} of the sheet is signed but the EHR marks the patient "
                           f"{_STATUS_WORDS[f.ehr.status]}")
    elif f.present and not f.signed:
        where = "is not on the sheet" if f.line is None else f"did not sign line {line_ref(f.line)} of the sheet"
        yield f.gap(G.ATTENDANCE_CONFLICT, f.ehr.evidence,
                    detail=f"the EHR marks the patient present but the patient {where}")


@charge_rule
def note_signed(f: ChargeFacts) -> Iterator[Gap]:
    """NOTE_UNSIGNED: the session note is not signed/final (when the payer requires it)."""
    if f.attended and f.policy.require_signed_note and f.ehr is not None \
            and f.ehr.note_status is NoteStatus.UNSIGNED:
        yield f.gap(G.NOTE_UNSIGNED, f.ehr.evidence, note="not signed")


# --- duration and units ------------------------------------------------------------


def _required(rule: CodeRule) -> int:
    """The fewest minutes that support one unit of the code."""
    if rule.unit != "time":
        return rule.min_minutes
    size = rule.unit_minutes or 1
    return size // 2 + 1 if rule.unit_rounding == "8-minute" else size


def _units_basis(f: ChargeFacts) -> str:
    """Why fewer units are supported than charged, for UNITS_EXCEED_TIME's sentence."""
    rule = f.rule
    if rule.unit != "time":
        return f"{rule.code} is one unit per {'day' if rule.unit == 'day' else 'session'}"
    if len(f.code_day) > 1:
        ids = ", ".join(o.charge.charge_id for o in f.code_day)
        return (f"the patient's {f.minutes} minutes of {rule.code} that day (charges {ids}) support "
                f"{f.code_supported} in all")
    return f"{f.minutes} minutes support {f.supported_units}"


@charge_rule
def duration(f: ChargeFacts) -> Iterator[Gap]:
    """MISSING_TIMES, SHORT_DURATION, UNITS_EXCEED_TIME from the minutes the code is judged on.

    A per diem is judged on the patient's whole day; a time code on the day's minutes of that
    code, shared among its lines; a per-session code on its own session (a down-code it meets
    is CODE_TIME_MISMATCH instead, below).
    """
    rule = f.rule
    if rule is None or not f.attended or f.supported_code is not None:
        return
    if f.supported_units is None:
        if rule.needs_minutes:
            yield f.gap(G.MISSING_TIMES)
        return
    if f.supported_units == 0 and not (rule.unit == "time" and f.code_supported):
        yield f.gap(G.SHORT_DURATION, minutes=f.minutes, required=_required(rule))
    elif f.supported_units < f.charge.units:
        yield f.gap(G.UNITS_EXCEED_TIME, units=f.charge.units, basis=_units_basis(f), supported=f.supported_units)


@charge_rule
def code_time(f: ChargeFacts) -> Iterator[Gap]:
    """CODE_TIME_MISMATCH: too few minutes for the code charged, enough for its ``down_code``."""
    if f.supported_code is not None and f.attended:
        yield f.gap(G.CODE_TIME_MISMATCH, minutes=f.minutes, required=f.rule.min_minutes,
                    supported_code=f.supported_code)


# --- session, claim line -----------------------------------------------------------


@charge_rule
def group_size(f: ChargeFacts) -> Iterator[Gap]:
    """Each payer's charges are held when the session's attendees exceed that payer's maximum
    for the code (``max_group_size = 0``: no cap)."""
    if f.attended and f.attendance_required and f.policy.max_group_size \
            and f.attendees > f.policy.max_group_size:
        yield f.gap(G.GROUP_SIZE_EXCEEDED, attendees=f.attendees, maximum=f.policy.max_group_size)


@charge_rule
def group_too_small(f: ChargeFacts) -> Iterator[Gap]:
    """GROUP_TOO_SMALL: fewer attendees than the code's ``min_group_size`` (a "group" of one)."""
    if f.attended and f.attendance_required and f.policy.min_group_size \
            and f.attendees < f.policy.min_group_size:
        yield f.gap(G.GROUP_TOO_SMALL, attendees=f.attendees, minimum=f.policy.min_group_size)


@charge_rule
def telehealth(f: ChargeFacts) -> Iterator[Gap]:
    """Video needs a telehealth modifier, audio-only an audio modifier; in person, neither.
    A payer with no ``telehealth_modifiers`` pays video by place of service alone."""
    if not f.attended:
        return
    mods, policy = set(f.charge.modifiers), f.policy
    if f.modality is Modality.IN_PERSON:
        wrong = sorted(mods & {*policy.telehealth_modifiers, *policy.audio_modifiers})
        if wrong:
            yield f.gap(G.TELEHEALTH_MODIFIER_UNEXPECTED, detail=f"modifier {', '.join(wrong)}")
        return
    needed = policy.telehealth_modifiers if f.modality is Modality.VIDEO else policy.audio_modifiers
    if needed and not mods & set(needed):
        kind = "video" if f.modality is Modality.VIDEO else "audio-only"
        yield f.gap(G.TELEHEALTH_MODIFIER_MISSING, modality=kind, detail=f"billed without modifier {_or(needed)}")


_SESSION_KIND = {Modality.IN_PERSON: "an in-person session", Modality.VIDEO: "a video session",
                 Modality.AUDIO: "an audio-only session"}


@charge_rule
def place_of_service(f: ChargeFacts) -> Iterator[Gap]:
    """PLACE_OF_SERVICE_MISMATCH: the claim's place of service disagrees with the EHR's modality
    (in person billed 02/10, telehealth billed an office POS)."""
    modality, pos, tele = f.ehr_modality, f.charge.pos, f.policy.telehealth_pos
    if not f.attended or modality is None or not pos or not tele:
        return
    if modality is Modality.IN_PERSON and pos in tele:
        yield f.gap(G.PLACE_OF_SERVICE_MISMATCH, f.ehr.evidence, session_kind=_SESSION_KIND[modality], pos=pos,
                    fix="bill the place of service where the patient was seen (11 for the office), or correct "
                        "the EHR's modality")
    elif modality is not Modality.IN_PERSON and pos not in tele:
        yield f.gap(G.PLACE_OF_SERVICE_MISMATCH, f.ehr.evidence, session_kind=_SESSION_KIND[modality], pos=pos,
                    fix=f"bill place of service {_or(tele)}, or correct the EHR's modality")


@charge_rule
def npi(f: ChargeFacts) -> Iterator[Gap]:
    """INVALID_NPI: rendering NPI missing or failing the check digit."""
    if not npi_valid(f.charge.npi):
        detail = "is missing" if not f.charge.npi else "fails the NPI check digit"
        yield f.gap(G.INVALID_NPI, detail=detail)


def revenue(code: str) -> str:
    """A revenue code as the UB-04 writes it: four digits (``906`` is ``0906``)."""
    code = code.strip().upper()
    return code.zfill(4) if code.isdigit() else code


@charge_rule
def revenue_code(f: ChargeFacts) -> Iterator[Gap]:
    """REVENUE_CODE_MISMATCH: the line's revenue code is not one the code section allows."""
    rule = f.rule
    if f.absence is not None or rule is None or not rule.revenue_codes or not f.charge.revenue_code:
        return
    allowed = sorted({revenue(c) for c in rule.revenue_codes})
    if revenue(f.charge.revenue_code) not in allowed:
        yield f.gap(G.REVENUE_CODE_MISMATCH, revenue_code=revenue(f.charge.revenue_code), allowed=_or(allowed))


@charge_rule
def shared_charge_id(f: ChargeFacts) -> Iterator[Gap]:
    """DUPLICATE_CHARGE: two different patients' lines share one charge id; both are held."""
    if f.shared_id:
        yield f.gap(G.DUPLICATE_CHARGE, detail=f"the same charge id is on {len(f.shared_id)} other patient's line"
                                               f"{'s' if len(f.shared_id) > 1 else ''}",
                    action="give each line its own charge id in the billing system")


# --- one patient's day -------------------------------------------------------------


DayRule = Callable[[list[ChargeFacts]], Iterator[tuple[ChargeFacts, Gap]]]
DAY_RULES: list[DayRule] = []


def day_rule(fn: DayRule) -> DayRule:
    DAY_RULES.append(fn)
    return fn


@day_rule
def duplicate_charge(facts: list[ChargeFacts]) -> Iterator[tuple[ChargeFacts, Gap]]:
    """DUPLICATE_CHARGE on the second line of a per-diem code for the patient's day, or of one code
    in one session, unless that line carries a distinct-service modifier. Lines of a time code in
    different sessions are not duplicates: their minutes are added up."""
    per_day: dict[str, ChargeFacts] = {}
    per_session: dict[tuple[str, str], ChargeFacts] = {}
    for f in facts:
        if f.absence is not None:
            continue
        code = f.charge.code
        first, where = None, "session"
        if f.rule is not None and f.rule.unit == "day":
            first, where = per_day.get(code), "date"
            per_day.setdefault(code, f)
        if first is None:
            first, where = per_session.get((code, f.session.ident)), "session"
        per_session.setdefault((code, f.session.ident), f)
        if first is not None and not f.distinct:
            yield f, f.gap(G.DUPLICATE_CHARGE, detail=f"same patient, code {code} and {where} as charge "
                                                      f"{first.charge.charge_id}", action="void the duplicate")


@day_rule
def same_day_conflict(facts: list[ChargeFacts]) -> Iterator[tuple[ChargeFacts, Gap]]:
    """SAME_DAY_CONFLICT on the component of a ``same_day_exclusive`` [primary, component] pair
    billed beside its primary; the primary stays billable, and a component carrying a
    distinct-service modifier is not held."""
    billed = [f for f in facts if f.absence is None]
    for f in billed:
        if f.distinct:
            continue
        for primary, component in f.policy.same_day_exclusive:
            if f.charge.code != component.upper():
                continue
            other = next((o for o in billed if o is not f and o.charge.code == primary.upper()), None)
            if other is not None:
                yield f, f.gap(G.SAME_DAY_CONFLICT, other_code=other.charge.code, other=other.charge.charge_id,
                               modifiers=", ".join(f.policy.distinct_service_modifiers) or "none configured")
                break


@day_rule
def add_on_without_primary(facts: list[ChargeFacts]) -> Iterator[tuple[ChargeFacts, Gap]]:
    """ADD_ON_WITHOUT_PRIMARY: an add-on code (``add_on_to``) with none of its primary codes billed
    for the patient that day."""
    billed = [f for f in facts if f.absence is None]
    for f in billed:
        rule = f.rule
        if rule is None or not rule.add_on_to:
            continue
        primaries = {c.upper() for c in rule.add_on_to}
        if not any(o is not f and o.charge.code in primaries for o in billed):
            yield f, f.gap(G.ADD_ON_WITHOUT_PRIMARY, primaries=_or(rule.add_on_to))


# --- what no charge explains -------------------------------------------------------


@dataclass(slots=True)
class SessionFacts:
    session: Session
    line_matches: dict[Evidence, str | None]  # sheet line (by its evidence) -> patient id, None: no match
    ambiguous: dict[Evidence, tuple[str, ...]] = field(default_factory=dict)
    covered: frozenset[str] = frozenset()  # patients whose day a per-diem charge covers

    def gap(self, code: G, evidence: Evidence | None, key: str = "", patient_id: str | None = None,
            line: SigninLine | None = None, **values: object) -> Gap:
        label = self.session.display()
        values = {"session": label, **values}
        if line is not None:
            values["line"] = line_ref(line)
        return Gap(code=code, message=gap_message(code, **values), evidence=evidence,
                   patient_id=patient_id, session=label, key=key, session_key=self.session.ident,
                   line=line.row if line is not None else None, facts=gap_facts(code, values))

    def shows(self, evidence: Evidence) -> bool:
        """Whether ``evidence`` points to a page (or worksheet) one of the session's sign-in sheets came from."""
        def page(ev: Evidence) -> tuple:
            return ev.file, ev.page, ev.sheet

        # A roster that ran over pages is one sheet (its first page's evidence); its lines name their own pages.
        pages = {page(sheet.evidence) for sheet in self.session.sheets}
        pages |= {page(line.evidence) for sheet in self.session.sheets for line in sheet.lines}
        return page(evidence) in pages


SessionRule = Callable[[SessionFacts], Iterator[Gap]]
SESSION_RULES: list[SessionRule] = []


def session_rule(fn: SessionRule) -> SessionRule:
    SESSION_RULES.append(fn)
    return fn


@session_rule
def unmatched_names(s: SessionFacts) -> Iterator[Gap]:
    """A name on a sheet that matches no patient, or matches ambiguously."""
    sheet = s.session.sheet
    if sheet is None:
        return
    for line in sheet.lines:
        if s.line_matches.get(line.evidence) is None:
            detail = ("matches more than one patient" if line.evidence in s.ambiguous
                      else "matches no scheduled or EHR patient")
            yield s.gap(G.UNMATCHED_SIGNIN_NAME, line.evidence, key=line.evidence.describe(),
                        line=line, detail=detail)


@session_rule
def unbilled_attendance(s: SessionFacts) -> Iterator[Gap]:
    """A patient attended (signed or marked present) with no charge in the session. A per diem
    covers the patient's whole day: a patient billed one is never told to add a charge for
    another session of the day."""
    charged = {c.patient_id for c in s.session.charges}
    signed_by: dict[str, SigninLine] = {}
    if s.session.sheet is not None:
        for line in s.session.sheet.lines:
            pid = s.line_matches.get(line.evidence)
            if pid and line.signed:
                signed_by.setdefault(pid, line)
    present = {pid: row for pid, row in s.session.ehr_rows().items() if row.status is Status.PRESENT}
    for pid in sorted(pid for pid in signed_by.keys() | present.keys() if pid not in charged and pid not in s.covered):
        line = signed_by.get(pid)
        if line is not None:
            evidence, what = line.evidence, f"line {line_ref(line)} of the sheet signed"
        else:
            evidence, what = present[pid].evidence, "marked present in the EHR"
        yield s.gap(G.UNBILLED_ATTENDANCE, evidence, patient_id=pid, line=line, how=what)


def scan_uncertain(s: SessionFacts, problem: Problem, charges: Iterable[ChargeFacts]) -> Iterator[
        tuple[ChargeFacts | None, Gap]]:
    """SCAN_UNCERTAIN on a page of the session's sheet: "look at it (page, row)" is the facilitator's,
    so it is the session's gap, on its row. Where the row is a charged patient's line (a doubtful
    signature box: the line was kept, as unsigned), it is each of that patient's charges' gap too,
    so they are held until someone has looked. A code billed without the patient does not depend on
    the line, and is not held for it."""
    label, ev = s.session.display(), problem.evidence
    line = next((ln for ln in s.session.sheet.lines if ln.evidence == ev), None) if s.session.sheet else None
    pid = s.line_matches.get(line.evidence) if line is not None else None
    owners = [f for f in charges if pid is not None and f.charge.patient_id == pid and f.attendance_required]
    gap = Gap(code=G.SCAN_UNCERTAIN, message=problem.message, evidence=ev, session=label, key=ev.describe(),
              session_key=s.session.ident, line=ev.row)
    if not owners:
        yield None, gap
    for f in owners:
        yield f, replace(gap, charge_id=f.charge.charge_id, patient_id=pid)
