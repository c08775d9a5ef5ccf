"""Every reconciliation rule of SPEC.md, proved against the pure ``reconcile()``.

Records are built by hand (synthetic names only) and the payer rules come from a
dict shaped like the spec's ``payers.toml``. Each test states only what matters:
the builders below fill in a fully documented charge (signed sheet line, EHR
present with a signed note, 9:00–12:00, valid NPI) that reconciles ``ready``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attendbot.codes import Disposition, GapCode, disposition_of
from attendbot.config import PayerBook
from attendbot.errors import ConfigError
from attendbot.messages import NO_NOTE_STATUS
from attendbot.model import (
    ChargeResult,
    DayResult,
    Evidence,
    Modality,
    NoteStatus,
    Problem,
    Status,
)
from attendbot.reconcile import reconcile

from builders import (BAD_NPI, BLUE, BOOK, DAY, EHR_FILE, MEDICAID, NPI, PEOPLE, SELF_PAY, SHEET_FILE, UNKNOWN, book,
                      charge, ehr, line, sheet, t)

G = GapCode
D = Disposition

_ABSENT = object()


def one(charge_kw: dict | None = None, ehr_kw: dict | None | object = None, line_kw: dict | None | object = None,
        sheet_kw: dict | None | object = None, payers: PayerBook = BOOK) -> tuple[ChargeResult, DayResult]:
    """One charged patient in one session; every source documented unless overridden.

    Pass ``_ABSENT`` for ``ehr_kw`` (no EHR row), ``line_kw`` (not on the sheet) or
    ``sheet_kw`` (no sheet at all).
    """
    charges = [charge(**(charge_kw or {}))]
    attendance = [] if ehr_kw is _ABSENT else [ehr(**(ehr_kw or {}))]
    lines = [] if line_kw is _ABSENT else [line(**(line_kw or {}))]
    sheets = [] if sheet_kw is _ABSENT else [sheet(*lines, **(sheet_kw or {}))]
    result = reconcile(DAY, charges, attendance, sheets, payers.policy_for)
    assert len(result.charges) == 1
    return result.charges[0], result


def codes(cr: ChargeResult) -> set[GapCode]:
    return {g.code for g in cr.gaps}


def by_id(result: DayResult, cid: str) -> ChargeResult:
    return next(cr for cr in result.charges if cr.charge.charge_id == cid)


def day_codes(result: DayResult) -> set[GapCode]:
    return {g.code for g in result.gaps}


# --- the baseline -------------------------------------------------------------------


def test_a_fully_documented_charge_is_ready_with_no_gaps():
    cr, result = one()
    assert cr.gaps == []
    assert cr.disposition is D.READY
    assert cr.supported_units == 1
    assert result.gaps == []
    assert result.no_shows == []
    assert result.unknown_payers == []


def test_charge_gaps_carry_charge_id_patient_id_session_and_owner():
    cr, _ = one(line_kw={"signed": False})
    gap = next(g for g in cr.gaps if g.code is G.MISSING_SIGNATURE)
    assert gap.charge_id == "C-1"
    assert gap.patient_id == "M-1"
    assert gap.session and "Morning Process Group" in gap.session
    assert gap.owner == "facilitator"
    assert gap.evidence is not None and gap.evidence.file == SHEET_FILE and gap.evidence.row == 1


# --- sign-in sheet ------------------------------------------------------------------


def test_a_session_with_charges_and_no_sheet_is_no_signin_sheet():
    cr, _ = one(sheet_kw=_ABSENT)
    assert G.NO_SIGNIN_SHEET in codes(cr)
    assert cr.disposition is D.HOLD


def test_a_session_with_its_sheet_is_not_no_signin_sheet():
    cr, _ = one()
    assert G.NO_SIGNIN_SHEET not in codes(cr)


def test_present_patient_missing_from_the_sheet_is_not_on_signin():
    other = line(row=1, name="Avery Stone")
    result = reconcile(DAY, [charge()], [ehr()], [sheet(other)], BOOK.policy_for)
    cr = result.charges[0]
    assert G.NOT_ON_SIGNIN in codes(cr)
    assert cr.disposition is D.HOLD


def test_patient_listed_on_the_sheet_is_not_not_on_signin():
    cr, _ = one()
    assert G.NOT_ON_SIGNIN not in codes(cr)


def test_unsigned_line_is_missing_signature():
    cr, _ = one(line_kw={"signed": False})
    assert G.MISSING_SIGNATURE in codes(cr)
    assert cr.disposition is D.HOLD


def test_signed_line_is_not_missing_signature():
    cr, _ = one(line_kw={"signed": True})
    assert G.MISSING_SIGNATURE not in codes(cr)


def test_empty_facilitator_signature_field_is_facilitator_signature_missing():
    cr, _ = one(sheet_kw={"facilitator_signed": False})
    assert G.FACILITATOR_SIGNATURE_MISSING in codes(cr)
    assert cr.disposition is D.HOLD


@pytest.mark.parametrize("field", [True, None], ids=["signed", "no-such-field"])
def test_signed_or_absent_facilitator_field_is_not_facilitator_signature_missing(field):
    cr, _ = one(sheet_kw={"facilitator_signed": field})
    assert G.FACILITATOR_SIGNATURE_MISSING not in codes(cr)
    assert cr.disposition is D.READY



def test_scan_uncertain_goes_to_its_session_and_row_and_holds_the_charge_whose_line_it_is():
    # issue 16: what a scan could not judge is the facilitator's to look at, in that session's alert
    def doubt(where: Evidence, what: str) -> Problem:
        return Problem(f"{what} could not be read with confidence", where, G.SCAN_UNCERTAIN)

    charges = [charge(), charge(cid="C-2", pid="M-2", name="Stone, Avery"),
               charge(cid="C-3", pid="M-3", name="Moore, Casey", code="T1006")]  # billed without the patient
    lines = [line(1, signed=False), line(2, name="Avery Stone"), line(3, name="Casey Moore", signed=False)]
    problems = [doubt(Evidence(SHEET_FILE, page=1, row=1), "the signature box"),
                doubt(Evidence(SHEET_FILE, page=1, row=3), "the signature box"),
                doubt(Evidence(SHEET_FILE, page=1, row=4), "the printed name"),  # the line was left out
                doubt(Evidence(SHEET_FILE, page=1), "the facilitator signature"),
                doubt(Evidence("inbox/Scan_0042.pdf", page=2), "the header's group")]  # no session's page
    payers = book({"codes": {"T1006": {"unit": "session", "attendance": "not_required"}}})
    result = reconcile(DAY, charges, [ehr(), ehr("M-2"), ehr("M-3")], [sheet(*lines)], payers.policy_for,
                       problems=problems)
    [session] = result.sessions
    found = {(g.charge_id, g.session_key, g.line, g.evidence) for g in result.gaps if g.code is G.SCAN_UNCERTAIN}
    assert found == {("C-1", session.key, 1, Evidence(SHEET_FILE, page=1, row=1)),
                     (None, session.key, 3, Evidence(SHEET_FILE, page=1, row=3)),
                     (None, session.key, 4, Evidence(SHEET_FILE, page=1, row=4)),
                     (None, session.key, None, Evidence(SHEET_FILE, page=1)),
                     (None, None, None, Evidence("inbox/Scan_0042.pdf", page=2))}  # day-level: billing's summary
    by_id = {cr.charge.charge_id: cr for cr in result.charges}
    assert G.SCAN_UNCERTAIN in codes(by_id["C-1"]) and by_id["C-1"].disposition is D.HOLD
    assert by_id["C-2"].disposition is D.READY
    assert G.SCAN_UNCERTAIN not in codes(by_id["C-3"])  # its line does not decide it

# --- EHR ----------------------------------------------------------------------------


def test_signed_patient_without_an_ehr_row_is_no_ehr_attendance():
    cr, _ = one(ehr_kw=_ABSENT)
    assert G.NO_EHR_ATTENDANCE in codes(cr)
    assert cr.disposition is D.HOLD


def test_patient_with_an_ehr_row_is_not_no_ehr_attendance():
    cr, _ = one()
    assert G.NO_EHR_ATTENDANCE not in codes(cr)


def test_charge_with_no_sheet_and_no_ehr_row_is_held_not_voided():
    cr, result = one(ehr_kw=_ABSENT, sheet_kw=_ABSENT)
    assert {G.NO_SIGNIN_SHEET, G.NO_EHR_ATTENDANCE} <= codes(cr)
    assert G.NO_SHOW not in codes(cr)
    assert cr.disposition is D.HOLD
    assert result.no_shows == []


def test_signed_line_but_ehr_no_show_is_attendance_conflict():
    cr, result = one(ehr_kw={"status": Status.NO_SHOW, "time_in": None, "time_out": None})
    assert G.ATTENDANCE_CONFLICT in codes(cr)
    assert G.NO_SHOW not in codes(cr)
    assert cr.disposition is D.HOLD
    assert result.no_shows == []


def test_ehr_present_but_unsigned_line_is_attendance_conflict():
    cr, _ = one(line_kw={"signed": False})
    assert {G.ATTENDANCE_CONFLICT, G.MISSING_SIGNATURE} <= codes(cr)
    assert cr.disposition is D.HOLD


def test_ehr_present_but_not_on_sheet_is_attendance_conflict():
    result = reconcile(DAY, [charge()], [ehr()], [sheet(line(name="Avery Stone"))], BOOK.policy_for)
    assert G.ATTENDANCE_CONFLICT in codes(result.charges[0])


def test_sheet_and_ehr_agreeing_is_not_attendance_conflict():
    cr, _ = one()
    assert G.ATTENDANCE_CONFLICT not in codes(cr)


def test_unsigned_session_note_is_note_unsigned():
    cr, _ = one(ehr_kw={"note": NoteStatus.UNSIGNED})
    assert G.NOTE_UNSIGNED in codes(cr)
    assert cr.disposition is D.HOLD


@pytest.mark.parametrize("note", [NoteStatus.SIGNED, None], ids=["signed", "no-note-column"])
def test_signed_or_unknown_note_is_not_note_unsigned(note):
    cr, _ = one(ehr_kw={"note": note})
    assert G.NOTE_UNSIGNED not in codes(cr)


def test_require_signed_note_false_turns_note_unsigned_off():
    payers = book(medicaid={"require_signed_note": False})
    cr, _ = one(ehr_kw={"note": NoteStatus.UNSIGNED}, payers=payers)
    assert G.NOTE_UNSIGNED not in codes(cr)
    assert cr.disposition is D.READY


# --- duration and units -------------------------------------------------------------


def test_per_diem_code_without_any_times_is_missing_times():
    cr, _ = one(ehr_kw={"time_in": None, "time_out": None}, line_kw={"time_in": None, "time_out": None})
    assert G.MISSING_TIMES in codes(cr)
    assert cr.disposition is D.HOLD
    assert cr.supported_units is None


def test_times_from_the_ehr_alone_are_not_missing_times():
    cr, _ = one(line_kw={"time_in": None, "time_out": None})
    assert G.MISSING_TIMES not in codes(cr)
    assert cr.disposition is D.READY


#: 90853 without its two-patient minimum, for the tests of one patient in a group session.
NO_GROUP_MINIMUM = book(defaults={"codes": {"90853": {"min_group_size": 0}}})


def test_per_session_code_without_minimum_needs_no_times():
    cr, _ = one(charge_kw={"code": "90853"}, payers=NO_GROUP_MINIMUM,
                ehr_kw={"time_in": None, "time_out": None}, line_kw={"time_in": None, "time_out": None})
    assert G.MISSING_TIMES not in codes(cr)
    assert cr.disposition is D.READY
    assert cr.supported_units == 1


def test_per_diem_150_of_180_minutes_is_short_duration():
    cr, _ = one(ehr_kw={"time_out": t(11, 30)}, line_kw={"time_out": t(11, 30)})
    assert G.SHORT_DURATION in codes(cr)
    assert cr.disposition is D.HOLD
    assert cr.supported_units == 0


def test_per_diem_exactly_180_minutes_is_not_short_duration():
    cr, _ = one()
    assert G.SHORT_DURATION not in codes(cr)
    assert cr.supported_units == 1


def test_s9480_per_diem_150_minutes_is_short_duration():
    cr, _ = one(charge_kw={"code": "S9480"}, ehr_kw={"time_out": t(11, 30)}, line_kw={"time_out": t(11, 30)})
    assert G.SHORT_DURATION in codes(cr)


def test_payer_code_section_overrides_the_default_minimum():
    payers = book(defaults={"codes": {"90853": {"min_group_size": 0}}},
                  bluecross={"codes": {"90853": {"min_minutes": 45}}})
    short, _ = one(charge_kw={"payer": BLUE, "code": "90853"}, ehr_kw={"time_out": t(9, 30)},
                   line_kw={"time_out": t(9, 30)}, payers=payers)
    other, _ = one(charge_kw={"payer": MEDICAID, "code": "90853"}, ehr_kw={"time_out": t(9, 30)},
                   line_kw={"time_out": t(9, 30)}, payers=payers)
    assert G.SHORT_DURATION in codes(short)
    assert short.disposition is D.HOLD
    assert G.SHORT_DURATION not in codes(other)
    assert other.disposition is D.READY


def test_code_without_a_section_has_no_duration_rule():
    cr, _ = one(charge_kw={"code": "99999", "units": 3}, ehr_kw={"time_out": t(9, 5)}, line_kw={"time_out": t(9, 5)})
    assert not codes(cr) & {G.SHORT_DURATION, G.UNITS_EXCEED_TIME, G.MISSING_TIMES}
    assert cr.supported_units == 3


def _h2019(units: int, out: dt.time, payer: str = BLUE, payers: PayerBook = BOOK,
           start: dt.time = t(9), end: dt.time = t(12)) -> ChargeResult:
    cr, _ = one(charge_kw={"code": "H2019", "units": units, "payer": payer, "start": start, "end": end},
                ehr_kw={"time_in": start, "time_out": out}, line_kw={"time_in": start, "time_out": out},
                sheet_kw={"start": start, "end": end}, payers=payers)
    return cr


def test_time_units_beyond_minutes_are_units_exceed_time_adjusted_to_supported():
    cr = _h2019(units=8, out=t(10, 30))  # 90 minutes -> (90 + 7) // 15 = 6
    assert G.UNITS_EXCEED_TIME in codes(cr)
    assert cr.disposition is D.ADJUST
    assert cr.supported_units == 6


def test_time_units_the_minutes_support_are_not_units_exceed_time():
    cr = _h2019(units=6, out=t(10, 30))
    assert G.UNITS_EXCEED_TIME not in codes(cr)
    assert cr.disposition is D.READY
    assert cr.supported_units == 6


@pytest.mark.parametrize("minutes, supported", [(7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3)])
def test_eight_minute_rounding_boundaries(minutes, supported):
    cr = _h2019(units=3, out=t(9 + minutes // 60, minutes % 60))
    assert cr.supported_units == supported


def test_full_rounding_counts_whole_units_only():
    eight = _h2019(units=8, out=t(10, 40))  # 100 minutes
    full = _h2019(units=8, out=t(10, 40), payers=book(defaults={"codes": {"H2019": {"unit_rounding": "full"}}}))
    assert eight.supported_units == 7
    assert full.supported_units == 6
    assert G.UNITS_EXCEED_TIME in codes(full)
    assert full.disposition is D.ADJUST


def test_time_code_with_no_supported_unit_is_short_duration_not_units_exceed():
    cr = _h2019(units=2, out=t(9, 7))
    assert G.SHORT_DURATION in codes(cr)
    assert G.UNITS_EXCEED_TIME not in codes(cr)
    assert cr.disposition is D.HOLD
    assert cr.supported_units == 0


def test_time_units_are_capped_at_max_units_per_day():
    cr = _h2019(units=20, out=t(13), start=t(8), end=t(14))  # 300 minutes -> 20, cap 16
    assert cr.supported_units == 16
    assert G.UNITS_EXCEED_TIME in codes(cr)
    assert cr.disposition is D.ADJUST


def test_payer_code_section_overrides_max_units_per_day():
    cr = _h2019(units=16, out=t(13), payer=MEDICAID, start=t(8), end=t(14))
    assert cr.supported_units == 12
    assert G.UNITS_EXCEED_TIME in codes(cr)
    assert cr.disposition is D.ADJUST


def test_units_at_the_cap_are_not_units_exceed_time():
    cr = _h2019(units=16, out=t(13), start=t(8), end=t(14))
    assert G.UNITS_EXCEED_TIME not in codes(cr)
    assert cr.disposition is D.READY


def test_two_units_of_a_per_diem_code_are_adjusted_to_one():
    cr, _ = one(charge_kw={"units": 2})
    assert G.UNITS_EXCEED_TIME in codes(cr)
    assert cr.disposition is D.ADJUST
    assert cr.supported_units == 1


# --- minutes attended ---------------------------------------------------------------


def test_minutes_take_the_later_in_and_the_earlier_out_across_sheet_and_ehr():
    _, result = one(ehr_kw={"time_in": t(9, 20), "time_out": t(11, 50)},
                    line_kw={"time_in": t(9, 5), "time_out": t(11, 40)})
    assert result.sessions[0].minutes == 140
    assert G.SHORT_DURATION in codes(result.charges[0])


def test_minutes_are_clamped_to_the_session_start_and_end():
    _, result = one(ehr_kw={"time_in": t(8, 30), "time_out": t(12, 30)},
                    line_kw={"time_in": t(8, 30), "time_out": t(12, 45)})
    assert result.sessions[0].minutes == 180


def test_clamped_minutes_decide_units():
    cr = _h2019(units=12, out=t(13), start=t(9), end=t(10))  # in 9:00, out 13:00, session ends 10:00
    assert cr.supported_units == 4


# --- group size ---------------------------------------------------------------------


def _group(n: int, first_payer: str = MEDICAID, rest_payer: str = BLUE) -> DayResult:
    people = PEOPLE[:n]
    charges = [charge(cid=f"C-{i}", pid=pid, name=name, payer=first_payer if i == 0 else rest_payer)
               for i, (pid, name) in enumerate(people)]
    attendance = [ehr(pid=pid) for pid, _ in people]
    lines = [line(row=i + 1, name=" ".join(reversed(name.split(", ")))) for i, (_, name) in enumerate(people)]
    return reconcile(DAY, charges, attendance, [sheet(*lines)], BOOK.policy_for)


def test_attendees_over_the_payers_maximum_is_group_size_exceeded_counting_all_payers():
    result = _group(11)  # one Medicaid patient (max 10), ten Blue Cross (max 12)
    medicaid = by_id(result, "C-0")
    assert G.GROUP_SIZE_EXCEEDED in codes(medicaid)
    assert medicaid.disposition is D.HOLD
    assert result.sessions[0].attendees == 11


def test_only_the_payer_whose_maximum_is_exceeded_is_held():
    result = _group(11)
    for cr in result.charges[1:]:
        assert cr.charge.payer == BLUE
        assert G.GROUP_SIZE_EXCEEDED not in codes(cr)
        assert cr.disposition is D.READY


def test_attendees_at_the_maximum_are_not_group_size_exceeded():
    result = _group(10)
    assert G.GROUP_SIZE_EXCEEDED not in day_codes(result)
    assert all(cr.disposition is D.READY for cr in result.charges)


def test_no_show_patients_do_not_count_toward_group_size():
    people = PEOPLE[:11]
    charges = [charge(cid=f"C-{i}", pid=pid, name=name) for i, (pid, name) in enumerate(people)]
    attendance = [ehr(pid=pid) for pid, _ in people[:10]] + [ehr(pid=people[10][0], status=Status.NO_SHOW)]
    lines = [line(row=i + 1, name=" ".join(reversed(name.split(", ")))) for i, (_, name) in enumerate(people[:10])]
    result = reconcile(DAY, charges, attendance, [sheet(*lines)], BOOK.policy_for)
    assert G.GROUP_SIZE_EXCEEDED not in day_codes(result)


# --- telehealth ---------------------------------------------------------------------


def test_medicaid_video_session_billed_with_95_is_telehealth_modifier_missing():
    cr, _ = one(charge_kw={"modifiers": ("95",), "pos": "10"}, ehr_kw={"modality": Modality.VIDEO})
    assert G.TELEHEALTH_MODIFIER_MISSING in codes(cr)
    assert cr.disposition is D.HOLD


def test_medicaid_video_session_billed_with_gt_is_not_telehealth_modifier_missing():
    cr, _ = one(charge_kw={"modifiers": ("GT",), "pos": "10"}, ehr_kw={"modality": Modality.VIDEO})
    assert not codes(cr) & {G.TELEHEALTH_MODIFIER_MISSING, G.TELEHEALTH_MODIFIER_UNEXPECTED}
    assert cr.disposition is D.READY


def test_default_payer_video_session_needs_95_not_gt():
    ok, _ = one(charge_kw={"payer": BLUE, "modifiers": ("95",), "pos": "02"}, ehr_kw={"modality": Modality.VIDEO})
    wrong, _ = one(charge_kw={"payer": BLUE, "modifiers": ("GT",), "pos": "02"}, ehr_kw={"modality": Modality.VIDEO})
    assert G.TELEHEALTH_MODIFIER_MISSING not in codes(ok)
    assert ok.disposition is D.READY
    assert G.TELEHEALTH_MODIFIER_MISSING in codes(wrong)
    assert wrong.disposition is D.HOLD


def test_audio_only_session_needs_93():
    ok, _ = one(charge_kw={"payer": BLUE, "modifiers": ("93",)}, ehr_kw={"modality": Modality.AUDIO})
    wrong, _ = one(charge_kw={"payer": BLUE, "modifiers": ("95",)}, ehr_kw={"modality": Modality.AUDIO})
    assert G.TELEHEALTH_MODIFIER_MISSING not in codes(ok)
    assert ok.disposition is D.READY
    assert G.TELEHEALTH_MODIFIER_MISSING in codes(wrong)
    assert wrong.disposition is D.HOLD


def test_telehealth_place_of_service_makes_the_session_telehealth():
    cr, _ = one(charge_kw={"payer": BLUE, "pos": "02"})
    assert G.TELEHEALTH_MODIFIER_MISSING in codes(cr)
    assert cr.disposition is D.HOLD


def test_video_session_billed_with_an_office_place_of_service_is_place_of_service_mismatch():
    cr, _ = one(charge_kw={"payer": BLUE, "modifiers": ("95",), "pos": "11"}, ehr_kw={"modality": Modality.VIDEO})
    assert codes(cr) == {G.PLACE_OF_SERVICE_MISMATCH}  # the modifier is right; the place of service is not
    assert cr.disposition is D.HOLD
    gap = cr.gaps[0]
    assert "place of service 11" in gap.message and "02 or 10" in gap.message
    assert gap.owner == "billing"


@pytest.mark.parametrize("payer, modifier", [(BLUE, "95"), (BLUE, "93"), (MEDICAID, "GT")])
def test_telehealth_modifier_on_in_person_session_is_telehealth_modifier_unexpected(payer, modifier):
    cr, _ = one(charge_kw={"payer": payer, "modifiers": (modifier,), "pos": "11"},
                ehr_kw={"modality": Modality.IN_PERSON})
    assert G.TELEHEALTH_MODIFIER_UNEXPECTED in codes(cr)
    assert cr.disposition is D.HOLD


def test_in_person_session_without_telehealth_modifier_is_not_unexpected():
    cr, _ = one(charge_kw={"modifiers": ("HQ",), "pos": "11"}, ehr_kw={"modality": Modality.IN_PERSON})
    assert not codes(cr) & {G.TELEHEALTH_MODIFIER_MISSING, G.TELEHEALTH_MODIFIER_UNEXPECTED}
    assert cr.disposition is D.READY


def test_the_ehr_modality_decides_over_a_telehealth_place_of_service():
    # EHR "in person", billed POS 10 with 95: the modifier and the place of service are both wrong.
    cr, _ = one(charge_kw={"payer": BLUE, "modifiers": ("95",), "pos": "10"},
                ehr_kw={"modality": Modality.IN_PERSON})
    assert codes(cr) == {G.TELEHEALTH_MODIFIER_UNEXPECTED, G.PLACE_OF_SERVICE_MISMATCH}
    assert cr.disposition is D.HOLD


def test_in_person_session_billed_with_pos_02_is_place_of_service_mismatch_not_add_modifier():
    cr, _ = one(charge_kw={"payer": BLUE, "pos": "02"}, ehr_kw={"modality": Modality.IN_PERSON})
    assert codes(cr) == {G.PLACE_OF_SERVICE_MISMATCH}
    assert "in-person" in cr.gaps[0].message and "modifier" not in cr.gaps[0].message


@pytest.mark.parametrize("modality, pos", [(Modality.IN_PERSON, "11"), (Modality.VIDEO, "10"),
                                           (Modality.VIDEO, "02"), (Modality.AUDIO, "10"), (None, "02"),
                                           (None, "11"), (Modality.VIDEO, None)])
def test_place_of_service_agreeing_with_the_modality_is_not_place_of_service_mismatch(modality, pos):
    mods = {Modality.VIDEO: ("95",), Modality.AUDIO: ("93",)}.get(modality, ("95",) if pos == "02" else ())
    cr, _ = one(charge_kw={"payer": BLUE, "modifiers": mods, "pos": pos}, ehr_kw={"modality": modality})
    assert G.PLACE_OF_SERVICE_MISMATCH not in codes(cr)
    assert cr.disposition is D.READY


def test_without_an_ehr_modality_the_place_of_service_decides():
    cr, _ = one(charge_kw={"payer": BLUE, "modifiers": ("95",), "pos": "10"}, ehr_kw={"modality": None})
    assert cr.disposition is D.READY
    cr, _ = one(charge_kw={"payer": BLUE, "pos": "10"}, ehr_kw={"modality": None})
    assert codes(cr) == {G.TELEHEALTH_MODIFIER_MISSING}


def test_a_payer_paying_telehealth_by_place_of_service_alone_needs_no_modifier():
    payers = book(medicare={"kind": "medicare", "match": ["medicare"], "telehealth_modifiers": []})
    ok, _ = one(charge_kw={"payer": "Medicare Part B", "pos": "10"}, ehr_kw={"modality": Modality.VIDEO},
                payers=payers)
    assert ok.gaps == [] and ok.disposition is D.READY
    office, _ = one(charge_kw={"payer": "Medicare Part B", "pos": "11"}, ehr_kw={"modality": Modality.VIDEO},
                    payers=payers)
    assert codes(office) == {G.PLACE_OF_SERVICE_MISMATCH}
    phone, _ = one(charge_kw={"payer": "Medicare Part B", "pos": "10"}, ehr_kw={"modality": Modality.AUDIO},
                   payers=payers)
    assert codes(phone) == {G.TELEHEALTH_MODIFIER_MISSING}  # audio-only still needs 93


# --- NPI ----------------------------------------------------------------------------


@pytest.mark.parametrize("npi", [None, "", BAD_NPI, "12345", "12345678ab"],
                         ids=["none", "empty", "bad-check-digit", "short", "letters"])
def test_missing_or_bad_npi_is_invalid_npi(npi):
    cr, _ = one(charge_kw={"npi": npi})
    assert G.INVALID_NPI in codes(cr)
    assert cr.disposition is D.HOLD


@pytest.mark.parametrize("npi", [NPI, "1234567893"])  # 1234567893: the CMS published example
def test_valid_npi_is_not_invalid_npi(npi):
    cr, _ = one(charge_kw={"npi": npi})
    assert G.INVALID_NPI not in codes(cr)
    assert cr.disposition is D.READY


# --- one patient's day --------------------------------------------------------------


def _two_codes(payer: str, payers: PayerBook) -> DayResult:
    charges = [charge(cid="C-1", payer=payer, code="H0015"), charge(cid="C-2", payer=payer, code="H2019", units=4)]
    return reconcile(DAY, charges, [ehr()], [sheet(line())], payers.policy_for)


def test_the_component_of_a_same_day_exclusive_pair_is_same_day_conflict_and_the_primary_stays_billable():
    payers = book(medicaid={"same_day_exclusive": [["H0015", "H2019"]]})
    result = _two_codes(MEDICAID, payers)
    primary, component = by_id(result, "C-1"), by_id(result, "C-2")
    assert G.SAME_DAY_CONFLICT in codes(component)
    assert component.disposition is D.HOLD
    assert "C-1" in component.gaps[0].message and "H0015 stays billable" in component.gaps[0].message
    assert primary.gaps == [] and primary.disposition is D.READY


@pytest.mark.parametrize("modifier, held", [((), True), (("59",), False), (("XU",), False), (("GT",), True)],
                         ids=["no-modifier", "59", "XU", "not-distinct"])
def test_a_component_with_a_distinct_service_modifier_is_not_same_day_conflict(modifier, held):
    payers = book(medicaid={"same_day_exclusive": [["H0015", "H2019"]]})
    charges = [charge(cid="C-1", code="H0015"), charge(cid="C-2", code="H2019", units=4, modifiers=modifier)]
    result = reconcile(DAY, charges, [ehr()], [sheet(line())], payers.policy_for)
    assert (G.SAME_DAY_CONFLICT in codes(by_id(result, "C-2"))) is held
    assert G.SAME_DAY_CONFLICT not in codes(by_id(result, "C-1"))


def test_a_component_beside_a_voided_primary_is_not_same_day_conflict():
    payers = book(medicaid={"same_day_exclusive": [["H0015", "H2019"]]})
    charges = [charge(cid="C-1", code="H0015", session="Morning"),
               charge(cid="C-2", code="H2019", units=4, session="Skills", start=t(13), end=t(14))]
    attendance = [ehr(session="Morning", status=Status.NO_SHOW, time_in=None, time_out=None),
                  ehr(session="Skills", time_in=t(13), time_out=t(14))]
    sheets = [sheet(group="Morning"), sheet(line(time_in=t(13), time_out=t(14)), group="Skills", start=t(13),
                                            end=t(14))]
    result = reconcile(DAY, charges, attendance, sheets, payers.policy_for)
    assert by_id(result, "C-1").disposition is D.VOID
    assert by_id(result, "C-2").disposition is D.READY


def test_same_day_exclusive_applies_to_its_payer_only():
    payers = book(medicaid={"same_day_exclusive": [["H0015", "H2019"]]})
    result = _two_codes(BLUE, payers)
    assert G.SAME_DAY_CONFLICT not in day_codes(result)
    assert all(cr.disposition is D.READY for cr in result.charges)


def test_a_per_diem_twice_for_one_patient_and_day_is_duplicate_charge_on_the_second():
    result = reconcile(DAY, [charge(cid="C-1"), charge(cid="C-2")], [ehr()], [sheet(line())], BOOK.policy_for)
    assert codes(by_id(result, "C-2")) == {G.DUPLICATE_CHARGE}
    assert by_id(result, "C-2").disposition is D.HOLD
    assert "C-1" in by_id(result, "C-2").gaps[0].message
    assert by_id(result, "C-1").disposition is D.READY


def test_a_per_diem_in_two_sessions_of_one_day_is_still_duplicate_charge():
    charges = [charge(cid="C-1", session="Morning", end=t(10, 30)),
               charge(cid="C-2", session="Evening", start=t(13), end=t(14, 30))]
    attendance = [ehr(session="Morning", time_out=t(10, 30)), ehr(session="Evening", time_in=t(13), time_out=t(14, 30))]
    sheets = [sheet(line(time_out=t(10, 30)), group="Morning", end=t(10, 30)),
              sheet(line(time_in=t(13), time_out=t(14, 30)), group="Evening", start=t(13), end=t(14, 30))]
    result = reconcile(DAY, charges, attendance, sheets, BOOK.policy_for)
    assert G.DUPLICATE_CHARGE in codes(by_id(result, "C-2"))
    assert by_id(result, "C-1").disposition is D.READY  # 90 + 90 minutes: the day is the per diem's


@pytest.mark.parametrize("modifier, duplicate", [((), True), (("XU",), False), (("59",), False), (("76",), False),
                                                 (("HQ",), True)])
def test_one_code_twice_in_one_session_is_duplicate_charge_unless_distinct(modifier, duplicate):
    payers = NO_GROUP_MINIMUM
    charges = [charge(cid="C-1", code="90853"), charge(cid="C-2", code="90853", modifiers=modifier)]
    result = reconcile(DAY, charges, [ehr()], [sheet(line())], payers.policy_for)
    assert (G.DUPLICATE_CHARGE in codes(by_id(result, "C-2"))) is duplicate
    assert G.DUPLICATE_CHARGE not in codes(by_id(result, "C-1"))


def test_one_session_code_in_two_sessions_is_not_duplicate_charge():
    charges = [charge(cid="C-1", code="90853", session="Process", end=t(10)),
               charge(cid="C-2", code="90853", session="Skills", start=t(13), end=t(14), modifiers=("XU",)),
               charge(cid="C-3", code="90853", session="Relapse", start=t(15), end=t(16))]
    attendance = [ehr(session="Process", time_out=t(10)), ehr(session="Skills", time_in=t(13), time_out=t(14)),
                  ehr(session="Relapse", time_in=t(15), time_out=t(16))]
    sheets = [sheet(line(time_out=t(10)), group="Process", end=t(10)),
              sheet(line(time_in=t(13), time_out=t(14)), group="Skills", start=t(13), end=t(14)),
              sheet(line(time_in=t(15), time_out=t(16)), group="Relapse", start=t(15), end=t(16))]
    result = reconcile(DAY, charges, attendance, sheets, NO_GROUP_MINIMUM.policy_for)
    assert G.DUPLICATE_CHARGE not in day_codes(result)
    assert all(cr.disposition is D.READY for cr in result.charges)


def test_two_patients_sharing_a_charge_id_are_both_kept_and_both_duplicate_charge():
    charges = [charge(cid="C-7"), charge(cid="C-7", pid="M-101", name="Stone, Avery")]
    result = reconcile(DAY, charges, [ehr(), ehr(pid="M-101")], [sheet(line(), line(row=2, name="Avery Stone"))],
                       BOOK.policy_for)
    assert len(result.charges) == 2
    for cr in result.charges:
        assert codes(cr) == {G.DUPLICATE_CHARGE}
        assert cr.disposition is D.HOLD
        assert "own charge id" in cr.gaps[0].message
    assert {g.patient_id for g in result.gaps} == {"M-1", "M-101"}


def test_different_codes_or_patients_are_not_duplicate_charge():
    charges = [charge(cid="C-1"), charge(cid="C-2", code="90853"),
               charge(cid="C-3", pid="M-101", name="Stone, Avery")]
    result = reconcile(DAY, charges, [ehr(), ehr(pid="M-101")],
                       [sheet(line(), line(row=2, name="Avery Stone"))], BOOK.policy_for)
    assert G.DUPLICATE_CHARGE not in day_codes(result)
    assert all(cr.disposition is D.READY for cr in result.charges)


# --- no-shows and late cancellations ------------------------------------------------


def test_ehr_no_show_not_on_sheet_is_no_show_voided_not_billable():
    cr, result = one(ehr_kw={"status": Status.NO_SHOW, "time_in": None, "time_out": None}, line_kw=_ABSENT)
    assert G.NO_SHOW in codes(cr)
    assert not codes(cr) & {G.NOT_ON_SIGNIN, G.ATTENDANCE_CONFLICT, G.MISSING_TIMES}
    assert cr.disposition is D.VOID
    assert cr.supported_units == 0
    assert cr.no_show_fee is None
    [ns] = result.no_shows
    assert (ns.charge_id, ns.kind, ns.policy, ns.fee) == ("C-1", "no_show", "not_billable", 0.0)


def test_ehr_no_show_with_an_unsigned_line_is_no_show():
    cr, _ = one(ehr_kw={"status": Status.NO_SHOW}, line_kw={"signed": False})
    assert G.NO_SHOW in codes(cr)
    assert G.MISSING_SIGNATURE not in codes(cr)
    assert cr.disposition is D.VOID


def test_attending_patient_is_not_no_show():
    cr, result = one()
    assert not codes(cr) & {G.NO_SHOW, G.LATE_CANCEL}
    assert result.no_shows == []


def test_self_pay_late_cancel_is_voided_with_the_late_cancel_fee():
    payers = book(selfpay={"late_cancel": "fee", "late_cancel_fee": 35.0})
    cr, result = one(charge_kw={"payer": SELF_PAY}, ehr_kw={"status": Status.CANCELLED}, line_kw=_ABSENT,
                     payers=payers)
    assert G.LATE_CANCEL in codes(cr)
    assert G.NO_SHOW not in codes(cr)
    assert cr.disposition is D.VOID
    assert cr.no_show_fee == 35.0
    assert "$35.00 late-cancel fee" in cr.gaps[0].message
    [ns] = result.no_shows
    assert (ns.kind, ns.policy, ns.fee, ns.payer) == ("late_cancel", "fee", 35.0, SELF_PAY)


def test_a_no_show_fee_is_not_a_late_cancel_fee():
    cr, result = one(charge_kw={"payer": SELF_PAY}, ehr_kw={"status": Status.CANCELLED}, line_kw=_ABSENT)
    assert codes(cr) == {G.LATE_CANCEL}  # selfpay here has a no-show fee and no late-cancel policy
    assert cr.no_show_fee is None
    assert (result.no_shows[0].policy, result.no_shows[0].fee) == ("not_billable", 0.0)


def test_self_pay_no_show_is_voided_with_the_fee():
    cr, result = one(charge_kw={"payer": SELF_PAY}, ehr_kw={"status": Status.NO_SHOW}, line_kw=_ABSENT)
    assert G.NO_SHOW in codes(cr)
    assert cr.disposition is D.VOID
    assert cr.no_show_fee == 50.0
    assert result.no_shows[0].fee == 50.0


def test_medicaid_late_cancel_is_voided_not_billable():
    cr, result = one(ehr_kw={"status": Status.CANCELLED}, line_kw=_ABSENT)
    assert G.LATE_CANCEL in codes(cr)
    assert cr.disposition is D.VOID
    assert cr.no_show_fee is None
    assert (result.no_shows[0].policy, result.no_shows[0].fee) == ("not_billable", 0.0)


def test_attending_self_pay_patient_gets_no_fee():
    cr, result = one(charge_kw={"payer": SELF_PAY})
    assert cr.no_show_fee is None
    assert result.no_shows == []


# --- what no charge explains --------------------------------------------------------


def test_signed_and_present_patient_without_a_charge_is_unbilled_attendance():
    attendance = [ehr(), ehr(pid="M-101", name="Avery Stone")]
    result = reconcile(DAY, [charge()], attendance, [sheet(line(), line(row=2, name="Avery Stone"))], BOOK.policy_for)
    [gap] = [g for g in result.gaps if g.code is G.UNBILLED_ATTENDANCE]
    assert gap.patient_id == "M-101"
    assert gap.charge_id is None
    assert "Morning Process Group" in gap.session
    assert gap.owner == "billing"
    assert by_id(result, "C-1").disposition is D.READY


def test_unbilled_attendance_points_at_the_ehr_row_marking_the_patient_present():
    """Two EHR rows for one uncharged patient, an absence then a presence: the gap says "marked
    present in the EHR", so it names the present row, not the first."""
    absent = dataclasses.replace(ehr(pid="M-101", status=Status.NO_SHOW), evidence=Evidence(EHR_FILE, row=3))
    present = dataclasses.replace(ehr(pid="M-101"), evidence=Evidence(EHR_FILE, row=7))
    result = reconcile(DAY, [charge()], [ehr(), absent, present], [sheet(line())], BOOK.policy_for)
    [gap] = [g for g in result.gaps if g.code is G.UNBILLED_ATTENDANCE]
    assert (gap.patient_id, gap.evidence) == ("M-101", Evidence(EHR_FILE, row=7))
    assert "marked present in the EHR" in gap.message


