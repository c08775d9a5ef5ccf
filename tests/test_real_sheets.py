"""Sign-in sheets as staff really fill them in, end to end: the sheet is read right, the alert
mentions its facilitator, the minutes are right, and no patient's name reaches Slack.

Each shape is drawn as a PDF and as an XLSX by the sample writers and run through
``run_day`` (dry run) with a charge export and an EHR export beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from attendbot.demo import PAYERS_TOML
from attendbot.model import DayOutcome, SigninSheet
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.readers.signin_xlsx import SigninXlsxReader
from attendbot.readers.source import SourceFile
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.signin_pdf import SIX_COLUMNS, HeaderStyle, write_signin_pdf
from attendbot.samples.tables import XlsxStyle, write_signin_xlsx, write_table_csv, write_table_xlsx

from builders import (DAY, STAFF_CHARGE_HEADER, STAFF_EHR_HEADER, attendbot_toml, staff_charge_row,
                      staff_ehr_row)

FACILITATORS = {"Priya Raman": "U0PRIYA", "Marcus Bell": "U0MARCUS", "Jordan Ellis": "U0JORDAN",
                "Anita Gomez": "U0ANITA", "Dana Whitfield": "U01DANA"}
PATIENTS = [("M-101", "Stone, Avery", "Avery Stone"), ("M-102", "Rivers, Blake", "Blake Rivers"),
            ("M-103", "Moore, Casey", "Casey Moore")]
PATIENT_WORDS = ["Avery", "Stone", "Blake", "Rivers", "Casey", "Moore"]
INSTRUCTIONS = ("By signing below I confirm I attended this group session for the times shown.",
                "Please print your name clearly and sign in the Signature column.")
SIX = ("#", "Printed Name", "Signature", "Time In", "Time Out", "Staff Initials", "Reason if late or left early")


@dataclass
class Shape:
    """One way a program fills in a sheet, and what reading it must give."""

    group: str
    written_hours: tuple[str, str]  # the sheet's Time: header, as written
    facilitator: str  # as written on the sheet
    line_times: list[tuple[str, str]]  # each patient's time in and out, as written
    charge_hours: tuple[str, str]  # the charge export's scheduled start and end
    hours: tuple[dt.time, dt.time]  # the session's hours as they must be read
    sheet_hours: tuple[dt.time, dt.time] | None  # what the sheet alone can tell (None: same as hours)
    supported: list[int]  # units each charge's minutes support
    mention: str
    code: str = "H0015"
    units: int = 1
    ehr_staff: str = ""
    provider: str = ""
    pdf: HeaderStyle = field(default_factory=HeaderStyle)
    xlsx: XlsxStyle = field(default_factory=XlsxStyle)
    extras: tuple[str, ...] = ()


def t(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


SHAPES = {
    "instruction lines under the header": Shape(
        "Morning Process Group", ("9:00 AM", "12:00 PM"), "Priya Raman, LCSW",
        [("9:00 AM", "12:00 PM")] * 3, ("9:00 AM", "12:00 PM"), (t(9), t(12)), None, [1, 1, 1], "U0PRIYA",
        ehr_staff="Raman, Priya", provider="Priya Raman LCSW",
        pdf=HeaderStyle(instructions=INSTRUCTIONS), xlsx=XlsxStyle(header="merged", instructions=INSTRUCTIONS)),
    "six-column table": Shape(
        "Afternoon Skills Group", ("1:00 PM", "4:00 PM"), "Dr. Marcus Bell, PhD",
        [("1:00 PM", "4:00 PM")] * 3, ("1:00 PM", "4:00 PM"),
        (t(13), t(16)), None, [1, 1, 1], "U0MARCUS", ehr_staff="Marcus Bell", provider="Bell, Marcus",
        pdf=HeaderStyle(columns=SIX_COLUMNS, instructions=INSTRUCTIONS[:1]),
        xlsx=XlsxStyle(columns=SIX, instructions=INSTRUCTIONS[:1]), extras=("MB", "bus was late")),
    "credentials and pronouns around the name": Shape(
        "Relapse Prevention", ("9:00 AM", "12:00 PM"), "Jordan Ellis, M.A., LMHC (he/him)",
        [("9:00 AM", "12:00 PM")] * 3, ("9:00 AM", "12:00 PM"), (t(9), t(12)), None, [1, 1, 1], "U0JORDAN",
        ehr_staff="Jordan Ellis, LMHC", provider="Ellis, Jordan, MA"),
    "Last, First staff name": Shape(
        "Coping Skills", ("9:00 AM", "12:00 PM"), "GOMEZ, ANITA, LCSW",
        [("9:00 AM", "12:00 PM")] * 3, ("9:00 AM", "12:00 PM"), (t(9), t(12)), None, [1, 1, 1], "U0ANITA",
        ehr_staff="Anita Gomez, LCSW", provider="Anita Gomez",
        pdf=HeaderStyle(facilitator_label="Group Leader:"), xlsx=XlsxStyle(facilitator_label="Clinician:")),
    "PM times without AM/PM": Shape(
        "Family Group", ("12:30", "1:30"), "Ms. Raman",
        [("12:30", "1:30"), ("12:40", "1:30"), ("12:30", "1:15")], ("12:30 PM", "1:30 PM"), (t(12, 30), t(13, 30)),
        None, [4, 3, 3], "U0PRIYA", code="H2019", units=4, ehr_staff="Priya Raman", provider="Priya Raman"),
    "an afternoon session written 1:00 - 4:00": Shape(
        "Afternoon Skills Group", ("1:00", "4:00"), "Bell, Marcus",
        [("1:05", "3:55"), ("1:00", "4:00"), ("1:00", "4:00")], ("1:00 PM", "4:00 PM"), (t(13), t(16)),
        (t(1), t(4)), [11, 12, 12], "U0MARCUS", code="H2019", units=12, ehr_staff="Marcus Bell",
        provider="Marcus Bell"),
    "the date written as text": Shape(
        "Morning Process Group", ("9:00 AM", "12:00 PM"), "P. Raman",
        [("9:00 AM", "12:00 PM")] * 3, ("9:00 AM", "12:00 PM"), (t(9), t(12)), None, [1, 1, 1], "U0PRIYA",
        ehr_staff="Priya Raman", provider="Priya Raman",
        pdf=HeaderStyle(date_format="%A, %B %d, %Y"), xlsx=XlsxStyle(date_format="%A, %B %d, %Y")),
    "merged header cells a few rows above the table": Shape(
        "Anger Management", ("9:00 AM", "12:00 PM"), "Anita Gomez LCSW-S",
        [("9:00 AM", "12:00 PM")] * 3, ("9:00 AM", "12:00 PM"), (t(9), t(12)), None, [1, 1, 1], "U0ANITA",
        ehr_staff="Gomez, Anita", provider="Anita Gomez",
        pdf=HeaderStyle(two_per_line=True, date_format="%a, %b %d, %Y"),
        xlsx=XlsxStyle(header="one-cell", gap_rows=3, instructions=INSTRUCTIONS[:1], date_format="%B %d, %Y")),
}


def draft(shape: Shape, facilitator: str | None = None) -> SheetDraft:
    """Three patients; the third forgot to sign (a facilitator gap, so the session gets an alert)."""
    lines = [LineDraft(printed, "stroke" if i < 2 else None, *times, extras=shape.extras)
             for i, ((_, _, printed), times) in enumerate(zip(PATIENTS, shape.line_times))]
    return SheetDraft(shape.group, DAY, *shape.written_hours,
                      facilitator=shape.facilitator if facilitator is None else facilitator, lines=lines)


def write_sheet(folder: Path, shape: Shape, kind: str, facilitator: str | None = None) -> Path:
    if kind == "pdf":
        return write_signin_pdf(folder / "signin.pdf", [draft(shape, facilitator)], shape.pdf)
    return write_signin_xlsx(folder / "signin.xlsx", [draft(shape, facilitator)], style=shape.xlsx)


def read_sheet(path: Path) -> tuple[SigninSheet, list[str]]:
    src = SourceFile(path, shown=path.name)
    try:
        reader = SigninPdfReader() if path.suffix == ".pdf" else SigninXlsxReader()
        assert reader.identify(src)
        result = reader.read(src)
    finally:
        src.close()
    [sheet] = result.sheets
    return sheet, [p.message for p in result.problems]


def write_exports(program, shape: Shape, *, ehr_staff: str | None = None, provider: str | None = None) -> None:
    start, end = shape.charge_hours
    staff = shape.ehr_staff if ehr_staff is None else ehr_staff
    write_table_xlsx(program.inbox / "charges.xlsx", STAFF_CHARGE_HEADER,
                     [staff_charge_row(f"C-{i}", mrn, name, shape.group, start, end,
                                       shape.provider if provider is None else provider, shape.code, shape.units)
                      for i, (mrn, name, _) in enumerate(PATIENTS, 1)], title=["Scheduled charges"])
    write_table_csv(program.inbox / "ehr.csv", STAFF_EHR_HEADER,
                    [staff_ehr_row(mrn, name, shape.group.replace(" Group", ""), staff, start, end)
                     for mrn, name, _ in PATIENTS])


def run(program, facilitators=FACILITATORS) -> DayOutcome:
    program.write_config(attendbot_toml(facilitators), PAYERS_TOML)
    return program.run()


def payloads(outcome: DayOutcome) -> str:
    return json.dumps([m.as_dict() for m in outcome.slack.messages], ensure_ascii=False)


def assert_no_patient_named(outcome: DayOutcome) -> None:
    text = payloads(outcome)
    for word in PATIENT_WORDS:
        assert word.casefold() not in text.casefold(), f"{word!r} reached Slack"


def alert(outcome: DayOutcome):
    [message] = [m for m in outcome.slack.messages if m.kind == "session"]
    return message


def billing(outcome: DayOutcome):
    [message] = [m for m in outcome.slack.messages if m.kind == "billing"]
    return message


def bullets(message) -> list[str]:
    return [ln for b in message.blocks if b["type"] == "section" for ln in b["text"]["text"].splitlines()
            if ln.startswith("• ")]


@pytest.mark.parametrize("kind", ["pdf", "xlsx"])
@pytest.mark.parametrize("name", SHAPES)
def test_a_sheet_as_staff_write_it_is_read_and_its_facilitator_alerted_by_mention(program, name, kind):
    shape = SHAPES[name]
    path = write_sheet(program.inbox, shape, kind)

    sheet, problems = read_sheet(path)
    assert (sheet.group, sheet.service_date, sheet.facilitator) == (shape.group, DAY, shape.facilitator)
    assert (sheet.start, sheet.end) == (shape.sheet_hours or shape.hours)
    assert [ln.printed_name for ln in sheet.lines] == [p for _, _, p in PATIENTS]
    assert [ln.signed for ln in sheet.lines] == [True, True, False]
    assert problems == []

    write_exports(program, shape)
    outcome = run(program)
    [session] = outcome.result.sessions
    assert (session.start, session.end, session.facilitator) == (*shape.hours, shape.facilitator)
    assert session.facilitator_note is None  # the sheet, the EHR and the charges name one person
    assert [c.supported_units for c in outcome.result.charges] == shape.supported
    assert not [g for g in outcome.result.gaps if g.code == "SHORT_DURATION"]

    message = alert(outcome)
    assert f"<@{shape.mention}>" in message.text and f"Facilitator: <@{shape.mention}>" in json.dumps(message.blocks)
    [line] = bullets(message)  # the unsigned line the EHR marks present: one problem, one bullet
    assert "Line 3 of the" in line and "charge C-3" in line and line.count(" — ") == 1
    where = "signin.pdf, page 1, line 3" if kind == "pdf" else "signin.xlsx, worksheet"
    assert where in line
    assert "Slack id" not in payloads(outcome)
    assert_no_patient_named(outcome)


@pytest.mark.parametrize("kind", ["pdf", "xlsx"])
def test_a_facilitator_field_that_swallowed_the_roster_is_dropped_and_the_ehr_names_the_facilitator(program, kind):
    shape = SHAPES["six-column table"]
    roster = "Priya Raman, LCSW Avery Stone Blake Rivers Casey Moore"
    path = write_sheet(program.inbox, shape, kind, facilitator=roster)
    sheet, problems = read_sheet(path)
    assert sheet.facilitator is None
    assert any("Facilitator field" in p and "several names" in p for p in problems)
    assert not any(word in " ".join(problems) for word in PATIENT_WORDS)  # the problem never repeats the value

    write_exports(program, shape, ehr_staff="Anita Gomez, LCSW")
    outcome = run(program)
    assert outcome.result.sessions[0].facilitator == "Anita Gomez, LCSW"
    assert "<@U0ANITA>" in alert(outcome).text
    assert_no_patient_named(outcome)


@pytest.mark.parametrize("kind", ["pdf", "xlsx"])
def test_a_patient_s_name_in_the_facilitator_field_never_reaches_slack(program, kind):
    shape = SHAPES["instruction lines under the header"]
    write_sheet(program.inbox, shape, kind, facilitator="Blake Rivers")
    write_exports(program, shape, ehr_staff="", provider="")
    outcome = run(program)
    assert outcome.result.sessions[0].facilitator is None
    assert "no facilitator named" in alert(outcome).text
    assert_no_patient_named(outcome)


def test_when_the_sheet_ehr_and_charges_disagree_the_sheet_wins_and_only_billing_hears_of_it(program):
    shape = SHAPES["credentials and pronouns around the name"]
    write_sheet(program.inbox, shape, "pdf")
    write_exports(program, shape, ehr_staff="Anita Gomez, LCSW", provider="Dr. Marcus Bell")
    outcome = run(program)
    [session] = outcome.result.sessions
    assert session.facilitator == shape.facilitator
    assert "Anita Gomez" in session.facilitator_note and "Marcus Bell" in session.facilitator_note
    assert "<@U0JORDAN>" in alert(outcome).text
    assert "Gomez" not in payloads_of(alert(outcome)) and "Bell" not in payloads_of(alert(outcome))
    summary = payloads_of(billing(outcome))
    assert "name different facilitators" in summary and "Anita Gomez" in summary and "Marcus Bell" in summary
    assert_no_patient_named(outcome)


def test_an_initial_that_fits_two_configured_people_is_never_guessed(program):
    shape = SHAPES["the date written as text"]  # the sheet says "P. Raman"
    write_sheet(program.inbox, shape, "xlsx")
    write_exports(program, shape, ehr_staff="", provider="")
    outcome = run(program, {**FACILITATORS, "Paul Raman": "U0PAUL"})
    assert "<@" not in payloads_of(alert(outcome))
    assert "Facilitator: P. Raman" in payloads_of(alert(outcome))
    assert "P. Raman" in payloads_of(billing(outcome))
    assert "two entries in [slack.facilitators] fit" in payloads_of(billing(outcome))


def test_a_facilitator_with_no_slack_id_is_named_plainly_and_the_admin_problem_goes_to_billing(program):
    shape = SHAPES["instruction lines under the header"]
    write_sheet(program.inbox, shape, "pdf")
    write_exports(program, shape)
    outcome = run(program, {"Dana Whitfield": "U01DANA"})
    text = payloads_of(alert(outcome))
    assert "Facilitator: Priya Raman, LCSW" in text and "Slack id" not in text and "config" not in text
    assert re.search(r"no Slack id in config.*Priya Raman, LCSW", payloads_of(billing(outcome)))


def payloads_of(message) -> str:
    return json.dumps(message.as_dict(), ensure_ascii=False)
