"""The pypdfium2 backend: PDFium (C++) parses, Python only collects and lays out.

Each page is read in one pass through pypdfium2's raw API — its characters from the
text page, its path, image, text and form objects, its signing annotations — into a
:class:`~attendbot.readers.pdf_layout.PageContent` with the coordinates pdfplumber
would give (top-left origin, the page turned as displayed); then the page is closed.
:mod:`~attendbot.readers.pdf_layout` builds words, text, tables and the ink index
from that content by pdfplumber's rules.

Where PDFium and pdfminer see a page differently, this follows pdfminer:

- a character's box is its advance wide (the font's width for it) and its font size
  tall, from the font's descent below the baseline (for the 14 standard fonts the AFM
  descent pdfminer uses, not PDFium's font-file metrics);
- spaces and line breaks PDFium infers are left out, and the spaces it drops (a text
  object of blank glyphs only, as word processors write between runs) are put back;
- paths are split into sub-paths and sorted into lines, rectangles and curves as
  pdfminer does, a curve keeping only its segments' end points;
- coordinates are pdfminer's (its page rotation) flipped the way pdfplumber flips them.

Known differences that remain (``tests/test_pdf_backends.py`` lists the corpus files):
the libraries decode some fonts differently (CJK text, unmapped glyphs; PDFium drops
fake-bold duplicate characters and trims runs of trailing spaces); a glyph's width comes
from the font program, where pdfminer reads the PDF's width table; a font whose
descriptor has no descent gets PDFium's where pdfminer takes 0 (boxes ~3 pt lower); a
MediaBox inherited from the page tree is read through PDFium's page box. On the sign-in
sheets attendbot builds, every word, table, cell and ink decision is the same.

PDFium is not thread-safe: every call into it holds :data:`_LOCK`. Speed: a sign-in page
costs about three calls into PDFium per character and per path segment; everything
else is done once per text object, font or page.
"""

from __future__ import annotations

import ctypes
import math
import threading
from functools import cached_property

import pypdfium2
import pypdfium2.raw as pdfium

from attendbot.errors import UnreadableFileError
from attendbot.readers import pdf_layout
from attendbot.readers.pdf_layout import Char, PageContent, Point
from attendbot.readers.pdf_page import MAX_PAGES, Box, PageView, PdfDocument, Table, Word

_LOCK = threading.RLock()
_FORM_DEPTH = 15  # Form XObjects nested deeper than this are not read (PDFium stops earlier anyway)
_INK_ANNOTATIONS = {pdfium.FPDF_ANNOT_INK, pdfium.FPDF_ANNOT_STAMP, pdfium.FPDF_ANNOT_FREETEXT}
_ENCRYPTED = {pdfium.FPDF_ERR_PASSWORD, pdfium.FPDF_ERR_SECURITY}
_LOAD_ERRORS = {pdfium.FPDF_ERR_FILE: "file error", pdfium.FPDF_ERR_FORMAT: "not a PDF or corrupted",
                pdfium.FPDF_ERR_PAGE: "page tree not found or broken"}
_LETTER = (0.0, 0.0, 612.0, 792.0)  # pdfminer's MediaBox when a page has none

# pdfminer takes these fonts' metrics from its AFM files whatever the PDF says; their
# descents (per 1000 em). Symbol and ZapfDingbats have none there, so 0.
_AFM_DESCENT = {
    **dict.fromkeys(("Courier", "Courier-Bold", "Courier-BoldOblique", "Courier-Oblique", "CourierNew",
                     "CourierNew,Italic", "CourierNew,Bold", "CourierNew,BoldItalic"), -194.0),
    **dict.fromkeys(("Helvetica", "Helvetica-Bold", "Helvetica-BoldOblique", "Helvetica-Oblique", "Arial",
                     "Arial,Italic", "Arial,Bold", "Arial,BoldItalic"), -207.0),
    **dict.fromkeys(("Times-Roman", "Times-Bold", "Times-BoldItalic", "Times-Italic", "TimesNewRoman",
                     "TimesNewRoman,Italic", "TimesNewRoman,Bold", "TimesNewRoman,BoldItalic"), -217.0),
    "Symbol": 0.0,
    "ZapfDingbats": 0.0,
}

