"""Tiny synthetic exports shared by several test files."""

from __future__ import annotations

from attendbot.readers.parse import npi_check_digit

from conftest import DAY

NPI = "123456789" + npi_check_digit("123456789")
CHARGE_HEADER = ["Charge ID", "Date of Service", "MRN", "Patient Name", "Payer", "HCPCS", "Modifiers", "Units",
                 "Group", "Start Time", "End Time", "Rendering NPI", "POS", "Amount"]
EHR_HEADER = ["Date", "MRN", "Patient", "Group", "Status", "Time In", "Time Out", "Note Status", "Facilitator"]


def charge_row(cid, mrn, name, day=DAY, code="H0015", units=1, group="Morning Process Group"):
    return [cid, day, mrn, name, "Aetna", code, "", units, group, "9:00 AM", "12:00 PM", NPI, "11", 200.0]


def ehr_row(mrn, name, day=DAY, status="Present", group="Morning Process", note="Signed"):
    return [day.strftime("%m/%d/%Y"), mrn, name, group, status, "9:00 AM", "12:00 PM", note, "Dana Whitfield"]
