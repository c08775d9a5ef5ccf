"""Across days (SPEC "Across days"): authorizations, concurrent reviews, repeat no-shows and weekly
hours, each raised on the right day and only then.

Most tests build a multi-day ledger the way a program does: each day's charge and EHR exports
(and authorizations exports) dropped in the inbox, and the days run in order through the real
pipeline. The demo's config applies: TX Medicaid requires authorization, weekly minimum 9 hours
and 3 days, three no-shows within 14 days, reviews reminded 3 business days ahead, US holidays
(Thanksgiving is Thursday 26 November 2026) and 24 December closed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from attendbot.calendar import CLOSED_DAY, Calendar, business_days_before, business_days_between, why_closed
from attendbot.codes import GapCode
from attendbot.ledger import Ledger
from attendbot.model import PatientDay, Status
from attendbot.reconcile import reconcile
from attendbot.reconcile.across_days import History, review_state
from attendbot.readers.authorizations import parse_codes

from builders import BOOK, Visit, auth, auth_row, charge, ehr, write_authorizations, write_day

D = dt.date
MON, TUE, WED, THANKSGIVING, FRI = (D(2026, 11, 23), D(2026, 11, 24), D(2026, 11, 25), D(2026, 11, 26),
                                    D(2026, 11, 27))
US = Calendar.of(["mon", "tue", "wed", "thu", "fri"], [D(2026, 12, 24)], "US")

ACROSS = {GapCode.AUTH_MISSING, GapCode.AUTH_EXPIRED, GapCode.AUTH_EXHAUSTED, GapCode.AUTH_CODE_NOT_COVERED,
          GapCode.CONCURRENT_REVIEW_DUE, GapCode.REPEAT_NO_SHOW, GapCode.WEEKLY_HOURS_LOW}


def across(outcome, code: GapCode | None = None) -> list:
    """The day's gaps of the checks across days (or of one code), as (code, charge id, message)."""
    return [(g.code, g.charge_id, g.message) for g in outcome.result.gaps
            if (g.code == code if code else g.code in ACROSS)]


def codes_by_charge(outcome) -> dict[str, set[str]]:
    return {cr.charge.charge_id: {g.code.value for g in cr.gaps if g.code in ACROSS} for cr in outcome.result.charges}


# --- the calendar --------------------------------------------------------------------


def test_business_days_before_skip_weekends_holidays_and_closed_days():
    assert business_days_before(US.is_business_day, THANKSGIVING, 3) == MON  # a review due on a holiday
    assert business_days_before(US.is_business_day, D(2026, 12, 8), 3) == D(2026, 12, 3)  # across a weekend
    # Monday 28 December: Friday is Christmas, Thursday a closed day
    assert business_days_before(US.is_business_day, D(2026, 12, 28), 3) == D(2026, 12, 21)
    assert business_days_before(US.is_business_day, TUE, 0) == TUE
    assert US.previous_business_day(FRI) == WED
    assert US.closed_reason(THANKSGIVING) == "Thanksgiving Day"


def test_the_calendar_class_and_the_functions_back_fill_uses_are_one_calendar():
    """attendbot.calendar: why_closed / business_days_between (the run, back-fill) and Calendar
    (the worker, the checks across days) give the same answers."""
    days = [MON + dt.timedelta(days=n) for n in range(40)]
    for day in days:
        why = why_closed(day, US.business_days, US.closed_days, US.holidays)
        assert US.why_closed(day) == why
        assert US.is_business_day(day) is (why is None)
    assert US.business_days_between(days[0], days[-1]) == \
        business_days_between(days[0], days[-1], US.business_days, US.closed_days, "us")
    assert US.why_closed(D(2026, 11, 28)) == "Saturday"
    assert US.closed_reason(D(2026, 11, 28)) == "a Saturday, not one of [program] business_days"
    assert US.why_closed(D(2026, 12, 24)) == CLOSED_DAY
    assert US.closed_reason(D(2026, 12, 24)) == "a closed day in [program] closed_days"


# --- the authorizations reader ------------------------------------------------------


