"""The last check on whatever a reader returns, before the run stores it.

The parsers range-check each value where they read it (:mod:`attendbot.readers.parse`);
this is the backstop that holds for every reader, present and future:

* a record with a value no ledger column can hold or no day can have — an integer
  beyond 64 bits, a number that is infinite or not a number, a date outside
  1900–2199 — is dropped, and a problem naming its row (or page) says why: it
  costs that row, never the file or the run;
* every text value is made one line (:func:`attendbot.secrets.one_line`): a
  control character, a line separator or a bidirectional override in a cell
  never reaches Slack, a log line or the workbook;
* every problem's message is cleaned of secrets and made one line too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from enum import Enum
from functools import lru_cache
from typing import Any

from attendbot.model import Evidence, Problem, ReadResult
from attendbot.readers.parse import FIRST_DATE, LAST_DATE
from attendbot.secrets import _UNSAFE, clean, one_line

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1  # what SQLite's INTEGER holds
_FLOAT_MAX = 1e15


class _Rejected(ValueError):
    pass


def vetted(result: ReadResult) -> ReadResult:
    """``result`` with every record checked and cleaned; a record that cannot be right is replaced
    by a problem naming where it is."""
    problems = [_clean_problem(p) for p in result.problems]
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(result):
        records = getattr(result, f.name)
        if f.name == "problems" or not isinstance(records, list):
            continue
        kept = []
        for record in records:
            try:
                kept.append(_record(record, problems))
            except _Rejected as exc:
                evidence = _evidence(record)
                problems.append(Problem(f"{where(evidence)}: {exc}; the row was not used", evidence))
        changes[f.name] = kept
    return dataclasses.replace(result, problems=problems, **changes)


def where(evidence: Evidence) -> str:
    """``row 7``, ``page 2``, ``sheet 'Nov' row 7``: the place a problem is, as its detail names it."""
    parts = []
    if evidence.page is not None:
        parts.append(f"page {evidence.page}")
    if evidence.sheet is not None and evidence.row is not None:
        parts.append(f"sheet {evidence.sheet!r}")
    if evidence.row is not None:
        parts.append(f"row {evidence.row}")
    return " ".join(parts) or "a record"


def _evidence(record: Any) -> Evidence:
    ev = getattr(record, "evidence", None)
    if isinstance(ev, Evidence):
        try:
            return _record(ev, [])
        except _Rejected:
            pass
    return Evidence(one_line(getattr(ev, "file", "") or ""))


def _clean_problem(problem: Problem) -> Problem:
    message = clean(problem.message)
    evidence = _evidence(problem)
    if message == problem.message and evidence == problem.evidence:
        return problem
    return dataclasses.replace(problem, message=message, evidence=evidence)


@lru_cache(maxsize=None)
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _record(record: Any, problems: list[Problem]) -> Any:
    """The record with its values checked (raises _Rejected) and its text made one line; the
    same object when nothing changed. A bad item of a tuple of records (a sheet's line) costs
    that item only."""
    changes: dict[str, Any] = {}
    for name in _names(type(record)):
        value = getattr(record, name)
        kind = type(value)
        if kind is str:  # the common case, inline: a run may vet 200,000 rows
            if _UNSAFE.search(value) is None:
                continue
            new = one_line(value)
        elif value is None or kind is bool or kind is dt.time:
            continue
        elif kind is int and _INT_MIN <= value <= _INT_MAX:
            continue
        elif kind is dt.date and FIRST_DATE <= value <= LAST_DATE:
            continue
        else:
            new = _value(value, name, problems)
        if new is not value:
            changes[name] = new
    return dataclasses.replace(record, **changes) if changes else record


def _value(value: Any, name: str, problems: list[Problem]) -> Any:
    kind = type(value)
    if kind is str:  # the common cases first: a run may vet 200,000 rows
        cleaned = one_line(value)
        return value if cleaned == value else cleaned
    if value is None or kind is bool or isinstance(value, Enum):
        return value
    if isinstance(value, str):
        cleaned = one_line(value)
        return value if cleaned == value else cleaned
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise _Rejected(f"{_label(name)} {str(value)[:24]} cannot be right")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > _FLOAT_MAX:
            raise _Rejected(f"{_label(name)} {value!r} cannot be right")
        return value
    if isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        if not FIRST_DATE <= day <= LAST_DATE:
            raise _Rejected(f"{_label(name)} {value.isoformat()} cannot be right")
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _record(value, problems)
    if isinstance(value, tuple):
        items, changed = [], False
        for item in value:
            if dataclasses.is_dataclass(item) and not isinstance(item, type):
                try:
                    new = _record(item, problems)
                except _Rejected as exc:
                    evidence = _evidence(item)
                    problems.append(Problem(f"{where(evidence)}: {exc}; the line was not used", evidence))
                    changed = True
                    continue
            else:
                new = _value(item, name, problems)
            changed |= new is not item
            items.append(new)
        return tuple(items) if changed else value
    return value


def _label(name: str) -> str:
    return name.replace("_", " ")
