"""docs/reference.md is the contract in the repository: the code is held to it, and it to the code."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from pydantic import BaseModel

from attendbot.cli import build_parser
from attendbot.config import CodeSection, MainFile, PayerSection, RuleSection

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subcommands() -> dict:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def _command_rows() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `attendbot (\w+)` \| ([^|]*) \|", REFERENCE, re.M)}


def test_the_reference_lists_exactly_the_commands_there_are():
    assert set(_command_rows()) == set(_subcommands())


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_option_of_every_command_is_in_the_reference_and_has_help(name):
    sub = _subcommands()[name]
    assert sub.description or sub.format_help()
    options = {o for a in sub._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
    documented = set(re.findall(r"`(--[\w-]+)`", _command_rows()[name]))
    assert options == documented
    for action in sub._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"attendbot {name} {action.option_strings[0]} has no help text"


def _keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and prefix == "":
            keys |= _keys(annotation, prefix=f"{name}.")
    return keys


def _table_keys(heading: str) -> set[str]:
    section = REFERENCE.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([\w.<>]+)` \|", section, re.M))


def test_every_attendbot_toml_key_is_in_the_reference():
    documented = _table_keys("### `config/attendbot.toml`")
    tables = {"columns": "columns.<kind>", "carc": "carc.<code>"}  # top-level tables of free keys
    keys = {k for k in _keys(MainFile) if "." in k or k in tables}
    keys = {tables.get(k, k) for k in keys}
    assert keys == documented


def test_every_payers_toml_key_is_in_the_reference():
    documented = _table_keys("### `config/payers.toml`")
    keys = set(RuleSection.model_fields) | set(PayerSection.model_fields) | set(CodeSection.model_fields)
    assert keys == documented


def test_the_readme_names_nothing_outside_the_repository():
    assert "../shared" not in README and "SPEC.md" not in README


def _readme_commands() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^python3 -m venv .*$", block, re.M)


def test_the_readme_quick_start_is_two_commands_and_ci_runs_the_second():
    demo, tests = _readme_commands()
    assert demo.endswith("attendbot demo") and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert "QUICK_START_TESTS" in ci  # .ci/run runs the README's own test command, read from the README
    assert shlex.split(tests)[0] == "python3"
