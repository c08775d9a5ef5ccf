"""The patient-day: what each charge's minutes and units are, judged the way payers judge them.

* a **per diem** (``unit = "day"``) is the patient's day: the minutes of every session they
  attended that day, time in two sessions at once counted once, against ``min_minutes``;
* a **time code** (``unit = "time"``) is counted per patient, code and day: the minutes of
  all of that code's lines are added up (CMS's method), rounded once, capped at
  ``max_units_per_day``, and the units shared among the lines in export order;
* a **per-session code** counts its own session; too few minutes that still meet its
  ``down_code`` (or that code's own down-code…) support the down-code instead;
* a code billed without the patient (``attendance = "not_required"``) counts its session's
  recorded time, or the session's scheduled length.

Only :class:`~attendbot.reconcile.policy.CodeRule` fields decide; never a code's name.
"""

from __future__ import annotations

from collections import defaultdict

from attendbot.reconcile.policy import CodeRule, PolicyFor
from attendbot.reconcile.rules import ChargeFacts, PatientDay
from attendbot.reconcile.units import allocate, supported_units, union_minutes


def down_chain(policy_for: PolicyFor, payer: str, rule: CodeRule | None) -> tuple[CodeRule, ...]:
    """The code's down-codes for this payer, nearest first (90837 → 90834 → 90832); a loop in
    ``down_code`` ends the chain. A down-code with no section has no minimum of its own."""
    chain: list[CodeRule] = []
    seen = {rule.code.upper()} if rule else set()
    code = rule.down_code if rule else None
    while code and code.upper() not in seen:
        seen.add(code.upper())
        down = policy_for(payer, code).rule or CodeRule(code=code.upper(), unit="session")
        chain.append(down)
        code = down.down_code
    return tuple(chain)


def judge(days: dict[str, PatientDay]) -> None:
    """Set each charge's ``minutes``, ``supported_units`` (None: unknown until times are
    recorded) and, for a down-code, ``supported_code``."""
    for day in days.values():
        by_code: dict[str, list[ChargeFacts]] = defaultdict(list)
        for f in day.charges:
            if f.rule is not None and f.rule.unit == "time" and f.attendance_required:
                by_code[f.charge.code].append(f)
            else:
                _judge_one(f, day)
        for lines in by_code.values():
            _judge_time_code(lines)


def _unknown_or_one(f: ChargeFacts) -> int | None:
    """No minutes: unknown when the code needs them, else the one unit a session or day gives."""
    return None if f.rule.needs_minutes else min(f.charge.units, 1)


def _judge_one(f: ChargeFacts, day: PatientDay) -> None:
    rule = f.rule
    f.minutes = f.session_minutes
    if not f.attended:
        f.supported_units = 0 if f.absence is not None else None
        return
    if rule is None:  # no section, no duration rule
        f.supported_units = f.charge.units
        return
    if rule.unit == "day" and f.attendance_required:
        f.minutes = day.minutes
        if f.minutes is None or (f.minutes < rule.min_minutes and day.untimed):
            f.supported_units = _unknown_or_one(f)  # the sessions without times may make up the day
        else:
            f.supported_units = supported_units(rule, f.minutes)
        return
    if f.minutes is None:
        f.supported_units = _unknown_or_one(f)
        return
    if rule.unit == "time" or f.minutes >= rule.min_minutes:
        f.supported_units = supported_units(rule, f.minutes)
        return
    for down in f.down_rules:
        if f.minutes >= down.min_minutes:
            f.supported_code, f.supported_units = down.code, 1
            return
    f.supported_units = 0


def _judge_time_code(lines: list[ChargeFacts]) -> None:
    """One patient's lines of one time code on one day: minutes added up, then rounded once."""
    attended = tuple(f for f in lines if f.attended)
    for f in lines:
        f.minutes = f.session_minutes
        if not f.attended:
            f.supported_units = 0 if f.absence is not None else None
        f.code_day = attended
    timed = [f for f in attended if f.interval is not None]
    for f in attended:
        if f.interval is None:
            f.supported_units = None  # MISSING_TIMES: its minutes would count toward the day's units
    if not timed:
        return
    minutes = union_minutes(f.interval for f in timed)
    total = supported_units(timed[0].rule, minutes)
    for f, share in zip(timed, allocate(total, [f.charge.units for f in timed])):
        f.minutes, f.code_supported, f.supported_units = minutes, total, share
