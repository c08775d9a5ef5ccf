"""Shared machinery for exports that are one table: the charge and EHR attendance readers.

A tabular reader declares its fields (``readers/columns.py``) and how one row
becomes a record; this module finds the header row under title lines and blank
rows, in a CSV or in any worksheet of an XLSX, and turns every non-blank row
after it into a record or a problem with evidence. No row is dropped silently.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from attendbot.model import Evidence, Problem, ReadResult
from attendbot.readers import parse
from attendbot.readers.base import Reader
from attendbot.readers.columns import Field, HeaderMap, build_lookup, find_header, normalize_header
from attendbot.readers.source import SourceFile


@dataclass(frozen=True)
class Table:
    sheet: str | None
    header: HeaderMap
    rows: list[tuple[Any, ...]]


class Row:
    """One data row, addressed by field name."""

    def __init__(self, cells: Sequence[Any], columns: Mapping[str, int]):
        self.cells, self.columns = cells, columns

    def __getitem__(self, name: str) -> Any:
        i = self.columns.get(name)
        return self.cells[i] if i is not None and i < len(self.cells) else None

    def has(self, name: str) -> bool:
        return name in self.columns

    def text(self, name: str) -> str | None:
        return parse.text(self[name])

    def required(self, name: str, parser=parse.text) -> Any:
        """The parsed value; ValueError when the cell is blank."""
        value = parser(self[name])
        if value is None or value == "":
            raise ValueError(f"{name.replace('_', ' ')} is blank")
        return value


class TabularReader(Reader):
    fields: tuple[Field, ...] = ()

    def __init__(self, extra_columns: Mapping[str, Sequence[str]] | None = None):
        self.lookup = build_lookup(self.fields, extra_columns)

    def find_table(self, src: SourceFile) -> Table | None:
        for sheet, rows in src.tables:
            header = find_header(rows, self.fields, self.lookup)
            if header and self.looks_like_mine(header, rows[header.row_index],
                                               rows[header.row_index + 1:header.row_index + 21]):
                return Table(sheet, header, rows)
        return None

    def looks_like_mine(self, header: HeaderMap, cells: tuple[Any, ...], sample: list[tuple[Any, ...]]) -> bool:
        """A further content check on the header row's cells and the first data rows;
        the required columns alone suffice by default."""
        return True

    def identify(self, src: SourceFile) -> bool:
        return src.format in ("text", "xlsx") and self.find_table(src) is not None

    def read(self, src: SourceFile) -> ReadResult:
        result = ReadResult()
        table = self.find_table(src)
        if table is None:
            return result
        header_cells = table.rows[table.header.row_index]
        for index, cells in self._data_rows(table):
            evidence = Evidence(src.shown, sheet=table.sheet, row=index + 1)
            if all(normalize_header(c) == normalize_header(h) for c, h in zip(cells, header_cells)):
                continue  # the header repeated (a report printed page by page)
            try:
                self.add(result, Row(cells, table.header.columns), evidence)
            except ValueError as exc:
                result.problems.append(Problem(f"row {index + 1}: {exc}; the row was not used", evidence))
        return result

    @staticmethod
    def _data_rows(table: Table) -> Iterator[tuple[int, tuple[Any, ...]]]:
        for index in range(table.header.row_index + 1, len(table.rows)):
            cells = table.rows[index]
            if any(not parse.is_blank(c) for c in cells):
                yield index, cells

    @abstractmethod
    def add(self, result: ReadResult, row: Row, evidence: Evidence) -> None:
        """Turn one row into a record on ``result``; raise ValueError with a reason to reject it."""
