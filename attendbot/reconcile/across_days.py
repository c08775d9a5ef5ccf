"""The checks no single day can make (SPEC "Across days"), on the day's facts and a :class:`History`.

* **Authorizations** (payers with ``requires_auth``, once an authorizations export
  has been read): ``AUTH_MISSING``, ``AUTH_EXPIRED``, ``AUTH_CODE_NOT_COVERED``,
  ``AUTH_EXHAUSTED``, and a charge's own auth number against the covering
  authorization's.
* **Concurrent reviews**: ``CONCURRENT_REVIEW_DUE`` from ``review_reminder_business_days``
  business days before an authorization's next review to the date itself, and
  after it while no newer authorization is on file.
* **Repeat no-shows**: ``REPEAT_NO_SHOW`` on the day the count reaches the threshold.
* **Weekly hours**: ``WEEKLY_HOURS_LOW`` from the day the week cannot reach the minimum.

Pure like the rest of ``reconcile``: the ledger's knowledge of other days arrives as a
:class:`History` of plain values (built by ``attendbot.run``), the program's calendar as
a function. Nothing here reads a file, a clock or the ledger.

Which authorization covers a charge: among the patient's authorizations for the
charge's payer (an authorization naming no payer is for any), those whose period
holds the day; of those, one listing the charge's code, the latest to start. Each
authorization row is one pool of units: units used as of the file, plus units the
ledger has billed under its codes since then (on and after ``as_of``; without a
units-used column, since its start), plus today's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from attendbot.calendar import business_days_before
from attendbot.codes import Disposition, GapCode as G, disposition_of
from attendbot.messages import gap_facts, gap_message
from attendbot.model import Authorization, AuthStatus, ChargeResult, Gap, PatientDay, SessionSummary
from attendbot.reconcile import rules
from attendbot.reconcile.policy import PolicyFor
from attendbot.reconcile.rules import ChargeFacts
from attendbot.reconcile.sessions import Session
from attendbot.reconcile.units import Interval, union_minutes


def _weekdays_only(day: dt.date) -> bool:
    return day.weekday() < 5


@dataclass(frozen=True)
class History:
    """What the ledger knows of days other than the one being reconciled, as plain values.

    Attributes:
        is_business_day: the program's calendar (business days, holidays, closed days).
        authorizations: patient id -> the rows of the newest authorizations file listing them.
        have_authorizations: an authorizations export has been read: the authorization rules apply.
        billed: patient id -> ``(code, service day, units)`` billed on earlier days (net of voids).
        no_shows: patient id -> ``(day, session)`` of each no-show on earlier reconciled days.
        program_minutes: earlier reconciled days (of the week at least) -> how long the program ran.
        patient_days: patient id -> earlier reconciled day -> what the patient attended.
        weekly_raised: patient id -> earlier days ``WEEKLY_HOURS_LOW`` was raised for them.
    """

    is_business_day: Callable[[dt.date], bool] = _weekdays_only
    authorizations: Mapping[str, Sequence[Authorization]] = field(default_factory=dict)
    have_authorizations: bool = False
    billed: Mapping[str, Sequence[tuple[str, dt.date, int]]] = field(default_factory=dict)
    no_shows: Mapping[str, frozenset[tuple[dt.date, str]]] = field(default_factory=dict)
    program_minutes: Mapping[dt.date, int | None] = field(default_factory=dict)
    patient_days: Mapping[str, Mapping[dt.date, PatientDay]] = field(default_factory=dict)
    weekly_raised: Mapping[str, frozenset[dt.date]] = field(default_factory=dict)


@dataclass
class Found:
    """What the checks across days add to the day."""

    charge_gaps: list[tuple[ChargeFacts, Gap]] = field(default_factory=list)
    other_gaps: list[Gap] = field(default_factory=list)  # a patient's review due on a day without charges
    patient_days: tuple[PatientDay, ...] = ()
    program_minutes: int | None = None


def check(day: dt.date, facts: Sequence[ChargeFacts], attended: tuple[PatientDay, ...],
          sessions: Sequence[SessionSummary], history: History | None, policy_for: PolicyFor) -> Found:
    """Every check across days for one day.

    Args:
        facts: one :class:`ChargeFacts` per charge of the day, with the gaps the day's own rules
            found on it (a voided charge bills nothing).
        attended: each charged patient's attendance of the day (:func:`patient_days`).
        sessions: the day's sessions, for how long the program's day ran.
        history: the ledger's other days; None runs only what the day alone gives (its attendance).
    """
    found = Found(patient_days=attended, program_minutes=program_minutes(sessions))
    if history is None:
        return found
    voided = {id(f.charge) for f in facts if disposition_of(g.code for g in f.gaps) == Disposition.VOID}
    live = [f for f in facts if id(f.charge) not in voided]
    if history.have_authorizations:
        found.charge_gaps.extend(authorization_gaps(day, live, history, policy_for))
    review_charge, review_other = review_gaps(day, facts, history, policy_for)
    found.charge_gaps.extend(review_charge)
    found.other_gaps.extend(review_other)
    found.charge_gaps.extend(repeat_no_shows(day, facts, history))
    found.charge_gaps.extend(weekly_hours(day, facts, found, history))
    return found


# --- authorizations ---------------------------------------------------------------


def _norm(text: str | None) -> str:
    return "".join((text or "").split()).casefold()


def same_payer(auth: Authorization, payer: str, code: str, policy_for: PolicyFor) -> bool:
    """An authorization naming no payer is for any; else its payer and the charge's resolve to one
    ``payers.toml`` section, or (both unknown) one name contains the other."""
    if not auth.payer:
        return True
    mine, theirs = policy_for(auth.payer, code).section, policy_for(payer, code).section
    if mine is not None or theirs is not None:
        return mine == theirs
    a, b = _norm(auth.payer), _norm(payer)
    return a in b or b in a


def covering(auths: Sequence[Authorization], day: dt.date, code: str) -> Authorization | None:
    """The authorization covering ``day``: one listing ``code`` if any does, the latest to start."""
    current = [a for a in auths if a.covers(day)]
    listing = [a for a in current if a.lists(code)]
    pool = listing or current
    return max(pool, key=lambda a: (a.start, a.end)) if pool else None


def _billable_units(f: ChargeFacts) -> int:
    """What a charge of the day bills: its units, or the fewer units the minutes support."""
    if f.supported_units is not None and f.attended:
        return min(f.charge.units, f.supported_units) if f.supported_units > 0 else f.charge.units
    return f.charge.units


def units_since(auth: Authorization, history: History, day: dt.date) -> int:
    """Units billed under the authorization's codes on days after its units-used figure and before ``day``."""
    since = auth.start
    if auth.units_used is not None and auth.as_of is not None:
        since = max(since, auth.as_of)
    return sum(units for code, when, units in history.billed.get(auth.patient_id, ())
               if auth.lists(code) and since <= when < day and when <= auth.end)