Matrix = tuple[float, float, float, float, float, float]  # (a, b, c, d, e, f): x' = ax + cy + e, y' = bx + dy + f
Linear = tuple[float, float, float, float]  # a matrix's (a, b, c, d)
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _then(m: Matrix, n: Matrix) -> Matrix:
    """The matrix that applies ``m``, then ``n``."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _apply(m: Matrix, x: float, y: float) -> Point:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _decimal(v: float) -> float:
    """The number a PDF wrote, from PDFium's float32 copy of it.

    Content streams write coordinates as short decimals ("400.2"); pdfminer reads them
    as doubles, PDFium as float32 (400.20001...). Table edges join when they are within
    3 pt, exactly 3 pt apart counting as within, so 1e-5 decides; rounding to 7
    significant digits gives back the written number.
    """
    return float(f"{v:.7g}")


def _finite(*values: float) -> bool:
    return math.isfinite(sum(values))  # an infinity or a NaN anywhere makes the sum one


def _address(handle: object) -> int | None:
    """A PDFium handle's address, to recognise the same object again (None for NULL)."""
    return ctypes.c_void_p.from_buffer(handle).value


# FPDFText_GetTextObject again, answering the object's address as an int: asked once per
# character, it is cheaper than building a pointer object and reading its address.
_text_object_address = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)(
    ctypes.cast(pdfium.FPDFText_GetTextObject, ctypes.c_void_p).value)
_INFERRED = frozenset((0x20, 0x0D, 0x0A))  # the only characters PDFium generates: space, CR, LF


class _PageFrame:
    """pdfplumber's coordinates for one page: pdfminer's rotation matrix, then the flip.

    :attr:`to_page` maps PDF user space to (x, top) from the top-left of the page as shown.
    """

    def __init__(self, page: pdfium.FPDF_PAGE):
        left, bottom, right, top = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
        if pdfium.FPDFPage_GetMediaBox(page, left, bottom, right, top):
            raw = (_decimal(left.value), _decimal(bottom.value), _decimal(right.value), _decimal(top.value))
        else:  # PDFium reads no inherited MediaBox (crbug.com/pdfium/1786); its page box has it
            rect = pdfium.FS_RECTF()
            raw = (rect.left, rect.bottom, rect.right, rect.top) if pdfium.FPDF_GetPageBoundingBox(page, rect) \
                else _LETTER
        if not _finite(*raw):
            raw = _LETTER
        turns = pdfium.FPDFPage_GetRotation(page)
        self.rotation = 90 * turns if turns in (0, 1, 2, 3) else 0
        # pdfminer's device space: the MediaBox corner at the origin, the page turned. Like
        # pdfminer, take the corners as written, even a MediaBox written upside down.
        x0, y0, x1, y1 = raw
        self.device: Matrix = {
            0: (1.0, 0.0, 0.0, 1.0, -x0, -y0),
            90: (0.0, -1.0, 1.0, 0.0, -y0, x1),
            180: (-1.0, 0.0, 0.0, -1.0, x1, y1),
            270: (0.0, 1.0, -1.0, 0.0, y1, -x0),
        }[self.rotation]
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        # pdfplumber's page box: the MediaBox with its sides swapped for a quarter turn, flipped.
        nx0, ny0, nx1, ny1 = (y0, x0, y1, x1) if self.rotation in (90, 270) else (x0, y0, x1, y1)
        height = ny1 - ny0
        self.box = Box(nx0, height - ny1, nx1, height - ny0)
        flip: Matrix = (1.0, 0.0, 0.0, -1.0, self.box.x0, height + self.box.top)
        self.to_page: Matrix = _then(self.device, flip)


