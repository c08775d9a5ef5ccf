"""``attendbot check``: the configuration is valid; list what the inbox holds, changing nothing."""

from __future__ import annotations

from attendbot.config import Settings
from attendbot.ingest import inbox, sandbox, shown_path, shown_paths
from attendbot.readers import all_readers


def check(settings: Settings) -> str:
    """One line for the configuration, one per inbox file as a run would read it (under the
    same budgets). The configuration was validated when ``settings`` was loaded."""
    lines = [f"configuration OK: {shown_path(settings.config_path)} and payers.toml "
             f"({len(settings.payers.sections)} payer sections, "
             f"{len(settings.payers.file.defaults.codes)} default code rules)",
             f"inbox: {shown_path(settings.inbox)}" + ("" if settings.inbox.is_dir() else " (does not exist yet)")]
    entries = list(inbox.scan(settings.inbox))
    with sandbox.Pool(all_readers(settings.columns)) as pool:  # several files at once, as a run reads them
        shown = shown_paths(e.path for e in entries)
        readings = [pool.submit(e.path, name) if e.reason is None else None for e, name in zip(entries, shown)]
        for entry, name, reading in zip(entries, shown, readings):
            if reading is None:  # a link, a pipe, a folder that cannot be read: never opened
                lines.append(f"  {name}: ignored: {entry.reason}")
                continue
            try:
                outcome = pool.outcome(reading)
            except OSError as exc:  # no process could be started to read it
                outcome = sandbox.Outcome("retry", reason=str(exc.strerror or exc))
            what = {"read": outcome.kind, "ignored": f"ignored: {outcome.reason}",
                    "unreadable": f"unreadable: {outcome.reason} (a run would quarantine it)",
                    }.get(outcome.status, f"not read now: {outcome.reason}")
            lines.append(f"  {name}: {what}")
    if len(lines) == 2:
        lines.append("  (no files)")
    return "\n".join(lines)
