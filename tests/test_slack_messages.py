"""Slack payloads built from a hand-made DayResult: content, PHI minimisation, Slack's limits."""

from __future__ import annotations

import dataclasses

import datetime as dt
import json
import re

import pytest

from attendbot.codes import GapCode as G
from attendbot.config import SlackSection
from attendbot.messages import gap_facts, gap_message, no_show_policy
from attendbot.model import (
    Charge,
    ChargeResult,
    DayResult,
    Evidence,
    FileReport,
    Gap,
    NoShow,
    SessionSummary,
)
from attendbot.outputs import slack_messages
from attendbot.outputs.slack_messages import (
    MAX_BLOCKS,
    MAX_FALLBACK_CHARS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    OutgoingMessage,
    build_messages,
    initials,
)

DAY = dt.date(2026, 11, 24)
MORNING = "9:00 AM Morning Process Group"
AFTERNOON = "1:00 PM Afternoon Skills Group"
EVENING = "6:00 PM Evening Relapse Prevention"
SIGNIN = "inbox/2026-11-24/signin.pdf"
CHARGES = "inbox/2026-11-24/charges.xlsx"
PROGRAM = "Riverbend Recovery IOP"

PATIENTS = {  # patient id -> name, as the charge export writes it
    "M-0204": "Núñez, María",
    "M-0311": "Jonah Okafor",
    "M-0417": "Lind, Tova",
    "M-0520": "Park, Jo",
    "M-0633": "Quill, Ada",
}
NAME_PARTS = ["Núñez", "María", "Nunez", "Maria", "Okafor", "Jonah", "Lind", "Tova", "Park", "Quill", "Ada"]


def slack(**kw) -> SlackSection:
    return SlackSection(billing_channel="C0BILLING", facilitator_channel="C0GROUPS",
                        facilitators={"Dana  whitfield": "U01DANA"}, **kw)


def charge(charge_id, patient_id, session, *, code="H0015", payer="Medicaid", units=1, amount=250.0):
    return Charge(charge_id=charge_id, service_date=DAY, patient_id=patient_id,
                  patient_name=PATIENTS.get(patient_id, "Doe, Sam"), payer=payer, code=code, units=units,
                  session=session, amount=amount, evidence=Evidence(CHARGES, row=2))


def gap(code, c: Charge | None, session, *, patient_id=None, line=None, **values) -> Gap:
    """A gap as the rules make it, with the real message template."""
    values.setdefault("session", session)
    if c is not None:
        values = {"charge_id": c.charge_id, "code": c.code, "payer": c.payer, **values}
    if line is not None:
        values["line"] = line
    evidence = Evidence(SIGNIN, page=1, row=line) if line else Evidence(SIGNIN, page=1)
    return Gap(code=code, message=gap_message(code, **values), evidence=evidence,
               charge_id=c.charge_id if c else None, patient_id=c.patient_id if c else patient_id,
               session=session, key=f"line {line}" if line and c is None else "", session_key=session,
               line=line, facts=gap_facts(code, values))


def summary(label, facilitator, charges) -> SessionSummary:
    return SessionSummary(label, dt.time(9), dt.time(12), facilitator, Evidence(SIGNIN, page=1),
                          charges=charges, attendees=charges, signed_lines=charges, sheet_lines=charges,
                          minutes=180, key=label)


def day_result(charge_gaps: list[tuple[Charge, list[Gap]]], other_gaps=(), sessions=(), *, supported=None,
               unknown_payers=(), no_shows=()) -> DayResult:
    charges = [ChargeResult(c, gaps, (supported or {}).get(c.charge_id, c.units), c.session, session_key=c.session,
                            no_show_fee=50.0 if any(g.code == G.NO_SHOW for g in gaps) and c.payer == "Self Pay"
                            else None)
               for c, gaps in charge_gaps]
    every = [g for _, gaps in charge_gaps for g in gaps] + list(other_gaps)
    return DayResult(day=DAY, charges=charges, gaps=every, no_shows=list(no_shows), sessions=list(sessions),
                     unknown_payers=list(unknown_payers))