class _Fonts:
    """Per text object: its font's descent (per unit of font size) and the font handle, cached."""

    def __init__(self) -> None:
        self._by_object: dict[int | None, tuple[float, object]] = {}
        self._name = ctypes.create_string_buffer(256)
        self._value = ctypes.c_float()

    def of(self, textobj: pdfium.FPDF_PAGEOBJECT) -> tuple[float, object]:
        key = _address(textobj)
        if key not in self._by_object:
            self._by_object[key] = self._read(textobj)
        return self._by_object[key]

    def _read(self, textobj: pdfium.FPDF_PAGEOBJECT) -> tuple[float, object]:
        font = pdfium.FPDFTextObj_GetFont(textobj) if textobj else None
        if not font:
            return 0.0, None
        size = pdfium.FPDFFont_GetBaseFontName(font, self._name, len(self._name))
        name = self._name.value.decode("latin-1") if 0 < size <= len(self._name) else ""
        if name in _AFM_DESCENT:
            descent = _AFM_DESCENT[name] / 1000
        elif pdfium.FPDFFont_GetDescent(font, 1000.0, self._value):
            descent = self._value.value / 1000
        else:
            descent = 0.0
        return (-abs(descent) if math.isfinite(descent) else 0.0), font  # pdfminer forces it below the baseline


class _Style:
    """What the characters of one text object share: matrix, size, font, descent, and the
    advance of each character code met so far (asked of the font once)."""

    __slots__ = ("m", "size", "descent", "font", "advances", "upright", "quick", "x_scale", "x_shift", "y_top",
                 "y_bottom")

    def __init__(self, m: Linear, size: float, descent: float, font: object, frame: _PageFrame,
                 advances: dict[int, float]):
        a, b, c, d = m
        self.m, self.size, self.descent, self.font = m, size, descent, font
        self.advances = advances  # shared by every text object in this font at this size
        # pdfminer's "upright": the matrix, turned with the page, neither mirrored nor rotated
        A, B, C, D = frame.device[:4]
        ua, ub, uc, ud = a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D
        self.upright = ua * ud > 0 and ub * uc <= 0
        # The common case, text neither turned nor on a turned page: a box is a few additions
        # (x + x_shift, y_top - y, ...; to_page is then (1, 0, 0, -1, e, f)).
        self.quick = b == 0 and c == 0 and frame.rotation == 0 and _finite(a, d, size, descent)
        low, high = descent * size * d, (descent * size + size) * d
        self.x_scale, self.x_shift = a, frame.to_page[4]
        self.y_top, self.y_bottom = frame.to_page[5] - max(low, high), frame.to_page[5] - min(low, high)

    def advance(self, code: int, width: ctypes.c_float) -> float:
        """The character's advance in text space, from the font (0 when it cannot say)."""
        ok = self.font and pdfium.FPDFFont_GetGlyphWidth(self.font, code, self.size, width)
        advance = self.advances[code] = width.value if ok and width.value > 0 else 0.0
        return advance


class _Text:
    """Characters boxed the way pdfminer boxes them, in pdfplumber's coordinates."""

    def __init__(self, frame: _PageFrame):
        self.frame = frame
        self.fonts = _Fonts()
        self.rotation = frame.rotation
        self.to_page = frame.to_page
        self.width = ctypes.c_float()
        self._advances: dict[tuple[int | None, float], dict[int, float]] = {}

    def style(self, textobj: pdfium.FPDF_PAGEOBJECT, m: Linear, size: float) -> _Style:
        descent, font = self.fonts.of(textobj)
        advances = self._advances.setdefault((_address(font) if font else None, size), {})
        return _Style(m, size, descent, font, self.frame, advances)

    def char(self, text: str, ox: float, oy: float, style: _Style, advance: float) -> Char | None:
        """``text`` drawn at (``ox``, ``oy``) in PDF user space: a box ``advance`` wide from
        the origin and the font size tall from the font's descent below it, as pdfminer has it."""
        if style.quick:
            width = advance * style.x_scale
            x0 = ox + style.x_shift
            x0, x1 = (x0, x0 + width) if width >= 0 else (x0 + width, x0)
            return Char(text, x0, style.y_top - oy, x1, style.y_bottom - oy, style.upright) \
                if math.isfinite(x0 + x1 + oy) else None
        a, b, c, d = style.m
        low, high = style.descent * style.size, style.descent * style.size + style.size
        corners = [(ox + x * a + y * c, oy + x * b + y * d) for x in (0.0, advance) for y in (low, high)]
        return self.boxed(text, corners, style.upright)

    def boxed(self, text: str, corners: list[Point], upright: bool) -> Char | None:
        """The character whose box holds ``corners`` (PDF user space); None if not finite."""
        points = [_apply(self.to_page, x, y) for x, y in corners]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        if not _finite(*xs, *ys):
            return None
        return Char(text, min(xs), min(ys), max(xs), max(ys), upright)


