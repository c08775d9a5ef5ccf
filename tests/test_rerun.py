"""Re-runs that do no work twice (attendbot.rerun): reused only when nothing a run depends on changed."""

from __future__ import annotations

import dataclasses
import functools
import datetime as dt
import os
import time

import pytest

import attendbot
import attendbot.run
from attendbot import rerun
from attendbot.ingest import Ingest
from attendbot.ledger import Ledger
from attendbot.outputs.report import human_summary, json_document
from attendbot.run import run_day, run_days
from attendbot.samples.tables import write_table_csv

from builders import DAY, EHR_HEADER, PAYERS_TOML, ehr_row, write_day, Visit, t

ZONE = dt.timezone(dt.timedelta(hours=-6))
EVENING = dt.datetime.combine(DAY, dt.time(20, 0), ZONE)  # every session of the day has ended


@pytest.fixture
def day(program):
    """A small day whose files were written a minute ago (settled), run once."""
    write_day(program.inbox, DAY, [Visit("C-1", "M-1", "Silva, Ana"), Visit("C-2", "M-2", "Okoro, Ben", status="No Show")])
    age(program.inbox)
    return program


def age(folder, seconds=60):
    then = time.time() - seconds
    for path in folder.rglob("*"):
        os.utime(path, (then, then), follow_symlinks=False)


def run(program, day=DAY, now=EVENING, **flags):
    return run_day(program.settings(), day, now=now, dry_run=True, **flags)


@pytest.fixture
def reconciled(monkeypatch):
    """Counts the days actually reconciled (a reused run reconciles nothing)."""
    calls = []
    real = attendbot.run.reconcile

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(attendbot.run, "reconcile", counting)
    return calls


def runs(program):
    ledger = Ledger(program.settings().db)
    try:
        return list(ledger.db.execute("SELECT id, status, reused_run FROM runs ORDER BY id").fetchall())
    finally:
        ledger.close()


def test_a_rerun_with_nothing_changed_re_emits_the_last_outcome_and_does_no_work(day, reconciled, monkeypatch):
    first = run(day)
    workbook = first.workbook.stat().st_mtime_ns
    monkeypatch.setattr(Ingest, "all", lambda self: pytest.fail("a reused run read the inbox"))
    again = run(day)
    assert reconciled == [DAY]
    assert again.run_id == first.run_id + 1
    assert (again.result, again.files, again.status, again.responses) == (first.result, first.files, first.status,
                                                                         first.responses)
    assert again.gap_events == {"opened": 0, "reopened": 0, "resolved": 0}
    assert again.slack.messages == first.slack.messages and again.slack.posted == 0
    assert again.workbook.stat().st_mtime_ns == workbook
    assert runs(day) == [(1, "ok", None), (2, "ok", 1)]
    monkeypatch.setattr(rerun, "_recent", {})  # a new process reads the kept outcome back from the ledger
    assert run(day).result == first.result and reconciled == [DAY]
    assert json_document(again) == json_document(first)
    assert again.reused_run == first.run_id and first.reused_run is None
    assert f"nothing changed since run {first.run_id}" in human_summary(again)


def _touch_a_file(p, monkeypatch=None):
    (p.inbox / DAY.isoformat() / "charges.csv").touch()


def _drop_a_file(p, monkeypatch=None):
    write_table_csv(p.inbox / "late.csv", EHR_HEADER, [ehr_row("M-9", "Vale, Kim")])


def _remove_a_file(p, monkeypatch=None):
    (p.inbox / DAY.isoformat() / "ehr.csv").unlink()


def _edit_the_payer_rules(p, monkeypatch=None):
    (p.root / "config" / "payers.toml").write_text(PAYERS_TOML.replace("max_group_size = 12", "max_group_size = 11"))


def _answer_in_slack(p, monkeypatch=None):
    ledger = Ledger(p.settings().db)
    try:
        ledger.record_response({"day": DAY.isoformat(), "answer": "note", "detail": "came back after lunch"})
    finally:
        ledger.close()


def _run_an_earlier_day(p, monkeypatch=None):
    run(p, DAY - dt.timedelta(days=1))


def _delete_the_workbook(p, monkeypatch=None):
    for f in (p.root / "audit").glob("*.xlsx"):
        f.unlink()


def _queue_a_message(p, monkeypatch=None):
    ledger = Ledger(p.settings().db)
    try:
        row = next(iter(ledger.outbox(DAY).values()))
        ledger.save_message({**row, "status": "queued"})
    finally:
        ledger.close()


def _another_working_folder(p, monkeypatch):
    monkeypatch.chdir(p.root)


def _new_code(p, monkeypatch):
    monkeypatch.setattr(rerun, "_code_version", functools.cache(rerun._code_version.__wrapped__))
    monkeypatch.setattr(attendbot, "__version__", "99.0")


@pytest.mark.parametrize("change", [_touch_a_file, _drop_a_file, _remove_a_file, _edit_the_payer_rules,
                                    _answer_in_slack, _run_an_earlier_day, _delete_the_workbook, _queue_a_message,
                                    _another_working_folder, _new_code], ids=lambda f: f.__name__.strip("_"))
