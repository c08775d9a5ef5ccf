"""A large day, as the issue measured it: 60 sign-in PDF pages, about 640 charges, about 3,600 EHR rows.

``write_large_day(folder)`` writes a whole program (the demo's config and payer rules, an inbox) into
``folder`` and returns the config path. Sixty groups of 12 scheduled patients meet on one Tuesday;
each has a one-page PDF sign-in sheet (six files of ten pages, with drawn, pasted and typed
signatures and one line in six unsigned); the charge export (CSV) schedules every patient but a few
walk-ins; the EHR export covers the whole week (five days of the same groups), as EHR exports do.
Names, ids and NPIs are invented.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from attendbot.demo import ATTENDBOT_TOML, NPI, PAYERS_TOML
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.signin_pdf import write_signin_pdf
from attendbot.samples.tables import write_table_csv

DAY = dt.date(2026, 11, 24)  # a Tuesday
GROUPS = 60
PER_GROUP = 11
PAGES_PER_FILE = 10
FIRST = "Ana Ben Chidi Dana Elin Femi Grace Hugo Ines Jae Kofi Lena Mateo Nia Omar Priya Quinn Rosa".split()
LAST = ("Adeyemi Brennan Castillo Dubois Eriksen Fischer Garcia Hughes Ibarra Jensen Kowalski Lindqvist Mbeki "
        "Nunez Okafor Park Quist Reyes Silva Tran Ueda Vance Walsh Young Zamora").split()
PAYERS = ["TX Medicaid", "Aetna", "Blue Cross Blue Shield", "Cigna", "Magellan Health", "Self Pay"]
SIGNATURES = ["stroke", "image", "text", "stroke", "image", None]
FACILITATORS = list(NPI)
SLOTS = [("9:00 AM", "12:00 PM", "09:00", "12:00"), ("1:00 PM", "4:00 PM", "13:00", "16:00")]


def _patient(g: int, i: int) -> tuple[str, str, str]:
    """Group ``g``'s ``i``-th patient: MRN, first name, last name (every patient is someone else)."""
    n = g * PER_GROUP + i
    return f"{100000 + n}", FIRST[n % len(FIRST)], f"{LAST[(n // len(FIRST)) % len(LAST)]}{'' if n < 450 else '-' + LAST[n % 7]}"


def write_large_day(folder: Path, groups: int = GROUPS) -> Path:
    (folder / "config").mkdir(parents=True, exist_ok=True)
    inbox = folder / "inbox"
    inbox.mkdir(exist_ok=True)
    (folder / "config" / "attendbot.toml").write_text(ATTENDBOT_TOML, encoding="utf-8")
    (folder / "config" / "payers.toml").write_text(PAYERS_TOML, encoding="utf-8")
    sheets, charges, ehr = [], [], []
    week = [DAY + dt.timedelta(days=d) for d in range(-1, 4)]  # Monday to Friday
    for g in range(groups):
        group, facilitator = f"Skills Group {g + 1}", FACILITATORS[g % len(FACILITATORS)]
        start, end, t_in, t_out = SLOTS[g % 2]
        lines = []
        for i in range(PER_GROUP):
            mrn, first, last = _patient(g, i)
            signature = SIGNATURES[(g + i) % len(SIGNATURES)]
            lines.append(LineDraft(f"{first} {last}", signature, t_in, t_out))
            if i < PER_GROUP - 1 or g % 3:  # every third group has one walk-in nobody charged
                payer = PAYERS[(g + i) % len(PAYERS)]
                charges.append((f"C-{g:03d}{i:02d}", DAY.strftime("%m/%d/%Y"), mrn, f"{last}, {first}", payer,
                                "H0015", "", 1, group, start, end, facilitator, NPI[facilitator], "11",
                                182.0 if payer == "TX Medicaid" else 240.0))
            for day in week:
                status = "Present" if signature or day != DAY else "No Show"
                ehr.append((day.strftime("%m/%d/%Y"), mrn, f"{last}, {first}", group, status,
                            t_in if status == "Present" else "", t_out if status == "Present" else "",
                            "Signed", facilitator, "In Person"))
        sheets.append(SheetDraft(group, DAY, start, end, facilitator, lines=lines))
    day_folder = inbox / DAY.isoformat()
    day_folder.mkdir(exist_ok=True)
    for n in range(0, len(sheets), PAGES_PER_FILE):
        write_signin_pdf(day_folder / f"signin-{n // PAGES_PER_FILE:02d}.pdf", sheets[n:n + PAGES_PER_FILE])
    write_table_csv(inbox / "charges.csv",
                    ["Charge #", "DOS", "Acct No", "Patient Name", "Primary Payer", "CPT/HCPCS", "Modifiers",
                     "Units", "Group Name", "Start Time", "End Time", "Rendering Provider", "Rendering NPI",
                     "POS", "Charge Amount"], charges)
    write_table_csv(inbox / "ehr_attendance.csv",
                    ["Session Date", "Client ID", "Client Name", "Group", "Attendance Status", "Check In",
                     "Check Out", "Note Status", "Staff", "Service Mode"], ehr)
    return folder / "config" / "attendbot.toml"


def sign_in_pdfs(folder: Path) -> list[Path]:
    """The large day's sign-in PDFs (what a bare PDF parse reads)."""
    return sorted((folder / "inbox" / DAY.isoformat()).glob("*.pdf"))