def _read_chars(textpage: pdfium.FPDF_TEXTPAGE, text: _Text) -> tuple[list[Char], list[int | None]]:
    """The text page's characters in content order, and each one's text object address.

    Three PDFium habits are undone here: it marks a space it infers as generated (kept
    out) but also a real space it replaced by such an inferred one (kept: the next
    character of its object starts elsewhere); it writes a glyph standing for several
    letters (a ligature) as that many characters at one origin (joined back into one,
    as pdfminer has it); and it turns a hyphen at a line's end into U+0002 (back to "-").
    """
    count = pdfium.FPDFText_CountChars(textpage)
    if count < 0:
        raise RuntimeError("PDFium cannot count the page's characters")
    # Hot loop (every character of every page): local names, three calls into PDFium per
    # character, what a text object's characters share worked out once (_Style).
    get_unicode, get_origin, is_generated = \
        pdfium.FPDFText_GetUnicode, pdfium.FPDFText_GetCharOrigin, pdfium.FPDFText_IsGenerated
    object_at, page_address = _text_object_address, _address(textpage)
    ox, oy = ctypes.c_double(), ctypes.c_double()
    nx, ny = ctypes.c_double(), ctypes.c_double()
    loose, matrix, width = pdfium.FS_RECTF(), pdfium.FS_MATRIX(), text.width
    styles: dict[int | None, _Style] = {}
    chars: list[Char] = []
    addresses: list[int | None] = []
    last_address, last_x, last_y = -1, None, None  # where the last character kept was drawn
    for i in range(count):
        code = get_unicode(textpage, i)
        address = object_at(page_address, i)
        get_origin(textpage, i, ox, oy)
        x, y = ox.value, oy.value
        if code in _INFERRED and is_generated(textpage, i) != 0:
            if code != 0x20 or address is None or i + 1 >= count or is_generated(textpage, i + 1) != 0 \
                    or object_at(page_address, i + 1) != address:
                continue
            get_origin(textpage, i + 1, nx, ny)
            if nx.value == x and ny.value == y:
                continue  # inferred from kerning before the next character: no space in the content
        elif code == 2 and pdfium.FPDFText_IsHyphen(textpage, i) == 1:
            code = 0x2D
        letter = chr(code) if code <= 0x10FFFF else "\ufffd"
        if x == last_x and y == last_y and address == last_address \
                and not letter.isspace() and not chars[-1].text.isspace():
            # one glyph, several letters: pdfminer's single character, as wide as the glyph
            previous = chars[-1]
            pdfium.FPDFText_GetLooseCharBox(textpage, i, loose)
            right = _apply(text.to_page, loose.right, 0.0)[0]
            if previous.upright and text.rotation == 0 and right > previous.x0:
                previous.x1 = max(previous.x1, right)
            previous.text += letter
            continue
        style = styles.get(address)
        if style is None:
            pdfium.FPDFText_GetMatrix(textpage, i, matrix)
            # PDFium gives a character it inferred no size: a replaced space takes the next one's
            size = pdfium.FPDFText_GetFontSize(textpage, i + 1 if is_generated(textpage, i) else i)
            style = styles[address] = text.style(pdfium.FPDFText_GetTextObject(textpage, i),
                                                  (matrix.a, matrix.b, matrix.c, matrix.d), size)
        # The advance: the font's width for this character (the loose box can be wider: an
        # italic's overhang), else the loose box's width when the character is not turned.
        advance = style.advances.get(code)
        if advance is None:
            advance = style.advance(code, width)
        if not advance > 0 and style.m[1] == 0 and style.m[2] == 0 and style.m[0] != 0:
            pdfium.FPDFText_GetLooseCharBox(textpage, i, loose)
            advance = (loose.right - loose.left) / abs(style.m[0])
        if advance > 0:
            char = text.char(letter, x, y, style, advance)
        else:  # no width to be had: the glyph's own box
            l, r, b, t = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
            pdfium.FPDFText_GetCharBox(textpage, i, l, r, b, t)
            char = text.boxed(letter, [(l.value, b.value), (r.value, t.value)], style.upright)
        if char is not None:
            chars.append(char)
            addresses.append(address)
            last_address, last_x, last_y = address, x, y
    return chars, addresses


