"""Words, text lines, ruled tables and ink from a page's raw content, by pdfplumber's rules.

The pdfium backend extracts what is on a page — characters with their boxes, the
painted paths sorted into lines, rectangles and curves the way pdfminer sorts them,
images, signing annotations — into a :class:`PageContent`. This module turns that into
what the readers ask for, following pdfplumber's default settings step by step (word
and line tolerance 3 pt; for tables the "lines" strategy: snap 3, join 3, minimum
edge 3, intersection tolerance 3), so both backends give the same words, text, tables
and ink decisions for the same content. ``tests/test_pdf_backends.py`` checks that.

Where pdfplumber is quadratic or rescans, this is not: text lines and table cells are
found through sorted positions, and :class:`InkIndex` buckets every character, image,
annotation and stroke segment into a grid once per page, so an ink check looks only
at what lies near its box. Pure Python; no PDF library.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from attendbot.readers.pdf_page import INK_MARGIN, Box, Cell, Table, Word, is_ink_char, is_rule

Point = tuple[float, float]
_T = TypeVar("_T")

TOLERANCE = 3.0  # pdfplumber's x/y tolerance for words and lines, and its table snap/join/intersection tolerance
EDGE_MIN_PREFILTER = 1.0  # table edges shorter than this are dropped before merging...
EDGE_MIN = 3.0  # ...and shorter than this after
GRID = 32.0  # points per InkIndex square: a signature cell touches a handful
MAX_BUCKETS = 256  # an object touching more squares is checked for every box instead
LIGATURES = {"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"}


class Char:
    """One character: its text and box (top-left origin), and whether it stands upright."""

    __slots__ = ("text", "x0", "top", "x1", "bottom", "upright")

    def __init__(self, text: str, x0: float, top: float, x1: float, bottom: float, upright: bool):
        self.text, self.x0, self.top, self.x1, self.bottom, self.upright = text, x0, top, x1, bottom, upright

    def __repr__(self) -> str:
        return f"Char({self.text!r}, {self.x0:.2f}, {self.top:.2f}, {self.x1:.2f}, {self.bottom:.2f})"


@dataclass
class PageContent:
    """Everything on one page the layout rules need, in drawing order.

    ``lines``, ``rects`` and ``curves`` are the painted paths as pdfminer classifies
    them: a single segment is a line, an axis-aligned closed four-sided path is a
    rectangle, anything else is a curve given by its segments' end points.
    """

    box: Box
    chars: list[Char] = field(default_factory=list)
    lines: list[tuple[Point, Point]] = field(default_factory=list)
    rects: list[Box] = field(default_factory=list)
    curves: list[list[Point]] = field(default_factory=list)
    images: list[Box] = field(default_factory=list)
    annotations: list[Box] = field(default_factory=list)  # Ink, Stamp and FreeText annotations

    @cached_property
    def strokes(self) -> list[list[Point]]:
        """Every drawn path as a polyline: curves, lines, then the four edges of each rectangle."""
        paths: list[list[Point]] = [list(c) for c in self.curves if c]
        paths += [[p, q] for p, q in self.lines]
        paths += [[(r.x0, r.top), (r.x1, r.top), (r.x1, r.bottom), (r.x0, r.bottom), (r.x0, r.top)] for r in self.rects]
        return paths


# --- clustering (pdfplumber.utils.cluster_objects) ------------------------------------


def cluster_objects(items: Sequence[_T], key: Callable[[_T], float], tolerance: float,
                    preserve_order: bool = False) -> list[list[_T]]:
    """Group ``items`` whose ``key`` values chain within ``tolerance`` of each other.

    Distinct values are sorted; each joins the previous value's cluster when it is at
    most ``tolerance`` above it. Groups come in cluster order, or, with
    ``preserve_order``, as runs of consecutive items of one cluster in the given order.
    """
    keys = [key(item) for item in items]
    if not keys:
        return []
    if max(keys) - min(keys) <= tolerance:  # one cluster (the common case: a line, a cell)
        return [list(items)]
    cluster_of: dict[float, int] = {}
    cluster, last = -1, None
    for value in sorted(set(keys)):
        if last is None or value > last + tolerance:
            cluster += 1
        cluster_of[value] = cluster
        last = value
    if not preserve_order:  # items keep their order inside a cluster
        buckets: list[list[_T]] = [[] for _ in range(cluster + 1)]
        for k, item in zip(keys, items):
            buckets[cluster_of[k]].append(item)
        return [b for b in buckets if b]
    runs: list[list[_T]] = []
    current = -1
    for k, item in zip(keys, items):
        if cluster_of[k] != current:
            current = cluster_of[k]
            runs.append([])
        runs[-1].append(item)
    return runs


# --- words and text (pdfplumber.utils.text with default settings) ----------------------


class WordChars:
    """A word and the characters it is made of."""

    __slots__ = ("text", "x0", "top", "x1", "bottom", "chars")

    def __init__(self, chars: list[Char]):
        self.chars = chars
        self.text = "".join(LIGATURES.get(c.text, c.text) for c in chars)
        self.x0 = min(c.x0 for c in chars)
        self.top = min(c.top for c in chars)
        self.x1 = max(c.x1 for c in chars)
        self.bottom = max(c.bottom for c in chars)

    def word(self) -> Word:
        return Word(self.text, Box(self.x0, self.top, self.x1, self.bottom))


def _starts_new_word(prev: Char, cur: Char, upright: bool) -> bool:
    """pdfplumber's test: going backwards, a gap over the tolerance, or another line."""
    if upright:  # left to right
        return cur.x0 < prev.x0 or cur.x0 > prev.x1 + TOLERANCE or abs(cur.top - prev.top) > TOLERANCE
    return cur.top < prev.top or cur.top > prev.bottom + TOLERANCE or abs(cur.x0 - prev.x0) > TOLERANCE


