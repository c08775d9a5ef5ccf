"""Slack work around the runs: thread replies read back, escalations before close of business,
the billing summary's "still open at close", and the short private answers a person gets.

All of it is live only (a bot token in ``SLACK_BOT_TOKEN``) and none of it ever stops a run or
the worker: a Slack error is logged (never the token) and the work is tried again next time.

:func:`collect_notes` runs inside :func:`attendbot.run.run_day` (which holds the ledger's lock);
:func:`escalate` and :func:`report_close` are called by the worker and take the lock around
what they write.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from attendbot.config import Settings
from attendbot.ledger import Ledger, exclusive
from attendbot.model import OutgoingMessage
from attendbot.outputs import slack_actions as actions
from attendbot.outputs.slack_answers import (CLOSED, answer_state, answered_gap_ids, blocking_facilitator_gaps,
                                             keep_note, mark)
from attendbot.outputs.slack_delivery import Outbox, make_client
from attendbot.outputs.slack_messages import escalation_text, with_answer_sections
from attendbot.secrets import clean

log = logging.getLogger("attendbot.slack")

LOCK_WAIT_SECONDS = 30
REPLY_PAGES = 10  # conversations.replies pages read per alert (200 replies a page)


def client_for(settings: Settings) -> WebClient | None:
    """The bot's Web API client (retrying what is safe to retry), or None without a token."""
    token = settings.slack_token
    return make_client(token, settings.slack.api_url, retry_connection_errors=True) if token else None


def _failed(what: str, exc: Exception) -> None:
    """Log a Slack failure by its error code (cleaned: a proxy may echo the token) or its type."""
    error = None
    if isinstance(exc, SlackApiError) and exc.response is not None and isinstance(exc.response.data, dict):
        error = exc.response.get("error")
    log.warning("Slack: %s failed (%s); trying again later", what, clean(str(error))[:100] if error
                else type(exc).__name__)


def collect_notes(settings: Settings, ledger: Ledger, day: dt.date, client: WebClient | None = None) -> int:
    """Read each of the day's alerts' threads (``conversations.replies``) and keep every person's
    reply not kept yet as a note on that session. Returns how many were new."""
    client = client or client_for(settings)
    if client is None:
        return 0
    new = 0
    for row in ledger.outbox(day).values():
        if row["kind"] not in ("session", "reroute") or not row["ts"]:
            continue
        channel = row["posted_channel"] or row["channel"]
        alert = ledger.alert_at(channel, row["ts"])
        if alert is None:
            continue
        try:
            for item in _replies(client, channel, row["ts"]):
                reply = actions.parse_reply({**item, "channel": channel})
                if reply is not None and reply.thread_ts == row["ts"] and keep_note(settings, ledger, alert, reply):
                    new += 1
        except Exception as exc:  # a thread that cannot be read now is read on the next pass
            _failed("reading an alert's thread", exc)
    return new


def _replies(client: WebClient, channel: str, ts: str) -> Iterable[dict]:
    cursor = None
    for _ in range(REPLY_PAGES):
        page = client.conversations_replies(channel=channel, ts=ts, limit=200, cursor=cursor).data
        yield from page.get("messages") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page.get("has_more") or not cursor:
            return


def escalation_due(settings: Settings, now: dt.datetime) -> bool:
    """From ``escalate_before_close_minutes`` before close of business until close (0: never)."""
    minutes = settings.slack.escalate_before_close_minutes
    if not minutes:
        return False
    local = now.astimezone(settings.program.tz)
    close = dt.datetime.combine(local.date(), dt.time.fromisoformat(settings.program.close_of_business),
                                tzinfo=settings.program.tz)
    return close - dt.timedelta(minutes=minutes) <= local < close


def escalate(settings: Settings, days: Iterable[dt.date], now: dt.datetime, client: WebClient | None = None) -> int:
    """Raise once, in each alert's thread and mentioning its facilitator, every blocking
    facilitator gap of ``days`` that is still open and that nobody has answered. Returns the
    number of gaps raised."""
    client = client or client_for(settings)
    if client is None:
        return 0
    close = actions.clock(settings.program.close_of_business) or settings.program.close_of_business
    raised = 0
    ledger = Ledger(settings.db)
    try:
        for day in days:
            answered = answered_gap_ids(ledger.responses(day))
            done = ledger.escalated(day)
            open_by_session: dict[str, list[dict]] = defaultdict(list)
            for row in blocking_facilitator_gaps(ledger, day):
                if row["id"] not in answered and row["id"] not in done:
                    open_by_session[row["session"] or ""].append(row)
            for alert in ledger.alerts(day):
                todo = open_by_session.get(alert["session"] or "")
                if not todo or not alert["ts"]:
                    continue
                text = escalation_text(alert["mention"], settings.slack.billing_leads, alert["session"] or "",
                                       [r["message"] for r in todo], close)
                try:
                    answer = client.chat_postMessage(channel=alert["channel"], thread_ts=alert["ts"], text=text,
                                                     unfurl_links=False).data
                except Exception as exc:
                    _failed("an escalation", exc)
                    continue
                at = now.astimezone(settings.program.tz).isoformat(timespec="seconds")
                with exclusive(settings.db, LOCK_WAIT_SECONDS, "the ledger is busy"):
                    ledger.record_escalations([{"gap_id": r["id"], "day": day.isoformat(), "session": alert["session"],
                                                "at": at, "channel": alert["channel"], "thread_ts": alert["ts"],
                                                "ts": answer.get("ts")} for r in todo])
                raised += len(todo)
                log.info("escalated %d unanswered item%s of one alert before close of business", len(todo),
                         "" if len(todo) == 1 else "s")
    finally:
        ledger.close()
    return raised


def report_close(settings: Settings, day: dt.date, now: dt.datetime) -> bool:
    """At close of business: mark the day, and edit its billing summary to list what is still
    open, by facilitator (later runs of the day keep saying it). True if the summary was edited."""
    token = settings.slack_token
    if not token:
        return False
    with exclusive(settings.db, LOCK_WAIT_SECONDS, "the ledger is busy"):
        ledger = Ledger(settings.db)
        try:
            mark(ledger, day, CLOSED, now)
            key = f"{day.isoformat()}:billing"
            row = ledger.outbox_rows([key]).get(key)
            if row is None or row["status"] == "dry_run":
                return False
            payload = json.loads(row["payload"])
            stored = OutgoingMessage(key=key, channel=row["channel"], text=payload["text"], blocks=payload["blocks"],
                                     kind="billing", session=None)
            state = answer_state(settings, ledger, day, ledger.last_run_id())
            message = with_answer_sections(stored, state.blocks, state.said)
            outbox = Outbox(ledger, token, api_url=settings.slack.api_url, program=settings.program.name,
                            run_id=row["run_id"] or ledger.last_run_id(), pace_seconds=0.0)
            report = outbox.send([message], day.isoformat(), post=True)
            return bool(report.updated or report.posted)
        finally:
            ledger.close()


def tell(settings: Settings, channel: str | None, user: str, text: str, client: WebClient | None = None) -> None:
    """A short private answer to one person (``chat.postEphemeral``): a refusal, a re-check's result."""
    client = client or client_for(settings)
    if client is None or not channel:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except Exception as exc:
        _failed("a private answer", exc)