def test_charged_attendee_is_not_unbilled_attendance():
    _, result = one()
    assert G.UNBILLED_ATTENDANCE not in day_codes(result)


def test_printed_name_matching_nobody_is_unmatched_signin_name():
    result = reconcile(DAY, [charge()], [ehr()], [sheet(line(), line(row=2, name="Zed Quixote"))], BOOK.policy_for)
    [gap] = [g for g in result.gaps if g.code is G.UNMATCHED_SIGNIN_NAME]
    assert gap.evidence.row == 2
    assert gap.charge_id is None and gap.patient_id is None
    assert "Morning Process Group" in gap.session
    assert "matches no" in gap.message
    assert result.charges[0].disposition is D.READY


def test_printed_name_alike_two_patients_is_unmatched_signin_name_and_never_guessed():
    charges = [charge(cid="C-1", pid="M-201", name="Lee, Ann"), charge(cid="C-2", pid="M-202", name="Lee, Anna")]
    attendance = [ehr(pid="M-201"), ehr(pid="M-202")]
    result = reconcile(DAY, charges, attendance, [sheet(line(row=1, name="Anne Lee"))], BOOK.policy_for)
    [gap] = [g for g in result.gaps if g.code is G.UNMATCHED_SIGNIN_NAME]
    assert gap.evidence.row == 1
    assert "more than one" in gap.message
    # Neither patient is credited with the line.
    for cid in ("C-1", "C-2"):
        cr = by_id(result, cid)
        assert G.NOT_ON_SIGNIN in codes(cr)
        assert cr.disposition is D.HOLD


