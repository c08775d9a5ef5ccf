"""Staff names as staff write them, header values that stop where they should, times read
within the session's own hours, and the facilitator alert's one bullet per problem."""

from __future__ import annotations

import json

import pytest

from attendbot.codes import GapCode as G
from attendbot.config import SlackSection
from attendbot.messages import gap_facts, gap_message
from attendbot.model import ChargeResult, DayResult, Evidence, Gap, NoteStatus, SessionSummary
from attendbot.names import match_name, not_a_person, person_name
from attendbot.outputs.slack_messages import build_messages, slack_id
from attendbot.readers import parse
from attendbot.readers.signin_header import Header, fields_in
from attendbot.reconcile import reconcile
from attendbot.reconcile.sessions import fit_to_hours, in_hours, resolve_facilitator

from builders import BOOK, DAY, MORNING, SHEET_FILE, charge, ehr, line, sheet, t

STAFF = [("U0PRIYA", "Priya Raman"), ("U0MARCUS", "Marcus Bell"), ("U0JORDAN", "Jordan Ellis"),
         ("U0ANITA", "Anita Gomez")]


# --- staff names ---------------------------------------------------------------------------

@pytest.mark.parametrize("written, key", [
    ("Priya Raman, LCSW", "U0PRIYA"), ("Priya Raman LCSW", "U0PRIYA"),
    ("RAMAN, PRIYA", "U0PRIYA"), ("Raman, Priya, LCSW", "U0PRIYA"), ("Raman, Priya LCSW", "U0PRIYA"),
    ("Dr. Marcus Bell", "U0MARCUS"), ("Dr Marcus Bell, PhD", "U0MARCUS"), ("Marcus Bell, Ph.D.", "U0MARCUS"),
    ("Bell, Marcus, Jr.", "U0MARCUS"), ("Marcus Bell Jr.", "U0MARCUS"), ("Mr. Marcus Bell, MD", "U0MARCUS"),
    ("Jordan Ellis, M.A., LMHC (he/him)", "U0JORDAN"), ("Jordan Ellis (he/him)", "U0JORDAN"),
    ("Jordan Ellis, LPC, LADC", "U0JORDAN"), ("Jordan Ellis, CADC, MSW", "U0JORDAN"), ("J. Ellis", "U0JORDAN"),
    ("Ellis, J.", "U0JORDAN"), ("Ms. Gomez", "U0ANITA"), ("Anita Gomez, RN", "U0ANITA"),
    ("Anita Gomez LCSW-S", "U0ANITA"), ("anita gómez", "U0ANITA"), ("Anita Gomez she/her", "U0ANITA"),
])
def test_a_staff_name_matches_whatever_titles_credentials_pronouns_or_order_surround_it(written, key):
    assert match_name(written, STAFF).key == key


@pytest.mark.parametrize("written, candidates", [
    ("P. Raman", [("A", "Priya Raman"), ("B", "Paul Raman")]),
    ("Dr. Bell", [("A", "Marcus Bell"), ("B", "Nora Bell")]),
    ("Bell, M.", [("A", "Marcus Bell"), ("B", "Maya Bell")]),
])
def test_an_initial_or_a_title_that_fits_two_people_is_ambiguous_never_guessed(written, candidates):
    result = match_name(written, candidates)
    assert result.key is None and set(result.ambiguous) == {"A", "B"}


def test_a_surname_that_looks_like_a_degree_stays_a_surname():
    assert person_name("Ma, Lin") == ("Lin Ma", False)
    assert person_name("Lin Ma") == ("Lin Ma", False)
    assert person_name("Lin Ma, MA") == ("Lin Ma", False)
    assert match_name("MA, LIN", [("A", "Lin Ma"), ("B", "Lin Park")]).key == "A"


def test_a_title_is_remembered_so_a_title_and_surname_can_name_a_person():
    assert person_name("Dr. Marcus Bell, PhD, LADC") == ("Marcus Bell", True)
    assert person_name("Bell") == ("Bell", False)
    assert match_name("Bell", STAFF).key is None  # a bare surname without a title is not enough


@pytest.mark.parametrize("value", ["Priya Raman, LCSW", "Dr. Marcus Bell", "RAMAN, PRIYA", "P. Raman",
                                   "Maria de la Cruz", "Jordan Ellis, M.A., LMHC (he/him)", "Sean O'Brien Jr."])
def test_one_person_s_name_as_staff_write_it_is_a_person(value):
    assert not_a_person(value) is None


@pytest.mark.parametrize("value", [
    "Priya Raman, LCSW Avery Stone Blake Rivers Casey Moore",  # a roster swallowed by the field
    "Stone, Avery, Rivers, Blake",
    "By signing below I confirm I attended",
    "Priya Raman Printed Name Signature Time In",
    "Room 204", "N/A", "x" * 90,
])
def test_a_roster_a_sentence_or_junk_is_not_a_person_and_the_reason_never_repeats_it(value):
    reason = not_a_person(value)
    assert reason is not None
    assert not any(word in reason for word in value.split() if len(word) > 3)


# --- header values end where they should ---------------------------------------------------

