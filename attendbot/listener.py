"""Facilitators' answers from Slack, over Socket Mode, while ``attendbot serve`` runs.

Socket Mode needs no public URL: the bot opens a websocket to Slack (``apps.connections.open``
with the app-level token in ``SLACK_APP_TOKEN``, through ``[slack] api_url`` when set) and
Slack sends every button press and thread reply down it. slack-sdk's built-in
:class:`~slack_sdk.socket_mode.SocketModeClient` keeps the connection: it pings, notices a
dead or refused connection and reconnects with a fresh URL; :class:`Listener` also retries a
connection that could not be opened at all (a wrong token, no network), backing off.

Every envelope is acknowledged first, at once (Slack wants it within 3 seconds), and then
queued; one worker thread does the work in order:

* a button (``block_actions``): the token is looked up in the ledger; someone other than the
  facilitator the alert mentions or a ``[slack] billing_leads`` member gets a private refusal
  (``chat.postEphemeral``) and nothing is recorded; otherwise the answer is recorded and the day
  is reconciled again (:func:`attendbot.run.run_day`: changed inbox files are read, the alert and
  the billing summary are edited, the workbook rewritten). After *Fixed — re-check* the person is
  told privately what the re-check found.
* a reply in an alert's thread (a ``message`` event): kept as a note on that session.

Nothing about a patient travels in a button; what the bot writes back names gaps the way the
alerts do. The tokens never appear in a log line.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from attendbot.config import Settings
from attendbot.errors import AttendbotError
from attendbot.ledger import Ledger, exclusive
from attendbot.outputs import slack_actions as actions
from attendbot.outputs.slack_answers import keep_note, may_answer, record_answer, sheet_time_out
from attendbot.outputs.slack_delivery import make_client
from attendbot.outputs.slack_followup import tell
from attendbot.outputs.slack_messages import escape
from attendbot.run import run_day
from attendbot.secrets import clean

log = logging.getLogger("attendbot.answers")

APP_TOKEN_ENV = "SLACK_APP_TOKEN"
LOCK_WAIT_SECONDS = 30
WATCH_SECONDS = 5.0  # how often an idle listener checks its connection
MAX_BACKOFF_SECONDS = 300.0  # the longest wait between attempts to open a connection
QUEUE_SIZE = 1000  # envelopes waiting for the worker thread; more are acknowledged and dropped (logged)


def app_token() -> str:
    """The app-level token (``xapp-…``) from the environment; never from a file."""
    return os.environ.get(APP_TOKEN_ENV, "").strip()


def refusal(mention: str | None) -> str:
    """What someone not entitled to answer an alert is told (privately)."""
    who = f"{actions.mention(mention)}, who ran this group," if mention else "the facilitator who ran this group"
    return f"Only {who} or a billing lead can answer this alert. Nothing was recorded."


class Listener:
    """One Socket Mode connection and the thread that works through what arrives on it.

    Args:
        clock: the time answers are recorded at (an aware datetime; the program's zone is used).
        run: :func:`attendbot.run.run_day` or a stand-in with its signature.
        ping_interval: seconds between the client's pings; a connection silent for four of them
            is dropped and opened again.
    """

    def __init__(self, settings: Settings, *, app_token: str, clock: Callable[[], dt.datetime] | None = None,
                 run: Callable[..., object] = run_day, ping_interval: float = 5.0,
                 watch_seconds: float = WATCH_SECONDS):
        self.settings = settings
        self.app_token = app_token
        self.clock = clock or (lambda: dt.datetime.now(settings.program.tz))
        self.run = run
        self.ping_interval = ping_interval
        self.watch_seconds = watch_seconds
        self.client: SocketModeClient | None = None
        self.web = make_client(settings.slack_token, settings.slack.api_url, retry_connection_errors=True)
        self._queue: queue.Queue[SocketModeRequest | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = 0.0
        self._next_attempt = 0.0
        self.handled = 0  # envelopes worked through (for tests and the log)

    # -- life cycle --

    def start(self) -> Listener:
        self.client = SocketModeClient(app_token=self.app_token, web_client=self.web, ping_interval=self.ping_interval,
                                       logger=logging.getLogger("attendbot.slack.socket"), concurrency=2)
        self.client.socket_mode_request_listeners.append(self._on_request)
        self._thread = threading.Thread(target=self._work, name="attendbot-answers", daemon=True)
        self._thread.start()
        self._connect()
        return self

    def stop(self, timeout: float = 120.0) -> None:
        """Stop taking envelopes; let the one being worked on finish (at most ``timeout`` seconds)."""
        self._stop.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        if self._thread is not None:
            self._thread.join(timeout)
        if self.client is not None:
            self.client.close()
        log.info("stopped listening for answers in Slack")

    def connected(self) -> bool:
        return self.client is not None and self.client.is_connected()

    def _connect(self) -> None:
        now = time.monotonic()
        if self._stop.is_set() or self.connected() or now < self._next_attempt:
            return
        why = "the connection was refused"
        try:
            self.client.connect_to_new_endpoint()
        except Exception as exc:  # a wrong app token, no network: try again later, less and less often
            why = _why(exc)
        if self.connected():
            self._backoff = 0.0
            log.info("listening for answers in Slack (Socket Mode)")
            return
        self._backoff = min(max(self._backoff * 2, self.watch_seconds), MAX_BACKOFF_SECONDS)
        self._next_attempt = now + self._backoff
        log.warning("Slack Socket Mode: could not connect (%s); trying again in %.0f s", why, self._backoff)

    # -- what arrives --

    def _on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        """Acknowledge first (Slack wants it within 3 seconds), then leave the work to the worker thread."""
        try:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        except Exception as exc:  # Slack sends an unacknowledged envelope again: do the work then
            log.warning("Slack Socket Mode: could not acknowledge an envelope (%s)", _why(exc))
            return
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            log.error("Slack Socket Mode: %d envelopes waiting; one was dropped", QUEUE_SIZE)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                request = self._queue.get(timeout=self.watch_seconds)
            except queue.Empty:
                self._connect()  # nothing to do: make sure the connection is there
                continue
            if request is None:
                return
            try:
                self.handle(request.type, request.payload)
            except Exception:  # one bad envelope never stops the listener
                log.exception("Slack Socket Mode: an envelope could not be handled")
            finally:
                self.handled += 1

    def handle(self, kind: str, payload: dict) -> None:
        """Do what one envelope asks (after it was acknowledged)."""
        if kind == "interactive":
            action = actions.parse_action(payload)
            if action is not None:
                self.answer(action)
        elif kind == "events_api":
            reply = actions.parse_reply((payload or {}).get("event") or {})
            if reply is not None:
                self.note(reply)

    # -- the work --

    def now(self) -> dt.datetime:
        return self.clock().astimezone(self.settings.program.tz)

    def answer(self, action: actions.Action) -> None:
        settings = self.settings
        ledger = Ledger(settings.db)
        try:
            target = ledger.target(action.token)
            if target is None:
                tell(settings, action.channel, action.user,
                     "attendbot has no record of this alert's buttons (an older message?): answer in the thread.",
                     client=self.web)
                return
            if not may_answer(settings, target["mention"], action.user):
                tell(settings, action.channel, action.user, refusal(target["mention"]), client=self.web)
                log.info("refused an answer from someone the alert does not address")
                return
            day = dt.date.fromisoformat(target["day"])
            sheet_time = sheet_time_out(ledger, day, target["line"]) if action.answer == actions.LEFT_EARLY else None
            with exclusive(settings.db, LOCK_WAIT_SECONDS, "the ledger is busy with a run"):
                record_answer(settings, ledger, target, action, self.now(), sheet_time)
        finally:
            ledger.close()
        log.info("answer in Slack recorded (%s); reconciling %s again", action.answer, day)
        try:
            self.run(settings, day, now=self.now(), dry_run=False, alerts=True)
        except AttendbotError as exc:
            log.error("re-check of %s after an answer in Slack failed: %s", day, exc)
            tell(settings, action.channel, action.user, "Your answer is recorded, but the re-check could not run "
                 "now; it runs again with the next pass.", client=self.web)
            return
        if action.answer == actions.FIXED:
            self._tell_recheck(action, target, day)

    def _tell_recheck(self, action: actions.Action, target: dict, day: dt.date) -> None:
        ledger = Ledger(self.settings.db)
        try:
            still = [r for r in ledger.gap_rows(day, "open") if r["id"] in set(target["gap_ids"])]
        finally:
            ledger.close()
        at = actions.clock(self.now().time())
        if not still:
            text = f"Re-checked at {at}: fixed. Thank you!"
        else:
            listed = "\n".join(f"• {escape(r['message'])}" for r in still[:10])
            more = f"\n… and {len(still) - 10} more" if len(still) > 10 else ""
            text = (f"Re-checked at {at}: still open —\n{listed}{more}\nThe newest files in the inbox do not show "
                    "the fix yet; drop the corrected file in the inbox, or reply in the thread.")
        tell(self.settings, action.channel, action.user, text[:3000], client=self.web)

    def note(self, reply: actions.Reply) -> None:
        settings = self.settings
        with exclusive(settings.db, LOCK_WAIT_SECONDS, "the ledger is busy with a run"):
            ledger = Ledger(settings.db)
            try:
                alert = ledger.alert_at(reply.channel, reply.thread_ts)
                if alert is not None and keep_note(settings, ledger, alert, reply):
                    log.info("a reply in an alert's thread was kept as a note")
            finally:
                ledger.close()


def _why(exc: Exception) -> str:
    """A Slack error code, or the exception's type: never its text (it may quote a request)."""
    response = getattr(exc, "response", None)
    try:
        error = response.get("error") if response is not None else None
    except Exception:
        error = None
    return clean(str(error))[:100] if error else type(exc).__name__
