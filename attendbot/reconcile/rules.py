"""One small check per gap code. Each reads facts and the payer's :class:`Policy`, never a payer's name.

Three kinds of checks, each a list below:

* :data:`CHARGE_RULES` look at one charge and what the day knows about it
  (:class:`ChargeFacts`);
* :data:`DAY_RULES` look at all of one patient's charges of the day;
* :data:`SESSION_RULES` look at a session's sheet lines and attendees that no
  charge explains.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from attendbot.codes import GapCode as G
from attendbot.reconcile.policy import CodeRule, Policy
from attendbot.messages import gap_facts, gap_message, no_show_policy
from attendbot.model import Attendance, Charge, Evidence, Gap, Modality, NoteStatus, SigninLine, SigninSheet, Status
from attendbot.npi import npi_valid
from attendbot.reconcile.sessions import Session


@dataclass
class ChargeFacts:
    """What the day's sources say about one charge."""

    charge: Charge
    policy: Policy
    session: Session
    sheet: SigninSheet | None
    line: SigninLine | None
    ehr: Attendance | None
    attendees: int  # patients who attended the session, whatever their payer
    minutes: int | None
    supported_units: int | None

    @property
    def rule(self) -> CodeRule | None:
        return self.policy.rule

    @property
    def signed(self) -> bool:
        return self.line is not None and self.line.signed

    @property
    def present(self) -> bool:
        return self.ehr is not None and self.ehr.status is Status.PRESENT

    @property
    def attended(self) -> bool:
        """EHR marks them present, or their sheet line is signed."""
        return self.present or self.signed

    @property
    def absence(self) -> Status | None:
        """NO_SHOW or CANCELLED when the day's evidence says the patient did not come;
        None when they attended or nothing is known (no EHR row and no sheet)."""
        if self.attended:
            return None
        if self.ehr is not None:
            return self.ehr.status
        return Status.NO_SHOW if self.sheet is not None else None

    @property
    def modality(self) -> Modality:
        """Telehealth when the EHR modality or the place of service says so (phone: audio-only)."""
        if self.ehr is not None and self.ehr.modality in (Modality.VIDEO, Modality.AUDIO):
            return self.ehr.modality
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


ChargeRule = Callable[[ChargeFacts], Iterator[Gap]]
CHARGE_RULES: list[ChargeRule] = []


def charge_rule(fn: ChargeRule) -> ChargeRule:
    CHARGE_RULES.append(fn)
    return fn


# --- attendance -------------------------------------------------------------------


@charge_rule
def no_show(f: ChargeFacts) -> Iterator[Gap]:
    """No-shows and late cancellations are logged for every charged patient who did not attend."""
    if f.absence is None:
        return
    code = G.LATE_CANCEL if f.absence is Status.CANCELLED else G.NO_SHOW
    evidence = f.ehr.evidence if f.ehr else (f.sheet.evidence if f.sheet else None)
    yield f.gap(code, evidence, policy=no_show_policy(f.policy.no_show, f.policy.no_show_fee))


@charge_rule
def signin(f: ChargeFacts) -> Iterator[Gap]:
    """NO_SIGNIN_SHEET, NOT_ON_SIGNIN, MISSING_SIGNATURE, FACILITATOR_SIGNATURE_MISSING."""
    if f.absence is not None or not f.policy.require_signature:
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
    if f.ehr is None and (f.attended or f.absence is None):
        yield f.gap(G.NO_EHR_ATTENDANCE)


_STATUS_WORDS = {Status.NO_SHOW: "a no-show", Status.CANCELLED: "cancelled", Status.PRESENT: "present"}


@charge_rule
def attendance_conflict(f: ChargeFacts) -> Iterator[Gap]:
    """Sheet and EHR disagree: signed but marked absent, or present but not signed."""
    if f.ehr is None or f.sheet is None:
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


@charge_rule
def duration(f: ChargeFacts) -> Iterator[Gap]:
    """MISSING_TIMES, SHORT_DURATION, UNITS_EXCEED_TIME from minutes attended and the code's rule."""
    rule = f.rule
    if rule is None or not f.attended:
        return
    if f.minutes is None:
        if rule.needs_minutes:
            yield f.gap(G.MISSING_TIMES)
        elif f.charge.units > 1:
            yield f.gap(G.UNITS_EXCEED_TIME, units=f.charge.units, minutes="the session", supported=1)
        return
    if f.supported_units == 0:
        required = rule.min_minutes if rule.unit != "time" else (8 if rule.unit_rounding == "8-minute"
                                                                 else rule.unit_minutes)
        yield f.gap(G.SHORT_DURATION, minutes=f.minutes, required=required)
    elif f.supported_units < f.charge.units:
        yield f.gap(G.UNITS_EXCEED_TIME, units=f.charge.units, minutes=f.minutes, supported=f.supported_units)


# --- session, claim line -----------------------------------------------------------