def test_a_header_value_ends_at_the_next_label_and_at_an_instruction_sentence():
    assert fields_in("Facilitator: Priya Raman, LCSW By signing below I confirm I attended this group") == [
        ("facilitator", "Priya Raman, LCSW")]
    assert fields_in("Group: Morning Process   Date: Tuesday, November 24, 2026   Time: 12:30 - 1:30") == [
        ("group", "Morning Process"), ("date", "Tuesday, November 24, 2026"), ("time", "12:30 - 1:30")]
    assert fields_in("Staff: RAMAN, PRIYA (she/her) Please print clearly") == [("facilitator", "RAMAN, PRIYA (she/her)")]


def test_a_header_value_that_is_no_name_is_unknown_and_flagged_without_repeating_it():
    header = Header()
    header.put("facilitator", "Priya Raman, LCSW Avery Stone Blake Rivers Casey Moore")
    header.put("group", "Morning Process " + "Avery Stone Blake Rivers " * 4)
    assert header.facilitator() is None and header.group() is None
    assert len(header.problems) == 2
    assert not any("Avery" in p or "Stone" in p for p in header.problems)


@pytest.mark.parametrize("written", ["Tuesday, November 24, 2026", "Tue. Nov. 24th, 2026", "Tuesday 11/24/2026",
                                     "24th November 2026", "Tues, Nov 24, 2026", "November 24th, 2026"])
def test_a_date_written_as_text_is_read(written):
    assert parse.parse_date(written) == DAY
    header = Header()
    header.put("date", written)
    assert header.date() == (DAY, None)


# --- times in context ------------------------------------------------------------------------

@pytest.mark.parametrize("written, start, end, expected", [
    ("1:30", t(12, 30), t(13, 30), t(13, 30)),
    ("12:30", t(12, 30), t(13, 30), t(12, 30)),
    ("12:00", t(9), t(12), t(12)),
    ("9:00", t(18), t(21), t(21)),
    ("4:05", t(13), t(16), t(16, 5)),
    ("9:02", t(9), t(12), t(9, 2)),
    ("1:30 AM", t(12, 30), t(13, 30), t(1, 30)),  # written with AM: as written
    ("13:30", t(9), t(12), t(13, 30)),
    ("1:30", None, None, t(1, 30)),  # no hours known: as written
])
def test_a_time_without_am_or_pm_is_read_within_the_session_s_hours(written, start, end, expected):
    assert parse.parse_time_near(written, start, end) == expected


@pytest.mark.parametrize("written, start, end", [
    ("12:30 - 1:30", t(12, 30), t(13, 30)),
    ("11:00 - 1:00", t(11), t(13)),
    ("1:00 - 4:00", t(1), t(4)),  # a morning reading that ends after it starts: the EHR or charges decide
])
def test_a_time_range_read_in_the_morning_that_would_end_before_it_starts_ends_in_the_afternoon(written, start,
                                                                                                 end):
    assert parse.parse_time_range(written) == (start, end)


def test_a_sheet_read_in_the_morning_is_moved_into_the_session_s_afternoon_hours():
    morning = sheet(line(1, time_in=t(1, 5), time_out=t(3, 55)), line(2, "Ana Silva", time_in=t(13), time_out=t(16)),
                    start=t(1), end=t(4))
    fitted = fit_to_hours(morning, t(13), t(16))
    assert (fitted.start, fitted.end) == (t(13), t(16))
    assert [(ln.time_in, ln.time_out) for ln in fitted.lines] == [(t(13, 5), t(15, 55)), (t(13), t(16))]
    assert fit_to_hours(morning, None, None) is morning
    assert in_hours(t(9), t(9), t(12)) == t(9)


def test_a_1_to_4_sheet_of_a_1_to_4_pm_session_counts_its_afternoon_minutes():
    sheet_ = sheet(line(time_in=t(1, 5), time_out=t(3, 55)), start=t(1), end=t(4))
    result = reconcile(DAY, [charge(code="H2019", units=11, start=t(13), end=t(16))],
                       [ehr(time_in=None, time_out=None)], [sheet_], BOOK.policy_for)
    [cr] = result.charges
    assert (cr.supported_units, [g.code for g in cr.gaps]) == (11, [])
    assert (result.sessions[0].start, result.sessions[0].end, result.sessions[0].minutes) == (t(13), t(16), 170)


def test_without_charge_hours_the_ehr_s_hours_place_the_sheet():
    sheet_ = sheet(line(time_in=t(12, 30), time_out=t(1, 30)), start=t(12, 30), end=t(1, 30))
    result = reconcile(DAY, [charge(code="H2019", units=4, start=None, end=None)],
                       [ehr(time_in=t(12, 30), time_out=t(13, 30))], [sheet_], BOOK.policy_for)
    assert result.charges[0].supported_units == 4


# --- who ran the session -------------------------------------------------------------------

