"""docs/ledger.md: an administrator browses a real ledger read-only with Datasette."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

datasette = pytest.importorskip("datasette.app", reason="datasette is a test extra: pip install -e '.[test]'")

DOC = Path(__file__).resolve().parents[1] / "docs" / "ledger.md"


def test_a_real_ledger_opens_read_only_in_datasette_with_the_documented_tables(program):
    from builders import CHARGE_HEADER, DAY, EHR_HEADER, charge_row, ehr_row
    from attendbot.samples.tables import write_table_csv, write_table_xlsx

    write_table_xlsx(program.inbox / "charges.xlsx", CHARGE_HEADER, [charge_row("C-1", "M-1", "Silva, Ana", DAY)])
    write_table_csv(program.inbox / "ehr.csv", EHR_HEADER, [ehr_row("M-1", "Silva, Ana", DAY)])
    program.run(DAY)
    db = program.settings().db
    before = db.read_bytes()

    async def browse() -> tuple[set[str], list[dict]]:
        ds = datasette.Datasette(immutables=[str(db)])
        tables = (await ds.client.get(f"/{db.stem}.json")).json()["tables"]
        runs = (await ds.client.get(f"/{db.stem}/runs.json?_shape=array")).json()
        return {t["name"] for t in tables}, runs

    tables, runs = asyncio.run(browse())
    documented = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", DOC.read_text(), re.M))
    names = {n for pair in documented for n in pair if n}
    assert names <= tables, names - tables
    assert {t for t in tables if not t.startswith("sqlite_")} <= names, "a ledger table docs/ledger.md does not describe"
    assert runs and runs[0]["status"] == "ok"
    assert db.read_bytes() == before
