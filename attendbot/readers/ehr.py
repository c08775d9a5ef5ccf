"""The EHR attendance export: one row per patient per session."""

from __future__ import annotations

from typing import Any

from attendbot.model import Attendance, Evidence, ReadResult
from attendbot.readers import parse
from attendbot.readers.columns import CHARGE_FIELDS, EHR_FIELDS, HeaderMap, build_lookup, match_header
from attendbot.readers.tabular import Row, TabularReader

_CHARGE_LOOKUP = build_lookup(CHARGE_FIELDS)


class EhrAttendanceReader(TabularReader):
    kind = "ehr_attendance"
    fields = EHR_FIELDS

    def looks_like_mine(self, header: HeaderMap, cells: tuple[Any, ...], sample: list[tuple[Any, ...]]) -> bool:
        """The status column holds attendance words, and the header is not a charge export's
        (whose claim 'Status' may say 'Cancelled' or 'Completed' too)."""
        if {"charge_id", "code", "units"} <= match_header(cells, _CHARGE_LOOKUP).keys():
            return False
        i = header.columns["status"]
        return any(i < len(r) and parse.is_status_word(r[i]) for r in sample)

    def add(self, result: ReadResult, row: Row, evidence: Evidence) -> None:
        result.attendance.append(Attendance(
            service_date=row.required("service_date", parse.parse_date),
            patient_id=row.required("patient_id"),
            session=" ".join(row.required("session").split()),
            status=parse.parse_status(row["status"]),
            patient_name=row.text("patient_name"),
            time_in=parse.parse_time(row["time_in"]),
            time_out=parse.parse_time(row["time_out"]),
            note_status=parse.parse_note_status(row["note_status"]) if row.has("note_status") else None,
            facilitator=row.text("facilitator"),
            modality=parse.parse_modality(row["modality"]),
            evidence=evidence,
        ))