def test_codes_are_read_as_a_list_in_a_cell_or_one_a_cell():
    assert parse_codes("H0015, H2019") == ("H0015", "H2019")
    assert parse_codes("h0015/H2019; 90853") == ("H0015", "H2019", "90853")
    assert parse_codes(90853.0) == ("90853",)
    with pytest.raises(ValueError):
        parse_codes("all IOP services")


def test_an_authorizations_export_is_recognised_by_its_columns_and_read_in_every_date_form(program):
    rows = [
        auth_row("M-1", "A-1", "H0015, H2019", "11/01/2026", "2026-12-31", 40, 12, "12/01/2026", name="Silva, Ana"),
        auth_row("M-2", "B-7", "H0015", "01-Nov-2026", "Dec 31, 2026", 20, ""),  # no units used yet
        auth_row("M-3", "C-3", "H0015", "12/31/2026", "11/01/2026", 20, 0),  # ends before it starts: its row only
        auth_row("M-4", "D-4", "H0015", "11/01/2026", "12/31/2026", 10**19, 0),  # impossible units: its row only
        # one authorization written one code a row: one pool of units
        auth_row("M-5", "E-5", "H0015", "11/01/2026", "12/31/2026", 30, 4),
        auth_row("M-5", "E-5", "H2019", "11/01/2026", "12/31/2026", 30, 4),
        # one code a row with units of their own: two pools
        auth_row("M-6", "F-6", "H0015", "11/01/2026", "12/31/2026", 20, 1),
        auth_row("M-6", "F-6", "H2019", "11/01/2026", "12/31/2026", 200, 15),
    ]
    write_authorizations(program.inbox, rows)
    outcome = program.run(TUE)
    report = next(f for f in outcome.files if f.path.endswith("authorizations.csv"))
    assert (report.kind, report.status) == ("authorizations", "read")
    assert "5 authorizations (4 patients)" in report.detail and "2 not used" in report.detail and report.used_for_day
    ledger = Ledger(program.settings().db)
    try:
        auths, _ = ledger.authorizations()
    finally:
        ledger.close()
    assert set(auths) == {"M-1", "M-2", "M-5", "M-6"}
    a = auths["M-1"][0]
    assert (a.codes, a.start, a.end, a.units_authorized, a.units_used, a.next_review, a.as_of) == (
        ("H0015", "H2019"), D(2026, 11, 1), D(2026, 12, 31), 40, 12, D(2026, 12, 1), TUE)  # as of the run's day
    assert auths["M-2"][0].units_used is None
    assert [x.codes for x in auths["M-5"]] == [("H0015", "H2019")]
    assert [(x.codes, x.units_authorized) for x in auths["M-6"]] == [(("H0015",), 20), (("H2019",), 200)]


def test_config_maps_other_authorization_column_names(program):
    main = program.config_path.read_text() + '\n[columns.authorizations]\nunits_authorized = ["Visits OK"]\n'
    program.write_config(main, (program.root / "config" / "payers.toml").read_text())
    from attendbot.samples.tables import write_table_csv

    write_table_csv(program.inbox / "auths.csv", ["Client ID", "Auth Number", "Services", "From", "Thru", "Visits OK"],
                    [["M-1", "A-1", "H0015", "11/01/2026", "12/31/2026", 12]])
    outcome = program.run(TUE)
    assert {f.kind for f in outcome.files if f.path.endswith("auths.csv")} == {"authorizations"}


# --- authorizations: the right day ------------------------------------------------------


