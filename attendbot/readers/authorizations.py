"""The authorizations export: one row per authorization (or per authorized code).

Codes come as a list in one cell (``H0015, H2019``) or one code a row. Rows of one
authorization repeated per code with the same period and the same unit figures
are one authorization covering all those codes (one pool of units); rows whose
unit figures differ are separate pools, one per code.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from attendbot.model import Authorization, Evidence, ReadResult
from attendbot.readers import parse
from attendbot.readers.columns import CHARGE_FIELDS, AUTHORIZATION_FIELDS, HeaderMap, build_lookup, match_header
from attendbot.readers.source import SourceFile
from attendbot.readers.tabular import Row, TabularReader

_CHARGE_LOOKUP = build_lookup(CHARGE_FIELDS)
_CODE = re.compile(r"^[A-Z0-9]{4,6}$")
MAX_UNITS = 100_000  # more than anyone authorizes: a value over it is a wrong cell


def parse_codes(value: Any) -> tuple[str, ...]:
    """``'H0015, H2019'``, ``'H0015/H2019'``, ``'H0015; 90853'``, ``90853`` (a number cell)."""
    raw = parse.text(value)
    if raw is None:
        raise ValueError("codes covered are blank")
    codes = [c for c in re.split(r"[\s,;/|+&]+", raw.upper()) if c and c != "AND"]
    bad = [c for c in codes if not _CODE.match(c)]
    if bad or not codes:
        raise ValueError(f"{raw[:40]!r} is not a list of procedure codes")
    return tuple(dict.fromkeys(codes))


def _units(value: Any, what: str, required: bool) -> int | None:
    if parse.is_blank(value):
        if required:
            raise ValueError(f"{what} are blank")
        return None
    units = parse.parse_units(value)
    if units > MAX_UNITS:
        raise ValueError(f"{value!r} {what} cannot be right")
    return units


class AuthorizationReader(TabularReader):
    kind = "authorizations"
    fields = AUTHORIZATION_FIELDS

    def looks_like_mine(self, header: HeaderMap, cells: tuple[Any, ...], sample: list[tuple[Any, ...]]) -> bool:
        """Not a charge export that happens to carry an auth number column."""
        charge = match_header(cells, _CHARGE_LOOKUP)
        return not {"charge_id", "service_date"} <= charge.keys()

    def add(self, result: ReadResult, row: Row, evidence: Evidence) -> None:
        start = row.required("start", parse.parse_date)
        end = row.required("end", parse.parse_date)
        if end < start:
            raise ValueError(f"the authorization ends ({end}) before it starts ({start})")
        result.authorizations.append(Authorization(
            patient_id=row.required("patient_id"),
            auth_number=" ".join(row.required("auth_number").split()),
            codes=parse_codes(row["codes"]),
            start=start, end=end,
            units_authorized=_units(row["units_authorized"], "units authorized", True),
            payer=row.text("payer"),
            units_used=_units(row["units_used"], "units used", False),
            next_review=parse.parse_date(row["next_review"]),
            as_of=parse.parse_date(row["as_of"]),
            patient_name=" ".join(row.text("patient_name").split()) if row.text("patient_name") else None,
            evidence=evidence,
        ))

    def read(self, src: SourceFile) -> ReadResult:
        result = super().read(src)
        result.authorizations = _join_rows(result.authorizations)
        return result


def _join_rows(rows: list[Authorization]) -> list[Authorization]:
    """One authorization repeated a row per code (same period, same units): one pool of all its codes."""
    joined: dict[tuple, Authorization] = {}
    for auth in rows:
        key = (auth.patient_id, auth.auth_number.casefold(), auth.start, auth.end, auth.units_authorized,
               auth.units_used, auth.payer, auth.as_of)
        first = joined.get(key)
        if first is None:
            joined[key] = auth
        else:
            joined[key] = dataclasses.replace(first, codes=tuple(dict.fromkeys(first.codes + auth.codes)),
                                              next_review=first.next_review or auth.next_review)
    return list(joined.values())
