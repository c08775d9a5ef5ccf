"""Slack messages for a reconciled day, as Block Kit payloads: pure, no network, no clock.

:func:`build_messages` turns a :class:`DayResult` into

* one alert per session that has facilitator-owned gaps, to
  ``[slack] facilitator_channel``, mentioning the session's facilitator by the
  Slack user id in ``[slack.facilitators]`` (matched as leniently as patients'
  names, :func:`slack_id`), one bullet per problem with one piece of advice and
  where on the sheet to look; what only an administrator can fix (no Slack id
  in config) is never said there;
* one intake digest (authorizations, concurrent reviews) to ``[slack] intake_channel``
  and one clinical digest (repeat no-shows, weekly hours) to ``[slack] clinical_channel``
  (each defaulting to the billing channel), on a day with such items — or edited to say
  they are resolved when one was posted before; and
* one billing summary, to ``[slack] billing_channel``, always — also on a day
  with no gaps — which also lists facilitators without a mention and sessions
  whose sheet, EHR and charge export name different facilitators.

Each alert carries buttons (SPEC "Answers in Slack", :mod:`attendbot.outputs.slack_actions`):
the first :data:`MAX_ANSWERABLE_LINES` bullets each in their own section with a row of
buttons (or one button beside a bullet about the whole session), then the session's own
*Fixed — re-check* and *Not my group*. What has been answered (``answers``, by button token)
is shown under its bullet; :func:`answer_sections`, :func:`reroute_message` and
:func:`escalation_text` render what the answers add for the billing lead and the thread.
:attr:`OutgoingMessage.targets` says what each token stands for; no button carries more.

Sending, retrying and editing are the client's job; each message's ``key`` is
stable for one day and session, so a later run finds the message it posted and
edits it instead of posting again.

Patient identity follows ``[slack] patient_identity`` (SPEC.md "Slack"): with
``none`` no patient name, initials or id appears anywhere in a payload; lines
point to the charge id or the sheet line, as the gap messages already do.
``initials`` appends initials and the last four characters of the patient id,
``full`` the name and the id. The intake and clinical digests are about patients,
not sessions: with ``none`` each item names its charge id and the last four
characters of the MRN (never a name), so intake staff can find the chart.

Limits (Slack's, enforced here so a send never fails on size): at most
:data:`MAX_BLOCKS` blocks a message, :data:`MAX_SECTION_CHARS` characters in a
section's text, :data:`MAX_HEADER_CHARS` in a header, :data:`MAX_FALLBACK_CHARS`
in the plain ``text`` fallback. A session alert lists at most
:data:`MAX_LISTED_LINES` lines (readability on a phone); whatever does not fit is
counted in a last block ("… and N more — see the audit workbook"), never dropped
silently and never rejected.

All text taken from inputs (session labels, gap messages, names, file names and
details, payers, the program name) is escaped for mrkdwn (``&``, ``<``, ``>``), so
a group called ``<!channel> & friends`` cannot ping a channel or break a link.
The only ``<…>`` sequences in a payload are the ``<@U…>`` mentions built here.
Headers carry only text built here (no input text), so no plain-text escaping
question arises.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from attendbot import messages as say
from attendbot.codes import Disposition, GapCode, Owner
from attendbot.config import SlackSection
from attendbot.model import (AnswerTarget, Charge, ChargeResult, DayResult, DayStatus, Evidence, FileReport, Gap,
                             OutgoingMessage, SessionSummary)
from attendbot.outputs import slack_actions as actions
from attendbot.names import match_name

#: Slack: at most 50 blocks in one message.
MAX_BLOCKS = 50
#: Slack: at most 3,000 characters in a section block's text.
MAX_SECTION_CHARS = 3000
#: Slack: at most 150 characters in a header block's text.
MAX_HEADER_CHARS = 150
#: Slack truncates very long ``text``; we keep the fallback short and say so when cut.
MAX_FALLBACK_CHARS = 3000
#: Lines packed into one section block (readability: a block is one screenful on a phone).
LINES_PER_SECTION = 10
#: Gap lines listed in one session alert; the rest are counted and left to the audit workbook.
MAX_LISTED_LINES = 40
#: Gap lines of one session alert that carry their own buttons (two blocks each); the rest are
#: listed without, and answered with the session's own buttons or in the thread.
MAX_ANSWERABLE_LINES = 15
#: Charge ids named in one collapsed line ("Charges C-1, C-2 and 3 more: …").
MAX_IDS_PER_LINE = 15
#: Entries listed in one part of the billing summary (unreadable files, payers, facilitators).
MAX_SUMMARY_LINES = 30

_TRUNCATED = " … (truncated — see the audit workbook)"
_ELLIPSIS = "…"


def build_messages(result: DayResult, files: Sequence[FileReport], slack: SlackSection, *,
                   program: str, sent_before_close: bool | None = None,
                   resolved: Mapping[str, Sequence[str]] | None = None, not_ended: Collection[str] = (),
                   notes: Sequence[str] = (), digests_sent: Collection[str] = (),
                   status: DayStatus | None = None,
                   answers: Mapping[str, Sequence[actions.Shown]] | None = None) -> list[OutgoingMessage]:
    """Build the day's Slack messages.

    Args:
        result: the day as reconciled.
        files: every inbox file this run saw; the ``unreadable`` ones are listed in the billing summary.
        slack: the ``[slack]`` config: channels, facilitator ids, patient identity mode.
        program: the program's name, shown in the billing summary.
        sent_before_close: whether the alerts went out before close of business; None leaves it out.
        resolved: session label -> messages of its facilitator gaps fixed since they were alerted;
            shown struck through, so the alert edited in place tells what is done.
        not_ended: labels of sessions that have not ended yet: not alerted on until a later run.
        notes: delivery problems an administrator must fix, added to the billing summary.
        digests_sent: kinds (``"intake"``, ``"clinical"``) whose digest for the day was posted
            before: with no items left it is still built, saying they are resolved.
        status: what the run saw and could not see; anything but ``complete`` is said at the
            top of the billing summary, so a day is never reported clean when it was not checked.
        answers: what has been answered in Slack, by button token (see
            :mod:`attendbot.outputs.slack_actions`); each bullet shows its own under it.

    Returns:
        One session alert per session with facilitator-owned gaps (in the order of
        ``result.sessions``), then the intake and clinical digests, then the billing summary. The list SHALL always end
        with the billing summary, even on a day without gaps. Every payload stays
        within Slack's size limits (see the module docstring).
    """
    who = _Identity(slack.patient_identity, result.charges)
    gaps = list(dict.fromkeys(result.gaps))  # a gap listed twice is one thing to fix
    by_session: dict[str | None, list[Gap]] = defaultdict(list)
    for gap in gaps:
        by_session[gap.session_key].append(gap)

    messages: list[OutgoingMessage] = []
    unmapped: list[tuple[str | None, str, str]] = []  # (facilitator, session label, why) alerted without a mention
    resolved = resolved or {}
    sessions = {s.key: s for s in reversed(result.sessions)}
    for gap in gaps:  # a gap's session the day's summaries do not list still gets its alert
        if gap.session_key is not None and gap.session_key not in sessions:
            sessions[gap.session_key] = SessionSummary(gap.session or gap.session_key, None, None, None, None,
                                                       0, 0, 0, 0, None, key=gap.session_key)
    order = list(dict.fromkeys([s.key for s in result.sessions] + [g.session_key for g in gaps if g.session_key]))
    for key in order:
        summary = sessions[key]
        label, facilitator = summary.label, summary.facilitator
        session_gaps = by_session.get(key, [])
        if label in not_ended:
            continue
        if not any(g.owner == Owner.FACILITATOR for g in session_gaps):
            if resolved.get(label):
                messages.append(all_clear_message(result.day.isoformat(), label, slack.facilitator_channel,
                                                  resolved[label]))
            continue
        uid, why = slack_id(facilitator, slack.facilitators)
        if uid is None:
            unmapped.append((facilitator, label, why))
        charges = [c for c in result.charges if c.session_key == key]
        messages.append(_session_message(result, summary, uid, charges, session_gaps, who,
                                         slack.facilitator_channel, resolved.get(label, ()), answers))
    for kind in DIGESTS:
        digest = digest_message(result, gaps, slack, kind, program=program, sent_before=kind in digests_sent)
        if digest is not None:
            messages.append(digest)
    sessionless = [g for g in by_session.get(None, []) if g.owner == Owner.FACILITATOR]
    alerts = [m for m in messages if m.kind == "session" and m.items]
    disagree = [(s.label, s.facilitator_note) for s in result.sessions if s.facilitator_note]
    messages.append(_billing_message(result, gaps, files, program, unmapped, sessionless,
                                     (len(alerts), sum(m.items for m in alerts)), sent_before_close,
                                     slack.billing_channel, len(not_ended), notes, status or DayStatus(),
                                     disagree))
    return messages


def slack_id(facilitator: str | None, facilitators: Mapping[str, str]) -> tuple[str | None, str]:
    """The Slack user id ``[slack.facilitators]`` gives a facilitator, matched as leniently as
    patients' names (``Priya Raman, LCSW``, ``RAMAN, PRIYA`` and ``Dr. Priya Raman`` are
    ``"Priya Raman"``); ``(None, why)`` when there is none or two entries fit alike (never guessed)."""
    if not facilitator:
        return None, "no facilitator named"
    match = match_name(facilitator, [(name, name) for name in facilitators])
    if match.key is None:
        return None, ("two entries in [slack.facilitators] fit" if match.ambiguous
                      else "no Slack id in config")
    uid = facilitators[match.key].strip()
    if not _USER_ID.fullmatch(uid):
        return None, "its Slack id in config is not a user id"
    return uid, ""


def all_clear_message(day: str, label: str, channel: str, resolved: Sequence[str] = ()) -> OutgoingMessage:
    """What a session's alert becomes once every facilitator gap in it is resolved."""
    intro = f"*{escape(label)}*\n:white_check_mark: All attendance gaps for this session are resolved. Thank you!"
    blocks: list[Block] = [HeaderBlock(text=_clip(f"Attendance gaps resolved — {day}", MAX_HEADER_CHARS)),
                           SectionBlock(text=MarkdownTextObject(text=_clip(intro, MAX_SECTION_CHARS)))]
    blocks.extend(_struck(resolved))
    return OutgoingMessage(key=f"{day}:session:{label}", channel=channel,
                           text=f"All attendance gaps for {escape(label)} on {day} are resolved.",
                           blocks=[b.to_dict() for b in blocks], kind="session", session=label)


