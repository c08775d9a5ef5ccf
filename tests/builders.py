"""Every test's synthetic inputs, in one place: records, payer books, export rows, sheets.

Synthetic names only. Tests import from here (and fixtures from conftest), never from
another test module. :class:`Program` is a program folder (conftest's ``program`` fixture is one).
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from attendbot import config
from attendbot.config import PayerBook, PayersFile
from attendbot.demo import ATTENDBOT_TOML, PAYERS_TOML
from attendbot.model import (Attendance, Authorization, Charge, DayOutcome, Evidence, Modality, NoteStatus,
                             SigninLine, SigninSheet, Status)
from attendbot.npi import npi_check_digit
from attendbot.outputs.rosters import Roster, build_rosters_pdf
from attendbot.run import run_day
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.signin_pdf import PdfCanvas, _scribble
from attendbot.samples.tables import write_table_csv

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real-pdfs"

DAY = dt.date(2026, 11, 24)
MORNING = "Morning Process Group"
NPI = "123456789" + npi_check_digit("123456789")
BAD_NPI = NPI[:-1] + str((int(NPI[-1]) + 1) % 10)
SHEET_FILE = "inbox/2026-11-24/signin.pdf"
EHR_FILE = "inbox/2026-11-24/ehr.csv"
CHARGES_FILE = "inbox/2026-11-24/charges.csv"

# Payer names as an export writes them -> the payers.toml section they resolve to.
MEDICAID = "TX Medicaid"        # [payers.medicaid]: GT, max group 10, H2019 max 12 units
BLUE = "Blue Cross PPO"         # [payers.bluecross]: defaults only
SELF_PAY = "Self Pay"           # [payers.selfpay]: no-show fee $50
UNKNOWN = "Acme Health Plan"    # matches no section

# Eleven synthetic people whose names are far apart from each other.
PEOPLE = [
    ("M-101", "Stone, Avery"), ("M-102", "Rivers, Blake"), ("M-103", "Moore, Casey"),
    ("M-104", "Fields, Drew"), ("M-105", "Banks, Emery"), ("M-106", "Hart, Finley"),
    ("M-107", "Lowell, Gray"), ("M-108", "Quinn, Harper"), ("M-109", "Vale, Indigo"),
    ("M-110", "Marsh, Jules"), ("M-111", "Pike, Kendall"),
]


def t(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


# --- payers.toml --------------------------------------------------------------------

#: The spec's defaults: the [defaults] of the payers.toml attendbot ships (one copy of them).
DEFAULTS: dict = tomllib.loads(PAYERS_TOML)["defaults"]

PAYERS: dict = {
    "medicaid": {
        "kind": "medicaid", "match": ["medicaid", "healthnet"], "telehealth_modifiers": ["GT"],
        "max_group_size": 10, "requires_auth": True, "codes": {"H2019": {"max_units_per_day": 12}},
    },
    "selfpay": {
        "kind": "self_pay", "match": ["self pay", "self-pay", "private pay"],
        "no_show": "fee", "no_show_fee": 50.0,
    },
    "bluecross": {"kind": "commercial", "match": ["blue cross"]},
}


def _merge(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if key == "codes":
            for code, section in value.items():
                out.setdefault("codes", {}).setdefault(code, {}).update(section)
        else:
            out[key] = value
    return out


def book(defaults: dict | None = None, **payer_sections: dict) -> PayerBook:
    """The spec's example payers.toml, with ``defaults`` and named payer sections merged over it."""
    payers = copy.deepcopy(PAYERS)
    for name, section in payer_sections.items():
        payers[name] = _merge(payers.get(name, {}), section)
    return PayerBook(PayersFile.model_validate({"defaults": _merge(DEFAULTS, defaults or {}), "payers": payers}))


BOOK = book()


# --- records ------------------------------------------------------------------------