def _by_top(c: Char) -> float:
    return c.top


def _by_x0(c: Char) -> float:
    return c.x0


def _by_top_bottom(c: Char) -> tuple[float, float]:
    return (c.top, c.bottom)


def extract_words(chars: Iterable[Char]) -> list[WordChars]:
    """Words in pdfplumber's order: runs of upright / turned characters, each run's lines by
    position, each line's characters left to right (top to bottom when turned)."""
    words: list[WordChars] = []
    for upright, run in itertools.groupby(chars, key=lambda c: c.upright):
        # Turned text: lines are columns (by x0) read top to bottom.
        lines = cluster_objects(list(run), _by_top if upright else _by_x0, TOLERANCE)
        for line in lines:
            line.sort(key=_by_x0 if upright else _by_top_bottom)
            current: list[Char] = []
            for char in line:
                if char.text.isspace():
                    if current:
                        words.append(WordChars(current))
                    current = []
                elif char.text == "":  # pdfplumber splits here ("" is "in" its empty punctuation set)
                    if current:
                        words.append(WordChars(current))
                    words.append(WordChars([char]))
                    current = []
                elif current and _starts_new_word(current[-1], char, upright):
                    words.append(WordChars(current))
                    current = [char]
                else:
                    current.append(char)
            if current:
                words.append(WordChars(current))
    return words


class TextMap:
    """The page's text (pdfplumber's ``extract_text()``), and which character made each letter.

    Words are grouped into lines by runs of their tops within the tolerance, in word
    order; lines are joined by newlines and words by single spaces.
    """

    def __init__(self, words: list[WordChars]):
        letters: list[str] = []
        self.sources: list[Char | None] = []
        for i, line in enumerate(cluster_objects(words, lambda w: w.top, TOLERANCE, preserve_order=True)):
            if i:
                letters.append("\n")
                self.sources.append(None)
            length = 0
            for word in line:
                if length:
                    letters.append(" ")
                    self.sources.append(None)
                    length += 1
                for char in word.chars:
                    for letter in LIGATURES.get(char.text, char.text):
                        letters.append(letter)
                        self.sources.append(char)
                        length += 1
        self.text = "".join(letters)

    def search(self, pattern: str) -> list[Box]:
        """Boxes of the characters in each case-insensitive match that is not only white space."""
        found = []
        for m in re.finditer(pattern, self.text, re.IGNORECASE):
            if not m.group(0).strip():
                continue
            chars = [c for c in self.sources[m.start():m.end()] if c is not None]
            found.append(Box(min(c.x0 for c in chars), min(c.top for c in chars),
                             max(c.x1 for c in chars), max(c.bottom for c in chars)))
        return found


