"""Slack delivery end to end: the real slack-sdk client against a local stub of the Web API."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

from attendbot import config
from attendbot.ledger import Ledger
from attendbot.run import run_day
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.signin_pdf import write_signin_pdf

from builders import demo_on_stub


DAY = dt.date(2026, 11, 24)
AFTERNOON = dt.datetime(2026, 11, 24, 16, 30, tzinfo=ZoneInfo("America/Chicago"))
PATIENT_WORDS = ("Núñez", "Nunez", "NUNEZ", "Okafor", "Brennan", "Castillo", "Hughes", "Lindqvist", "Fischer",
                 "Adeyemi", "Kowalski", "Silva", "Dubois", "Ngata", "Tran", "Abernathy", "Mbeki", "Reyes", "Vance",
                 "Jordan Fey", "0048")


@pytest.fixture
def live(tmp_path, monkeypatch, stub):
    """The demo program, configured to talk to the stub with a token."""
    config_path = demo_on_stub(tmp_path / "program", monkeypatch, stub.url)

    class Program:
        path = config_path

        def settings(self):
            return config.load(config_path)

        def run(self, now=AFTERNOON, **kwargs):
            return run_day(self.settings(), DAY, dry_run=False, now=now, **kwargs)

        def outbox(self):
            ledger = Ledger(self.settings().db)
            try:
                return ledger.outbox(DAY)
            finally:
                ledger.close()

    return Program()


def set_identity(program, mode):
    text = program.path.read_text().replace('patient_identity = "none"', f'patient_identity = "{mode}"')
    program.path.write_text(text)


def test_one_alert_per_session_with_facilitator_gaps_and_one_billing_summary(live, stub):
    outcome = live.run()
    assert outcome.slack.mode == "live"
    groups, billing = stub.posted("C0GROUPS"), stub.posted("C0BILLING")
    assert len(groups) == 4 and len(billing) == 1
    texts = [m["text"] for m in groups]
    assert any("<@U01DANA>" in t and "Morning Process Group" in t for t in texts)
    assert any("<@U02MARCUS>" in t and "Afternoon Skills Group" in t for t in texts)
    assert any("Family Group on 2026-11-24 — Priya Raman:" in t and "<@" not in t for t in texts)
    assert "Slack id" not in " ".join(texts)  # an admin problem: the billing summary's only
    assert ("Line 3 of the 9:00 AM Morning Process Group sheet is unsigned, but the EHR marks the patient present "
            "(charge C-1003)") in " ".join(texts)
    assert "Priya Raman" in billing[0]["text"]  # the unknown facilitator is flagged for the billing lead
    assert "before close of business" in json.dumps(billing[0]["blocks"])
    for message in groups + billing:
        assert len(message["blocks"]) <= 50
        assert message["metadata"]["event_type"] == "attendbot_alert"
    assert {row["status"] for row in live.outbox().values()} == {"sent"}


@pytest.mark.parametrize("mode", ["none", "initials", "full"])
def test_patient_identity_in_every_message_follows_the_setting(live, stub, mode):
    set_identity(live, mode)
    live.run()
    payload = json.dumps([m for _, m in stub.requests], ensure_ascii=False)
    if mode == "none":
        for word in PATIENT_WORDS:
            assert word not in payload, word
        assert not re.search(r"\b[A-Z]\.[A-Z]\.", payload)
    elif mode == "initials":
        assert "L.B." in payload and "…4823" in payload  # Brennan, Liam: initials and the MRN's last four
        assert "Brennan" not in payload
    else:
        assert "Brennan, Liam" in payload


def test_a_re_run_with_nothing_new_posts_nothing_and_a_fix_edits_the_alert(live, stub):
    live.run()
    posts = len(stub.calls("chat.postMessage"))
    live.run()
    assert len(stub.calls("chat.postMessage")) == posts
    assert stub.calls("chat.update") == []

    # the facilitator has Liam Brennan sign line 3 and re-scans the morning roster
    from attendbot.demo import _sheets
    morning, family = _sheets()[0]
    morning.lines[2] = LineDraft("Liam Brennan", "stroke", "9:00", "12:00")
    write_signin_pdf(live.path.parents[1] / "inbox" / "rescan.pdf", [morning, family])
    live.run()
    assert len(stub.calls("chat.postMessage")) == posts  # edited, not posted again
    updated = stub.calls("chat.update")
    assert updated and all(u["channel"] in ("C0GROUPS", "C0BILLING") for u in updated)
    morning_alert = next(m for m in stub.posted("C0GROUPS") if "Morning Process Group" in m["text"])
    blocks = json.dumps(morning_alert["blocks"])
    assert "~Line 3 of the 9:00 AM Morning Process Group sheet is unsigned" in blocks  # struck through
    assert "Line 3 of the 9:00 AM Morning Process Group sheet is unsigned" not in morning_alert["text"]


def test_a_session_whose_gaps_are_all_fixed_gets_its_alert_updated_to_say_so(live, stub):
    live.run()
    from attendbot.demo import _sheets
    morning, family = _sheets()[0]
    family.facilitator_signature = "stroke"  # Priya signs the footer of the family group sheet
    write_signin_pdf(live.path.parents[1] / "inbox" / "rescan.pdf", [morning, family])
    live.run()
    family_alert = next(m for m in stub.posted("C0GROUPS") if "Family Group" in m["text"])
    assert "resolved" in family_alert["text"]
    assert len(stub.posted("C0GROUPS")) == 4


def test_rate_limits_are_retried_after_the_wait_slack_asks_for(live, stub):
    stub.fail("chat.postMessage", times=2, status=429, headers={"Retry-After": "0"})
    live.run()
    assert len(stub.posted()) == 5
    assert len(stub.calls("chat.postMessage")) == 7


def test_an_outage_queues_everything_and_the_next_run_sends_each_message_exactly_once(live, stub):
    stub.fail("chat.postMessage", times=50, status=500)
    outcome = live.run()
    assert stub.posted() == []
    assert outcome.slack.waiting == 5
    assert any("could not be reached" in p for p in outcome.slack.problems)
    assert {row["status"] for row in live.outbox().values()} <= {"queued", "unknown"}
    stub.faults.clear()
    live.run()
    assert len(stub.posted("C0GROUPS")) == 4 and len(stub.posted("C0BILLING")) == 1
    live.run()
    assert len(stub.posted()) == 5
    assert {row["status"] for row in live.outbox().values()} == {"sent"}


def test_a_post_whose_answer_was_lost_is_found_in_history_and_not_posted_twice(live, stub):
    stub.fail("chat.postMessage", times=1, drop_after_posting=True)
    live.run()
    # the first message reached Slack but its answer was lost: it is 'unknown', not sent again yet
    assert len(stub.posted()) == 5
    live.run()
    assert len(stub.posted()) == 5  # adopted from conversations.history, never re-posted
    assert stub.calls("conversations.history")
    assert {row["status"] for row in live.outbox().values()} == {"sent"}


def test_invalid_auth_completes_the_run_and_says_what_to_fix(live, stub):
    stub.fail("chat.postMessage", times=50, error="invalid_auth")
    outcome = live.run()
    assert outcome.result.charges  # the day was reconciled and the workbook written
    assert outcome.workbook.exists()
    assert any("SLACK_BOT_TOKEN" in p for p in outcome.slack.problems)
    assert {row["status"] for row in live.outbox().values()} == {"failed"}


def test_a_missing_facilitator_channel_is_reported_in_the_billing_summary(live, stub):
    stub.fail("chat.postMessage", times=4, error="channel_not_found")
    outcome = live.run()
    billing = stub.posted("C0BILLING")
    assert len(billing) == 1 and "channel_not_found" in billing[0]["text"]
    assert "C0GROUPS" in billing[0]["text"]
    assert outcome.slack.posted == 1


def test_a_session_that_has_not_ended_is_not_alerted_on_yet(live, stub):
    live.run(now=AFTERNOON.replace(hour=13, minute=45))  # the 1:00-4:00 PM skills group is still running
    texts = " ".join(m["text"] for m in stub.posted("C0GROUPS"))
    assert "Afternoon Skills Group" not in texts and "Morning Process Group" in texts
    assert "still in progress" in json.dumps(stub.posted("C0BILLING")[0]["blocks"])


def test_after_close_of_business_nothing_is_posted_and_the_next_run_sends_it(live, stub):
    live.run(alerts=False)
    assert stub.posted() == []
    assert {row["status"] for row in live.outbox().values()} == {"queued"}
    live.run()
    assert len(stub.posted()) == 5


def test_a_dry_run_records_the_messages_and_sends_nothing(live, stub, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    outcome = live.run()
    assert outcome.slack.mode == "dry-run" and stub.requests == []
    assert {row["status"] for row in live.outbox().values()} == {"dry_run"}


def test_a_session_with_very_many_gaps_stays_within_slack_limits(live, stub):
    from attendbot.samples.tables import write_signin_xlsx

    lines = [LineDraft(f"Visitor {chr(65 + i // 26)}{chr(65 + i % 26)}ovich", "text", "9:00 AM", "12:00 PM")
             for i in range(70)]
    write_signin_xlsx(live.path.parents[1] / "inbox" / "overflow.xlsx",
                      [SheetDraft("Overflow Group", DAY, "8:00 AM", "11:00 AM", "Dana Whitfield", lines=lines)])
    outcome = live.run()
    assert sum(g.session == "8:00 AM Overflow Group" for g in outcome.result.gaps) == 70
    overflow = next(m for m in stub.posted("C0GROUPS") if "Overflow Group" in m["text"])
    assert "more gaps" in json.dumps(overflow["blocks"])  # the rest is summarised, not rejected
    for message in stub.posted():
        assert len(message["blocks"]) <= 50
        for block in message["blocks"]:
            assert len((block.get("text") or {}).get("text", "")) <= 3000
        assert len(message["text"]) <= 3000
