"""The program's calendar: which days are business days, and why a day is not.

A bottom-floor module of small pure functions over the ``[program]`` values
(business days, closed days, the public-holiday country code, ``""``: none), so
the run, the worker, back-fill and reconciliation's rules across days (concurrent
reviews, weekly hours) all read one calendar. :func:`why_closed` is the one
definition of a closed day; :class:`Calendar` holds those three values — never the
whole configuration — so reconciliation can be handed ``calendar.is_business_day``
as a pure function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOSED_DAY = "closed day"


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int):
    import holidays  # imported when first needed: it is slow to import

    return holidays.country_holidays(country, years=year)


def why_closed(day: dt.date, business_days: Collection[str], closed_days: Collection[dt.date],
               holidays: str) -> str | None:
    """Why the program does not work on ``day``: the weekday's name (``"Saturday"``),
    ``"closed day"`` (``closed_days``) or the public holiday's name (``"Thanksgiving Day"``,
    from the ``holidays`` country code; ``""``: none). None on a business day."""
    if WEEKDAYS[day.weekday()] not in business_days:
        return f"{day:%A}"
    if day in closed_days:
        return CLOSED_DAY
    if holidays:
        return _public_holidays(holidays.upper(), day.year).get(day)
    return None


def business_days_between(first: dt.date, last: dt.date, business_days: Collection[str],
                          closed_days: Collection[dt.date], holidays: str) -> list[dt.date]:
    """The business days from ``first`` to ``last``, both included, oldest first."""
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [d for d in days if why_closed(d, business_days, closed_days, holidays) is None]


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

    def why_closed(self, day: dt.date) -> str | None:
        """:func:`why_closed` on this calendar: ``"Saturday"``, ``"closed day"``, a holiday's name, or None."""
        return why_closed(day, self.business_days, self.closed_days, self.holidays)

    def closed_reason(self, day: dt.date) -> str | None:
        """Why the program does not work on ``day``, as a sentence for logs
        (``"a Saturday, not one of [program] business_days"``, ``"Thanksgiving Day"``),
        or None on a business day."""
        why = self.why_closed(day)
        if why == f"{day:%A}":
            return f"a {why}, not one of [program] business_days"
        if why == CLOSED_DAY:
            return "a closed day in [program] closed_days"
        return why

    def is_business_day(self, day: dt.date) -> bool:
        return self.why_closed(day) is None

    def business_days_between(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """:func:`business_days_between` on this calendar."""
        return business_days_between(first, last, self.business_days, self.closed_days, self.holidays)

    def previous_business_day(self, day: dt.date) -> dt.date:
        """The last business day strictly before ``day``.

        Raises:
            ValueError: no business day in the year before ``day`` (a configuration that closes everything).
        """
        return business_days_before(self.is_business_day, day, 1)

    def next_business_day(self, day: dt.date) -> dt.date:
        """The first business day strictly after ``day`` (the day the afternoon's rosters are for).

        Raises:
            ValueError: no business day in the year after ``day`` (a configuration that closes everything).
        """
        for ahead in range(1, 367):
            candidate = day + dt.timedelta(days=ahead)
            if self.is_business_day(candidate):
                return candidate
        raise ValueError(f"no business day in the year after {day}")


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