def block_text(chars: list[Char]) -> str:
    """Text of a few characters (a table cell), pdfplumber's ``utils.extract_text`` rules."""
    if not chars:
        return ""
    lines = cluster_objects(extract_words(chars), lambda w: w.top, TOLERANCE)
    return "\n".join(" ".join(w.text for w in line) for line in lines)


# --- ruled tables (pdfplumber.table, "lines" strategies) -------------------------------


class _Edge:
    """A horizontal or vertical table edge. ``length`` is kept the way pdfplumber keeps
    its width/height (moved with the edge, extended by the join) so the filters agree."""

    __slots__ = ("x0", "top", "x1", "bottom", "length")

    def __init__(self, x0: float, top: float, x1: float, bottom: float, length: float):
        self.x0, self.top, self.x1, self.bottom, self.length = x0, top, x1, bottom, length

    def bbox(self) -> tuple[float, float, float, float]:
        return (self.x0, self.top, self.x1, self.bottom)


def _page_edges(content: PageContent) -> tuple[list[_Edge], list[_Edge]]:
    """Vertical and horizontal edges of lines, rectangles and curve segments, pdfplumber's way.

    A line counts as horizontal only when its ends are at exactly the same height and
    as vertical otherwise (pdfplumber's ``line_to_edge``); a curve segment only when it
    is exactly horizontal or vertical.
    """
    vertical: list[_Edge] = []
    horizontal: list[_Edge] = []
    for (ax, ay), (bx, by) in content.lines:
        x0, x1, top, bottom = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
        if top == bottom:
            horizontal.append(_Edge(x0, top, x1, bottom, x1 - x0))
        else:
            vertical.append(_Edge(x0, top, x1, bottom, bottom - top))
    for r in content.rects:
        horizontal.append(_Edge(r.x0, r.top, r.x1, r.top, r.x1 - r.x0))
        horizontal.append(_Edge(r.x0, r.bottom, r.x1, r.bottom, r.x1 - r.x0))
        vertical.append(_Edge(r.x0, r.top, r.x0, r.bottom, r.bottom - r.top))
        vertical.append(_Edge(r.x1, r.top, r.x1, r.bottom, r.bottom - r.top))
    for pts in content.curves:
        for (ax, ay), (bx, by) in zip(pts, pts[1:]):
            x0, x1, top, bottom = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
            if ax == bx:
                vertical.append(_Edge(x0, top, x1, bottom, bottom - top))
            elif ay == by:
                horizontal.append(_Edge(x0, top, x1, bottom, x1 - x0))
    return vertical, horizontal


def _snap(edges: list[_Edge], attr: str) -> list[_Edge]:
    """Move edges whose ``attr`` (x0 or top) chain within the tolerance to their average."""
    out = []
    for cluster in cluster_objects(edges, lambda e: getattr(e, attr), TOLERANCE):
        average = sum(getattr(e, attr) for e in cluster) / len(cluster)
        for e in cluster:
            shift = average - getattr(e, attr)
            if attr == "x0":
                out.append(_Edge(e.x0 + shift, e.top, e.x1 + shift, e.bottom, e.length))
            else:
                out.append(_Edge(e.x0, e.top + shift, e.x1, e.bottom + shift, e.length))
    return out