def test_name_matching_a_patient_is_not_unmatched_signin_name():
    _, result = one()
    assert G.UNMATCHED_SIGNIN_NAME not in day_codes(result)


def test_unreadable_file_is_reported_as_unreadable_file():
    evidence = Evidence("inbox/2026-11-24/scan.pdf", page=2)
    result = reconcile(DAY, [charge()], [ehr()], [sheet(line())], BOOK.policy_for,
                       unreadable=[(evidence, "page 2 has no text layer", "re-scan with OCR or type it in")])
    [gap] = [g for g in result.gaps if g.code is G.UNREADABLE_FILE]
    assert gap.evidence == evidence
    assert gap.charge_id is None
    assert gap.owner == "billing"
    assert "scan.pdf" in gap.message and "no text layer" in gap.message
    assert result.charges[0].disposition is D.READY


def test_no_unreadable_files_is_no_unreadable_file():
    _, result = one()
    assert G.UNREADABLE_FILE not in day_codes(result)


# --- dispositions -------------------------------------------------------------------


def test_void_wins_over_hold():
    cr, _ = one(charge_kw={"npi": None}, ehr_kw={"status": Status.NO_SHOW}, line_kw=_ABSENT)
    assert {G.NO_SHOW, G.INVALID_NPI} <= codes(cr)
    assert cr.disposition is D.VOID


