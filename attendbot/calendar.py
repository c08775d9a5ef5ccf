"""The program's calendar: which days are business days, and why a day is not.

A bottom-floor module of pure functions over the ``[program]`` values (business
days, closed days, the public-holiday country), so the run, the worker and the
rules across days all read one calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
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
        return _public_holidays(holidays, day.year).get(day)
    return None


def business_days_between(first: dt.date, last: dt.date, business_days: Collection[str],
                          closed_days: Collection[dt.date], holidays: str) -> list[dt.date]:
    """The business days from ``first`` to ``last``, both included, oldest first."""
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [d for d in days if why_closed(d, business_days, closed_days, holidays) is None]
