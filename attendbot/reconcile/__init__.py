"""Reconcile one business day: records and policy in, dispositions and gaps out.

``reconcile`` is pure: no clock, no files, no network. The pipeline gives it the
day's records (from the ledger) and the unreadable files and pages, and writes
what it returns.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from attendbot.codes import GapCode
from attendbot.messages import gap_message
from attendbot.model import (Attendance, Charge, ChargeResult, DayResult, Evidence, Gap, NoShow, Problem,
                             SessionSummary, SigninSheet, Status)
from attendbot.names import match_name
from attendbot.reconcile import across_days
from attendbot.reconcile.policy import PolicyFor
from attendbot.reconcile.rules import CHARGE_RULES, DAY_RULES, SESSION_RULES, ChargeFacts, SessionFacts
from attendbot.reconcile.sessions import Session, build_sessions
from attendbot.reconcile.units import minutes_attended, supported_units


def _match_lines(session: Session, day_candidates: list[tuple[str, str]]) -> SessionFacts:
    """Each sheet line -> a patient id: first among the session's patients, then the day's."""
    facts = SessionFacts(session, {})
    if session.sheet is None:
        return facts
    local = [(c.patient_id, c.patient_name) for c in session.charges]
    local += [(pid, r.patient_name) for pid, rows in session.attendance.items() for r in rows if r.patient_name]
    for line in session.sheet.lines:
        match = match_name(line.printed_name, local)
        if match.key is None and not match.ambiguous:
            match = match_name(line.printed_name, day_candidates)
        facts.line_matches[line.evidence] = match.key
        if match.ambiguous:
            facts.ambiguous[line.evidence] = match.ambiguous
    return facts


def _attendees(session: Session, facts: SessionFacts) -> set[str]:
    """Patient ids who attended, plus one placeholder per signed line matching nobody."""
    people = {pid for pid, rows in session.attendance.items() if any(r.status is Status.PRESENT for r in rows)}
    if session.sheet is not None:
        for line in session.sheet.lines:
            if line.signed:
                people.add(facts.line_matches.get(line.evidence) or line.evidence.describe())
    return people


def _ehr_row(rows: list[Attendance]) -> Attendance | None:
    """A patient's row for the session; a present row wins over an absence."""
    return next((r for r in rows if r.status is Status.PRESENT), rows[0] if rows else None)


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
            line with no printed name is ``UNMATCHED_SIGNIN_NAME``).
        history: what the ledger knows of other days, for the checks across days
            (:mod:`attendbot.reconcile.across_days`); None: the day alone.

    Returns:
        A :class:`DayResult`: one :class:`ChargeResult` per charge, every gap, the no-show log.
    """
    charges = [c for c in charges if c.service_date == day]
    index = build_sessions(charges, [a for a in attendance if a.service_date == day],
                           [s for s in sheets if s.service_date == day])
    day_candidates = list(dict.fromkeys(
        [(c.patient_id, c.patient_name) for c in charges]
        + [(a.patient_id, a.patient_name) for a in attendance if a.service_date == day and a.patient_name]))

    results: list[ChargeResult] = []
    gaps: list[Gap] = []
    no_shows: list[NoShow] = []
    summaries: list[SessionSummary] = []
    by_patient: dict[str, list[ChargeFacts]] = defaultdict(list)
    facts_of: dict[int, ChargeFacts] = {}

    for session in index.sessions:
        sfacts = _match_lines(session, day_candidates)
        attendees = _attendees(session, sfacts)
        line_of = {}
        if session.sheet is not None:
            for line in session.sheet.lines:
                pid = sfacts.line_matches.get(line.evidence)
                if pid and (pid not in line_of or line.signed):
                    line_of[pid] = line
        session_minutes: list[int] = []
        for charge in session.charges:
            policy = policy_for(charge.payer, charge.code)
            line = line_of.get(charge.patient_id)
            ehr = _ehr_row(session.attendance.get(charge.patient_id, []))
            minutes = minutes_attended(
                (line.time_in if line else None, ehr.time_in if ehr else None),
                (line.time_out if line else None, ehr.time_out if ehr else None),
                session.start, session.end)
            rule = policy.rule
            facts = ChargeFacts(charge=charge, policy=policy, session=session, sheet=session.sheet,
                                line=line, ehr=ehr, attendees=len(attendees), minutes=minutes,
                                supported_units=None)
            if not facts.attended:
                facts.supported_units = 0 if facts.absence is not None else None
            elif rule is None:
                facts.supported_units = charge.units
            elif minutes is not None:
                facts.supported_units = supported_units(rule, minutes)
            elif not rule.needs_minutes:
                facts.supported_units = min(charge.units, 1)
            if minutes is not None:
                session_minutes.append(minutes)
            facts_of[id(charge)] = facts
            by_patient[charge.patient_id].append(facts)
        for rule_fn in SESSION_RULES:
            gaps.extend(rule_fn(sfacts))
        sheet = session.sheet
        summaries.append(SessionSummary(
            label=session.display(), start=session.start, end=session.end, facilitator=session.facilitator,
            sheet=sheet.evidence if sheet else None, charges=len(session.charges), attendees=len(attendees),
            signed_lines=sum(1 for ln in sheet.lines if ln.signed) if sheet else 0,
            sheet_lines=len(sheet.lines) if sheet else 0,
            minutes=max(session_minutes) if session_minutes else None, key=session.ident))

    charge_gaps: dict[int, list[Gap]] = defaultdict(list)
    for charge in charges:
        facts = facts_of[id(charge)]
        for rule_fn in CHARGE_RULES:
            charge_gaps[id(charge)].extend(rule_fn(facts))
    for facts_list in by_patient.values():
        for rule_fn in DAY_RULES:
            for owner, gap in rule_fn(facts_list):
                charge_gaps[id(owner.charge)].append(gap)

    across = across_days.check(day, [facts_of[id(c)] for c in charges], charge_gaps, summaries, history, policy_for)
    for owner, gap in across.charge_gaps:
        charge_gaps[id(owner.charge)].append(gap)

    unknown: set[str] = set()
    sections: dict[str, str | None] = {}
    for charge in charges:
        facts = facts_of[id(charge)]
        mine = charge_gaps[id(charge)]
        policy = facts.policy
        sections[charge.payer] = policy.section
        if policy.section is None:
            unknown.add(charge.payer)
        fee = policy.no_show_fee if policy.no_show == "fee" else None
        absent = facts.absence
        if absent is not None:
            no_shows.append(NoShow(charge_id=charge.charge_id, patient_id=charge.patient_id,
                                   session=facts.session.display(), payer=charge.payer,
                                   kind="late_cancel" if absent is Status.CANCELLED else "no_show",
                                   policy=policy.no_show, fee=fee or 0.0))
        results.append(ChargeResult(charge=charge, gaps=mine, supported_units=facts.supported_units,
                                    session_label=facts.session.display(), session_key=facts.session.ident,
                                    no_show_fee=fee if absent is not None else None))
        gaps.extend(mine)

    for evidence, reason, action in unreadable:
        gaps.append(Gap(code=GapCode.UNREADABLE_FILE, evidence=evidence, key=evidence.describe(),
                        message=gap_message(GapCode.UNREADABLE_FILE, file=evidence.describe(), reason=reason,
                                            action=action)))
    for problem in problems:
        gaps.append(Gap(code=GapCode(problem.gap), message=problem.message,
                        evidence=problem.evidence, key=problem.evidence.describe()))
    gaps.extend(across.other_gaps)
    return DayResult(day=day, charges=results, gaps=gaps, no_shows=no_shows, sessions=summaries,
                     unknown_payers=sorted(unknown), payer_sections=dict(sorted(sections.items())),
                     patient_days=across.patient_days, program_minutes=across.program_minutes)
