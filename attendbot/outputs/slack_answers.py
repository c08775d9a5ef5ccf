"""Answers in Slack, as the ledger keeps them: recorded, and shown again in the day's messages.

* :func:`remember_alerts` stores, for each facilitator alert a run builds, whom it addresses and
  what each of its buttons' tokens stands for (the ledger's gap ids), so an answer arriving
  later over Socket Mode is understood without the message.
* :func:`record_answer` and :func:`keep_note` write one answer or thread note. They take no
  lock: a caller outside :func:`attendbot.run.run_day` holds ``<db>.lock`` around them.
* :func:`answer_state` reads the day's answers back for a run: what each bullet shows, and the
  billing summary's parts about answers (proposed voids, attested times, re-routed alerts,
  "fixed" that a later pass still finds open, and — after close of business — what is still
  open by facilitator). :func:`finish` applies it to the messages a run built.
* :func:`day_responses` gives them to the --json document and the workbook.

A gap counts as *answered* when an answer from the facilitator the alert mentions or a
billing lead covers it (a button on its bullet, the session's buttons, or a thread reply);
replies from anyone else are kept as notes but answer nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from attendbot.codes import Disposition, GapCode, Owner
from attendbot.config import Settings
from attendbot.ledger import Ledger, gap_id
from attendbot.model import AnswerTarget, DayResult, Evidence, OutgoingMessage, Response
from attendbot.outputs import slack_actions as actions
from attendbot.outputs.slack_messages import answer_sections, reroute_message, with_answer_sections

#: Day marks in the ledger.
CLOSED = "close_reported"  # the billing summary says what is still open at close of business
ALERTED_BEFORE_CLOSE = "alerted_before_close"
NOTE_CHARS = 2000  # a thread note kept in the ledger is cut to this many characters


def target_row(day: dt.date, target: AnswerTarget) -> dict:
    return {"token": target.token, "scope": target.scope, "charge_id": target.charge_id,
            "gap_ids": sorted({gap_id(day, g) for g in target.gaps}),
            "gap_codes": list(dict.fromkeys(str(g.code) for g in target.gaps)),
            "line": target.line.as_dict() if target.line else None}


def remember_alerts(ledger: Ledger, day: dt.date, messages: Iterable[OutgoingMessage], result: DayResult) -> None:
    """For each session alert with buttons: whom it mentions and what its tokens stand for."""
    facilitators = {s.label: s.facilitator for s in result.sessions}
    for m in messages:
        if m.kind != "session" or not m.targets:
            continue
        ledger.remember_alert(m.key, day, m.session, m.targets[-1].session_key, m.mention,
                              facilitators.get(m.session or ""), [target_row(day, t) for t in m.targets])


def may_answer(settings: Settings, mention: str | None, user: str) -> bool:
    """Only the facilitator the alert mentions, or a member of ``[slack] billing_leads``."""
    return bool(user) and (user == mention or user in settings.slack.billing_leads)


def _local(settings: Settings, at: dt.datetime) -> str:
    return at.astimezone(settings.program.tz).isoformat(timespec="seconds")


def record_answer(settings: Settings, ledger: Ledger, target: dict, action: actions.Action, at: dt.datetime,
                  sheet_time: dt.time | None = None) -> int:
    """Store a button's answer (the caller checked :func:`may_answer`). Returns its id."""
    codes = target["gap_codes"]
    detail = ""
    if action.answer == actions.LEFT_EARLY:
        sheet = actions.clock(sheet_time) if sheet_time else None
        detail = (f"left at {actions.clock(action.time)}; "
                  + (f"the sign-in sheet says {sheet}" if sheet else "the sign-in sheet has no time out"))
    elif action.answer == actions.DID_NOT_ATTEND:
        detail = "the facilitator says the patient did not attend: proposed void"
    elif action.answer == actions.NOT_MY_GROUP:
        detail = "re-routed to the billing channel"
    elif action.answer == actions.FIXED:
        detail = "re-check requested" + (" for the whole session" if target["scope"] == "session" else "")
    return ledger.record_response({
        "day": target["day"], "token": target["token"], "message_key": target["message_key"],
        "session": target["session"], "charge_id": target["charge_id"],
        "gap_code": codes[0] if codes and target["scope"] == "line" else None, "gap_ids": target["gap_ids"],
        "by": action.user, "answer": action.answer, "detail": detail,
        "attested_time": action.time, "sheet_time": sheet_time.isoformat(timespec="minutes") if sheet_time else None,
        "at": _local(settings, at), "after_run": ledger.last_run_id(), "source": "button",
        "channel": action.channel, "ts": action.message_ts})