def authorization_gaps(day: dt.date, facts: Sequence[ChargeFacts], history: History,
                       policy_for: PolicyFor) -> list[tuple[ChargeFacts, Gap]]:
    out: list[tuple[ChargeFacts, Gap]] = []
    pools: dict[tuple[str, int], list[ChargeFacts]] = defaultdict(list)  # (patient, id(auth)) -> today's charges
    chosen: dict[tuple[str, int], Authorization] = {}
    for f in facts:
        if not f.policy.requires_auth:
            continue
        c = f.charge
        mine = [a for a in history.authorizations.get(c.patient_id, ())
                if same_payer(a, c.payer, c.code, policy_for)]
        auth = covering(mine, day, c.code)
        if auth is None:
            started = [a for a in mine if a.start <= day]
            if started:
                last = max(started, key=lambda a: (a.end, a.start))
                out.append((f, f.gap(G.AUTH_EXPIRED, last.evidence, auth=last.auth_number, end=last.end)))
            elif mine:
                first = min(mine, key=lambda a: a.start)
                out.append((f, f.gap(G.AUTH_MISSING, first.evidence,
                                     detail=f"{c.payer}'s authorization on file ({first.auth_number}) starts "
                                            f"{first.start}",
                                     action="hold the charge until it starts, or get one for this date")))
            else:
                out.append((f, f.gap(G.AUTH_MISSING, detail=f"no {c.payer} authorization is on file for the "
                                                           f"patient",
                                     action=f"get {c.payer}'s authorization for {c.code} before billing")))
            continue
        if not auth.lists(c.code):
            out.append((f, f.gap(G.AUTH_CODE_NOT_COVERED, auth.evidence, auth=auth.auth_number,
                                 codes=", ".join(auth.codes))))
            continue
        if c.auth_number and _norm(c.auth_number) != _norm(auth.auth_number):
            named = next((a for a in history.authorizations.get(c.patient_id, ())
                          if _norm(a.auth_number) == _norm(c.auth_number)), None)
            which = ("names no authorization on file" if named is None else
                     f"names the authorization that ended {named.end}" if named.end < day else
                     f"names the authorization that starts {named.start}" if named.start > day else
                     "names another authorization")
            out.append((f, f.gap(G.AUTH_MISSING, auth.evidence,
                                 detail=f"the claim line's auth # {c.auth_number} {which}; {auth.auth_number} "
                                        f"covers {day}",
                                 action=f"put {auth.auth_number} on the claim")))
        key = (c.patient_id, id(auth))
        pools[key].append(f)
        chosen[key] = auth
    for key, charged in pools.items():
        auth = chosen[key]
        used = auth.units_used or 0
        since = units_since(auth, history, day)
        today = sum(_billable_units(f) for f in charged)
        total = used + since + today
        if total > auth.units_authorized:
            as_of = f" as of {auth.as_of}" if auth.as_of and auth.units_used is not None else ""
            detail = f"{used} used{as_of}, {since} billed since, {today} today"
            for f in charged:
                out.append((f, f.gap(G.AUTH_EXHAUSTED, auth.evidence, auth=auth.auth_number, total=total,
                                     authorized=auth.units_authorized, detail=detail)))
    return out


