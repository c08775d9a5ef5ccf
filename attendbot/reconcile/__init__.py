"""Reconcile one business day: records and policy in, dispositions and gaps out.

``reconcile`` is pure: no clock, no files, no network. The pipeline gives it the
day's records (from the ledger) and the unreadable files and pages, and writes
what it returns.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import TypeVar

from attendbot.codes import GapCode
from attendbot.messages import NO_NOTE_STATUS, gap_message
from attendbot.model import (Attendance, Charge, ChargeResult, DayResult, Evidence, Gap, NoShow, Problem,
                             SessionSummary, SigninLine, SigninSheet, Status)
from attendbot.names import NameIndex, Roster, roster
from attendbot.reconcile import across_days
from attendbot.reconcile.day import down_chain, judge
from attendbot.reconcile.policy import PolicyFor
from attendbot.reconcile.rules import (CHARGE_RULES, DAY_RULES, SESSION_RULES, ChargeFacts, PatientDay,
                                       SessionFacts, scan_uncertain)
from attendbot.reconcile.sessions import Session, build_sessions
from attendbot.reconcile.units import Interval, attended_interval

T = TypeVar("T")


def _match_lines(session: Session, day_names: Roster | NameIndex) -> SessionFacts:
    """Each sheet line -> a patient id: first among the session's patients, then the day's."""
    facts = SessionFacts(session, {})
    if session.sheet is None:
        return facts
    local = roster([(c.patient_id, c.patient_name) for c in session.charges]
                   + [(r.patient_id, r.patient_name) for r in session.attendance if r.patient_name])
    for line in session.sheet.lines:
        match = local.match(line.printed_name)
        if match.key is None and not match.ambiguous:
            match = day_names.match(line.printed_name)
        facts.line_matches[line.evidence] = match.key
        if match.ambiguous:
            facts.ambiguous[line.evidence] = match.ambiguous
    return facts


def _attendees(session: Session, facts: SessionFacts) -> set[str]:
    """Patient ids who attended, plus one placeholder per signed line matching nobody."""
    people = {r.patient_id for r in session.attendance if r.status is Status.PRESENT}
    if session.sheet is not None:
        for line in session.sheet.lines:
            if line.signed:
                people.add(facts.line_matches.get(line.evidence) or line.evidence.describe())
    return people


def _let_go(facts: list[ChargeFacts]) -> None:
    """Undo the links between the day's facts (a charge and its code's other lines, its charge
    id's other lines), so each is freed as soon as nothing else holds it rather than when the
    cycle collector next runs (on a large day, the next hundreds of megabytes)."""
    for f in facts:
        f.code_day, f.shared_id = (), ()


def _times(line: SigninLine | None, ehr: Attendance | None) -> tuple[tuple, tuple]:
    return ((line.time_in if line else None, ehr.time_in if ehr else None),
            (line.time_out if line else None, ehr.time_out if ehr else None))


def _scheduled(session: Session) -> int | None:
    if session.start is None or session.end is None:
        return None
    return max(0, (session.end.hour * 60 + session.end.minute) - (session.start.hour * 60 + session.start.minute))


_NO_SHOW_KIND = {Status.NO_SHOW: "no_show", Status.CANCELLED: "late_cancel", Status.EXCUSED: "excused"}


def _collector_paused(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` run with Python's cycle collector paused. Reconciling builds millions of objects on
    a large day and lets go of none of them until it returns, so every collection would only walk
    them all again (a third of the time); the few cycles it drops are collected afterwards."""
    @functools.wraps(fn)
    def paused(*args, **kwargs) -> T:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()
    return paused


