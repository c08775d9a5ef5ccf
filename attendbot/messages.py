"""Every sentence attendbot says about a gap, in one place.

A gap message is one line a person can act on. It names the charge id, the
sheet line, the session and the numbers that caused it — never a patient's name
or id, so the same text is safe in the JSON, the workbook, the log and Slack.
"""

from __future__ import annotations

import string
from functools import cache, lru_cache

from attendbot.codes import GapCode as G

TEMPLATES: dict[G, str] = {
    G.NO_SIGNIN_SHEET: "Charge {charge_id}: no sign-in sheet for {session} — scan or save today's signed roster "
                       "into the inbox.",
    G.NOT_ON_SIGNIN: "Charge {charge_id}: the patient is not on the {session} sign-in sheet — add their signed line, "
                     "or tell billing to void the charge.",
    G.MISSING_SIGNATURE: "Line {line} of the {session} sheet is unsigned (charge {charge_id}) — have that patient "
                         "sign today's roster.",
    G.FACILITATOR_SIGNATURE_MISSING: "Charge {charge_id}: the {session} sheet has no facilitator signature — sign "
                                     "the sheet's footer and re-scan it.",
    G.NO_EHR_ATTENDANCE: "Charge {charge_id}: no EHR attendance for this patient in {session} — record it in the EHR.",
    G.ATTENDANCE_CONFLICT: "Charge {charge_id}: {detail} — correct whichever of the sheet and the EHR is wrong.",
    G.NOTE_UNSIGNED: "Charge {charge_id}: the session note is {note} — sign it in the EHR.",
    G.MISSING_TIMES: "Charge {charge_id}: {code} needs the minutes attended, but neither the sheet nor the EHR has a "
                     "time in and out — record them.",
    G.SHORT_DURATION: "Charge {charge_id}: attended {minutes} of {required} minutes required for {code} under "
                      "{payer} — hold the charge.",
    G.UNITS_EXCEED_TIME: "Charge {charge_id}: {units} units of {code} charged, but {basis} — adjust to {supported}.",
    G.GROUP_SIZE_EXCEEDED: "Charge {charge_id}: {attendees} attended {session}, over {payer}'s maximum of "
                           "{maximum} — hold the charge.",
    G.TELEHEALTH_MODIFIER_MISSING: "Charge {charge_id}: {modality} session {detail} — correct the claim line.",
    G.TELEHEALTH_MODIFIER_UNEXPECTED: "Charge {charge_id}: in-person session billed with {detail} — remove it.",
    G.INVALID_NPI: "Charge {charge_id}: rendering NPI {detail} — correct the rendering provider's NPI.",
    G.SAME_DAY_CONFLICT: "Charge {charge_id}: {payer} does not pay {code} beside {other_code} (charge {other}) on "
                         "the same day — drop this line ({other_code} stays billable), or add a distinct-service "
                         "modifier ({modifiers}) if it was a separate service.",
    G.DUPLICATE_CHARGE: "Charge {charge_id}: {detail} — {action}.",
    G.NO_SHOW: "Charge {charge_id}: the patient did not attend {session} — {policy}.",
    G.LATE_CANCEL: "Charge {charge_id}: the patient cancelled {session} late — {policy}.",
    G.EXCUSED_ABSENCE: "Charge {charge_id}: the patient's absence from {session} was excused — void the charge "
                       "(not billable, never a fee).",
    G.PLACE_OF_SERVICE_MISMATCH: "Charge {charge_id}: the EHR records {session_kind}, but the claim line has place "
                                 "of service {pos} — {fix}.",
    G.GROUP_TOO_SMALL: "Charge {charge_id}: {attendees} attended {session}, under the minimum of {minimum} for "
                       "{code} as a group under {payer} — hold the charge.",
    G.CODE_TIME_MISMATCH: "Charge {charge_id}: {minutes} minutes attended, under the {required} that {code} needs "
                          "but enough for {supported_code} — bill it as {supported_code}.",
    G.ADD_ON_WITHOUT_PRIMARY: "Charge {charge_id}: {code} is an add-on code, but the patient has no {primaries} "
                              "billed that day — add the primary service's charge or void this one.",
    G.REVENUE_CODE_MISMATCH: "Charge {charge_id}: revenue code {revenue_code} is not one {payer} takes with {code} "
                             "({allowed}) — correct the revenue code.",
    G.UNBILLED_ATTENDANCE: "A patient attended {session} ({how}) with no charge — add the charge or note why.",
    G.UNMATCHED_SIGNIN_NAME: "Line {line} of the {session} sheet {detail} — check the printed name.",
    G.UNREADABLE_FILE: "{file} could not be read: {reason} — {action}",
    # across days (SPEC "Across days"): intake and clinical items
    G.AUTH_MISSING: "Charge {charge_id}: {detail} — {action}.",
    G.AUTH_EXPIRED: "Charge {charge_id}: authorization {auth} ended {end} — get {payer}'s new authorization on "
                    "file before billing {code} for this date.",
    G.AUTH_CODE_NOT_COVERED: "Charge {charge_id}: authorization {auth} covers {codes}, not {code} — ask {payer} "
                             "to add {code}, or correct the code.",
    G.AUTH_EXHAUSTED: "Charge {charge_id}: authorization {auth} is over its units — {total} of {authorized} used "
                      "with today's ({detail}) — request more units from {payer} before billing.",
    G.CONCURRENT_REVIEW_DUE: "The concurrent review of authorization {auth} {when} — send {payer} the clinical "
                             "update.",
    G.REPEAT_NO_SHOW: "Charge {charge_id}: the patient's no-shows reached {count} within {days} days (the "
                      "threshold is {threshold}) — reach out and review the treatment plan.",
    G.WEEKLY_HOURS_LOW: "Charge {charge_id}: the patient's week of {week} can no longer reach {required} "
                        "({progress}){since} — plan the missed time with the patient.",
    G.SCAN_UNCERTAIN: "{where} of the scanned sheet {file}: {what} could not be read with confidence ({detail}) — "
                      "look at the paper sheet and correct it, or re-scan it more clearly.",
    G.NO_CHARGE_EXPORT: "No charge export covers {day}: nothing could be checked — drop the day's charge export "
                        "into the inbox and run again.",
    G.NO_EHR_EXPORT: "No EHR attendance export covers {day}: charges were judged on the sign-in sheets alone — drop "
                     "the day's EHR export into the inbox and run again.",
}


