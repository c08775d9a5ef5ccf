"""The ledger file as the bot meets it: missing (first run), from an older version (every
earlier schema is brought up to date and keeps its rows), newer, damaged or someone else's
(a clear error, and the file is never written)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import stat

import pytest
import sqlite_utils

from attendbot import config, demo
from attendbot.errors import AttendbotError
from attendbot.ledger import MIGRATIONS, Ledger, migration_names
from attendbot.run import run_day

from builders import DAY

NAMES = migration_names()


def _latest_tables(tmp_path) -> set[str]:
    ledger = Ledger(tmp_path / "latest.db")
    try:
        return set(ledger.db.table_names())
    finally:
        ledger.close()


def _sample(column_type: str, n: int):
    return {"INTEGER": n, "FLOAT": n + 0.5, "REAL": n + 0.5}.get(column_type.upper(), f"value-{n}")


def _fill(db: sqlite_utils.Database) -> dict[str, dict]:
    """One row in every table the schema has so far, every column set."""
    rows = {}
    for n, table in enumerate(t for t in db.table_names() if t != MIGRATIONS.migrations_table):
        row = {c.name: _sample(c.type, n) for c in db[table].columns}
        db[table].insert(row)
        rows[table] = row
    return rows


def _open_and_check(path, tables: set[str]) -> Ledger:
    ledger = Ledger(path)
    assert MIGRATIONS.pending(ledger.db) == []
    # Every migration, once; a hand-made old ledger may have had a later one applied before an earlier one.
    assert sorted(m.name for m in MIGRATIONS.applied(ledger.db)) == NAMES
    assert tables <= set(ledger.db.table_names())
    return ledger


def test_the_schema_has_migrations_in_order():
    # One linear sequence: m003_billing_codes shipped first (real ledgers may have it applied),
    # so the authorizations and day-attendance tables come after it.
    assert NAMES[:7] == ["m001_initial", "m002_slack_outbox", "m003_billing_codes", "m004_line_keys",
                         "m005_authorizations", "m006_day_attendance", "m007_scan_judgements"]
    assert NAMES == sorted(NAMES)
    assert len({name[:4] for name in NAMES}) == len(NAMES)  # no two migrations share a number


@pytest.mark.parametrize("stop_before", NAMES)
def test_a_ledger_from_before_each_migration_is_brought_up_to_date_and_keeps_its_rows(tmp_path, stop_before):
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before=stop_before)
    assert MIGRATIONS.pending(old)[0].name == stop_before
    rows = _fill(old)
    old.close()

    ledger = _open_and_check(path, _latest_tables(tmp_path))
    try:
        for table, row in rows.items():  # a column a later migration added is empty on old rows
            assert [{k: r[k] for k in row} for r in ledger.db[table].rows] == [row], table
        run_id = ledger.start_run(DAY, dry_run=True)  # and it is usable as a current ledger
        ledger.finish_run(run_id, "ok")
        assert ledger.outbox(DAY) == {}
    finally:
        ledger.close()


def test_an_empty_file_is_made_a_ledger(tmp_path):
    path = tmp_path / "attendbot.db"
    path.write_bytes(b"")
    _open_and_check(path, _latest_tables(tmp_path)).close()


def test_a_missing_ledger_is_created_owner_only_with_its_folder_on_first_use(tmp_path):
    path = tmp_path / "var" / "attendbot.db"
    previous = os.umask(0o022)
    try:
        _open_and_check(path, _latest_tables(tmp_path)).close()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_reopening_a_current_ledger_changes_nothing(tmp_path):
    path = tmp_path / "attendbot.db"
    Ledger(path).close()
    before = path.read_bytes()
    _open_and_check(path, _latest_tables(tmp_path)).close()
    assert path.read_bytes() == before


def test_a_ledger_from_before_the_slack_outbox_keeps_its_day_and_a_rerun_changes_nothing(tmp_path):
    """A realistic m001 ledger: the demo day reconciled, with every later table taken away again."""
    settings = config.load(demo.write_program(tmp_path / "program"), base=tmp_path / "program")
    run_day(settings, DAY, dry_run=True)
    first = sqlite_utils.Database(memory=True)
    MIGRATIONS.apply(first, stop_before=NAMES[1])
    m001_tables = set(first.table_names())
    db = sqlite_utils.Database(settings.db)
    for table in set(db.table_names()) - m001_tables:
        db[table].drop()
    for table in m001_tables - {MIGRATIONS.migrations_table}:  # and every column a later migration added
        later = {c.name for c in db[table].columns} - {c.name for c in first[table].columns}
        if later:
            db[table].transform(drop=later)
    db.execute(f"DELETE FROM [{MIGRATIONS.migrations_table}] WHERE name != 'm001_initial'")
    db.conn.commit()
    kept = {t: list(db[t].rows) for t in ("charges", "attendance", "signin_lines", "dispositions", "gaps", "files")}
    db.close()

    ledger = _open_and_check(settings.db, _latest_tables(tmp_path))
    try:
        # a column a later migration added is empty on the old rows; every old value is kept
        assert {t: [{k: r[k] for k in (rows[0] if rows else {})} for r in ledger.db[t].rows]
                for t, rows in kept.items()} == kept
        assert all(kept.values())
    finally:
        ledger.close()
    outcome = run_day(settings, DAY, dry_run=True)
    assert len(outcome.result.charges) == 22
    assert outcome.gap_events == {"opened": 0, "reopened": 0, "resolved": 0}


def _unchanged_after_refusal(path, words: str) -> None:
    before = path.read_bytes()
    with pytest.raises(AttendbotError, match=words) as info:
        Ledger(path)
    assert str(path) in str(info.value) and "left untouched" in str(info.value)
    assert path.read_bytes() == before
    assert not path.with_name(path.name + "-wal").exists()


def test_a_file_of_random_bytes_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "attendbot.db"
    path.write_bytes(os.urandom(8192))
    _unchanged_after_refusal(path, "damaged or not an attendbot ledger")


def test_a_truncated_ledger_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "attendbot.db"
    Ledger(path).close()
    path.write_bytes(path.read_bytes()[:100])
    _unchanged_after_refusal(path, "damaged or not an attendbot ledger")


def test_someone_elses_database_with_a_conflicting_table_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "attendbot.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE runs (race TEXT, miles REAL)")
    conn.execute("INSERT INTO runs VALUES ('Chicago Marathon', 26.2)")
    conn.commit()
    conn.close()
    _unchanged_after_refusal(path, r"not an attendbot ledger \(it holds other tables: runs")


def test_a_database_of_another_migration_set_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "attendbot.db"
    db = sqlite_utils.Database(path)
    other = sqlite_utils.Migrations("someone-else")
    other()(lambda db: db["notes"].create({"id": int, "text": str}, pk="id"))
    other.apply(db)
    db.close()
    _unchanged_after_refusal(path, "not an attendbot ledger")


def test_a_ledger_written_by_a_newer_version_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "attendbot.db"
    Ledger(path).close()
    db = sqlite_utils.Database(path)
    db[MIGRATIONS.migrations_table].insert({"migration_set": MIGRATIONS.name, "name": "m999_from_the_future",
                                            "applied_at": str(dt.datetime.now(dt.timezone.utc))})
    db.close()
    _unchanged_after_refusal(path, "newer version of attendbot")


def test_a_ledger_opened_read_only_is_not_migrated(tmp_path):
    path = tmp_path / "attendbot.db"
    old = sqlite_utils.Database(path)
    MIGRATIONS.apply(old, stop_before=NAMES[-1])
    old.close()
    before = path.read_bytes()
    ledger = Ledger(path, readonly=True)
    try:
        assert [m.name for m in MIGRATIONS.pending(ledger.db)] == [NAMES[-1]]
        with pytest.raises(AttendbotError, match="is read-only"):
            ledger.start_run(DAY, dry_run=True)
    finally:
        ledger.close()
    assert path.read_bytes() == before
