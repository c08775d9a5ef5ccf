"""The ledger: one SQLite file (sqlite-utils) that remembers everything.

* every run, and every input file by SHA-256 with its kind and status;
* every record every file held, for every day in it (a week's export dropped on
  Monday serves Tuesday), keyed by file and row so re-reading changes nothing;
* each day's dispositions, gaps with their open/resolved history, the no-show log.

Which file a day's rows come from: for charges and EHR attendance, the newest
file (first seen last) holding rows for that day; for sign-in sheets, the newest
sheet for each (group, start time) of the day.

Writes for one file, and the results of one run, are each one transaction.
The schema is built by :data:`MIGRATIONS`, so a ledger from an older version is
brought up to date on open.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import datetime as dt
import hashlib
import inspect
import json
import logging
import os
import shutil
import sqlite3
import types
import typing
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import sqlite_utils
from filelock import FileLock, Timeout
from sqlite_utils import Migrations

from attendbot.errors import AttendbotError, UnreadableFileError
from attendbot.model import (Attendance, Authorization, Charge, DayResult, DayTrend, Evidence, FileReport, Gap,
                             PatientDay, Problem, ReadResult, SigninLine, SigninSheet)
from attendbot.secrets import clean, scrub

MIGRATIONS = Migrations("attendbot")


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["runs"].create({"id": int, "day": str, "started_at": str, "finished_at": str, "status": str,
                       "dry_run": int, "summary": str}, pk="id")
    db["files"].create({"sha256": str, "seq": int, "name": str, "path": str, "kind": str, "status": str, "detail": str,
                        "reader": str, "days": str, "first_seen_at": str, "run_id": int,
                        "quarantined_to": str}, pk="sha256")
    db["problems"].create({"id": str, "file_sha": str, "message": str, "gap": str, "ev_file": str,
                           "ev_page": int, "ev_sheet": str, "ev_row": int}, pk="id")
    record = {"ev_file": str, "ev_page": int, "ev_sheet": str, "ev_row": int}
    db["charges"].create({"id": str, "file_sha": str, "service_date": str, "charge_id": str,
                          "patient_id": str, "patient_name": str, "payer": str, "code": str, "units": int,
                          "session": str, "modifiers": str, "start": str, "end": str, "provider": str,
                          "npi": str, "pos": str, "auth_number": str, "amount": float, **record}, pk="id")
    db["attendance"].create({"id": str, "file_sha": str, "service_date": str, "patient_id": str,
                             "session": str, "status": str, "patient_name": str, "time_in": str,
                             "time_out": str, "note_status": str, "facilitator": str, "modality": str,
                             **record}, pk="id")
    db["signin_sheets"].create({"id": str, "file_sha": str, "group": str, "service_date": str, "start": str,
                                "end": str, "facilitator": str, "facilitator_signed": int, **record}, pk="id")
    db["signin_lines"].create({"id": str, "sheet_id": str, "row": int, "printed_name": str, "signed": int,
                               "time_in": str, "time_out": str, **record}, pk="id")
    for table in ("charges", "attendance", "signin_sheets"):
        db[table].create_index(["service_date"])
        db[table].create_index(["file_sha"])
    db["signin_lines"].create_index(["sheet_id"])
    db["dispositions"].create({"day": str, "charge_id": str, "patient_id": str, "payer": str, "code": str,
                               "session": str, "disposition": str, "units": int, "supported_units": int,
                               "gaps": str, "no_show_fee": float, "amount": float, "run_id": int},
                              pk=("day", "charge_id"))
    db["gaps"].create({"id": str, "day": str, "code": str, "owner": str, "charge_id": str, "patient_id": str,
                       "session": str, "message": str, "evidence": str, "status": str, "first_run": int,
                       "last_run": int, "resolved_run": int}, pk="id")
    db["gaps"].create_index(["day", "status"])
    db["gap_events"].create({"id": int, "gap_id": str, "run_id": int, "event": str, "at": str}, pk="id")
    db["no_shows"].create({"day": str, "charge_id": str, "patient_id": str, "session": str, "payer": str,
                           "kind": str, "policy": str, "fee": float, "run_id": int}, pk=("day", "charge_id"))


@MIGRATIONS()
def m002_slack_outbox(db: sqlite_utils.Database) -> None:
    """Every Slack message, stored before it is sent: queued -> sent (with its ts) or failed/unknown."""
    db["slack_messages"].create({"key": str, "day": str, "kind": str, "session": str, "channel": str,
                                 "payload": str, "payload_hash": str, "status": str, "ts": str,
                                 "posted_channel": str, "error": str, "attempted_at": float, "attempts": int,
                                 "updated_at": str, "run_id": int}, pk="key")
    db["slack_messages"].create_index(["day"])


@MIGRATIONS()
def m003_billing_codes(db: sqlite_utils.Database) -> None:
    """A charge line's revenue code (facility claims), and the code an adjusted charge is billed as."""
    db["charges"].add_column("revenue_code", str)
    db["dispositions"].add_column("supported_code", str)


@MIGRATIONS()
def m004_line_keys(db: sqlite_utils.Database) -> None:
    """A day's dispositions and no-shows keyed by charge id *and* patient: two patients' lines that
    share one charge id (both held DUPLICATE_CHARGE) are two rows, neither overwriting the other."""
    for table in ("dispositions", "no_shows"):
        db[table].transform(pk=("day", "charge_id", "patient_id"))


@MIGRATIONS()
def m005_authorizations(db: sqlite_utils.Database) -> None:
    """Authorizations exports: every row of every file; the newest file listing a patient wins."""
    db["authorizations"].create({"id": str, "file_sha": str, "patient_id": str, "auth_number": str, "codes": str,
                                 "start": str, "end": str, "units_authorized": int, "payer": str,
                                 "units_used": int, "next_review": str, "as_of": str, "patient_name": str,
                                 "ev_file": str, "ev_page": int, "ev_sheet": str, "ev_row": int}, pk="id")
    db["authorizations"].create_index(["patient_id"])
    db["authorizations"].create_index(["file_sha"])


@MIGRATIONS()
def m006_day_attendance(db: sqlite_utils.Database) -> None:
    """What each reconciled day's patients attended, and how long the program's day ran:
    what later days' weekly-hours check reads back."""
    db["patient_days"].create({"day": str, "patient_id": str, "minutes": int, "attended": int, "run_id": int},
                              pk=("day", "patient_id"))
    db["patient_days"].create_index(["patient_id", "day"])
    db["program_days"].create({"day": str, "minutes": int, "run_id": int}, pk="day")


@MIGRATIONS()
def m007_scan_judgements(db: sqlite_utils.Database) -> None:
    """How a scanned sheet and each of its lines were judged (SigninSheet.how, SigninLine.how/confidence)."""
    for table, column, kind in (("signin_sheets", "how", str), ("signin_lines", "how", str),
                                ("signin_lines", "confidence", float)):
        if column not in db[table].columns_dict:
            db[table].add_column(column, kind)