def _in_content_order(chars: list[Char], addresses: list[int | None], place_of: dict[int | None, int],
                      extra: list[tuple[int, Char]]) -> list[Char]:
    """The text page's characters with ``extra`` ones slotted in where their objects come
    in the content (``place_of`` an object's address), the text page's own order kept."""
    if not extra:
        return chars
    out: list[Char] = []
    pending = sorted(extra, key=lambda t: t[0])
    k = 0
    for address, char in zip(addresses, chars):
        place = place_of.get(address)
        while place is not None and k < len(pending) and pending[k][0] < place:
            out.append(pending[k][1])
            k += 1
        out.append(char)
    out.extend(c for _, c in pending[k:])
    return out


class _Objects:
    """A page's text, path, image and form objects, walked in content order.

    Paths and images are sorted and placed as pdfminer does, into the page content;
    text objects are numbered, and those without width noted (see :meth:`blank_spaces`).
    """

    def __init__(self, content: PageContent, frame: _PageFrame, text: _Text):
        self.content, self.frame, self.text = content, frame, text
        self.text_places: dict[int | None, int] = {}  # a text object's address -> its place in the content
        self._blank: list[tuple[int, object, Matrix]] = []  # (place, object, matrix) of width-less text objects
        self._x, self._y = ctypes.c_float(), ctypes.c_float()
        self._fill, self._stroke = ctypes.c_int(), ctypes.c_int()
        self._matrix = pdfium.FS_MATRIX()
        self._bounds = [ctypes.c_float() for _ in range(4)]
        self._decimals: dict[float, float] = {}

    def _object_matrix(self, obj: pdfium.FPDF_PAGEOBJECT) -> Matrix:
        m = self._matrix
        if not pdfium.FPDFPageObj_GetMatrix(obj, m):
            return _IDENTITY
        return (self._decimal(m.a), self._decimal(m.b), self._decimal(m.c), self._decimal(m.d),
                self._decimal(m.e), self._decimal(m.f))

    def walk(self, count: int, get: object, parent: object, outer: Matrix = _IDENTITY, depth: int = 0) -> None:
        """Visit ``parent``'s objects; ``outer`` maps their container's space to PDF user space."""
        for i in range(count):
            obj = get(parent, i)
            if not obj:
                continue
            kind = pdfium.FPDFPageObj_GetType(obj)
            if kind == pdfium.FPDF_PAGEOBJ_TEXT:
                self._text_object(obj, outer)
            elif kind == pdfium.FPDF_PAGEOBJ_PATH:
                self._path(obj, _then(_then(self._object_matrix(obj), outer), self.frame.to_page))
            elif kind == pdfium.FPDF_PAGEOBJ_IMAGE:
                self._image(_then(_then(self._object_matrix(obj), outer), self.frame.to_page))
            elif kind == pdfium.FPDF_PAGEOBJ_FORM and depth < _FORM_DEPTH:
                inner = _then(self._object_matrix(obj), outer)
                self.walk(pdfium.FPDFFormObj_CountObjects(obj), pdfium.FPDFFormObj_GetObject, obj, inner, depth + 1)

    def _text_object(self, obj: pdfium.FPDF_PAGEOBJECT, outer: Matrix) -> None:
        place = len(self.text_places)
        self.text_places[_address(obj)] = place
        left, bottom, right, top = self._bounds
        if pdfium.FPDFPageObj_GetBounds(obj, left, bottom, right, top) and abs(right.value - left.value) < 1e-3:
            self._blank.append((place, obj, _then(self._object_matrix(obj), outer)))

    def blank_spaces(self, read: set[int | None]) -> list[tuple[int, Char]]:
        """A space for each width-less text object the text page left out (not in ``read``).

        PDFium's text page skips a text object whose glyphs have no width: a run of
        spaces in an object of its own, as word processors write between runs. pdfminer
        keeps those spaces, and they split words, so the page's text needs them back
        (one space stands for the run: only the split matters).
        """
        size = ctypes.c_float()
        spaces = []
        for place, obj, m in self._blank:
            if _address(obj) in read or not pdfium.FPDFTextObj_GetFontSize(obj, size):
                continue
            style = self.text.style(obj, m[:4], size.value)
            char = self.text.char(" ", m[4], m[5], style, style.advance(0x20, self.text.width))
            if char is not None:
                spaces.append((place, char))
        return spaces

    def _image(self, m: Matrix) -> None:
        corners = [_apply(m, x, y) for x, y in ((0, 0), (1, 0), (0, 1), (1, 1))]
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        if _finite(*xs, *ys):
            self.content.images.append(Box(min(xs), min(ys), max(xs), max(ys)))

    def _path(self, obj: pdfium.FPDF_PAGEOBJECT, m: Matrix) -> None:
        """The path's sub-paths as pdfminer's ``paint_path`` receives them: each a shape
        (``m``, then ``l``/``c``, maybe ``h``) and its points, a curve's end point only."""
        if not pdfium.FPDFPath_GetDrawMode(obj, self._fill, self._stroke):
            return
        if self._fill.value == pdfium.FPDF_FILLMODE_NONE and not self._stroke.value:
            return  # a clipping path ("n"): pdfminer paints nothing
        get_segment, get_point = pdfium.FPDFPath_GetPathSegment, pdfium.FPDFPathSegment_GetPoint
        get_type, get_close = pdfium.FPDFPathSegment_GetType, pdfium.FPDFPathSegment_GetClose
        bezier_to, move_to = pdfium.FPDF_SEGMENT_BEZIERTO, pdfium.FPDF_SEGMENT_MOVETO
        x, y, decimal = self._x, self._y, self._decimal
        a, b, c, d, e, f = m
        subpaths: list[tuple[str, list[Point]]] = []
        shape, pts, start, bezier, last = "", [], None, 0, None

        def end_subpath() -> None:
            # PDFium flags a closed sub-path on its last segment; a close inside a sub-path
            # (followed by more segments) leaves the same points and, as pdfminer reads them,
            # the same kind of path, so only the end is asked.
            if last is not None and start is not None and get_close(last):
                subpaths.append(_closed(shape, pts, start))
            else:
                subpaths.append((shape, pts))

        for j in range(pdfium.FPDFPath_CountSegments(obj)):
            seg = get_segment(obj, j)
            if not seg or not get_point(seg, x, y):
                continue
            kind = get_type(seg)
            if kind == bezier_to:
                bezier += 1
                if bezier % 3:
                    continue  # a control point
                op = "c"
            else:
                op, bezier = ("m" if kind == move_to else "l"), 0
            px, py = decimal(x.value), decimal(y.value)
            point = (a * px + c * py + e, b * px + d * py + f)
            if op == "m":
                end_subpath()
                shape, pts, start, last = "m", [point], point, None
                continue
            shape += op
            pts.append(point)
            last = seg
        end_subpath()
        for shape, pts in subpaths:
            self._classify(shape, pts)

    def _decimal(self, v: float) -> float:
        """:func:`_decimal`, remembered: a page's paths repeat a few coordinates many times."""
        known = self._decimals.get(v)
        if known is None:
            known = self._decimals[v] = _decimal(v)
        return known

    def _classify(self, shape: str, pts: list[Point]) -> None:
        """pdfminer's ``paint_path`` for one sub-path: a line, a rectangle or a curve."""
        if not shape.startswith("m") or len(shape) < 2 or not _finite(*(v for p in pts for v in p)):
            return
        if len(shape) > 3 and shape[-2:] == "lh" and pts[-2] == pts[0]:
            shape, pts = shape[:-2] + "h", pts[:-1]
        if shape in ("mlh", "ml"):
            self.content.lines.append((pts[0], pts[1]))
        elif shape in ("mlllh", "mllll") and pts[0] == pts[4] and _is_square(pts):
            (ax, ay), (bx, by) = pts[0], pts[2]
            self.content.rects.append(Box(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)))
        else:
            self.content.curves.append(pts)