def charge(cid: str = "C-1", pid: str = "M-1", name: str = "Núñez, María", payer: str = MEDICAID,
           code: str = "H0015", units: int = 1, session: str = MORNING, start: dt.time | None = t(9),
           end: dt.time | None = t(12), npi: str | None = NPI, modifiers: tuple[str, ...] = (),
           pos: str | None = None, day: dt.date = DAY, revenue_code: str | None = None) -> Charge:
    return Charge(charge_id=cid, service_date=day, patient_id=pid, patient_name=name, payer=payer, code=code,
                  units=units, session=session, modifiers=modifiers, start=start, end=end, npi=npi, pos=pos,
                  revenue_code=revenue_code, evidence=Evidence(CHARGES_FILE, row=2))


def ehr(pid: str = "M-1", status: Status = Status.PRESENT, name: str | None = None, session: str = MORNING,
        time_in: dt.time | None = t(9), time_out: dt.time | None = t(12),
        note: NoteStatus | None = NoteStatus.SIGNED, modality: Modality | None = None,
        day: dt.date = DAY) -> Attendance:
    return Attendance(service_date=day, patient_id=pid, session=session, status=status, patient_name=name,
                      time_in=time_in, time_out=time_out, note_status=note, modality=modality,
                      facilitator="Dana Whitfield", evidence=Evidence(EHR_FILE, row=3))


def line(row: int = 1, name: str = "María Núñez", signed: bool = True, time_in: dt.time | None = t(9),
         time_out: dt.time | None = t(12)) -> SigninLine:
    return SigninLine(row=row, printed_name=name, signed=signed, time_in=time_in, time_out=time_out,
                      evidence=Evidence(SHEET_FILE, page=1, row=row))


def sheet(*lines: SigninLine, group: str = MORNING, start: dt.time | None = t(9), end: dt.time | None = t(12),
          facilitator_signed: bool | None = None, day: dt.date = DAY) -> SigninSheet:
    return SigninSheet(group=group, service_date=day, start=start, end=end, facilitator="Dana Whitfield",
                       facilitator_signed=facilitator_signed, lines=tuple(lines),
                       evidence=Evidence(SHEET_FILE, page=1))


# --- export rows and sheets, as files ------------------------------------------------

CHARGE_HEADER = ["Charge ID", "Date of Service", "MRN", "Patient Name", "Payer", "HCPCS", "Modifiers", "Units",
                 "Group", "Start Time", "End Time", "Rendering NPI", "POS", "Amount"]
EHR_HEADER = ["Date", "MRN", "Patient", "Group", "Status", "Time In", "Time Out", "Note Status", "Facilitator"]


def charge_row(cid, mrn, name, day=DAY, code="H0015", units=1, group="Morning Process Group"):
    return [cid, day, mrn, name, "Aetna", code, "", units, group, "9:00 AM", "12:00 PM", NPI, "11", 200.0]


def ehr_row(mrn, name, day=DAY, status="Present", group="Morning Process", note="Signed"):
    return [day.strftime("%m/%d/%Y"), mrn, name, group, status, "9:00 AM", "12:00 PM", note, "Dana Whitfield"]


def morning_sheet(day=DAY, *lines):
    return SheetDraft("Morning Process Group", day, "9:00 AM", "12:00 PM", "Dana Whitfield",
                      lines=list(lines) or [LineDraft("Ana Silva", "stroke", "9:00", "12:00"),
                                            LineDraft("Ben Okoro", "stroke", "9:00", "12:00")])


# --- a program's day as staff really write it: staff columns, afternoon groups ------------

STAFF_CHARGE_HEADER = ["Charge ID", "Date of Service", "MRN", "Patient Name", "Payer", "HCPCS", "Modifiers", "Units",
                       "Group", "Start Time", "End Time", "Rendering Provider", "Rendering NPI", "POS", "Amount"]
STAFF_EHR_HEADER = ["Date", "MRN", "Patient", "Group", "Status", "Time In", "Time Out", "Note Status", "Staff"]


def staff_charge_row(cid, mrn, name, group, start, end, provider, code="H0015", units=1, day=DAY, payer="Aetna"):
    """A charge line whose session has its own hours and rendering provider."""
    return [cid, day, mrn, name, payer, code, "", units, group, start, end, provider, NPI, "11", 120.0]