def _struck(resolved: Sequence[str], limit: int = 10) -> list[Block]:
    """Resolved items, struck through: the edited alert keeps a record of what was fixed."""
    if not resolved:
        return []
    lines = [f"• ~{escape(_clip(m, 280))}~" for m in list(dict.fromkeys(resolved))[:limit]]
    more = len(set(resolved)) - len(lines)
    if more > 0:
        lines.append(f"_… and {more} more resolved_")
    return [SectionBlock(text=MarkdownTextObject(text=_clip("*Resolved:*\n" + "\n".join(lines), MAX_SECTION_CHARS)))]


# --- session alerts -----------------------------------------------------------------


def _session_message(result: DayResult, summary: SessionSummary, uid: str | None,
                     charges: list[ChargeResult], gaps: list[Gap], who: _Identity, channel: str,
                     resolved: Sequence[str] = (),
                     answers: Mapping[str, Sequence[actions.Shown]] | None = None) -> OutgoingMessage:
    day, label, facilitator = result.day.isoformat(), summary.label, summary.facilitator
    mine = [g for g in gaps if g.owner == Owner.FACILITATOR]
    groups = _gap_groups(mine)
    lines = [_gap_line(key, same, who, summary) for key, same in groups]
    targets: list[AnswerTarget] = []
    for key, same in groups:  # a block id is unique in a message, or Slack refuses the message
        target = actions.line_target(day, label, summary.key, key, same, dict(summary.lines))
        while any(t.token == target.token for t in targets):
            target = dataclasses.replace(target, token=actions.token(day, summary.key, ("again", target.token)))
        targets.append(target)
    whole = actions.session_target(day, label, summary.key, mine)
    answers = answers or {}
    on_hold = sum(1 for c in charges if c.disposition == Disposition.HOLD)
    n_items = len(lines)  # the count a facilitator reads is the bullets they see: one a problem

    if uid is not None:
        addressed = f"<@{uid}>"
    elif facilitator:  # why there is no mention is the billing lead's to fix, not the facilitator's
        addressed = escape(facilitator)
    else:
        addressed = "no facilitator named on the sheet, in the EHR or on the charges"
    intro = (f"*{escape(label)}*\nFacilitator: {addressed}\n"
             f"{_count(n_items, 'item')} to fix · {on_hold} of {_count(len(charges), 'charge')} on hold "
             f"until fixed")

    others = Counter(str(g.owner) for g in gaps if g.owner != Owner.FACILITATOR)
    tail: list[Block] = _struck(resolved)
    elsewhere = ""
    if others:
        parts = [_count(n, f"{owner} item") for owner, n in sorted(others.items())]
        elsewhere = f"+ {_join(parts)} for this session in the audit workbook"
        tail.append(ContextBlock(elements=[MarkdownTextObject(text=elsewhere)]))

    head: list[Block] = [
        HeaderBlock(text=_clip(f"Attendance gaps to fix — {day}", MAX_HEADER_CHARS)),
        SectionBlock(text=MarkdownTextObject(text=_clip(intro, MAX_SECTION_CHARS))),
        DividerBlock(),
    ]
    foot: list[dict] = []
    said = actions.annotation(answers.get(whole.token, ()))
    if said:
        foot.append(ContextBlock(elements=[MarkdownTextObject(text=_clip(said, MAX_SECTION_CHARS))]).to_dict())
    foot.extend(actions.session_blocks(whole))
    body = _answerable_body(lines, targets, answers, MAX_BLOCKS - len(head) - len(tail) - len(foot))
    blocks = [*(b.to_dict() for b in head), *body, *(b.to_dict() for b in tail), *foot]

    fallback = (f"Attendance gaps for {escape(label)} on {day} — {addressed}: "
                f"{_count(n_items, 'item')} to fix, {on_hold} of {_count(len(charges), 'charge')} on hold.\n"
                + "\n".join(line for line, _ in lines) + (f"\n{elsewhere}" if elsewhere else ""))
    return OutgoingMessage(key=f"{day}:session:{label}", channel=channel, text=_clip(fallback, MAX_FALLBACK_CHARS,
                                                                                     _TRUNCATED),
                           blocks=blocks, kind="session", session=label, items=n_items,
                           targets=(*targets, whole), mention=uid)


