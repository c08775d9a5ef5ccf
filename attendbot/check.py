"""``attendbot check``: the configuration is valid; list what the inbox holds, changing nothing."""

from __future__ import annotations

from attendbot.config import Settings
from attendbot.ingest import inbox, sandbox, shown_path
from attendbot.readers import all_readers


def check(settings: Settings) -> str:
    """One line for the configuration, one per inbox file as a run would read it (under the
    same budgets). The configuration was validated when ``settings`` was loaded."""
    lines = [f"configuration OK: {shown_path(settings.config_path)} and payers.toml "
             f"({len(settings.payers.sections)} payer sections, "
             f"{len(settings.payers.file.defaults.codes)} default code rules)",
             f"inbox: {shown_path(settings.inbox)}" + ("" if settings.inbox.is_dir() else " (does not exist yet)")]
    readers = all_readers(settings.columns)
    for entry in inbox.scan(settings.inbox):
        path, shown = entry.path, shown_path(entry.path)
        if entry.reason is not None:  # a link, a pipe, a folder that cannot be read: never opened
            lines.append(f"  {shown}: ignored: {entry.reason}")
            continue
        outcome = sandbox.read_file(path, shown, readers)
        what = {"read": outcome.kind, "ignored": f"ignored: {outcome.reason}",
                "unreadable": f"unreadable: {outcome.reason} (a run would quarantine it)",
                }.get(outcome.status, f"not read now: {outcome.reason}")
        lines.append(f"  {shown}: {what}")
    if len(lines) == 2:
        lines.append("  (no files)")
    return "\n".join(lines)
