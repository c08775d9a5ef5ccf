"""Facilitators answer in Slack: buttons, thread notes, re-check, escalation before close of business.

End to end on the demo program: the real slack-sdk Web API client talks to the Web API stub,
and slack-sdk's built-in Socket Mode client to a loopback websocket stub that the Web API
stub's ``apps.connections.open`` points it to. Envelopes are delivered as Slack delivers them;
every wait is bounded, nothing is asserted about wall time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from attendbot import config, worker as worker_module
from attendbot.demo import _sheets
from attendbot.ledger import Ledger, exclusive
from attendbot.listener import Listener, refusal
from attendbot.outputs import slack_actions
from attendbot.outputs.report import json_document
from attendbot.run import run_day
from attendbot.samples.drafts import LineDraft
from attendbot.samples.signin_pdf import write_signin_pdf

from builders import demo_on_stub
from socket_mode_stub import SocketModeStub

CHICAGO = ZoneInfo("America/Chicago")
DAY = dt.date(2026, 11, 24)
MORNING = "9:00 AM Morning Process Group"
SKILLS = "1:00 PM Afternoon Skills Group"
ANGER = "9:00 AM Anger Management Group"
DANA, MARCUS, LEAD, STRANGER = "U01DANA", "U02MARCUS", "U09LEAD", "U77STRANGER"
TOKEN = re.compile(r"[0-9a-f]{16}")
PATIENT_WORDS = ("Núñez", "Nunez", "NUNEZ", "Okafor", "Brennan", "Castillo", "Hughes", "Lindqvist", "Fischer",
                 "Adeyemi", "Kowalski", "004823", "Jordan Fey")


class Clock:
    """A 'now' in the program's zone that a test moves."""

    def __init__(self, hhmm: str):
        self.set(hhmm)

    def set(self, hhmm: str) -> None:
        self.now = dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), tzinfo=CHICAGO)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def ws(stub):
    server = SocketModeStub(journal=stub.requests)
    stub.socket_mode = server
    yield server
    server.stop()


@pytest.fixture
def clock():
    return Clock("16:10")


@pytest.fixture
def live(tmp_path, monkeypatch, stub, clock):
    """The demo program on the stub, with a billing lead; its day reconciled at 16:05 and alerted."""
    root = tmp_path / "program"
    path = demo_on_stub(root, monkeypatch, stub.url, f'billing_leads = ["{LEAD}"]\nescalate_before_close_minutes = 45\n')

    class Program:
        config_path = path
        inbox = root / "inbox"

        def settings(self):
            return config.load(path)

        def run(self, hhmm="16:05", **kw):
            return run_day(self.settings(), DAY, dry_run=False,
                           now=dt.datetime.combine(DAY, dt.time.fromisoformat(hhmm), tzinfo=CHICAGO), **kw)

        def responses(self):
            ledger = Ledger(self.settings().db)
            try:
                return ledger.responses(DAY)
            finally:
                ledger.close()

        def gaps(self, status=None):
            ledger = Ledger(self.settings().db)
            try:
                return ledger.gap_rows(DAY, status)
            finally:
                ledger.close()

    program = Program()
    program.run()
    return program


@pytest.fixture
def listener(live, ws, clock):
    answers = Listener(live.settings(), app_token="xapp-1-test", clock=clock, ping_interval=0.25,
                       watch_seconds=0.2).start()
    ws.wait_connected()
    yield answers
    answers.stop(timeout=60)


# --- helpers --------------------------------------------------------------------------


def alert(stub, session, channel="C0GROUPS"):
    (message,) = [m for m in stub.posted(channel) if session in m["text"]]
    return message


def line_token(message, needle):
    """The token of the buttons under the bullet that says ``needle``."""
    blocks = message["blocks"]
    for i, block in enumerate(blocks):
        if block["type"] == "section" and needle in block["text"]["text"]:
            if "accessory" in block:
                return block["block_id"].removeprefix("attendbot:")
            return blocks[i + 1]["block_id"].removeprefix("attendbot:")
    raise AssertionError(f"no bullet says {needle!r}")


def session_token(message):
    return message["blocks"][-1]["block_id"].removeprefix("attendbot:")