# --- concurrent reviews -----------------------------------------------------------


def business_days_after(history: History, first: dt.date, last: dt.date) -> int:
    """How many business days after ``first`` up to and including ``last`` (a count; the dates
    themselves are :func:`attendbot.calendar.business_days_between`)."""
    return sum(1 for n in range(1, (last - first).days + 1)
               if history.is_business_day(first + dt.timedelta(days=n)))


def review_state(auths: Sequence[Authorization], day: dt.date, reminder_days: int,
                 history: History) -> tuple[Authorization, str, str] | None:
    """``(authorization, "due" | "overdue", when)`` when the patient's current authorization's next
    review is within ``reminder_days`` business days, or past and no newer authorization is on file."""
    current = [a for a in auths if a.covers(day) and a.next_review is not None]
    if not current:
        return None
    auth = max(current, key=lambda a: (a.start, a.end))
    review = auth.next_review
    if review >= day:
        if business_days_before(history.is_business_day, review, reminder_days) > day:
            return None
        left = sum(1 for n in range((review - day).days) if history.is_business_day(day + dt.timedelta(days=n)))
        when = (f"is due today ({review})" if review == day else
                f"is due {review:%a} {review}, {left} business day{'s' if left != 1 else ''} left with today")
        return auth, "due", when
    if any(a.start > auth.start for a in auths):
        return None  # a newer authorization has arrived
    late = business_days_after(history, review, day)
    return auth, "overdue", (f"was due {review:%a} {review} ({late} business day{'s' if late != 1 else ''} ago) "
                             "and no newer authorization is on file")


def review_gaps(day: dt.date, facts: Sequence[ChargeFacts], history: History,
                policy_for: PolicyFor) -> tuple[list[tuple[ChargeFacts, Gap]], list[Gap]]:
    charged: dict[str, ChargeFacts] = {}
    for f in facts:
        charged.setdefault(f.charge.patient_id, f)
    on_charges: list[tuple[ChargeFacts, Gap]] = []
    others: list[Gap] = []
    for pid, auths in sorted(history.authorizations.items()):
        f = charged.get(pid)
        probe = next((a for a in auths if a.covers(day) and a.next_review), None)
        if probe is None:
            continue
        policy = f.policy if f is not None else policy_for(probe.payer or "", probe.codes[0] if probe.codes else "")
        state = review_state(auths, day, policy.review_reminder_business_days, history)
        if state is None:
            continue
        auth, _, when = state
        payer = auth.payer or (f.charge.payer if f is not None else "the payer")
        values = {"auth": auth.auth_number, "when": when, "payer": payer}
        if f is not None:
            on_charges.append((f, f.gap(G.CONCURRENT_REVIEW_DUE, auth.evidence, **values)))
        else:
            others.append(Gap(code=G.CONCURRENT_REVIEW_DUE, message=gap_message(G.CONCURRENT_REVIEW_DUE, **values),
                              evidence=auth.evidence, patient_id=pid, key=auth.auth_number,
                              facts=gap_facts(G.CONCURRENT_REVIEW_DUE, values)))
    return on_charges, others


