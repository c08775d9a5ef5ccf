"""Minutes attended and the units they support (SPEC, Reconciliation rules)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from attendbot.reconcile.policy import CodeRule


def _m(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def minutes_attended(ins: Iterable[dt.time | None], outs: Iterable[dt.time | None],
                     start: dt.time | None = None, end: dt.time | None = None) -> int | None:
    """The conservative interval: the latest time in, the earliest time out, limited to the
    session's own start and end when known. None when no source gives both an in and an out."""
    ins = [_m(t) for t in ins if t is not None]
    outs = [_m(t) for t in outs if t is not None]
    if not ins or not outs:
        return None
    first, last = max(ins), min(outs)
    if start is not None:
        first = max(first, _m(start))
    if end is not None:
        last = min(last, _m(end))
    return max(0, last - first)


def supported_units(rule: CodeRule, minutes: int) -> int:
    """Units the minutes support: time codes by 8-minute or full rounding, capped at
    ``max_units_per_day``; per-diem and per-session codes one unit from ``min_minutes`` on."""
    if rule.unit == "time":
        size = rule.unit_minutes or 1
        units = (minutes + 7) // size if rule.unit_rounding == "8-minute" else minutes // size
        return min(units, rule.max_units_per_day) if rule.max_units_per_day else units
    return 1 if minutes >= rule.min_minutes else 0