def keep_note(settings: Settings, ledger: Ledger, alert: dict, reply: actions.Reply) -> bool:
    """Keep a thread reply as a note on the alert's session, once (by its channel and ts)."""
    if ledger.has_response_at(reply.channel, reply.ts):
        return False
    whole = ledger.session_target(alert["key"])
    answering = may_answer(settings, alert.get("mention"), reply.user)
    try:
        at = dt.datetime.fromtimestamp(float(reply.ts), tz=settings.program.tz)
    except (ValueError, OverflowError):
        at = dt.datetime.now(settings.program.tz)
    ledger.record_response({
        "day": alert["day"], "token": whole["token"] if whole else None, "message_key": alert["key"],
        "session": alert["session"], "charge_id": None, "gap_code": None,
        "gap_ids": whole["gap_ids"] if whole and answering else [], "by": reply.user, "answer": actions.NOTE,
        "detail": reply.text[:NOTE_CHARS], "at": _local(settings, at), "after_run": ledger.last_run_id(),
        "source": "thread", "channel": reply.channel, "ts": reply.ts})
    return True


def sheet_time_out(ledger: Ledger, day: dt.date, line: dict | None) -> dt.time | None:
    """The time out written on the sign-in sheet line ``line`` (evidence as a dict), if any."""
    if not line:
        return None
    wanted = Evidence(line.get("file", ""), line.get("page"), line.get("sheet"), line.get("row"))
    for sheet in ledger.day_records(day)[2]:
        for signin in sheet.lines:
            if signin.evidence == wanted:
                return signin.time_out
    return None


def answered_gap_ids(rows: Iterable[dict]) -> set[str]:
    return {g for r in rows for g in r["gap_ids"]}


def day_responses(settings: Settings, ledger: Ledger, day: dt.date) -> tuple[Response, ...]:
    """Every answer to the day's alerts, oldest first, for the JSON and the workbook."""
    names = {uid.strip(): name for name, uid in settings.slack.facilitators.items()}
    leads = set(settings.slack.billing_leads)
    out = []
    for r in ledger.responses(day):
        by_name = names.get(r["by"]) or ("billing lead" if r["by"] in leads else None)
        out.append(Response(answer=r["answer"], by=r["by"], at=r["at"], session=r["session"], gap_code=r["gap_code"],
                            charge_id=r["charge_id"], detail=r["detail"] or "", gap_ids=tuple(r["gap_ids"]),
                            attested_time=r["attested_time"], sheet_time=r["sheet_time"], by_name=by_name))
    return tuple(out)


# --- what a run shows of them -------------------------------------------------------------


@dataclass
class AnswerState:
    """The day's answers as a run shows them."""

    shown: dict[str, list[actions.Shown]] = field(default_factory=dict)  # button token -> answers on it
    rerouted: dict[str, tuple[str, str]] = field(default_factory=dict)  # session -> (by, at)
    blocks: list[dict] = field(default_factory=list)  # the billing summary's parts about answers
    said: str = ""  # and its line in the fallback text


def _hhmm(settings: Settings, iso: str) -> str:
    try:
        at = dt.datetime.fromisoformat(iso).astimezone(settings.program.tz)
    except (TypeError, ValueError):
        return "?"
    return actions.clock(at.time()) or "?"


def blocking_facilitator_gaps(ledger: Ledger, day: dt.date) -> list[dict]:
    """The day's open gaps a facilitator must fix before the charge can be billed."""
    out = []
    for row in ledger.gap_rows(day, "open"):
        try:
            code = GapCode(row["code"])
        except ValueError:
            continue
        if code.owner == Owner.FACILITATOR and code.effect == Disposition.HOLD:
            out.append(row)
    return out