@_collector_paused
def reconcile(day: dt.date, charges: list[Charge], attendance: list[Attendance], sheets: list[SigninSheet],
              policy_for: PolicyFor, unreadable: Iterable[tuple[Evidence, str, str]] = (),
              problems: Iterable[Problem] = (), history: across_days.History | None = None) -> DayResult:
    """Reconcile one day.

    Args:
        day: the business day; records of other days are ignored.
        charges, attendance, sheets: the day's records.
        policy_for: ``(payer, code) -> Policy``: the rules that apply to a charge.
        unreadable: ``(evidence, reason, action)`` for each file or page that could not be read.
        problems: what readers found on the day's sheets that is a gap of its own (a signed
            line with no printed name is ``UNMATCHED_SIGNIN_NAME``). A ``SCAN_UNCERTAIN`` on a page
            one of the day's sessions took its sheet from is that session's gap, on its row, and the
            gap of the charges whose patient's line that row is
            (:func:`~attendbot.reconcile.rules.scan_uncertain`); the rest are day-level gaps.
        history: what the ledger knows of other days, for the checks across days
            (:mod:`attendbot.reconcile.across_days`); None: the day alone.

    Returns:
        A :class:`DayResult`: one :class:`ChargeResult` per charge, every gap, the no-show log.

    Raises:
        ConfigError: from ``policy_for``, when a payer name matches two ``payers.toml`` sections
            equally.
    """
    policy_for = functools.cache(policy_for)  # one Policy a payer and code, not one a charge
    charges = [c for c in charges if c.service_date == day]
    attendance = [a for a in attendance if a.service_date == day]
    index = build_sessions(charges, attendance, [s for s in sheets if s.service_date == day])
    day_names = roster(chain(((c.patient_id, c.patient_name) for c in charges),
                             ((a.patient_id, a.patient_name) for a in attendance if a.patient_name)))

    results: list[ChargeResult] = []
    gaps: list[Gap] = []
    no_shows: list[NoShow] = []
    summaries: list[SessionSummary] = []
    days: dict[str, PatientDay] = {}
    facts_of: dict[int, ChargeFacts] = {}

    def patient_day(pid: str) -> PatientDay:
        pday = days.get(pid)
        if pday is None:
            pday = days[pid] = PatientDay(pid)
        return pday

    # Each sheet line's patient, then (the day's names let go of) each session's people: who
    # attended, and when; each charge's facts in its session.
    session_facts = [_match_lines(session, day_names) for session in index.sessions]
    del day_names
    for session, sfacts in zip(index.sessions, session_facts):
        attendees = _attendees(session, sfacts)
        line_of: dict[str, SigninLine] = {}
        if session.sheet is not None:
            for line in session.sheet.lines:
                pid = sfacts.line_matches.get(line.evidence)
                if pid and (pid not in line_of or line.signed):
                    line_of[pid] = line
        ehr_of = session.ehr_rows()
        people = dict.fromkeys([c.patient_id for c in session.charges] + list(ehr_of) + list(line_of))
        where: dict[str, tuple] = {}
        stretches: dict[Interval | None, tuple[Session, Interval | None]] = {}  # one tuple a stretch of the session
        for pid in people:
            line = line_of.get(pid)
            ehr = ehr_of.get(pid)
            span = attended_interval(*_times(line, ehr), session.start, session.end)
            where[pid] = (line, ehr, span)
            if (ehr is not None and ehr.status is Status.PRESENT) or (line is not None and line.signed):
                stretch = stretches.get(span)
                if stretch is None:
                    stretch = stretches[span] = (session, span)
                pday = patient_day(pid)
                pday.attended = (*pday.attended, stretch)
        session_minutes: list[int] = []
        for charge in session.charges:
            policy = policy_for(charge.payer, charge.code)
            line, ehr, span = where[charge.patient_id]
            minutes = None if span is None else span[1] - span[0]
            facts = ChargeFacts(charge=charge, policy=policy, session=session, sheet=session.sheet,
                                line=line, ehr=ehr, attendees=len(attendees), minutes=minutes,
                                supported_units=None, session_minutes=minutes, interval=span,
                                down_rules=down_chain(policy_for, charge.payer, policy.rule))
            if not facts.attendance_required and minutes is None:
                facts.session_minutes = _scheduled(session)  # billed without the patient: the session's time
            if minutes is not None:
                session_minutes.append(minutes)
            facts_of[id(charge)] = facts
        sheet = session.sheet
        who = session.who()
        summaries.append(SessionSummary(
            label=session.display(), start=session.start, end=session.end, facilitator=who.name,
            sheet=sheet.evidence if sheet else None, charges=len(session.charges), attendees=len(attendees),
            signed_lines=sum(1 for ln in sheet.lines if ln.signed) if sheet else 0,
            sheet_lines=len(sheet.lines) if sheet else 0,
            minutes=max(session_minutes) if session_minutes else None, key=session.ident,
            facilitator_note=who.note,
            lines={c.charge_id: line_of[c.patient_id].evidence for c in session.charges if c.patient_id in line_of},
            read_by=sheet.how if sheet else None,
            scanned_lines=tuple(ln for ln in sheet.lines if ln.how) if sheet else ()))

    in_order = [facts_of[id(charge)] for charge in charges]  # each charge's facts, in export order
    del facts_of

    # The patient-day: each patient's charges in export order, then minutes and units.
    first_of: dict[str, ChargeFacts] = {}  # charge id -> its first line
    repeated: dict[str, list[ChargeFacts]] = defaultdict(list)  # charge id -> its lines, where there are two
    for facts in in_order:
        pday = patient_day(facts.charge.patient_id)
        pday.charges = (*pday.charges, facts)
        first = first_of.setdefault(facts.charge.charge_id, facts)
        if first is not facts:
            same = repeated[facts.charge.charge_id]
            same.extend([first, facts] if not same else [facts])
    del first_of
    for same in repeated.values():
        if len({f.charge.patient_id for f in same}) > 1:
            for f in same:
                f.shared_id = [o for o in same if o.charge.patient_id != f.charge.patient_id]
    judge(days)
    attended = across_days.patient_days(days.values())
    day_gaps = [found for pday in days.values() for rule_fn in DAY_RULES for found in rule_fn(pday.charges)]
    days.clear()  # judged, summed up and checked: a large day's million patient-days go now

    covered = frozenset(f.charge.patient_id for f in in_order
                        if f.rule is not None and f.rule.unit == "day" and f.attendance_required
                        and f.absence is None)
    for sfacts in session_facts:
        sfacts.covered = covered
        for rule_fn in SESSION_RULES:
            gaps.extend(rule_fn(sfacts))
    # the sessions a reader's doubt is about (the rest of the day's session facts let go)
    owned = [(problem, next((sf for sf in session_facts if sf.shows(problem.evidence)), None)
              if problem.gap == GapCode.SCAN_UNCERTAIN else None) for problem in problems]
    del session_facts, covered

    for facts in in_order:  # a list of gaps only for a charge that has some: most have none
        found = [gap for rule_fn in CHARGE_RULES for gap in rule_fn(facts)]
        if found:
            facts.gaps = [*facts.gaps, *found]
    for owner, gap in day_gaps:  # after the charge's own gaps
        owner.gaps = [*owner.gaps, gap]
    del day_gaps

    day_problems = []  # reader problems no session owns: day-level gaps (the billing summary)
    for problem, sfacts in owned:
        if sfacts is None:
            day_problems.append(problem)
            continue
        charged = [f for f in in_order if f.session is sfacts.session]
        for owner, gap in scan_uncertain(sfacts, problem, charged):
            if owner is None:
                gaps.append(gap)
            else:
                owner.gaps = [*owner.gaps, gap]

    across = across_days.check(day, in_order, attended, summaries, history, policy_for)
    for owner, gap in across.charge_gaps:
        owner.gaps = [*owner.gaps, gap]
    across.charge_gaps.clear()
    _let_go(in_order)

    notes: list[str] = []
    if any(a.note_status is None for a in attendance) and any(
            f.attended and f.ehr is not None and f.ehr.note_status is None and f.policy.require_signed_note
            for f in in_order):
        notes.append(NO_NOTE_STATUS)

    unknown: set[str] = set()
    sections: dict[str, str | None] = {}
    for i, facts in enumerate(in_order):
        in_order[i] = None  # each charge's facts go once its result is built
        charge = facts.charge
        mine = facts.gaps or []
        policy = facts.policy
        sections[charge.payer] = policy.section
        if policy.section is None:
            unknown.add(charge.payer)
        fee = facts.fee
        absent = facts.absence
        if absent is not None:
            no_shows.append(NoShow(charge_id=charge.charge_id, patient_id=charge.patient_id,
                                   session=facts.session.display(), payer=charge.payer,
                                   kind=_NO_SHOW_KIND[absent], policy="fee" if fee is not None else "not_billable",
                                   fee=fee or 0.0))
        results.append(ChargeResult(charge=charge, gaps=mine, supported_units=facts.supported_units,
                                    session_label=facts.session.display(), session_key=facts.session.ident,
                                    no_show_fee=fee, supported_code=facts.supported_code))
        gaps.extend(mine)

    for evidence, reason, action in unreadable:
        gaps.append(Gap(code=GapCode.UNREADABLE_FILE, evidence=evidence, key=evidence.describe(),
                        message=gap_message(GapCode.UNREADABLE_FILE, file=evidence.describe(), reason=reason,
                                            action=action)))
    iso = day.isoformat()
    if not charges:
        gaps.append(Gap(code=GapCode.NO_CHARGE_EXPORT, key=iso, message=gap_message(GapCode.NO_CHARGE_EXPORT, day=iso)))
    if not any(a.service_date == day for a in attendance):
        gaps.append(Gap(code=GapCode.NO_EHR_EXPORT, key=iso, message=gap_message(GapCode.NO_EHR_EXPORT, day=iso)))
    for problem in day_problems:
        gaps.append(Gap(code=GapCode(problem.gap), message=problem.message,
                        evidence=problem.evidence, key=problem.evidence.describe()))
    gaps.extend(across.other_gaps)
    return DayResult(day=day, charges=results, gaps=gaps, no_shows=no_shows, sessions=summaries,
                     unknown_payers=sorted(unknown), payer_sections=dict(sorted(sections.items())),
                     patient_days=across.patient_days, program_minutes=across.program_minutes,
                     notes=tuple(notes))