@charge_rule
def group_size(f: ChargeFacts) -> Iterator[Gap]:
    """Each payer's charges are held when the session's attendees exceed that payer's maximum."""
    if f.attended and f.policy.max_group_size and f.attendees > f.policy.max_group_size:
        yield f.gap(G.GROUP_SIZE_EXCEEDED, attendees=f.attendees, maximum=f.policy.max_group_size)


@charge_rule
def telehealth(f: ChargeFacts) -> Iterator[Gap]:
    """Video needs a telehealth modifier, audio-only an audio modifier; in person, neither."""
    if not f.attended:
        return
    mods, pos, policy = set(f.charge.modifiers), f.charge.pos, f.policy
    if f.modality is Modality.IN_PERSON:
        wrong = sorted(mods & {*policy.telehealth_modifiers, *policy.audio_modifiers})
        if wrong:
            yield f.gap(G.TELEHEALTH_MODIFIER_UNEXPECTED, detail=f"modifier {', '.join(wrong)}")
        return
    needed = policy.telehealth_modifiers if f.modality is Modality.VIDEO else policy.audio_modifiers
    problems = []
    if needed and not mods & set(needed):
        problems.append(f"billed without modifier {' or '.join(needed)}")
    if pos and policy.telehealth_pos and pos not in policy.telehealth_pos:
        problems.append(f"billed with place of service {pos} instead of {' or '.join(policy.telehealth_pos)}")
    if problems:
        kind = "video" if f.modality is Modality.VIDEO else "audio-only"
        yield f.gap(G.TELEHEALTH_MODIFIER_MISSING, modality=kind, detail="; ".join(problems))


@charge_rule
def npi(f: ChargeFacts) -> Iterator[Gap]:
    """INVALID_NPI: rendering NPI missing or failing the check digit."""
    if not npi_valid(f.charge.npi):
        detail = "is missing" if not f.charge.npi else "fails the NPI check digit"
        yield f.gap(G.INVALID_NPI, detail=detail)


# --- one patient's day -------------------------------------------------------------


DayRule = Callable[[list[ChargeFacts]], Iterator[tuple[ChargeFacts, Gap]]]
DAY_RULES: list[DayRule] = []


def day_rule(fn: DayRule) -> DayRule:
    DAY_RULES.append(fn)
    return fn


@day_rule
def duplicate_charge(facts: list[ChargeFacts]) -> Iterator[tuple[ChargeFacts, Gap]]:
    """Same patient, code and date charged twice: every copy is held."""
    by_code: dict[str, list[ChargeFacts]] = defaultdict(list)
    for f in facts:
        by_code[f.charge.code].append(f)
    for same in by_code.values():
        if len(same) > 1:
            for f in same:
                others = ", ".join(o.charge.charge_id for o in same if o is not f)
                yield f, f.gap(G.DUPLICATE_CHARGE, others=others)


@day_rule
def same_day_conflict(facts: list[ChargeFacts]) -> Iterator[tuple[ChargeFacts, Gap]]:
    """Two codes the payer will not pay on one patient's same day (``same_day_exclusive``)."""
    for f in facts:
        for group in f.policy.same_day_exclusive:
            if f.charge.code not in group:
                continue
            for other in facts:
                if other is not f and other.charge.code in group and other.charge.code != f.charge.code:
                    yield f, f.gap(G.SAME_DAY_CONFLICT, other_code=other.charge.code,
                                   other=other.charge.charge_id)


# --- what no charge explains -------------------------------------------------------


@dataclass
class SessionFacts:
    session: Session
    line_matches: dict[Evidence, str | None]  # sheet line (by its evidence) -> patient id, None: no match
    ambiguous: dict[Evidence, tuple[str, ...]] = field(default_factory=dict)

    def gap(self, code: G, evidence: Evidence | None, key: str = "", patient_id: str | None = None,
            line: SigninLine | None = None, **values: object) -> Gap:
        label = self.session.display()
        values = {"session": label, **values}
        if line is not None:
            values["line"] = line_ref(line)
        return Gap(code=code, message=gap_message(code, **values), evidence=evidence,
                   patient_id=patient_id, session=label, key=key, session_key=self.session.ident,
                   line=line.row if line is not None else None, facts=gap_facts(code, values))


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
    """A patient attended (signed or marked present) with no charge in the session."""
    charged = {c.patient_id for c in s.session.charges}
    signed_by: dict[str, SigninLine] = {}
    if s.session.sheet is not None:
        for line in s.session.sheet.lines:
            pid = s.line_matches.get(line.evidence)
            if pid and line.signed:
                signed_by.setdefault(pid, line)
    present = {pid: rows for pid, rows in s.session.attendance.items()
               if any(r.status is Status.PRESENT for r in rows)}
    for pid in sorted((signed_by.keys() | present.keys()) - charged):
        line = signed_by.get(pid)
        if line is not None:
            evidence, what = line.evidence, f"line {line_ref(line)} of the sheet signed"
        else:
            evidence, what = present[pid][0].evidence, "marked present in the EHR"
        yield s.gap(G.UNBILLED_ATTENDANCE, evidence, patient_id=pid, line=line, how=what)