def _answerable_body(lines: list[tuple[str, int]], targets: list[AnswerTarget],
                     answers: Mapping[str, Sequence[actions.Shown]], budget: int) -> list[dict]:
    """The alert's bullets: the first :data:`MAX_ANSWERABLE_LINES` each in its own section with
    its buttons and what has been answered on it; the rest packed as before (several a block,
    then "… and N more"), within ``budget`` blocks."""
    body: list[dict] = []
    shown = 0
    for i, ((line, _), target) in enumerate(zip(lines, targets)):
        if shown >= min(MAX_ANSWERABLE_LINES, MAX_LISTED_LINES):
            break
        said = actions.annotation(answers.get(target.token, ()))
        text = _clip(line, MAX_SECTION_CHARS - len(said) - 1) + (f"\n{said}" if said else "")
        blocks = actions.line_blocks(text, target)
        reserve = 1 if i + 1 < len(lines) else 0  # room for the rest, or "… and N more"
        if len(body) + len(blocks) + reserve > budget:
            break
        body.extend(blocks)
        shown += 1
    rest = lines[shown:]
    if rest:
        body.extend(b.to_dict() for b in _pack(rest, budget - len(body), max_items=MAX_LISTED_LINES - shown,
                                               more=lambda n: f"_… and {_count(n, 'more gap')} — see the audit "
                                                              "workbook_"))
    return body


#: Gaps about one patient's line on the sheet: on one charge they are one problem, one bullet.
_LINE_CODES = frozenset({GapCode.MISSING_SIGNATURE, GapCode.ATTENDANCE_CONFLICT, GapCode.NOT_ON_SIGNIN,
                         GapCode.UNMATCHED_SIGNIN_NAME, GapCode.SCAN_UNCERTAIN})
#: Gaps about the session's sheet as a whole: they point to the sheet, never to a patient's line.
_SESSION_CODES = frozenset({GapCode.FACILITATOR_SIGNATURE_MISSING, GapCode.NO_SIGNIN_SHEET})
#: Which gap of a merged line speaks for it, first first. A line a scan left in doubt is looked at
#: on paper before anything else: the others (unsigned, so not matching the EHR) may follow from it.
_LINE_ORDER = (GapCode.SCAN_UNCERTAIN, GapCode.MISSING_SIGNATURE, GapCode.NOT_ON_SIGNIN,
               GapCode.ATTENDANCE_CONFLICT, GapCode.UNMATCHED_SIGNIN_NAME)