def _join(edges: list[_Edge], horizontal: bool) -> list[_Edge]:
    """Join edges on one line whose ends are within the tolerance of each other."""
    start = (lambda e: e.x0) if horizontal else (lambda e: e.top)
    ordered = sorted(edges, key=start)
    joined = [ordered[0]]
    for e in ordered[1:]:
        last = joined[-1]
        if horizontal:
            if e.x0 <= last.x1 + TOLERANCE:
                if e.x1 > last.x1:
                    joined[-1] = _Edge(last.x0, last.top, e.x1, last.bottom, e.x1 - last.x0)
            else:
                joined.append(e)
        elif e.top <= last.bottom + TOLERANCE:
            if e.bottom > last.bottom:
                joined[-1] = _Edge(last.x0, last.top, last.x1, e.bottom, last.length + (e.bottom - last.bottom))
        else:
            joined.append(e)
    return joined


def _merged_edges(content: PageContent) -> tuple[list[_Edge], list[_Edge]]:
    vertical, horizontal = _page_edges(content)
    vertical = _snap([e for e in vertical if e.length >= EDGE_MIN_PREFILTER], "x0")
    horizontal = _snap([e for e in horizontal if e.length >= EDGE_MIN_PREFILTER], "top")
    merged_h = [e for _, group in itertools.groupby(sorted(horizontal, key=lambda e: e.top), key=lambda e: e.top)
                for e in _join(list(group), True)]
    merged_v = [e for _, group in itertools.groupby(sorted(vertical, key=lambda e: e.x0), key=lambda e: e.x0)
                for e in _join(list(group), False)]
    return [e for e in merged_v if e.length >= EDGE_MIN], [e for e in merged_h if e.length >= EDGE_MIN]


def _cells(vertical: list[_Edge], horizontal: list[_Edge]) -> list[tuple[float, float, float, float]]:
    """pdfplumber's cells: for each intersection (in x, then y order), the smallest
    rectangle whose four corners are intersections joined by common edges."""
    v_at: dict[Point, set] = defaultdict(set)
    h_at: dict[Point, set] = defaultdict(set)
    by_top = sorted(horizontal, key=lambda e: e.top)
    tops = [e.top for e in by_top]
    for v in vertical:
        # only horizontals whose height is within the tolerance of this vertical's span
        for h in by_top[bisect_left(tops, v.top - TOLERANCE):]:
            if h.top > v.bottom + TOLERANCE:
                break
            if v.top <= h.top + TOLERANCE and v.bottom >= h.top - TOLERANCE and \
                    h.x0 - TOLERANCE <= v.x0 <= h.x1 + TOLERANCE:
                point = (v.x0, h.top)
                v_at[point].add(v.bbox())
                h_at[point].add(h.bbox())
    points = sorted(v_at)
    ys_at_x: dict[float, list[float]] = defaultdict(list)
    xs_at_y: dict[float, list[float]] = defaultdict(list)
    for x, y in points:  # sorted, so each list is ascending
        ys_at_x[x].append(y)
        xs_at_y[y].append(x)

    def connected(p: Point, q: Point) -> bool:
        return bool((p[0] == q[0] and v_at[p] & v_at[q]) or (p[1] == q[1] and h_at[p] & h_at[q]))

    cells = []
    for x, y in points:
        pt = (x, y)
        below = [(x, y2) for y2 in ys_at_x[x] if y2 > y]
        right = [(x2, y) for x2 in xs_at_y[y] if x2 > x]
        cell = None
        for down in below:
            if not connected(pt, down):
                continue
            for across in right:
                if not connected(pt, across):
                    continue
                corner = (across[0], down[1])
                if corner in v_at and connected(corner, across) and connected(corner, down):
                    cell = (x, y, corner[0], corner[1])
                    break
            if cell:
                break
        if cell:
            cells.append(cell)
    return cells


