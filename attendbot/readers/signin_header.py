"""The header block of a sign-in sheet as staff fill it in: labels, values, and their checks.

Both sign-in readers use it. A header field's value is what follows its label on
the label's own line (in a worksheet: in the same cell, or the next cell of the
row); it ends at the next label, at an instruction sentence ("By signing below
I confirm…") and at the table. Each value is then checked for what it must be —
a group name, a date, a time range, a person's name — and a value that is not
one is left unknown with a problem. The problem never repeats the value: a value
that swallowed a roster would otherwise carry patients' names to every output.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from attendbot.names import not_a_person
from attendbot.readers import parse

# Header labels; an alternative that fails on the colon falls through to the next
# one, so "Group Leader:" is a facilitator and "Start Time:" is not "Time:".
LABEL = re.compile(
    r"(?<!\w)(?:"
    r"(?P<facilitator_signature>facilitator'?s?\s+signature|group\s+leader'?s?\s+signature"
    r"|clinician'?s?\s+signature|staff\s+signature)"
    r"|(?P<start>(?:session\s+)?start(?:\s+time)?|time\s+started|time\s+start)"
    r"|(?P<end>(?:session\s+)?end(?:\s+time)?|time\s+ended|time\s+end)"
    r"|(?P<group>group\s+name|group\s+title|group\s+session|program\s+group|session\s+name|group|session)"
    r"|(?P<facilitator>facilitator(?:\s+name)?|group\s+leader|group\s+facilitator|leader|clinician|therapist"
    r"|counsel+or|staff(?:\s+name)?|led\s+by)"
    r"|(?P<date>session\s+date|service\s+date|date\s+of\s+service|group\s+date|date)"
    r"|(?P<time>session\s+time|group\s+time|time)"
    r")\s*:",
    re.IGNORECASE,
)

#: Where an instruction sentence starts: nothing from here on is a header value.
INSTRUCTION = re.compile(
    r"(?<!\w)(?:by\s+(?:signing|my\s+signature|printing)|please\b|sign\s+(?:in|below|here|your|on)\b"
    r"|i\s+(?:confirm|attest|certify|agree|acknowledge|understand)\b|patients?\s+(?:must|should|are|will)\b"
    r"|clients?\s+(?:must|should|are|will)\b|participants?\s+(?:must|should|are|will)\b"
    r"|print\s+(?:your|name|clearly)\b|instructions?\b|confidential\b|do\s+not\b"
    r"|all\s+(?:patients|participants|clients|members)\b|each\s+(?:patient|participant|client|member)\b"
    r"|(?:write|record|enter)\s+(?:your|the)\b|this\s+(?:form|sheet|roster)\b)",
    re.IGNORECASE,
)

# Patient-table columns (the PDF reader's and the scan reader's), tried in this order on each header
# cell (so "Sign In" is a signature).
# A column about staff or a reason ("Staff Initials", "Reason if late or left early") is none of them.
TABLE_COLUMNS = (
    ("signature", re.compile(r"\bsignature\b|^sign( in)?$|^(patient |client )?initials$")),
    ("name", re.compile(r"\bname\b|^(patient|client|participant|member)$")),
    ("time_in", re.compile(r"^(time )?in$|\b(time|check|checked|sign|signed) in\b|\barriv|^in time$")),
    ("time_out", re.compile(r"^(time )?out$|\b(time|check|checked|sign|signed) out\b|\bdepart|^out time$"
                            r"|^time left$")),
)
NOT_A_COLUMN = re.compile(r"\b(staff|facilitator|reason|comments?|notes?)\b")

MAX_GROUP_WORDS = 14
MAX_VALUE_CHARS = 100

FIELD_NAMES = {"group": "Group", "date": "Date", "time": "Time", "start": "Start Time", "end": "End Time",
               "facilitator": "Facilitator", "facilitator_signature": "Facilitator Signature"}


@dataclass(frozen=True)
class LabelHit:
    field: str
    start: int  # where the label starts in the text
    end: int  # where its value starts


def labels_in(text: str) -> list[LabelHit]:
    return [LabelHit(m.lastgroup or "", m.start(), m.end()) for m in LABEL.finditer(text or "")]


def cut_instruction(value: str) -> str:
    """``'Priya Raman, LCSW By signing below I confirm…'`` -> ``'Priya Raman, LCSW'``."""
    m = INSTRUCTION.search(value)
    return (value[:m.start()] if m else value).strip(" \t;|")


def is_instruction(text: str) -> bool:
    """A line that is (or starts) a sentence for the people signing, not a header value."""
    m = INSTRUCTION.search(text)
    return bool(m and not text[:m.start()].strip())


def fields_in(text: str) -> list[tuple[str, str]]:
    """Every ``(field, value)`` on one line of text: each value ends at the next label or an instruction."""
    hits = labels_in(text)
    out = []
    for hit, nxt in zip(hits, [*hits[1:], None]):
        out.append((hit.field, cut_instruction(text[hit.end:nxt.start if nxt else None])))
    return out


def tidy(value: str) -> str:
    return " ".join(value.split()).strip(" ,;|")


@dataclass
class Header:
    """The raw header values of one sheet, first label of a kind wins, and what the checks found."""

    raw: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def put(self, name: str, value: object) -> None:
        if name not in self.raw:
            self.raw[name] = tidy(value) if isinstance(value, str) else value

    def __contains__(self, name: str) -> bool:
        return name in self.raw

    # --- the checked values --------------------------------------------------------

    def group(self) -> str | None:
        value = self.raw.get("group")
        text = tidy(parse.text(value) or "")
        if not text:
            return None
        reason = _not_a_group(text)
        if reason:
            self.problems.append(f"the Group field {reason}; it was not used")
            return None
        return text

    def date(self) -> tuple[dt.date | None, str | None]:
        """The header's date, or None and the reason there is none (which never repeats the value)."""
        value = self.raw.get("date")
        if parse.is_blank(value):
            return None, "the header has no date"
        if not isinstance(value, str):
            try:
                return parse.parse_date(value), None
            except ValueError:
                return None, "the header date is not a date"
        for candidate in (value, *(m.group(0) for m in _DATE_IN_TEXT.finditer(value))):
            try:
                return parse.parse_date(candidate), None
            except ValueError:
                continue
        return None, "the header date is not a date"

    def times(self) -> tuple[dt.time | None, dt.time | None]:
        """The session's start and end from ``Time:`` or ``Start Time:``/``End Time:``; a value that
        is not a time is unknown, with a problem."""
        if "start" in self.raw or "end" in self.raw:
            start, end = self._time("start"), self._time("end")
            if start is not None and end is not None and end < start and end.hour < 12 \
                    and not parse.has_meridiem(self.raw.get("end")):
                end = dt.time(end.hour + 12, end.minute)  # "Start: 12:30 / End: 1:30"
            return start, end
        value = self.raw.get("time")
        if parse.is_blank(value):
            return None, None
        if not isinstance(value, str):
            return self._time("time"), None
        try:
            return parse.parse_time_range(_TIME_TEXT.sub("", value).strip() or value)
        except ValueError:
            self.problems.append("the Time field is not a time range like '9:00 AM - 12:00 PM'; "
                                 "the session's hours come from the charge export")
            return None, None

    def _time(self, name: str) -> dt.time | None:
        try:
            return parse.parse_time(self.raw.get(name))
        except ValueError:
            self.problems.append(f"the {FIELD_NAMES[name]} field is not a time of day")
            return None

    def facilitator(self) -> str | None:
        text = tidy(parse.text(self.raw.get("facilitator")) or "")
        if not text:
            return None
        reason = not_a_person(text)
        if reason:
            self.problems.append(f"the Facilitator field {reason}; it was not used (the facilitator comes "
                                 "from the EHR or the charge export)")
            return None
        return text


_DATE_IN_TEXT = re.compile(
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}"
    r"|(?:[A-Za-z]{3,9}\.?,?\s+)?[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
    r"|\d{1,2}(?:st|nd|rd|th)?[ -][A-Za-z]{3,9}[ -]\d{2,4}"
)
_TIME_TEXT = re.compile(r"\((?:[^()]*)\)")  # "9:00 AM - 12:00 PM (3 hours)"


def _not_a_group(text: str) -> str | None:
    words = text.split()
    if len(text) > MAX_VALUE_CHARS or len(words) > MAX_GROUP_WORDS:
        return f"is too long for a group name ({len(words)} words: a roster or a sentence?)"
    if is_instruction(text):
        return "is a sentence, not a group name"
    return None