def test_hold_wins_over_adjust():
    cr, _ = one(charge_kw={"units": 2, "npi": None})
    assert {G.UNITS_EXCEED_TIME, G.INVALID_NPI} <= codes(cr)
    assert cr.disposition is D.HOLD


def test_adjust_wins_over_ready_and_non_blocking_gaps():
    charges = [charge(units=2)]
    result = reconcile(DAY, charges, [ehr()], [sheet(line(), line(row=2, name="Zed Quixote"))], BOOK.policy_for)
    assert codes(result.charges[0]) == {G.UNITS_EXCEED_TIME}
    assert result.charges[0].disposition is D.ADJUST


def test_disposition_order_is_void_hold_adjust_ready():
    assert D.VOID > D.HOLD > D.ADJUST > D.READY
    assert disposition_of([G.UNBILLED_ATTENDANCE]) is D.READY
    assert disposition_of([G.UNITS_EXCEED_TIME, G.UNMATCHED_SIGNIN_NAME]) is D.ADJUST
    assert disposition_of([G.UNITS_EXCEED_TIME, G.SHORT_DURATION]) is D.HOLD
    assert disposition_of([G.LATE_CANCEL, G.MISSING_SIGNATURE, G.UNITS_EXCEED_TIME]) is D.VOID


# --- payers -------------------------------------------------------------------------


