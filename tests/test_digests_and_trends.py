"""What the checks across days produce: the intake and clinical digests in Slack, the workbook's
Trends and Authorizations sheets, the CARC column, and the ledger keeping authorizations."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from attendbot import config
from attendbot.codes import GapCode
from attendbot.config import SlackSection
from attendbot.errors import ConfigError
from attendbot.ledger import Ledger
from attendbot.model import FileReport, FileStatus, PatientDay, ReadResult, Status
from attendbot.outputs import slack_delivery
from attendbot.outputs.slack_messages import MAX_BLOCKS, MAX_SECTION_CHARS, build_messages
from attendbot.reconcile import reconcile
from attendbot.reconcile.across_days import History
from attendbot.run import TREND_DAYS, run_day, trend_days

from builders import BOOK, Visit, auth, auth_row, charge, ehr, write_authorizations, write_day
from slack_stub import SlackStub

D = dt.date
TUE, WED = D(2026, 11, 24), D(2026, 11, 25)
NAMES = {"004821": "Núñez, María", "004824": "Castillo, Rosa", "004833": "Ngata, Wiremu"}
NAME_WORDS = ("Núñez", "Nunez", "María", "Castillo", "Rosa", "Ngata", "Wiremu")


def weekdays(day: dt.date) -> bool:
    return day.weekday() < 5


def across_day() -> tuple:
    """Wednesday: 004821 over her authorization's units, 004833's review due without a charge that day,
    004824's third no-show in a fortnight and a week that can no longer reach three days."""
    history = History(
        is_business_day=weekdays, have_authorizations=True,
        authorizations={"004821": [auth("004821", "MCD-1", units=10, used=10)],
                        "004824": [auth("004824", "MCD-4", units=60, used=0)],
                        "004833": [auth("004833", "MCD-3", review=D(2026, 11, 27))]},
        no_shows={"004824": frozenset({(D(2026, 11, 16), "x"), (D(2026, 11, 23), "x")})},
        program_minutes={D(2026, 11, 23): 180, TUE: 180},
        patient_days={"004824": {D(2026, 11, 23): PatientDay("004824", 0, False),
                                 TUE: PatientDay("004824", 0, False)}})
    charges = [charge("C-1", pid="004821", name=NAMES["004821"], day=WED),
               charge("C-2", pid="004824", name=NAMES["004824"], day=WED)]
    attendance = [ehr("004821", day=WED), ehr("004824", Status.NO_SHOW, day=WED)]
    result = reconcile(WED, charges, attendance, [], BOOK.policy_for, history=history)
    return result, history


def slack(mode: str = "none", **kw) -> SlackSection:
    return SlackSection(billing_channel="C0BILLING", facilitator_channel="C0GROUPS", intake_channel="C0INTAKE",
                        patient_identity=mode, **kw)


def by_kind(messages) -> dict:
    return {m.kind: m for m in messages}


# --- the digests --------------------------------------------------------------------------


def test_one_intake_and_one_clinical_digest_come_before_the_billing_summary():
    result, _ = across_day()
    assert {g.code for g in result.gaps} >= {GapCode.AUTH_EXHAUSTED, GapCode.CONCURRENT_REVIEW_DUE,
                                             GapCode.REPEAT_NO_SHOW, GapCode.WEEKLY_HOURS_LOW}
    messages = build_messages(result, [], slack(), program="Riverbend")
    assert [m.kind for m in messages][-3:] == ["intake", "clinical", "billing"]
    intake, clinical = by_kind(messages)["intake"], by_kind(messages)["clinical"]
    assert (intake.key, intake.channel, intake.session) == ("2026-11-25:intake", "C0INTAKE", None)
    assert (clinical.key, clinical.channel) == ("2026-11-25:clinical", "C0BILLING")  # no clinical_channel: billing
    assert "Authorizations and reviews — 2026-11-25" in json.dumps(intake.blocks, ensure_ascii=False)
    assert "1 authorization hold and 1 concurrent review" in intake.text
    assert "Charge C-1: authorization MCD-1 is over its units — 11 of 10 used" in intake.text
    assert "The concurrent review of authorization MCD-3 is due Fri 2026-11-27" in intake.text
    assert "1 repeat no-show and 1 week short of its minimum" in clinical.text
    assert "Charge C-2: the patient's no-shows reached 3 within 14 days" in clinical.text
    weekly = next(b["text"]["text"] for b in clinical.blocks if "Weekly hours" in b.get("text", {}).get("text", ""))
    assert "• *new* Charge C-2: the patient's week of 2026-11-23 can no longer reach" in weekly