def _group_cells(cells: list[tuple[float, float, float, float]]) -> list[list[tuple[float, float, float, float]]]:
    """Tables: cells connected through shared corners, top-left first; single cells are no table."""
    by_corner: dict[Point, list[int]] = defaultdict(list)
    for i, (x0, top, x1, bottom) in enumerate(cells):
        for corner in ((x0, top), (x0, bottom), (x1, top), (x1, bottom)):
            by_corner[corner].append(i)
    seen: set[int] = set()
    tables = []
    for start in range(len(cells)):
        if start in seen:
            continue
        seen.add(start)
        group, todo = [], [start]
        while todo:
            i = todo.pop()
            group.append(i)
            x0, top, x1, bottom = cells[i]
            for corner in ((x0, top), (x0, bottom), (x1, top), (x1, bottom)):
                for j in by_corner[corner]:
                    if j not in seen:
                        seen.add(j)
                        todo.append(j)
        tables.append([cells[i] for i in sorted(group)])
    tables.sort(key=lambda t: min((c[1], c[0]) for c in t))
    return [t for t in tables if len(t) > 1]


class _CharRows:
    """Characters sorted by their vertical middle, to pick those of a table row quickly."""

    def __init__(self, chars: list[Char]):
        tagged = sorted(((c.top + c.bottom) / 2, i, c) for i, c in enumerate(chars))
        self._mids = [m for m, _, _ in tagged]
        self._tagged = tagged

    def within(self, x0: float, top: float, x1: float, bottom: float) -> list[Char]:
        """Characters whose middle is in the box (left/top edges in, right/bottom out), in page order."""
        picked = []
        for mid, i, c in self._tagged[bisect_left(self._mids, top):]:
            if mid >= bottom:
                break
            h_mid = (c.x0 + c.x1) / 2
            if x0 <= h_mid < x1:
                picked.append((i, c))
        picked.sort(key=lambda t: t[0])
        return [c for _, c in picked]


def find_tables(content: PageContent) -> list[Table]:
    """Ruled tables, top-left first, as pdfplumber's ``find_tables`` with the "lines"
    strategies finds them, and each cell's text with white space collapsed."""
    vertical, horizontal = _merged_edges(content)
    if not vertical or not horizontal:
        return []
    rows_index = _CharRows(content.chars)
    tables = []
    for cells in _group_cells(_cells(vertical, horizontal)):
        xs = sorted({c[0] for c in cells})
        rows = []
        for _, row_cells in itertools.groupby(sorted(cells, key=lambda c: (c[1], c[0])), key=lambda c: c[1]):
            by_x = {c[0]: c for c in row_cells}
            slots = [by_x.get(x) for x in xs]
            present = [c for c in slots if c]
            row_chars = rows_index.within(min(c[0] for c in present), min(c[1] for c in present),
                                          max(c[2] for c in present), max(c[3] for c in present))
            row = []
            for slot in slots:
                if slot is None:
                    row.append(Cell("", None))
                    continue
                x0, top, x1, bottom = slot
                inside = [c for c in row_chars
                          if x0 <= (c.x0 + c.x1) / 2 < x1 and top <= (c.top + c.bottom) / 2 < bottom]
                row.append(Cell(" ".join(block_text(inside).split()), Box(*slot)))
            rows.append(row)
        box = Box(min(c[0] for c in cells), min(c[1] for c in cells), max(c[2] for c in cells), max(c[3] for c in cells))
        tables.append(Table(box, rows))
    return tables


# --- ink -------------------------------------------------------------------------------