def staff_ehr_row(mrn, name, group, staff, time_in, time_out, status="Present", note="Signed", day=DAY):
    """An EHR attendance row with the staff member as the export writes them."""
    return [day.strftime("%m/%d/%Y"), mrn, name, group, status, time_in, time_out, note, staff]


def attendbot_toml(facilitators: dict[str, str], identity: str = "none") -> str:
    """The demo's attendbot.toml with another ``[slack.facilitators]`` table and patient identity."""
    from attendbot.demo import ATTENDBOT_TOML

    head, _, rest = ATTENDBOT_TOML.partition("[slack.facilitators]\n")
    _, _, tail = rest.partition("\n\n")
    table = "".join(f'"{name}" = "{uid}"\n' for name, uid in facilitators.items())
    head = head.replace('patient_identity = "none"', f'patient_identity = "{identity}"')
    return f"{head}[slack.facilitators]\n{table}\n{tail}"


# --- across days: authorizations and multi-day ledgers --------------------------------

AUTH_FILE = "inbox/authorizations.csv"
AUTH_HEADER = ["MRN", "Patient Name", "Payer", "Auth #", "Authorized Codes", "Start Date", "End Date",
               "Units Authorized", "Units Used", "Next Review"]


def auth(pid: str = "M-1", number: str = "A-1", codes: tuple[str, ...] = ("H0015",),
         start: dt.date = dt.date(2026, 11, 1), end: dt.date = dt.date(2026, 12, 31), units: int = 30,
         used: int | None = 0, review: dt.date | None = None, payer: str | None = MEDICAID,
         as_of: dt.date | None = dt.date(2026, 11, 1)) -> Authorization:
    return Authorization(patient_id=pid, auth_number=number, codes=codes, start=start, end=end,
                         units_authorized=units, payer=payer, units_used=used, next_review=review, as_of=as_of,
                         evidence=Evidence(AUTH_FILE, row=2))


def auth_row(mrn: str, number: str, codes: str = "H0015", start: str = "11/01/2026", end: str = "12/31/2026",
             units: int = 30, used: int | str = 0, review: str = "", payer: str = MEDICAID, name: str = "") -> list:
    """One row of an authorizations export, as an EHR's report writes it."""
    return [mrn, name, payer, number, codes, start, end, units, used, review]


def write_authorizations(inbox: Path, rows: list[list], name: str = "authorizations.csv") -> Path:
    """An authorizations export (title lines above the header) in the inbox."""
    return write_table_csv(inbox / name, AUTH_HEADER, rows, title=["Authorization Report", "All active clients"])


@dataclass(frozen=True)
class Visit:
    """One patient's charge and EHR row on a day of a multi-day ledger (the 9:00-12:00 morning group)."""

    cid: str
    mrn: str
    name: str = "Silva, Ana"
    status: str = "Present"  # the EHR's word: Present, No Show, Excused, Late Cancel…
    payer: str = MEDICAID
    code: str = "H0015"
    units: int = 1
    auth: str = ""  # the charge line's Auth #
    amount: float = 182.0
    time_in: str = "9:00 AM"
    time_out: str = "12:00 PM"


DAY_CHARGE_HEADER = ["Charge ID", "Date of Service", "MRN", "Patient Name", "Payer", "HCPCS", "Units", "Group",
                     "Start Time", "End Time", "Rendering NPI", "POS", "Auth #", "Amount"]


def write_day(inbox: Path, day: dt.date, visits: list[Visit], charges_file: str = "charges.csv") -> None:
    """One day's charge export and EHR export (no sign-in sheet) in the inbox's day folder."""
    folder = inbox / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    write_table_csv(folder / charges_file, DAY_CHARGE_HEADER,
                    [[v.cid, day.strftime("%m/%d/%Y"), v.mrn, v.name, v.payer, v.code, v.units, MORNING, "9:00 AM",
                      "12:00 PM", NPI, "11", v.auth, v.amount] for v in visits])
    present = {"Present", "Late", "Left Early"}
    write_table_csv(folder / "ehr.csv", EHR_HEADER,
                    [[day.strftime("%m/%d/%Y"), v.mrn, v.name, "Morning Process", v.status,
                      v.time_in if v.status in present else "", v.time_out if v.status in present else "",
                      "Signed" if v.status in present else "", "Dana Whitfield"] for v in visits])