def test_the_day_an_authorization_ends_is_covered_and_the_next_day_is_expired(program):
    write_authorizations(program.inbox, [
        auth_row("M-1", "A-1", start="11/02/2026", end="12/01/2026"),
        auth_row("M-2", "B-2", start="12/02/2026", end="12/31/2026"),  # starts the day after the first ends
    ])
    for day, n in ((D(2026, 11, 30), 1), (D(2026, 12, 1), 2), (D(2026, 12, 2), 3)):
        write_day(program.inbox, day, [Visit(f"C-{n}1", "M-1"), Visit(f"C-{n}2", "M-2", "Okoro, Ben"),
                                       Visit(f"C-{n}3", "M-3", "Moore, Casey"),
                                       Visit(f"C-{n}4", "M-4", "Fields, Drew", payer="Aetna")])
    first, last_day, after = (program.run(d) for d in (D(2026, 11, 30), D(2026, 12, 1), D(2026, 12, 2)))
    assert codes_by_charge(first) == {"C-11": set(), "C-12": {"AUTH_MISSING"}, "C-13": {"AUTH_MISSING"},
                                      "C-14": set()}  # Aetna does not require authorization
    assert codes_by_charge(last_day) == {"C-21": set(), "C-22": {"AUTH_MISSING"}, "C-23": {"AUTH_MISSING"},
                                         "C-24": set()}
    assert codes_by_charge(after) == {"C-31": {"AUTH_EXPIRED"}, "C-32": set(), "C-33": {"AUTH_MISSING"},
                                      "C-34": set()}
    messages = {cid: m for _, cid, m in across(after)}
    assert "authorization A-1 ended 2026-12-01" in messages["C-31"]
    assert "no TX Medicaid authorization is on file" in messages["C-33"]
    assert "starts 2026-12-02" in dict((cid, m) for _, cid, m in across(first))["C-12"]
    held = {cr.charge.charge_id: str(cr.disposition) for cr in after.result.charges}
    assert held["C-31"] == "hold" and held["C-33"] == "hold"


def test_no_authorization_rule_runs_before_an_authorizations_export_is_read(program):
    write_day(program.inbox, TUE, [Visit("C-1", "M-1")])
    assert across(program.run(TUE), GapCode.AUTH_MISSING) == []


def test_a_code_the_covering_authorization_does_not_list(program):
    write_authorizations(program.inbox, [auth_row("M-1", "A-1", codes="H2019")])
    write_day(program.inbox, TUE, [Visit("C-1", "M-1", code="H0015")])
    ((code, _, message),) = across(program.run(TUE))
    assert code == GapCode.AUTH_CODE_NOT_COVERED
    assert "authorization A-1 covers H2019, not H0015" in message


def test_units_exhausted_exactly_at_the_limit_is_fine_and_one_over_is_not(program):
    # 5 units, 2 used as of the file (read Monday): Monday 3, Tuesday's no-show bills nothing,
    # Wednesday 4, Thursday exactly 5, Friday 6.
    write_authorizations(program.inbox, [auth_row("M-1", "A-1", units=5, used=2)])
    week = [D(2026, 11, 30) + dt.timedelta(days=n) for n in range(5)]
    for n, day in enumerate(week):
        write_day(program.inbox, day, [Visit(f"C-{n}", "M-1", status="No Show" if n == 1 else "Present")])
    outcomes = [program.run(day) for day in week]
    assert [across(o, GapCode.AUTH_EXHAUSTED) for o in outcomes[:4]] == [[], [], [], []]
    ((_, cid, message),) = across(outcomes[4], GapCode.AUTH_EXHAUSTED)
    assert cid == "C-4"
    assert "6 of 5 used with today's (2 used as of 2026-11-30, 3 billed since, 1 today)" in message


def test_units_billed_since_come_from_each_days_newest_charge_export(program):
    # 35 units: Monday's export says 12, its correction 10; with Tuesday's and Wednesday's 12, 34 are used
    write_authorizations(program.inbox, [auth_row("M-1", "A-1", codes="H2019", units=35, used=0)])
    write_day(program.inbox, MON, [Visit("C-1", "M-1", code="H2019", units=12)])
    program.run(MON)
    write_day(program.inbox, MON, [Visit("C-1", "M-1", code="H2019", units=10)], charges_file="corrected.csv")
    program.run(MON)
    for n, day in ((2, TUE), (3, WED)):
        write_day(program.inbox, day, [Visit(f"C-{n}", "M-1", code="H2019", units=12)])
        program.run(day)
    assert across(program.run(WED), GapCode.AUTH_EXHAUSTED) == []  # 36 with the first export