def _gap_lines(gaps: list[Gap], who: _Identity, summary: SessionSummary | None = None) -> list[tuple[str, int]]:
    """One mrkdwn bullet per problem, ``(line, number of things to fix it stands for)``.

    * The gaps of one patient's sheet line (an unsigned line the EHR marks present is both
      MISSING_SIGNATURE and ATTENDANCE_CONFLICT) are one bullet with one piece of advice.
    * Gaps that differ only by their charge id — a session-level gap such as
      FACILITATOR_SIGNATURE_MISSING or NO_SIGNIN_SHEET, repeated on every charge of the
      session — are one bullet naming all those charge ids.
    * Every bullet points to the sheet, page and line where there is one, so a facilitator
      can find the patient with ``patient_identity = "none"``.
    """
    return [_gap_line(key, same, who, summary) for key, same in _gap_groups(gaps)]


def _gap_groups(gaps: list[Gap]) -> list[tuple[tuple, list[Gap]]]:
    """The gaps of each bullet (see :func:`_gap_lines`), with the key that grouped them."""
    groups: dict[tuple, list[Gap]] = {}
    for gap in gaps:
        if gap.charge_id and gap.code in _LINE_CODES:
            key: tuple = ("line", gap.session_key, gap.charge_id)
        elif gap.charge_id and gap.facts and say.names_one_charge_first(gap.code):
            key = gap.problem
        else:
            key = (id(gap),)
        groups.setdefault(key, []).append(gap)
    return list(groups.items())


def _gap_line(key: tuple, same: list[Gap], who: _Identity, summary: SessionSummary | None) -> tuple[str, int]:
    charge_ids = list(dict.fromkeys(g.charge_id for g in same if g.charge_id))
    if key[0] == "line" or len(same) == 1:
        text = escape(_line_problem(same) if len(same) > 1 else same[0].message)
        weight = 1
    else:
        shown = charge_ids[:MAX_IDS_PER_LINE]
        names = [escape(c) for c in shown]
        if len(charge_ids) > len(shown):
            names.append(f"{len(charge_ids) - len(shown)} more")
        text = f"Charges {_join(names)}:{escape(say.gap_body(same[0].code, **dict(same[0].facts)))}"
        weight = len(same)
    where = _where(same, summary)
    suffix = who.describe(same)
    line = f"• {text}{suffix}" + (f" _({escape(where)})_" if where else "")
    return _clip(line, MAX_SECTION_CHARS), weight


def _line_problem(gaps: list[Gap]) -> str:
    """One sentence, with one piece of advice, for the gaps of one patient's sheet line."""
    by_code = {g.code: g for g in gaps}
    facts = {k: v for g in gaps for k, v in g.facts}
    charge_id = next((g.charge_id for g in gaps if g.charge_id), "")
    session = facts.get("session", "the session's")
    conflict = by_code.get(GapCode.ATTENDANCE_CONFLICT)
    present = conflict is not None and "marks the patient present" in dict(conflict.facts).get("detail", "") \
        and GapCode.SCAN_UNCERTAIN not in by_code
    if GapCode.MISSING_SIGNATURE in by_code and present:
        line = dict(by_code[GapCode.MISSING_SIGNATURE].facts).get("line", "?")
        return (f"Line {line} of the {session} sheet is unsigned, but the EHR marks the patient present "
                f"(charge {charge_id}) — if they attended, have them sign line {line}; if not, correct the EHR.")
    if GapCode.NOT_ON_SIGNIN in by_code and present:
        return (f"Charge {charge_id}: the EHR marks the patient present, but they are not on the {session} "
                f"sign-in sheet — if they attended, add their signed line; if not, correct the EHR.")
    first = next(by_code[c] for c in (*_LINE_ORDER, *by_code) if c in by_code)
    also = [str(g.code) for g in gaps if g is not first]
    notes = [f"charge {charge_id}"] if charge_id and charge_id not in first.message else []
    notes += [f"also flagged: {', '.join(also)}"] if also else []
    return first.message + (f" ({'; '.join(notes)})" if notes else "")


def _where(gaps: list[Gap], summary: SessionSummary | None) -> str:
    """``signin.pdf, page 1, line 3``: where on the session's sign-in sheet to look, or ``""``."""
    if summary is None:
        return ""
    charges = {g.charge_id for g in gaps}
    if len(charges) == 1 and not any(g.code in _SESSION_CODES for g in gaps):
        ev = summary.lines.get(next(iter(charges)) or "")
        if ev is not None:
            return _place(ev, line=True)
    sheet = summary.sheet
    for gap in gaps:
        ev = gap.evidence
        if sheet is not None and ev is not None and ev.file == sheet.file and (ev.page or ev.sheet):
            return _place(ev, line=ev.row is not None)
    return ""


def _place(ev: Evidence, line: bool) -> str:
    parts = [_basename(ev.file)]
    if ev.page is not None:
        parts.append(f"page {ev.page}")
        if line and ev.row is not None:
            parts.append(f"line {ev.row}")
    elif ev.sheet is not None:
        parts.append(f"worksheet {ev.sheet!r}")
        if line and ev.row is not None:
            parts.append(f"row {ev.row}")
    return ", ".join(parts)


# --- the intake and clinical digests -----------------------------------------------

#: kind -> (owner, header, the parts: (title, what one item is, gap codes)).
DIGESTS: dict[str, tuple[Owner, str, tuple[tuple[str, str, tuple[GapCode, ...]], ...]]] = {
    "intake": (Owner.INTAKE, "Authorizations and reviews", (
        ("Authorization holds", "authorization hold", (GapCode.AUTH_MISSING, GapCode.AUTH_EXPIRED,
                                                       GapCode.AUTH_EXHAUSTED, GapCode.AUTH_CODE_NOT_COVERED)),
        ("Concurrent reviews", "concurrent review", (GapCode.CONCURRENT_REVIEW_DUE,)))),
    "clinical": (Owner.CLINICAL, "Clinical follow-up", (
        ("Repeat no-shows", "repeat no-show", (GapCode.REPEAT_NO_SHOW,)),
        ("Weekly hours", "week short of its minimum", (GapCode.WEEKLY_HOURS_LOW,)))),
}