def test_unknown_payer_is_reconciled_under_defaults_and_listed():
    cr, result = one(charge_kw={"payer": UNKNOWN, "modifiers": ("95",), "pos": "10"},
                     ehr_kw={"modality": Modality.VIDEO})
    assert result.unknown_payers == [UNKNOWN]
    assert cr.disposition is D.READY  # the default telehealth modifier 95 satisfies it


def test_unknown_payer_gets_the_default_no_show_policy():
    cr, result = one(charge_kw={"payer": UNKNOWN}, ehr_kw={"status": Status.NO_SHOW}, line_kw=_ABSENT)
    assert cr.disposition is D.VOID
    assert result.no_shows[0].policy == "not_billable"


def test_a_no_show_fee_is_never_allowed_for_medicaid():
    with pytest.raises(ConfigError):
        book(medicaid={"no_show": "fee", "no_show_fee": 25.0})


def test_known_payers_are_not_listed_as_unknown():
    result = reconcile(DAY, [charge(cid="C-1", payer="HealthNet Medicaid"),
                             charge(cid="C-2", pid="M-101", name="Stone, Avery", payer="BLUE CROSS Texas")],
                       [ehr(), ehr(pid="M-101")], [sheet(line(), line(row=2, name="Avery Stone"))], BOOK.policy_for)
    assert result.unknown_payers == []


# --- name matching inside reconcile -------------------------------------------------


@pytest.mark.parametrize("printed", ["MARIA NUNEZ", "Nunez, Maria", "María J. Núñez", "Maria Nunex", "maria núnez"],
                         ids=["accents-case", "last-first", "middle-initial", "one-letter-typo", "partial-accents"])
def test_printed_name_variants_match_the_charged_patient(printed):
    charges = [charge(), charge(cid="C-2", pid="M-101", name="Stone, Avery")]
    result = reconcile(DAY, charges, [ehr(), ehr(pid="M-101")],
                       [sheet(line(row=1, name="Avery Stone"), line(row=2, name=printed))], BOOK.policy_for)
    assert G.UNMATCHED_SIGNIN_NAME not in day_codes(result)
    cr = by_id(result, "C-1")
    assert cr.gaps == []
    assert cr.disposition is D.READY


def test_printed_name_can_match_through_the_ehr_name():
    # A patient present in the EHR under a name the charge export does not use.
    result = reconcile(DAY, [charge(name="Nunez-Ruiz, Maria")], [ehr(name="María Núñez")],
                       [sheet(line(name="MARIA NUNEZ"))], BOOK.policy_for)
    assert result.charges[0].disposition is D.READY


# --- sessions across sources --------------------------------------------------------


def test_sessions_match_across_sources_despite_group_case_and_punctuation():
    result = reconcile(DAY, [charge(session="Morning Process Group")],
                       [ehr(session="morning-process session")],
                       [sheet(line(), group="MORNING PROCESS")], BOOK.policy_for)
    assert len(result.sessions) == 1
    cr = result.charges[0]
    assert cr.gaps == []
    assert cr.disposition is D.READY


