"""Delivering the day's Slack messages through the ledger's outbox.

Every message is stored before it is sent and keyed by day and session, so:

* a re-run edits the message it posted before (``chat.update``) instead of posting
  again, and sends nothing when nothing changed;
* a message that cannot be sent now (an outage, 5xx after retries) stays queued
  and goes out on the next run: nothing is lost;
* a post whose answer was lost (timeout, connection reset) may have reached Slack:
  it is marked ``unknown``, and before posting it again the channel's recent
  history is searched for the message's metadata key; a found message is adopted,
  never posted twice.

Rate limits are honoured by slack-sdk's retry handlers (``Retry-After``) and by
pacing posts to about one a second per channel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (ConnectionErrorRetryHandler, RateLimitErrorRetryHandler,
                                                   ServerErrorRetryHandler)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

from attendbot import messages as say
from attendbot.config import Settings
from attendbot.ledger import Ledger
from attendbot.model import DayResult, DayStatus, FileReport, OutgoingMessage, SlackOutcome
from attendbot.outputs import slack_answers as answers
from attendbot.outputs.slack_messages import build_messages
from attendbot.secrets import clean

log = logging.getLogger("attendbot.slack")

EVENT_TYPE = "attendbot_alert"
HISTORY_WINDOW_SECONDS = 3600  # how far back to look for a message whose post may have gone through
GIVE_UP_AFTER = 2  # consecutive transport failures before the rest of the run's messages just wait
RETRY_BACKOFF = 0.5  # seconds, doubled per retry of a 5xx or a connection error
PACE_SECONDS = 1.0  # Slack asks for about one message a second per channel
NO_TOKEN = ("no SLACK_BOT_TOKEN in the environment — running as --dry-run: "
            "Slack messages are printed, not sent")


def deliver(settings: Settings, ledger: Ledger, run_id: int, result: DayResult, files: tuple[FileReport, ...],
            now: dt.datetime, *, dry_run: bool, alerts: bool, status: DayStatus | None = None) -> SlackOutcome:
    """Build the day's messages and send them through the outbox: sessions first, then the
    billing summary, which reports any delivery problem the session alerts met.

    Live only with a token and not ``dry_run``; otherwise every message is built and
    recorded (``dry_run`` status) and nothing is sent.
    """
    live = not dry_run and bool(settings.slack_token)
    day = result.day
    iso, today = day.isoformat(), now.date()
    clock_time = now.time().replace(tzinfo=None)
    not_ended = {s.label for s in result.sessions
                 if day > today or (day == today and s.end is not None and s.end > clock_time)}
    stored = ledger.outbox(day).values()
    alerted = {row["session"] for row in stored if row["kind"] == "session" and row["ts"]}
    digests_sent = {row["kind"] for row in stored if row["kind"] in ("intake", "clinical") and row["ts"]}
    resolved: dict[str, list[str]] = {}
    for row in ledger.gap_rows(day, "resolved"):
        if row["owner"] == "facilitator" and row["session"] in alerted:
            resolved.setdefault(row["session"], []).append(row["message"])
    close = dt.time.fromisoformat(settings.program.close_of_business)
    before_close = clock_time < close if (live and alerts and day == today) else None
    if before_close is True and not answers.day_marked_before_close(ledger, day):
        answers.mark(ledger, day, answers.ALERTED_BEFORE_CLOSE, now)
    elif before_close is False and answers.day_marked_before_close(ledger, day):
        before_close = True  # a later run (an answer in Slack after close) edits alerts that went out in time
    state = answers.state_for_run(settings, ledger, result, run_id)

    def build(notes=()):
        return answers.finish(build_messages(result, files, settings.slack, program=settings.program.name,
                                             sent_before_close=before_close, resolved=resolved, not_ended=not_ended,
                                             notes=notes, digests_sent=digests_sent, status=status,
                                             answers=state.shown), state, settings)

    messages = build()
    answers.remember_alerts(ledger, day, messages, result)
    outbox = Outbox(ledger, settings.slack_token if live else None, api_url=settings.slack.api_url,
                    program=settings.program.name, run_id=run_id, pace_seconds=PACE_SECONDS)
    post = live and alerts
    hold = "queued" if live else "dry_run"
    report = outbox.send([m for m in messages if m.kind != "billing"], iso, post=post, status_if_not_posted=hold)
    if report.problems:
        messages = build(report.problems)
    outbox.send([m for m in messages if m.kind == "billing"], iso, post=post, status_if_not_posted=hold,
                report=report)
    if post:
        outbox.resend_waiting({iso}, report)
    return SlackOutcome(mode="live" if live else "dry-run", messages=tuple(messages), posted=report.posted,
                        updated=report.updated, unchanged=report.unchanged, waiting=report.waiting,
                        problems=tuple(report.problems),
                        reason="" if live or dry_run else NO_TOKEN)


@dataclass
class DeliveryReport:
    posted: int = 0
    updated: int = 0
    unchanged: int = 0
    waiting: int = 0  # queued for the next run
    problems: list[str] = field(default_factory=list)  # what an administrator must fix, one line each


def payload_hash(message: OutgoingMessage) -> str:
    return hashlib.sha256(json.dumps([message.channel, message.text, message.blocks],
                                     sort_keys=True).encode()).hexdigest()


def make_client(token: str, api_url: str = "", *, retry_connection_errors: bool, timeout: int = 15) -> WebClient:
    """The real slack-sdk client, retrying rate limits (honouring Retry-After) and 5xx answers.

    ``retry_connection_errors`` only for calls that are safe to repeat (updates, history):
    a post whose connection broke may have gone through, and repeating it blindly could post
    twice — :class:`Outbox` searches the channel's history first instead.
    """
    interval = BackoffRetryIntervalCalculator(backoff_factor=RETRY_BACKOFF)
    handlers = [RateLimitErrorRetryHandler(max_retry_count=3),
                ServerErrorRetryHandler(max_retry_count=2, interval_calculator=interval)]
    if retry_connection_errors:
        handlers.append(ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=interval))
    kwargs = {"base_url": api_url} if api_url else {}
    return WebClient(token=token, timeout=timeout, retry_handlers=handlers, **kwargs)


class _Transport(Exception):
    """Slack did not answer definitively: the request may or may not have taken effect.
    Its text is already clean of secrets."""


def _slack_error(exc: SlackApiError) -> str | None:
    """The ``error`` Slack answered, cleaned of secrets and cut short (an error code is a word)."""
    response = exc.response
    error = response.get("error") if response is not None and isinstance(response.data, dict) else None
    return clean(error)[:100] if error else None


class Outbox:
    """Sends messages and remembers each one's fate in the ledger."""

    def __init__(self, ledger: Ledger, token: str | None, *, api_url: str = "", program: str, run_id: int,
                 pace_seconds: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        """``token`` None: nothing is sent, messages are only stored."""
        self.ledger, self.program, self.run_id = ledger, program, run_id
        self.client = make_client(token, api_url, retry_connection_errors=False) if token else None
        self.safe_client = make_client(token, api_url, retry_connection_errors=True) if token else None
        self.pace_seconds, self.sleep, self.clock = pace_seconds, sleep, clock
        self._last_post: dict[str, float] = {}
        self._failures = 0

    def send(self, messages: Iterable[OutgoingMessage], day: str, *, post: bool, status_if_not_posted: str = "queued",
             report: DeliveryReport | None = None) -> DeliveryReport:
        """Store each message; when ``post`` and a client exists, post or update it in Slack.

        Messages not posted are stored with ``status_if_not_posted``: ``dry_run`` (printed,
        recorded, never sent) or ``queued`` (sent by a later run).
        """
        report = report or DeliveryReport()
        stored = self.ledger.outbox_rows([m.key for m in messages])
        for message in messages:
            row = stored.get(message.key)
            digest = payload_hash(message)
            if row and row["status"] == "sent" and row["payload_hash"] == digest:
                report.unchanged += 1
                continue
            previous = row["status"] if row else None
            row = {**(row or {"ts": None, "posted_channel": None, "attempts": 0, "attempted_at": None}),
                   "key": message.key, "day": day, "kind": message.kind, "session": message.session,
                   "channel": message.channel, "payload": json.dumps({"text": message.text, "blocks": message.blocks}),
                   "payload_hash": digest, "run_id": self.run_id,
                   # an unanswered post stays 'unknown' until Slack's history has been searched for it
                   "status": "unknown" if previous == "unknown" else "queued"}
            if not post or self.client is None or self._failures >= GIVE_UP_AFTER:
                if row["status"] == "queued" and not row["ts"]:
                    row["status"] = status_if_not_posted
                self.ledger.save_message(row)
                report.waiting += row["status"] != "dry_run"
                continue
            self.ledger.save_message(row)  # stored before it is sent
            self._deliver(message, row, report)
        return report

    def resend_waiting(self, skip_days: set[str], report: DeliveryReport) -> None:
        """Messages of other days that could not go out before (an outage): send them now."""
        for key, row in self.ledger.outbox().items():
            if row["day"] in skip_days or row["status"] == "dry_run":
                continue
            payload = json.loads(row["payload"])
            message = OutgoingMessage(key=key, channel=row["channel"], text=payload["text"], blocks=payload["blocks"],
                                      kind=row["kind"], session=row["session"])
            self.send([message], row["day"], post=True, report=report)

    # --- one message ----------------------------------------------------------------

    def _deliver(self, message: OutgoingMessage, row: dict, report: DeliveryReport) -> None:
        try:
            if not row.get("ts") and row["status"] == "unknown":
                found = self._find_posted(message, row)
                if found:
                    row.update(ts=found, posted_channel=message.channel)
                    log.info("adopted the message %s found in Slack after an unanswered post", message.key)
            if row.get("ts"):
                self._call("chat_update", channel=row["posted_channel"] or message.channel, ts=row["ts"],
                           text=message.text, blocks=message.blocks)
                report.updated += 1
            else:
                row.update(status="unknown", attempted_at=self.clock(), attempts=(row.get("attempts") or 0) + 1)
                self.ledger.save_message(row)  # from here on, a lost answer may mean it was posted
                answer = self._call("chat_postMessage", channel=message.channel, text=message.text,
                                    blocks=message.blocks, unfurl_links=False, metadata={
                                        "event_type": EVENT_TYPE,
                                        "event_payload": {"program": self.program, "key": message.key}})
                row.update(ts=answer["ts"], posted_channel=answer.get("channel") or message.channel)
                report.posted += 1
            row.update(status="sent", error=None)
            self._failures = 0
        except SlackApiError as exc:
            # Whatever Slack or a proxy answered is cleaned before it is stored, logged or posted:
            # an error body may echo the Authorization header (the token).
            error = _slack_error(exc)
            if error == "message_not_found" and row.get("ts"):
                row.update(ts=None, status="queued")  # deleted in Slack: post it afresh next time
            else:
                row.update(status="failed", error=error or clean(exc)[:200])
            report.problems.append(say.slack_problem(error or "error", message.channel))
            report.waiting += 1
        except _Transport as exc:
            if row["status"] == "unknown" and not row.get("ts") and self._adopt_after_lost_answer(message, row):
                report.posted += 1
                self._failures = 0
                self.ledger.save_message(row)
                return
            self._failures += 1
            if row["status"] != "unknown":
                row["status"] = "queued"
            row["error"] = clean(exc)[:200]
            report.waiting += 1
            if self._failures == GIVE_UP_AFTER:
                report.problems.append(say.slack_unreachable(clean(exc)))
        self.ledger.save_message(row)

    def _call(self, method: str, **kwargs) -> dict:
        channel = kwargs.get("channel", "")
        if method == "chat_postMessage":
            wait = self._last_post.get(channel, 0) + self.pace_seconds - self.clock()
            if wait > 0:
                self.sleep(wait)  # about one message a second per channel, as Slack asks
            self._last_post[channel] = self.clock()
        client = self.client if method == "chat_postMessage" else self.safe_client
        try:
            return getattr(client, method)(**kwargs).data
        except SlackApiError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status == 200 and isinstance(exc.response.data, dict):
                raise  # Slack answered: a definite error
            raise _Transport(f"{method}: HTTP {status}") from exc
        except Exception as exc:  # timeouts, resets, refused connections, unreadable answers
            raise _Transport(clean(f"{method}: {type(exc).__name__}: {exc}")[:300]) from exc

    def _adopt_after_lost_answer(self, message: OutgoingMessage, row: dict) -> bool:
        """Right after a post whose answer was lost: if Slack has it, adopt it (status sent)."""
        try:
            found = self._find_posted(message, row)
        except (_Transport, SlackApiError):
            return False
        if found:
            row.update(ts=found, posted_channel=message.channel, status="sent", error=None)
        return bool(found)

    def _find_posted(self, message: OutgoingMessage, row: dict) -> str | None:
        """The ts of this message if an earlier, unanswered post did reach the channel."""
        oldest = (row.get("attempted_at") or self.clock()) - HISTORY_WINDOW_SECONDS
        cursor = None
        for _ in range(10):
            page = self._call("conversations_history", channel=message.channel, oldest=f"{oldest:.6f}",
                              include_all_metadata=True, limit=200, cursor=cursor)
            for item in page.get("messages", []):
                meta = item.get("metadata") or {}
                if meta.get("event_type") == EVENT_TYPE and (meta.get("event_payload") or {}).get("key") == message.key:
                    return item["ts"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
        return None
