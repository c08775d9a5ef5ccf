"""The buttons on a facilitator alert, and what Slack sends back when one is pressed: pure.

SPEC "Answers in Slack". Each bullet of an alert that stands for one charge carries

    [Fixed — re-check]  [Did not attend]  [Left early at… (a time picker)]

a bullet about the session as a whole (a sheet's missing footer signature on every charge,
no sign-in sheet) carries *Fixed — re-check* only, and the alert ends with the session's own

    [Fixed — re-check]  [Not my group]

A button carries nothing but an opaque token (:func:`token`: 16 hex digits of a hash of the
day, the session's key and what the bullet is about); the ledger maps it back to the gaps it
answers. No patient name, id or charge id is ever in a value or a block id. Action ids name
the answer (``attendbot.fixed`` …), so a payload is understood without the message it came from.

:func:`parse_action` turns a ``block_actions`` payload into an :class:`Action`,
:func:`parse_reply` a ``message`` event into a :class:`Reply` when it is a reply in a thread.
:func:`annotation` renders what has been answered on a bullet, from :class:`Shown` values the
ledger provides: only user ids (``<@U…>``) and times, never text from inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from attendbot.model import AnswerTarget, Evidence, Gap

FIXED = "fixed"
DID_NOT_ATTEND = "did_not_attend"
LEFT_EARLY = "left_early"
NOT_MY_GROUP = "not_my_group"
NOTE = "note"
#: Every answer the ledger and the JSON know, in the order the Responses sheet explains them.
ANSWERS = (FIXED, DID_NOT_ATTEND, LEFT_EARLY, NOT_MY_GROUP, NOTE)

#: What each button says (the time picker's placeholder for LEFT_EARLY).
LABELS = {FIXED: "Fixed — re-check", DID_NOT_ATTEND: "Did not attend", LEFT_EARLY: "Left early at…",
          NOT_MY_GROUP: "Not my group"}
#: How the Responses sheet and the billing summary name each answer.
ANSWER_WORDS = {FIXED: "fixed — re-check", DID_NOT_ATTEND: "did not attend", LEFT_EARLY: "left early",
                NOT_MY_GROUP: "not my group", NOTE: "note in the thread"}

ACTION_PREFIX = "attendbot."
BLOCK_PREFIX = "attendbot:"
_TOKEN = re.compile(r"[0-9a-f]{16}")
_USER = re.compile(r"[A-Z0-9][A-Z0-9._-]{1,40}")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def token(day: str, session_key: str, what: Sequence[object]) -> str:
    """The opaque key a button carries: stable for one bullet across re-runs of the day."""
    raw = json.dumps([day, session_key, *what], ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def line_target(day: str, session_label: str, session_key: str, group_key: tuple, gaps: Sequence[Gap],
                lines: dict[str, Evidence] | None = None) -> AnswerTarget:
    """What one bullet's buttons answer. ``group_key`` is how the alert grouped the bullet's
    gaps: ``("line", session, charge id)`` for one patient's line, a gap's ``problem`` for one
    problem on several charges, anything else for a gap on its own."""
    first = gaps[0]
    if group_key and group_key[0] == "line":
        what: tuple = ("line", group_key[2])
    elif len(gaps) > 1 or (first.facts and group_key == first.problem):
        what = ("problem", str(first.code), first.facts)
    else:
        what = ("gap", str(first.code), first.charge_id, first.patient_id, first.key, first.line)
    charges = {g.charge_id for g in gaps}
    charge_id = next(iter(charges)) if len(charges) == 1 else None
    line = (lines or {}).get(charge_id) if charge_id else None
    return AnswerTarget(token(day, session_key, what), "line", session_label, session_key, tuple(gaps),
                        charge_id=charge_id, line=line)


def session_target(day: str, session_label: str, session_key: str, gaps: Sequence[Gap]) -> AnswerTarget:
    """What the alert's own buttons answer: every facilitator gap of the session."""
    return AnswerTarget(token(day, session_key, ("session",)), "session", session_label, session_key, tuple(gaps))


def answers_one_patient(target: AnswerTarget) -> bool:
    """A bullet about one charge, so about one patient: "did not attend" and "left early" make sense."""
    return target.scope == "line" and target.charge_id is not None


# --- blocks ---------------------------------------------------------------------------


def _button(answer: str, value: str, *, style: str | None = None, confirm: dict | None = None) -> dict:
    button = {"type": "button", "action_id": ACTION_PREFIX + answer,
              "text": {"type": "plain_text", "text": LABELS[answer], "emoji": True}, "value": value}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _confirm(title: str, text: str, yes: str) -> dict:
    return {"title": {"type": "plain_text", "text": title}, "text": {"type": "mrkdwn", "text": text},
            "confirm": {"type": "plain_text", "text": yes}, "deny": {"type": "plain_text", "text": "Cancel"}}


