"""The program's business-day calendar, as small pure functions over plain values.

A day is a business day when its weekday is one of ``[program] business_days``, it
is not in ``closed_days`` and it is not a public holiday of the ``holidays``
country code (``""``: none). :class:`Calendar` holds those three values — never
the whole configuration — so the worker, the run and reconciliation's rules that
count business days (concurrent reviews, weekly hours) share one definition, and
reconciliation can be handed ``calendar.is_business_day`` as a pure function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int):
    import holidays

    return holidays.country_holidays(country, years=year)


@dataclass(frozen=True)
class Calendar:
    """When the program works.

    Args:
        business_days: weekday names (``"mon"`` … ``"sun"``) the program runs on.
        closed_days: extra days it is closed.
        holidays: a country code for public holidays (``"US"``), or ``""`` for none.
    """

    business_days: frozenset[str] = frozenset(WEEKDAYS[:5])
    closed_days: frozenset[dt.date] = field(default_factory=frozenset)
    holidays: str = ""

    @classmethod
    def of(cls, business_days: Iterable[str], closed_days: Iterable[dt.date], holidays: str) -> "Calendar":
        return cls(frozenset(business_days), frozenset(closed_days), holidays.upper())

    def closed_reason(self, day: dt.date) -> str | None:
        """Why the program does not work on ``day`` (``"Thanksgiving Day"``), or None on a business day."""
        if WEEKDAYS[day.weekday()] not in self.business_days:
            return f"a {day:%A}, not one of [program] business_days"
        if day in self.closed_days:
            return "a closed day in [program] closed_days"
        if self.holidays:
            return _public_holidays(self.holidays, day.year).get(day)
        return None

    def is_business_day(self, day: dt.date) -> bool:
        return self.closed_reason(day) is None

    def previous_business_day(self, day: dt.date) -> dt.date:
        """The last business day strictly before ``day``.

        Raises:
            ValueError: no business day in the year before ``day`` (a configuration that closes everything).
        """
        return business_days_before(self.is_business_day, day, 1)


def business_days_before(is_business_day, day: dt.date, n: int) -> dt.date:
    """The day ``n`` business days before ``day`` (``n = 0``: ``day`` itself), counting
    only business days; ``day`` itself need not be one (a review due on a holiday).

    Raises:
        ValueError: fewer than ``n`` business days in the ``n`` years before ``day``.
    """
    if n <= 0:
        return day
    found = 0
    for back in range(1, 367 * n + 1):
        candidate = day - dt.timedelta(days=back)
        if is_business_day(candidate):
            found += 1
            if found == n:
                return candidate
    raise ValueError(f"no business day in the year before {day}")
