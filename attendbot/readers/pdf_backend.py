"""The one small interface over the PDF library (pdfplumber).

Everything the readers need from a PDF goes through :func:`open_pdf`,
:class:`PdfDocument` and :class:`PageView`, so a faster backend can replace
pdfplumber here without touching a reader. No pdfminer or pdfplumber exception
leaves this module: a document that cannot be opened raises
:class:`~attendbot.errors.UnreadableFileError`, a page that cannot be parsed raises
:class:`PageUnreadableError` (a subclass) naming the page.

Coordinates are points from the page's top-left corner, as pdfplumber gives them.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from attendbot.errors import UnreadableFileError

MAX_PAGES = 200  # a sign-in PDF is a day's sheets; more pages are reported, not read
INK_MARGIN = 1.5  # points trimmed off a box so its own border lines are not ink
_INK_ANNOTATIONS = {"Ink", "Stamp", "FreeText"}  # annotations a signing app leaves
_T = TypeVar("_T")

# pdfminer logs every oddity of a foreign PDF at WARNING; the reader reports what matters.
logging.getLogger("pdfminer").setLevel(logging.ERROR)


class PageUnreadableError(UnreadableFileError):
    """One page could not be parsed; the rest of the document may still be read."""

    def __init__(self, page: int, reason: str):
        self.page = page
        super().__init__(f"page {page}: {reason}")


@dataclass(frozen=True)
class Box:
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def shrink(self, by: float) -> Box:
        return Box(self.x0 + by, self.top + by, self.x1 - by, self.bottom - by)

    def overlaps(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.top < other.bottom and other.top < self.bottom

    def contains_point(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.top <= y <= self.bottom

    def hit_by(self, p: tuple[float, float], q: tuple[float, float]) -> bool:
        """Does the segment ``p``-``q`` pass through this box (Liang–Barsky clipping)?"""
        (x, y), (dx, dy) = p, (q[0] - p[0], q[1] - p[1])
        t0, t1 = 0.0, 1.0
        for step, room in ((-dx, x - self.x0), (dx, self.x1 - x), (-dy, y - self.top), (dy, self.bottom - y)):
            if step == 0:
                if room < 0:
                    return False
            elif step < 0:
                t0 = max(t0, room / step)
            else:
                t1 = min(t1, room / step)
        return t0 <= t1


def _box(obj: dict[str, Any]) -> Box:
    return Box(float(obj["x0"]), float(obj["top"]), float(obj["x1"]), float(obj["bottom"]))


@dataclass(frozen=True)
class Cell:
    text: str  # "" for an empty cell
    box: Box | None  # None where the table has no cell (a merged span)


@dataclass(frozen=True)
class Table:
    box: Box
    rows: list[list[Cell]]


@dataclass(frozen=True)
class Word:
    text: str
    box: Box


def _reason(exc: BaseException) -> str:
    """A short human reason for whatever pdfminer raised (it wraps the real one in PdfminerException)."""
    while exc.args and isinstance(exc.args[0], BaseException):
        exc = exc.args[0]
    name = type(exc).__name__
    if "Password" in name or "Encrypt" in name:
        return "encrypted or password-protected PDF"
    detail = str(exc).strip()[:120]
    return f"damaged PDF ({name}{': ' + detail if detail else ''})"


class PageView:
    """One page, parsed at most once; every accessor caches what it computes."""

    def __init__(self, page: Any, number: int):
        self._page = page
        self.number = number  # 1-based

    def _guard(self, what: str, fn: Callable[[], _T]) -> _T:
        try:
            return fn()
        except RecursionError:
            raise PageUnreadableError(self.number, f"cannot {what}: nesting too deep") from None
        except Exception as exc:  # pdfminer raises anything for a damaged page
            raise PageUnreadableError(self.number, f"cannot {what}: {_reason(exc)}") from exc

    @cached_property
    def box(self) -> Box:
        x0, top, x1, bottom = self._page.bbox
        return Box(float(x0), float(top), float(x1), float(bottom))

    @cached_property
    def _objects(self) -> dict[str, list[dict[str, Any]]]:
        return self._guard("parse the page", lambda: dict(self._page.objects))

    @cached_property
    def text(self) -> str:
        """The page's text, lines in reading order."""
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
        """Where a case-insensitive regular expression matches the page's text, top to bottom."""
        found = self._guard("search text", lambda: self._page.search(pattern, regex=True, case=False))
        return [_box(m) for m in found]

    @cached_property
    def tables(self) -> list[Table]:
        """Tables drawn with ruling lines or cell borders (the way printed sign-in sheets are)."""

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
        """The share of the page the largest image covers: near 1 for a scan (OCR'd or not)."""
        page = self.box
        best = 0.0
        for im in self._objects.get("image", ()):
            b = _box(im)
            w = min(b.x1, page.x1) - max(b.x0, page.x0)
            h = min(b.bottom, page.bottom) - max(b.top, page.top)
            best = max(best, w * h if w > 0 and h > 0 else 0.0)
        return best / (page.width * page.height) if page.width > 0 and page.height > 0 else 0.0

    def horizontal_rules(self) -> list[Box]:
        """Straight horizontal lines (underlines, table rules), each as its bounding box."""
        rules = []
        for path in self._strokes:
            for p, q in zip(path, path[1:]):
                if abs(p[1] - q[1]) <= 1 and abs(p[0] - q[0]) > 2:
                    rules.append(Box(min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1])))
        return rules

    def ink_in(self, box: Box) -> bool:
        """Is anything written or drawn inside ``box``, its borders and long straight underlines aside?

        Ink is a visible character (not ``_``), an image, a signing annotation, or a
        drawn stroke. A horizontal straight segment at least half the box wide is a
        printed rule ("sign here" line), not ink.
        """
        inner = box.shrink(INK_MARGIN)
        if inner.width <= 0 or inner.height <= 0:
            return False
        objs = self._objects
        for c in objs.get("char", ()):
            if c.get("text", "").strip() not in ("", "_"):
                b = _box(c)
                if inner.contains_point((b.x0 + b.x1) / 2, (b.top + b.bottom) / 2):
                    return True
        area = box.width * box.height
        for im in objs.get("image", ()):
            b = _box(im)
            if inner.overlaps(b) and b.width * b.height <= 4 * area:  # bigger: a background or a letterhead
                return True
        if any(inner.overlaps(b) for b in self._annotation_boxes):
            return True
        for path in self._strokes:
            if len(path) == 1 and inner.contains_point(*path[0]):
                return True
            for p, q in zip(path, path[1:]):
                is_rule = abs(p[1] - q[1]) <= 1 and abs(p[0] - q[0]) >= inner.width / 2
                if not is_rule and inner.hit_by(p, q):
                    return True
        return False

    def close(self) -> None:
        try:
            self._page.close()
        except Exception:  # noqa: BLE001 - closing must never fail a run
            pass


