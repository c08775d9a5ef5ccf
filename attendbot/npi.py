"""The National Provider Identifier check (SPEC: ten digits passing the Luhn check with the
``80840`` prefix). A bottom-floor helper: readers, rules and the demo all use it."""

from __future__ import annotations

import re
from functools import lru_cache


def _luhn_sum(digits: str) -> int:
    """Luhn sum of ``digits`` whose last digit is the check digit position."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def npi_check_digit(first_nine: str) -> str:
    """The tenth digit that makes ``first_nine`` a valid NPI (Luhn over ``80840`` + the NPI)."""
    return str((10 - _luhn_sum("80840" + first_nine + "0") % 10) % 10)


@lru_cache(maxsize=1024)  # a day's charges carry a few providers' NPIs, each many times
def npi_valid(npi: str | None) -> bool:
    """Ten digits passing the Luhn check over the ``80840`` prefix plus the NPI."""
    return bool(npi and re.fullmatch(r"\d{10}", npi) and _luhn_sum("80840" + npi) % 10 == 0)