@MIGRATIONS()
def m008_responses(db: sqlite_utils.Database) -> None:
    """Answers in Slack: what each alert's buttons stand for, every answer and thread note, the
    escalations raised before close of business, and day-level marks (close reported)."""
    db["slack_alerts"].create({"key": str, "day": str, "session": str, "session_key": str, "mention": str,
                               "facilitator": str, "updated_at": str}, pk="key")
    db["slack_alerts"].create_index(["day"])
    db["slack_targets"].create({"token": str, "day": str, "message_key": str, "scope": str, "session": str,
                                "session_key": str, "charge_id": str, "gap_ids": str, "gap_codes": str,
                                "line": str, "mention": str}, pk="token")
    db["slack_targets"].create_index(["day"])
    db["responses"].create({"id": int, "day": str, "token": str, "message_key": str, "session": str,
                            "charge_id": str, "gap_code": str, "gap_ids": str, "by": str, "answer": str,
                            "detail": str, "attested_time": str, "sheet_time": str, "at": str, "after_run": int,
                            "source": str, "channel": str, "ts": str}, pk="id")
    db["responses"].create_index(["day"])
    db["responses"].create_index(["channel", "ts"])
    db["escalations"].create({"gap_id": str, "day": str, "session": str, "at": str, "channel": str,
                              "thread_ts": str, "ts": str}, pk="gap_id")
    db["escalations"].create_index(["day"])
    db["day_marks"].create({"day": str, "what": str, "at": str}, pk=("day", "what"))


@MIGRATIONS()
def m009_kept_outcomes(db: sqlite_utils.Database) -> None:
    """What a day's last run gave, kept for a re-run with nothing changed (:mod:`attendbot.rerun`),
    with the digest of what its audit workbook shows; and which run a re-run reused."""
    db["runs"].add_column("reused_run", int)
    db["kept_outcomes"].create({"day": str, "key": str, "run_id": int, "valid_until": str, "outcome": str,
                                "workbook_digest": str}, pk="day")


# --- records <-> rows -------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _to_row(record: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in _field_names(type(record)):
        value = getattr(record, name)
        if isinstance(value, Evidence):
            row.update(ev_file=value.file, ev_page=value.page, ev_sheet=value.sheet, ev_row=value.row)
            continue
        if name == "lines":
            continue
        if isinstance(value, Enum):
            value = value.value
        elif isinstance(value, (dt.date, dt.time)):
            value = value.isoformat(timespec="minutes") if isinstance(value, dt.time) else value.isoformat()
        elif isinstance(value, tuple):
            value = json.dumps(list(value))
        elif isinstance(value, bool):
            value = int(value)
        row[name] = value
    return row


@functools.lru_cache(maxsize=None)
def _field_types(cls: type) -> tuple[tuple[str, Any], ...]:
    """(field name, the type its stored value converts back to), ``X | None`` unwrapped."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        base = hints[f.name]
        if typing.get_origin(base) in (typing.Union, types.UnionType):
            base = next(a for a in typing.get_args(base) if a is not type(None))
        out.append((f.name, base))
    return tuple(out)


def _from_row(cls: type, row: dict[str, Any], **extra: Any) -> Any:
    kwargs: dict[str, Any] = {}
    for name, base in _field_types(cls):
        if name == "evidence":
            kwargs["evidence"] = Evidence(row["ev_file"], row["ev_page"], row["ev_sheet"], row["ev_row"])
            continue
        if name not in row:
            continue
        value = row[name]
        if value is None:
            kwargs[name] = None
        elif base is dt.date:
            kwargs[name] = dt.date.fromisoformat(value)
        elif base is dt.time:
            kwargs[name] = dt.time.fromisoformat(value)
        elif base is bool:
            kwargs[name] = bool(value)
        elif isinstance(base, type) and issubclass(base, Enum):
            kwargs[name] = base(value)
        elif typing.get_origin(base) is tuple:
            kwargs[name] = tuple(json.loads(value))
        else:
            kwargs[name] = value
    kwargs.update(extra)
    return cls(**kwargs)


def _join_pages(first: SigninSheet, more: SigninSheet) -> SigninSheet:
    """One roster over two pages: the lines of both; a facilitator signature on either page counts."""
    signed = None if first.facilitator_signed is None and more.facilitator_signed is None else \
        bool(first.facilitator_signed or more.facilitator_signed)
    return dataclasses.replace(first, lines=first.lines + more.lines, facilitator_signed=signed,
                               end=first.end or more.end, facilitator=first.facilitator or more.facilitator)


def _at_risk(row: dict) -> float:
    """A stored disposition's dollars at risk, as :attr:`attendbot.model.ChargeResult.dollars_at_risk`."""
    amount = row["amount"] or 0.0
    if row["disposition"] in ("hold", "void"):
        return amount
    if row["disposition"] == "adjust" and (row["units"] or 0) > 0:
        if row["supported_units"] is None:
            return amount
        return amount * max(0, row["units"] - row["supported_units"]) / row["units"]
    return 0.0


def _evidence_key(ev: Evidence) -> str:
    return f"{ev.page or ''}|{ev.sheet or ''}|{ev.row or ''}"


def gap_id(day: dt.date, gap: Gap) -> str:
    """Stable identity of a gap across re-runs: the same problem found again is the same gap."""
    key = "|".join([day.isoformat(), gap.code, gap.charge_id or "", gap.patient_id or "",
                    gap.session or "", gap.key])
    return hashlib.sha256(key.encode()).hexdigest()[:20]


@contextlib.contextmanager
def exclusive(db: Path, wait_seconds: float, busy: str) -> Iterator[None]:
    """Hold ``<db>.lock`` — the one lock every writer of a ledger takes — or raise AttendbotError(busy).

    The OS releases the lock when its holder dies, so a crashed run never blocks the next one.
    """
    lock = FileLock(str(db) + ".lock", timeout=wait_seconds)
    try:
        lock.acquire()
    except Timeout:
        raise AttendbotError(f"{busy} (lock {lock.lock_file})") from None
    except OSError as exc:
        raise AttendbotError(f"the ledger's lock {lock.lock_file} could not be taken ({exc.strerror or exc}): "
                             "make sure the ledger's folder exists and is writable, or set --db / [paths] db "
                             "to another place") from None
    try:
        yield
    finally:
        lock.release()


log = logging.getLogger("attendbot")


def prepare_folder(db: Path) -> None:
    """Create the ledger's folder (owner-only) if it is missing; a clear error when it cannot be."""
    try:
        db.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise AttendbotError(f"the ledger's folder {db.parent} could not be created ({exc.strerror or exc}): "
                             "create it, or set --db / [paths] db to a writable place") from None
    if not db.parent.is_dir():
        raise AttendbotError(f"the ledger's folder {db.parent} is not a folder: set --db / [paths] db "
                             "to a file in a folder")