def answer_state(settings: Settings, ledger: Ledger, day: dt.date, latest_run: int,
                 open_ids: set[str] | None = None) -> AnswerState:
    """The day's answers for the run ``latest_run`` (the pass that judges "still open").

    ``open_ids``: the ids of the gaps open in this run (default: the ledger's open gaps).
    """
    rows = ledger.responses(day)
    if open_ids is None:
        open_ids = {r["id"] for r in ledger.gap_rows(day, "open")}
    state = AnswerState()
    proposed, left, fixed_open = {}, {}, {}
    for r in rows:
        at = _hhmm(settings, r["at"])
        still = (r["answer"] == actions.FIXED and (r["after_run"] or 0) < latest_run
                 and any(g in open_ids for g in r["gap_ids"]))
        if r["token"]:
            state.shown.setdefault(r["token"], []).append(actions.Shown(
                r["answer"], r["by"], at, time=actions.clock(r["attested_time"]),
                sheet_time=actions.clock(r["sheet_time"]), still_open=still))
        if r["answer"] == actions.DID_NOT_ATTEND and r["charge_id"]:
            proposed[r["charge_id"]] = (r["charge_id"], r["session"] or "", r["by"], at)
        elif r["answer"] == actions.LEFT_EARLY and r["charge_id"]:
            left[r["charge_id"]] = (r["charge_id"], r["session"] or "", actions.clock(r["attested_time"]) or "?",
                                    actions.clock(r["sheet_time"]), r["by"])
        elif r["answer"] == actions.NOT_MY_GROUP and r["session"]:
            state.rerouted[r["session"]] = (r["by"], at)
        elif r["answer"] == actions.FIXED:
            key = (r["charge_id"], r["session"], r["token"])
            if still:
                fixed_open[key] = (r["charge_id"], r["session"] or "", _codes(ledger, r), r["by"], at)
            else:
                fixed_open.pop(key, None)
    still_open = None
    if ledger.day_mark(day, CLOSED):
        still_open = _still_open(ledger, day, answered_gap_ids(rows))
    close = actions.clock(settings.program.close_of_business) or ""
    state.blocks, state.said = answer_sections(
        proposed_voids=list(proposed.values()), left_early=list(left.values()),
        rerouted=[(s, by, at) for s, (by, at) in state.rerouted.items()], fixed_open=list(fixed_open.values()),
        still_open=still_open, close=close)
    return state


def _codes(ledger: Ledger, row: dict) -> list[str]:
    target = ledger.target(row["token"]) if row["token"] else None
    return list(target["gap_codes"]) if target else ([row["gap_code"]] if row["gap_code"] else [])


def _still_open(ledger: Ledger, day: dt.date, answered: set[str]) -> list[tuple]:
    """Per session with blocking facilitator gaps open: (Slack id, facilitator, session, open gaps,
    of them answered, charge ids)."""
    alerts = {a["session"]: a for a in ledger.alerts(day)}
    by_session: dict[str, list[dict]] = defaultdict(list)
    for row in blocking_facilitator_gaps(ledger, day):
        by_session[row["session"] or ""].append(row)
    out = []
    for session, rows in by_session.items():
        alert = alerts.get(session) or {}
        charges = sorted({r["charge_id"] for r in rows if r["charge_id"]})
        out.append((alert.get("mention"), alert.get("facilitator"), session or "(no session)", len(rows),
                    sum(r["id"] in answered for r in rows), charges))
    return sorted(out, key=lambda r: ((r[0] or r[1] or "~").casefold(), r[2].casefold()))


def finish(messages: Sequence[OutgoingMessage], state: AnswerState, settings: Settings) -> list[OutgoingMessage]:
    """The run's messages with what the answers add: a copy of each re-routed alert for the
    billing channel (before the billing summary) and the billing summary's parts about answers."""
    out: list[OutgoingMessage] = []
    for m in messages:
        if m.kind == "billing":
            out.extend(reroute_message(alert, by, at, settings.slack.billing_channel)
                       for alert in messages if alert.kind == "session" and alert.session in state.rerouted
                       for by, at in [state.rerouted[alert.session]])
            if state.blocks or state.said:
                m = with_answer_sections(m, state.blocks, state.said)
        out.append(m)
    return out


def state_for_run(settings: Settings, ledger: Ledger, result: DayResult, run_id: int) -> AnswerState:
    """:func:`answer_state` for a run that just reconciled ``result``."""
    return answer_state(settings, ledger, result.day, run_id, {gap_id(result.day, g) for g in result.gaps})


def day_marked_before_close(ledger: Ledger, day: dt.date) -> bool:
    return ledger.day_mark(day, ALERTED_BEFORE_CLOSE) is not None


def mark(ledger: Ledger, day: dt.date, what: str, at: dt.datetime) -> None:
    ledger.mark_day(day, what, at.isoformat(timespec="seconds"))