def _closed(shape: str, pts: list[Point], start: Point) -> tuple[str, list[Point]]:
    """The sub-path as pdfminer saw it before PDFium folded its ``h`` (close) into a segment.

    PDFium closes a sub-path by drawing a line back to its start (or, when already
    there, by flagging the last segment); pdfminer keeps the ``h`` with the start point.
    """
    if shape.endswith("l") and pts[-1] == start:
        if shape == "ml":  # "m p l p h": pdfminer's one-segment line from p to p
            return "mlh", pts + [start]
        return shape[:-1] + "h", pts
    return shape + "h", pts + [start]


def _is_square(pts: list[Point]) -> bool:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts[:4]
    return (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0)


def _annotations(page: pdfium.FPDF_PAGE, frame: _PageFrame) -> list[Box]:
    """Ink, Stamp and FreeText annotation boxes, placed the way pdfplumber places annotations
    (turned with the page, not shifted by the MediaBox's corner)."""
    boxes = []
    rect = pdfium.FS_RECTF()
    width, height = frame.box.width, frame.box.height
    turns = frame.rotation // 90

    def turn(x: float, y: float) -> Point:
        for i in range(turns):
            x, y = y, (width if i == turns % 2 else height) - x
        return x, y

    for i in range(max(0, pdfium.FPDFPage_GetAnnotCount(page))):
        annot = pdfium.FPDFPage_GetAnnot(page, i)
        if not annot:
            continue
        try:
            if pdfium.FPDFAnnot_GetSubtype(annot) not in _INK_ANNOTATIONS or not pdfium.FPDFAnnot_GetRect(annot, rect):
                continue
            (ax, ay), (bx, by) = turn(rect.left, rect.bottom), turn(rect.right, rect.top)
            if _finite(ax, ay, bx, by):
                boxes.append(Box(min(ax, bx), height - max(ay, by), max(ax, bx), height - min(ay, by)))
        finally:
            pdfium.FPDFPage_CloseAnnot(annot)
    return boxes


