"""What the readers see of a PDF, whichever library parsed it.

The shapes (:class:`Box`, :class:`Word`, :class:`Cell`, :class:`Table`), the errors
(:class:`PageUnreadableError`) and the two interfaces every backend implements:
:class:`PageView` (one page) and :class:`PdfDocument` (the page cap, the cache of
parsed pages, closing). Readers import these through
:mod:`attendbot.readers.pdf_backend`; the backends (:mod:`~attendbot.readers.pdf_pdfium`,
:mod:`~attendbot.readers.pdf_plumber`) build on them. Nothing here touches a PDF library.

Coordinates are points from the page's top-left corner, the way pdfplumber gives them,
and both backends give them that way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

from attendbot.errors import UnreadableFileError

MAX_PAGES = 200  # a sign-in PDF is a day's sheets; more pages are reported, not read
INK_MARGIN = 1.5  # points trimmed off a box so its own border lines are not ink
_T = TypeVar("_T")


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


def is_ink_char(text: str) -> bool:
    """A character that is writing: visible, and not ``_`` (the blank of a "sign here" run)."""
    return text.strip() not in ("", "_")


def is_rule(p: tuple[float, float], q: tuple[float, float], min_width: float) -> bool:
    """A straight horizontal segment at least ``min_width`` long: a printed rule, not ink."""
    return abs(p[1] - q[1]) <= 1 and abs(p[0] - q[0]) >= min_width


class PageView(ABC):
    """One page. Every accessor computes once and caches.

    Contract for every backend: an accessor SHALL raise only :class:`PageUnreadableError`
    (naming this page and what could not be done), never a library's own exception.
    """

    number: int  # 1-based

    @property
    @abstractmethod
    def box(self) -> Box:
        """The page's box (its MediaBox, turned as the page is displayed)."""

    @property
    @abstractmethod
    def text(self) -> str:
        """The page's text, lines in reading order (pdfplumber's ``extract_text()`` rules)."""

    @property
    @abstractmethod
    def has_text_layer(self) -> bool:
        """Any visible character at all (False for a scan without OCR)."""

    @property
    @abstractmethod
    def words(self) -> list[Word]:
        """Words as pdfplumber's ``extract_words()`` finds them, in its order."""

    @abstractmethod
    def search(self, pattern: str) -> list[Box]:
        """Where a case-insensitive regular expression matches :attr:`text`, in text order."""

    @property
    @abstractmethod
    def tables(self) -> list[Table]:
        """Tables drawn with ruling lines or cell borders (the way printed sign-in sheets are)."""

    @property
    @abstractmethod
    def image_coverage(self) -> float:
        """The share of the page the largest image covers: near 1 for a scan (OCR'd or not)."""

    @abstractmethod
    def horizontal_rules(self) -> list[Box]:
        """Straight horizontal lines (underlines, table rules), each as its bounding box,
        curves first, then lines, then rectangle edges, each in drawing order."""

    @abstractmethod
    def ink_in(self, box: Box) -> bool:
        """Is anything written or drawn inside ``box``, its borders and long straight underlines aside?

        Ink is a visible character (not ``_``) whose centre is inside ``box`` less
        :data:`INK_MARGIN`, an image overlapping it (unless over 4 times its area: a
        background or a letterhead), a signing annotation (Ink, Stamp, FreeText), or a
        drawn stroke through it. A horizontal straight segment at least half the box
        wide is a printed rule ("sign here" line), not ink.
        """

    def _guard(self, what: str, fn: Callable[[], _T]) -> _T:
        """Run ``fn``; whatever the library raises becomes :class:`PageUnreadableError` saying ``what`` failed."""
        try:
            return fn()
        except PageUnreadableError:
            raise
        except RecursionError:
            raise PageUnreadableError(self.number, f"cannot {what}: nesting too deep") from None
        except Exception as exc:  # a PDF library raises anything for a damaged page
            raise PageUnreadableError(self.number, f"cannot {what}: {self._reason(exc)}") from exc

    @staticmethod
    def _reason(exc: BaseException) -> str:
        detail = str(exc).strip()[:120]
        return f"damaged PDF ({type(exc).__name__}{': ' + detail if detail else ''})"

    def close(self) -> None:
        """Release what the library holds for this page; never raises."""


class PdfDocument(ABC):
    """An opened PDF: its page count and its pages, parsed on first use and kept.

    Args:
        shown: the file as people see it, for messages.
        max_pages: pages after this many are never parsed (:attr:`truncated` says so).
    """

    def __init__(self, shown: str, max_pages: int = MAX_PAGES):
        self.shown = shown
        self.max_pages = max_pages
        self._views: dict[int, PageView] = {}

    @abstractmethod
    def _count_pages(self) -> int:
        """The number of pages; raises UnreadableFileError when the page tree cannot be read."""

    @abstractmethod
    def _open_page(self, number: int) -> PageView:
        """A view of page ``number`` (1-based), parsed lazily by its accessors."""

    @abstractmethod
    def _close_document(self) -> None:
        """Release the library's document; never raises."""

    @cached_property
    def page_count(self) -> int:
        return self._count_pages()

    @property
    def truncated(self) -> bool:
        """More pages than :attr:`max_pages`: only the first ones are read."""
        return self.page_count > self.max_pages

    def page(self, number: int) -> PageView:
        """Page ``number`` (1-based)."""
        if number not in self._views:
            self._views[number] = self._open_page(number)
        return self._views[number]

    def pages(self, limit: int | None = None) -> Iterator[PageView]:
        """The pages in order, at most ``limit`` (and never more than :attr:`max_pages`)."""
        last = min(self.page_count, self.max_pages, limit if limit is not None else self.max_pages)
        for number in range(1, last + 1):
            yield self.page(number)

    def close(self) -> None:
        for view in self._views.values():
            view.close()
        self._views.clear()
        self._close_document()