# --- repeat no-shows ----------------------------------------------------------------


def repeat_no_shows(day: dt.date, facts: Sequence[ChargeFacts], history: History) -> list[tuple[ChargeFacts, Gap]]:
    """On the day a patient's no-shows within ``days`` calendar days reach ``count``: once per
    crossing (the count before today's was under the threshold). Excused absences and late
    cancellations are not no-shows."""
    today: dict[str, list[ChargeFacts]] = defaultdict(list)
    for f in facts:
        if any(g.code == G.NO_SHOW for g in f.gaps):
            today[f.charge.patient_id].append(f)
    out = []
    for pid, missed in today.items():
        f = missed[0]
        threshold, days = f.policy.repeat_no_show
        window = day - dt.timedelta(days=days)  # within `days` days: after this day
        before = {(d, s) for d, s in history.no_shows.get(pid, ()) if window < d < day}
        now = {(day, m.session.display()) for m in missed}
        count = len(before) + len(now)
        if count >= threshold > len(before):
            out.append((f, f.gap(G.REPEAT_NO_SHOW, count=count, days=days, threshold=threshold)))
    return out


# --- weekly hours -------------------------------------------------------------------


def _m(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _span(session: Session, span: Interval | None) -> Interval | None:
    """The patient's time in an attended session: as recorded, or — times unknown — the session's hours."""
    if span is not None:
        return span
    if session.start is not None and session.end is not None and session.end > session.start:
        return (_m(session.start), _m(session.end))
    return None


def patient_days(days: Iterable[rules.PatientDay]) -> tuple[PatientDay, ...]:
    """Each charged patient's attendance of the day, from the patient-day reconcile built
    (:class:`attendbot.reconcile.rules.PatientDay`): every session they attended — EHR present
    or a signed line, charged or not, so a per diem charged once for two groups counts both —
    time in two at once counted once. A code billed without the patient is no attendance."""
    charged = sorted((d for d in days if d.charges), key=lambda d: d.patient_id)
    return tuple(PatientDay(d.patient_id, union_minutes(_spans(d.attended)), bool(d.attended)) for d in charged)


def _spans(attended: Iterable[tuple[Session, Interval | None]]) -> Iterator[Interval]:
    return (s for s in (_span(session, span) for session, span in attended) if s is not None)


def program_minutes(sessions: Sequence[SessionSummary]) -> int | None:
    """How long the program's day ran: its sessions' hours, overlaps once (None: no session has times)."""
    spans = [(_m(s.start), _m(s.end)) for s in sessions if s.start is not None and s.end is not None
             and s.end > s.start]
    return union_minutes(spans) if spans else None


def _hours(minutes: float) -> str:
    hours = minutes / 60
    return f"{hours:.1f}".rstrip("0").rstrip(".") + " h"


def weekly_hours(day: dt.date, facts: Sequence[ChargeFacts], found: Found,
                 history: History) -> list[tuple[ChargeFacts, Gap]]:
    """From the day a patient's week (Monday to Sunday) can no longer reach ``weekly_min_hours``
    or ``weekly_min_days``, and on each later day of that week the patient is charged.

    The best the week can still do: the minutes and days attended so far, plus, for each
    business day left (and each earlier business day the ledger has not reconciled), the
    longest day the program has run that week and one more day.
    """
    monday = day - dt.timedelta(days=day.weekday())
    today = {p.patient_id: p for p in found.patient_days}
    lengths = [m for d, m in history.program_minutes.items() if monday <= d < day and m]
    if found.program_minutes:
        lengths.append(found.program_minutes)
    longest = max(lengths, default=max((p.minutes for p in today.values()), default=0))
    by_patient: dict[str, list[ChargeFacts]] = defaultdict(list)
    for f in facts:
        by_patient[f.charge.patient_id].append(f)
    out = []
    for pid, charged in by_patient.items():
        need_f = max(charged, key=lambda f: (f.policy.weekly_min_hours, f.policy.weekly_min_days))
        min_hours = max(f.policy.weekly_min_hours for f in charged)
        min_days = max(f.policy.weekly_min_days for f in charged)
        if not min_hours and not min_days:
            continue
        minutes, days, open_days = 0, 0, 0
        past = history.patient_days.get(pid, {})
        for n in range(7):
            d = monday + dt.timedelta(days=n)
            if d == day:
                mine = today.get(pid)
            elif d < day and d in history.program_minutes:
                mine = past.get(d)
            else:  # a day still to come, or an earlier one the ledger has not reconciled
                open_days += history.is_business_day(d)
                continue
            if mine is not None:
                minutes += mine.minutes
                days += mine.attended
        best_minutes = minutes + open_days * longest
        short = []
        if min_hours and best_minutes < min_hours * 60:
            short.append(f"{_hours(minutes)} so far, at most {_hours(best_minutes)}")
        if min_days and days + open_days < min_days:
            short.append(f"{days} day{'s' if days != 1 else ''} so far, at most {days + open_days}")
        raised = sorted(d for d in history.weekly_raised.get(pid, ()) if monday <= d < day)
        if not short and not raised:
            continue
        required = " and ".join(x for x in (f"{_hours(min_hours * 60)}" if min_hours else "",
                                            f"{min_days} days" if min_days else "") if x)
        progress = "; ".join(short) or (f"{_hours(minutes)} and {days} day{'s' if days != 1 else ''} so far")
        since = f", flagged since {raised[0]:%a} {raised[0]}" if raised else ""
        out.append((need_f, need_f.gap(G.WEEKLY_HOURS_LOW, week=f"{monday}", required=required,
                                       progress=progress, since=since)))
    return out


# --- the Authorizations sheet ---------------------------------------------------------


def authorization_status(day: dt.date, charges: Sequence[ChargeResult], history: History,
                         policy_for: PolicyFor) -> list[AuthStatus]:
    """Each patient's covering authorization (or latest one), units left after the day, next review."""
    today: dict[tuple[str, str], int] = defaultdict(int)
    for cr in charges:
        if cr.disposition == Disposition.VOID:
            continue
        units = cr.charge.units
        if cr.disposition == Disposition.ADJUST and cr.supported_units is not None:
            units = min(units, cr.supported_units)
        today[(cr.charge.patient_id, cr.charge.code.upper())] += units
    payer_of = {cr.charge.patient_id: cr.charge.payer for cr in charges}
    out = []
    for pid, auths in sorted(history.authorizations.items()):
        current = [a for a in auths if a.covers(day)]
        if current:
            auth, state = max(current, key=lambda a: (a.start, a.end)), "covering"
        elif any(a.start <= day for a in auths):
            auth, state = max((a for a in auths if a.start <= day), key=lambda a: (a.end, a.start)), "expired"
        else:
            auth, state = min(auths, key=lambda a: a.start), "not started"
        units_today = sum(n for (p, code), n in today.items() if p == pid and auth.lists(code)) \
            if state == "covering" else 0
        payer = auth.payer or payer_of.get(pid) or ""
        reminder = policy_for(payer, auth.codes[0] if auth.codes else "").review_reminder_business_days
        review = review_state(auths, day, reminder, history) if state == "covering" else None
        out.append(AuthStatus(patient_id=pid, auth_number=auth.auth_number, payer=auth.payer, codes=auth.codes,
                              start=auth.start, end=auth.end, units_authorized=auth.units_authorized,
                              units_used=auth.units_used, units_billed_since=units_since(auth, history, day),
                              units_today=units_today, next_review=auth.next_review, state=state,
                              review=review[1] if review else ""))
    return out
