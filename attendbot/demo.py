"""``attendbot demo``: a sample program with one realistic, imperfect day, run end to end.

Riverbend Recovery IOP, Tuesday 24 November 2026. The inbox holds what a real
afternoon holds: a charge export (XLSX with title lines), an EHR attendance
export (CSV in cp1252, with a report header), PDF sign-in sheets with drawn and
pasted signatures, an XLSX sign-in sheet for the telehealth group, the blank
back of a sheet scanned on its own, and a stray file. Together they contain the
gaps programs meet every week, and the way payers bill a day: a per diem made
of two 90-minute groups (C-1020), a Medicaid component not paid beside the per
diem (C-1015 beside C-1003), a 60-minute psychotherapy code that the minutes
support only as the 45-minute one (C-1021), and an excused absence that is void
without a fee (C-1022). Every name is invented.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
import shutil
import sys
from pathlib import Path
from typing import TextIO

from PIL import Image

from attendbot import config
from attendbot.npi import npi_check_digit
from attendbot.samples import later_days
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

#: The example payer rules attendbot ships: the one copy of the default policy (config/payers.toml
#: in the repository is the same file).
PAYERS_TOML = resources.files("attendbot.samples").joinpath("payers.toml").read_text(encoding="utf-8")

DANA = "Dana Whitfield"
MARCUS = "Marcus Oyelaran"
PRIYA = "Priya Raman"
NPI = {DANA: "174650312", MARCUS: "152839460", PRIYA: "190372845"}
NPI = {name: nine + npi_check_digit(nine) for name, nine in NPI.items()}

MORNING, SKILLS, FAMILY, ANGER = ("Morning Process Group", "Afternoon Skills Group", "Family Group",
                                  "Anger Management Group")
EARLY, RELAPSE, INDIVIDUAL = "Early Recovery Group", "Relapse Prevention Group", "Individual Therapy"

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
    # the per diem of a day made of two 90-minute groups, charged once, on the first
    ("C-1020", "004839", "Osei, Kwame", "Aetna", "H0015", "", 1, EARLY, "9:00 AM", "10:30 AM", PRIYA, "11", 240.00),
    # a 60-minute psychotherapy session that lasted 45 minutes
    ("C-1021", "004830", "Kowalski, Piotr", "Aetna", "90837", "", 1, INDIVIDUAL, "2:00 PM", "3:00 PM", PRIYA, "11", 160.00),
    ("C-1022", "004840", "Laine, Mirela", "Self Pay", "H0015", "", 1, MORNING, "9:00 AM", "12:00 PM", DANA, "11", 150.00),
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
    ("004839", "Osei, Kwame", "Early Recovery", "Present", "09:00", "10:30", "Signed", PRIYA, "In Person"),
    ("004839", "Osei, Kwame", "Relapse Prevention", "Present", "10:45", "12:15", "Signed", PRIYA, "In Person"),
    ("004830", "Kowalski, Piotr", "Individual Therapy", "Present", "14:00", "14:45", "Signed", PRIYA, "In Person"),
    ("004840", "Laine, Mirela", "Morning Process", "Excused", "", "", "", DANA, "In Person"),
    # a row for another day: the export covers the week, the run uses its own date
    ("004821", "Nunez, Maria", "Morning Process", "Present", "09:00", "12:00", "Signed", DANA, "In Person"),
]
EHR_OTHER_DAY = len(EHR) - 1


def _day_sheets() -> list[SheetDraft]:
    """Sheets of the per-diem day and the individual session: one more PDF."""
    return [
        SheetDraft(EARLY, DAY, "9:00 AM", "10:30 AM", PRIYA, lines=[LineDraft("Kwame Osei", "stroke", "9:00", "10:30")]),
        SheetDraft(RELAPSE, DAY, "10:45 AM", "12:15 PM", PRIYA,
                   lines=[LineDraft("Kwame Osei", "stroke", "10:45", "12:15")]),
        SheetDraft(INDIVIDUAL, DAY, "2:00 PM", "3:00 PM", PRIYA,
                   lines=[LineDraft("Piotr Kowalski", "stroke", "2:00 PM", "2:45 PM")]),
    ]


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
    (folder / "config").mkdir(parents=True, exist_ok=True)
    inbox = folder / "inbox"
    inbox.mkdir(exist_ok=True)
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
    day_folder.mkdir(exist_ok=True)
    write_signin_pdf(day_folder / "signin_morning_family.pdf", pdf_sheets)
    write_signin_pdf(day_folder / "signin_recovery_individual.pdf", _day_sheets())
    write_signin_xlsx(day_folder / "skills_signin.xlsx", [other[0]], program="Riverbend Recovery IOP")
    # other[1] is the evening sheet the scanner's user meant to scan; what reached the inbox is the
    # sheet's blank back, which no reader can use (quarantined, UNREADABLE_FILE)
    image_only_pdf([Image.new("L", (850, 1100), 236)], day_folder / "Scan_0042.pdf", dpi=100)
    later_days.write_inbox(inbox, NPI)  # the authorizations export, Wednesday's and Friday's files
    (inbox / "README.txt").write_text("Drop the day's exports and scanned sign-in sheets here.\n")
    (inbox / "meeting-notes.docx").write_bytes(b"\x00\x01not really a document\x00")
    return folder / "config" / "attendbot.toml"


#: What a demo run writes beside its inputs; an earlier demo's copies are replaced, nothing else.
_DEMO_OUTPUTS = ("var", "audit", "quarantine")


def _remove_earlier_demo(folder: Path) -> None:
    """Delete only what an earlier demo wrote (its inbox files, config and outputs), never a
    file the user added, and never the folder itself (it may be the working folder)."""
    marker = folder / MARKER
    if not marker.exists():
        return
    for name in marker.read_text(encoding="utf-8").splitlines():
        path = folder / name
        if name and path.is_file() and not path.is_symlink() and folder in path.resolve().parents:
            path.unlink()
    for name in _DEMO_OUTPUTS:
        if (folder / name).is_dir() and not (folder / name).is_symlink():
            shutil.rmtree(folder / name)


def run_demo(folder: Path, out: TextIO) -> int:
    """Build the sample program in ``folder`` (replacing an earlier demo there) and reconcile its day."""
    from attendbot.outputs.report import console_text
    from attendbot.run import run_day

    folder = folder.resolve()
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
        print(f"attendbot: {folder} exists and is not an earlier demo; choose another --dir", file=out)
        return 2
    _remove_earlier_demo(folder)
    before = {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()
    config_path = write_program(folder)
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p not in before)
    (folder / MARKER).write_text("\n".join(written) + "\n", encoding="utf-8")
    settings = config.load(config_path, base=folder)
    print(f"attendbot demo: sample program written to {folder}/ (config/, inbox/)\n", file=out)
    outcome = run_day(settings, DAY, dry_run=True)
    print(console_text(outcome), file=out)
    last = run_later_days(settings, out)
    exe = Path(sys.executable).with_name("attendbot")
    command = str(exe) if exe.exists() else f"{sys.executable} -m attendbot"
    print(f"\nThe billing lead's audit workbook: {outcome.workbook}\n"
          f"The week so far, with the Trends and Authorizations sheets: {last.workbook}\n"
          f"Re-run it yourself:  cd {folder} && {command} run --date {DAY} --dry-run --json", file=out)
    return 0


def run_later_days(settings: config.Settings, out: TextIO):
    """Reconcile the demo's later days in order (across Thanksgiving), printing each; return the last outcome.

    Together with the first day they show what only the ledger can: a concurrent review coming
    due, an authorization running out of units and one expiring, a third no-show in two weeks,
    a week that can no longer reach its days, and the workbook's Trends over the three days.
    """
    from attendbot.outputs.report import console_text
    from attendbot.run import run_day

    outcome = None
    for day in later_days.DAYS:
        print(f"\n=== {day:%A} {day} ===\n", file=out)
        outcome = run_day(settings, day, dry_run=True)
        print(console_text(outcome), file=out)
    return outcome