def test_a_claim_auth_number_naming_another_authorization(program):
    write_authorizations(program.inbox, [
        auth_row("M-1", "OLD-1", start="10/01/2026", end="11/30/2026"),
        auth_row("M-1", "NEW-2", start="12/01/2026", end="12/31/2026"),
        auth_row("M-2", "B-2"),
    ])
    day = D(2026, 12, 2)
    write_day(program.inbox, day, [Visit("C-1", "M-1", auth="OLD-1"), Visit("C-2", "M-1", code="90853", auth="new-2"),
                                   Visit("C-3", "M-2", "Okoro, Ben", auth="B-9")])
    outcome = program.run(day)
    messages = {cid: (code, m) for code, cid, m in across(outcome) if code == GapCode.AUTH_MISSING}
    code, message = messages["C-1"]
    assert "auth # OLD-1 names the authorization that ended 2026-11-30; NEW-2 covers 2026-12-02" in message
    assert "put NEW-2 on the claim" in message
    assert "names no authorization on file" in messages["C-3"][1]
    assert "C-2" not in messages  # the right number, whatever its case
    assert codes_by_charge(outcome)["C-2"] == {"AUTH_CODE_NOT_COVERED"}


def test_a_new_authorizations_file_replaces_the_older_rows_of_the_patients_it_lists(program):
    write_authorizations(program.inbox, [auth_row("M-1", "A-1", end="11/30/2026"), auth_row("M-2", "B-2")],
                         name="auths_week1.csv")
    day = D(2026, 12, 1)
    write_day(program.inbox, day, [Visit("C-1", "M-1"), Visit("C-2", "M-2", "Okoro, Ben")])
    assert codes_by_charge(program.run(day)) == {"C-1": {"AUTH_EXPIRED"}, "C-2": set()}
    # the renewal arrives: a newer file listing M-1 only
    write_authorizations(program.inbox, [auth_row("M-1", "A-2", start="12/01/2026", end="01/31/2027")],
                         name="auths_week2.csv")
    outcome = program.run(day)
    assert codes_by_charge(outcome) == {"C-1": set(), "C-2": set()}  # M-2 keeps the older file's row
    used = {f.path.rsplit("/", 1)[-1]: f.used_for_day for f in outcome.files if f.kind == "authorizations"}
    assert used == {"auths_week1.csv": True, "auths_week2.csv": True}
    # and a newest file listing M-2 with only a future authorization replaces B-2
    write_authorizations(program.inbox, [auth_row("M-2", "B-3", start="12/15/2026")], name="auths_week3.csv")
    outcome = program.run(day)
    assert codes_by_charge(outcome) == {"C-1": set(), "C-2": {"AUTH_MISSING"}}
    assert "starts 2026-12-15" in across(outcome, GapCode.AUTH_MISSING)[0][2]


# --- concurrent reviews -------------------------------------------------------------------


def test_a_review_due_on_a_holiday_is_raised_from_three_business_days_before_until_a_newer_authorization(program):
    write_authorizations(program.inbox, [auth_row("M-1", "A-1", review="11/26/2026")], name="auths1.csv")
    days = [D(2026, 11, 20), MON, TUE, WED, FRI]
    for n, day in enumerate(days):
        write_day(program.inbox, day, [Visit(f"C-{n}", "M-1")])
    raised = {day: across(program.run(day), GapCode.CONCURRENT_REVIEW_DUE) for day in days}
    assert raised[D(2026, 11, 20)] == []
    assert [m for _, _, m in raised[MON]] == [
        "The concurrent review of authorization A-1 is due Thu 2026-11-26, 3 business days left with today — send "
        "TX Medicaid the clinical update."]  # Mon, Tue and Wed: the review date is the holiday
    assert "is due Thu 2026-11-26, 1 business day left with today" in raised[WED][0][2]
    assert "was due Thu 2026-11-26" in raised[FRI][0][2] and "no newer authorization" in raised[FRI][0][2]
    assert raised[FRI][0][1] == "C-4"  # on the patient's charge of the day
    # the renewal arrives (the new export lists the current and the next authorization)
    write_authorizations(program.inbox, [auth_row("M-1", "A-1", review="11/26/2026"),
                                         auth_row("M-1", "A-2", start="01/01/2027", end="02/28/2027")],
                         name="auths2.csv")
    assert across(program.run(FRI), GapCode.CONCURRENT_REVIEW_DUE) == []


