"""Every sentence attendbot says about a gap, in one place.

A gap message is one line a person can act on. It names the charge id, the
sheet line, the session and the numbers that caused it — never a patient's name
or id, so the same text is safe in the JSON, the workbook, the log and Slack.
"""

from __future__ import annotations

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
    G.UNITS_EXCEED_TIME: "Charge {charge_id}: {units} units of {code} charged, but {minutes} minutes support "
                         "{supported} — adjust to {supported}.",
    G.GROUP_SIZE_EXCEEDED: "Charge {charge_id}: {attendees} attended {session}, over {payer}'s maximum of "
                           "{maximum} — hold the charge.",
    G.TELEHEALTH_MODIFIER_MISSING: "Charge {charge_id}: {modality} session {detail} — correct the claim line.",
    G.TELEHEALTH_MODIFIER_UNEXPECTED: "Charge {charge_id}: in-person session billed with {detail} — remove it.",
    G.INVALID_NPI: "Charge {charge_id}: rendering NPI {detail} — correct the rendering provider's NPI.",
    G.SAME_DAY_CONFLICT: "Charge {charge_id}: {payer} does not pay {code} and {other_code} (charge {other}) on the "
                         "same day — keep one.",
    G.DUPLICATE_CHARGE: "Charge {charge_id}: same patient, code {code} and date as charge {others} — void the "
                        "duplicate.",
    G.NO_SHOW: "Charge {charge_id}: the patient did not attend {session} — {policy}.",
    G.LATE_CANCEL: "Charge {charge_id}: the patient cancelled {session} late — {policy}.",
    G.UNBILLED_ATTENDANCE: "A patient attended {session} ({how}) with no charge — add the charge or note why.",
    G.UNMATCHED_SIGNIN_NAME: "Line {line} of the {session} sheet {detail} — check the printed name.",
    G.UNREADABLE_FILE: "{file} could not be read: {reason} — {action}",
    G.SCAN_UNCERTAIN: "{where} of the scanned sheet {file}: {what} could not be read with confidence ({detail}) — "
                      "look at the paper sheet and correct it, or re-scan it more clearly.",
}


def gap_message(gap_code: G, /, **values: object) -> str:
    return TEMPLATES[gap_code].format(**values)


def no_show_policy(policy: str, fee: float) -> str:
    if policy == "fee":
        return f"void the charge and bill the ${fee:,.2f} no-show fee instead"
    return "void the charge (not billable)"


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