def press(ws, user, message, token, answer, channel="C0GROUPS", time=None):
    if answer == "left_early":
        action = {"type": "timepicker", "action_id": "attendbot.left_early", "block_id": f"attendbot:{token}",
                  "selected_time": time, "initial_time": None, "action_ts": "1700000999.1"}
    else:
        action = {"type": "button", "action_id": f"attendbot.{answer}", "block_id": f"attendbot:{token}",
                  "value": token, "action_ts": "1700000999.1"}
    return ws.action(user, channel, message["ts"], action)


def wait_handled(listener, count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while listener.handled < count:
        assert time.monotonic() < deadline, f"the listener handled {listener.handled} of {count} envelopes"
        time.sleep(0.02)


def bullet(message, needle) -> str:
    return next(b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and needle in b["text"]["text"])


def rerouted(stub):
    return [m for m in stub.posted("C0BILLING") if ":reroute:" in m["metadata"]["event_payload"]["key"]]


def billing(stub):
    (summary,) = [m for m in stub.posted("C0BILLING") if m["metadata"]["event_payload"]["key"].endswith(":billing")]
    return json.dumps(summary["blocks"], ensure_ascii=False)


# --- the buttons -----------------------------------------------------------------------------


def test_every_alert_carries_buttons_whose_values_are_opaque_keys(live, stub):
    for message in stub.posted("C0GROUPS"):
        actions = [b for b in message["blocks"] if b["type"] == "actions"]
        accessories = [b for b in message["blocks"] if "accessory" in b]
        assert actions and actions[-1] is message["blocks"][-1]  # the session's own buttons close the alert
        assert [e["action_id"] for e in actions[-1]["elements"]] == ["attendbot.fixed", "attendbot.not_my_group"]
        for block in actions + accessories:
            assert TOKEN.fullmatch(block["block_id"].removeprefix("attendbot:"))
            for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
                if "value" in element:
                    assert TOKEN.fullmatch(element["value"])  # no charge id, MRN or name: an opaque key
    morning = alert(stub, MORNING)
    row = next(b for b in morning["blocks"] if b["type"] == "actions")
    assert [e["type"] for e in row["elements"]] == ["button", "button", "timepicker"]
    assert [e.get("text", e.get("placeholder"))["text"] for e in row["elements"]] == [
        "Fixed — re-check", "Did not attend", "Left early at…"]
    family = alert(stub, "Family Group")  # a session-wide gap: one Fixed — re-check beside it
    (section,) = [b for b in family["blocks"] if "accessory" in b]
    assert "C-1016 and C-1017" in section["text"]["text"] and section["accessory"]["action_id"] == "attendbot.fixed"
    blob = json.dumps([b for m in stub.posted("C0GROUPS") for b in m["blocks"] if b["type"] == "actions"])
    assert "C-10" not in blob and "0048" not in blob


def test_a_block_actions_payload_is_read_into_an_answer_and_anything_else_is_ignored():
    token = "0123456789abcdef"
    base = {"type": "block_actions", "user": {"id": DANA}, "channel": {"id": "C0GROUPS"},
            "container": {"message_ts": "1.2"}}
    pressed = slack_actions.parse_action({**base, "actions": [
        {"action_id": "attendbot.did_not_attend", "block_id": f"attendbot:{token}", "value": token}]})
    assert pressed == slack_actions.Action("did_not_attend", token, DANA, "C0GROUPS", "1.2")
    picked = slack_actions.parse_action({**base, "actions": [
        {"action_id": "attendbot.left_early", "block_id": f"attendbot:{token}", "selected_time": "14:10"}]})
    assert picked.answer == "left_early" and picked.time == "14:10" and picked.token == token
    for actions in ([{"action_id": "other_app.button", "value": token}],
                    [{"action_id": "attendbot.fixed", "value": "C-1003"}],  # not one of our tokens
                    [{"action_id": "attendbot.left_early", "block_id": f"attendbot:{token}", "selected_time": "2pm"}],
                    [{"action_id": "attendbot.delete_everything", "value": token}]):
        assert slack_actions.parse_action({**base, "actions": actions}) is None
    assert slack_actions.parse_action({"type": "view_submission"}) is None


def test_a_session_with_very_many_gaps_answers_the_first_lines_and_lists_the_rest_within_slack_limits():
    from attendbot.codes import GapCode
    from attendbot.config import SlackSection
    from attendbot.model import Charge, ChargeResult, DayResult, Evidence, Gap, SessionSummary
    from attendbot.outputs.slack_messages import MAX_ANSWERABLE_LINES, MAX_BLOCKS, build_messages

    label = "9:00 AM Morning Process Group"
    pairs = []
    for i in range(80):
        c = Charge(f"C-{3000 + i}", DAY, f"M-{5000 + i}", "Doe, Sam", "Medicaid", "H0015", 1, label)
        pairs.append((c, Gap(GapCode.MISSING_SIGNATURE, f"Line {i + 1} of the {label} sheet is unsigned.",
                             Evidence("signin.pdf", page=1, row=i + 1), c.charge_id, c.patient_id, label,
                             session_key=label, line=i + 1, facts=(("line", str(i + 1)),))))
    result = DayResult(DAY, [ChargeResult(c, [g], 1, label, session_key=label) for c, g in pairs],
                       [g for _, g in pairs], [], [SessionSummary(label, dt.time(9), dt.time(12), "Dana Whitfield",
                                                                  Evidence("signin.pdf", page=1), 80, 80, 0, 80, 180,
                                                                  key=label)], [])
    slack = SlackSection(billing_channel="C0B", facilitator_channel="C0G", facilitators={"Dana Whitfield": DANA})
    alert_message, _ = build_messages(result, [], slack, program="P")
    assert len(alert_message.blocks) <= MAX_BLOCKS
    rows = [b for b in alert_message.blocks if b["type"] == "actions"]
    assert len(rows) == MAX_ANSWERABLE_LINES + 1  # one row a line, then the session's own
    ids = [b["block_id"] for b in alert_message.blocks if "block_id" in b]
    assert len(ids) == len(set(ids))  # Slack refuses a message whose block ids repeat
    assert len(alert_message.targets) == 81 and alert_message.mention == DANA
    assert "more gaps — see the audit workbook" in json.dumps(alert_message.blocks, ensure_ascii=False)


def test_the_slack_app_manifest_asks_for_socket_mode_interactivity_and_the_scopes_the_bot_uses():
    from pathlib import Path

    manifest = (Path(__file__).resolve().parents[1] / "docs" / "slack-app-manifest.yaml").read_text()
    for needed in ("socket_mode_enabled: true", "interactivity:\n    is_enabled: true", "- chat:write",
                   "- channels:history", "- groups:history", "- message.channels", "- message.groups"):
        assert needed in manifest, needed
    assert "xoxb-" not in manifest.replace("`xoxb-…`", "") and "xapp-1" not in manifest


def test_an_envelope_is_acknowledged_before_it_is_queued_for_work(live):
    from slack_sdk.socket_mode.request import SocketModeRequest

    answers = Listener(live.settings(), app_token="xapp-1-test")
    seen = []

    class Client:
        def send_socket_mode_response(self, response):
            seen.append(("ack", response.envelope_id, answers._queue.qsize()))

    answers._on_request(Client(), SocketModeRequest("interactive", "env-9", {"type": "block_actions"}))
    assert seen == [("ack", "env-9", 0)]  # nothing was queued, let alone done, before the ack
    assert answers._queue.qsize() == 1


# --- answers over Socket Mode --------------------------------------------------------------------


def test_did_not_attend_is_recorded_shown_on_the_alert_and_proposed_as_a_void(live, stub, ws, listener, clock):
    morning = alert(stub, MORNING)
    envelope = press(ws, DANA, morning, line_token(morning, "Charge C-1007"), "did_not_attend")
    ws.wait_ack(envelope)
    wait_handled(listener, 1)

    (answer,) = live.responses()
    assert (answer["by"], answer["answer"], answer["charge_id"], answer["gap_code"], answer["session"]) == (
        DANA, "did_not_attend", "C-1007", "NO_EHR_ATTENDANCE", MORNING)
    assert answer["at"] == "2026-11-24T16:10:00-06:00"
    edited = alert(stub, MORNING)
    assert "Did not attend, says <@U01DANA> (4:10 PM)" in bullet(edited, "Charge C-1007")
    assert "Proposed voids" in billing(stub) and "C-1007 (9:00 AM Morning Process Group) — <@U01DANA>" in billing(stub)
    assert len(stub.posted("C0GROUPS")) == 4  # edited in place, nothing posted again

    outcome = live.run("16:12")
    (doc,) = json_document(outcome)["responses"]
    assert doc == {"gap_code": "NO_EHR_ATTENDANCE", "charge_id": "C-1007", "session": MORNING, "by": DANA,
                   "answer": "did_not_attend", "detail": doc["detail"], "at": "2026-11-24T16:10:00-06:00"}
    book = openpyxl.load_workbook(outcome.workbook)
    rows = list(book["Responses"].iter_rows(values_only=True))
    header, (row,) = rows[0], rows[1:]
    got = dict(zip(header, row))
    assert got["By"] == f"Dana Whitfield ({DANA})" and got["Answer"] == "did not attend"
    assert got["Charge ID"] == "C-1007" and got["Answered at"] == dt.datetime(2026, 11, 24, 16, 10)
    gaps = list(book["Gaps"].iter_rows(values_only=True))
    answered = [dict(zip(gaps[0], g)) for g in gaps[1:] if g[gaps[0].index("Charge ID")] == "C-1007"
                and g[0] == "NO_EHR_ATTENDANCE"]
    assert answered[0]["Answered in Slack"].startswith("did not attend — Dana Whitfield, 16:10")


def test_left_early_records_the_attested_time_out_beside_the_sheets(live, stub, ws, listener):
    morning = alert(stub, MORNING)
    press(ws, DANA, morning, line_token(morning, "Line 3 of"), "left_early", time="10:40")
    wait_handled(listener, 1)
    (answer,) = live.responses()
    assert (answer["answer"], answer["attested_time"], answer["sheet_time"]) == ("left_early", "10:40", "12:00")
    assert answer["detail"] == "left at 10:40 AM; the sign-in sheet says 12:00 PM"
    assert "Left early at 10:40 AM, attests <@U01DANA> (4:10 PM); the sheet says 12:00 PM" in bullet(
        alert(stub, MORNING), "Line 3 of")
    assert "C-1003 (9:00 AM Morning Process Group) — left at 10:40 AM, the sheet says 12:00 PM" in billing(stub)


def test_not_my_group_reroutes_the_alert_to_the_billing_channel_where_a_lead_can_answer(live, stub, ws, listener):
    anger = alert(stub, ANGER)
    press(ws, MARCUS, anger, session_token(anger), "not_my_group")
    wait_handled(listener, 1)
    (copy,) = rerouted(stub)
    assert "<@U02MARCUS> says this is not their group" in json.dumps(copy["blocks"])
    assert session_token(copy) == session_token(anger)  # the same buttons, for the billing lead
    assert "Not <@U02MARCUS>'s group (4:10 PM): re-routed to the billing channel" in json.dumps(alert(stub, ANGER)["blocks"])
    assert "Re-routed here" in billing(stub)

    press(ws, LEAD, copy, session_token(copy), "fixed", channel="C0BILLING")
    wait_handled(listener, 2)
    assert [(r["by"], r["answer"]) for r in live.responses()] == [(MARCUS, "not_my_group"), (LEAD, "fixed")]
    assert len(rerouted(stub)) == 1  # edited, never re-posted


def test_anyone_but_the_facilitator_or_a_billing_lead_is_refused_privately_and_nothing_is_recorded(
        live, stub, ws, listener):
    morning = alert(stub, MORNING)
    updates = len(stub.calls("chat.update"))
    press(ws, STRANGER, morning, line_token(morning, "Charge C-1002"), "fixed")
    press(ws, MARCUS, morning, session_token(morning), "not_my_group")  # another facilitator's alert
    wait_handled(listener, 2)
    assert live.responses() == []
    assert len(stub.calls("chat.update")) == updates
    assert [(e["user"], e["text"]) for e in stub.ephemeral] == [(STRANGER, refusal(DANA)), (MARCUS, refusal(DANA))]
    assert "Only <@U01DANA>, who ran this group, or a billing lead can answer this alert" in stub.ephemeral[0]["text"]


def test_each_envelope_is_acknowledged_before_its_work_is_done(live, stub, ws, listener):
    settings = live.settings()
    morning = alert(stub, MORNING)
    with exclusive(settings.db, 10, "held by the test"):  # the work cannot record anything while held
        envelope = press(ws, DANA, morning, line_token(morning, "Charge C-1007"), "did_not_attend")
        ws.wait_ack(envelope)
        assert live.responses() == [] and listener.handled == 0
        acked_at = next(i for i, (method, body) in enumerate(stub.requests)
                        if method == "ws:ack" and body["envelope_id"] == envelope)
    wait_handled(listener, 1)
    first_work = next(i for i, (method, _) in enumerate(stub.requests) if i > acked_at and method == "chat.update")
    assert acked_at < first_work
    assert len(live.responses()) == 1


def test_fixed_recheck_clears_a_gap_whose_file_was_fixed_and_keeps_one_that_was_not(live, stub, ws, listener):
    morning_sheet, family_sheet = _sheets()[0]  # Dana has line 3 signed and re-scans the roster
    morning_sheet.lines[2] = LineDraft("Liam Brennan", "stroke", "9:00", "12:00")
    write_signin_pdf(live.inbox / "rescan.pdf", [morning_sheet, family_sheet])

    morning = alert(stub, MORNING)
    press(ws, DANA, morning, line_token(morning, "Line 3 of"), "fixed")
    wait_handled(listener, 1)
    edited = alert(stub, MORNING)
    blocks = json.dumps(edited["blocks"])
    assert "~Line 3 of the 9:00 AM Morning Process Group sheet is unsigned" in blocks  # struck through
    assert not any(b["type"] == "section" and b["text"]["text"].startswith("• Line 3 of") for b in edited["blocks"])
    assert {g["code"] for g in live.gaps("open") if g["charge_id"] == "C-1003"} == set()
    assert stub.ephemeral[-1]["user"] == DANA and "fixed. Thank you" in stub.ephemeral[-1]["text"]

    press(ws, DANA, edited, line_token(edited, "Charge C-1002"), "fixed")  # the EHR note is still unsigned
    wait_handled(listener, 2)
    assert "NOTE_UNSIGNED" in {g["code"] for g in live.gaps("open") if g["charge_id"] == "C-1002"}
    assert "still open" in stub.ephemeral[-1]["text"] and "the session note is not signed" in stub.ephemeral[-1]["text"]
    assert "the re-check still finds it open" in bullet(alert(stub, MORNING), "Charge C-1002")
    assert "Marked fixed in Slack, but still open after the re-check" in billing(stub)
    assert "C-1002 (9:00 AM Morning Process Group) — NOTE_UNSIGNED; marked fixed by <@U01DANA>" in billing(stub)
    assert "C-1003" not in billing(stub).split("Marked fixed in Slack")[1].split("*")[0]
    assert [(r["answer"], r["charge_id"]) for r in live.responses()] == [("fixed", "C-1003"), ("fixed", "C-1002")]
    written = json.dumps([stub.ephemeral, stub.threads and list(stub.threads.values()),
                          [m["blocks"] for m in stub.posted()]], ensure_ascii=False)
    for word in PATIENT_WORDS:  # patient identity stays minimised in what the bot writes back
        assert word not in written, word


def test_thread_replies_are_kept_as_notes_from_events_and_from_each_pass(live, stub, ws, listener):
    morning = alert(stub, MORNING)
    said = stub.reply("C0GROUPS", morning["ts"], DANA, "Line 10 is a visitor, not a patient.")
    ws.message_event({"channel": "C0GROUPS", "user": DANA, "text": said["text"], "ts": said["ts"],
                      "thread_ts": morning["ts"]})
    ws.message_event({"channel": "C0GROUPS", "user": DANA, "text": "top-level chatter", "ts": "1700009999.1"})
    ws.message_event({"channel": "C0GROUPS", "bot_id": "B1", "text": "a bot", "ts": "1700009999.2",
                      "thread_ts": morning["ts"]})
    wait_handled(listener, 3)
    (note,) = live.responses()
    assert (note["answer"], note["by"], note["detail"], note["session"]) == (
        "note", DANA, "Line 10 is a visitor, not a patient.", MORNING)

    stub.reply("C0GROUPS", morning["ts"], LEAD, "Billing will hold C-1002 until the note is signed.")
    outcome = live.run("16:11")  # the next pass reads the thread (conversations.replies)
    assert stub.calls("conversations.replies")
    notes = [r for r in outcome.responses if r.answer == "note"]
    assert [(n.by, n.detail) for n in notes] == [(DANA, "Line 10 is a visitor, not a patient."),
                                                 (LEAD, "Billing will hold C-1002 until the note is signed.")]
    live.run("16:12")
    assert len(live.responses()) == 2  # each reply kept once


def test_unanswered_blocking_gaps_are_raised_once_in_the_thread_before_close_and_listed_at_close(
        live, stub, ws, listener, monkeypatch):
    morning = alert(stub, MORNING)
    press(ws, DANA, morning, line_token(morning, "Charge C-1007"), "did_not_attend")  # answered
    morning_sheet, family_sheet = _sheets()[0]
    morning_sheet.lines[2] = LineDraft("Liam Brennan", "stroke", "9:00", "12:00")
    write_signin_pdf(live.inbox / "rescan.pdf", [morning_sheet, family_sheet])
    wait_handled(listener, 1)  # its re-run read the re-scan: line 3 (C-1003) is fixed

    class NoRun:
        def __call__(self, *args, **kwargs):
            return None

    tick_clock = Clock("16:14")
    worker = worker_module.Worker(live.settings(), clock=tick_clock, run=NoRun())
    worker.tick()
    assert stub.thread_replies("C0GROUPS", morning["ts"]) == []  # 16:14 is before 17:00 minus 45 minutes

    tick_clock.set("16:15")
    worker.tick()
    (raised,) = stub.thread_replies("C0GROUPS", morning["ts"])
    assert raised["text"].startswith("<@U01DANA> close of business is at 5:00 PM")
    assert "Charge C-1002: the session note is not signed" in raised["text"]
    assert "C-1007" not in raised["text"] and "Line 3 of" not in raised["text"]  # answered; fixed
    assert "Line 10" not in raised["text"]  # an unmatched name does not block billing
    skills = alert(stub, SKILLS)
    assert stub.thread_replies("C0GROUPS", skills["ts"])[0]["text"].startswith("<@U02MARCUS>")
    family = alert(stub, "Family Group")  # Priya has no Slack id in config: the billing leads are mentioned
    assert stub.thread_replies("C0GROUPS", family["ts"])[0]["text"].startswith("<@U09LEAD> close of business")

    tick_clock.set("16:40")
    worker.tick()
    assert len(stub.thread_replies("C0GROUPS", morning["ts"])) == 1  # raised once

    tick_clock.set("17:00")
    worker.tick()
    summary = billing(stub)
    assert "Still open at close of business (5:00 PM), by facilitator" in summary
    assert ("<@U01DANA> — 9:00 AM Morning Process Group: 2 gaps open on charges C-1002 and C-1007 "
            "(1 answered in Slack)") in summary
    assert "<@U02MARCUS> — 1:00 PM Afternoon Skills Group: 3 gaps open on charges C-1013 and C-1014" in summary
    assert "Priya Raman — 12:30 PM Family Group: 2 gaps open on charges C-1016 and C-1017" in summary
    live.run("17:30", alerts=False)  # a later run of the day keeps saying it
    assert "Still open at close of business" in billing(stub)


def test_the_listener_reconnects_after_the_connection_drops(live, stub, ws, listener):
    opened = len(stub.calls("apps.connections.open"))
    ws.drop()
    ws.wait_connected(count=2, timeout=30)
    assert len(stub.calls("apps.connections.open")) > opened  # a fresh URL for the new connection
    morning = alert(stub, MORNING)
    envelope = press(ws, DANA, morning, line_token(morning, "Charge C-1007"), "did_not_attend")
    ws.wait_ack(envelope, timeout=30)
    wait_handled(listener, 1)
    assert [r["answer"] for r in live.responses()] == ["did_not_attend"]


def test_serve_listens_only_with_an_app_token_and_a_bot_token(live, ws, monkeypatch):
    settings = live.settings()
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert worker_module.start_listener(settings, Clock("16:10")) is None
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-test")
    answers = worker_module.start_listener(settings, Clock("16:10"))
    try:
        assert answers is not None
        ws.wait_connected()
    finally:
        answers.stop(timeout=30)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    assert worker_module.start_listener(config.load(live.config_path), Clock("16:10")) is None


def test_stopping_serve_stops_the_listener(live, ws, monkeypatch):
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-test")
    stop = threading.Event()
    done = threading.Thread(target=worker_module.serve, args=(live.settings(),),
                            kwargs={"clock": lambda: dt.datetime(2026, 11, 24, 8, 0, tzinfo=CHICAGO),
                                    "stop": stop, "interval": 0.05}, daemon=True)
    done.start()
    ws.wait_connected()
    stop.set()
    done.join(60)
    assert not done.is_alive()