def build_day() -> tuple[DayResult, list[FileReport]]:
    """Morning: facilitator gaps (unsigned line, unsigned facilitator footer on every charge), a billing gap.
    Afternoon: billing gaps only. Evening: facilitator unknown to config, an unmatched sheet name."""
    c1 = charge("C-1001", "M-0204", MORNING)
    c2 = charge("C-1002", "M-0311", MORNING, code="H2019", units=8, amount=160.0)
    c3 = charge("C-1003", "M-0417", MORNING, payer="Self Pay", amount=80.0)
    c4 = charge("C-1004", "M-0520", AFTERNOON, payer="Acme Health Plan", amount=60.0)
    c5 = charge("C-1005", "M-0633", EVENING)
    c6 = charge("C-1006", "M-0633", AFTERNOON, amount=40.0)
    c7 = charge("C-1007", "M-0520", AFTERNOON, code="H2019", units=8, amount=160.0)
    footer = [gap(G.FACILITATOR_SIGNATURE_MISSING, c, MORNING) for c in (c1, c2)]
    result = day_result(
        [
            (c1, [gap(G.MISSING_SIGNATURE, c1, MORNING, line=4), footer[0]]),
            (c2, [gap(G.UNITS_EXCEED_TIME, c2, MORNING, units=8, basis="90 minutes support 6", supported=6), footer[1]]),
            (c3, [gap(G.NO_SHOW, c3, MORNING, policy=no_show_policy(50.0))]),
            (c4, [gap(G.INVALID_NPI, c4, AFTERNOON, detail="is missing")]),
            (c5, [gap(G.NOTE_UNSIGNED, c5, EVENING, note="not signed")]),
            (c6, []),
            (c7, [gap(G.UNITS_EXCEED_TIME, c7, AFTERNOON, units=8, basis="90 minutes support 6", supported=6)]),
        ],
        other_gaps=[
            gap(G.UNMATCHED_SIGNIN_NAME, None, EVENING, line=7, detail="matches no scheduled or EHR patient"),
            gap(G.UNBILLED_ATTENDANCE, None, AFTERNOON, patient_id="M-0204", how="signed line 3"),
            Gap(G.UNREADABLE_FILE, gap_message(G.UNREADABLE_FILE, file="scan.pdf p.1", reason="no text layer",
                                               action="re-scan it with OCR"),
                Evidence("inbox/2026-11-24/scan.pdf", page=1), key="scan.pdf p.1"),
        ],
        sessions=[summary(MORNING, "Dana Whitfield", 3), summary(AFTERNOON, "Dana Whitfield", 3),
                  summary(EVENING, "Pat Rowe", 1)],
        supported={"C-1002": 6, "C-1003": 0, "C-1007": 6},
        unknown_payers=["Acme Health Plan"],
        no_shows=[NoShow("C-1003", "M-0417", MORNING, "Self Pay", "no_show", "fee", 50.0)],
    )
    files = [
        FileReport(CHARGES, "charges", "read", "6 charges"),
        FileReport("inbox/2026-11-24/scan.pdf", "unknown", "unreadable", "page 1 has no text layer (needs OCR)"),
    ]
    return result, files


def messages(identity="none", **kw) -> list[OutgoingMessage]:
    result, files = build_day()
    return build_messages(result, files, slack(patient_identity=identity), program=PROGRAM, **kw)


def by_kind(msgs) -> tuple[dict[str, OutgoingMessage], OutgoingMessage]:
    sessions = {m.session: m for m in msgs if m.kind == "session"}
    (billing,) = [m for m in msgs if m.kind == "billing"]
    return sessions, billing