@pytest.mark.parametrize("mode, shown, hidden", [
    ("none", ["MRN …4821", "MRN …4833", "C-1"], ["004821", "004833", *NAME_WORDS, "M.N."]),
    ("initials", ["M.N., …4821", "…4833", "C-1"], ["004821", *NAME_WORDS]),
    ("full", ["Núñez, María, 004821", "004833"], []),
])
def test_digests_name_patients_only_as_patient_identity_allows(mode, shown, hidden):
    result, _ = across_day()
    messages = [m for m in build_messages(result, [], slack(mode), program="Riverbend")
                if m.kind in ("intake", "clinical")]
    payload = json.dumps([[m.text, m.blocks] for m in messages], ensure_ascii=False)
    for text in shown:
        assert text in payload, text
    for text in hidden:
        assert text not in payload, text


def test_a_day_without_items_has_no_digest_unless_one_went_out_before():
    result = reconcile(WED, [charge("C-1", day=WED)], [ehr(day=WED)], [], BOOK.policy_for,
                       history=History(is_business_day=weekdays))
    assert not {m.kind for m in build_messages(result, [], slack(), program="P")} & {"intake", "clinical"}
    messages = build_messages(result, [], slack(), program="P", digests_sent={"intake"})
    intake = by_kind(messages)["intake"]
    assert intake.key == "2026-11-25:intake" and "no items open" in intake.text
    assert "clinical" not in by_kind(messages)


def test_a_long_digest_stays_within_slacks_limits():
    result, history = across_day()
    many = {f"P-{n:04d}": [auth(f"P-{n:04d}", f"A-{n}", units=1, used=1)] for n in range(400)}
    history = History(is_business_day=weekdays, have_authorizations=True, authorizations=many)
    charges = [charge(f"C-{n}", pid=f"P-{n:04d}", name="Doe, Sam", day=WED) for n in range(400)]
    result = reconcile(WED, charges, [ehr(f"P-{n:04d}", day=WED) for n in range(400)], [], BOOK.policy_for,
                       history=history)
    intake = by_kind(build_messages(result, [], slack(), program="P"))["intake"]
    assert len(intake.blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= MAX_SECTION_CHARS for b in intake.blocks if b.get("type") == "section")
    assert "more item" in json.dumps(intake.blocks)


def test_the_intake_digest_is_posted_once_and_edited_when_the_items_are_fixed(program, monkeypatch):
    stub = SlackStub().start()
    try:
        main = program.config_path.read_text().replace(
            "[slack]\n", f'[slack]\napi_url = "{stub.url}"\nintake_channel = "C0INTAKE"\n')
        program.write_config(main, (program.root / "config" / "payers.toml").read_text())
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setattr(slack_delivery, "PACE_SECONDS", 0.0)
        write_authorizations(program.inbox, [auth_row("004821", "A-1", end="11/20/2026")], name="a1.csv")
        write_day(program.inbox, TUE, [Visit("C-1", "004821", NAMES["004821"])])
        now = dt.datetime(2026, 11, 24, 15, 30, tzinfo=ZoneInfo("America/Chicago"))

        def run():
            return run_day(program.settings(), TUE, now=now)

        run()
        (posted,) = stub.posted("C0INTAKE")
        assert "authorization A-1 ended 2026-11-20" in posted["text"] and "MRN …4821" in posted["text"]
        run()
        assert len(stub.posted("C0INTAKE")) == 1 and not [m for m in stub.calls("chat.update")
                                                          if m.get("channel") == "C0INTAKE"]
        write_authorizations(program.inbox, [auth_row("004821", "A-2", start="11/21/2026")], name="a2.csv")
        run()
        assert len(stub.posted("C0INTAKE")) == 1  # edited, not posted again
        (edit,) = [m for m in stub.calls("chat.update") if m.get("channel") == "C0INTAKE"]
        assert "no items open" in edit["text"]
    finally:
        stub.stop()


# --- the workbook: Trends and Authorizations ------------------------------------------------


def _blocks(ws) -> dict[str, list[dict]]:
    """The Trends sheet's tables, by title: a dict a row, keyed by the header."""
    out, rows = {}, list(ws.iter_rows(values_only=True))
    for i, row in enumerate(rows):
        if row and row[0] == "Date" and i > 0:
            title, header = rows[i - 1][0], [h for h in row if h is not None]
            table = []
            for data in rows[i + 1:]:
                if data[0] is None:
                    break
                table.append(dict(zip(header, data)))
            out[title] = table
    return out


