"""Group sessions matched across the three sources.

Sessions are matched by date (the caller passes one day) and group name, where
case, punctuation and words like "group" or "session" do not stop a match; the
session time decides between two sessions of the same name. The charge export
defines the scheduled sessions; a sheet or EHR row that matches none of them
starts an unscheduled session of its own (its attendees may be unbilled). A misspelt
group name is compared only with the group names sharing a word with it, give or take one
edit (``names.WordIndex``), so a day of many groups costs no more per row than a day of few.

Two things only the day as a whole can settle are settled here:

* **Times in context.** A sheet cannot tell whether ``Time: 1:00 - 4:00`` is
  morning or afternoon; the charge export (or the EHR) can. A sheet's times that
  fall outside the session's scheduled hours, but inside them twelve hours later,
  are read in the afternoon (:func:`fit_to_hours`).
* **Who ran the session** (:func:`resolve_facilitator`): the sheet, then the
  EHR's staff column, then the charge export's rendering provider; where they name
  different people, a note for billing says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from attendbot.model import Attendance, Charge, SigninLine, SigninSheet, Status
from attendbot.names import WordIndex, contains_any, first_and_last, not_a_person, same_person, words

_FILLER = {"group", "groups", "session", "grp", "the", "and", "of"}
_FUZZY = 90  # two normalized names this alike (0-100) are one group with a typo


@lru_cache(maxsize=4096)  # every row of a session names its group
def group_key(name: str) -> str:
    """``'The Morning Process Group'`` -> ``'morning process'``."""
    tokens = [t for t in words(name).split() if t not in _FILLER]
    return " ".join(tokens) or words(name)


def _minutes(t: dt.time | None) -> int | None:
    return None if t is None else t.hour * 60 + t.minute


# --- times in context -------------------------------------------------------------

HOURS_SLACK = 60  # minutes: a time this far outside the session's hours still belongs to it


def _fits(t: dt.time, start: dt.time, end: dt.time) -> bool:
    lo, hi, m = _minutes(start), _minutes(end), _minutes(t)
    if hi < lo:
        hi += 24 * 60
    return lo - HOURS_SLACK <= m <= hi + HOURS_SLACK


def _afternoon(t: dt.time) -> dt.time | None:
    return dt.time(t.hour + 12, t.minute) if t.hour < 12 else None


def in_hours(t: dt.time | None, start: dt.time | None, end: dt.time | None) -> dt.time | None:
    """``t`` as read, or twelve hours later when only that reading falls within the session's
    hours (a sheet's ``1:30`` in a 12:30–1:30 PM group read as 01:30)."""
    if t is None or start is None or end is None or _fits(t, start, end):
        return t
    later = _afternoon(t)
    return later if later is not None and _fits(later, start, end) else t


def fit_to_hours(sheet: SigninSheet, start: dt.time | None, end: dt.time | None) -> SigninSheet:
    """The sheet with its header and line times read within the session's scheduled hours."""
    if start is None or end is None:
        return sheet
    lines = tuple(_fit_line(ln, start, end) for ln in sheet.lines)
    first, last = in_hours(sheet.start, start, end), in_hours(sheet.end, start, end)
    if first == sheet.start and last == sheet.end and all(a is b for a, b in zip(lines, sheet.lines)):
        return sheet
    return dataclasses.replace(sheet, start=first, end=last, lines=lines)


def _fit_line(line: SigninLine, start: dt.time, end: dt.time) -> SigninLine:
    time_in, time_out = in_hours(line.time_in, start, end), in_hours(line.time_out, start, end)
    if time_in == line.time_in and time_out == line.time_out:
        return line
    return dataclasses.replace(line, time_in=time_in, time_out=time_out)


# --- who ran the session ----------------------------------------------------------


@dataclass(frozen=True)
class Facilitator:
    """Who ran a session: the name as its source wrote it, which source, and (for billing only)
    how the sources disagree."""

    name: str | None
    source: str | None = None  # "sheet" | "EHR" | "charge export"
    note: str | None = None


def resolve_facilitator(sheet: str | None, ehr: Iterable[str | None] = (), charges: Iterable[str | None] = (),
                        patients: Iterable[str] = ()) -> Facilitator:
    """The session's facilitator: the sheet's, else the EHR staff column's, else the charge
    export's rendering provider (the most frequent name of each).

    A value that is not one person's name, or that holds the name of one of the session's
    patients, is never taken. Where the sources name different people, the ``note`` says
    who each says (for the billing lead: a rendering provider may rightly be a supervisor).
    """
    patients = {first_and_last(p) for p in patients if p}
    judged: dict[str, bool] = {}  # each distinct name is judged once

    def usable(name: str | None) -> bool:
        if not name or not name.strip():
            return False
        if name not in judged:
            judged[name] = not_a_person(name) is None and not contains_any(name, patients)
        return judged[name]

    sources: list[tuple[str, list[str]]] = [
        ("sheet", [" ".join(sheet.split())] if usable(sheet) else []),
        ("EHR", [n for n, _ in Counter(" ".join(n.split()) for n in ehr if usable(n)).most_common()]),
        ("charge export", [n for n, _ in Counter(" ".join(n.split()) for n in charges if usable(n)).most_common()]),
    ]
    chosen = next(((source, names[0]) for source, names in sources if names), None)
    if chosen is None:
        refused = not all(judged.values())
        note = "the facilitator named on the sheet or in the exports is not a staff name" if refused else None
        return Facilitator(None, None, note)
    source, name = chosen
    others = [f"{where} says {other}" for where, names in sources if where != source for other in names
              if not same_person(name, other)]
    note = f"{source} says {name}; " + "; ".join(others) if others else None
    return Facilitator(name, source, note)


@dataclass(slots=True)
class Session:
    label: str
    key: str  # the normalised group name: two sessions of one group share it
    ident: str = ""  # unique within the day: the group name and start time
    start: dt.time | None = None
    end: dt.time | None = None
    charges: list[Charge] = field(default_factory=list)
    attendance: list[Attendance] = field(default_factory=list)  # the EHR's rows, in export order
    sheets: list[SigninSheet] = field(default_factory=list)
    scheduled_hours: bool = False  # start and end come from the charge export
    _shown: tuple[tuple, str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def sheet(self) -> SigninSheet | None:
        return self.sheets[-1] if self.sheets else None

    def ehr_rows(self) -> dict[str, Attendance]:
        """Each patient's EHR row for the session: a present row wins over an absence, else their
        first. Made when asked, so a large day holds no per-patient index of its rows."""
        rows: dict[str, Attendance] = {}
        for row in self.attendance:
            held = rows.get(row.patient_id)
            if held is None or (row.status is Status.PRESENT and held.status is not Status.PRESENT):
                rows[row.patient_id] = row
        return rows

    def who(self) -> Facilitator:
        """Who ran the session, and how the sources disagree (:func:`resolve_facilitator`)."""
        patients = [c.patient_name for c in self.charges]
        patients += [a.patient_name for a in self.attendance if a.patient_name]
        patients += [ln.printed_name for ln in self.sheet.lines] if self.sheet else []
        return resolve_facilitator(self.sheet.facilitator if self.sheet else None,
                                   [a.facilitator for a in self.attendance],
                                   [c.provider for c in self.charges], patients)

    @property
    def facilitator(self) -> str | None:
        return self.who().name

    @property
    def scheduled(self) -> bool:
        return bool(self.charges)

    def display(self) -> str:
        """``'9:00 AM Morning Process Group'``: how staff name a session."""
        if self.start is None:
            return self.label
        if self._shown is None or self._shown[0] != (self.start, self.label):  # one string a session
            self._shown = ((self.start, self.label), f"{self.start.strftime('%I:%M %p').lstrip('0')} {self.label}")
        return self._shown[1]


class SessionIndex:
    """The day's sessions, indexed by normalized group name."""

    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self._by_key: dict[str, list[Session]] = defaultdict(list)
        self._keys: list[str] = []  # each group name once, in the order first seen
        self._key_words = WordIndex()  # for a misspelt group name: the names sharing a word with it

    def _new(self, label: str, start: dt.time | None, end: dt.time | None) -> Session:
        key = group_key(label)
        ident = f"{key}@{start:%H:%M}" if start is not None else key
        if any(s.ident == ident for s in self._by_key.get(key, ())):
            ident = f"{ident}#{len(self._by_key[key]) + 1}"
        session = Session(label=label, key=key, ident=ident, start=start, end=end)
        if key not in self._by_key:
            self._key_words.add(len(self._keys), key.split())
            self._keys.append(key)
        self.sessions.append(session)
        self._by_key[session.key].append(session)
        return session

    def _same_name(self, label: str) -> list[Session]:
        key = group_key(label)
        if key in self._by_key:
            return self._by_key[key]
        near = [self._keys[i] for i in sorted(self._key_words.near(key.split(), lambda i: self._keys[i].split()))]
        hit = process.extractOne(key, near, scorer=fuzz.ratio, score_cutoff=_FUZZY)
        return self._by_key[hit[0]] if hit else []

    def find(self, label: str, when: dt.time | None = None, patient_id: str | None = None,
             scheduled_only: bool = False) -> Session | None:
        """The session a record belongs to: same name; then nearest start time; then the patient's charge."""
        same = [s for s in self._same_name(label) if s.scheduled or not scheduled_only]
        if len(same) <= 1:
            return same[0] if same else None
        if when is not None:
            timed = [s for s in same if s.start is not None]
            if timed:
                return min(timed, key=lambda s: abs(_minutes(s.start) - _minutes(when)))
        if patient_id is not None:
            mine = [s for s in same if any(c.patient_id == patient_id for c in s.charges)]
            if len(mine) == 1:
                return mine[0]
        return None

    def add_charge(self, charge: Charge) -> Session:
        existing = [s for s in self._by_key.get(group_key(charge.session), [])
                    if charge.start is None or s.start is None or s.start == charge.start]
        session = existing[0] if existing else self._new(charge.session, charge.start, charge.end)
        session.start = session.start or charge.start
        session.end = session.end or charge.end
        session.scheduled_hours = session.start is not None and session.end is not None
        session.charges.append(charge)
        return session

    def add_sheet(self, sheet: SigninSheet) -> Session:
        when = sheet.start
        if when is not None:  # "Time: 1:00 - 4:00" on the sheet of a 1–4 PM session
            timed = [s for s in self._same_name(sheet.group) if s.scheduled_hours]
            if timed and not any(_fits(when, s.start, s.end) for s in timed):
                later = _afternoon(when)
                if later is not None and any(_fits(later, s.start, s.end) for s in timed):
                    when = later
        session = self.find(sheet.group, when, scheduled_only=True) or \
            self.find(sheet.group, when) or self._new(sheet.group, sheet.start, sheet.end)
        if session.scheduled_hours:
            sheet = fit_to_hours(sheet, session.start, session.end)
        session.start = session.start or sheet.start
        session.end = session.end or sheet.end
        session.sheets.append(sheet)
        return session

    def fit_to_ehr_hours(self) -> None:
        """Sessions the charge export gives no hours for: their sheets read within the hours the
        EHR's present rows span."""
        for session in self.sessions:
            if session.scheduled_hours or not session.sheets:
                continue
            rows = [r for r in session.attendance if r.status is Status.PRESENT]
            ins = [r.time_in for r in rows if r.time_in is not None]
            outs = [r.time_out for r in rows if r.time_out is not None]
            if not ins or not outs:
                continue
            start, end = min(ins), max(outs)
            session.sheets = [fit_to_hours(sheet, start, end) for sheet in session.sheets]
            if not any(c.start or c.end for c in session.charges):  # the session's hours were the sheet's
                session.start, session.end = session.sheet.start or session.start, session.sheet.end or session.end

    def add_attendance(self, row: Attendance) -> Session:
        session = self.find(row.session, row.time_in, row.patient_id, scheduled_only=True) or \
            self.find(row.session, row.time_in, row.patient_id) or self._new(row.session, None, None)
        session.attendance.append(row)
        return session


def build_sessions(charges: list[Charge], attendance: list[Attendance],
                   sheets: list[SigninSheet]) -> SessionIndex:
    index = SessionIndex()
    for charge in charges:
        index.add_charge(charge)
    for sheet in sheets:
        index.add_sheet(sheet)
    for row in attendance:
        index.add_attendance(row)
    index.fit_to_ehr_hours()
    return index