CHARGE_PREFIX = "Charge {charge_id}:"


def gap_message(gap_code: G, /, **values: object) -> str:
    return TEMPLATES[gap_code].format(**values)


def gap_facts(gap_code: G, values: dict[str, object]) -> tuple[tuple[str, str], ...]:
    """The values a gap's sentence says, apart from its charge id: what makes two gaps on
    two charges the same problem (``Gap.facts``)."""
    used = _said(gap_code)
    return _shared(tuple(sorted((k, str(v)) for k, v in values.items() if k in used)))


@lru_cache(maxsize=4096)
def _shared(facts: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """One copy of facts many gaps share (a session's gap on each of its charges): a large day
    holds hundreds of thousands of gaps."""
    return facts


@cache
def _said(gap_code: G) -> frozenset[str]:
    """The names a gap's sentence fills in, apart from its charge id."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(TEMPLATES[gap_code])
                     if name and name != "charge_id")


def names_one_charge_first(gap_code: G) -> bool:
    """The gap's sentence starts by naming its charge: the same problem on several charges
    can be said once, naming them all (:func:`gap_body`)."""
    return TEMPLATES[gap_code].startswith(CHARGE_PREFIX)


def gap_body(gap_code: G, /, **values: object) -> str:
    """The sentence after its leading ``Charge {charge_id}:``, for a line naming several charges."""
    return TEMPLATES[gap_code].removeprefix(CHARGE_PREFIX).format(**values)


def no_show_policy(fee: float | None, what: str = "no-show") -> str:
    """What to do with the charge of a patient who did not come: ``what`` names the fee."""
    if fee is not None:
        return f"void the charge and bill the ${fee:,.2f} {what} fee instead"
    return "void the charge (not billable)"


#: Day-level notes: a check the day's inputs did not let attendbot make, said once in the billing summary.
NO_NOTE_STATUS = ("The EHR export has no note-status column, so signed session notes were not checked "
                  "(NOTE_UNSIGNED) — add Note Status to the export.")


# --- Slack delivery ------------------------------------------------------------------

SLACK_ERRORS = {
    "invalid_auth": "Slack rejected the bot token (invalid_auth): set a valid SLACK_BOT_TOKEN in the "
                    "worker's environment",
    "not_authed": "Slack received no token (not_authed): set SLACK_BOT_TOKEN in the worker's environment",
    "account_inactive": "the Slack bot's account is deactivated (account_inactive): reinstall the app",
    "token_revoked": "the Slack token was revoked (token_revoked): reinstall the app and update SLACK_BOT_TOKEN",
    "channel_not_found": "Slack channel {channel} does not exist or the bot cannot see it (channel_not_found): "
                         "check the channel ids in [slack] of config/attendbot.toml",
    "not_in_channel": "the bot is not a member of Slack channel {channel} (not_in_channel): invite it with "
                      "/invite @attendbot",
    "is_archived": "Slack channel {channel} is archived (is_archived): unarchive it or change [slack] in "
                   "config/attendbot.toml",
    "missing_scope": "the Slack app lacks a permission (missing_scope): add chat:write and channels:history",
}


def slack_problem(error: str, channel: str) -> str:
    """What to fix when Slack refused a message; the message stays in the outbox for the next run."""
    template = SLACK_ERRORS.get(error, "Slack refused a message to {channel} ({error})")
    return template.format(channel=channel or "(none configured)", error=error)


def slack_unreachable(detail: str) -> str:
    return (f"Slack could not be reached ({detail}); the day's messages are queued in the ledger and go out "
            "with the next run")
