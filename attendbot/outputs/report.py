"""The run's report for people and programs: the --json document and the human summary."""

from __future__ import annotations

import json
from collections import Counter

from attendbot.codes import Disposition
from attendbot.model import ChargeResult, DayOutcome


def json_document(outcome: DayOutcome) -> dict:
    """The spec's ``--json`` document."""
    result = outcome.result
    return {
        "date": result.day.isoformat(),
        "charges": [_charge(cr) for cr in result.charges],
        "gaps": [{
            "code": g.code.value, "charge_id": g.charge_id, "patient_id": g.patient_id, "session": g.session,
            "owner": g.owner, "message": g.message, "evidence": g.evidence.as_dict() if g.evidence else None,
        } for g in result.gaps],
        "no_shows": [{"patient_id": ns.patient_id, "session": ns.session, "payer": ns.payer,
                      "policy": ns.policy, "fee": ns.fee} for ns in result.no_shows],
        "files": [f.as_dict() for f in outcome.files],
        "slack": {"mode": outcome.slack.mode, "messages": len(outcome.slack.messages)},
        "calendar": {"business_day": outcome.status.business_day, "note": outcome.status.calendar_note},
        "status": {"state": outcome.status.state, "note": outcome.status.note},
        "responses": [r.as_dict() for r in outcome.responses],
    }


def _charge(cr: ChargeResult) -> dict:
    """One charge of the document; one that adjusts to another code carries ``supported_code``."""
    out = {
        "charge_id": cr.charge.charge_id, "patient_id": cr.charge.patient_id, "code": cr.charge.code,
        "payer": cr.charge.payer, "session": cr.session_label, "disposition": str(cr.disposition),
        "units": cr.charge.units, "supported_units": cr.supported_units,
        "gaps": sorted({g.code.value for g in cr.gaps}),
    }
    if cr.supported_code is not None:
        out["supported_code"] = cr.supported_code
    return out


def human_summary(outcome: DayOutcome) -> str:
    """A few lines for the log or the terminal: counts, files, where the workbook is. No patient data."""
    result = outcome.result
    dispositions = Counter(str(cr.disposition) for cr in result.charges)
    lines = [f"attendbot: {result.day.isoformat()}: {len(result.charges)} charges — " +
             ", ".join(f"{dispositions.get(str(d), 0)} {d}" for d in Disposition)]
    gaps = Counter(g.code.value for g in result.gaps)
    if gaps:
        lines.append("  gaps: " + ", ".join(f"{code} {n}" for code, n in sorted(gaps.items())))
    files = Counter(f.status for f in outcome.files)
    lines.append("  files: " + (", ".join(f"{n} {status}" for status, n in sorted(files.items())) or "none in the inbox"))
    for f in outcome.files:
        if f.status == "unreadable":
            lines.append(f"    unreadable: {f.path}: {f.detail} (moved to {f.quarantined_to})")
    lines.extend(f"  not checked: {note}" for note in result.notes)
    if result.unknown_payers:
        lines.append("  payers matching no section of payers.toml (defaults used): " + ", ".join(result.unknown_payers))
    events = outcome.gap_events
    if outcome.reused_run:
        lines.append(f"  nothing changed since run {outcome.reused_run}: its result, shown again without redoing it")
    if any(events.values()):
        lines.append("  since the last run: " + ", ".join(f"{n} {what}" for what, n in events.items() if n))
    slack = outcome.slack
    if slack.mode == "live":
        lines.append(f"  Slack: {slack.posted} posted, {slack.updated} updated, {slack.unchanged} unchanged, "
                     f"{slack.waiting} waiting for the next run")
        lines.extend(f"    to fix: {problem}" for problem in slack.problems)
    lines.append(f"  audit workbook: {outcome.workbook}")
    return "\n".join(lines)


def console_text(outcome: DayOutcome) -> str:
    """What a run prints for a person: why it was dry, the dry-run messages exactly as Slack
    would receive their text, then the summary."""
    parts = []
    if outcome.status.state != "complete":
        parts.append(status_line(outcome))
    if outcome.slack.reason:
        parts.append(f"attendbot: {outcome.slack.reason}")
    if outcome.slack.mode != "live":
        for message in outcome.slack.messages:
            parts.append(f"--- Slack (dry run) to {message.channel or '(no channel configured)'} ---\n"
                         f"{message.text}\n--- blocks ---\n{json.dumps(message.blocks, ensure_ascii=False)}\n")
    parts.append(human_summary(outcome))
    return "\n".join(parts)


def status_line(outcome: DayOutcome) -> str:
    """One line saying what the run could not see: printed to stderr whatever else is printed."""
    return f"attendbot: {outcome.day}: {outcome.status.label.lower()}: {outcome.status.note}"