@pytest.fixture
def week(program):
    """Monday to Friday of one week, a Saturday run, and the next Monday: gaps, holds and no-shows."""
    write_authorizations(program.inbox, [auth_row("004821", "A-1", units=4, used=0, review="12/09/2026"),
                                         auth_row("004824", "A-4", end="12/02/2026")])
    days = [D(2026, 11, 30) + dt.timedelta(days=n) for n in range(6)] + [D(2026, 12, 7)]
    for n, day in enumerate(days):
        write_day(program.inbox, day, [
            Visit(f"C-{n}1", "004821", NAMES["004821"]),
            Visit(f"C-{n}2", "004824", NAMES["004824"], status="No Show" if n % 2 else "Present"),
            Visit(f"C-{n}3", "004899", "Doe, Sam", payer="Aetna", amount=240.0, status="Late Cancel" if n == 2
                  else "Present"),
        ])
    outcomes = [program.run(day) for day in days]
    return program, days, outcomes


def test_the_trends_sheet_has_native_charts_and_rows_equal_to_the_ledgers_counts(week):
    program, days, outcomes = week
    book = openpyxl.load_workbook(outcomes[-1].workbook)
    ws = book["Trends"]
    assert [c.title.tx.rich.p[0].r[0].t for c in ws._charts] == [
        "Open gaps per day, by code", "Charges on hold per day, by payer", "Dollars at risk per day, by payer",
        "No-shows and late cancellations per day"]
    for chart in ws._charts:
        assert chart.series and all("Trends" in s.val.numRef.f for s in chart.series)
    tables = _blocks(ws)
    business = [d for d in days if d.weekday() < 5]  # the Saturday run is not a business day
    for table in tables.values():
        assert [r["Date"].date() for r in table] == business

    ledger = Ledger(program.settings().db)
    try:
        for row in tables["Open gaps per day, by code"]:
            iso = row["Date"].date().isoformat()
            counts = dict(ledger.db.execute("SELECT code, COUNT(*) FROM gaps WHERE day = ? AND status = 'open' "
                                            "GROUP BY code", [iso]).fetchall())
            assert row["Open gaps"] == sum(counts.values())
            shown = {k: v for k, v in row.items() if k not in ("Date", "Open gaps", "Other codes")}
            assert shown == {code: counts.get(code, 0) for code in shown}
            assert row.get("Other codes", 0) == sum(v for k, v in counts.items() if k not in shown)
        for row in tables["Charges on hold per day, by payer"]:
            iso = row["Date"].date().isoformat()
            held = dict(ledger.db.execute("SELECT payer, COUNT(*) FROM dispositions WHERE day = ? AND "
                                          "disposition = 'hold' GROUP BY payer", [iso]).fetchall())
            assert row["On hold"] == sum(held.values())
            assert {k: v for k, v in row.items() if k not in ("Date", "On hold") and v} == held
        for row in tables["No-shows and late cancellations per day"]:
            iso = row["Date"].date().isoformat()
            kinds = dict(ledger.db.execute("SELECT kind, COUNT(*) FROM no_shows WHERE day = ? GROUP BY kind",
                                           [iso]).fetchall())
            assert (row["No-shows"], row["Late cancellations"]) == (kinds.get("no_show", 0),
                                                                      kinds.get("late_cancel", 0))
        for row in tables["Dollars at risk per day, by payer"]:
            iso = row["Date"].date().isoformat()
            charges = {cr.charge.charge_id: cr for o in outcomes for cr in o.result.charges
                       if o.day.isoformat() == iso}
            assert row["At risk"] == pytest.approx(sum(cr.dollars_at_risk for cr in charges.values()))
    finally:
        ledger.close()


def test_the_authorizations_sheet_shows_units_left_after_today_and_the_next_review(week):
    _, days, outcomes = week
    book = openpyxl.load_workbook(outcomes[2].workbook)  # Wednesday 2 December
    rows = [dict(zip([c.value for c in book["Authorizations"][1]], r))
            for r in book["Authorizations"].iter_rows(min_row=2, values_only=True)]
    by_patient = {r["Patient ID"]: r for r in rows}
    a1 = by_patient["004821"]
    assert (a1["Auth #"], a1["Units authorized"], a1["Used as of file"], a1["Billed since"], a1["Today"],
            a1["Units left after today"]) == ("A-1", 4, 0, 2, 1, 1)
    assert a1["Next review"].date() == D(2026, 12, 9) and a1["Needs"] is None
    assert by_patient["004824"]["State"] == "covering"
    later = {r[0]: r for r in openpyxl.load_workbook(outcomes[-1].workbook)["Authorizations"]
             .iter_rows(min_row=2, values_only=True)}
    assert later["004824"][-1] == "expired" and later["004821"][-1] == "over units"


