"""``attendbot demo``: a sample program with one realistic, imperfect day, run end to end.

Riverbend Recovery IOP, Tuesday 24 November 2026. The inbox holds what a real
afternoon holds: a charge export (XLSX with title lines), an EHR attendance
export (CSV in cp1252, with a report header), two PDF sign-in sheets with drawn
and pasted signatures, an XLSX sign-in sheet for the telehealth group, the
blank back of a sheet scanned on its own, and a stray file. Together they contain the gaps programs
meet every week. Every name is invented.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import TextIO

from PIL import Image

from attendbot import config
from attendbot.readers.parse import npi_check_digit
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.scans import image_only_pdf
from attendbot.samples.signin_pdf import write_signin_pdf
from attendbot.samples.tables import write_signin_xlsx, write_table_csv, write_table_xlsx

DAY = dt.date(2026, 11, 24)
MARKER = ".attendbot-demo"

ATTENDBOT_TOML = """\
[program]
name = "Riverbend Recovery IOP"
timezone = "America/Chicago"
run_at = "15:30"
close_of_business = "17:00"
business_days = ["mon", "tue", "wed", "thu", "fri"]
holidays = "US"
closed_days = ["2026-12-24"]

[paths]
inbox = "inbox"
db = "var/attendbot.db"
audit_dir = "audit"
settle_seconds = 0

[slack]
billing_channel = "C0BILLING"
facilitator_channel = "C0GROUPS"
patient_identity = "none"

[slack.facilitators]
"Dana Whitfield" = "U01DANA"
"Marcus Oyelaran" = "U02MARCUS"

[columns.charges]
patient_id = ["Acct No"]
"""

PAYERS_TOML = """\
[defaults]
max_group_size = 12
telehealth_modifiers = ["95"]
audio_modifiers = ["93"]
telehealth_pos = ["02", "10"]
no_show = "not_billable"
no_show_fee = 0.0
same_day_exclusive = []
require_signed_note = true
require_signature = true
requires_auth = false
weekly_min_hours = 9
repeat_no_show = { count = 3, days = 14 }
review_reminder_business_days = 3

[defaults.codes.H0015]
unit = "day"
min_minutes = 180
[defaults.codes.S9480]
unit = "day"
min_minutes = 180
[defaults.codes.H2019]
unit = "time"
unit_minutes = 15
unit_rounding = "8-minute"
max_units_per_day = 16
[defaults.codes.90853]
unit = "session"
min_minutes = 0

[payers.medicaid]
kind = "medicaid"
match = ["medicaid", "healthnet"]
telehealth_modifiers = ["GT"]
max_group_size = 10
same_day_exclusive = [["H0015", "H2019"]]

[payers.medicaid.codes.H2019]
max_units_per_day = 12

[payers.magellan]
kind = "commercial"
match = ["magellan"]
max_group_size = 8

[payers.commercial]
kind = "commercial"
match = ["aetna", "blue cross", "bcbs", "cigna", "united"]

