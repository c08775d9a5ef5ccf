"""What a synthetic sign-in sheet should hold, independent of its file format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class LineDraft:
    name: str
    signature: str | None = "stroke"  # stroke | image | text | None (left empty)
    time_in: str | None = None  # as written on paper, e.g. "9:02 AM"
    time_out: str | None = None
    extras: tuple[str, ...] = ()  # the values of a form's extra columns (staff initials, a reason), in order


@dataclass
class SheetDraft:
    group: str
    date: dt.date
    start: str = "9:00 AM"
    end: str = "12:00 PM"
    facilitator: str = ""
    lines: list[LineDraft] = field(default_factory=list)
    facilitator_signature: str | None = "stroke"  # stroke | image | text | None (empty) | "no-field"
    separate_times: bool = False  # "Start Time:" and "End Time:" instead of "Time: a - b"
    scanned: bool = False  # PDF only: the page is an image with no text layer
