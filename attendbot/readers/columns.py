"""Column synonyms per input kind, as data, and header-row matching.

Each tabular kind declares its fields: name, whether it is required, and the
column names real exports use for it. ``[columns.<kind>]`` in the config adds
more names. Matching ignores case, punctuation and spacing, so ``Charge #``,
``charge no`` and ``CHARGE-NO`` are one name apart only by design.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Iterable, Mapping, Sequence


@dataclass(frozen=True)
class Field:
    name: str
    required: bool
    synonyms: tuple[str, ...]


def _f(name: str, required: bool, *synonyms: str) -> Field:
    return Field(name, required, synonyms)


CHARGE_FIELDS: tuple[Field, ...] = (
    _f("charge_id", True, "Charge ID", "Charge #", "Charge No", "Charge Number", "Line ID",
       "Claim Line ID", "Charge Line ID"),
    _f("service_date", True, "Date of Service", "DOS", "Service Date", "Date"),
    _f("patient_id", True, "MRN", "Patient ID", "Client ID", "Chart #", "Chart Number",
       "Patient MRN", "Account #"),
    _f("patient_name", True, "Patient", "Patient Name", "Client", "Client Name", "Name"),
    _f("payer", True, "Payer", "Insurance", "Primary Payer", "Plan", "Payer Name",
       "Primary Insurance"),
    _f("code", True, "CPT/HCPCS", "HCPCS", "CPT", "Procedure", "Procedure Code", "Code",
       "Service Code", "HCPCS Code", "CPT Code"),
    _f("modifiers", False, "Modifiers", "Mod", "Modifier", "Mods"),
    _f("modifier_1", False, "Modifier 1", "Mod 1", "Mod1"),
    _f("modifier_2", False, "Modifier 2", "Mod 2", "Mod2"),
    _f("modifier_3", False, "Modifier 3", "Mod 3", "Mod3"),
    _f("modifier_4", False, "Modifier 4", "Mod 4", "Mod4"),
    _f("units", True, "Units", "Qty", "Quantity", "Unit"),
    _f("session", True, "Group", "Group Name", "Session", "Program", "Session Name"),
    _f("start", False, "Start", "Start Time", "Scheduled Start", "Time In", "From"),
    _f("end", False, "End", "End Time", "Scheduled End", "Time Out", "To"),
    _f("provider", False, "Rendering Provider", "Clinician", "Provider"),
    _f("npi", False, "Rendering NPI", "NPI", "Provider NPI"),
    _f("pos", False, "POS", "Place of Service"),
    _f("auth_number", False, "Auth #", "Auth Number", "Authorization", "Auth", "Prior Auth"),
    _f("amount", False, "Amount", "Charge Amount", "Fee", "Charges", "Billed Amount"),
    _f("revenue_code", False, "Rev Code", "Revenue Code", "UB Rev", "Rev", "UB Revenue Code", "Rev Cd"),
)

EHR_FIELDS: tuple[Field, ...] = (
    _f("service_date", True, "Date", "Session Date", "Date of Service", "DOS", "Service Date"),
    _f("patient_id", True, "MRN", "Patient ID", "Client ID", "Chart #", "Chart Number"),
    _f("patient_name", False, "Patient", "Client Name", "Patient Name", "Client", "Name"),
    _f("session", True, "Group", "Group Name", "Session", "Session Name", "Program"),
    _f("status", True, "Status", "Attendance", "Attendance Status"),
    _f("time_in", False, "Time In", "Check In", "Arrived", "In", "Check-In Time", "Arrival"),
    _f("time_out", False, "Time Out", "Check Out", "Departed", "Out", "Check-Out Time",
       "Departure"),
    _f("note_status", False, "Note Status", "Documentation Status", "Note", "Progress Note"),
    _f("facilitator", False, "Facilitator", "Staff", "Clinician", "Group Leader"),
    _f("modality", False, "Modality", "Service Mode", "Location Type", "Visit Type"),
)

AUTHORIZATION_FIELDS: tuple[Field, ...] = (
    _f("patient_id", True, "MRN", "Patient ID", "Client ID", "Chart #", "Chart Number", "Patient MRN"),
    _f("patient_name", False, "Patient", "Patient Name", "Client", "Client Name", "Name"),
    _f("payer", False, "Payer", "Insurance", "Plan", "Payer Name", "Primary Payer"),
    _f("auth_number", True, "Auth #", "Auth Number", "Authorization Number", "Authorization", "Auth",
       "Prior Auth", "Auth ID", "Authorization ID"),
    _f("codes", True, "Codes", "Services", "Authorized Codes", "HCPCS", "Authorized Services", "CPT/HCPCS",
       "Service Codes", "Procedure Codes", "Code", "Service Code", "Procedure Code", "CPT"),
    _f("start", True, "Start", "From", "Start Date", "Effective", "Effective Date", "Auth Start",
       "From Date", "Begin Date"),
    _f("end", True, "End", "Thru", "Through", "End Date", "Expires", "Expiration Date", "Auth End",
       "Thru Date", "Through Date", "To Date", "Expiration"),
    _f("units_authorized", True, "Units Authorized", "Authorized Units", "Approved Units", "Units Approved",
       "Auth Units", "Total Units"),
    _f("units_used", False, "Units Used", "Used", "Units Billed", "Used Units", "Billed Units"),
    _f("next_review", False, "Next Review", "Review Due", "Concurrent Review", "Next CR Date",
       "Next Review Date", "CR Due", "Review Date", "Next Concurrent Review"),
    _f("as_of", False, "As Of", "As Of Date", "Units Used As Of", "Used As Of"),
)

FIELDS_BY_KIND: dict[str, tuple[Field, ...]] = {
    "charges": CHARGE_FIELDS,
    "ehr_attendance": EHR_FIELDS,
    "authorizations": AUTHORIZATION_FIELDS,
}

_NON_ALNUM = re.compile(r"[^0-9a-z#]+")


def normalize_header(text: object) -> str:
    """``'Charge #'`` -> ``'charge#'``; ``' Date-of Service '`` -> ``'dateofservice'``.

    ``#`` is kept because it carries meaning (``Chart #`` is a number, ``Chart`` is not);
    ``#`` and ``No``/``Number`` are treated as the same word.
    """
    s = _NON_ALNUM.sub("", str(text or "").lower())
    s = re.sub(r"(number|no)$", "#", s) if len(s) > 3 else s
    return s


@dataclass(frozen=True)
class HeaderMap:
    """Which column index holds each field, for one header row."""

    columns: dict[str, int]
    row_index: int  # 0-based index of the header row among the rows scanned


Lookup = Mapping[str, tuple[str, int]]


def build_lookup(fields: Iterable[Field], extra: Mapping[str, Sequence[str]] | None = None) -> dict[str, tuple[str, int]]:
    """normalized column name -> (field name, rank). A lower rank is a more specific name.

    Names from the config rank first, then each field's synonyms in the order listed,
    so ``Date of Service`` beats a plain ``Date`` column in the same export.
    """
    lookup: dict[str, tuple[str, int]] = {}
    for name, names in (extra or {}).items():
        for n in names:
            lookup.setdefault(normalize_header(n), (name, -1))
    for f in fields:
        for rank, n in enumerate((*f.synonyms, f.name)):
            lookup.setdefault(normalize_header(n), (f.name, rank))
    return lookup


def match_header(cells: Sequence[object], lookup: Lookup) -> dict[str, int]:
    """Map the fields found in one row of cells to column indexes; the most specific name wins."""
    best: dict[str, tuple[int, int]] = {}
    for i, cell in enumerate(cells):
        hit = lookup.get(normalize_header(cell))
        if hit and (hit[0] not in best or hit[1] < best[hit[0]][0]):
            best[hit[0]] = (hit[1], i)
    return {name: i for name, (_, i) in best.items()}


def find_header(rows: Iterable[Sequence[object]], fields: Sequence[Field],
                lookup: Lookup, scan: int = 30) -> HeaderMap | None:
    """The first of the first ``scan`` rows that names every required field."""
    required = {f.name for f in fields if f.required}
    for i, row in enumerate(rows):
        if i >= scan:
            break
        found = match_header(row, lookup)
        if required <= found.keys():
            return HeaderMap(found, i)
    return None