def test_the_trends_sheet_covers_the_last_thirty_business_days_in_the_ledger(program):
    settings = program.settings()
    ledger = Ledger(settings.db)
    try:
        for n in range(60):
            day = D(2026, 10, 1) + dt.timedelta(days=n)
            ledger.finish_run(ledger.start_run(day, dry_run=True), "ok")
        day = D(2026, 11, 29)  # a Sunday: the workbook's own day is always there
        chosen = trend_days(settings, ledger, day)
    finally:
        ledger.close()
    assert len(chosen) == TREND_DAYS and chosen[-1] == day
    assert all(settings.program.calendar.is_business_day(d) for d in chosen[:-1])
    assert D(2026, 11, 26) not in chosen and D(2026, 11, 27) in chosen  # Thanksgiving, and the day after


def test_the_gaps_sheet_gives_the_likely_carc_from_config(program):
    main = program.config_path.read_text() + '\n[carc]\nAUTH_EXPIRED = "CO-197 (expired)"\nAUTH_MISSING = ""\n'
    program.write_config(main, (program.root / "config" / "payers.toml").read_text())
    write_authorizations(program.inbox, [auth_row("004821", "A-1", end="11/20/2026")])
    write_day(program.inbox, TUE, [Visit("C-1", "004821"), Visit("C-2", "004824", "Castillo, Rosa", units=1)])
    outcome = program.run(TUE)
    ws = openpyxl.load_workbook(outcome.workbook)["Gaps"]
    header = [c.value for c in ws[1]]
    carc = {(r[header.index("Code")], r[header.index("Charge ID")]): r[header.index("Likely CARC if unfixed")]
            for r in ws.iter_rows(min_row=2, values_only=True)}
    assert carc[("AUTH_EXPIRED", "C-1")] == "CO-197 (expired)"
    assert carc[("AUTH_MISSING", "C-2")] is None  # blanked by the program
    assert carc[("NO_SIGNIN_SHEET", "C-1")] == "CO-50"  # a default from attendbot/samples/carc.toml


def test_the_carc_table_refuses_an_unknown_gap_code(program):
    main = program.config_path.read_text() + '\n[carc]\nNOT_A_GAP = "CO-1"\n'
    program.write_config(main, (program.root / "config" / "payers.toml").read_text())
    with pytest.raises(ConfigError) as info:
        program.settings()
    assert "carc" in str(info.value) and "NOT_A_GAP" in str(info.value)


def test_the_shipped_carc_defaults_name_only_known_gap_codes():
    known = {c.value for c in GapCode}
    table = config.packaged_carc()
    assert set(table) <= known
    assert table["AUTH_MISSING"] == "CO-197" and table["AUTH_EXHAUSTED"] == "CO-198"
    assert table["DUPLICATE_CHARGE"] == "CO-18" and table["SAME_DAY_CONFLICT"] == "CO-97"


# --- the ledger keeps authorizations ----------------------------------------------------------


def test_a_purge_keeps_an_old_authorizations_file_while_one_of_its_authorizations_lasts(tmp_path):
    ledger = Ledger(tmp_path / "ledger.db")
    try:
        run = ledger.start_run(D(2026, 6, 1), dry_run=True)
        for sha, end in (("a" * 64, D(2026, 8, 31)), ("b" * 64, D(2027, 1, 31))):
            report = FileReport(f"inbox/{sha[0]}.csv", "authorizations", FileStatus.READ, "", sha)
            ledger.record_file(report, f"{sha[0]}.csv", run, "reader",
                               ReadResult(authorizations=[auth(f"P-{sha[0]}", sha[0], end=end, as_of=None)]))
        ledger.finish_run(run, "ok")
        rows, _ = ledger.purge_before(D(2026, 10, 1), tmp_path / "inbox", dry_run=False)
        auths, shas = ledger.authorizations()
    finally:
        ledger.close()
    assert rows["authorizations"] == 1 and rows["files"] == 1
    assert set(auths) == {"P-b"} and shas == {"b" * 64}
    assert auths["P-b"][0].as_of == D(2026, 6, 1)  # the day of the run that read the file
