"""Pure parsers for the values real exports contain: dates, times, ids, words.

Each returns the parsed value, or None for a blank cell, and raises ValueError
with a short reason for a value it cannot understand. Readers turn the error into
a row-level problem with evidence; nothing here knows about files.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache

from attendbot.model import Modality, NoteStatus, Status
from attendbot.names import words

# Excel's day zero for serial dates (the 1900 leap-year bug makes it Dec 30, 1899).
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)

#: The values that can be right (SPEC "Inputs": a value that cannot be costs only its row).
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2199, 12, 31)  # a service date outside: a typo
MAX_UNITS = 1000  # units on one charge line (config's max_units_per_day is at most 1,000 too)
MAX_AMOUNT = 10_000_000.0  # dollars on one charge line

_DATE_FORMATS = (
    "%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d", "%Y/%m/%d", "%m-%d-%Y", "%m-%d-%y", "%m.%d.%Y",
    "%d-%b-%Y", "%d-%b-%y", "%d %b %Y", "%b %d %Y", "%B %d %Y", "%a %b %d %Y",
    "%A %B %d %Y", "%d %B %Y", "%Y%m%d",
)
_TIME_FORMATS = ("%I:%M %p", "%I:%M:%S %p", "%I %p", "%H:%M", "%H:%M:%S", "%I:%M%p", "%I%p")
_DATE_TIME_SPLIT = re.compile(r"^(.*?\d{2,4})[ T]+(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*([AaPp]\.?[Mm]\.?)?)$")


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: object) -> str | None:
    """A cell as text, as written: ``90853.0`` stored by Excel comes back as ``90853``."""
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def parse_date(value: object) -> dt.date | None:
    """``11/24/2026``, ``2026-11-24``, ``24-Nov-2026``, ``Nov 24, 2026``, Excel cells and serials,
    and dates as text: ``Tuesday, November 24, 2026``, ``Tue. Nov. 24th, 2026``, ``24th November 2026``.
    A real calendar date (``31/02/2026`` is none) between 1900 and 2199."""
    day = _parse_date_text(value) if isinstance(value, str) else _parse_date(value)
    if day is not None and not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{str(value)[:40]!r} is not a plausible date (year {day.year})")
    return day


_WEEKDAY = re.compile(r"^(?:mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|rsday|urday)?\.?,?\s+",
                      re.IGNORECASE)
_ORDINAL = re.compile(r"(?<=\d)(?:st|nd|rd|th)\b", re.IGNORECASE)
_MONTH_DOT = re.compile(r"\b([A-Za-z]{3,4})\.", re.IGNORECASE)


def _date_as_text(s: str) -> str | None:
    """``'Tuesday, Nov. 24th, 2026'`` -> ``'Nov 24 2026'``: the weekday, ordinals and dots off;
    None when there was nothing to take off."""
    out = _WEEKDAY.sub("", s.strip(), count=1)
    out = _ORDINAL.sub("", out)
    out = _MONTH_DOT.sub(r"\1", out)
    out = re.sub(r"\bSept\b", "Sep", out, flags=re.IGNORECASE)
    return out if out != s.strip() else None


def parse_time(value: object) -> dt.time | None:
    """``9:00 AM``, ``09:00``, ``0900``, ``9am``, ``14:30:00``, Excel time cells and fractions."""
    if isinstance(value, str):
        return _parse_time_text(value)
    return _parse_time(value)


@lru_cache(maxsize=4096)  # an export repeats a handful of distinct dates and times
def _parse_date_text(value: str) -> dt.date | None:
    return _parse_date(value)


@lru_cache(maxsize=4096)
def _parse_time_text(value: str) -> dt.time | None:
    return _parse_time(value)


def _parse_date(value: object) -> dt.date | None:
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 < value < 80000:  # an Excel serial date (1954..2119)
            return (_EXCEL_EPOCH + dt.timedelta(days=int(value))).date()
        raise ValueError(f"{value!r} is not a date")
    s = re.sub(r"\s+", " ", str(value).strip().replace(",", " ")).strip()
    m = _DATE_TIME_SPLIT.match(s)
    if m and ":" in s:
        s = m.group(1)
    elif "T" in s and re.match(r"^\d{4}-\d{2}-\d{2}T", s):
        s = s[:10]
    if re.fullmatch(r"\d{5}(\.\d+)?", s):
        return parse_date(float(s))
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    plain = _date_as_text(str(value))
    if plain:
        try:
            return _parse_date(plain)
        except ValueError:
            pass
    raise ValueError(f"{str(value)[:40]!r} is not a date")


def _parse_time(value: object) -> dt.time | None:
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, dt.timedelta):
        value = value.total_seconds() / 86400
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 0 <= value < 1:  # Excel stores a time of day as a fraction of a day
            minutes = round(value * 24 * 60)
            return dt.time(minutes // 60 % 24, minutes % 60)
        if isinstance(value, int) or float(value).is_integer():
            value = f"{int(value):04d}" if 0 <= value <= 2359 else str(value)
        else:
            raise ValueError(f"{value!r} is not a time of day")
    s = str(value).strip().upper().replace(".", "")
    s = re.sub(r"\s+", " ", s)
    m = re.search(r"(\d{1,2}:\d{2}(?::\d{2})?\s*[AP]M?|\d{1,2}:\d{2}(?::\d{2})?|\d{1,2}\s*[AP]M)\s*$", s)
    if m and not re.fullmatch(r"\d{3,4}", s):
        s = m.group(1)
    s = re.sub(r"([AP])$", r"\1M", s)
    s = re.sub(r"(\d)([AP]M)$", r"\1 \2", s)
    if re.fullmatch(r"\d{3,4}", s):  # military: 0900, 930, 1445
        hours, minutes = int(s[:-2]), int(s[-2:])
        if hours < 24 and minutes < 60:
            return dt.time(hours, minutes)
        raise ValueError(f"{str(value)[:40]!r} is not a time of day")
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).time()
        except ValueError:
            continue
    raise ValueError(f"{str(value)[:40]!r} is not a time of day")


_MERIDIEM = re.compile(r"[AaPp]\.?\s*[Mm]\.?|(?<=\d)\s*[AaPp]\.?$")


def has_meridiem(value: object) -> bool:
    """Whether a written time says AM or PM itself (``1:30 PM``, ``9a``); a time cell, a
    24-hour time (``13:30``, ``09:00``) or military time (``1330``) says which half of the day
    it is too. Only a bare ``1:30`` or ``4`` leaves it open."""
    if not isinstance(value, str):
        return True
    s = value.strip()
    if _MERIDIEM.search(s):
        return True
    m = re.search(r"(\d{1,2})(?::\d{2})", s)
    if m:
        return m.group(1).startswith("0") or int(m.group(1)) > 12 or int(m.group(1)) == 0
    return bool(re.fullmatch(r"\d{3,4}", s))  # 0900, 1330: military time


def _minute_of(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def place_in_hours(t: dt.time, start: dt.time | None, end: dt.time | None) -> dt.time:
    """A time written without AM/PM, read in the half of the day nearest the session's own
    hours: in a 12:30–1:30 PM group ``1:30`` is 13:30, in a 9–12 AM group ``12:00`` is noon.
    Unchanged when the hours are unknown or both readings fit alike."""
    if start is None and end is None:
        return t
    lo, hi = _minute_of(start or end), _minute_of(end or start)
    if hi < lo:
        hi += 24 * 60

    def distance(minutes: int) -> int:
        return 0 if lo <= minutes <= hi else min(abs(minutes - lo), abs(minutes - hi))

    here = _minute_of(t)
    other = here + 12 * 60 if t.hour < 12 else here - 12 * 60
    if distance(other) < distance(here):
        return dt.time(other // 60 % 24, other % 60)
    return t


def parse_time_near(value: object, start: dt.time | None, end: dt.time | None) -> dt.time | None:
    """:func:`parse_time`, then a time without AM/PM placed within the session's hours
    (:func:`place_in_hours`)."""
    t = parse_time(value)
    if t is None or has_meridiem(value):
        return t
    return place_in_hours(t, start, end)


_RANGE_SPLIT = re.compile(r"\s*(?:-|–|—|to|until)\s*", re.IGNORECASE)


def parse_time_range(value: object) -> tuple[dt.time | None, dt.time | None]:
    """``9:00 AM - 12:00 PM`` (or ``9-12pm``: a bare start takes the end's AM/PM when that fits)."""
    if is_blank(value):
        return None, None
    parts = [p for p in _RANGE_SPLIT.split(str(value).strip(), maxsplit=1) if p]
    if len(parts) != 2:
        raise ValueError(f"{str(value)[:40]!r} is not a time range like '9:00 AM - 12:00 PM'")
    start_text, end_text = parts
    end = parse_time(end_text)
    suffix = re.search(r"([AaPp]\.?[Mm]\.?)\s*$", end_text)
    if suffix and not re.search(r"[AaPp]\.?[Mm]", start_text):
        candidate = parse_time(f"{start_text} {suffix.group(1)}")
        start = candidate if candidate <= end else parse_time(f"{start_text} AM")
    else:
        start = parse_time(start_text)
    if end < start and not has_meridiem(end_text) and end.hour < 12:
        # "12:30 - 1:30", "11:00 - 1:00": read in the morning it would end before it starts
        end = dt.time(end.hour + 12, end.minute)
    return start, end


def parse_units(value: object) -> int:
    """A whole number of units from 0 to :data:`MAX_UNITS`: ``1e19``, ``-2`` or ``inf`` cannot be right."""
    if is_blank(value):
        raise ValueError("units are blank")
    try:
        number = float(str(value).strip())
    except (ValueError, OverflowError):
        raise ValueError(f"{str(value)[:20]!r} is not a number of units") from None
    if not math.isfinite(number) or not number.is_integer():
        raise ValueError(f"{str(value)[:20]!r} is not a whole number of units")
    if number < 0:
        raise ValueError(f"{str(value)[:20]!r} units cannot be right (a negative count)")
    if number > MAX_UNITS:
        raise ValueError(f"{str(value)[:20]!r} units cannot be right (more than {MAX_UNITS:,} on one line)")
    return int(number)


def parse_amount(value: object) -> float | None:
    """Dollars, ``$1,234.50`` or ``(12.00)`` for a credit; finite and at most :data:`MAX_AMOUNT` either way."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, (int, float)):
        number = float(value) if abs(value) < 1e300 else math.inf
    else:
        s = str(value).strip().replace("$", "").replace(",", "")
        negative = s.startswith("(") and s.endswith(")")
        try:
            number = float(s.strip("()"))
        except (ValueError, OverflowError):
            raise ValueError(f"{str(value)[:20]!r} is not an amount") from None
        number = -number if negative else number
    if not math.isfinite(number) or abs(number) > MAX_AMOUNT:
        raise ValueError(f"{str(value)[:20]!r} is not an amount that can be right")
    return number


def parse_modifiers(*values: object) -> tuple[str, ...]:
    """``'95, GT'``, ``'95 GT'``, ``'95/GT'`` or one value per Modifier column."""
    out: list[str] = []
    for value in values:
        t = text(value)
        if t:
            out.extend(m.upper() for m in re.split(r"[\s,;/|]+", t) if m)
    return tuple(dict.fromkeys(out))


_STATUS = {
    "present": Status.PRESENT, "attended": Status.PRESENT, "late": Status.PRESENT,
    "left early": Status.PRESENT, "arrived late": Status.PRESENT, "checked in": Status.PRESENT,
    "checked out": Status.PRESENT, "completed": Status.PRESENT, "p": Status.PRESENT,
    "absent": Status.NO_SHOW, "no show": Status.NO_SHOW, "noshow": Status.NO_SHOW,
    "ns": Status.NO_SHOW, "dna": Status.NO_SHOW, "did not attend": Status.NO_SHOW, "a": Status.NO_SHOW,
    "late cancel": Status.CANCELLED, "late cancellation": Status.CANCELLED, "cancelled": Status.CANCELLED,
    "canceled": Status.CANCELLED, "lc": Status.CANCELLED,
    "cancelled late": Status.CANCELLED, "canceled late": Status.CANCELLED,
    "excused": Status.EXCUSED, "excused absence": Status.EXCUSED, "absent excused": Status.EXCUSED,
    "ea": Status.EXCUSED,
}


def parse_status(value: object) -> Status:
    """An attendance status word -> present, no-show, late cancellation or excused absence.

    ``Late Cancel``, ``Cancelled`` and ``Canceled`` are late cancellations (the charge for
    the day still stood when the patient cancelled); ``Excused`` and ``Excused Absence``
    are excused absences: not billable, never a fee, and not a no-show.
    """
    w = words(value)
    if w not in _STATUS:
        raise ValueError(f"{str(value)[:30]!r} is not an attendance status")
    return _STATUS[w]


def is_status_word(value: object) -> bool:
    return words(value) in _STATUS


_NOTE = {
    "signed": NoteStatus.SIGNED, "final": NoteStatus.SIGNED, "finalized": NoteStatus.SIGNED,
    "locked": NoteStatus.SIGNED, "completed": NoteStatus.SIGNED, "complete": NoteStatus.SIGNED,
    "co signed": NoteStatus.SIGNED, "cosigned": NoteStatus.SIGNED, "approved": NoteStatus.SIGNED,
    "draft": NoteStatus.UNSIGNED, "unsigned": NoteStatus.UNSIGNED, "pending": NoteStatus.UNSIGNED,
    "in progress": NoteStatus.UNSIGNED, "not started": NoteStatus.UNSIGNED, "open": NoteStatus.UNSIGNED,
    "incomplete": NoteStatus.UNSIGNED, "missing": NoteStatus.UNSIGNED, "": NoteStatus.UNSIGNED,
}


def parse_note_status(value: object) -> NoteStatus:
    """A blank note status in an export that has the column means no signed note."""
    w = words(value)
    if w not in _NOTE:
        raise ValueError(f"{str(value)[:30]!r} is not a note status")
    return _NOTE[w]


def parse_modality(value: object) -> Modality | None:
    w = words(value)
    if not w:
        return None
    if any(k in w for k in ("phone", "audio", "telephone", "telephonic")):
        return Modality.AUDIO
    if any(k in w for k in ("video", "tele", "virtual", "zoom", "online", "remote")):
        return Modality.VIDEO
    if any(k in w for k in ("person", "office", "clinic", "onsite", "on site", "facility", "face")):
        return Modality.IN_PERSON
    raise ValueError(f"{str(value)[:30]!r} is not a modality (in person, video or phone)")


_NO_SIGNATURE = {"", "absent", "refused", "n a", "na"}


def xlsx_signed(value: object) -> bool:
    """A typed or pasted signature counts unless it is blank, ``absent``, ``refused`` or ``n/a``
    (a check mark or a name in any script counts)."""
    return not is_blank(value) and words(value) not in _NO_SIGNATURE - {""}