def test_two_same_named_sessions_are_told_apart_by_start_time():
    am = charge(cid="C-1", pid="M-101", name="Stone, Avery", code="90853", session="Skills Group",
                start=t(9), end=t(10))
    pm = charge(cid="C-2", pid="M-102", name="Rivers, Blake", code="90853", session="Skills Group",
                start=t(13), end=t(14))
    attendance = [ehr(pid="M-101", session="Skills", time_in=t(9), time_out=t(10)),
                  ehr(pid="M-102", session="skills group", time_in=t(13), time_out=t(14))]
    sheets = [  # the afternoon sheet first, so file order cannot be what decides
        sheet(line(row=1, name="Blake Rivers", time_in=t(13), time_out=t(14)),
              group="SKILLS", start=t(13), end=t(14)),
        sheet(line(row=1, name="Avery Stone", time_in=t(9), time_out=t(10)),
              group="Skills Group", start=t(9), end=t(10)),
    ]
    result = reconcile(DAY, [am, pm], attendance, sheets, NO_GROUP_MINIMUM.policy_for)
    assert len(result.sessions) == 2
    for cid in ("C-1", "C-2"):
        cr = by_id(result, cid)
        assert cr.gaps == [], (cid, codes(cr))
        assert cr.disposition is D.READY
    assert by_id(result, "C-1").session_label != by_id(result, "C-2").session_label


def test_records_of_other_days_are_ignored():
    other = DAY + dt.timedelta(days=1)
    earlier = DAY - dt.timedelta(days=1)
    charges = [charge(cid="C-1"), charge(cid="C-9", day=other)]
    attendance = [ehr(day=earlier)]
    sheets = [sheet(line(), day=earlier)]
    result = reconcile(DAY, charges, attendance, sheets, BOOK.policy_for)
    assert [cr.charge.charge_id for cr in result.charges] == ["C-1"]
    assert {G.NO_SIGNIN_SHEET, G.NO_EHR_ATTENDANCE} <= codes(result.charges[0])
    assert result.no_shows == []


# --- PHI ----------------------------------------------------------------------------


def _plain(text: str) -> str:
    s = unicodedata.normalize("NFKD", text)
    return "".join(c for c in s if not unicodedata.combining(c)).lower()


def test_no_gap_message_contains_a_patient_name_or_id():
    names = {"M-4471": "Núñez, María", "M-4472": "Okonkwo, Delphine", "M-4473": "Lee, Ann", "M-4474": "Lee, Anna",
             "M-4475": "Thistlewood, Barnaby", "M-4476": "Vasquez-Orr, Rosalind", "M-4477": "Fairweather, Constance"}
    charges = [
        charge(cid="C-1", pid="M-4471", name=names["M-4471"], units=2, npi=None, modifiers=("GT",)),
        charge(cid="C-2", pid="M-4471", name=names["M-4471"]),
        charge(cid="C-3", pid="M-4472", name=names["M-4472"], payer=SELF_PAY, code="H2019", units=9),
        charge(cid="C-4", pid="M-4473", name=names["M-4473"], payer=BLUE, npi=BAD_NPI),
        charge(cid="C-5", pid="M-4474", name=names["M-4474"], code="H2019", units=30),
        charge(cid="C-6", pid="M-4476", name=names["M-4476"], payer=UNKNOWN, pos="02"),
        charge(cid="C-7", pid="M-4471", name=names["M-4471"], session="Evening Skills", start=t(17), end=t(19)),
        charge(cid="C-8", pid="M-4477", name=names["M-4477"], payer=SELF_PAY),
        charge(cid="C-9", pid="M-4471", name=names["M-4471"], code="H2019"),
    ]
    attendance = [
        ehr(pid="M-4471", name="María Núñez", note=NoteStatus.UNSIGNED, time_out=t(11)),
        ehr(pid="M-4472", name="Delphine Okonkwo", time_out=t(10)),
        ehr(pid="M-4473", status=Status.NO_SHOW),
        ehr(pid="M-4474", time_in=None, time_out=None),
        ehr(pid="M-4475", name="Barnaby Thistlewood"),
        ehr(pid="M-4476", modality=Modality.VIDEO),
        ehr(pid="M-4477", status=Status.CANCELLED),
    ]
    lines = [line(row=1, name="Maria Nunez", signed=False), line(row=2, name="Anne Lee"),
             line(row=3, name="Barnaby Thistlewood"), line(row=4, name="Zed Quixote"),
             line(row=5, name="Rosalind Vasquez-Orr"), line(row=6, name="Okonkwo, Delphine", time_out=t(10))]
    payers = book(defaults={"max_group_size": 2}, medicaid={"same_day_exclusive": [["H0015", "H2019"]]})
    result = reconcile(DAY, charges, attendance, [sheet(*lines, facilitator_signed=False)], payers.policy_for,
                       unreadable=[(Evidence("inbox/scan.pdf", page=1), "no text layer", "re-scan it")])
    seen = day_codes(result)
    assert len(seen) >= 20, sorted(seen)  # the scenario exercises (nearly) the whole gap table
    forbidden = {w for name in names.values() for w in re.findall(r"[a-z]+", _plain(name))}
    forbidden |= {"zed", "quixote", "anne"}
    for gap in result.gaps:
        text = _plain(gap.message)
        assert not set(re.findall(r"[a-z]+", text)) & forbidden, (gap.code, gap.message)
        for pid in names:
            assert pid.lower() not in text, (gap.code, gap.message)


# --- the patient-day: per diems over every session of the day -----------------------


def _attend(group: str, start: dt.time, end: dt.time, time_in: dt.time | None = None,
            time_out: dt.time | None = None, pid: str = "M-1", name: str = "María Núñez", signed: bool = True,
            untimed: bool = False):
    """One patient's EHR row and a sheet with their line, for one session (no times: ``untimed``)."""
    time_in = None if untimed else start if time_in is None else time_in
    time_out = None if untimed else end if time_out is None else time_out
    return (ehr(pid=pid, session=group, time_in=time_in, time_out=time_out),
            sheet(line(name=name, time_in=time_in, time_out=time_out, signed=signed), group=group, start=start,
                  end=end))


def _day(charges, *sessions, payers: PayerBook = BOOK) -> DayResult:
    return reconcile(DAY, charges, [a for a, _ in sessions], [s for _, s in sessions], payers.policy_for)


@pytest.mark.parametrize("last_out, short", [(t(14), False), (t(13, 59), True)], ids=["180", "179"])
def test_a_per_diem_counts_every_session_of_the_patients_day_exactly_min_minutes_across_three(last_out, short):
    result = _day([charge(session="Group A", start=t(9), end=t(10))],
                  _attend("Group A", t(9), t(10)), _attend("Group B", t(11), t(12)),
                  _attend("Group C", t(13), t(14), time_out=last_out))
    cr = result.charges[0]
    assert (G.SHORT_DURATION in codes(cr)) is short
    assert cr.disposition is (D.HOLD if short else D.READY)
    if short:
        assert "179 of 180" in cr.gaps[0].message
    assert G.UNBILLED_ATTENDANCE not in day_codes(result)  # the per diem covers groups B and C


@pytest.mark.parametrize("second_out, minutes", [(t(12), 180), (t(11, 59), 179)])
def test_overlapping_sessions_count_once_toward_a_per_diem(second_out, minutes):
    result = _day([charge(session="Group A", start=t(9), end=t(11))],
                  _attend("Group A", t(9), t(11)), _attend("Group B", t(10), t(12), time_out=second_out))
    cr = result.charges[0]
    assert cr.supported_units == (1 if minutes >= 180 else 0)  # 120 + 120 - 60 overlap, never 240
    assert (G.SHORT_DURATION in codes(cr)) is (minutes < 180)


def test_a_per_diem_from_two_ninety_minute_groups_is_ready_and_asks_for_no_second_charge():
    result = _day([charge(session="Morning", start=t(9), end=t(10, 30))],
                  _attend("Morning", t(9), t(10, 30)), _attend("Afternoon", t(13), t(14, 30)))
    assert result.charges[0].gaps == [] and result.charges[0].disposition is D.READY
    assert result.gaps == []


def test_a_voided_per_diem_does_not_hide_attendance_in_another_session():
    no_show = (ehr(session="Morning", status=Status.NO_SHOW, time_in=None, time_out=None),
               sheet(group="Morning", start=t(9), end=t(12)))
    result = _day([charge(session="Morning")], no_show, _attend("Afternoon", t(13), t(16)))
    assert result.charges[0].disposition is D.VOID
    [gap] = [g for g in result.gaps if g.code is G.UNBILLED_ATTENDANCE]
    assert "Afternoon" in gap.session


def test_a_short_per_diem_with_an_untimed_session_is_missing_times_not_short_duration():
    result = _day([charge(session="Morning", start=t(9), end=t(10, 30))],
                  _attend("Morning", t(9), t(10, 30)),
                  _attend("Afternoon", t(13), t(14, 30), untimed=True))
    result_untimed = result.charges[0]
    assert codes(result_untimed) == {G.MISSING_TIMES}
    assert result_untimed.supported_units is None


def test_a_day_roster_per_diem_with_no_group_cap_is_not_group_size_exceeded():
    capped = _group(11)
    assert G.GROUP_SIZE_EXCEEDED in codes(by_id(capped, "C-0"))
    people = PEOPLE[:11]
    charges = [charge(cid=f"C-{i}", pid=pid, name=name) for i, (pid, name) in enumerate(people)]
    attendance = [ehr(pid=pid) for pid, _ in people]
    lines = [line(row=i + 1, name=" ".join(reversed(name.split(", ")))) for i, (_, name) in enumerate(people)]
    payers = book(defaults={"codes": {"H0015": {"max_group_size": 0}}})
    result = reconcile(DAY, charges, attendance, [sheet(*lines)], payers.policy_for)
    assert G.GROUP_SIZE_EXCEEDED not in day_codes(result)


def test_a_code_level_group_cap_overrides_the_payers():
    payers = book(defaults={"codes": {"H0015": {"max_group_size": 4}}})
    people = PEOPLE[:5]
    charges = [charge(cid=f"C-{i}", pid=pid, name=name, payer=BLUE) for i, (pid, name) in enumerate(people)]
    lines = [line(row=i + 1, name=" ".join(reversed(name.split(", ")))) for i, (_, name) in enumerate(people)]
    result = reconcile(DAY, charges, [ehr(pid=pid) for pid, _ in people], [sheet(*lines)], payers.policy_for)
    assert all(G.GROUP_SIZE_EXCEEDED in codes(cr) for cr in result.charges)