def test_a_review_across_a_weekend_and_for_a_patient_not_seen_that_day(program):
    write_authorizations(program.inbox, [auth_row("M-1", "A-1", review="12/08/2026"),
                                         auth_row("M-2", "B-2", review="12/08/2026", payer="Aetna")])
    days = [D(2026, 12, 2), D(2026, 12, 3), D(2026, 12, 8), D(2026, 12, 9)]
    for n, day in enumerate(days):
        write_day(program.inbox, day, [Visit(f"C-{n}", "M-1")])  # M-2 is not charged on any of them
    raised = {day: across(program.run(day), GapCode.CONCURRENT_REVIEW_DUE) for day in days}
    assert raised[D(2026, 12, 2)] == []
    assert {cid for _, cid, _ in raised[D(2026, 12, 3)]} == {"C-1", None}  # Thu, Fri, Mon before Tue 8
    assert all("3 business days left with today" in m for _, _, m in raised[D(2026, 12, 3)])
    assert all("is due today (2026-12-08)" in m for _, _, m in raised[D(2026, 12, 8)])
    assert all("was due Tue 2026-12-08 (1 business day ago)" in m for _, _, m in raised[D(2026, 12, 9)])
    loose = next(g for g in program.run(D(2026, 12, 9)).result.gaps if g.code == GapCode.CONCURRENT_REVIEW_DUE
                 and g.charge_id is None)
    assert (loose.patient_id, loose.owner, loose.session) == ("M-2", "intake", None)


def test_review_state_counts_business_days_on_the_programs_calendar():
    history = History(is_business_day=US.is_business_day)
    a = auth(review=D(2026, 12, 28))
    assert review_state([a], D(2026, 12, 18), 3, history) is None
    assert review_state([a], D(2026, 12, 21), 3, history)[1:] == (
        "due", "is due Mon 2026-12-28, 3 business days left with today")  # 21-23: the 24th closed, 25th Christmas
    assert review_state([a], D(2026, 12, 29), 3, history)[1] == "overdue"
    assert review_state([a, auth(number="A-2", start=D(2027, 1, 1), end=D(2027, 3, 1))], D(2026, 12, 29), 3,
                        history) is None


# --- repeat no-shows -----------------------------------------------------------------------


@pytest.mark.parametrize("third, raised", [(D(2026, 12, 14), True), (D(2026, 12, 15), False)])
def test_the_third_no_show_on_day_14_is_a_repeat_and_on_day_15_is_not(program, third, raised):
    first, second = D(2026, 12, 1), D(2026, 12, 8)  # day 1 and day 8
    days = [first, second, D(2026, 12, 10), third]
    statuses = {first: "No Show", second: "No Show", D(2026, 12, 10): "Excused", third: "No Show"}
    for n, day in enumerate(days):
        write_day(program.inbox, day, [Visit(f"C-{n}", "M-1", status=statuses[day]),
                                       Visit(f"C-{n}b", "M-2", "Okoro, Ben")])
    results = [program.run(day) for day in days]
    assert [across(o, GapCode.REPEAT_NO_SHOW) for o in results[:3]] == [[], [], []]  # excused: not a no-show
    got = across(results[3], GapCode.REPEAT_NO_SHOW)
    if raised:
        ((_, cid, message),) = got
        assert cid == "C-3" and "no-shows reached 3 within 14 days" in message
    else:
        assert got == []


def test_a_repeat_no_show_is_raised_once_per_crossing(program):
    days = [D(2026, 12, 1), D(2026, 12, 2), D(2026, 12, 3), D(2026, 12, 4), D(2026, 12, 21), D(2026, 12, 22),
            D(2026, 12, 23)]
    for n, day in enumerate(days):
        write_day(program.inbox, day, [Visit(f"C-{n}", "M-1", status="No Show")])
    raised = [bool(across(program.run(day), GapCode.REPEAT_NO_SHOW)) for day in days]
    # the third crosses the threshold; the fourth is the same crossing; by the 21st the window
    # (8 to 21 December) holds one no-show: under again, until the 23rd crosses anew
    assert raised == [False, False, True, False, False, False, True]