class _Grid:
    """Items bucketed by the ``GRID``-point squares their box touches.

    An item touching more than ``MAX_BUCKETS`` squares (a page-wide image, a long
    diagonal) is kept aside and offered to every query, so a hostile coordinate cannot
    make the index huge; a query wider than the occupied squares walks those instead.
    """

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], list] = defaultdict(list)
        self._everywhere: list = []

    def add(self, x0: float, top: float, x1: float, bottom: float, item: object) -> None:
        cx0, cx1, cy0, cy1 = int(x0 // GRID), int(x1 // GRID), int(top // GRID), int(bottom // GRID)
        if cx0 == cx1 and cy0 == cy1:  # most things: one square
            self._cells[(cx0, cy0)].append(item)
        elif (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_BUCKETS:
            self._everywhere.append(item)
        else:
            for key in itertools.product(range(cx0, cx1 + 1), range(cy0, cy1 + 1)):
                self._cells[key].append(item)

    def near(self, box: Box) -> Iterator:
        """Every item whose squares meet ``box``'s (some twice, some not in ``box`` at all)."""
        yield from self._everywhere
        cx0, cx1, cy0, cy1 = int(box.x0 // GRID), int(box.x1 // GRID), int(box.top // GRID), int(box.bottom // GRID)
        if (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > len(self._cells):
            for (kx, ky), items in self._cells.items():
                if cx0 <= kx <= cx1 and cy0 <= ky <= cy1:
                    yield from items
            return
        for key in itertools.product(range(cx0, cx1 + 1), range(cy0, cy1 + 1)):
            yield from self._cells.get(key, ())


class InkIndex:
    """Everything that can be ink on a page, bucketed into a grid once (a path by its
    bounding box, its segments tested when a box comes near).

    :meth:`ink_in` looks only at what lies in the squares its box touches, so checking
    every cell of a sign-in sheet costs about the objects in those cells, not a rescan
    of the page per cell. It answers exactly what the reference rule does (the
    pdfplumber backend's ``ink_in``): the candidates are a superset of what can hit
    the box, and each is tested with the same predicate.
    """

    def __init__(self, content: PageContent):
        self._chars, self._images, self._annotations = _Grid(), _Grid(), _Grid()
        self._points, self._paths = _Grid(), _Grid()
        for c in content.chars:
            if is_ink_char(c.text):
                x, y = (c.x0 + c.x1) / 2, (c.top + c.bottom) / 2
                self._chars.add(x, y, x, y, (x, y))
        for b in content.images:
            self._images.add(b.x0, b.top, b.x1, b.bottom, b)
        for b in content.annotations:
            self._annotations.add(b.x0, b.top, b.x1, b.bottom, b)
        for path in content.strokes:
            if len(path) == 1:
                x, y = path[0]
                self._points.add(x, y, x, y, path[0])
            elif path:
                xs, ys = [p[0] for p in path], [p[1] for p in path]
                self._paths.add(min(xs), min(ys), max(xs), max(ys), path)

    def ink_in(self, box: Box) -> bool:
        """See :meth:`attendbot.readers.pdf_page.PageView.ink_in`."""
        inner = box.shrink(INK_MARGIN)
        if inner.width <= 0 or inner.height <= 0:
            return False
        if any(inner.contains_point(x, y) for x, y in self._chars.near(inner)):
            return True
        area = box.width * box.height
        if any(inner.overlaps(b) and b.width * b.height <= 4 * area for b in self._images.near(inner)):
            return True
        if any(inner.overlaps(b) for b in self._annotations.near(inner)):
            return True
        if any(inner.contains_point(x, y) for x, y in self._points.near(inner)):
            return True
        min_width = inner.width / 2
        return any(not is_rule(p, q, min_width) and inner.hit_by(p, q)
                   for path in self._paths.near(inner) for p, q in zip(path, path[1:]))


def horizontal_rules(content: PageContent) -> list[Box]:
    """Straight horizontal segments over 2 pt long (underlines, table rules), in stroke order."""
    rules = []
    for path in content.strokes:
        for p, q in zip(path, path[1:]):
            if abs(p[1] - q[1]) <= 1 and abs(p[0] - q[0]) > 2:
                rules.append(Box(min(p[0], q[0]), min(p[1], q[1]), max(p[0], q[0]), max(p[1], q[1])))
    return rules


def image_coverage(content: PageContent) -> float:
    """The share of the page the largest image covers."""
    page = content.box
    best = 0.0
    for b in content.images:
        w = min(b.x1, page.x1) - max(b.x0, page.x0)
        h = min(b.bottom, page.bottom) - max(b.top, page.top)
        best = max(best, w * h if w > 0 and h > 0 else 0.0)
    return best / (page.width * page.height) if page.width > 0 and page.height > 0 else 0.0