# --- paper sheets, to be scanned or photographed ------------------------------------------

SCAN_LINES = [  # every way the digital layouts sign a box, and empty boxes between them
    LineDraft("Avery Quinlan", "stroke", "9:02 AM", "12:00 PM"),
    LineDraft("María Núñez", None),
    LineDraft("Quinn O'Brien-Smith", "text"),
    LineDraft("Li Na", "image", "9:15 AM", "11:45 AM"),
    LineDraft("Jonathan Fitzgerald-Hughes", None),
    LineDraft("Bo Chen", "stroke"),
]
SCAN_SHEET = SheetDraft("Morning Process Group", DAY, "9:00 AM", "12:00 PM", "Dana Whitfield, LCSW", lines=SCAN_LINES)

ROSTER_NAMES = ("Chen, Bo", "Núñez, María", "O'Brien-Smith, Quinn", "Quinlan, Avery", "Zhang, Wei")
ROSTER = Roster("Morning Process Group", DAY, t(9), t(12), "Dana Whitfield, LCSW", ROSTER_NAMES)
ROSTER_SIGNED = {1, 3, 4}  # rows signed on paper; rows 2 and 5 are left empty


def signed_roster(path: Path, roster: Roster = ROSTER, signed=ROSTER_SIGNED, facilitator=True, walk_in=None) -> Path:
    """The roster as a PDF with strokes drawn into the chosen signature boxes (and a typed walk-in)."""
    pdf, pages = build_rosters_pdf([roster], "Riverbend Recovery IOP")
    [page] = pages
    canvas = PdfCanvas(pdf)
    for row in signed:
        canvas.curve(_scribble(f"row {row}", page.rows[row]["signature"]))
    if facilitator:
        canvas.curve(_scribble("facilitator", page.facilitator_signature))
    if walk_in is not None:
        row, name = walk_in
        x, y, _, h = page.rows[row]["name"]
        canvas.text(x + 5, y + h - 10, name, size=11)
        canvas.curve(_scribble(name, page.rows[row]["signature"]))
    pdf.output(str(path))
    return path


class Program:
    """A program folder: config/, inbox/, and the ledger and audit folder the runs write."""

    def __init__(self, root: Path):
        self.root = root
        self.inbox = root / "inbox"
        (root / "config").mkdir(parents=True, exist_ok=True)
        self.inbox.mkdir(exist_ok=True)
        self.write_config(ATTENDBOT_TOML, PAYERS_TOML)

    def write_config(self, main: str, payers: str) -> None:
        (self.root / "config" / "attendbot.toml").write_text(main, encoding="utf-8")
        (self.root / "config" / "payers.toml").write_text(payers, encoding="utf-8")

    @property
    def config_path(self) -> Path:
        return self.root / "config" / "attendbot.toml"

    def settings(self) -> config.Settings:
        return config.load(self.config_path, base=self.root)

    def run(self, day: dt.date = DAY) -> DayOutcome:
        return run_day(self.settings(), day, dry_run=True)

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"


def demo_on_stub(root: Path, monkeypatch, stub_url: str, slack: str = "") -> Path:
    """The demo program in ``root``, talking to the Slack stub at ``stub_url`` with a token (more
    ``[slack]`` lines in ``slack``), as the working folder, with Slack's pacing off. Its config path."""
    from attendbot.demo import write_program
    from attendbot.outputs import slack_delivery

    root.mkdir()
    path = write_program(root)
    path.write_text(path.read_text().replace("[slack]\n", f'[slack]\napi_url = "{stub_url}"\n{slack}'))
    monkeypatch.chdir(root)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setattr(slack_delivery, "PACE_SECONDS", 0.0)
    monkeypatch.setattr(slack_delivery, "RETRY_BACKOFF", 0.01)
    return path