def digest_channel(slack: SlackSection, kind: str) -> str:
    """``intake_channel`` / ``clinical_channel``, or the billing channel when unset."""
    return (slack.intake_channel if kind == "intake" else slack.clinical_channel) or slack.billing_channel


def digest_message(result: DayResult, gaps: Sequence[Gap], slack: SlackSection, kind: str, *, program: str,
                   sent_before: bool = False) -> OutgoingMessage | None:
    """The day's one intake or clinical digest: every item of that owner, grouped, each naming its
    charge id and the patient as ``patient_identity`` allows. None on a day without items, unless a
    digest was posted before (``sent_before``): then it says everything is resolved."""
    owner, title, parts = DIGESTS[kind]
    day = result.day.isoformat()
    mine = [g for g in gaps if g.owner == owner]
    if not mine and not sent_before:
        return None
    who = _DigestIdentity(slack.patient_identity, result.charges)
    header = HeaderBlock(text=_clip(f"{title} — {day}", MAX_HEADER_CHARS))
    if not mine:
        text = f"*{escape(program)}* · {day}\n:white_check_mark: No {title.lower()} items are open for this day."
        blocks = [header, SectionBlock(text=MarkdownTextObject(text=_clip(text, MAX_SECTION_CHARS)))]
        return OutgoingMessage(key=f"{day}:{kind}", channel=digest_channel(slack, kind),
                               text=f"{title} for {escape(program)}, {day}: no items open.",
                               blocks=[b.to_dict() for b in blocks], kind=kind, session=None)
    holds = sum(1 for g in mine if g.code.effect != Disposition.READY)
    counts = [_count_items(sum(1 for g in mine if g.code in codes), one)
              for _, one, codes in parts if any(g.code in codes for g in mine)]
    intro = f"*{escape(program)}* · {day}\n{_join(counts)}"
    if holds:
        intro += f" · {_count(holds, 'charge')} on hold until fixed"
    blocks: list[Block] = [header, SectionBlock(text=MarkdownTextObject(text=_clip(intro, MAX_SECTION_CHARS))),
                           DividerBlock()]
    fallback = [f"{title} for {escape(program)}, {day}: {_strip_bold(_join(counts))}"]
    room = MAX_BLOCKS - len(blocks)
    sections = [(name, [g for g in mine if g.code in codes]) for name, _, codes in parts]
    sections = [(name, items) for name, items in sections if items]
    for i, (name, items) in enumerate(sections):
        lines = [(f"*{name}:*", 0)] + [(_digest_line(g, who), 1) for g in items]
        share = max(2, (room - 1) // max(1, len(sections) - i))
        packed = _pack(lines, share, max_items=MAX_LISTED_LINES + 1,
                       more=lambda n: f"_… and {_count(n, 'more item')} — see the audit workbook_")
        blocks.extend(packed)
        room -= len(packed)
        fallback.append(f"{name}: " + "; ".join(_plain(t) for t, _ in lines[1:]))
    return OutgoingMessage(key=f"{day}:{kind}", channel=digest_channel(slack, kind),
                           text=_clip("\n".join(fallback), MAX_FALLBACK_CHARS, _TRUNCATED),
                           blocks=[b.to_dict() for b in blocks[:MAX_BLOCKS]], kind=kind, session=None)


def _count_items(n: int, one: str) -> str:
    """``1 repeat no-show``, ``2 weeks short of their minimum``."""
    if n == 1:
        return f"1 {one}"
    head, _, tail = one.partition(" ")
    if one.startswith("week short"):
        return f"{n} weeks short of their minimum"
    return f"{n} {one}s" if not tail else f"{n} {head} {tail}s"


def _digest_line(gap: Gap, who: "_DigestIdentity") -> str:
    """``• Charge C-1: … (MRN …0204)``; an item whose sentence does not name its charge names it after."""
    facts = dict(gap.facts)
    new = gap.code == GapCode.WEEKLY_HOURS_LOW and not facts.get("since")
    parts = []
    if gap.charge_id and not say.names_one_charge_first(gap.code):
        parts.append(f"charge {escape(gap.charge_id)}")
    parts.extend(who.describe(gap))
    suffix = f" ({'; '.join(parts)})" if parts else ""
    return _clip(f"• {'*new* ' if new else ''}{escape(gap.message)}{suffix}", MAX_SECTION_CHARS)


class _DigestIdentity:
    """Who an intake or clinical item is about: ``none`` the MRN's last four characters,
    ``initials`` initials too, ``full`` the name and the whole MRN."""

    def __init__(self, mode: str, charges: Iterable[ChargeResult]):
        self.mode = mode
        self.names: dict[str, str] = {}
        for c in charges:
            self.names.setdefault(c.charge.patient_id, c.charge.patient_name)

    def describe(self, gap: Gap) -> list[str]:
        pid = gap.patient_id
        if not pid:
            return []
        name = self.names.get(pid)
        if self.mode == "full":
            parts = [name.strip()] if name else []
            parts.append(pid)
        elif self.mode == "initials":
            parts = [initials(name)] if name and initials(name) else []
            parts.append(_ELLIPSIS + pid[-4:])
        else:
            parts = [f"MRN {_ELLIPSIS}{pid[-4:]}"]
        return [escape(", ".join(parts))]


# --- the billing summary -------------------------------------------------------------


def _billing_message(result: DayResult, gaps: list[Gap], files: Sequence[FileReport], program: str,
                     unmapped: list[tuple[str | None, str, str]], sessionless: list[Gap], alerts: tuple[int, int],
                     sent_before_close: bool | None, channel: str, not_ended: int, delivery: Sequence[str],
                     status: DayStatus, disagree: Sequence[tuple[str, str]] = ()) -> OutgoingMessage:
    day = result.day.isoformat()
    total = len(result.charges)
    by_disposition = Counter(c.disposition for c in result.charges)
    at_risk: dict[Disposition, float] = defaultdict(float)
    for c in result.charges:
        at_risk[c.disposition] += c.dollars_at_risk
    fees = sum(c.no_show_fee or 0.0 for c in result.charges if c.disposition == Disposition.VOID)

    if total == 0:  # never "no charges": without a charge export covering the day, nothing was checked
        counts = "Nothing was checked: no charge export covers this day."
    elif by_disposition[Disposition.READY] == total:
        counts = f"All {_count(total, 'charge')} ready."
    else:
        counts = f"*{_count(total, 'charge')}:* " + " · ".join(
            f"{by_disposition[d]} {d}" for d in Disposition if by_disposition[d])

    blocks: list[Block] = [
        HeaderBlock(text=_clip(f"Billing summary — {day}", MAX_HEADER_CHARS)),
        SectionBlock(text=MarkdownTextObject(text=_clip(f"*{escape(program)}* · {day}\n{counts}",
                                                        MAX_SECTION_CHARS))),
    ]
    fallback = [f"Billing summary for {escape(program)}, {day}: {_strip_bold(counts)}"]
    if status.state != "complete":
        said = f":warning: *{status.label}:* {escape(status.note)}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip(said, MAX_SECTION_CHARS))))
        fallback.append(_strip_bold(said))

    if total and by_disposition[Disposition.READY] < total:
        money = (f"*At risk:* {_dollars(at_risk[Disposition.HOLD])} on hold · "
                 f"{_dollars(at_risk[Disposition.VOID])} void · {_dollars(at_risk[Disposition.ADJUST])} adjusted")
        if fees:
            money += f"\nNo-show fees to bill instead: {_dollars(fees)}"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=money)))
        fallback.append(_strip_bold(money))

    billing = Counter(str(g.code) for g in gaps if g.owner == Owner.BILLING)
    other = Counter(str(g.code) for g in gaps if g.owner in (Owner.INTAKE, Owner.CLINICAL))
    parts: list[tuple[str, list[tuple[str, int]]]] = [
        ("*Billing items by gap code:*", [(f"• `{code}` {n}", n) for code, n in sorted(billing.items())]),
        ("*Intake and clinical items:*", [(f"• `{code}` {n}", n) for code, n in sorted(other.items())]),
        ("*Unreadable files (quarantined):*", [(line, 1) for line in _unreadable(files, gaps)]),
        ("*Bill as another code (the minutes support it, not the code charged):*",
         [(f"• {escape(c.charge.charge_id)}: {escape(c.charge.code)} → {escape(c.supported_code)}", 1)
          for c in result.charges if c.supported_code and c.disposition == Disposition.ADJUST]),
        ("*Not checked today:*", [(f"• {escape(note)}", 1) for note in result.notes]),
        ("*Payers with no section in payers.toml (reconciled under the defaults):*",
         [(f"• {escape(p)}", 1) for p in result.unknown_payers]),
        ("*Facilitators with no Slack id in config (alerted without a mention):*",
         [(f"• {escape(name) if name else '(no facilitator named)'} — {escape(label)}"
           + (f" ({escape(why)})" if name and why != "no Slack id in config" else ""), 1)
          for name, label, why in unmapped]),
        ("*Sessions whose sheet, EHR and charge export name different facilitators:*",
         [(f"• {escape(label)} — {escape(note)}", 1) for label, note in disagree]),
    ]
    if sessionless:
        parts.append(("*Facilitator items with no session:*",
                      [(f"• {escape(g.message)}", 1) for g in sessionless]))
    if delivery:
        parts.insert(0, ("*:warning: Slack delivery — to fix:*", [(f"• {escape(n)}", 1) for n in delivery]))
    for title, entries in parts:
        if not entries:
            continue
        blocks.extend(_pack([(title, 0), *entries], 4, max_items=MAX_SUMMARY_LINES + 1,
                            more=lambda n: f"_… and {n} more — see the audit workbook_"))
        fallback.append(f"{_strip_bold(title)} " + "; ".join(_plain(t) for t, _ in entries))

    notes = []
    if not_ended:
        notes.append(f"{_count(not_ended, 'session')} still in progress: alerted on after it ends.")
    if alerts[0]:
        notes.append(f"Facilitator alerts: {_count(alerts[0], 'session')}, {_count(alerts[1], 'item')}.")
    if sent_before_close is True:
        notes.append("Alerts went out before close of business.")
    elif sent_before_close is False:
        notes.append(":warning: Alerts went out *after* close of business.")
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" ".join(notes))]))
        fallback.extend(_strip_bold(n) for n in notes)

    return OutgoingMessage(key=f"{day}:billing", channel=channel,
                           text=_clip("\n".join(fallback), MAX_FALLBACK_CHARS, _TRUNCATED),
                           blocks=[b.to_dict() for b in blocks[:MAX_BLOCKS]], kind="billing", session=None)


