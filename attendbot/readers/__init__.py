"""Readers, one per input kind, and the rule that picks one for a file.

Every reader is asked; exactly one must claim a file. None: the file is ignored
with a reason. Two: the file is ambiguous, which is reported, never guessed.
attendbot's own audit workbook is never offered to a reader: it is ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from attendbot.errors import AmbiguousFileError, UnreadableFileError
from attendbot.readers.base import Reader
from attendbot.readers.source import SourceFile

ColumnsFor = Callable[[str], Mapping[str, Sequence[str]]]


def all_readers(columns: ColumnsFor = lambda kind: {}) -> tuple[Reader, ...]:
    """The readers, in a fixed order; ``columns(kind)`` gives the config's extra column names."""
    from attendbot.readers.authorizations import AuthorizationReader
    from attendbot.readers.charges import ChargeReader
    from attendbot.readers.ehr import EhrAttendanceReader
    from attendbot.readers.signin_pdf import SigninPdfReader
    from attendbot.readers.signin_scan import SigninScanReader
    from attendbot.readers.signin_xlsx import SigninXlsxReader

    return (
        ChargeReader(columns("charges")),
        EhrAttendanceReader(columns("ehr_attendance")),
        SigninXlsxReader(),
        SigninPdfReader(),
        AuthorizationReader(columns("authorizations")),
        SigninScanReader(),  # image-only PDFs and PNG/JPEG/TIFF scans
    )


def identify(src: SourceFile, readers: Sequence[Reader]) -> Reader | None:
    """The one reader that claims ``src``; None when no reader does (see :func:`why_ignored`).

    Raises:
        UnreadableFileError: the file cannot be read at all (empty, damaged, encrypted, an HTML
            page under a spreadsheet's name, over a size limit of :mod:`attendbot.readers.limits`).
        AmbiguousFileError: more than one reader claims it.
    """
    if src.format == "empty":
        raise UnreadableFileError("the file is empty (zero bytes)")
    if src.format == "zip":
        raise UnreadableFileError("a damaged XLSX workbook, or a ZIP archive that is not one")
    if src.format == "ole":
        raise UnreadableFileError("an encrypted (password-protected) workbook or a legacy .xls file; "
                             "save it as an unprotected .xlsx")
    if src.format == "html":
        raise UnreadableFileError("an HTML page, not a spreadsheet: export the report again as XLSX or CSV")
    if src.own_output:  # an audit workbook copied into the inbox is never read as an export
        return None
    claims = [r for r in readers if r.identify(src)]
    if len(claims) > 1:
        raise AmbiguousFileError("claimed by " + " and ".join(r.kind for r in claims))
    return claims[0] if claims else None


NOT_A_SIGNIN_PDF = "a PDF that is not a sign-in sheet (no Group:/Date: header with a signature table)"
NO_KNOWN_HEADER = ("no header row naming a charge export's, an EHR attendance export's or an authorizations "
                   "export's required columns, and no sign-in sheet layout; map other column names in "
                   "[columns.*] of attendbot.toml")
NOT_A_KNOWN_FORMAT = "not a PDF, XLSX, CSV or scanned-image (PNG, JPEG, TIFF) file"


def why_ignored(src: SourceFile) -> str:
    """Why no reader claimed a file, in words an administrator can act on."""
    if src.own_output:
        return src.own_output
    if src.format == "pdf":
        return NOT_A_SIGNIN_PDF
    if src.format in ("text", "xlsx"):
        return NO_KNOWN_HEADER
    return NOT_A_KNOWN_FORMAT