[payers.selfpay]
kind = "self_pay"
match = ["self pay", "self-pay", "private pay"]
no_show = "fee"
no_show_fee = 50.0
"""

DANA = "Dana Whitfield"
MARCUS = "Marcus Oyelaran"
PRIYA = "Priya Raman"
NPI = {DANA: "174650312", MARCUS: "152839460", PRIYA: "190372845"}
NPI = {name: nine + npi_check_digit(nine) for name, nine in NPI.items()}

MORNING, SKILLS, FAMILY, ANGER = ("Morning Process Group", "Afternoon Skills Group", "Family Group",
                                  "Anger Management Group")

# charge id, MRN, patient (as the billing system writes it), payer, code, modifiers, units, group,
# start, end, clinician, POS, amount
CHARGES = [
    ("C-1001", "004821", "Núñez, María", "TX Medicaid", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 182.00),
    ("C-1002", "004822", "Okafor, Chidi", "Aetna", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 240.00),
    ("C-1003", "004823", "Brennan, Liam", "TX Medicaid", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 182.00),
    ("C-1004", "004824", "Castillo, Rosa", "TX Medicaid", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 182.00),
    ("C-1005", "004825", "Hughes, Tamsin", "Self Pay", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 150.00),
    ("C-1006", "004826", "Park, Jae", "Blue Cross Blue Shield", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 240.00),
    ("C-1007", "004827", "Lindqvist, Elin", "Blue Cross Blue Shield", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 240.00),
    ("C-1008", "004828", "Fischer, Hannah", "Cigna", "H0015", "95", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 240.00),
    ("C-1009", "004829", "Adeyemi, Tobi", "Magellan Health", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 210.00),
    ("C-1010", "004830", "Kowalski, Piotr", "Aetna", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 240.00),
    ("C-1011", "004831", "Silva, Ana", "TX Medicaid", "H2019", "GT", 12, SKILLS, "1:00 PM", "4:00 PM", MARCUS, "10", 264.00),
    ("C-1012", "004832", "Dubois, Claire", "Aetna", "H2019", "95", 12, SKILLS, "1:00 PM", "4:00 PM", MARCUS, "10", 336.00),
    ("C-1013", "004833", "Ngata, Wiremu", "TX Medicaid", "H2019", "", 12, SKILLS, "1:00 PM", "4:00 PM", MARCUS, "10", 264.00),
    ("C-1014", "004834", "Tran, Bao", "Aetna", "H2019", "95", 12, SKILLS, "1:00 PM", "4:00 PM", MARCUS, "10", 336.00),
    ("C-1015", "004823", "Brennan, Liam", "TX Medicaid", "H2019", "GT", 8, SKILLS, "1:00 PM", "4:00 PM", MARCUS, "10", 176.00),
    ("C-1016", "004835", "Abernathy, Grace", "UnitedHealthcare", "90853", "", 1, FAMILY, "12:30 PM", "1:30 PM", PRIYA, "11", 95.00),
    ("C-1017", "004836", "Mbeki, Thandi", "Oscar Health", "90853", "", 1, FAMILY, "12:30 PM", "1:30 PM", PRIYA, "11", 95.00),
    ("C-1018", "004837", "Reyes, Mateo", "TX Medicaid", "S9480", "", 1, ANGER, "9:00 AM", "12:00 PM", MARCUS, "11", 175.00),
    ("C-1019", "004837", "Reyes, Mateo", "TX Medicaid", "S9480", "", 1, ANGER, "9:00 AM", "12:00 PM", MARCUS, "11", 175.00),
]

# MRN, patient, group, status, in, out, note, facilitator, modality
EHR = [
    ("004821", "Nunez, Maria", "Morning Process", "Present", "09:00", "12:00", "Signed", DANA, "In Person"),
    ("004822", "Okafor, Chidi", "Morning Process", "Present", "09:00", "12:00", "Draft", DANA, "In Person"),
    ("004823", "Brennan, Liam", "Morning Process", "Present", "09:00", "12:00", "Signed", DANA, "In Person"),
    ("004824", "Castillo, Rosa", "Morning Process", "No Show", "", "", "", DANA, "In Person"),
    ("004825", "Hughes, Tamsin", "Morning Process", "Late Cancel", "", "", "", DANA, "In Person"),
    ("004826", "Park, Jae", "Morning Process", "Late", "10:05", "12:00", "Signed", DANA, "In Person"),
    ("004828", "Fischer, Hannah", "Morning Process", "Present", "09:00", "12:00", "Signed", DANA, "In Person"),
    ("004829", "Adeyemi, Tobi", "Morning Process", "Present", "09:00", "12:00", "Signed", DANA, "In Person"),
    ("004830", "Kowalski, Piotr", "Morning Process", "Present", "09:00", "12:00", "Final", DANA, "In Person"),
    ("004838", "Vance, Owen", "Morning Process", "Present", "09:00", "12:00", "Signed", DANA, "In Person"),
    ("004831", "Silva, Ana", "Afternoon Skills", "Present", "13:00", "16:00", "Signed", MARCUS, "Video"),
    ("004832", "Dubois, Claire", "Afternoon Skills", "Left Early", "13:00", "15:10", "Signed", MARCUS, "Video"),
    ("004833", "Ngata, Wiremu", "Afternoon Skills", "Present", "", "", "Signed", MARCUS, "Video"),
    ("004834", "Tran, Bao", "Afternoon Skills", "Present", "13:00", "16:00", "Signed", MARCUS, "Video"),
    ("004823", "Brennan, Liam", "Afternoon Skills", "Present", "13:00", "15:00", "Signed", MARCUS, "Video"),
    ("004835", "Abernathy, Grace", "Family Group", "Present", "12:30", "13:30", "Signed", PRIYA, "In Person"),
    ("004836", "Mbeki, Thandi", "Family Group", "Present", "12:30", "13:30", "Signed", PRIYA, "In Person"),
    ("004837", "Reyes, Mateo", "Anger Management", "Present", "09:00", "12:00", "Signed", MARCUS, "In Person"),
    # a row for another day: the export covers the week, the run uses its own date
    ("004821", "Nunez, Maria", "Morning Process", "Present", "09:00", "12:00", "Signed", DANA, "In Person"),
]
EHR_OTHER_DAY = len(EHR) - 1


def _sheets() -> tuple[list[SheetDraft], list[SheetDraft]]:
    morning = SheetDraft(MORNING, DAY, "9:00 AM", "12:00 PM", DANA, lines=[
        LineDraft("MARIA NUNEZ", "stroke", "9:00", "12:00"),
        LineDraft("Chidi Okafor", "stroke", "9:00", "12:00"),
        LineDraft("Liam Brennan", None, "9:00", "12:00"),  # forgot to sign
        LineDraft("Jae Park", "stroke", "10:05", "12:00"),  # came late: 115 of 180 minutes
        LineDraft("Elin Lindqvist", "image", "9:00", "12:00"),  # signed, but no EHR row
        LineDraft("Hannah Fischer", "stroke", "9:00", "12:00"),
        LineDraft("Tobi Adeyemi", "stroke", "9:00", "12:00"),
        LineDraft("Piotr Kowalski", "stroke", "9:00", "12:00"),
        LineDraft("Owen Vance", "stroke", "9:00", "12:00"),  # attended, never charged
        LineDraft("Jordan Fey", "stroke", "9:00", "12:00"),  # a visitor nobody scheduled
    ])
    family = SheetDraft(FAMILY, DAY, "12:30 PM", "1:30 PM", PRIYA, facilitator_signature=None, lines=[
        LineDraft("Grace Abernathy", "image", "12:30", "1:30"),
        LineDraft("Thandi Mbeki", "text", "12:30", "1:30"),
    ])
    skills = SheetDraft(SKILLS, DAY, "1:00 PM", "4:00 PM", MARCUS, separate_times=True, lines=[
        LineDraft("Silva, Ana", "text", "1:00 PM", "4:00 PM"),
        LineDraft("Dubois, Claire", "text", "1:00 PM", "3:10 PM"),
        LineDraft("Ngata, Wiremu", "text"),
        LineDraft("Brennan, Liam", "text", "1:00 PM", "3:00 PM"),
    ])
    scan = SheetDraft("Evening Relapse Prevention", DAY - dt.timedelta(days=1), "5:30 PM", "8:30 PM", DANA,
                      scanned=True, lines=[LineDraft("Rosa Castillo"), LineDraft("Mateo Reyes")])
    return [morning, family], [skills, scan]


def write_program(folder: Path) -> Path:
    """Write the sample program's config and inbox into ``folder``; return the config path."""
    (folder / "config").mkdir(parents=True)
    inbox = folder / "inbox"
    inbox.mkdir()
    (folder / MARKER).write_text("a sample program written by `attendbot demo`; safe to delete\n")
    (folder / "config" / "attendbot.toml").write_text(ATTENDBOT_TOML, encoding="utf-8")
    (folder / "config" / "payers.toml").write_text(PAYERS_TOML, encoding="utf-8")

    def t(value: str) -> dt.time:
        return dt.datetime.strptime(value, "%I:%M %p").time()

    write_table_xlsx(
        inbox / "charges_export_20261124.xlsx",
        ["Charge #", "DOS", "Acct No", "Patient Name", "Primary Payer", "CPT/HCPCS", "Modifiers", "Units",
         "Group Name", "Start Time", "End Time", "Rendering Provider", "Rendering NPI", "POS", "Charge Amount"],
        [(cid, DAY, mrn, name, payer, code, mods, units, group, t(start), t(end), who, NPI[who]
          if cid != "C-1016" else "1234567890", pos, amount)
         for cid, mrn, name, payer, code, mods, units, group, start, end, who, pos, amount in CHARGES],
        title=["Riverbend Recovery IOP", "Scheduled Charges Report", "Date of service: 11/24/2026"],
        sheet="Charges")
    ehr_rows = [(("11/24/2026" if i != EHR_OTHER_DAY else "11/23/2026"), mrn, name, group, status, tin, tout,
                 note, fac, modality) for i, (mrn, name, group, status, tin, tout, note, fac, modality) in enumerate(EHR)]
    write_table_csv(
        inbox / "EHR_attendance.csv",
        ["Session Date", "Client ID", "Client Name", "Group", "Attendance Status", "Check In", "Check Out",
         "Note Status", "Staff", "Service Mode"],
        ehr_rows, title=["Group Attendance Export", "Run 11/24/2026 3:12 PM"], encoding="cp1252")
    pdf_sheets, other = _sheets()
    day_folder = inbox / DAY.isoformat()
    day_folder.mkdir()
    write_signin_pdf(day_folder / "signin_morning_family.pdf", pdf_sheets)
    write_signin_xlsx(day_folder / "skills_signin.xlsx", [other[0]], program="Riverbend Recovery IOP")
    # other[1] is the evening sheet the scanner's user meant to scan; what reached the inbox is the
    # sheet's blank back, which no reader can use (quarantined, UNREADABLE_FILE)
    image_only_pdf([Image.new("L", (850, 1100), 236)], day_folder / "Scan_0042.pdf", dpi=100)
    (inbox / "README.txt").write_text("Drop the day's exports and scanned sign-in sheets here.\n")
    (inbox / "meeting-notes.docx").write_bytes(b"\x00\x01not really a document\x00")
    return folder / "config" / "attendbot.toml"


def run_demo(folder: Path, out: TextIO) -> int:
    """Build the sample program in ``folder`` (replacing an earlier demo there) and reconcile its day."""
    from attendbot.runner import run_once

    folder = folder.resolve()
    if folder.exists():
        if not (folder / MARKER).exists() and any(folder.iterdir()):
            print(f"attendbot: {folder} exists and is not an earlier demo; choose another --dir", file=out)
            return 2
        shutil.rmtree(folder)
    config_path = write_program(folder)
    settings = config.load(config_path, base=folder)
    print(f"attendbot demo: sample program written to {folder}/ (config/, inbox/)\n", file=out)
    outcome = run_once(settings, DAY, dry_run=True, out=out)
    exe = Path(sys.executable).with_name("attendbot")
    command = str(exe) if exe.exists() else f"{sys.executable} -m attendbot"
    print(f"\nThe billing lead's audit workbook: {outcome.workbook}\n"
          f"Re-run it yourself:  cd {folder} && {command} run --date {DAY} --dry-run --json", file=out)
    return 0
