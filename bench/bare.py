"""The floors a PDF reader is measured against: the bare libraries, nothing of attendbot's.

Run:  .venv/bin/python bench/bare.py plumber|pdfium FILE...   (what bench/run.py times in a child)

``plumber``: open each file with pdfplumber, ``extract_text()`` and ``find_tables()`` ("lines"
strategies) on every page: the floor of the old way of reading a sign-in sheet.
``pdfium``: open each file with pypdfium2; per page load it and its text page, take its text and
walk its objects: what PDFium itself costs.
"""

from __future__ import annotations

import sys
from pathlib import Path


def bare_plumber(files: list[Path]) -> None:
    import pdfplumber

    for path in files:
        with pdfplumber.open(path) as pdf:
            for page in pdf.pages:
                page.extract_text()
                page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"})


def bare_pdfium(files: list[Path]) -> None:
    import pypdfium2

    for path in files:
        pdf = pypdfium2.PdfDocument(path.read_bytes())
        try:
            for page in pdf:
                textpage = page.get_textpage()
                textpage.get_text_range()
                for _ in page.get_objects():
                    pass
                textpage.close()
                page.close()
        finally:
            pdf.close()


if __name__ == "__main__":
    {"plumber": bare_plumber, "pdfium": bare_pdfium}[sys.argv[1]]([Path(p) for p in sys.argv[2:]])