# --- weekly hours ----------------------------------------------------------------------------


def test_weekly_hours_in_a_week_with_a_holiday_are_raised_from_the_day_the_week_cannot_reach_them(program):
    # Thanksgiving week: Mon, Tue, Wed and Fri are business days, 3 hours each.
    week = [MON, TUE, WED, FRI, D(2026, 11, 30)]
    status_of = {MON: "Present", TUE: "No Show", WED: "No Show", FRI: "Present", D(2026, 11, 30): "Present"}
    for n, day in enumerate(week):
        write_day(program.inbox, day, [Visit(f"C-{n}", "M-1", status=status_of[day]),
                                       Visit(f"C-{n}b", "M-2", "Okoro, Ben")])
    raised = {day: across(program.run(day), GapCode.WEEKLY_HOURS_LOW) for day in week}
    assert raised[MON] == [] and raised[TUE] == []  # Tuesday: 3 h + Wed and Fri at 3 h = exactly 9
    ((_, cid, message),) = raised[WED]
    assert cid == "C-2"
    assert message == ("Charge C-2: the patient's week of 2026-11-23 can no longer reach 9 h and 3 days "
                       "(3 h so far, at most 6 h; 1 day so far, at most 2) — plan the missed time with the patient.")
    ((_, cid, message),) = raised[FRI]
    assert cid == "C-3" and "flagged since Wed 2026-11-25" in message  # a later charged day of that week
    assert raised[D(2026, 11, 30)] == []  # a new week


def test_without_the_holiday_the_same_week_could_still_reach_nine_hours():
    history = History(is_business_day=lambda d: d.weekday() < 5,  # Thursday a business day
                      program_minutes={MON: 180, TUE: 180},
                      patient_days={"M-1": {MON: PatientDay("M-1", 180, True), TUE: PatientDay("M-1", 0, False)}})
    day = WED
    result = reconcile(day, [charge("C-2", pid="M-1", day=day)], [ehr("M-1", Status.NO_SHOW, day=day)], [],
                       BOOK.policy_for, history=history)
    assert not [g for g in result.gaps if g.code == GapCode.WEEKLY_HOURS_LOW]  # 3 h + Thu + Fri = 9
    holiday = History(is_business_day=US.is_business_day, program_minutes=history.program_minutes,
                      patient_days=history.patient_days)
    result = reconcile(day, [charge("C-2", pid="M-1", day=day)], [ehr("M-1", Status.NO_SHOW, day=day)], [],
                       BOOK.policy_for, history=holiday)
    assert [g.code for g in result.gaps if g.code == GapCode.WEEKLY_HOURS_LOW] == [GapCode.WEEKLY_HOURS_LOW]


def test_earlier_days_the_ledger_never_reconciled_count_as_days_the_week_could_still_use():
    history = History(is_business_day=US.is_business_day)  # nothing reconciled before Wednesday
    result = reconcile(WED, [charge("C-2", pid="M-1", day=WED)], [ehr("M-1", Status.NO_SHOW, day=WED)], [],
                       BOOK.policy_for, history=history)
    assert not [g for g in result.gaps if g.code == GapCode.WEEKLY_HOURS_LOW]


def test_without_a_history_reconcile_checks_the_day_alone():
    result = reconcile(TUE, [charge("C-1", pid="M-1")], [ehr("M-1", Status.NO_SHOW)], [], BOOK.policy_for)
    assert not {g.code for g in result.gaps} & ACROSS
    assert [(p.patient_id, p.minutes, p.attended) for p in result.patient_days] == [("M-1", 0, False)]


