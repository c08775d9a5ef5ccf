"""``attendbot rosters``: the day's scheduled sessions, from the inbox's charge export, as rosters.

The command layer's part of printed rosters: it reads the charge exports (through
the readers, in the sandbox a run uses), groups the day's charges into sessions the
way reconciliation does, and hands :class:`~attendbot.outputs.rosters.Roster` values
to :mod:`attendbot.outputs.rosters`, which draws them. :func:`print_rosters` is the
one way in, for ``attendbot rosters`` and for ``attendbot serve`` (``[rosters] folder``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from attendbot.config import Settings
from attendbot.errors import AttendbotError
from attendbot.ingest import inbox, sandbox, shown_path
from attendbot.model import Charge
from attendbot.names import words
from attendbot.outputs.rosters import Roster, write_rosters
from attendbot.readers.charges import ChargeReader
from attendbot.reconcile.sessions import build_sessions


def rosters_for(charges: Iterable[Charge], day: dt.date) -> list[Roster]:
    """The day's scheduled sessions, grouped the way reconciliation groups them, as rosters."""
    index = build_sessions([c for c in charges if c.service_date == day], [], [])
    out = []
    for session in index.sessions:
        patients: dict[str, str] = {}
        for charge in session.charges:
            patients.setdefault(charge.patient_id, charge.patient_name)
        names = tuple(patients[pid] for pid in sorted(patients, key=lambda p: (words(patients[p]), p)))
        providers = [c.provider for c in session.charges if c.provider]
        facilitator = max(set(providers), key=lambda p: (providers.count(p), p)) if providers else None
        out.append(Roster(group=session.label, service_date=day, start=session.start, end=session.end,
                          facilitator=facilitator, names=names))
    return sorted(out, key=lambda r: (r.start or dt.time(0), words(r.group)))


def day_charges(settings: Settings, day: dt.date) -> tuple[list[Charge], str | None]:
    """The day's charges from the newest charge export in the inbox that covers it, and that file's path.

    Each file is read the way a run reads it (:func:`attendbot.ingest.sandbox.read_file`: a
    separate process with a time and memory budget), by the charge reader alone.
    """
    readers = (ChargeReader(settings.columns("charges")),)
    best: tuple[float, list[Charge], str] | None = None
    for path in inbox.candidates(settings.inbox):
        shown = shown_path(path)
        outcome = sandbox.read_file(path, shown, readers)
        if outcome.status != "read" or outcome.result is None:
            continue
        charges = [c for c in outcome.result.charges if c.service_date == day]
        if charges:
            mtime = path.stat().st_mtime
            if best is None or mtime > best[0]:
                best = (mtime, charges, shown)
    return (best[1], best[2]) if best else ([], None)


@dataclass(frozen=True)
class Printed:
    """What :func:`print_rosters` did: the rosters it drew, from which charge export, to which file."""

    path: Path
    rosters: list[Roster]
    source: str  # the charge export the day's sessions came from, as shown to people
    written: bool  # False: the file already held exactly these rosters and was left as it was


def print_rosters(settings: Settings, day: dt.date, out: Path) -> Printed | None:
    """The day's rosters, from the newest charge export in the inbox that covers it, as one PDF at ``out``.

    Returns None (writing nothing) when no charge export in the inbox has charges on ``day``.

    Raises:
        AttendbotError: the PDF could not be written (the message names the file and why).
    """
    charges, source = day_charges(settings, day)
    if not charges or source is None:
        return None
    rosters = rosters_for(charges, day)
    try:
        written = write_rosters(out, rosters, settings.program.name)
    except OSError as exc:
        raise AttendbotError(f"the rosters could not be written to {out}: {exc.strerror or exc}") from exc
    return Printed(out, rosters, source, written)
