"""One inbox file, opened once and shared by every reader that looks at it.

Readers ask a :class:`SourceFile` for its bytes, its format, its workbook, its CSV
rows or its PDF; each is computed at most once, so asking every reader to
identify a file costs one parse, not one per reader.

It also applies the size budgets of :mod:`attendbot.readers.limits` before anything is
parsed — file size, CSV and worksheet rows, an XLSX's unpacked size and compression
ratio — so a huge or hostile file is reported unreadable with what to do, cheaply.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attendbot import AUDIT_WORKBOOK_MARK
from attendbot.readers import limits
from attendbot.errors import UnreadableFileError

if TYPE_CHECKING:
    from openpyxl.workbook import Workbook

    from attendbot.readers.pdf_backend import PdfDocument

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, or an encrypted .xlsx
_DELIMITERS = (",", "\t", ";", "|")  # in order of preference when they split equally well
_HTML_STARTS = (b"<!doctype html", b"<html")  # a web report saved under a spreadsheet's name
_HASH_CHUNK = 1024 * 1024
_ROW_SLACK = 100  # lines above the data (title, report dates, blank lines, header) not counted as rows
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
#: The sheets of an audit workbook (attendbot.outputs.workbook): a workbook holding all of them
#: is attendbot's own, even one written before workbooks carried their mark.
_AUDIT_SHEETS = {"Summary", "Gaps", "Sources"}
_SHEET_NAME = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"')
_SMALL_MEMBER = 1024**2  # docProps/custom.xml, xl/workbook.xml: read only when this small
OWN_WORKBOOK = ("attendbot's own audit workbook (an output, never read as an input): "
                "take it out of the inbox")


class SourceFile:
    """A file's content and the ways to look at it.

    Args:
        path: where the file is.
        shown: the path as people see it in reports and evidence.
    """

    def __init__(self, path: Path, shown: str | None = None):
        self.path = path
        self.shown = shown or str(path)

    def open(self) -> io.BufferedReader:
        """The file opened for reading — only a regular file, never through a symbolic link and
        never blocking on a named pipe swapped in after the inbox was listed. Its size is checked
        against the budget from ``fstat`` before a byte is read.

        Raises:
            OSError: it is gone, a link, a pipe or a device (not read now; the run looks again).
            UnreadableFileError: it is over the size budget.
        """
        fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "not a regular file (a link, a pipe or a device)", str(self.path))
            limits.check_size(st.st_size)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    @cached_property
    def data(self) -> bytes:
        """The file's bytes. Raises UnreadableFileError for a file over the size budget, unread."""
        with self.open() as f:
            data = f.read(limits.MAX_FILE_BYTES + 1)
        limits.check_size(len(data))  # it grew while it was read
        return data

    @cached_property
    def sha256(self) -> str:
        """Of the bytes; read in chunks when they are not loaded (the run hashes every file
        without holding it in memory), never more than the size budget."""
        if "data" in self.__dict__:
            return hashlib.sha256(self.data).hexdigest()
        digest = hashlib.sha256()
        seen = 0
        with self.open() as f:
            while chunk := f.read(_HASH_CHUNK):
                seen += len(chunk)
                limits.check_size(seen)
                digest.update(chunk)
        return digest.hexdigest()

    @cached_property
    def own_output(self) -> str | None:
        """Why the file is one of attendbot's own outputs (an audit workbook), or None.

        An audit workbook carries the custom document property :data:`AUDIT_WORKBOOK_MARK`
        (Excel keeps it when the workbook is saved again); one without it is known by its
        sheets (Summary, Gaps, Sources). Looked at in the ZIP directly: cheap, nothing parsed.
        """
        if self.format != "xlsx":
            return None
        try:
            with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
                members = {m.filename: m for m in zf.infolist()}

                def small(name: str) -> bytes:
                    m = members.get(name)
                    return zf.read(m) if m is not None and m.file_size <= _SMALL_MEMBER else b""

                if AUDIT_WORKBOOK_MARK.encode() in small("docProps/custom.xml"):
                    return OWN_WORKBOOK
                sheets = {n.decode("utf-8", "replace") for n in _SHEET_NAME.findall(small("xl/workbook.xml"))}
        except (zipfile.BadZipFile, ValueError, OSError, RuntimeError, NotImplementedError, EOFError):
            return None  # a damaged workbook: the readers say so
        return OWN_WORKBOOK if _AUDIT_SHEETS <= sheets else None

    @cached_property
    def format(self) -> str:
        """``pdf``, ``xlsx``, ``text`` (CSV-like), ``html`` (a web page, whatever its name),
        ``ole`` (xls or encrypted xlsx), ``zip``, ``empty`` or ``binary``."""
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
        if _is_html(head):
            return "html"
        if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "binary"
        return "text"

    # --- spreadsheets -------------------------------------------------------------

    @cached_property
    def workbook(self) -> "Workbook":
        """The workbook, opened read-only once. Raises UnreadableFileError for a broken one."""
        if self.format != "xlsx":
            raise UnreadableFileError(f"not an XLSX workbook (looks like {self.format})")
        self._check_zip()
        import openpyxl

        try:
            return openpyxl.load_workbook(io.BytesIO(self.data), read_only=True, data_only=True)
        except MemoryError:
            raise  # the file's memory budget (attendbot.ingest.sandbox) reports it
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise UnreadableFileError(_xlsx_reason("damaged XLSX workbook", exc)) from exc

    def _check_zip(self) -> None:
        """The unpacked sizes the ZIP directory declares, checked before anything is unpacked:
        a zip bomb is refused here. (Python's zipfile never unpacks a member past its declared
        size, so a directory that lies about sizes gets a damaged-file error, not a bomb.)"""
        try:
            with zipfile.ZipFile(io.BytesIO(self.data)) as zf:
                members = zf.infolist()
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise UnreadableFileError(f"damaged XLSX workbook: {type(exc).__name__}: {str(exc)[:120]}") from exc
        total = sum(m.file_size for m in members)
        if total > limits.MAX_UNZIPPED_BYTES:
            raise UnreadableFileError(f"the workbook would unpack to {limits.megabytes(total)}, more than "
                                 f"{limits.megabytes(limits.MAX_UNZIPPED_BYTES)} (a zip bomb?): "
                                 "export a shorter date range, or save it again from Excel")
        for m in members:
            ratio = m.file_size / max(m.compress_size, 1)
            if m.file_size >= limits.ZIP_RATIO_FLOOR and ratio > limits.MAX_ZIP_RATIO:
                raise UnreadableFileError(f"the workbook's {m.filename} is compressed {ratio:,.0f} times "
                                     f"({limits.megabytes(m.compress_size)} unpacking to "
                                     f"{limits.megabytes(m.file_size)}), which no spreadsheet is (a zip bomb?); "
                                     "save it again from Excel")

    def sheet_rows(self, sheet) -> Iterator[tuple[Any, ...]]:
        """One worksheet's rows as tuples of cell values; at most ``limits.MAX_ROWS`` of them."""
        limit = limits.MAX_ROWS + _ROW_SLACK
        try:
            for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if n > limit:
                    raise UnreadableFileError(f"worksheet {sheet.title!r} has more than {limits.MAX_ROWS:,} rows: "
                                         "export a shorter date range")
                yield row
        except (UnreadableFileError, MemoryError):
            raise
        except Exception as exc:
            raise UnreadableFileError(_xlsx_reason(f"damaged worksheet {sheet.title!r}", exc)) from exc

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
        self._check_rows()
        text = self.text
        head = text.splitlines()[:60]

        def fields(delimiter: str) -> int:
            return sum(1 for row in csv.reader(head, delimiter=delimiter) if len(row) >= 3)

        delimiter = max(_DELIMITERS, key=fields)
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))

    def _check_rows(self) -> None:
        """More lines than ``limits.MAX_ROWS``, counted on the bytes before any CSV parsing (a
        line break inside a quoted field counts too: the bound is on lines, cheaply)."""
        data = self.data  # UTF-16 too: its line break is b"\n\x00" (or b"\x00\n"), one b"\n" each
        lines = max(data.count(b"\n"), data.count(b"\r"))
        if lines > limits.MAX_ROWS + _ROW_SLACK:
            raise UnreadableFileError(f"the file has more than {limits.MAX_ROWS:,} rows "
                                 f"({lines:,} lines): export a shorter date range")

    # --- PDF ----------------------------------------------------------------------

    @cached_property
    def pdf(self) -> "PdfDocument":
        """The PDF, parsed once. Raises UnreadableFileError for an encrypted or damaged one.

        A PDF longer than :data:`~attendbot.readers.pdf_backend.MAX_PAGES` pages is not
        refused: its first ``MAX_PAGES`` pages are read and the rest are reported (the
        sign-in reader adds an ``UNREADABLE_FILE`` problem naming the page count and the
        first page not read), so a long file's sheets are used and none is lost silently.
        Reading ``MAX_PAGES`` sign-in pages takes a few seconds, well inside the per-file
        time budget (``attendbot.ingest.sandbox.FILE_SECONDS``), which still stops a page that makes the PDF
        library spin.
        """
        from attendbot.readers.pdf_backend import open_pdf

        return open_pdf(self.data, self.shown)

    def close(self) -> None:
        for name in ("workbook", "pdf"):
            obj = self.__dict__.pop(name, None)
            if obj is not None and hasattr(obj, "close"):
                obj.close()


def _is_html(head: bytes) -> bool:
    """A web page: ``<!DOCTYPE html`` or ``<html`` first, after a BOM and white space."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("ascii", errors="ignore")
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().lower().startswith(_HTML_STARTS)


def _xlsx_reason(what: str, exc: BaseException) -> str:
    """Why openpyxl could not read a workbook. An XML bomb (entity declarations, refused by
    defusedxml, through which openpyxl parses) and invalid XML are named as such, whatever
    openpyxl wrapped them in."""
    chain, seen = [], set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__

    def detail(e: BaseException) -> str:
        return f"{type(e).__name__}: {str(e)[:120]}"

    for e in chain:
        if (type(e).__module__ or "").startswith("defusedxml"):
            return (f"{what}: its XML declares entities or a DTD (an XML bomb?), which is refused ({detail(e)}); "
                    "save it again from Excel")
    for e in chain:
        if isinstance(e, SyntaxError) or (type(e).__module__ or "").startswith(("xml.", "pyexpat", "lxml")):
            return f"{what}: its XML cannot be parsed ({detail(e)})"  # ParseError, ExpatError
    return f"{what}: {detail(exc)}"