def test_the_facilitator_is_the_sheet_s_then_the_ehr_s_then_the_rendering_provider_s():
    assert resolve_facilitator("Priya Raman, LCSW", ["Raman, Priya"], ["Priya Raman"]).name == "Priya Raman, LCSW"
    assert resolve_facilitator(None, ["Anita Gomez", "Anita Gomez", "Jordan Ellis"], ["Bell, Marcus"]).name \
        == "Anita Gomez"
    found = resolve_facilitator("", [], ["Bell, Marcus"])
    assert (found.name, found.source, found.note) == ("Bell, Marcus", "charge export", None)
    assert resolve_facilitator(None, [None, ""], [None]).name is None


def test_sources_that_name_different_people_leave_a_note_for_billing():
    found = resolve_facilitator("Jordan Ellis, LMHC", ["Ellis, Jordan"], ["Dr. Marcus Bell"])
    assert found.name == "Jordan Ellis, LMHC" and found.source == "sheet"
    assert found.note == "sheet says Jordan Ellis, LMHC; charge export says Dr. Marcus Bell"


def test_a_patient_s_name_or_a_roster_is_never_taken_for_the_facilitator():
    found = resolve_facilitator("Avery Stone", ["Anita Gomez"], [], patients=["Stone, Avery"])
    assert found.name == "Anita Gomez"
    found = resolve_facilitator("Priya Raman Avery Stone", [], [], patients=["Stone, Avery"])
    assert found.name is None and "Avery" not in (found.note or "")


# --- the facilitator alert -----------------------------------------------------------------

def slack(**facilitators: str) -> SlackSection:
    return SlackSection(billing_channel="C0BILLING", facilitator_channel="C0GROUPS",
                        facilitators=facilitators or {"Priya Raman": "U0PRIYA", "Marcus Bell": "U0MARCUS"})


@pytest.mark.parametrize("written, uid", [("RAMAN, PRIYA, LCSW", "U0PRIYA"), ("Dr. Marcus Bell, PhD", "U0MARCUS"),
                                          ("Dana Whitfield", None), (None, None)])
def test_the_slack_id_is_found_as_leniently_as_a_patient_s_name(written, uid):
    assert slack_id(written, slack().facilitators)[0] == uid


def test_the_slack_id_of_an_initial_two_people_share_is_never_guessed():
    assert slack_id("P. Raman", {"Priya Raman": "U1", "Paul Raman": "U2"}) == (
        None, "two entries in [slack.facilitators] fit")


def test_an_unsigned_line_the_ehr_marks_present_is_one_bullet_with_one_piece_of_advice_and_its_place():
    result = reconcile(DAY, [charge(), charge("C-2", "M-2", "Silva, Ana")],
                       [ehr(), ehr("M-2", name="Silva, Ana")],
                       [sheet(line(1), line(2, "Ana Silva", signed=False))], BOOK.policy_for)
    assert sorted(g.code for g in result.gaps if g.charge_id == "C-2") == ["ATTENDANCE_CONFLICT", "MISSING_SIGNATURE"]
    [alert, _] = build_messages(result, [], slack(), program="P")
    bullets = [ln for b in alert.blocks if b["type"] == "section" for ln in b["text"]["text"].splitlines()
               if ln.startswith("• ")]
    assert bullets == [f"• Line 2 of the 9:00 AM {MORNING} sheet is unsigned, but the EHR marks the patient present "
                       "(charge C-2) — if they attended, have them sign line 2; if not, correct the EHR. "
                       "_(signin.pdf, page 1, line 2)_"]
    assert "1 item to fix" in json.dumps(alert.blocks)


def test_a_charge_gap_that_is_not_about_the_line_still_points_to_the_patient_s_line():
    result = reconcile(DAY, [charge(), charge("C-2", "M-2", "Silva, Ana")],
                       [ehr(), ehr("M-2", name="Silva, Ana", note=NoteStatus.UNSIGNED)],
                       [sheet(line(1), line(2, "Ana Silva"))], BOOK.policy_for)
    [alert, _] = build_messages(result, [], slack(), program="P")
    text = json.dumps(alert.blocks)
    assert "Charge C-2: the session note is not signed" in text and "signin.pdf, page 1, line 2" in text
    assert "Silva" not in text and "Ana" not in text


def test_a_sheet_level_gap_points_to_the_sheet_and_page_not_a_patient_s_line():
    summary = SessionSummary(MORNING, t(9), t(12), "Priya Raman", Evidence(SHEET_FILE, page=2), 1, 1, 1, 1, 180,
                             key=MORNING, lines={"C-1": Evidence(SHEET_FILE, page=2, row=4)})
    c = charge()
    values = {"session": MORNING, "charge_id": "C-1", "code": "H0015", "payer": "X"}
    gap = Gap(G.FACILITATOR_SIGNATURE_MISSING, gap_message(G.FACILITATOR_SIGNATURE_MISSING, **values),
              Evidence(SHEET_FILE, page=2), "C-1", "M-1", MORNING, session_key=MORNING,
              facts=gap_facts(G.FACILITATOR_SIGNATURE_MISSING, values))
    result = DayResult(DAY, [ChargeResult(c, [gap], 1, MORNING, session_key=MORNING)], [gap], [], [summary], [])
    [alert, _] = build_messages(result, [], slack(), program="P")
    text = json.dumps(alert.blocks)
    assert "_(signin.pdf, page 2)_" in text and "line 4" not in text