def read_page(pdf: pypdfium2.PdfDocument, number: int) -> PageContent:
    """Everything on page ``number`` (1-based) the layout rules need; the page is closed after.

    Raises whatever goes wrong (the caller turns it into PageUnreadableError).
    """
    with _LOCK:
        page = pdfium.FPDF_LoadPage(pdf.raw, number - 1)
        if not page:
            raise RuntimeError("PDFium cannot load the page")
        try:
            frame = _PageFrame(page)
            content = PageContent(frame.box)
            text = _Text(frame)
            objects = _Objects(content, frame, text)
            objects.walk(pdfium.FPDFPage_CountObjects(page), pdfium.FPDFPage_GetObject, page)
            textpage = pdfium.FPDFText_LoadPage(page)
            if not textpage:
                raise RuntimeError("PDFium cannot read the page's text")
            try:
                chars, addresses = _read_chars(textpage, text)
            finally:
                pdfium.FPDFText_ClosePage(textpage)
            spaces = objects.blank_spaces(set(addresses))
            content.chars = _in_content_order(chars, addresses, objects.text_places, spaces)
            content.annotations = _annotations(page, frame)
            return content
        finally:
            pdfium.FPDF_ClosePage(page)


class PdfiumPage(PageView):
    """One page, read from PDFium on first use and then laid out from that content."""

    def __init__(self, pdf: pypdfium2.PdfDocument, number: int):
        self._pdf = pdf
        self.number = number

    @cached_property
    def _content(self) -> PageContent:
        return self._guard("parse the page", lambda: read_page(self._pdf, self.number))

    @property
    def box(self) -> Box:
        return self._content.box

    @cached_property
    def _words(self) -> list[pdf_layout.WordChars]:
        return self._guard("extract words", lambda: pdf_layout.extract_words(self._content.chars))

    @cached_property
    def _text_map(self) -> pdf_layout.TextMap:
        return self._guard("extract text", lambda: pdf_layout.TextMap(self._words))

    @property
    def text(self) -> str:
        return self._text_map.text

    @cached_property
    def has_text_layer(self) -> bool:
        return any(c.text.strip() for c in self._content.chars)

    @cached_property
    def words(self) -> list[Word]:
        return [w.word() for w in self._words]

    def search(self, pattern: str) -> list[Box]:
        return self._guard("search text", lambda: self._text_map.search(pattern))

    @cached_property
    def tables(self) -> list[Table]:
        return self._guard("find tables", lambda: pdf_layout.find_tables(self._content))

    @cached_property
    def image_coverage(self) -> float:
        return pdf_layout.image_coverage(self._content)

    @cached_property
    def _rules(self) -> list[Box]:
        return pdf_layout.horizontal_rules(self._content)

    def horizontal_rules(self) -> list[Box]:
        return list(self._rules)

    @cached_property
    def _ink(self) -> pdf_layout.InkIndex:
        return self._guard("index the page's ink", lambda: pdf_layout.InkIndex(self._content))

    def ink_in(self, box: Box) -> bool:
        return self._ink.ink_in(box)

    def close(self) -> None:
        # The PDFium page was closed as soon as it was read; drop what was kept of it.
        for name in ("_content", "_words", "_text_map", "_ink"):
            self.__dict__.pop(name, None)


