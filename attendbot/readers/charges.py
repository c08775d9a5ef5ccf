"""The charge export: the day's scheduled charges, one row per charge line."""

from __future__ import annotations

import re

from attendbot.model import Charge, Evidence, ReadResult
from attendbot.readers import parse
from attendbot.readers.columns import CHARGE_FIELDS
from attendbot.readers.tabular import Row, TabularReader


def _pos(value: str | None) -> str | None:
    """Place of service is a two-digit code: Excel turns ``02`` into ``2``."""
    return value.zfill(2) if value and value.isdigit() and len(value) < 2 else value


def revenue_code(value: str | None) -> str | None:
    """A UB-04 revenue code is four digits: Excel turns ``0906`` into ``906``."""
    return value.zfill(4) if value and value.isdigit() and len(value) < 4 else value


def _npi(value: str | None) -> str | None:
    return re.sub(r"\s", "", value) if value else None


class ChargeReader(TabularReader):
    kind = "charges"
    fields = CHARGE_FIELDS

    def add(self, result: ReadResult, row: Row, evidence: Evidence) -> None:
        result.charges.append(Charge(
            charge_id=row.required("charge_id"),
            service_date=row.required("service_date", parse.parse_date),
            patient_id=row.required("patient_id"),
            patient_name=" ".join(row.required("patient_name").split()),
            payer=row.required("payer"),
            code=row.required("code").upper(),
            units=parse.parse_units(row["units"]),
            session=" ".join(row.required("session").split()),
            modifiers=parse.parse_modifiers(*(row[f] for f in ("modifiers", "modifier_1", "modifier_2",
                                                                "modifier_3", "modifier_4"))),
            start=parse.parse_time(row["start"]), end=parse.parse_time(row["end"]),
            provider=row.text("provider"),
            npi=_npi(row.text("npi")),
            pos=_pos(row.text("pos")),
            auth_number=row.text("auth_number"),
            amount=parse.parse_amount(row["amount"]),
            revenue_code=revenue_code(row.text("revenue_code")),
            evidence=evidence,
        ))