# --- time codes: minutes added up over the day, rounded once -------------------------


def _two_lines(first: int, second: int, code: str = "H2019", units: tuple[int, int] = (1, 1),
               payers: PayerBook = BOOK) -> DayResult:
    """Two lines of one time code for one patient, in two sessions, ``first`` and ``second`` minutes."""
    charges = [charge(cid="C-1", code=code, units=units[0], payer=BLUE, session="Early", start=t(9), end=t(10)),
               charge(cid="C-2", code=code, units=units[1], payer=BLUE, session="Late", start=t(13), end=t(14))]
    return _day(charges, _attend("Early", t(9), t(10), time_out=t(9, first)),
                _attend("Late", t(13), t(14), time_out=t(13, second)), payers=payers)


@pytest.mark.parametrize("first, second, day_units", [(4, 3, 0), (4, 4, 1), (11, 11, 1), (12, 11, 2), (10, 10, 1)],
                         ids=["7", "8", "22", "23", "two-10-minute-encounters"])
def test_time_units_are_counted_over_the_days_minutes_of_the_code(first, second, day_units):
    result = _two_lines(first, second)
    one_, two = by_id(result, "C-1"), by_id(result, "C-2")
    assert (one_.supported_units, two.supported_units) == (min(day_units, 1), max(day_units - 1, 0))
    if day_units == 0:
        assert codes(one_) == codes(two) == {G.SHORT_DURATION}
        assert "7 of 8 minutes" in one_.gaps[0].message
    elif day_units == 1:
        assert one_.gaps == [] and one_.disposition is D.READY
        assert codes(two) == {G.UNITS_EXCEED_TIME} and two.disposition is D.ADJUST
        assert "C-1, C-2" in two.gaps[0].message and "adjust to 0" in two.gaps[0].message
    else:
        assert result.gaps == []


def test_the_days_units_of_a_time_code_are_capped_once_at_max_units_per_day():
    result = _two_lines(59, 59, units=(8, 8), payers=book(defaults={"codes": {"H2019": {"max_units_per_day": 10}}}))
    # 118 minutes support 8 units, all inside the cap; with units of 8 + 8 charged, 8 go to the first line
    assert (by_id(result, "C-1").supported_units, by_id(result, "C-2").supported_units) == (8, 0)
    capped = _two_lines(59, 59, units=(8, 8), payers=book(defaults={"codes": {"H2019": {"max_units_per_day": 6}}}))
    assert (by_id(capped, "C-1").supported_units, by_id(capped, "C-2").supported_units) == (6, 0)


HOURLY = book(defaults={"codes": {"H2012": {"unit": "time", "unit_minutes": 60, "unit_rounding": "8-minute"}}})


