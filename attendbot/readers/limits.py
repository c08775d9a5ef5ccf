"""Size limits every reader applies before parsing: what a day's input can reasonably be.

They live here, with the readers, so :class:`~attendbot.readers.source.SourceFile`
checks them without reaching up to the sandbox that runs the readers
(:mod:`attendbot.ingest.sandbox`, which adds the time and memory budget). They are
module constants, read when used, so a deployment or a test can change them
(``monkeypatch.setattr(limits, "MAX_ROWS", 10)``).
"""

from __future__ import annotations

from attendbot.errors import UnreadableFileError

MAX_FILE_BYTES = 100 * 1024**2  # a day's export or sign-in file is far smaller
MAX_ROWS = 200_000  # rows of one CSV or one worksheet
MAX_UNZIPPED_BYTES = 500 * 1024**2  # all members of an XLSX, uncompressed
MAX_ZIP_RATIO = 100  # uncompressed/compressed size of one XLSX member (real sheets: ~15)
ZIP_RATIO_FLOOR = 1024**2  # members smaller than this are not ratio-checked (tiny files compress oddly)
# Wall-clock time to identify and read one file. The sandbox (attendbot.ingest.sandbox.FILE_SECONDS)
# enforces it; it is here so a reader that budgets its own pages (a scan) knows it without reaching up.
FILE_SECONDS = 60.0


def megabytes(n: float) -> str:
    """``100 MB``: a file size for a message (MiB, written the way people say it)."""
    return f"{n / 1024**2:,.0f} MB" if n >= 1024**2 else f"{n / 1024:,.0f} KB"


def too_big(size: int) -> str | None:
    """Why a file of ``size`` bytes is refused unread (from its ``stat()``), or None."""
    if size > MAX_FILE_BYTES:
        return (f"the file is {megabytes(size)}, more than the {megabytes(MAX_FILE_BYTES)} an export or "
                "sign-in file may be: export a shorter date range, or split it")
    return None


def check_size(size: int) -> None:
    """Raise UnreadableFileError when a file of ``size`` bytes is over the budget."""
    reason = too_big(size)
    if reason:
        raise UnreadableFileError(reason)