class PdfDocument:
    """An opened PDF: its page count and its pages, parsed on first use and kept."""

    def __init__(self, pdf: Any, shown: str, max_pages: int = MAX_PAGES):
        self._pdf = pdf
        self.shown = shown
        self.max_pages = max_pages
        self._views: dict[int, PageView] = {}

    @cached_property
    def _pages(self) -> list[Any]:
        try:
            return list(self._pdf.pages)
        except Exception as exc:
            raise UnreadableFileError(_reason(exc)) from exc

    @property
    def page_count(self) -> int:
        return len(self._pages)

    @property
    def truncated(self) -> bool:
        """More pages than :attr:`max_pages`: only the first ones are read."""
        return self.page_count > self.max_pages

    def page(self, number: int) -> PageView:
        """Page ``number`` (1-based)."""
        if number not in self._views:
            self._views[number] = PageView(self._pages[number - 1], number)
        return self._views[number]

    def pages(self, limit: int | None = None) -> Iterator[PageView]:
        """The pages in order, at most ``limit`` (and never more than :attr:`max_pages`)."""
        last = min(self.page_count, self.max_pages, limit if limit is not None else self.max_pages)
        for number in range(1, last + 1):
            yield self.page(number)

    def close(self) -> None:
        for view in self._views.values():
            view.close()
        try:
            self._pdf.close()
        except Exception:  # noqa: BLE001 - closing must never fail a run
            pass


def open_pdf(data: bytes, shown: str, max_pages: int = MAX_PAGES) -> PdfDocument:
    """Open a PDF from its bytes. Raises UnreadableFileError: empty, encrypted, damaged or page-less."""
    if not data or data.isspace():
        raise UnreadableFileError("empty file")
    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except RecursionError:
        raise UnreadableFileError("damaged PDF (nesting too deep)") from None
    except Exception as exc:  # pdfminer raises PdfminerException, PSSyntaxError, IndexError, ...
        raise UnreadableFileError(_reason(exc)) from exc
    doc = PdfDocument(pdf, shown, max_pages)
    try:
        if doc.page_count == 0:
            raise UnreadableFileError("damaged PDF (it has no pages)")
    except UnreadableFileError:
        doc.close()
        raise
    return doc
