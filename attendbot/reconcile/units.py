"""Minutes attended and the units they support (SPEC, Reconciliation rules)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

from attendbot.reconcile.policy import CodeRule

#: A stretch of the day a patient was in a session: (first minute, last minute) after midnight.
Interval = tuple[int, int]


def _m(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def attended_interval(ins: Iterable[dt.time | None], outs: Iterable[dt.time | None],
                      start: dt.time | None = None, end: dt.time | None = None) -> Interval | None:
    """The conservative interval: the latest time in, the earliest time out, limited to the
    session's own start and end when known. None when no source gives both an in and an out;
    an out before the in is an empty interval, never a negative one."""
    ins = [_m(t) for t in ins if t is not None]
    outs = [_m(t) for t in outs if t is not None]
    if not ins or not outs:
        return None
    first, last = max(ins), min(outs)
    if start is not None:
        first = max(first, _m(start))
    if end is not None:
        last = min(last, _m(end))
    return _interval(first, max(first, last))


@lru_cache(maxsize=4096)
def _interval(first: int, last: int) -> Interval:
    """One tuple for each stretch: a large day has a million patients in a few hundred of them."""
    return first, last


def minutes_attended(ins: Iterable[dt.time | None], outs: Iterable[dt.time | None],
                     start: dt.time | None = None, end: dt.time | None = None) -> int | None:
    """The length of :func:`attended_interval`; None when it is unknown."""
    span = attended_interval(ins, outs, start, end)
    return None if span is None else span[1] - span[0]


def union_minutes(intervals: Iterable[Interval]) -> int:
    """Minutes covered by any of the intervals: time in two sessions at once counts once."""
    total, reach = 0, None
    for first, last in sorted(intervals):
        if reach is None or first > reach:
            total += last - first
            reach = last
        elif last > reach:
            total += last - reach
            reach = last
    return total


def time_units(minutes: int, unit_minutes: int, rounding: str = "8-minute", cap: int | None = None) -> int:
    """Units of a time-based code that ``minutes`` support.

    ``8-minute`` (midpoint) rounding counts a unit once more than half of it was attended:
    ``(minutes + ceil(u/2) - 1) // u`` — ``(minutes + 7) // 15`` for 15-minute units (8–22
    minutes is one unit, 23–37 two…), ``(minutes + 29) // 60`` for hourly ones (31 minutes is
    one hour, 30 is none). ``full`` counts whole units only. Never more than ``cap``.
    """
    size = max(1, unit_minutes)
    if rounding == "8-minute":
        units = (minutes + (size + 1) // 2 - 1) // size
    else:
        units = minutes // size
    return min(units, cap) if cap else units


def supported_units(rule: CodeRule, minutes: int) -> int:
    """Units the minutes support: time codes by :func:`time_units`; per-diem and per-session
    codes one unit from ``min_minutes`` on."""
    if rule.unit == "time":
        return time_units(minutes, rule.unit_minutes or 1, rule.unit_rounding, rule.max_units_per_day)
    return 1 if minutes >= rule.min_minutes else 0


def allocate(supported: int, charged: list[int]) -> list[int]:
    """Share a day's supported units among the day's lines of one code, in order: each line
    keeps what it charged while units remain; units left over go to the last line (one line
    alone is told all its minutes support)."""
    out = []
    for units in charged:
        take = max(0, min(units, supported))
        out.append(take)
        supported -= take
    if out and supported > 0:
        out[-1] += supported
    return out