class PdfiumDocument(PdfDocument):
    def __init__(self, pdf: pypdfium2.PdfDocument, shown: str, max_pages: int = MAX_PAGES):
        super().__init__(shown, max_pages)
        self._pdf = pdf

    def _count_pages(self) -> int:
        with _LOCK:
            return len(self._pdf)

    def _open_page(self, number: int) -> PageView:
        return PdfiumPage(self._pdf, number)

    def _close_document(self) -> None:
        with _LOCK:
            try:
                self._pdf.close()
            except Exception:  # noqa: BLE001 - closing must never fail a run
                pass


def open_document(data: bytes, shown: str, max_pages: int = MAX_PAGES) -> PdfDocument:
    """Open ``data`` with PDFium. Raises UnreadableFileError: encrypted, damaged or page-less."""
    with _LOCK:
        try:
            pdf = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            code = getattr(exc, "err_code", None)
            if code in _ENCRYPTED:
                raise UnreadableFileError("encrypted or password-protected PDF") from None
            if code == pdfium.FPDF_ERR_SUCCESS:  # it opened, but has no page
                raise UnreadableFileError("damaged PDF (it has no pages)") from None
            raise UnreadableFileError(f"damaged PDF (PDFium: {_LOAD_ERRORS.get(code, 'unknown error')})") from None
        except Exception as exc:  # noqa: BLE001 - nothing of the library's may escape
            raise UnreadableFileError(f"damaged PDF ({type(exc).__name__})") from exc
    return PdfiumDocument(pdf, shown, max_pages)