def line_blocks(text: str, target: AnswerTarget) -> list[dict]:
    """One bullet with its buttons: a section and a row of buttons for a bullet about one
    patient; a section with one *Fixed — re-check* button beside it otherwise."""
    section: dict = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if not answers_one_patient(target):
        section["block_id"] = BLOCK_PREFIX + target.token
        section["accessory"] = _button(FIXED, target.token)
        return [section]
    row = {"type": "actions", "block_id": BLOCK_PREFIX + target.token, "elements": [
        _button(FIXED, target.token, style="primary"),
        _button(DID_NOT_ATTEND, target.token, confirm=_confirm(
            "Did not attend?", "The billing lead will see a proposed void for this charge.", "Did not attend")),
        {"type": "timepicker", "action_id": ACTION_PREFIX + LEFT_EARLY,
         "placeholder": {"type": "plain_text", "text": LABELS[LEFT_EARLY], "emoji": True}},
    ]}
    return [section, row]


def session_blocks(target: AnswerTarget) -> list[dict]:
    """The alert's own buttons, for what is the session's rather than one bullet's."""
    return [{"type": "actions", "block_id": BLOCK_PREFIX + target.token, "elements": [
        _button(FIXED, target.token, style="primary"),
        _button(NOT_MY_GROUP, target.token, confirm=_confirm(
            "Not your group?", "The alert goes to the billing channel for the billing lead to assign.",
            "Not my group")),
    ]}]


# --- what comes back -----------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A button pressed (or a time picked) on an alert, as ``block_actions`` says it."""

    answer: str  # fixed | did_not_attend | left_early | not_my_group
    token: str
    user: str
    channel: str | None
    message_ts: str | None
    time: str | None = None  # left_early: HH:MM picked


def parse_action(payload: dict) -> Action | None:
    """The first attendbot action of a ``block_actions`` payload; None for anything else
    (another app's buttons, a malformed payload, a token that is not one of ours)."""
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    user = (payload.get("user") or {}).get("id") or ""
    container = payload.get("container") or {}
    channel = (payload.get("channel") or {}).get("id") or container.get("channel_id")
    message_ts = container.get("message_ts") or (payload.get("message") or {}).get("ts")
    for action in payload.get("actions") or []:
        if not isinstance(action, dict):
            continue
        answer = str(action.get("action_id") or "").removeprefix(ACTION_PREFIX)
        if not str(action.get("action_id") or "").startswith(ACTION_PREFIX) or answer not in LABELS:
            continue
        value = str(action.get("value") or str(action.get("block_id") or "").removeprefix(BLOCK_PREFIX))
        if not _TOKEN.fullmatch(value) or not _USER.fullmatch(user):
            return None
        picked = None
        if answer == LEFT_EARLY:
            picked = str(action.get("selected_time") or "")
            if not _HHMM.fullmatch(picked):
                return None
        return Action(answer, value, user, channel, message_ts, picked)
    return None


@dataclass(frozen=True)
class Reply:
    """A person's reply in a thread: a note on the session whose alert started the thread."""

    channel: str
    thread_ts: str
    ts: str
    user: str
    text: str


def parse_reply(event: dict) -> Reply | None:
    """A ``message`` event (or a ``conversations.replies`` item, with ``channel`` given) that is a
    person's reply in a thread; None for top-level messages, edits, bots and the thread's parent."""
    if not isinstance(event, dict) or event.get("type", "message") != "message":
        return None
    if event.get("subtype") or event.get("bot_id") or event.get("app_id"):
        return None
    channel, thread, ts, user = (str(event.get(k) or "") for k in ("channel", "thread_ts", "ts", "user"))
    if not (channel and thread and ts and user) or ts == thread or not _USER.fullmatch(user):
        return None
    return Reply(channel, thread, ts, user, str(event.get("text") or ""))


# --- what has been answered, on the bullet ------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """An answer as an alert shows it under its bullet."""

    answer: str
    by: str  # Slack user id
    at: str  # local time, "3:52 PM"
    time: str | None = None  # left_early: the attested time out, "2:10 PM"
    sheet_time: str | None = None  # left_early: the sheet's time out, "4:00 PM"
    still_open: bool = False  # fixed: a later pass still finds it open


def clock(value: str | dt.time | None) -> str | None:
    """``"14:10"`` → ``"2:10 PM"``; None and anything unreadable → None."""
    if value is None:
        return None
    try:
        t = value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))
    except ValueError:
        return None
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def mention(user: str) -> str:
    """``<@U…>`` for a Slack user id; a string that is not one is never put between angle brackets."""
    return f"<@{user}>" if _USER.fullmatch(user or "") else "someone"


def annotation(shown: Sequence[Shown]) -> str:
    """One line per kind of answer (the latest of each), under the bullet; ``""`` when none."""
    latest: dict[str, Shown] = {}
    for s in shown:
        if s.answer != NOTE:
            latest[s.answer] = s
    lines = []
    for answer in ANSWERS:
        s = latest.get(answer)
        if s is None:
            continue
        who = mention(s.by)
        if answer == FIXED:
            line = f"Marked fixed by {who} at {s.at}"
            if s.still_open:
                line += " — :warning: *the re-check still finds it open*"
        elif answer == DID_NOT_ATTEND:
            line = f"Did not attend, says {who} ({s.at}): the billing lead sees a proposed void"
        elif answer == LEFT_EARLY:
            sheet = f"the sheet says {s.sheet_time}" if s.sheet_time else "the sheet has no time out"
            line = f"Left early at {s.time or '?'}, attests {who} ({s.at}); {sheet}"
        else:
            line = f"Not {who}'s group ({s.at}): re-routed to the billing channel"
        lines.append(f"↳ _{line}_")
    return "\n".join(lines)