def test_a_patients_day_counts_time_in_two_sessions_at_once_once():
    charges = [charge("C-1", pid="M-1", session="Morning Process Group", start=dt.time(9), end=dt.time(12)),
               charge("C-2", pid="M-1", code="90853", session="Skills Group", start=dt.time(11), end=dt.time(13))]
    attendance = [ehr("M-1", session="Morning Process Group"),
                  ehr("M-1", session="Skills Group", time_in=dt.time(11), time_out=dt.time(13))]
    result = reconcile(TUE, charges, attendance, [], BOOK.policy_for, history=History())
    assert [(p.minutes, p.attended) for p in result.patient_days] == [(240, True)]
    assert result.program_minutes == 240


def test_a_per_diem_charged_once_for_two_groups_counts_both_groups_toward_the_week():
    """The billing model charges a per diem once for the patient's whole day; the week's hours
    read the same patient-day, not only the charged session."""
    charges = [charge("C-1", pid="M-1", session="Early Recovery Group", start=dt.time(9), end=dt.time(10, 30))]
    attendance = [ehr("M-1", session="Early Recovery Group", time_in=dt.time(9), time_out=dt.time(10, 30)),
                  ehr("M-1", session="Relapse Prevention Group", time_in=dt.time(10, 45), time_out=dt.time(12, 15))]
    result = reconcile(TUE, charges, attendance, [], BOOK.policy_for, history=History())
    assert [(p.minutes, p.attended) for p in result.patient_days] == [(180, True)]


def test_a_code_billed_without_the_patient_is_no_attendance():
    """90846 (family therapy without the patient) is billable with the patient absent: it adds
    neither minutes nor a day to the patient's week."""
    charges = [charge("C-1", pid="M-1", code="90846", session="Family Group", start=dt.time(13), end=dt.time(14))]
    result = reconcile(TUE, charges, [], [], BOOK.policy_for, history=History())
    assert [(p.minutes, p.attended) for p in result.patient_days] == [(0, False)]


# --- an authorization pool, pure ----------------------------------------------------------------


def test_units_of_an_adjusted_charge_count_as_supported_and_a_void_one_not_at_all():
    history = History(is_business_day=US.is_business_day, have_authorizations=True,
                      authorizations={"M-1": [auth("M-1", "A-1", codes=("H2019",), units=20, used=10)]})
    charges = [charge("C-1", pid="M-1", code="H2019", units=12)]  # 9:00 to 12:00 supports 12
    attendance = [ehr("M-1", time_in=dt.time(9), time_out=dt.time(10))]  # an hour: 4 units
    result = reconcile(TUE, charges, attendance, [], BOOK.policy_for, history=history)
    assert not [g for g in result.gaps if g.code == GapCode.AUTH_EXHAUSTED]  # 10 + 4 = 14 of 20
    result = reconcile(TUE, [charge("C-1", pid="M-1", code="H2019", units=12)],
                       [ehr("M-1", time_in=dt.time(9), time_out=dt.time(12))], [], BOOK.policy_for, history=history)
    assert [g.code for g in result.gaps if g.code == GapCode.AUTH_EXHAUSTED] == [GapCode.AUTH_EXHAUSTED]


# --- a week, day by day -------------------------------------------------------------------------


def test_the_demo_week_raises_each_item_on_its_day_and_only_then(tmp_path):
    from attendbot import config, demo
    from attendbot.run import run_day
    from attendbot.samples import later_days

    settings = config.load(demo.write_program(tmp_path / "demo"), base=tmp_path / "demo")
    got = {day: sorted((g.code.value, g.charge_id) for g in run_day(settings, day, dry_run=True).result.gaps
                       if g.code in ACROSS)
           for day in (demo.DAY, *later_days.DAYS)}
    assert got == {
        TUE: [],
        WED: [("CONCURRENT_REVIEW_DUE", "C-1103"), ("WEEKLY_HOURS_LOW", "C-1104")],
        FRI: [("AUTH_EXHAUSTED", "C-1201"), ("AUTH_EXPIRED", "C-1206"), ("CONCURRENT_REVIEW_DUE", "C-1203"),
              ("REPEAT_NO_SHOW", "C-1204"), ("WEEKLY_HOURS_LOW", "C-1204")],
    }