def _unreadable(files: Sequence[FileReport], gaps: list[Gap]) -> list[str]:
    """Unreadable files by base name and reason, then unreadable pages of files read otherwise."""
    lines, seen = [], set()
    for f in files:
        if f.status == "unreadable":
            name = _basename(f.path)
            seen.add(name)
            detail = f" — {escape(_clip(f.detail, 300))}" if f.detail else ""
            lines.append(f"• {escape(name)}{detail}")
    for g in gaps:
        if g.code == GapCode.UNREADABLE_FILE and (g.evidence is None or _basename(g.evidence.file) not in seen):
            lines.append(f"• {escape(_clip(g.message, 500))}")
    return lines


# --- patient identity ----------------------------------------------------------------


class _Identity:
    """What a gap line says about the patient, per ``[slack] patient_identity``."""

    def __init__(self, mode: str, charges: Iterable[ChargeResult]):
        self.mode = mode
        # By charge id *and* patient: two patients' lines may share a charge id, and a gap on
        # one of them must never name the other patient.
        self.charges: dict[tuple[str, str], Charge] = {}
        for c in charges:
            self.charges.setdefault((c.charge.charge_id, c.charge.patient_id), c.charge)

    def describe(self, gaps: list[Gap]) -> str:
        """`` (M.N., …0204)`` for ``initials``, `` (Núñez, María, M-0204)`` for ``full``, ``""`` for ``none``."""
        if self.mode not in ("initials", "full"):
            return ""
        shown = list(dict.fromkeys(p for p in (self._one(g) for g in gaps) if p))
        return f" ({'; '.join(shown)})" if shown else ""

    def _one(self, gap: Gap) -> str:
        charge = self.charges.get((gap.charge_id, gap.patient_id)) if gap.charge_id and gap.patient_id else None
        name = charge.patient_name if charge else None
        patient_id = (charge.patient_id if charge else None) or gap.patient_id
        parts = []
        if self.mode == "initials":
            if name and initials(name):
                parts.append(initials(name))
            if patient_id:
                parts.append(_ELLIPSIS + patient_id[-4:])
        else:
            if name:
                parts.append(name.strip())
            if patient_id:
                parts.append(patient_id)
        return escape(", ".join(parts))