def test_any_change_a_run_depends_on_makes_the_rerun_do_the_work(day, reconciled, monkeypatch, change):
    run(day)
    change(day, monkeypatch)
    age(day.inbox)
    again = run(day)
    assert reconciled[-1] == DAY and len([d for d in reconciled if d == DAY]) == 2
    assert runs(day)[-1][2] is None
    assert again.workbook.is_file()


def test_the_flags_are_part_of_the_key(day, reconciled):
    run(day)
    run(day, alerts=False)
    run(day, alerts=False)
    assert reconciled == [DAY, DAY]
    run_day(day.settings(), DAY, now=EVENING, dry_run=False)  # no token: dry all the same, but asked otherwise
    assert reconciled == [DAY, DAY, DAY]


def test_the_clock_reaching_a_session_end_makes_the_rerun_do_the_work(day, reconciled):
    morning = dt.datetime.combine(DAY, dt.time(10, 0), ZONE)  # the 9-12 group is still on
    first = run(day, now=morning)
    assert run(day, now=morning + dt.timedelta(minutes=30)).run_id == first.run_id + 1
    assert reconciled == [DAY]
    run(day, now=dt.datetime.combine(DAY, dt.time(12, 0), ZONE))
    assert reconciled == [DAY, DAY]


def test_valid_until_is_the_next_moment_the_clock_changes_what_slack_is_told(day):
    outcome = run(day)
    settings = day.settings()
    ten = dt.datetime.combine(DAY, dt.time(10, 0), ZONE)
    assert rerun.valid_until(settings, outcome, ten, live=False) == dt.datetime.combine(DAY, t(12), ZONE)
    assert rerun.valid_until(settings, outcome, EVENING, live=True) == dt.datetime.combine(
        DAY + dt.timedelta(days=1), dt.time(), ZONE)
    four = dt.datetime.combine(DAY, dt.time(16, 0), ZONE)
    assert rerun.valid_until(settings, outcome, four, live=True) == dt.datetime.combine(DAY, t(17), ZONE)
    assert rerun.valid_until(settings, outcome, four + dt.timedelta(days=1), live=True) is None
    assert rerun.valid_until(settings, outcome, four - dt.timedelta(days=1), live=True) == dt.datetime.combine(
        DAY, dt.time(), ZONE)


def test_a_file_that_arrives_during_the_run_is_read_by_the_next_one(day, reconciled, monkeypatch):
    real = Ingest.all

    def and_meanwhile(self):
        reports = real(self)
        _drop_a_file(day)
        age(day.inbox)
        return reports

    monkeypatch.setattr(Ingest, "all", and_meanwhile)
    run(day)
    monkeypatch.setattr(Ingest, "all", real)
    again = run(day)
    assert reconciled == [DAY, DAY]
    assert "late.csv" in {f.path.rsplit("/", 1)[-1] for f in again.files}


def test_a_file_left_to_try_again_is_tried_again(day, reconciled, monkeypatch):
    real = Ingest.start

    def cannot_open(self, path, shown, *args):
        finish = real(self, path, shown, *args)
        if path.name != "ehr.csv":
            return finish
        return lambda: dataclasses.replace(finish(), status="ignored", retry=True)

    monkeypatch.setattr(Ingest, "start", cannot_open)
    run(day)
    monkeypatch.setattr(Ingest, "start", real)
    run(day)
    assert reconciled == [DAY, DAY]


def test_a_file_changed_moments_ago_is_never_taken_as_settled(day, reconciled):
    run(day)
    _touch_a_file(day)  # now, not a minute ago
    run(day)
    run(day)
    assert reconciled == [DAY, DAY, DAY]


def test_a_full_rerun_rewrites_the_workbook_only_when_what_it_shows_changed(day, reconciled):
    first = run(day)
    stamp = first.workbook.stat().st_mtime_ns
    _touch_a_file(day)
    age(day.inbox)
    run(day)
    assert reconciled == [DAY, DAY] and first.workbook.stat().st_mtime_ns == stamp
    write_day(day.inbox, DAY, [Visit("C-1", "M-1", "Silva, Ana"), Visit("C-2", "M-2", "Okoro, Ben")])  # came after all
    age(day.inbox)
    fixed = run(day)
    assert first.workbook.stat().st_mtime_ns != stamp
    assert fixed.result != first.result


def test_a_kept_outcome_that_cannot_be_read_back_is_ignored(day, reconciled, monkeypatch):
    run(day)
    monkeypatch.setattr(rerun, "_recent", {})  # as a new process finds it
    ledger = Ledger(day.settings().db)
    try:
        ledger.db.execute("UPDATE kept_outcomes SET outcome = '{\"day\": \"not a day\"}'")
        ledger.db.conn.commit()
    finally:
        ledger.close()
    assert run(day).result.day == DAY
    assert reconciled == [DAY, DAY]


def test_a_backfill_keeps_each_day_for_a_rerun(day, reconciled):
    monday = DAY - dt.timedelta(days=1)
    write_day(day.inbox, monday, [Visit("C-0", "M-1", "Silva, Ana")])
    age(day.inbox)
    outcomes = list(run_days(day.settings(), [monday, DAY], workers=2))
    assert reconciled == [monday, DAY]
    for outcome in outcomes:
        assert run(day, outcome.day).reused_run == outcome.run_id
    assert reconciled == [monday, DAY]