@pytest.mark.parametrize("minutes, units", [(30, 0), (31, 1), (89, 1), (90, 1), (91, 2)])
def test_hourly_units_count_from_more_than_half_an_hour(minutes, units):
    cr, _ = one(charge_kw={"code": "H2012", "payer": BLUE, "units": 1, "end": t(12)},
                ehr_kw={"time_out": t(9 + minutes // 60, minutes % 60)},
                line_kw={"time_out": t(9 + minutes // 60, minutes % 60)}, payers=HOURLY)
    assert cr.supported_units == units
    assert (G.SHORT_DURATION in codes(cr)) is (units == 0)
    if units == 0:
        assert "30 of 31 minutes" in cr.gaps[0].message


@pytest.mark.parametrize("first, second, units", [(15, 15, 0), (15, 16, 1)], ids=["30", "31"])
def test_hourly_units_are_summed_over_two_lines_too(first, second, units):
    result = _two_lines(first, second, code="H2012", payers=HOURLY)
    assert by_id(result, "C-1").supported_units + by_id(result, "C-2").supported_units == units


# --- per-session codes with down-codes ----------------------------------------------


def _therapy(code: str, minutes: int, payers: PayerBook = BOOK) -> ChargeResult:
    out = t(10 + minutes // 60, minutes % 60)
    cr, _ = one(charge_kw={"code": code, "payer": BLUE, "session": "Individual", "start": t(10), "end": t(11, 30)},
                ehr_kw={"session": "Individual", "time_in": t(10), "time_out": out},
                line_kw={"time_in": t(10), "time_out": out},
                sheet_kw={"group": "Individual", "start": t(10), "end": t(11, 30)}, payers=payers)
    return cr


@pytest.mark.parametrize("minutes, disposition, supported_code", [
    (38, D.READY, None), (52, D.READY, None), (37, D.ADJUST, "90832"), (16, D.ADJUST, "90832"),
    (15, D.HOLD, None)])
def test_90834_under_38_minutes_is_code_time_mismatch_down_to_90832(minutes, disposition, supported_code):
    cr = _therapy("90834", minutes)
    assert cr.disposition is disposition
    assert cr.supported_code == supported_code
    if supported_code:
        assert codes(cr) == {G.CODE_TIME_MISMATCH}
        assert cr.supported_units == 1
        assert f"{minutes} minutes" in cr.gaps[0].message and "bill it as 90832" in cr.gaps[0].message
    elif disposition is D.HOLD:
        assert codes(cr) == {G.SHORT_DURATION}
        assert cr.supported_units == 0


@pytest.mark.parametrize("minutes, supported_code", [(53, None), (52, "90834"), (45, "90834"), (37, "90832"),
                                                     (15, None)])
def test_a_90837_walks_down_its_down_codes(minutes, supported_code):
    cr = _therapy("90837", minutes)
    assert cr.supported_code == supported_code
    assert (G.CODE_TIME_MISMATCH in codes(cr)) is (supported_code is not None)


def test_a_loop_of_down_codes_ends():
    payers = book(defaults={"codes": {"X1": {"unit": "session", "min_minutes": 60, "down_code": "X2"},
                                      "X2": {"unit": "session", "min_minutes": 50, "down_code": "X1"}}})
    cr = _therapy("X1", 30, payers)
    assert codes(cr) == {G.SHORT_DURATION}


# --- codes billed without the patient, add-ons, group minimums -----------------------


def test_family_therapy_without_the_patient_is_not_judged_on_attendance():
    # 90846: the patient is not there; the EHR marks them absent and the sheet does not list them.
    cr, result = one(charge_kw={"code": "90846", "payer": BLUE, "session": "Family Session", "start": t(15),
                                "end": t(15, 50)},
                     ehr_kw={"session": "Family Session", "status": Status.NO_SHOW, "time_in": None, "time_out": None},
                     line_kw=_ABSENT, sheet_kw={"group": "Family Session", "start": t(15), "end": t(15, 50)})
    assert cr.gaps == [] and cr.disposition is D.READY
    assert cr.supported_units == 1
    assert result.no_shows == []


def test_family_therapy_without_the_patient_needs_no_sign_in_sheet_but_its_time():
    cr, _ = one(charge_kw={"code": "90846", "payer": BLUE, "session": "Family Session", "start": t(15),
                           "end": t(15, 20)}, ehr_kw=_ABSENT, sheet_kw=_ABSENT)
    assert codes(cr) == {G.SHORT_DURATION}  # scheduled 20 minutes, 26 needed
    ok, _ = one(charge_kw={"code": "90846", "payer": BLUE, "session": "Family Session", "start": t(15),
                           "end": t(15, 26)}, ehr_kw=_ABSENT, sheet_kw=_ABSENT)
    assert ok.gaps == [] and ok.disposition is D.READY


def _with_add_on(primary: str | None, primary_status: Status = Status.PRESENT) -> ChargeResult:
    charges = [charge(cid="C-9", code="90785", payer=BLUE, session="Individual", start=t(10), end=t(11))]
    sessions = [_attend("Individual", t(10), t(11))]
    if primary:
        charges.append(charge(cid="C-1", code=primary, payer=BLUE, session="Individual", start=t(10), end=t(11)))
    if primary_status is not Status.PRESENT:
        sessions = [(ehr(session="Individual", status=primary_status, time_in=None, time_out=None),
                     sheet(group="Individual", start=t(10), end=t(11)))]
    return by_id(_day(charges, *sessions, payers=NO_GROUP_MINIMUM), "C-9")


def test_an_add_on_code_alone_is_add_on_without_primary():
    cr = _with_add_on(None)
    assert codes(cr) == {G.ADD_ON_WITHOUT_PRIMARY}
    assert cr.disposition is D.HOLD
    assert "90834" in cr.gaps[0].message


@pytest.mark.parametrize("primary", ["90834", "90837", "90853"])
def test_an_add_on_code_beside_its_primary_is_not_add_on_without_primary(primary):
    cr = _with_add_on(primary)
    assert G.ADD_ON_WITHOUT_PRIMARY not in codes(cr)
    assert cr.disposition is D.READY


def test_an_add_on_beside_a_code_it_does_not_go_with_is_add_on_without_primary():
    assert G.ADD_ON_WITHOUT_PRIMARY in codes(_with_add_on("90846"))


def test_an_add_on_beside_a_voided_primary_is_voided_too_not_billed_alone():
    cr = _with_add_on("90834", Status.NO_SHOW)
    assert cr.disposition is D.VOID


def _group_of(n: int, code: str = "90853") -> DayResult:
    people = PEOPLE[:n]
    charges = [charge(cid=f"C-{i}", pid=pid, name=name, code=code, payer=BLUE) for i, (pid, name) in enumerate(people)]
    lines = [line(row=i + 1, name=" ".join(reversed(name.split(", ")))) for i, (_, name) in enumerate(people)]
    return reconcile(DAY, charges, [ehr(pid=pid) for pid, _ in people], [sheet(*lines)], BOOK.policy_for)


def test_a_group_psychotherapy_of_one_is_group_too_small():
    result = _group_of(1)
    assert codes(result.charges[0]) == {G.GROUP_TOO_SMALL}
    assert result.charges[0].disposition is D.HOLD
    assert "1 attended" in result.charges[0].gaps[0].message and "minimum of 2" in result.charges[0].gaps[0].message


def test_a_group_at_its_minimum_is_not_group_too_small():
    result = _group_of(2)
    assert G.GROUP_TOO_SMALL not in day_codes(result)
    assert all(cr.disposition is D.READY for cr in result.charges)


def test_a_per_diem_has_no_group_minimum_by_default():
    assert _group_of(1, "H0015").charges[0].disposition is D.READY


# --- no-shows, late cancellations and excused absences under each policy -------------

FEES = book(bluecross={"no_show": "fee", "no_show_fee": 40.0, "late_cancel": "fee", "late_cancel_fee": 25.0})


@pytest.mark.parametrize("status, gap, kind", [(Status.NO_SHOW, G.NO_SHOW, "no_show"),
                                               (Status.CANCELLED, G.LATE_CANCEL, "late_cancel"),
                                               (Status.EXCUSED, G.EXCUSED_ABSENCE, "excused")])
@pytest.mark.parametrize("payers, fee_of", [
    (BOOK, {}), (FEES, {Status.NO_SHOW: 40.0, Status.CANCELLED: 25.0})], ids=["not_billable", "fee"])
def test_excused_late_cancel_and_no_show_under_each_policy(status, gap, kind, payers, fee_of):
    cr, result = one(charge_kw={"payer": BLUE}, ehr_kw={"status": status, "time_in": None, "time_out": None},
                     line_kw=_ABSENT, payers=payers)
    assert codes(cr) == {gap}
    assert cr.disposition is D.VOID
    fee = fee_of.get(status)
    assert cr.no_show_fee == fee
    [ns] = result.no_shows
    assert (ns.kind, ns.policy, ns.fee) == (kind, "fee" if fee else "not_billable", fee or 0.0)
    if fee:
        assert f"${fee:.2f}" in cr.gaps[0].message
    else:
        assert "$" not in cr.gaps[0].message


def test_an_excused_absence_never_carries_a_fee_even_when_every_fee_is_set():
    cr, _ = one(charge_kw={"payer": BLUE}, ehr_kw={"status": Status.EXCUSED}, line_kw=_ABSENT, payers=FEES)
    assert cr.no_show_fee is None
    assert "never a fee" in cr.gaps[0].message


MEDICAID_FEE_IN_DEFAULTS = book(defaults={"no_show": "fee", "no_show_fee": 30.0, "late_cancel": "fee",
                                          "late_cancel_fee": 20.0})


@pytest.mark.parametrize("status", [Status.NO_SHOW, Status.CANCELLED, Status.EXCUSED])
def test_a_medicaid_payer_never_gets_a_fee_even_with_a_fee_in_the_defaults(status):
    cr, result = one(charge_kw={"payer": MEDICAID}, ehr_kw={"status": status}, line_kw=_ABSENT,
                     payers=MEDICAID_FEE_IN_DEFAULTS)
    assert cr.disposition is D.VOID and cr.no_show_fee is None
    assert (result.no_shows[0].policy, result.no_shows[0].fee) == ("not_billable", 0.0)
    assert "$" not in cr.gaps[0].message
    other, _ = one(charge_kw={"payer": BLUE}, ehr_kw={"status": status}, line_kw=_ABSENT,
                   payers=MEDICAID_FEE_IN_DEFAULTS)
    assert other.no_show_fee == {Status.NO_SHOW: 30.0, Status.CANCELLED: 20.0}.get(status)


def test_a_medicaid_policy_asking_for_a_fee_gets_none_at_run_time():
    base = BOOK.policy_for

    def policy_for(payer: str, code: str):  # a Policy that skipped config validation
        return dataclasses.replace(base(payer, code), no_show="fee", no_show_fee=99.0)

    result = reconcile(DAY, [charge()], [ehr(status=Status.NO_SHOW)], [sheet()], policy_for)
    assert result.charges[0].no_show_fee is None and result.no_shows[0].fee == 0.0


# --- revenue codes, note status ------------------------------------------------------


@pytest.mark.parametrize("revenue_code, mismatch", [("0906", False), ("906", False), (None, False), ("0905", True),
                                                    ("0914", True)])
def test_a_revenue_code_the_code_section_does_not_allow_is_revenue_code_mismatch(revenue_code, mismatch):
    cr, _ = one(charge_kw={"revenue_code": revenue_code})  # H0015 allows 0906 (chemical dependency IOP)
    assert (G.REVENUE_CODE_MISMATCH in codes(cr)) is mismatch
    assert cr.disposition is (D.HOLD if mismatch else D.READY)
    if mismatch:
        assert "0906" in cr.gaps[0].message


def test_a_code_section_without_revenue_codes_takes_any():
    cr, _ = one(charge_kw={"code": "H2019", "units": 12, "revenue_code": "0999"})
    assert G.REVENUE_CODE_MISMATCH not in codes(cr)


def test_an_ehr_export_without_a_note_status_column_is_said_once_for_the_day():
    people = PEOPLE[:3]
    charges = [charge(cid=f"C-{i}", pid=pid, name=name) for i, (pid, name) in enumerate(people)]
    lines = [line(row=i + 1, name=" ".join(reversed(name.split(", ")))) for i, (_, name) in enumerate(people)]
    result = reconcile(DAY, charges, [ehr(pid=pid, note=None) for pid, _ in people], [sheet(*lines)], BOOK.policy_for)
    assert result.notes == (NO_NOTE_STATUS,)
    assert all(cr.disposition is D.READY for cr in result.charges)
    _, signed = one()
    assert signed.notes == ()


def test_a_missing_note_status_is_not_said_when_no_payer_requires_signed_notes():
    _, result = one(ehr_kw={"note": None}, payers=book(medicaid={"require_signed_note": False}))
    assert result.notes == ()


# --- payer matching -----------------------------------------------------------------


def test_a_payer_name_goes_to_the_section_with_the_longest_matching_string():
    payers = book(commercial={"kind": "commercial", "match": ["united", "aetna"]},
                  medicaid={"match": ["medicaid", "community plan"]})
    assert payers.section_for("UnitedHealthcare Community Plan") == "medicaid"
    assert payers.section_for("UnitedHealthcare Choice Plus") == "commercial"
    assert payers.policy_for("UnitedHealthcare Community Plan", "H0015").kind == "medicaid"


def test_a_payer_name_matching_two_sections_equally_is_a_config_error_naming_both():
    payers = book(commercial={"kind": "commercial", "match": ["aetna"]},
                  aetnamedicaid={"kind": "medicaid", "match": ["aetna"]})
    with pytest.raises(ConfigError) as info:
        reconcile(DAY, [charge(payer="Aetna Better Health")], [ehr()], [sheet(line())], payers.policy_for)
    message = str(info.value)
    assert "Aetna Better Health" in message and "commercial" in message and "aetnamedicaid" in message
    assert payers.section_for("Blue Cross PPO") == "bluecross"  # other names still resolve


# --- properties of the patient-day --------------------------------------------------

_GROUPS = ["Group A", "Group B", "Group C"]
_STRETCH = st.tuples(st.integers(min_value=8 * 60, max_value=16 * 60), st.integers(min_value=0, max_value=180))


@settings(max_examples=60, deadline=None)
@given(stretches=st.lists(_STRETCH, min_size=1, max_size=3))
def test_a_per_diem_is_supported_exactly_when_the_union_of_the_days_sessions_reaches_its_minimum(stretches):
    def clock(m: int) -> dt.time:
        return dt.time(min(m, 23 * 60 + 59) // 60, min(m, 23 * 60 + 59) % 60)

    sessions = [_attend(g, clock(a), clock(a + n)) for g, (a, n) in zip(_GROUPS, stretches)]
    first, _ = stretches[0]
    result = _day([charge(session=_GROUPS[0], start=clock(first), end=clock(first + stretches[0][1]))], *sessions)
    covered = {m for a, n in stretches for m in range(a, min(a + n, 23 * 60 + 59))}
    assert result.charges[0].supported_units == (1 if len(covered) >= 180 else 0)
    assert G.UNBILLED_ATTENDANCE not in day_codes(result)


@settings(max_examples=60, deadline=None)
@given(minutes=st.lists(st.integers(min_value=0, max_value=59), min_size=1, max_size=3),
       units=st.integers(min_value=1, max_value=4))
def test_a_time_codes_lines_share_exactly_the_units_the_days_minutes_support(minutes, units):
    charges = [charge(cid=f"C-{i}", code="H2019", units=units, payer=BLUE, session=g, start=t(9 + 2 * i),
                      end=t(10 + 2 * i)) for i, g in enumerate(_GROUPS[:len(minutes)])]
    sessions = [_attend(g, t(9 + 2 * i), t(10 + 2 * i), time_out=t(9 + 2 * i, m))
                for i, (g, m) in enumerate(zip(_GROUPS, minutes))]
    result = _day(charges, *sessions)
    day_units = min((sum(minutes) + 7) // 15, 16)
    assert sum(cr.supported_units for cr in result.charges) == day_units
    held = {cr.charge.charge_id for cr in result.charges if G.SHORT_DURATION in codes(cr)}
    assert bool(held) == (day_units == 0)