def initials(name: str) -> str:
    """``"Núñez, María"`` and ``"María Núñez"`` → ``"M.N."``: first-name initial, then last-name initial."""
    if "," in name:
        last, _, first = name.partition(",")
        first_words, last_words = first.split(), last.split()
    else:
        words = name.split()
        first_words, last_words = words[:1], words[1:][-1:]
    letters = [w[0].upper() for w in (first_words[:1] + last_words[:1]) if w[:1].isalpha()]
    return "".join(f"{ch}." for ch in letters)


# --- text helpers ----------------------------------------------------------------------

_USER_ID = re.compile(r"[A-Za-z0-9._-]+")


def escape(text: str) -> str:
    """Slack mrkdwn escaping of the three control characters, for text taken from inputs."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int, note: str = _ELLIPSIS) -> str:
    """``text`` cut to ``limit`` characters with ``note`` at the end, never inside ``&amp;`` or ``<@U…>``."""
    if len(text) <= limit:
        return text
    cut = text[:max(0, limit - len(note))]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut + note


def _pack(items: list[tuple[str, int]], max_blocks: int, *, max_items: int | None = None,
          more) -> list[Block]:
    """Lines packed into section blocks: several a block, each block within Slack's limit.

    ``items`` are ``(mrkdwn line, weight)``; a line is at most :data:`MAX_SECTION_CHARS`
    long. When the lines need more than ``max_blocks`` blocks, or there are more than
    ``max_items``, the last block is ``more(total weight not shown)`` instead.
    """
    items = [(_clip(text, MAX_SECTION_CHARS), weight) for text, weight in items]
    shown = items if max_items is None else items[:max_items]
    chunks: list[list[tuple[str, int]]] = []
    for item in shown:
        last = chunks[-1] if chunks else None
        if last is not None and len(last) < LINES_PER_SECTION \
                and sum(len(t) + 1 for t, _ in last) + len(item[0]) <= MAX_SECTION_CHARS:
            last.append(item)
        else:
            chunks.append([item])
    hidden = list(items[len(shown):])
    if len(chunks) > max_blocks or (hidden and len(chunks) >= max_blocks):
        keep = max(0, max_blocks - 1)
        hidden = [i for chunk in chunks[keep:] for i in chunk] + hidden
        chunks = chunks[:keep]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(t for t, _ in chunk)))
                           for chunk in chunks]
    if hidden:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=more(sum(w for _, w in hidden)))))
    return blocks


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _dollars(amount: float) -> str:
    return f"${amount:,.2f}"


def _strip_bold(text: str) -> str:
    """Our own ``*bold*`` markers off, for the plain-text fallback (only used on text built here)."""
    return text.replace("*", "")


def _plain(line: str) -> str:
    """A summary entry for the fallback: no bullet, no code ticks."""
    return line.removeprefix("• ").replace("`", "")


# --- answers in Slack: what the billing lead reads of them ---------------------------------

#: Block ids of the billing summary's parts about answers, so a later edit replaces them.
ANSWERS_BLOCK = "attendbot-answers"
_ANSWERS_TEXT = "\nAnswers in Slack: "


def answer_sections(*, proposed_voids: Sequence[tuple[str, str, str, str]] = (),
                    left_early: Sequence[tuple[str, str, str, str | None, str]] = (),
                    rerouted: Sequence[tuple[str, str, str]] = (),
                    fixed_open: Sequence[tuple[str | None, str, Sequence[str], str, str]] = (),
                    still_open: Sequence[tuple[str | None, str | None, str, int, int, Sequence[str]]] | None = None,
                    close: str = "") -> tuple[list[dict], str]:
    """The billing summary's parts about answers given in Slack, and a line for its fallback.

    Args:
        proposed_voids: ``(charge id, session, by, at)``: the facilitator says the patient did not attend.
        left_early: ``(charge id, session, attested time out, the sheet's time out or None, by)``.
        rerouted: ``(session, by, at)``: not the facilitator's group; the copy is in this channel.
        fixed_open: ``(charge id or None, session, gap codes, by, at)``: answered "fixed", still open.
        still_open: at close of business, ``(Slack id, facilitator name, session, open gaps, of them
            answered, charge ids)`` per session with blocking facilitator gaps still open; None before close.
        close: the close of business time shown (``"5:00 PM"``).
    """
    parts: list[tuple[str, list[tuple[str, int]]]] = [
        ("*Marked fixed in Slack, but still open after the re-check:*",
         [(f"• {_charge_or_session(cid, session)} — {escape(', '.join(codes))}; marked fixed by "
           f"{actions.mention(by)} at {at}", 1) for cid, session, codes, by, at in fixed_open]),
        ("*Proposed voids — the facilitator says the patient did not attend:*",
         [(f"• {escape(cid)} ({escape(session)}) — {actions.mention(by)} at {at}", 1)
          for cid, session, by, at in proposed_voids]),
        ("*Left early — attested time out beside the sheet's:*",
         [(f"• {escape(cid)} ({escape(session)}) — left at {attested}, the sheet says {sheet or 'nothing'}; "
           f"attested by {actions.mention(by)}", 1) for cid, session, attested, sheet, by in left_early]),
        ("*Re-routed here — not the facilitator's group (assign it):*",
         [(f"• {escape(session)} — {actions.mention(by)} at {at}", 1) for session, by, at in rerouted]),
    ]
    if still_open is not None:
        title = f"*Still open at close of business{f' ({close})' if close else ''}, by facilitator:*"
        entries = []
        for uid, name, session, n, answered, charges in still_open:
            who = actions.mention(uid) if uid else escape(name) if name else "(no facilitator named)"
            ids = [escape(c) for c in charges[:MAX_IDS_PER_LINE]]
            if len(charges) > len(ids):
                ids.append(f"{len(charges) - len(ids)} more")
            on = f" on {'charge' if len(charges) == 1 else 'charges'} {_join(ids)}" if ids else ""
            entries.append((f"• {who} — {escape(session)}: {_count(n, 'gap')} open{on}"
                            + (f" ({answered} answered in Slack)" if answered else ""), n))
        parts.append((title, entries or [("• nothing: every blocking facilitator item is fixed", 0)]))
    blocks: list[dict] = []
    said = []
    for title, entries in parts:
        if not entries:
            continue
        for block in _pack([(title, 0), *entries], 3, max_items=MAX_SUMMARY_LINES + 1,
                           more=lambda n: f"_… and {n} more — see the Responses sheet of the audit workbook_"):
            blocks.append({**block.to_dict(), "block_id": f"{ANSWERS_BLOCK}-{len(blocks)}"})
        said.append(f"{_strip_bold(title).rstrip(':')} {len(entries)}")
    return blocks, "; ".join(said)


def with_answer_sections(billing: OutgoingMessage, blocks: Sequence[dict], said: str) -> OutgoingMessage:
    """The billing summary with its parts about answers replaced by ``blocks`` (before its closing
    context line), within Slack's limits; the fallback text ends with ``said``."""
    kept = [b for b in billing.blocks if not str(b.get("block_id", "")).startswith(ANSWERS_BLOCK)]
    at = len(kept) - 1 if kept and kept[-1].get("type") == "context" else len(kept)
    room = max(0, MAX_BLOCKS - len(kept))
    merged = kept[:at] + list(blocks)[:room] + kept[at:]
    text = billing.text.split(_ANSWERS_TEXT, 1)[0]
    if said:
        text = _clip(text, MAX_FALLBACK_CHARS - len(_ANSWERS_TEXT) - 200, _TRUNCATED) + _ANSWERS_TEXT + _clip(said, 200)
    return dataclasses.replace(billing, blocks=merged, text=text)


def reroute_message(alert: OutgoingMessage, by: str, at: str, channel: str) -> OutgoingMessage:
    """A copy of a session alert for the billing channel, after its facilitator said "Not my group".

    Same bullets and buttons (so the billing lead can answer it there); the header says it was
    re-routed and by whom. Keyed ``<day>:reroute:<session>`` so later runs edit it in place.
    """
    day = alert.key.split(":", 1)[0]
    note = (f":arrow_right_hook: *Re-routed to billing:* {actions.mention(by)} says this is not their group "
            f"({at}). Assign it, then answer here or in this thread.")
    blocks = [dict(b) for b in alert.blocks]
    if blocks and blocks[0].get("type") == "header":
        blocks[0] = {**blocks[0], "text": {**blocks[0]["text"],
                                           "text": _clip(f"Re-routed: attendance gaps — {day}", MAX_HEADER_CHARS)}}
    intro = 1 if len(blocks) > 1 and blocks[1].get("type") == "section" else None
    if intro is not None:
        text = blocks[1]["text"]["text"]
        blocks[1] = {**blocks[1], "text": {**blocks[1]["text"],
                                           "text": _clip(f"{note}\n{text}", MAX_SECTION_CHARS)}}
    else:
        blocks.insert(1, ContextBlock(elements=[MarkdownTextObject(text=note)]).to_dict())
        blocks = blocks[:MAX_BLOCKS]
    return OutgoingMessage(key=f"{day}:reroute:{alert.session}", channel=channel,
                           text=_clip(f"{_strip_bold(note)}\n{alert.text}", MAX_FALLBACK_CHARS, _TRUNCATED),
                           blocks=blocks, kind="reroute", session=alert.session, items=alert.items,
                           targets=alert.targets, mention=alert.mention)


def escalation_text(uid: str | None, leads: Sequence[str], session: str, items: Sequence[str], close: str) -> str:
    """The thread reply raising again, before close of business, what nobody has answered or fixed."""
    who = actions.mention(uid) if uid else " ".join(actions.mention(u) for u in leads) or "Facilitator"
    shown = [f"• {escape(_clip(m, 400))}" for m in items[:MAX_SUMMARY_LINES]]
    if len(items) > len(shown):
        shown.append(f"_… and {len(items) - len(shown)} more — see the alert above_")
    head = (f"{who} close of business is at {close}, and {_count(len(items), 'item')} on the "
            f"{escape(session)} alert still {'blocks' if len(items) == 1 else 'block'} billing with no answer:")
    tail = "Fix it and press *Fixed — re-check*, or answer with the buttons above or a reply here."
    return _clip("\n".join([head, *shown, tail]), MAX_SECTION_CHARS)


def _charge_or_session(charge_id: str | None, session: str) -> str:
    return f"{escape(charge_id)} ({escape(session)})" if charge_id else escape(session)
