"""The demo's story across days: an authorizations export, and Wednesday's and Friday's files.

Thanksgiving week 2026 at Riverbend Recovery IOP. Tuesday (the demo's first day) is
clean as far as authorizations go. Wednesday 25 November, the concurrent review of
Liam Brennan's authorization (due Tuesday 1 December, three business days away across
Thanksgiving and the weekend) comes into its reminder window, and Rosa Castillo's
second no-show in two days means her week can no longer reach three days. Friday 27
November (the day after Thanksgiving): María Núñez's authorization runs out of units,
Wiremu Ngata's ended on Wednesday, and Rosa's third no-show in four days crosses the
repeat no-show threshold. Every name is invented; the MRNs are the demo's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.tables import write_signin_xlsx, write_table_csv, write_table_xlsx

DAY2 = dt.date(2026, 11, 25)
DAY3 = dt.date(2026, 11, 27)
DAYS = (DAY2, DAY3)
MORNING = "Morning Process Group"
DANA = "Dana Whitfield"
PROGRAM = "Riverbend Recovery IOP"

AUTH_HEADER = ["Client ID", "Client Name", "Insurance", "Auth Number", "Authorized Codes", "Effective", "Expires",
               "Units Approved", "Units Used", "Next CR Date"]
# MRN, name, payer, auth #, codes, effective, expires, approved, used, next concurrent review
AUTHORIZATIONS = [
    ("004821", "Núñez, María", "TX Medicaid", "MCD-26-4821", "H0015", "10/01/2026", "12/31/2026", 20, 18, ""),
    ("004823", "Brennan, Liam", "TX Medicaid", "MCD-26-4823", "H0015, H2019", "11/02/2026", "12/31/2026", 400, 100,
     "12/01/2026"),
    ("004824", "Castillo, Rosa", "TX Medicaid", "MCD-26-4824", "H0015", "11/01/2026", "01/31/2027", 60, 12, ""),
    ("004831", "Silva, Ana", "TX Medicaid", "MCD-26-4831", "H2019", "11/01/2026", "12/31/2026", 480, 96, ""),
    ("004833", "Ngata, Wiremu", "TX Medicaid", "MCD-26-4833", "H2019", "09/01/2026", "11/25/2026", 600, 300, ""),
    ("004837", "Reyes, Mateo", "TX Medicaid", "MCD-26-4837", "S9480", "11/16/2026", "12/15/2026", 20, 5, ""),
    ("004822", "Okafor, Chidi", "Aetna", "AET-77812", "H0015", "11/09/2026", "01/08/2027", 30, 10, "12/15/2026"),
]

# charge id, MRN, patient, payer, code, units, amount, EHR status (no row: "")
LATER = {
    DAY2: [
        ("C-1101", "004821", "Núñez, María", "TX Medicaid", "H0015", 1, 182.00, "Present"),
        ("C-1102", "004822", "Okafor, Chidi", "Aetna", "H0015", 1, 240.00, "Present"),
        ("C-1103", "004823", "Brennan, Liam", "TX Medicaid", "H0015", 1, 182.00, "Present"),
        ("C-1104", "004824", "Castillo, Rosa", "TX Medicaid", "H0015", 1, 182.00, "No Show"),
        ("C-1105", "004830", "Kowalski, Piotr", "Aetna", "H0015", 1, 240.00, "Present"),
    ],
    DAY3: [
        ("C-1201", "004821", "Núñez, María", "TX Medicaid", "H0015", 1, 182.00, "Present"),
        ("C-1202", "004822", "Okafor, Chidi", "Aetna", "H0015", 1, 240.00, "Present"),
        ("C-1203", "004823", "Brennan, Liam", "TX Medicaid", "H0015", 1, 182.00, "Present"),
        ("C-1204", "004824", "Castillo, Rosa", "TX Medicaid", "H0015", 1, 182.00, "No Show"),
        ("C-1205", "004830", "Kowalski, Piotr", "Aetna", "H0015", 1, 240.00, "Present"),
        ("C-1206", "004833", "Ngata, Wiremu", "TX Medicaid", "H2019", 12, 264.00, "Present"),
    ],
}

CHARGE_HEADER = ["Charge #", "DOS", "MRN", "Patient Name", "Primary Payer", "CPT/HCPCS", "Modifiers", "Units",
                 "Group Name", "Start Time", "End Time", "Rendering Provider", "Rendering NPI", "POS", "Charge Amount"]
EHR_HEADER = ["Session Date", "Client ID", "Client Name", "Group", "Attendance Status", "Check In", "Check Out",
              "Note Status", "Staff", "Service Mode"]


def _first_last(name: str) -> str:
    last, _, first = name.partition(",")
    return f"{first.strip()} {last.strip()}"


def write_authorizations(inbox: Path) -> Path:
    """The payer authorizations as the EHR's report writes them (title lines above the header)."""
    return write_table_xlsx(inbox / "authorizations_report.xlsx", AUTH_HEADER, AUTHORIZATIONS,
                            title=[PROGRAM, "Authorization Report", "Run 11/24/2026 7:45 AM"], sheet="Auths")


def write_day(inbox: Path, day: dt.date, npi: Mapping[str, str]) -> None:
    """One later day's charge export, EHR export and morning sign-in sheet, in its day folder."""
    folder = inbox / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    rows = LATER[day]
    stamp = day.strftime("%Y%m%d")
    write_table_csv(folder / f"charges_export_{stamp}.csv", CHARGE_HEADER,
                    [(cid, day.strftime("%m/%d/%Y"), mrn, name, payer, code, "", units, MORNING, "9:00 AM",
                      "12:00 PM", DANA, npi[DANA], "11", f"{amount:.2f}")
                     for cid, mrn, name, payer, code, units, amount, _ in rows],
                    title=[PROGRAM, "Scheduled Charges Report", f"Date of service: {day:%m/%d/%Y}"])
    present = [(mrn, name, status) for _, mrn, name, *_, status in rows if status]
    write_table_csv(folder / f"EHR_attendance_{stamp}.csv", EHR_HEADER,
                    [(day.strftime("%m/%d/%Y"), mrn, name, "Morning Process", status,
                      "09:00" if status == "Present" else "", "12:00" if status == "Present" else "",
                      "Signed" if status == "Present" else "", DANA, "In Person")
                     for mrn, name, status in present],
                    title=["Group Attendance Export", f"Run {day:%m/%d/%Y} 3:05 PM"])
    sheet = SheetDraft(MORNING, day, "9:00 AM", "12:00 PM", DANA, lines=[
        LineDraft(_first_last(name), "text", "9:00", "12:00") for _, _, name, *_, status in rows
        if status == "Present"])
    write_signin_xlsx(folder / f"morning_signin_{stamp}.xlsx", [sheet], program=PROGRAM)


def write_inbox(inbox: Path, npi: Mapping[str, str]) -> None:
    """The authorizations export and both later days' files."""
    write_authorizations(inbox)
    for day in DAYS:
        write_day(inbox, day, npi)
