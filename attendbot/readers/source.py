"""One inbox file, opened once and shared by every reader that looks at it.

Readers ask a :class:`SourceFile` for its bytes, its format, its workbook, its CSV
rows or its PDF; each is computed at most once, so asking every reader to
identify a file costs one parse, not one per reader.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attendbot.errors import UnreadableFile

if TYPE_CHECKING:
    from openpyxl.workbook import Workbook

    from attendbot.readers.pdf_backend import PdfDocument

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, or an encrypted .xlsx
_DELIMITERS = (",", "\t", ";", "|")  # in order of preference when they split equally well


class SourceFile:
    """A file's content and the ways to look at it.

    Args:
        path: where the file is.
        shown: the path as people see it in reports and evidence.
    """

    def __init__(self, path: Path, shown: str | None = None, data: bytes | None = None):
        self.path = path
        self.shown = shown or str(path)
        self._data = data

    @cached_property
    def data(self) -> bytes:
        return self._data if self._data is not None else self.path.read_bytes()

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def format(self) -> str:
        """``pdf``, ``xlsx``, ``text`` (CSV-like), ``ole`` (xls or encrypted xlsx), ``zip``, ``empty`` or ``binary``."""
        head = self.data[:2048]
        if not head.strip():
            return "empty"
        if b"%PDF-" in head[:1024]:
            return "pdf"
        if head.startswith(_OLE_MAGIC):
            return "ole"
        if head.startswith(b"PK\x03\x04"):
            try:
                with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
                    names = set(zf.namelist())
            except (zipfile.BadZipFile, ValueError, OSError):
                return "zip"
            return "xlsx" if "xl/workbook.xml" in names else "zip"
        if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "binary"
        return "text"

    # --- spreadsheets -------------------------------------------------------------

    @cached_property
    def workbook(self) -> "Workbook":
        """The workbook, opened read-only once. Raises UnreadableFile for a broken one."""
        if self.format != "xlsx":
            raise UnreadableFile(f"not an XLSX workbook (looks like {self.format})")
        import openpyxl

        try:
            return openpyxl.load_workbook(io.BytesIO(self.data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise UnreadableFile(f"damaged XLSX workbook: {type(exc).__name__}: {str(exc)[:120]}") from exc

    def sheet_rows(self, sheet) -> Iterator[tuple[Any, ...]]:
        """One worksheet's rows as tuples of cell values."""
        try:
            yield from sheet.iter_rows(values_only=True)
        except Exception as exc:
            raise UnreadableFile(f"damaged worksheet {sheet.title!r}: {type(exc).__name__}: {str(exc)[:120]}") from exc

    @cached_property
    def tables(self) -> list[tuple[str | None, list[tuple[Any, ...]]]]:
        """Every table in the file, read once: ``(sheet title, rows)`` per worksheet of an
        XLSX, or ``(None, rows)`` for a CSV. Anything else has no tables."""
        if self.format == "xlsx":
            return [(ws.title, list(self.sheet_rows(ws))) for ws in self.workbook.worksheets]
        if self.format == "text":
            return [(None, [tuple(r) for r in self.csv_rows])]
        return []

    # --- CSV ----------------------------------------------------------------------

    @cached_property
    def text(self) -> str:
        """The file decoded: UTF-16 with a BOM, UTF-8 (with or without BOM), else Windows-1252 —
        what EHR and billing systems on Windows write; Latin-1 for bytes cp1252 leaves undefined."""
        data = self.data
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                pass
        return data.decode("latin-1")

    @cached_property
    def csv_rows(self) -> list[list[str]]:
        """Rows of a comma-, tab-, semicolon- or pipe-separated export.

        The separator is the one that splits most of the first lines into three or more
        fields; title lines above the header don't confuse it (csv.Sniffer gives up on them).
        """
        if self.format != "text":
            return []
        text = self.text
        head = text.splitlines()[:60]

        def fields(delimiter: str) -> int:
            return sum(1 for row in csv.reader(head, delimiter=delimiter) if len(row) >= 3)

        delimiter = max(_DELIMITERS, key=fields)
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))

    # --- PDF ----------------------------------------------------------------------

    @cached_property
    def pdf(self) -> "PdfDocument":
        """The PDF, parsed once. Raises UnreadableFile for an encrypted or damaged one."""
        from attendbot.readers.pdf_backend import open_pdf

        return open_pdf(self.data, self.shown)

    def close(self) -> None:
        for name in ("workbook", "pdf"):
            obj = self.__dict__.pop(name, None)
            if obj is not None and hasattr(obj, "close"):
                obj.close()
