"""The commands as a user meets them: output streams, exit status, messages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from attendbot.cli import build_parser, main

from builders import DAY

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("run", "serve", "check", "demo", "purge", "rosters")


@pytest.fixture
def demo_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["demo", "--dir", "d"]) == 0
    monkeypatch.chdir(tmp_path / "d")
    return tmp_path / "d"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_documented_in_the_readme(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip()
    assert f"attendbot {command}" in (ROOT / "README.md").read_text()


def test_the_parser_knows_exactly_the_documented_commands():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)


def test_demo_prints_the_slack_preview_and_where_the_workbook_is(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--dir", "here"]) == 0
    out = capsys.readouterr().out
    assert "--- Slack (dry run) to C0GROUPS ---" in out and "<@U01DANA>" in out
    assert "2026-11-24-attendance-audit.xlsx" in out
    assert (tmp_path / "here" / "audit" / "2026-11-24-attendance-audit.xlsx").exists()


def test_demo_refuses_a_folder_that_is_not_an_earlier_demo(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("precious")
    assert main(["demo", "--dir", "mine"]) == 2
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "precious"


def test_run_json_puts_only_the_document_on_stdout(demo_dir, capsys):
    assert main(["run", "--date", DAY.isoformat(), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["date"] == "2026-11-24" and len(doc["charges"]) == 22
    assert "no SLACK_BOT_TOKEN" in captured.err and captured.err.count("no SLACK_BOT_TOKEN") == 1
    assert "audit workbook" in captured.err


def test_run_without_json_prints_the_summary_and_no_patient_names(demo_dir, capsys):
    assert main(["run", "--date", DAY.isoformat(), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "22 charges" in out
    for name in ("Núñez", "Nunez", "Okafor", "Brennan", "Castillo", "004821"):
        assert name not in out


def test_a_bad_config_exits_2_naming_file_and_key(demo_dir, capsys):
    path = demo_dir / "config" / "payers.toml"
    path.write_text(path.read_text() + "\n[payers.x]\nmax_group_size = -1\n")
    assert main(["run", "--date", DAY.isoformat()]) == 2
    err = capsys.readouterr().err
    assert "config/payers.toml" in err and "payers.x.max_group_size" in err


def test_a_payer_name_matching_two_sections_equally_exits_2_naming_the_payer_and_the_sections(demo_dir, capsys):
    path = demo_dir / "config" / "payers.toml"  # the demo's "Aetna" lines now match two sections by "aetna"
    path.write_text(path.read_text() + '\n[payers.aetnamedicaid]\nkind = "medicaid"\nmatch = ["aetna"]\n')
    assert main(["run", "--date", DAY.isoformat()]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "config/payers.toml" in err
    assert "'Aetna'" in err and "commercial" in err and "aetnamedicaid" in err
    assert "Traceback" not in err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--date", "24/11/2026"])
    assert info.value.code == 2
    assert "is not a date" in capsys.readouterr().err


def test_a_damaged_ledger_exits_1_and_is_left_untouched(demo_dir, capsys):
    db = demo_dir / "var" / "attendbot.db"
    db.write_bytes(b"this is not a database" * 100)
    before = db.read_bytes()
    assert main(["run", "--date", DAY.isoformat()]) == 1
    assert "ledger" in capsys.readouterr().err
    assert db.read_bytes() == before


def test_check_lists_the_inbox_and_changes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    from attendbot.demo import write_program

    write_program(tmp_path / "p")
    monkeypatch.chdir(tmp_path / "p")
    before = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "p").rglob("*"))
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "configuration OK" in out
    assert re.search(r"charges_export_20261124\.xlsx: charges", out)
    assert re.search(r"Scan_0042\.pdf: unreadable: no sign-in sheet could be read from the scan: page 1 is blank", out)
    assert re.search(r"meeting-notes\.docx: ignored", out)
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "p").rglob("*")) == before


def test_the_console_script_runs_the_demo(tmp_path):
    exe = Path(sys.executable).with_name("attendbot")
    proc = subprocess.run([str(exe), "demo", "--dir", str(tmp_path / "demo")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "audit workbook" in proc.stdout


ENDS_AT_ONCE = """
import atexit, sys
marker = sys.argv.pop(1)
atexit.register(lambda: open(marker, "w").close())  # would run in the interpreter's teardown
from attendbot.cli import entry
entry()
"""


@pytest.mark.parametrize("argv, code", [(["run", "--date", DAY.isoformat(), "--json"], 0),
                                        (["run", "--config", "missing.toml"], 2)])
def test_the_command_ends_without_the_interpreters_teardown_once_all_it_said_is_out(tmp_path, argv, code):
    from attendbot.demo import write_program

    write_program(tmp_path)
    marker = tmp_path / "teardown-ran"
    proc = subprocess.run([sys.executable, "-c", ENDS_AT_ONCE, str(marker), *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert not marker.exists()
    if code == 0:
        assert len(json.loads(proc.stdout)["charges"]) == 22  # every byte of the JSON, flushed
    else:
        assert proc.stderr.startswith("attendbot: configuration error:") and proc.stderr.endswith("\n")
