"""The pdfplumber backend: the reference the pdfium backend is measured against.

This is how attendbot read PDFs before the pdfium backend: pdfminer parses each page,
pdfplumber finds words, text lines and ruled tables. It is kept, unchanged in what it
answers, so ``tests/test_pdf_backends.py`` can show both backends agree and so a
reader can be switched back (``open_pdf(..., backend="pdfplumber")``) if pdfium ever
misreads a file. The sign-in reader is about four times slower on it than on pdfium
(``bench/pdf.py``), and its :meth:`ink_in` rescans every character and stroke of the
page for each box.
"""

from __future__ import annotations

import io
import logging
from functools import cached_property
from typing import Any

from attendbot.errors import UnreadableFileError
from attendbot.readers.pdf_page import (
    INK_MARGIN,
    MAX_PAGES,
    Box,
    Cell,
    PageView,
    PdfDocument,
    Table,
    Word,
    is_ink_char,
    is_rule,
)

_INK_ANNOTATIONS = {"Ink", "Stamp", "FreeText"}  # annotations a signing app leaves

# pdfminer logs every oddity of a foreign PDF at WARNING; the reader reports what matters.
logging.getLogger("pdfminer").setLevel(logging.ERROR)


def _box(obj: dict[str, Any]) -> Box:
    return Box(float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


def _reason(exc: BaseException) -> str:
    """A short human reason for whatever pdfminer raised (it wraps the real one in PdfminerException)."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    name = type(exc).__name__
    if "Password" in name or "Encrypt" in name:
        return "encrypted or password-protected PDF"
    detail = str(exc).strip()[:120]
    return f"damaged PDF ({name}{': ' + detail if detail else ''})"


class PlumberPage(PageView):
    """One pdfplumber page, parsed at most once."""

    _reason = staticmethod(_reason)

    def __init__(self, page: Any, number: int):
        self._page = page
        self.number = number

    @cached_property
    def box(self) -> Box:
        x0, top, x1, bottom = self._page.bbox
        return Box(float(x0), float(top), float(x1), float(bottom))

    @cached_property
    def _objects(self) -> dict[str, list[dict[str, Any]]]:
        return self._guard("parse the page", lambda: dict(self._page.objects))

    @cached_property
    def text(self) -> str:
        self._objects  # parse errors surface as "parse the page"
        return self._guard("extract text", lambda: self._page.extract_text() or "")

    @cached_property
    def has_text_layer(self) -> bool:
        return any(c.get("text", "").strip() for c in self._objects.get("char", ()))

    @cached_property
    def words(self) -> list[Word]:
        raw = self._guard("extract words", lambda: self._page.extract_words())
        return [Word(w["text"], _box(w)) for w in raw]

    def search(self, pattern: str) -> list[Box]:
        found = self._guard("search text", lambda: self._page.search(pattern, regex=True, case=False))
        return [_box(m) for m in found]

    @cached_property
    def tables(self) -> list[Table]:
        def find() -> list[Table]:
            out = []
            for table in self._page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"}):
                texts = table.extract()
                rows = [[Cell(" ".join((text or "").split()), Box(*cell) if cell else None)
                         for cell, text in zip(row.cells, row_texts)]
                        for row, row_texts in zip(table.rows, texts)]
                out.append(Table(Box(*table.bbox), rows))
            return out

        return self._guard("find tables", find)

    @cached_property
    def _strokes(self) -> list[list[tuple[float, float]]]:
        """Every drawn path as a polyline: curves, lines and the four edges of each rectangle."""
        objs = self._objects
        paths = [[(float(x), float(y)) for x, y in obj.get("pts") or ()] for obj in (*objs.get("curve", ()), *objs.get("line", ()))]
        for r in objs.get("rect", ()):
            b = _box(r)
            paths.append([(b.x0, b.top), (b.x1, b.top), (b.x1, b.bottom), (b.x0, b.bottom), (b.x0, b.top)])
        return [p for p in paths if p]

    @cached_property
    def _annotation_boxes(self) -> list[Box]:
        def find() -> list[Box]:
            out = []
            for annot in self._page.annots:
                subtype = getattr(annot.get("data", {}).get("Subtype"), "name", None)
                if subtype in _INK_ANNOTATIONS:
                    out.append(_box(annot))
            return out

        return self._guard("read annotations", find)

    @cached_property
    def image_coverage(self) -> float:
        page = self.box
        best = 0.0
        for im in self._objects.get("image", ()):
            b = _box(im)
            w = min(b.x1, page.x1) - max(b.x0, page.x0)
            h = min(b.bottom, page.bottom) - max(b.top, page.top)
            best = max(best, w * h if w > 0 and h > 0 else 0.0)
        return best / (page.width * page.height) if page.width > 0 and page.height > 0 else 0.0

    def horizontal_rules(self) -> list[Box]:
        rules = []
        for path in self._strokes:
            for p, q in zip(path, path[1:]):
                if abs(p[1] - q[1]) <= 1 and abs(p[0] - q[0]) > 2:
                    rules.append(Box(min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1])))
        return rules

    def ink_in(self, box: Box) -> bool:
        # The reference rule, one scan of every object per box; the pdfium backend indexes them.
        inner = box.shrink(INK_MARGIN)
        if inner.width <= 0 or inner.height <= 0:
            return False
        objs = self._objects
        for c in objs.get("char", ()):
            if is_ink_char(c.get("text", "")):
                b = _box(c)
                if inner.contains_point((b.x0 + b.x1) / 2, (b.top + b.bottom) / 2):
                    return True
        area = box.width * box.height
        for im in objs.get("image", ()):
            b = _box(im)
            if inner.overlaps(b) and b.width * b.height <= 4 * area:
                return True
        if any(inner.overlaps(b) for b in self._annotation_boxes):
            return True
        for path in self._strokes:
            if len(path) == 1 and inner.contains_point(*path[0]):
                return True
            for p, q in zip(path, path[1:]):
                if not is_rule(p, q, inner.width / 2) and inner.hit_by(p, q):
                    return True
        return False

    def close(self) -> None:
        try:
            self._page.close()
        except Exception:  # noqa: BLE001 - closing must never fail a run
            pass


class PlumberDocument(PdfDocument):
    def __init__(self, pdf: Any, shown: str, max_pages: int = MAX_PAGES):
        super().__init__(shown, max_pages)
        self._pdf = pdf

    @cached_property
    def _pages(self) -> list[Any]:
        try:
            return list(self._pdf.pages)
        except Exception as exc:
            raise UnreadableFileError(_reason(exc)) from exc

    def _count_pages(self) -> int:
        return len(self._pages)

    def _open_page(self, number: int) -> PageView:
        return PlumberPage(self._pages[number - 1], number)

    def _close_document(self) -> None:
        try:
            self._pdf.close()
        except Exception:  # noqa: BLE001 - closing must never fail a run
            pass


def open_document(data: bytes, shown: str, max_pages: int = MAX_PAGES) -> PdfDocument:
    """Open ``data`` with pdfplumber. Raises UnreadableFileError: encrypted or damaged."""
    import pdfplumber  # ~0.3 s to import: only when this backend is asked for

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except RecursionError:
        raise UnreadableFileError("damaged PDF (nesting too deep)") from None
    except Exception as exc:  # pdfminer raises PdfminerException, PSSyntaxError, IndexError, ...
        raise UnreadableFileError(_reason(exc)) from exc
    return PlumberDocument(pdf, shown, max_pages)