def explain(exc: BaseException, path: Path | str = "") -> str | None:
    """One line saying what went wrong with the ledger at ``path`` and what to do, for an SQLite
    error; None for anything else. A full disk is a full disk, never "damaged"."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = clean(exc)
    path = path or "(its file)"
    low = text.lower()
    if primary == sqlite3.SQLITE_FULL or "database or disk is full" in low:
        return (f"the disk holding the ledger {path} is full ({text}); nothing more was written to it — "
                "free some space and run again")
    if primary == sqlite3.SQLITE_READONLY or "readonly database" in low:
        return (f"the ledger {path} is read-only ({text}); it was left untouched — make it (and its folder) "
                "writable by the user attendbot runs as, or set --db / [paths] db to another file")
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or "malformed" in low \
            or "not a database" in low:
        return (f"the ledger {path} is damaged or not an attendbot ledger ({text}); it was left untouched — "
                "restore it from a backup or move it aside")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return f"the ledger {path} is busy ({text}): another program holds it; try again when it has finished"
    if primary == sqlite3.SQLITE_CANTOPEN:
        return (f"the ledger {path} cannot be opened ({text}): check that its folder exists and is "
                "writable, or set --db / [paths] db to another file")
    if primary == sqlite3.SQLITE_IOERR:
        return (f"the ledger {path} could not be read or written ({text}): the disk may be failing or "
                "full; check it and run again")
    return f"the ledger {path} could not be used ({type(exc).__name__}: {text})"


#: What the ledger refuses to write to once it has met it.
_STOP_WRITING = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def migration_names() -> list[str]:
    """Every migration of the ledger schema, in the order they apply."""
    empty = sqlite_utils.Database(memory=True)
    try:
        return [m.name for m in MIGRATIONS.pending(empty)]
    finally:
        empty.close()


def _refuse_foreign(db: sqlite_utils.Database, path: Path) -> None:
    """Raise unless ``db`` is an attendbot ledger (at any schema version) or empty. Reads only.

    A file holding other tables and no record of attendbot's migrations belongs to someone
    else; one with migrations this version does not know was written by a newer attendbot.
    Either is refused before anything is written to it.
    """
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
    ledger_sets: list[tuple[str, str]] = []
    if MIGRATIONS.migrations_table in tables:
        ledger_sets = db.execute(f"SELECT migration_set, name FROM [{MIGRATIONS.migrations_table}] "
                                 "ORDER BY rowid").fetchall()
    ours = [name for mset, name in ledger_sets if mset == MIGRATIONS.name]
    others = sorted(t for t in tables if t != MIGRATIONS.migrations_table and not t.startswith("sqlite_"))
    if not ours and (others or ledger_sets):
        shown = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
        raise AttendbotError(f"the ledger {path} is not an attendbot ledger (it holds other tables: {shown or 'none'}, "
                             "and no attendbot schema); it was left untouched — set [paths] db to another file "
                             "or move it aside")
    newer = [name for name in ours if name not in migration_names()]
    if newer:
        raise AttendbotError(f"the ledger {path} was written by a newer version of attendbot (schema {newer[-1]}); "
                             "it was left untouched — upgrade attendbot to use it")


def _refuse_read_only(path: Path) -> None:
    """An existing ledger the run could not write (the file, or its folder where SQLite keeps its
    write-ahead log) is refused before anything is written."""
    where = [p for p, mode in ((path, os.R_OK | os.W_OK), (path.parent, os.W_OK | os.X_OK))
             if not os.access(p, mode)]
    if where:
        what = "the file" if where[0] == path else "its folder"
        raise AttendbotError(f"the ledger {path} is read-only ({what} cannot be written); it was left untouched — "
                             "make it and its folder writable by the user attendbot runs as, or set --db / "
                             "[paths] db to another file")


#: A run writes its rows, the write-ahead log and a workbook: below this much free space it cannot.
MIN_FREE_BYTES = 1024**2


def _refuse_full_disk(path: Path) -> None:
    """A disk too full for a run is said before anything is written (a run that fills it later is
    stopped by SQLite's ``SQLITE_FULL`` and rolled back, see :func:`explain`)."""
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return
    if free < MIN_FREE_BYTES:
        raise AttendbotError(f"the disk holding the ledger {path} is full ({free:,} bytes free); nothing was "
                             "written to it — free some space and run again")


def _refuse_damaged(db: sqlite_utils.Database, path: Path) -> None:
    """``PRAGMA quick_check`` reads every page: damage anywhere in the file (not only its header)
    is found before anything is written. Raises AttendbotError; reads only."""
    rows = db.execute("PRAGMA quick_check(5)").fetchall()
    problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
    if problems:
        raise AttendbotError(f"the ledger {path} is damaged or not an attendbot ledger (quick_check: "
                             f"{clean(problems[0])[:200]}); it was left untouched — restore it from a backup "
                             "or move it aside")


#: A file none of whose service days is on or after the cut-off, first seen by a run for an earlier day,
#: and holding no authorization that lasts to the cut-off or beyond.
_OLD_FILE = ("NOT EXISTS (SELECT 1 FROM json_each(COALESCE(f.days, '[]')) WHERE value >= :cut) "
             "AND COALESCE((SELECT r.day FROM runs r WHERE r.id = f.run_id), '') < :cut "
             "AND NOT EXISTS (SELECT 1 FROM authorizations a WHERE a.file_sha = f.sha256 AND a.[end] >= :cut)")
#: The same, for a ledger from before authorizations (read-only, by ``purge --dry-run``).
_OLD_FILE_BEFORE_AUTHORIZATIONS = _OLD_FILE.rsplit(" AND NOT EXISTS (SELECT 1 FROM authorizations", 1)[0]

#: (table, rows to delete), children before the rows they hang from: counting them all before
#: deleting anything gives the same numbers as deleting them in this order.
_PURGE_PLAN: tuple[tuple[str, str], ...] = (
    ("signin_lines", "sheet_id IN (SELECT id FROM signin_sheets WHERE service_date < :cut)"),
    ("signin_sheets", "service_date < :cut"),
    ("charges", "service_date < :cut"),
    ("attendance", "service_date < :cut"),
    ("dispositions", "day < :cut"),
    ("gap_events", "gap_id IN (SELECT id FROM gaps WHERE day < :cut)"),
    ("gaps", "day < :cut"),
    ("no_shows", "day < :cut"),
    ("slack_messages", "day < :cut"),
    ("patient_days", "day < :cut"),
    ("program_days", "day < :cut"),
    ("authorizations", "[end] < :cut"),
    ("slack_alerts", "day < :cut"),
    ("slack_targets", "day < :cut"),
    ("responses", "day < :cut"),
    ("escalations", "day < :cut"),
    ("day_marks", "day < :cut"),
    ("kept_outcomes", "day < :cut"),
    ("problems", f"file_sha IN (SELECT f.sha256 FROM files f WHERE {_OLD_FILE})"),
    ("files", f"sha256 IN (SELECT f.sha256 FROM files f WHERE {_OLD_FILE})"),
    ("runs", "day < :cut"),
)


class Ledger:
    """The ledger file. Opening it applies pending migrations; a damaged file is never overwritten.

    A missing file is created (mode 0600); a ledger from an older version is brought up to the
    current schema; a file that is not a ledger (random bytes, someone else's database) or was
    written by a newer version raises :class:`AttendbotError` and is not written to.
    ``readonly`` opens an existing ledger without migrating or writing it (``purge --dry-run``);
    tables of migrations not applied yet are then simply missing.
    """

    def __init__(self, path: Path, *, readonly: bool = False):
        self.path = path
        self.broken: str | None = None  # why nothing more may be written (full, read-only, damaged)
        if readonly and not path.exists():
            raise AttendbotError(f"there is no ledger at {path}")
        if not readonly:
            prepare_folder(path)
        new = not path.exists()
        if not readonly and not new:
            _refuse_read_only(path)
        if not readonly:
            _refuse_full_disk(path)
        try:
            if readonly:
                self.db = sqlite_utils.Database(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True))
            else:
                self.db = sqlite_utils.Database(path)
            if new:
                os.chmod(path, 0o600)  # SQLite gives the -wal and -shm files the database file's mode
            _refuse_foreign(self.db, path)
            if not new:
                _refuse_damaged(self.db, path)  # before anything is written to it
            if not readonly:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA foreign_keys=ON")
                MIGRATIONS.apply(self.db)
        except sqlite3.Error as exc:
            self._close_quietly()
            raise AttendbotError(explain(exc, path)) from None
        except AttendbotError:
            self._close_quietly()
            raise

    def _close_quietly(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass

    def close(self) -> None:
        self.db.close()

    # --- runs -----------------------------------------------------------------

    @staticmethod
    def runs_started(path: Path, day: dt.date) -> list[dt.datetime]:
        """When each successful run of ``day`` started, read without opening the ledger for
        writing (the worker asks this while another run may hold the file). No ledger: none.

        Raises:
            AttendbotError: the file cannot be read as a ledger.
        """
        if not path.exists():
            return []
        try:
            with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
                rows = db.execute("SELECT started_at FROM runs WHERE day = ? AND status = 'ok'",
                                  [day.isoformat()]).fetchall()
        except sqlite3.Error as exc:
            raise AttendbotError(f"could not read the ledger {path} ({exc})") from exc
        return [dt.datetime.fromisoformat(s) for (s,) in rows if s]

    def start_run(self, day: dt.date, dry_run: bool, reused_run: int | None = None) -> int:
        with self.db.atomic():
            reused = {"reused_run": reused_run} if reused_run else {}
            return self.db["runs"].insert({"day": day.isoformat(), "started_at": _now(), "status": "running",
                                           "dry_run": int(dry_run), **reused}).last_pk

    def finish_run(self, run_id: int, status: str, summary: dict | None = None) -> None:
        """Close the run's row; its summary is cleaned of secrets. Recording a ``failed`` run is best
        effort: it never hides why the run failed, and a ledger that is full, read-only or damaged
        is not written to again."""
        if status == "failed" and self.broken:
            return
        try:
            with self.db.atomic():
                self.db["runs"].update(run_id, {"finished_at": _now(), "status": status,
                                                "summary": scrub(json.dumps(summary or {}, default=str))})
        except (sqlite3.Error, AttendbotError) as exc:
            if status != "failed":
                raise
            log.warning("the failed run could not be recorded in the ledger: %s", exc)

    # --- files and their records ----------------------------------------------

    def file(self, sha256: str) -> dict | None:
        # One query (rows_where would add three to look the table up): a run asks once per inbox file.
        cursor = self.db.execute("SELECT * FROM files WHERE sha256 = ?", [sha256])
        row = cursor.fetchone()
        return dict(zip((c[0] for c in cursor.description), row)) if row else None

    def record_file(self, report: FileReport, name: str, run_id: int, reader: str | None = None,
                    result: ReadResult | None = None) -> None:
        """Store a file's report and, for a read file, every record and problem it held, atomically.

        ``name`` is the file's path inside the inbox: what makes a re-run recognise the same file.
        """
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM files").fetchone()[0]
        try:
            self._record_file(report, name, run_id, reader, result, seq)
        except (OverflowError, ValueError, TypeError, sqlite3.InterfaceError, sqlite3.ProgrammingError) as exc:
            # A value SQLite cannot hold: the file's fault, not the ledger's. Nothing of it was
            # stored (one transaction); the caller quarantines the file and the run goes on.
            raise UnreadableFileError(f"a value in it cannot be stored ({type(exc).__name__}: "
                                      f"{clean(exc)[:120]})") from None

    def _record_file(self, report: FileReport, name: str, run_id: int, reader: str | None,
                     result: ReadResult | None, seq: int) -> None:
        with self.db.atomic():
            self.db["files"].upsert({
                "sha256": report.sha256, "seq": seq, "name": name, "path": report.path, "kind": report.kind,
                "status": report.status, "detail": report.detail, "reader": reader,
                "days": json.dumps(list(report.days)), "first_seen_at": _now(), "run_id": run_id,
                "quarantined_to": report.quarantined_to,
            }, pk="sha256")
            if result is not None:
                self._store_records(report.sha256, result, run_id)

    def _store_records(self, sha: str, result: ReadResult, run_id: int | None = None) -> None:
        def rid(ev: Evidence) -> str:
            return f"{sha[:16]}:{_evidence_key(ev)}"

        if result.authorizations:
            # units used are "as of" the file: its own column, or else the day of the run reading it
            day = self.db.execute("SELECT day FROM runs WHERE id = ?", [run_id]).fetchone()
            as_of = day[0] if day else None
            self.db["authorizations"].insert_all(
                ({"id": rid(a.evidence), "file_sha": sha, **_to_row(a), "as_of": a.as_of.isoformat()
                  if a.as_of else as_of} for a in result.authorizations), replace=True)
        self._insert("charges", ({"id": rid(c.evidence), "file_sha": sha, **_to_row(c)} for c in result.charges))
        self._insert("attendance", ({"id": rid(a.evidence), "file_sha": sha, **_to_row(a)} for a in result.attendance))
        self._insert("signin_sheets", ({"id": rid(sheet.evidence), "file_sha": sha, **_to_row(sheet)}
                                       for sheet in result.sheets))
        self._insert("signin_lines", ({"id": f"{rid(sheet.evidence)}:{line.row}", "sheet_id": rid(sheet.evidence),
                                       **_to_row(line)} for sheet in result.sheets for line in sheet.lines))
        self._insert("problems", ({"id": f"{sha[:16]}:{i}", "file_sha": sha, "message": p.message, "gap": p.gap,
                                   "ev_file": p.evidence.file, "ev_page": p.evidence.page,
                                   "ev_sheet": p.evidence.sheet, "ev_row": p.evidence.row}
                                  for i, p in enumerate(result.problems)))

    def _insert(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Insert (or replace) rows of plain values that all have the same keys, in one statement:
        a file's thousands of records are stored without converting each value again."""
        rows = list(rows)
        if rows:
            columns = list(rows[0])
            names, marks = ", ".join(f"[{c}]" for c in columns), ", ".join("?" * len(columns))
            self.db.conn.executemany(f"INSERT OR REPLACE INTO [{table}] ({names}) VALUES ({marks})",
                                     [tuple(row[c] for c in columns) for row in rows])

    def _newest_file(self, table: str, day: str) -> str | None:
        row = self.db.execute(
            f"SELECT f.sha256 FROM files f WHERE f.sha256 IN "
            f"(SELECT DISTINCT file_sha FROM [{table}] WHERE service_date = ?) ORDER BY f.seq DESC LIMIT 1",
            [day]).fetchone()
        return row[0] if row else None

    def replaced_charge_lines(self, day: dt.date) -> tuple[str, str, int, int] | None:
        """When the day's newest charge export replaced an earlier one: ``(newest file, earlier
        file, the earlier file's lines for the day, the newest file's)``; None otherwise."""
        rows = self.db.execute(
            "SELECT f.path, COUNT(*) FROM charges c JOIN files f ON f.sha256 = c.file_sha "
            "WHERE c.service_date = ? GROUP BY f.sha256 ORDER BY MAX(f.seq) DESC LIMIT 2",
            [day.isoformat()]).fetchall()
        if len(rows) < 2:
            return None
        (newest, now), (earlier, before) = rows
        return newest, earlier, before, now

    def day_records(self, day: dt.date) -> tuple[list[Charge], list[Attendance], list[SigninSheet], set[str]]:
        """The records the day reconciles from, and the SHA-256 of every file they came from."""
        iso = day.isoformat()
        used: set[str] = set()
        out: list[list] = []
        for table, cls in (("charges", Charge), ("attendance", Attendance)):
            sha = self._newest_file(table, iso)
            rows = list(self.db[table].rows_where("service_date = ? AND file_sha = ?", [iso, sha],
                                                  order_by="rowid")) if sha else []
            if sha:
                used.add(sha)
            out.append([_from_row(cls, r) for r in rows])
        # Per session (group, start): the newest file's sheets. Pages of one file for the same
        # session are one roster that ran over a page, so their lines are joined.
        sheets: dict[tuple[str, str | None], SigninSheet] = {}
        sha_of: dict[tuple[str, str | None], str] = {}
        sheet_rows = self.db.execute_returning_dicts(
            "SELECT s.* FROM signin_sheets s JOIN files f ON f.sha256 = s.file_sha "
            "WHERE s.service_date = ? ORDER BY f.seq, s.rowid", [iso])
        for row in sheet_rows:
            lines = tuple(_from_row(SigninLine, r) for r in
                          self.db["signin_lines"].rows_where("sheet_id = ?", [row["id"]], order_by="rowid"))
            sheet = _from_row(SigninSheet, row, lines=lines)
            key = (" ".join(sheet.group.lower().split()), row["start"])
            if sha_of.get(key) == row["file_sha"]:
                sheet = _join_pages(sheets[key], sheet)
            sheets[key] = sheet
            sha_of[key] = row["file_sha"]
        used.update(sha_of.values())
        return out[0], out[1], list(sheets.values()), used

    def day_problems(self, shas: Iterable[str]) -> list[Problem]:
        shas = list(shas)
        if not shas:
            return []
        rows = self.db["problems"].rows_where(f"file_sha IN ({','.join('?' * len(shas))})", shas,
                                              order_by="rowid")
        return [Problem(r["message"], Evidence(r["ev_file"], r["ev_page"], r["ev_sheet"], r["ev_row"]),
                        r["gap"] or None) for r in rows]

    def files_quarantined_on(self, day: dt.date) -> list[dict]:
        """Files found unreadable by runs for ``day``: they stay the day's gaps after they left the inbox."""
        return list(self.db.execute_returning_dicts(
            "SELECT f.* FROM files f JOIN runs r ON r.id = f.run_id WHERE r.day = ? AND f.status = 'unreadable' "
            "ORDER BY f.seq", [day.isoformat()]))

    # --- results ----------------------------------------------------------------

    def record_results(self, run_id: int, result: DayResult) -> dict[str, int]:
        """Replace the day's dispositions and no-shows; open, keep or resolve its gaps. One transaction.

        Returns counts of gap events: opened, reopened, resolved.
        """
        iso = result.day.isoformat()
        now = _now()
        events = {"opened": 0, "reopened": 0, "resolved": 0}
        with self.db.atomic():
            self._replace_day("dispositions", iso, run_id, [{
                "day": iso, "charge_id": cr.charge.charge_id, "patient_id": cr.charge.patient_id,
                "payer": cr.charge.payer, "code": cr.charge.code, "session": cr.session_label,
                "disposition": str(cr.disposition), "units": cr.charge.units,
                "supported_units": cr.supported_units, "supported_code": cr.supported_code,
                "gaps": json.dumps(sorted({g.code.value for g in cr.gaps})),
                "no_show_fee": cr.no_show_fee, "amount": cr.charge.amount,
            } for cr in result.charges])
            self._replace_day("no_shows", iso, run_id,
                              [{"day": iso, **dataclasses.asdict(ns)} for ns in result.no_shows])
            self._replace_attendance(iso, run_id, result)
            previous = {r["id"]: r for r in self.db["gaps"].rows_where("day = ?", [iso])}
            seen: set[str] = set()
            changed: list[dict] = []
            history: list[dict] = []
            for gap in result.gaps:
                gid = gap_id(result.day, gap)
                if gid in seen:
                    continue
                seen.add(gid)
                row = {"id": gid, "day": iso, "code": gap.code.value, "owner": gap.owner,
                       "charge_id": gap.charge_id, "patient_id": gap.patient_id, "session": gap.session,
                       "message": gap.message, "evidence": json.dumps(gap.evidence.as_dict() if gap.evidence else None),
                       "status": "open", "first_run": run_id, "last_run": run_id, "resolved_run": None}
                old = previous.get(gid)
                event = "opened" if old is None else "reopened" if old["status"] == "resolved" else None
                if old is not None:
                    row["first_run"] = old["first_run"]
                    if event is None and all(old[k] == row[k] for k in ("message", "evidence")):
                        continue  # nothing changed: an idempotent re-run leaves the row as it was
                changed.append(row)
                if event:
                    events[event] += 1
                    history.append({"gap_id": gid, "run_id": run_id, "event": event, "at": now})
            for gid, old in previous.items():
                if gid not in seen and old["status"] == "open":
                    changed.append({**old, "status": "resolved", "resolved_run": run_id})
                    history.append({"gap_id": gid, "run_id": run_id, "event": "resolved", "at": now})
                    events["resolved"] += 1
            self.db["gaps"].upsert_all(changed, pk="id")
            self.db["gap_events"].insert_all(history)
        return events

    def _replace_attendance(self, iso: str, run_id: int, result: DayResult) -> None:
        """The day's patient attendance and program length, for later days' weekly hours."""
        rows = {p.patient_id: {"day": iso, "patient_id": p.patient_id, "minutes": p.minutes,
                               "attended": int(p.attended)} for p in result.patient_days}
        old = {r["patient_id"]: r for r in self.db["patient_days"].rows_where("day = ?", [iso])}
        for pid in old.keys() - rows.keys():
            self.db["patient_days"].delete((iso, pid))
        changed = [{**r, "run_id": run_id} for pid, r in rows.items()
                   if pid not in old or {k: old[pid].get(k) for k in r} != r]
        self.db["patient_days"].upsert_all(changed, pk=("day", "patient_id"))
        previous = list(self.db["program_days"].rows_where("day = ?", [iso]))
        if not previous or previous[0]["minutes"] != result.program_minutes:
            self.db["program_days"].upsert({"day": iso, "minutes": result.program_minutes, "run_id": run_id},
                                           pk="day")

    def _replace_day(self, table: str, iso: str, run_id: int, rows: list[dict]) -> None:
        """Make the day's rows of ``table`` these; rows that did not change keep the run that wrote them.
        A row is one charge line: its charge id and patient (two patients' lines may share a charge id)."""
        def key(r: dict) -> tuple:
            return r["charge_id"], r["patient_id"]

        old = {key(r): r for r in self.db[table].rows_where("day = ?", [iso])}
        new = {key(r): r for r in rows}
        for cid, pid in old.keys() - new.keys():
            self.db[table].delete((iso, cid, pid))
        changed = [{**r, "run_id": run_id} for k, r in new.items()
                   if k not in old or {c: old[k].get(c) for c in r} != r]
        self.db[table].upsert_all(changed, pk=("day", "charge_id", "patient_id"))

    # --- across days: authorizations and history ----------------------------------

    def authorizations(self) -> tuple[dict[str, list[Authorization]], set[str]]:
        """Each patient's authorizations from the newest file that lists the patient (an older
        file's rows for that patient are replaced), and the SHA-256 of the files they came from."""
        rows = self.db.execute_returning_dicts(
            "SELECT a.* FROM authorizations a JOIN files f ON f.sha256 = a.file_sha "
            "WHERE f.seq = (SELECT MAX(f2.seq) FROM authorizations a2 JOIN files f2 ON f2.sha256 = a2.file_sha "
            "               WHERE a2.patient_id = a.patient_id) "
            "ORDER BY a.patient_id, a.rowid")
        out: dict[str, list[Authorization]] = {}
        shas: set[str] = set()
        for row in rows:
            out.setdefault(row["patient_id"], []).append(_from_row(Authorization, row))
            shas.add(row["file_sha"])
        return out, shas

    def units_billed(self, first: dt.date, last: dt.date) -> list[tuple[str, str, dt.date, int]]:
        """``(patient id, code, service day, units)`` of every charge on days ``first`` to ``last``
        (inclusive), from each day's newest charge export, as reconciled: a voided charge bills
        no units, an adjusted one its supported units; a day not reconciled yet, its units as charged."""
        if last < first:
            return []
        rows = self.db.execute(
            "WITH newest AS (SELECT c.service_date AS day, MAX(f.seq) AS seq FROM charges c "
            "                JOIN files f ON f.sha256 = c.file_sha "
            "                WHERE c.service_date BETWEEN :first AND :last GROUP BY c.service_date) "
            "SELECT c.patient_id, c.code, c.service_date, c.units, d.disposition, d.supported_units "
            "FROM charges c JOIN files f ON f.sha256 = c.file_sha "
            "JOIN newest n ON n.day = c.service_date AND n.seq = f.seq "
            "LEFT JOIN dispositions d ON d.day = c.service_date AND d.charge_id = c.charge_id "
            "                        AND d.patient_id = c.patient_id "
            "WHERE c.service_date BETWEEN :first AND :last ORDER BY c.rowid",
            {"first": first.isoformat(), "last": last.isoformat()}).fetchall()
        out = []
        for pid, code, day, units, disposition, supported in rows:
            if disposition == "void":
                units = 0
            elif disposition == "adjust" and supported is not None:
                units = min(units, supported)
            out.append((pid, (code or "").upper(), dt.date.fromisoformat(day), units or 0))
        return out

    def no_show_sessions(self, first: dt.date, last: dt.date) -> dict[str, set[tuple[dt.date, str]]]:
        """Patient id -> the (day, session) of each no-show on reconciled days ``first`` to ``last``
        (a charge with the ``NO_SHOW`` gap: late cancellations and excused absences are not no-shows)."""
        rows = self.db.execute(
            "SELECT patient_id, day, session FROM dispositions WHERE day BETWEEN ? AND ? "
            "AND EXISTS (SELECT 1 FROM json_each(COALESCE(gaps, '[]')) WHERE value = 'NO_SHOW')",
            [first.isoformat(), last.isoformat()]).fetchall()
        out: dict[str, set[tuple[dt.date, str]]] = {}
        for pid, day, session in rows:
            out.setdefault(pid, set()).add((dt.date.fromisoformat(day), session or ""))
        return out

    def attendance_days(self, first: dt.date, last: dt.date) -> tuple[dict[dt.date, int | None],
                                                                       dict[str, dict[dt.date, PatientDay]]]:
        """The reconciled days ``first`` to ``last``: how long each ran (minutes, None: unknown),
        and each charged patient's attendance on them."""
        iso = [first.isoformat(), last.isoformat()]
        program = {dt.date.fromisoformat(r["day"]): r["minutes"]
                   for r in self.db["program_days"].rows_where("day BETWEEN ? AND ?", iso)}
        patients: dict[str, dict[dt.date, PatientDay]] = {}
        for r in self.db["patient_days"].rows_where("day BETWEEN ? AND ?", iso):
            patients.setdefault(r["patient_id"], {})[dt.date.fromisoformat(r["day"])] = PatientDay(
                r["patient_id"], r["minutes"] or 0, bool(r["attended"]))
        return program, patients

    def gap_days(self, code: str, first: dt.date, last: dt.date) -> dict[str, set[dt.date]]:
        """Patient id -> the days ``first`` to ``last`` a gap of ``code`` was raised for them."""
        out: dict[str, set[dt.date]] = {}
        for pid, day in self.db.execute("SELECT patient_id, day FROM gaps WHERE code = ? AND status = 'open' "
                                        "AND day BETWEEN ? AND ?",
                                        [code, first.isoformat(), last.isoformat()]).fetchall():
            if pid:
                out.setdefault(pid, set()).add(dt.date.fromisoformat(day))
        return out

    def reconciled_days(self, last: dt.date) -> list[dt.date]:
        """Every day up to ``last`` a run reconciled successfully, oldest first."""
        rows = self.db.execute("SELECT DISTINCT day FROM runs WHERE status = 'ok' AND day <= ? ORDER BY day",
                               [last.isoformat()]).fetchall()
        return [dt.date.fromisoformat(d) for (d,) in rows]

    def trends(self, days: Iterable[dt.date]) -> list[DayTrend]:
        """Each day's open gaps by code, charges on hold and dollars at risk by payer, and
        no-shows, as the ledger has them now."""
        out = []
        for day in days:
            iso = day.isoformat()
            gaps = dict(self.db.execute("SELECT code, COUNT(*) FROM gaps WHERE day = ? AND status = 'open' "
                                        "GROUP BY code ORDER BY code", [iso]).fetchall())
            held: dict[str, int] = {}
            at_risk: dict[str, float] = {}
            for r in self.db["dispositions"].rows_where("day = ?", [iso], order_by="payer"):
                payer = r["payer"] or ""
                held.setdefault(payer, 0)
                at_risk.setdefault(payer, 0.0)
                held[payer] += r["disposition"] == "hold"
                at_risk[payer] += _at_risk(r)
            kinds = dict(self.db.execute("SELECT kind, COUNT(*) FROM no_shows WHERE day = ? GROUP BY kind",
                                         [iso]).fetchall())
            out.append(DayTrend(day, gaps, held, {p: round(v, 2) for p, v in at_risk.items()},
                                kinds.get("no_show", 0), kinds.get("late_cancel", 0)))
        return out

    # --- the Slack outbox --------------------------------------------------------

    def outbox(self, day: dt.date | None = None) -> dict[str, dict]:
        """Stored Slack messages by key: one day's, or every day's still waiting to be sent."""
        if day is not None:
            rows = self.db["slack_messages"].rows_where("day = ?", [day.isoformat()], order_by="rowid")
        else:
            rows = self.db["slack_messages"].rows_where("status NOT IN ('sent', 'dry_run')", order_by="rowid")
        return {r["key"]: r for r in rows}

    def outbox_rows(self, keys: list[str]) -> dict[str, dict]:
        if not keys:
            return {}
        rows = self.db["slack_messages"].rows_where(f"key IN ({','.join('?' * len(keys))})", keys)
        return {r["key"]: r for r in rows}

    def save_message(self, row: dict) -> None:
        """Store an outbox row; its error text is cleaned of secrets (the caller's too, as a backstop)."""
        if row.get("error"):
            row = {**row, "error": clean(row["error"])}
        with self.db.atomic():
            self.db["slack_messages"].upsert({**row, "updated_at": _now()}, pk="key")

    def gap_rows(self, day: dt.date, status: str | None = None) -> list[dict]:
        where, args = "day = ?", [day.isoformat()]
        if status:
            where += " AND status = ?"
            args.append(status)
        return list(self.db["gaps"].rows_where(where, args, order_by="rowid"))

    # --- answers in Slack ---------------------------------------------------------

    def last_run_id(self) -> int:
        """The id of the newest run (0 on a new ledger): answers recorded now are older than any run after it."""
        return self.db.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0]

    def remember_alert(self, key: str, day: dt.date, session: str | None, session_key: str | None,
                       mention: str | None, facilitator: str | None, targets: list[dict]) -> None:
        """What a facilitator alert's buttons stand for (``targets``: token, scope, session_key,
        charge_id, gap_ids, gap_codes, line) and whom it addresses. Unchanged rows are not rewritten."""
        iso = day.isoformat()
        with self.db.atomic():
            alert = {"key": key, "day": iso, "session": session, "session_key": session_key, "mention": mention,
                     "facilitator": facilitator}
            old = self.outbox_alert(key)
            if old is None or any(old.get(k) != v for k, v in alert.items()):
                self.db["slack_alerts"].upsert({**alert, "updated_at": _now()}, pk="key")
            rows = [{"token": t["token"], "day": iso, "message_key": key, "scope": t["scope"], "session": session,
                     "session_key": session_key, "charge_id": t.get("charge_id"),
                     "gap_ids": json.dumps(list(t["gap_ids"])), "gap_codes": json.dumps(list(t["gap_codes"])),
                     "line": json.dumps(t.get("line")), "mention": mention} for t in targets]
            existing = {r["token"]: r for r in self.db["slack_targets"].rows_where(
                "message_key = ?", [key])}
            changed = [r for r in rows if existing.get(r["token"]) != r]
            if changed:
                self.db["slack_targets"].upsert_all(changed, pk="token")

    def outbox_alert(self, key: str) -> dict | None:
        rows = list(self.db["slack_alerts"].rows_where("key = ?", [key]))
        return rows[0] if rows else None

    def alerts(self, day: dt.date) -> list[dict]:
        """The day's facilitator alerts as posted: alert row joined to its outbox row (``ts``, ``posted_channel``)."""
        return list(self.db.execute_returning_dicts(
            "SELECT a.*, m.ts AS ts, COALESCE(m.posted_channel, m.channel) AS channel FROM slack_alerts a "
            "JOIN slack_messages m ON m.key = a.key WHERE a.day = ? ORDER BY m.rowid", [day.isoformat()]))

    def alert_at(self, channel: str, ts: str) -> dict | None:
        """The alert (or its re-routed copy) posted as message ``ts`` in ``channel``: its alert row."""
        rows = list(self.db.execute_returning_dicts(
            "SELECT a.*, m.kind AS kind FROM slack_messages m JOIN slack_alerts a "
            "ON a.day = m.day AND a.session = m.session "
            "WHERE m.ts = ? AND COALESCE(m.posted_channel, m.channel) = ? AND m.kind IN ('session', 'reroute')",
            [ts, channel]))
        return rows[0] if rows else None

    def target(self, token: str) -> dict | None:
        """What a button's token stands for (gap_ids, gap_codes and line decoded), or None."""
        rows = list(self.db["slack_targets"].rows_where("token = ?", [token]))
        if not rows:
            return None
        row = rows[0]
        return {**row, "gap_ids": json.loads(row["gap_ids"] or "[]"), "gap_codes": json.loads(row["gap_codes"] or "[]"),
                "line": json.loads(row["line"]) if row["line"] else None}

    def session_target(self, message_key: str) -> dict | None:
        rows = list(self.db["slack_targets"].rows_where("message_key = ? AND scope = 'session'", [message_key]))
        return self.target(rows[0]["token"]) if rows else None

    def record_response(self, row: dict) -> int:
        """Store one answer; ``gap_ids`` as a list. Returns its id."""
        with self.db.atomic():
            return self.db["responses"].insert({**row, "gap_ids": json.dumps(list(row.get("gap_ids") or []))}).last_pk

    def has_response_at(self, channel: str, ts: str) -> bool:
        """A thread reply already kept as a note (by its channel and ts)."""
        return self.db.execute("SELECT 1 FROM responses WHERE channel = ? AND ts = ? LIMIT 1",
                               [channel, ts]).fetchone() is not None

    def responses(self, day: dt.date) -> list[dict]:
        """Every answer given to the day's alerts, oldest first (``gap_ids`` decoded)."""
        rows = self.db["responses"].rows_where("day = ?", [day.isoformat()], order_by="id")
        return [{**r, "gap_ids": json.loads(r["gap_ids"] or "[]")} for r in rows]

    def escalated(self, day: dt.date) -> set[str]:
        """Ids of the day's gaps already raised again before close of business."""
        return {r["gap_id"] for r in self.db["escalations"].rows_where("day = ?", [day.isoformat()])}

    def record_escalations(self, rows: list[dict]) -> None:
        with self.db.atomic():
            self.db["escalations"].upsert_all(rows, pk="gap_id")

    def mark_day(self, day: dt.date, what: str, at: str) -> None:
        with self.db.atomic():
            self.db["day_marks"].upsert({"day": day.isoformat(), "what": what, "at": at}, pk=("day", "what"))

    def day_mark(self, day: dt.date, what: str) -> str | None:
        """When ``what`` was marked for ``day`` (ISO time), or None."""
        row = self.db.execute("SELECT at FROM day_marks WHERE day = ? AND what = ?",
                              [day.isoformat(), what]).fetchone()
        return row[0] if row else None

    # --- kept outcomes (re-runs that do no work twice) ----------------------------

    def kept_outcome(self, day: dt.date) -> dict | None:
        rows = list(self.db["kept_outcomes"].rows_where("day = ? AND key IS NOT NULL", [day.isoformat()]))
        return rows[0] if rows else None

    def keep_outcome(self, day: dt.date, key: str, run_id: int, valid_until: str | None, outcome: str) -> None:
        with self.db.atomic():
            self.db["kept_outcomes"].upsert({"day": day.isoformat(), "key": key, "run_id": run_id,
                                             "valid_until": valid_until, "outcome": outcome}, pk="day")

    def changed_since(self, run_id: int, day: dt.date) -> bool:
        """Whether, since run ``run_id``, a file was recorded or a run of ``day`` or an earlier day
        (other than a reused one) was started: what could change ``day``'s result."""
        files = self.db.execute("SELECT 1 FROM files WHERE run_id > ? LIMIT 1", [run_id]).fetchone()
        runs = self.db.execute("SELECT 1 FROM runs WHERE id > ? AND day <= ? AND reused_run IS NULL LIMIT 1",
                               [run_id, day.isoformat()]).fetchone()
        return bool(files or runs)

    def newest_response(self) -> int:
        """The id of the newest answer or note given in Slack (0: none yet)."""
        return self.db.execute("SELECT COALESCE(MAX(id), 0) FROM responses").fetchone()[0]

    def workbook_digest(self, day: dt.date) -> str | None:
        row = self.db.execute("SELECT workbook_digest FROM kept_outcomes WHERE day = ?", [day.isoformat()]).fetchone()
        return row[0] if row else None

    def keep_workbook_digest(self, day: dt.date, digest: str) -> None:
        """Written inside the transaction that records the day's results (with the workbook)."""
        self.db["kept_outcomes"].upsert({"day": day.isoformat(), "workbook_digest": digest}, pk="day")

    # --- retention ------------------------------------------------------------

    def purge_before(self, before: dt.date, inbox: Path, *, dry_run: bool) -> tuple[dict[str, int], int]:
        """Delete (or, ``dry_run``, count) every row of service days strictly before ``before``.

        Returns the rows per table, and how many of the purged files are still in ``inbox``.
        Deleted rows are overwritten with zeros (``secure_delete``) and the file compacted.
        """
        try:
            return self._purge_before(before, inbox, dry_run=dry_run)
        except sqlite3.DatabaseError as exc:
            raise AttendbotError(f"the ledger {self.path} could not be purged: {exc}") from exc

    def _purge_before(self, before: dt.date, inbox: Path, *, dry_run: bool) -> tuple[dict[str, int], int]:
        db, cut = self.db, {"cut": before.isoformat()}
        tables = set(db.table_names())
        old_file = _OLD_FILE if "authorizations" in tables else _OLD_FILE_BEFORE_AUTHORIZATIONS
        still = 0
        if "files" in tables:
            names = db.execute(f"SELECT f.name FROM files f WHERE f.status = 'read' AND {old_file}", cut)
            still = sum(1 for (name,) in names.fetchall() if name and (inbox / name).is_file())
        plan = [(table, where.replace(_OLD_FILE, old_file))  # an older ledger as it is
                for table, where in _PURGE_PLAN if table in tables]
        if dry_run:
            return {t: db.execute(f"SELECT COUNT(*) FROM [{t}] WHERE {where}", cut).fetchone()[0]
                    for t, where in plan}, still
        db.execute("PRAGMA secure_delete = ON")
        with db.atomic():
            rows = {t: db.execute(f"DELETE FROM [{t}] WHERE {where}", cut).rowcount for t, where in plan}
        if sum(rows.values()):
            try:
                db.vacuum()
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError as exc:
                raise AttendbotError(f"the ledger {self.path} could not be compacted after the purge ({exc}); the "
                                     "rows were deleted: run the purge again") from exc
        return rows, still


def _guarded(method):
    """An SQLite error inside a ledger method becomes AttendbotError with :func:`explain`'s one line;
    after a full disk, a read-only file or damage, the ledger stops writing (``broken``)."""
    @functools.wraps(method)
    def guarded(self: "Ledger", *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            reason = explain(exc, self.path)
            if isinstance(code, int) and code & 0xFF in _STOP_WRITING or "disk is full" in str(exc):
                self.broken = reason
            raise AttendbotError(reason) from None
    return guarded


for _name, _method in list(vars(Ledger).items()):
    if not _name.startswith("_") and inspect.isfunction(_method) and _name not in ("close", "purge_before"):
        setattr(Ledger, _name, _guarded(_method))
del _name, _method