def texts(message: OutgoingMessage) -> list[str]:
    """Every text string in the blocks."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.blocks)
    return out


def section_texts(message: OutgoingMessage) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]


def read_texts(message: OutgoingMessage) -> str:
    """What a person reads in the blocks: headers, sections and context lines (not the buttons)."""
    out = []
    for b in message.blocks:
        if b["type"] in ("header", "section"):
            out.append(b["text"]["text"])
        elif b["type"] == "context":
            out.extend(e["text"] for e in b["elements"])
    return "\n".join(out)


def body(message: OutgoingMessage) -> str:
    return "\n".join(texts(message))


# --- which messages, to whom ----------------------------------------------------------


def test_each_session_with_facilitator_gaps_gets_one_alert_and_a_billing_only_session_gets_none():
    msgs = messages()
    sessions, billing = by_kind(msgs)
    assert list(sessions) == [MORNING, EVENING]
    assert all(m.channel == "C0GROUPS" for m in sessions.values())
    assert billing.channel == "C0BILLING"
    assert msgs[-1] is billing


def test_message_keys_name_the_day_and_the_session_and_do_not_change_between_runs():
    first, second = messages(), messages()
    assert [m.key for m in first] == [
        f"2026-11-24:session:{MORNING}", f"2026-11-24:session:{EVENING}", "2026-11-24:billing"]
    assert [m.as_dict() for m in first] == [m.as_dict() for m in second]


def test_the_alert_mentions_the_facilitator_by_user_id_whatever_the_case_and_spacing_in_config():
    sessions, _ = by_kind(messages())
    morning = sessions[MORNING]
    assert "<@U01DANA>" in body(morning)
    assert "<@U01DANA>" in morning.text
    assert "Dana Whitfield" not in body(morning)


def test_an_unknown_facilitator_is_named_in_plain_text_and_listed_in_the_billing_summary():
    sessions, billing = by_kind(messages())
    evening = sessions[EVENING]
    assert "Facilitator: Pat Rowe\n" in body(evening)
    assert "Slack id" not in body(evening) + evening.text  # an admin problem: the billing summary's only
    assert "<@" not in json.dumps(evening.blocks)
    summary_text = body(billing)
    assert "Facilitators with no Slack id in config" in summary_text
    assert f"Pat Rowe — {EVENING}" in summary_text
    assert "Dana" not in summary_text


def test_a_session_whose_facilitator_is_not_named_still_gets_an_alert_that_says_so():
    result, files = build_day()
    result.sessions[2].facilitator = None
    sessions, billing = by_kind(build_messages(result, files, slack(), program=PROGRAM))
    assert "no facilitator named" in body(sessions[EVENING])
    assert f"(no facilitator named) — {EVENING}" in body(billing)


# --- what a session alert says ----------------------------------------------------------


def test_a_session_level_gap_on_several_charges_becomes_one_line_listing_the_charge_ids():
    sessions, _ = by_kind(messages())
    lines = [ln for t in section_texts(sessions[MORNING]) for ln in t.splitlines() if ln.startswith("• ")]
    footer = [ln for ln in lines if "facilitator signature" in ln]
    assert footer == [f"• Charges C-1001 and C-1002: the {MORNING} sheet has no facilitator signature — "
                      "sign the sheet's footer and re-scan it. _(signin.pdf, page 1)_"]
    assert len(lines) == 2  # the unsigned line 4, and the footer once
    assert any(ln.startswith(f"• Line 4 of the {MORNING} sheet is unsigned (charge C-1001)") for ln in lines)


def test_the_alert_counts_charges_on_hold_and_only_counts_the_billing_items():
    sessions, _ = by_kind(messages())
    morning = body(sessions[MORNING])
    bullets = [ln for ln in morning.splitlines() if ln.startswith("• ")]
    assert len(bullets) == 2  # issue 10: the count is the bullets listed (three gaps, two problems)
    assert "2 items to fix · 2 of 3 charges on hold until fixed" in morning
    assert "+ 2 billing items for this session in the audit workbook" in morning
    assert "units of H2019 charged" not in morning  # UNITS_EXCEED_TIME is billing's, not listed
    assert "did not attend" not in morning  # nor is the no-show


def test_a_header_names_the_day_and_each_alert_has_a_plain_text_fallback():
    for m in messages():
        assert m.blocks[0]["type"] == "header"
        assert "2026-11-24" in m.blocks[0]["text"]["text"]
        assert m.text and "2026-11-24" in m.text


# --- the billing summary ----------------------------------------------------------------


def test_the_billing_summary_counts_dispositions_and_dollars_at_risk():
    _, billing = by_kind(messages())
    text = body(billing)
    assert f"*{PROGRAM}* · 2026-11-24" in text
    assert "*7 charges:* 1 ready · 1 adjust · 4 hold · 1 void" in text
    # hold: C-1001 250 + C-1002 160 + C-1004 60 + C-1005 250; void: C-1003 80; adjust C-1007: 160 * 2/8 = 40
    assert "*At risk:* $720.00 on hold · $80.00 void · $40.00 adjusted" in text
    assert "No-show fees to bill instead: $50.00" in text


def test_the_billing_summary_counts_billing_owned_gaps_by_code():
    _, billing = by_kind(messages())
    text = body(billing)
    for code, n in [("INVALID_NPI", 1), ("NO_SHOW", 1), ("UNITS_EXCEED_TIME", 2), ("UNBILLED_ATTENDANCE", 1),
                    ("UNREADABLE_FILE", 1)]:
        assert f"• `{code}` {n}" in text
    assert "MISSING_SIGNATURE" not in text  # facilitator-owned: in the alerts
    assert "Facilitator alerts: 2 sessions, 4 items." in text  # the bullets listed (issue 10)
    assert "Facilitator items with no session" not in text  # the unreadable page is billing's
    assert "7 charges: 1 ready · 1 adjust · 4 hold · 1 void" in billing.text
    assert "INVALID_NPI 1; NO_SHOW 1" in billing.text


def test_the_billing_summary_lists_unreadable_files_and_unknown_payers():
    _, billing = by_kind(messages())
    text = body(billing)
    assert "• scan.pdf — page 1 has no text layer (needs OCR)" in text
    assert "inbox/2026-11-24/scan.pdf" not in text  # the base name only
    assert "reconciled under the defaults" in text and "• Acme Health Plan" in text


def test_an_unreadable_page_of_a_file_read_otherwise_is_listed_with_its_message():
    result, files = build_day()
    result.gaps.append(Gap(G.UNREADABLE_FILE, gap_message(G.UNREADABLE_FILE, file="signin.pdf p.2",
                                                          reason="no text layer", action="re-scan it with OCR"),
                           Evidence(SIGNIN, page=2), key="signin.pdf p.2"))
    _, billing = by_kind(build_messages(result, files, slack(), program=PROGRAM))
    text = body(billing)
    assert "• signin.pdf p.2 could not be read: no text layer — re-scan it with OCR" in text
    assert "scan.pdf p.1" not in text  # that file is already listed by name
    assert "• `UNREADABLE_FILE` 2" in text


def test_a_missing_note_status_column_is_said_once_in_the_billing_summary():
    from attendbot.messages import NO_NOTE_STATUS

    result, files = build_day()
    result = dataclasses.replace(result, notes=(NO_NOTE_STATUS,))
    _, billing = by_kind(build_messages(result, files, slack(), program=PROGRAM))
    text = body(billing)
    assert "*Not checked today:*" in text and text.count("no note-status column") == 1
    assert "no note-status column" in billing.text
    _, usual = by_kind(messages())
    assert "Not checked today" not in body(usual)


def test_a_charge_adjusted_to_another_code_is_listed_with_the_code_to_bill():
    c1 = charge("C-3001", "M-0204", "2:00 PM Individual Therapy", code="90837", amount=160.0)
    mismatch = gap(G.CODE_TIME_MISMATCH, c1, "2:00 PM Individual Therapy", minutes=45, required=53,
                   supported_code="90834")
    result = day_result([(c1, [mismatch])])
    result.charges[0].supported_code = "90834"
    _, billing = by_kind(build_messages(result, [], slack(), program=PROGRAM))
    assert "• C-3001: 90837 → 90834" in body(billing)
    assert "1 adjust" in billing.text


def test_a_facilitator_gap_with_no_session_reaches_the_billing_summary():
    result, files = build_day()
    result.gaps.append(Gap(G.UNMATCHED_SIGNIN_NAME, "Line 2 of an unnamed sheet matches no patient — check it.",
                           Evidence(SIGNIN, page=3, row=2), session=None))
    msgs = build_messages(result, files, slack(), program=PROGRAM)
    assert len(msgs) == 3  # no alert for "no session"
    assert "*Facilitator items with no session:*\n• Line 2 of an unnamed sheet" in body(msgs[-1])


@pytest.mark.parametrize(("before", "expected"), [
    (True, "Alerts went out before close of business."),
    (False, "Alerts went out *after* close of business."),
])
def test_the_billing_summary_says_whether_alerts_went_out_before_close_of_business(before, expected):
    _, billing = by_kind(messages(sent_before_close=before))
    assert expected in body(billing)


def test_the_billing_summary_says_nothing_about_close_of_business_when_not_told():
    _, billing = by_kind(messages())
    assert "close of business" not in body(billing)


def test_a_day_without_gaps_still_gets_a_billing_summary_saying_all_charges_are_ready():
    c1 = charge("C-2001", "M-0204", MORNING)
    c2 = charge("C-2002", "M-0311", MORNING)
    result = day_result([(c1, []), (c2, [])], sessions=[summary(MORNING, "Dana Whitfield", 2)])
    msgs = build_messages(result, [], slack(), program=PROGRAM)
    assert [m.kind for m in msgs] == ["billing"]
    assert "All 2 charges ready." in body(msgs[0])
    assert "At risk" not in body(msgs[0])
    assert "All 2 charges ready." in msgs[0].text


def test_a_day_without_charges_says_so():
    msgs = build_messages(DayResult(DAY, [], [], [], [], []), [], slack(), program=PROGRAM)
    assert [m.kind for m in msgs] == ["billing"]
    assert "Nothing was checked: no charge export covers this day." in body(msgs[0])  # issue 10: no all-clear


# --- patient identity -------------------------------------------------------------------

INITIALS = re.compile(r"\b[A-Z]\.\s?[A-Z]\.")


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_in_none_mode_no_payload_names_or_identifies_a_patient(ensure_ascii):
    for m in messages("none"):
        payload = json.dumps(m.as_dict(), ensure_ascii=ensure_ascii)
        for part in NAME_PARTS:
            assert part not in payload, (m.key, part)
        for patient_id in PATIENTS:
            assert patient_id not in payload, (m.key, patient_id)
            assert patient_id[-4:] not in payload, (m.key, patient_id)
        assert not INITIALS.search(payload), m.key


def test_none_is_the_default_identity_mode():
    assert SlackSection().patient_identity == "none"


def test_in_initials_mode_a_line_shows_initials_and_the_last_four_of_the_id_but_not_the_name():
    sessions, _ = by_kind(messages("initials"))
    morning = body(sessions[MORNING])
    assert "sheet is unsigned (charge C-1001) — have that patient sign today's roster. (M.N., …0204)" in morning
    assert "(M.N., …0204; J.O., …0311)" in morning  # the collapsed footer line, both patients
    payload = json.dumps([m.as_dict() for m in sessions.values()], ensure_ascii=False)
    for part in NAME_PARTS:
        assert part not in payload
    assert "M-0204" not in payload


def test_in_full_mode_a_line_shows_the_patient_name_and_id():
    sessions, _ = by_kind(messages("full"))
    morning = body(sessions[MORNING])
    assert "(Núñez, María, M-0204)" in morning
    assert "Jonah Okafor, M-0311" in morning


def test_a_gap_without_a_charge_shows_only_what_is_known_of_the_id():
    result, files = build_day()
    extra = gap(G.UNMATCHED_SIGNIN_NAME, None, EVENING, patient_id="M-0999", line=8,
                detail="matches more than one patient")
    result.gaps.append(extra)
    for mode, shown in [("initials", "(…0999)"), ("full", "(M-0999)")]:
        sessions, _ = by_kind(build_messages(result, files, slack(patient_identity=mode), program=PROGRAM))
        assert f"Line 8 of the {EVENING} sheet matches more than one patient — check the printed name. {shown}" \
            in body(sessions[EVENING])


@pytest.mark.parametrize(("name", "expected"), [
    ("Núñez, María", "M.N."), ("María Núñez", "M.N."), ("  núñez ,  maría  josé ", "M.N."),
    ("Ana de la Cruz", "A.C."), ("Cher", "C."), ("", ""),
])
def test_initials_are_first_name_then_last_name_in_either_order(name, expected):
    assert initials(name) == expected


# --- Slack limits ------------------------------------------------------------------------


def many_gaps(n: int, label: str = MORNING) -> DayResult:
    pairs = []
    for i in range(n):
        c = charge(f"C-{3000 + i}", f"M-{5000 + i}", label)
        pairs.append((c, [gap(G.MISSING_SIGNATURE, c, label, line=i + 1)]))
    return day_result(pairs, sessions=[summary(label, "Dana Whitfield", n)])


def assert_within_limits(m: OutgoingMessage) -> None:
    assert len(m.blocks) <= MAX_BLOCKS
    for b in m.blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= MAX_SECTION_CHARS
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= MAX_HEADER_CHARS
        if b["type"] == "context":
            assert all(len(e["text"]) <= MAX_SECTION_CHARS for e in b["elements"])
    assert len(m.text) <= MAX_FALLBACK_CHARS


def listed_and_counted(m: OutgoingMessage) -> tuple[int, int]:
    lines = [ln for t in section_texts(m) for ln in t.splitlines() if ln.startswith("• ")]
    more = re.search(r"… and (\d+) more gaps? — see the audit workbook", body(m))
    return len(lines), int(more.group(1)) if more else 0


def test_eighty_gaps_in_one_session_stay_within_slack_limits_and_every_gap_is_listed_or_counted():
    (alert, billing) = build_messages(many_gaps(80), [], slack(), program=PROGRAM)
    for m in (alert, billing):
        assert_within_limits(m)
    listed, counted = listed_and_counted(alert)
    assert counted > 0
    assert listed + counted == 80
    assert max(len(t.splitlines()) for t in section_texts(alert)) > 1  # several lines a block


def test_when_every_line_is_long_the_fifty_block_limit_still_holds(monkeypatch):
    monkeypatch.setattr(slack_messages, "MAX_LISTED_LINES", 1000)
    label = "9:00 AM " + "Very Long Group Name " * 100  # ~2,100 characters: one line a block
    (alert, _) = build_messages(many_gaps(80, label), [], slack(), program=PROGRAM)
    assert_within_limits(alert)
    assert len(alert.blocks) == MAX_BLOCKS
    listed, counted = listed_and_counted(alert)
    assert counted > 0 and listed + counted == 80
    assert alert.text.endswith("(truncated — see the audit workbook)")


def test_a_session_level_gap_on_very_many_charges_is_one_line_that_counts_the_rest():
    pairs = []
    for i in range(80):
        c = charge(f"C-{4000 + i}", f"M-{6000 + i}", MORNING)
        pairs.append((c, [gap(G.NO_SIGNIN_SHEET, c, MORNING)]))
    result = day_result(pairs, sessions=[summary(MORNING, "Dana Whitfield", 80)])
    (alert, _) = build_messages(result, [], slack(), program=PROGRAM)
    lines = [ln for t in section_texts(alert) for ln in t.splitlines() if ln.startswith("• ")]
    assert len(lines) == 1
    assert lines[0].startswith("• Charges C-4000, C-4001,") and "C-4014 and 65 more:" in lines[0]
    assert "1 item to fix · 80 of 80 charges on hold" in body(alert)  # one bullet (issue 10)


def test_long_lists_in_the_billing_summary_are_cut_and_counted():
    result, _ = build_day()
    files = [FileReport(f"inbox/scan-{i}.pdf", "unknown", "unreadable", "no text layer " * 40)
             for i in range(200)]
    _, billing = by_kind(build_messages(result, files, slack(), program=PROGRAM))
    assert_within_limits(billing)
    assert re.search(r"… and \d+ more — see the audit workbook", body(billing))


def test_oversized_names_from_inputs_are_clipped_to_fit_their_blocks():
    result, files = build_day()
    result.unknown_payers.append("Acme & Sons " * 400)
    result.sessions[0].facilitator = "Dana Whitfield the Very Long " * 200
    for m in build_messages(result, files, slack(), program="Riverbend " * 600):
        assert_within_limits(m)


# --- escaping -----------------------------------------------------------------------------


def test_session_names_with_angle_brackets_and_ampersands_are_escaped():
    label = "9:00 AM <!channel> Anger & Stress <Group>"
    result = many_gaps(2, label)
    result.sessions[0].facilitator = "Lee <Temp> & Co"
    msgs = build_messages(result, [], slack(), program="River <b> & Co")
    alert, billing = msgs
    for m in msgs:
        for text in [*texts(m), m.text]:
            assert "<!channel>" not in text and "<Group>" not in text and "<b>" not in text
            assert not re.search(r"&(?!amp;|lt;|gt;)", text), text
            assert re.sub(r"<@[A-Z0-9]+>", "", text).count("<") == 0
    assert "&lt;!channel&gt; Anger &amp; Stress &lt;Group&gt;" in body(alert)
    assert "Facilitator: Lee &lt;Temp&gt; &amp; Co\n" in body(alert)
    assert "*River &lt;b&gt; &amp; Co*" in body(billing)
    assert alert.key == f"2026-11-24:session:{label}"  # the key keeps the raw label


def test_a_mention_is_the_only_angle_bracket_markup_in_an_alert():
    sessions, _ = by_kind(messages())
    raw = json.dumps(sessions[MORNING].blocks)
    assert re.findall(r"<[^>]*>", raw) == ["<@U01DANA>"]


def test_every_count_in_the_messages_counts_exactly_what_they_list():
    """Issue 10: "N items to fix" is the bullets shown; the billing summary's facilitator
    alerts total is the sum of the alerts' bullets; the plain text holds every line the blocks do."""
    msgs = messages()
    sessions, billing = by_kind(msgs)
    total = 0
    for message in sessions.values():
        text = read_texts(message)
        bullets = [ln for ln in text.splitlines() if ln.startswith("• ")]
        assert f"{len(bullets)} item{'s' if len(bullets) != 1 else ''} to fix" in text
        assert message.items == len(bullets)
        total += len(bullets)
        for ln in text.splitlines()[1:]:
            assert ln.replace("*", "") in message.text.replace("*", "") or ln.startswith("Facilitator:") \
                or ln.startswith(("Attendance gaps", "9:00", "1:00", "6:00")) or "items to fix" in ln, ln
    summary = body(billing)
    assert f"Facilitator alerts: {len(sessions)} sessions, {total} items." in summary
