"""The floors of attendbot and the one-way arrows between them (docs/architecture.md).

Every ``import`` in the package counts, including those inside functions: an import
circle kept alive by a function-level import is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "attendbot"

#: The bottom floor: plain data and helpers every floor may use; they import only each other.
BOTTOM = {"attendbot", "attendbot.errors", "attendbot.codes", "attendbot.model", "attendbot.messages",
          "attendbot.names", "attendbot.npi", "attendbot.secrets", "attendbot.calendar", "attendbot.mark"}
#: Libraries that touch files, databases, the network or the clock's world.
IO_LIBRARIES = {"os", "io", "shutil", "pathlib", "sqlite3", "sqlite_utils", "openpyxl", "pdfplumber", "pypdfium2",
                "slack_sdk", "socket", "subprocess", "tomllib", "filelock", "schedule", "time", "logging"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """(attendbot modules, other top-level libraries) that ``name`` imports anywhere in its body."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    ours, libraries = set(), set()
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "attendbot":
                while target not in MODULES:
                    target = target.rpartition(".")[0]
                if target != name:
                    ours.add(target)
            else:
                libraries.add(target.split(".")[0])
    return ours, libraries


GRAPH = {name: imports_of(name)[0] for name in MODULES}


def floor(name: str) -> str:
    if name in BOTTOM:
        return "bottom"
    return name.split(".")[1]


def test_there_is_no_import_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n in BOTTOM))
def test_the_bottom_floor_imports_only_the_bottom_floor(name):
    assert GRAPH[name] <= BOTTOM, f"{name} imports {sorted(GRAPH[name] - BOTTOM)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if floor(n) == "reconcile"))
def test_reconcile_is_pure_and_imports_no_reader_output_command_or_io(name):
    ours, libraries = imports_of(name)
    assert {floor(m) for m in ours} <= {"bottom", "reconcile"}, f"{name} imports {sorted(ours)}"
    assert not libraries & IO_LIBRARIES, f"{name} imports {sorted(libraries & IO_LIBRARIES)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if floor(n) == "readers"))
def test_readers_import_no_rule_output_or_command(name):
    assert {floor(m) for m in GRAPH[name]} <= {"bottom", "readers"}, f"{name} imports {sorted(GRAPH[name])}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if floor(n) == "outputs"))
def test_outputs_import_no_reader_ingest_or_command(name):
    allowed = {"bottom", "outputs", "config", "ledger", "reconcile"}
    assert {floor(m) for m in GRAPH[name]} <= allowed, f"{name} imports {sorted(GRAPH[name])}"


@pytest.mark.parametrize("name", ["attendbot.ledger", "attendbot.config"])
def test_the_ledger_and_the_config_reach_no_step_above_them(name):
    above = {"ingest", "run", "outputs", "cli", "worker", "demo", "purge", "check"}
    assert not {floor(m) for m in GRAPH[name]} & above, f"{name} imports {sorted(GRAPH[name])}"


def test_only_the_ledger_speaks_sql():
    speakers = {name for name in MODULES if {"sqlite3", "sqlite_utils"} & imports_of(name)[1]}
    assert speakers == {"attendbot.ledger"}
