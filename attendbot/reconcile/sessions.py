"""Group sessions matched across the three sources.

Sessions are matched by date (the caller passes one day) and group name, where
case, punctuation and words like "group" or "session" do not stop a match; the
session time decides between two sessions of the same name. The charge export
defines the scheduled sessions; a sheet or EHR row that matches none of them
starts an unscheduled session of its own (its attendees may be unbilled).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from attendbot.model import Attendance, Charge, SigninSheet
from attendbot.names import words

_FILLER = {"group", "groups", "session", "grp", "the", "and", "of"}
_FUZZY = 90  # two normalized names this alike (0-100) are one group with a typo


def group_key(name: str) -> str:
    """``'The Morning Process Group'`` -> ``'morning process'``."""
    tokens = [t for t in words(name).split() if t not in _FILLER]
    return " ".join(tokens) or words(name)


def _minutes(t: dt.time | None) -> int | None:
    return None if t is None else t.hour * 60 + t.minute


@dataclass
class Session:
    label: str
    key: str  # the normalised group name: two sessions of one group share it
    ident: str = ""  # unique within the day: the group name and start time
    start: dt.time | None = None
    end: dt.time | None = None
    charges: list[Charge] = field(default_factory=list)
    attendance: dict[str, list[Attendance]] = field(default_factory=lambda: defaultdict(list))  # by patient id
    sheets: list[SigninSheet] = field(default_factory=list)

    @property
    def sheet(self) -> SigninSheet | None:
        return self.sheets[-1] if self.sheets else None

    @property
    def facilitator(self) -> str | None:
        if self.sheet and self.sheet.facilitator:
            return self.sheet.facilitator
        return next((a.facilitator for rows in self.attendance.values() for a in rows if a.facilitator), None)

    @property
    def scheduled(self) -> bool:
        return bool(self.charges)

    def display(self) -> str:
        """``'9:00 AM Morning Process Group'``: how staff name a session."""
        if self.start is None:
            return self.label
        return f"{self.start.strftime('%I:%M %p').lstrip('0')} {self.label}"


class SessionIndex:
    """The day's sessions, indexed by normalized group name."""

    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self._by_key: dict[str, list[Session]] = defaultdict(list)

    def _new(self, label: str, start: dt.time | None, end: dt.time | None) -> Session:
        key = group_key(label)
        ident = f"{key}@{start:%H:%M}" if start is not None else key
        if any(s.ident == ident for s in self._by_key.get(key, ())):
            ident = f"{ident}#{len(self._by_key[key]) + 1}"
        session = Session(label=label, key=key, ident=ident, start=start, end=end)
        self.sessions.append(session)
        self._by_key[session.key].append(session)
        return session

    def _same_name(self, label: str) -> list[Session]:
        key = group_key(label)
        if key in self._by_key:
            return self._by_key[key]
        hit = process.extractOne(key, list(self._by_key), scorer=fuzz.ratio, score_cutoff=_FUZZY)
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
        session.charges.append(charge)
        return session

    def add_sheet(self, sheet: SigninSheet) -> Session:
        session = self.find(sheet.group, sheet.start, scheduled_only=True) or \
            self.find(sheet.group, sheet.start) or self._new(sheet.group, sheet.start, sheet.end)
        session.start = session.start or sheet.start
        session.end = session.end or sheet.end
        session.sheets.append(sheet)
        return session

    def add_attendance(self, row: Attendance) -> Session:
        session = self.find(row.session, row.time_in, row.patient_id, scheduled_only=True) or \
            self.find(row.session, row.time_in, row.patient_id) or self._new(row.session, None, None)
        session.attendance[row.patient_id].append(row)
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
    return index
