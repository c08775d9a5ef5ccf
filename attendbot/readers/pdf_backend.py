"""The one small interface over the PDF libraries.

Everything the readers need from a PDF goes through :func:`open_pdf`,
:class:`PdfDocument` and :class:`PageView` (defined in
:mod:`attendbot.readers.pdf_page`), whichever library parses it:

- ``"pdfium"`` (the default, :mod:`attendbot.readers.pdf_pdfium`): PDFium through
  pypdfium2, with pdfplumber's layout rules reimplemented over its output
  (:mod:`attendbot.readers.pdf_layout`). The sign-in reader runs about four times
  as fast on it as on pdfplumber (``bench/pdf.py``, ``bench/RESULTS.md``).
- ``"pdfplumber"`` (:mod:`attendbot.readers.pdf_plumber`): pdfminer and pdfplumber,
  the reference the pdfium backend is tested against (``tests/test_pdf_backends.py``).

Either way no library exception leaves this interface: a document that cannot be
opened raises :class:`~attendbot.errors.UnreadableFileError` with a reason ("empty file",
"encrypted or password-protected PDF", "damaged PDF (...)"); a page that cannot be
parsed raises :class:`PageUnreadableError` (a subclass) naming the page. A document over
:data:`MAX_PAGES` pages is opened, and only its first :data:`MAX_PAGES` are read.

Coordinates are points from the page's top-left corner, as pdfplumber gives them.
"""

from __future__ import annotations

from attendbot.errors import UnreadableFileError
from attendbot.readers import pdf_pdfium  # the default: imported here so a forked reader has it loaded
from attendbot.readers.pdf_page import (
    INK_MARGIN,
    MAX_PAGES,
    Box,
    Cell,
    PageUnreadableError,
    PageView,
    PdfDocument,
    Table,
    Word,
)

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "INK_MARGIN", "MAX_PAGES", "Box", "Cell", "PageUnreadableError", "PageView",
           "PdfDocument", "Table", "Word", "open_pdf"]

BACKENDS = ("pdfium", "pdfplumber")
DEFAULT_BACKEND = "pdfium"


def open_pdf(data: bytes, shown: str, max_pages: int = MAX_PAGES, backend: str = DEFAULT_BACKEND) -> PdfDocument:
    """Open a PDF from its bytes with ``backend`` (one of :data:`BACKENDS`).

    Raises:
        UnreadableFileError: empty, encrypted, damaged or page-less.
        ValueError: an unknown backend (a programming error, not a file's fault).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown PDF backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if not data or data.isspace():
        raise UnreadableFileError("empty file")
    if backend == "pdfium":
        doc = pdf_pdfium.open_document(data, shown, max_pages)
    else:
        from attendbot.readers import pdf_plumber  # imports pdfplumber (~0.3 s): only when asked for

        doc = pdf_plumber.open_document(data, shown, max_pages)
    try:
        if doc.page_count == 0:
            raise UnreadableFileError("damaged PDF (it has no pages)")
    except UnreadableFileError:
        doc.close()
        raise
    return doc
