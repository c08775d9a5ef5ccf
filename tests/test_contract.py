"""The spec's contract, checked against the code: gap codes, owners, effects, tests for each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attendbot.codes import GAP_TABLE, Disposition, GapCode, Owner
from attendbot.messages import TEMPLATES

SPEC = Path(__file__).resolve().parents[2] / "shared" / "SPEC.md"
TESTS = Path(__file__).parent
LATER: set[str] = set()  # every gap code has its rule, message and test
EFFECT = {"yes": Disposition.HOLD, "adjust": Disposition.ADJUST, "void": Disposition.VOID, "no": Disposition.READY}


def spec_gap_rows() -> list[tuple[list[str], str, str]]:
    rows = []
    for line in SPEC.read_text().splitlines():
        m = re.match(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \| (\w+) \| (\w+) \|", line)
        if m:
            rows.append((re.findall(r"`([A-Z_]+)`", m.group(1)), m.group(2), m.group(3)))
    return rows


@pytest.mark.skipif(not SPEC.exists(), reason="the upstream SPEC.md is not beside the project (docs/gap-codes.md "
                                             "is the contract in the repository)")
def test_every_spec_gap_code_is_in_the_gap_table_with_its_effect_and_owner():
    rows = spec_gap_rows()
    named = {code for codes, _, _ in rows for code in codes}
    assert named == {c.value for c in GapCode}
    for codes, blocks, owner in rows:
        for code in codes:
            assert GAP_TABLE[GapCode(code)] == (EFFECT[blocks], Owner(owner)), code


@pytest.mark.parametrize("code", sorted(c.value for c in GapCode if c.value not in LATER))
def test_every_core_gap_code_has_a_message_and_a_test_that_produces_it(code):
    assert GapCode(code) in TEMPLATES
    tests = "\n".join(p.read_text() for p in TESTS.glob("test_*.py") if p.name != "test_contract.py")
    assert code in tests, f"no test names {code}"


def test_dispositions_are_ordered_as_the_spec_says():
    assert Disposition.READY < Disposition.ADJUST < Disposition.HOLD < Disposition.VOID
    assert [str(d) for d in Disposition] == ["ready", "adjust", "hold", "void"]


def test_docs_gap_codes_explains_every_gap_code_with_its_effect_owner_and_what_to_do():
    doc = (TESTS.parent / "docs" / "gap-codes.md").read_text()
    rows = {m.group(1): (m.group(2), m.group(3), m.group(4).strip())
            for m in re.finditer(r"^\| `([A-Z_]+)` \| (\w+) \| (\w+) \| [^|]+ \| ([^|]+) \|$", doc, re.M)}
    assert set(rows) == {c.value for c in GapCode}
    for code, (blocks, owner, what_to_do) in rows.items():
        assert GAP_TABLE[GapCode(code)] == (EFFECT[blocks], Owner(owner)), code
        assert len(what_to_do) > 20, code
