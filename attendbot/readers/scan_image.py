"""Pictures of paper, made readable: pages out of scans, upright and straight, their ruled
table found and the ink in any part of it measured. OpenCV (headless) and NumPy do the work.

Every page is brought to one working size, :data:`WORK_WIDTH` pixels across (a
Letter page at 200 dpi), so that the few pixel constants below mean the same for a
150-dpi office scan and a 300-dpi one. Lengths that depend on the sheet's own
layout (a cell's margin, a signature line's height) are taken from the table found
on the page, not from constants.

What a page goes through (:func:`prepare`, then :func:`find_grid`):

1. **background** — the scanner's grey, a shadow along the spine and the paper's tint
   are divided out (the page over its own blurred brightness), so "ink" means
   *darker than the paper around it*, whatever the exposure;
2. **ink** — pixels at most :data:`INK_LEVEL` of the local paper brightness;
3. **perspective** — a phone photo shows the page as a trapezoid. Where four known
   points of the page are clearly found (a roster's corner squares, :func:`corner_marks`;
   else the paper's outline against the table, :func:`page_outline`) and they are not
   square, the page is warped back to a rectangle (:class:`Perspective`); a flat scan,
   whose four points are square, is left to step 4;
4. **skew** — the angle (within :data:`MAX_SKEW` degrees) at which the rows of ink
   line up best (the sharpest horizontal projection), found coarse then fine, and
   undone;
5. **grid** — long horizontal and vertical rules (morphological opening with long
   thin kernels); the largest set of horizontal rules sharing left and right ends is
   the table, the vertical rules crossing most of its height are its columns.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from attendbot.errors import UnreadableFileError

WORK_WIDTH = 1700  # px across a page once prepared
INK_LEVEL = 0.62  # a pixel at most this share of the local paper brightness is ink
RULE_LEVEL = 0.80  # ... is part of a ruled line: lenient, since a thin rule blurred by a 150-dpi scan is faint
FAINT_LEVEL = RULE_LEVEL  # ... is a mark, if a faint one (a thin stroke blurred by a phone photo)
RULE_GAP = 9  # px: gaps this short in a ruled line (noise, a faint stretch) are bridged
MAX_SKEW = 4.0  # degrees searched either way
BLANK_INK = 0.0015  # share of a page's pixels: less ink than this is a blank page
MIN_BLOB = 12  # px: ink specks smaller than this (dust, noise) are not ink
MAX_PIXELS = 80_000_000  # an image larger than this is refused unread (a 600-dpi Letter page is 34 Mpx)
MAX_PAGES = 60  # pages of one scanned file
FLAT = 1.0  # degrees: four points of a page this close to square (and level within MAX_SKEW) are a flat scan
MIN_FAR_SIDE = 0.7  # a photographed page's far edge at least this share of its near edge, or it is too steep
MIN_PHOTO_DPI = 100  # pixels an inch along a photographed page's coarsest edge, or it is too small
PAPER_SIZES = {"Letter": (612.0, 792.0), "A4": (595.0, 842.0), "Legal": (612.0, 1008.0)}  # points
PAPER_CONTRAST = 0.92  # what shows around a page's outline at most this bright against the paper inside it
PAPER_FIT = 0.15  # how far (log of the ratio) an outline's shape may be from a paper size's and still be one

_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"II*\x00", "TIFF"),
                (b"MM\x00*", "TIFF"))


def image_format(head: bytes) -> str | None:
    """``PNG``, ``JPEG`` or ``TIFF`` by the file's first bytes; None for anything else."""
    return next((name for magic, name in _IMAGE_MAGIC if head.startswith(magic)), None)


def _cv2():
    try:
        import cv2
    except ImportError as exc:
        raise UnreadableFileError("scanned sheets need OpenCV (opencv-python-headless), which is not installed: "
                             "install attendbot's dependencies again (pip install -e .)") from exc
    return cv2


# --- pages out of files ------------------------------------------------------------------


def image_pages(data: bytes) -> Iterator[tuple[int, np.ndarray]]:
    """The pages (frames) of a PNG, JPEG or TIFF as grey arrays. Raises UnreadableFileError."""
    from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise UnreadableFileError(f"the image is {image.width} x {image.height} pixels, more than a scanned page "
                                 "needs: scan at 200-300 dpi")
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if number > MAX_PAGES:
                break
            frame = ImageOps.exif_transpose(frame)  # a phone photo taken sideways
            yield number, np.asarray(frame.convert("L"))
    except UnreadableFileError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UnreadableFileError(f"a damaged or unsupported image ({type(exc).__name__}: {str(exc)[:100]})") from exc


def pdf_page_count(data: bytes) -> int:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except Exception as exc:  # noqa: BLE001 - PdfiumError and friends for a damaged file
        raise UnreadableFileError(f"damaged PDF ({type(exc).__name__})") from exc
    try:
        return len(doc)
    finally:
        doc.close()


def pdf_pages(data: bytes, numbers: list[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Pages ``numbers`` (1-based) of a PDF rendered grey at :data:`WORK_WIDTH` pixels across."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except Exception as exc:  # noqa: BLE001
        raise UnreadableFileError(f"damaged PDF ({type(exc).__name__})") from exc
    try:
        for number in numbers:
            page = doc[number - 1]
            try:
                width = page.get_width() or 612.0
                scale = min(WORK_WIDTH / width, 6.0)
                bitmap = page.render(scale=scale, grayscale=True)
                yield number, bitmap.to_numpy().copy()
            except UnreadableFileError:
                raise
            except Exception as exc:  # noqa: BLE001 - one page that cannot be drawn
                raise UnreadableFileError(f"page {number} cannot be drawn ({type(exc).__name__})") from exc
            finally:
                page.close()
    finally:
        doc.close()


# --- one page --------------------------------------------------------------------------


@dataclass
class Page:
    """A prepared page: ``grey`` with the paper made white (0-255), ``ink`` 1 where there is ink."""

    grey: np.ndarray
    ink: np.ndarray
    skew: float = 0.0  # degrees it was turned to be straight
    turned: int = 0  # quarter turns it was rotated to be upright (2: it was upside down)

    @property
    def height(self) -> int:
        return self.grey.shape[0]

    @property
    def width(self) -> int:
        return self.grey.shape[1]

    @property
    def ink_share(self) -> float:
        return float(self.ink.mean())

    def rule_mask(self, horizontal: bool) -> np.ndarray:
        """Where ruled lines may be: fainter pixels than ink count, and short gaps along the
        line's direction are closed."""
        cv2 = _cv2()
        mask = (self.grey <= int(255 * RULE_LEVEL)).astype(np.uint8)
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (RULE_GAP, 1) if horizontal else (1, RULE_GAP))
        return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)

    def rotated(self, quarter_turns: int) -> Page:
        """The page turned ``quarter_turns`` x 90 degrees clockwise."""
        k = quarter_turns % 4
        if k == 0:
            return self
        cv2 = _cv2()
        code = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}[k]
        return Page(cv2.rotate(self.grey, code), cv2.rotate(self.ink, code), self.skew, (self.turned + k) % 4)

    def straightened(self) -> Page:
        """The page turned by its skew (within MAX_SKEW degrees) so that its rules are level."""
        angle = skew_angle(self.ink)
        if abs(angle) < 0.05:
            return Page(self.grey, self.ink, 0.0, self.turned)
        grey = _rotate(self.grey, angle)
        return Page(grey, _ink(grey), angle, self.turned)

    def crop(self, x0: float, top: float, x1: float, bottom: float) -> np.ndarray:
        x0, x1 = max(0, int(round(x0))), min(self.width, int(round(x1)))
        top, bottom = max(0, int(round(top))), min(self.height, int(round(bottom)))
        return self.grey[top:bottom, x0:x1]

    def ink_in(self, x0: float, top: float, x1: float, bottom: float,
               level: float = INK_LEVEL) -> tuple[float, tuple[int, int, int, int] | None]:
        """The share of the area that is ink (specks under MIN_BLOB px left out), and the ink's
        bounding box in page pixels (None when there is none). At a ``level`` above INK_LEVEL
        (:data:`FAINT_LEVEL`), strokes too faint to be ink count as well."""
        cv2 = _cv2()
        x0, x1 = max(0, int(round(x0))), min(self.width, int(round(x1)))
        top, bottom = max(0, int(round(top))), min(self.height, int(round(bottom)))
        if x1 - x0 < 2 or bottom - top < 2:
            return 0.0, None
        area = self.ink[top:bottom, x0:x1] if level == INK_LEVEL else \
            (self.grey[top:bottom, x0:x1] <= int(255 * level)).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(area, connectivity=8)
        keep = [s for s in stats[1:n] if s[cv2.CC_STAT_AREA] >= MIN_BLOB]
        if not keep:
            return 0.0, None
        pixels = sum(int(s[cv2.CC_STAT_AREA]) for s in keep)
        bx0 = min(int(s[0]) for s in keep)
        by0 = min(int(s[1]) for s in keep)
        bx1 = max(int(s[0] + s[2]) for s in keep)
        by1 = max(int(s[1] + s[3]) for s in keep)
        return pixels / area.size, (x0 + bx0, top + by0, x0 + bx1, top + by1)


def _paper(grey: np.ndarray) -> np.ndarray:
    """The paper's brightness around each pixel: ink taken away by a max filter at low resolution."""
    cv2 = _cv2()
    h, w = grey.shape
    small = cv2.resize(grey, (max(8, w // 8), max(8, h // 8)), interpolation=cv2.INTER_AREA)
    small = cv2.dilate(small, np.ones((5, 5), np.uint8))
    small = cv2.medianBlur(small, 5)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _flatten(grey: np.ndarray) -> np.ndarray:
    """``grey`` over its paper brightness: paper 255, ink dark, whatever the exposure and tint."""
    paper = np.maximum(_paper(grey).astype(np.float32), 1.0)
    return np.clip(grey.astype(np.float32) * 255.0 / paper, 0, 255).astype(np.uint8)


def _ink(flat: np.ndarray) -> np.ndarray:
    return (flat <= int(255 * INK_LEVEL)).astype(np.uint8)


def _rotate(grey: np.ndarray, angle: float) -> np.ndarray:
    cv2 = _cv2()
    h, w = grey.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(grey, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=255)


def skew_angle(ink: np.ndarray) -> float:
    """Degrees to turn the page (counter-clockwise positive, as OpenCV turns) so its lines are level:
    a coarse search on a small copy of the page, then a fine one on a larger copy."""
    cv2 = _cv2()
    h, w = ink.shape

    def sharpness(small: np.ndarray, angle: float) -> float:
        sh, sw = small.shape
        matrix = cv2.getRotationMatrix2D((sw / 2, sh / 2), angle, 1.0)
        turned = cv2.warpAffine(small, matrix, (sw, sh), flags=cv2.INTER_NEAREST, borderValue=0)
        rows = turned.sum(axis=1, dtype=np.float64)
        return float((rows * rows).sum())

    def shrunk(width: int) -> np.ndarray:
        return cv2.resize(ink * 255, (width, max(8, int(h * width / w))), interpolation=cv2.INTER_AREA)

    coarse, fine = shrunk(400), shrunk(800)
    best = max(np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.25), key=lambda a: sharpness(coarse, a))
    finest = max(np.arange(best - 0.25, best + 0.25 + 1e-9, 0.05), key=lambda a: sharpness(fine, a))
    return float(round(finest, 2))


def prepare(grey: np.ndarray) -> Page:
    """A page at working size with its paper made white (not yet straightened)."""
    cv2 = _cv2()
    if grey.ndim != 2 or grey.shape[0] < 50 or grey.shape[1] < 50:
        raise UnreadableFileError("the image is too small to be a scanned page")
    h, w = grey.shape
    scale = WORK_WIDTH / w
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    grey = cv2.resize(grey, (WORK_WIDTH, max(50, int(round(h * scale)))), interpolation=interpolation)
    flat = _flatten(grey)
    return Page(flat, _ink(flat))


# --- a photo's perspective ---------------------------------------------------------------


@dataclass(frozen=True)
class Perspective:
    """Where four known points of a page are in an image: ``seen`` in the image's pixels, ``known``
    in points (1/72 in) on a page ``size`` points large; both top-left, top-right, bottom-right,
    bottom-left of the page."""

    seen: np.ndarray  # 4 x 2
    known: np.ndarray  # 4 x 2
    size: tuple[float, float]

    @property
    def out_of_square(self) -> float:
        """Degrees the seen four points' worst corner is from a right angle."""
        worst = 0.0
        for i in range(4):
            a, b = self.seen[i - 1] - self.seen[i], self.seen[(i + 1) % 4] - self.seen[i]
            cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
            worst = max(worst, abs(90.0 - float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))))
        return worst

    @property
    def flat(self) -> bool:
        """Square and nearly level: a scan, which straightening alone makes right."""
        (x0, y0), (x1, y1) = self.seen[0], self.seen[1]
        level = abs(float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))) % 90
        return self.out_of_square <= FLAT and min(level, 90 - level) <= MAX_SKEW

    def turned(self, quarter_turns: int) -> Perspective:
        """The same, for a page lying ``quarter_turns`` x 90 degrees clockwise of upright in the
        image: ``seen`` was given top-left first as the image shows the page."""
        return replace(self, seen=np.roll(self.seen, quarter_turns % 4, axis=0))

    def too_distorted(self) -> str | None:
        """Why the page cannot be read with confidence from this photo, or None when it can."""
        scale = _sides(self.seen) / _sides(self.known)  # image pixels per point, side by side
        far = min(min(scale[i], scale[i + 2]) / max(scale[i], scale[i + 2]) for i in (0, 1))
        dpi = float(np.min(scale)) * 72
        if far < MIN_FAR_SIDE:
            return (f"it was photographed at too steep an angle: its far edge looks {far:.0%} as long as its near "
                    f"one, and at least {MIN_FAR_SIDE:.0%} is needed; photograph it again from straight above")
        if dpi < MIN_PHOTO_DPI:
            return (f"it is too small in the photo: about {int(dpi)} pixels an inch, and at least {MIN_PHOTO_DPI} are "
                    "needed; photograph it again from closer, with the whole page in the frame")
        return None

    def page_at(self, point: tuple[float, float]) -> tuple[float, float]:
        """Where a point of the image lies on the page, in points."""
        cv2 = _cv2()
        matrix = cv2.getPerspectiveTransform(self.seen.astype(np.float32), self.known.astype(np.float32))
        x, y = cv2.perspectiveTransform(np.float32([[point]]), matrix)[0, 0]
        return float(x), float(y)

    def rectify(self, grey: np.ndarray, turned: int = 0) -> Page:
        """The page of ``grey`` as seen from straight above, prepared (its near edge keeps the photo's
        resolution; the working size is then made as for any page)."""
        cv2 = _cv2()
        scale = float(np.max(_sides(self.seen) / _sides(self.known)))  # photo pixels per point
        matrix = cv2.getPerspectiveTransform(self.seen.astype(np.float32), (self.known * scale).astype(np.float32))
        size = (int(round(self.size[0] * scale)), int(round(self.size[1] * scale)))
        warped = cv2.warpPerspective(grey, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return replace(prepare(warped), turned=turned)


def _sides(points: np.ndarray) -> np.ndarray:
    """Lengths of the top, right, bottom and left sides of four points (top-left first, clockwise)."""
    return np.linalg.norm(np.roll(points, -1, axis=0) - points, axis=1)


def _corners(points: np.ndarray) -> list[int]:
    """Which of ``points`` lie furthest top-left, top-right, bottom-right and bottom-left in the image."""
    total, diff = points.sum(axis=1), points[:, 1] - points[:, 0]
    return [int(np.argmin(total)), int(np.argmin(diff)), int(np.argmax(total)), int(np.argmax(diff))]


def _plausible(points: np.ndarray, area: float) -> bool:
    """Four distinct points making a convex shape over a quarter of ``area``."""
    cv2, shape = _cv2(), points.astype(np.float32)
    return (len({tuple(p) for p in points.round(1)}) == 4 and cv2.isContourConvex(shape)
            and cv2.contourArea(shape) >= 0.25 * area)


def corner_marks(page: Page, shape: tuple[int, ...]) -> np.ndarray | None:
    """The middles of the four filled squares a printed roster has in its corners, top-left first as
    the image shows them, in the pixels of the original image (``shape``) ``page`` was prepared
    from; None unless there are clearly four."""
    cv2 = _cv2()
    n, _, stats, centres = cv2.connectedComponentsWithStats(page.ink, connectivity=8)
    w, h, area = (stats[1:n, i].astype(np.float64) for i in (cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA))
    side = np.sqrt(area)
    square = ((side >= 0.005 * page.width) & (side <= 0.03 * page.width) & (w <= 1.6 * h) & (h <= 1.6 * w)
              & (area >= 0.6 * w * h))
    if square.sum() < 4:
        return None
    candidates, sizes = centres[1:n][square], area[square]
    picks = _corners(candidates)
    points = candidates[picks]
    if len(set(picks)) < 4 or sizes[picks].max() > 3 * sizes[picks].min() or not _plausible(points, page.ink.size):
        return None
    return points * (shape[1] / page.width, shape[0] / page.height)


def _darker_around(grey: np.ndarray, points: np.ndarray) -> bool:
    """Whether what lies just outside the four points is clearly darker than what lies just inside:
    paper on a table, not a ruled table's border on paper."""
    cv2 = _cv2()
    shape = np.zeros(grey.shape, np.uint8)
    cv2.fillConvexPoly(shape, points.round().astype(np.int32), 1)
    ring = np.ones((9, 9), np.uint8)
    outside = (cv2.dilate(shape, ring) - shape).astype(bool)
    inside = (shape - cv2.erode(shape, ring)).astype(bool)
    return float(np.median(grey[outside])) <= PAPER_CONTRAST * float(np.median(grey[inside]))


def page_outline(grey: np.ndarray) -> Perspective | None:
    """The paper's four corners where the photo shows the whole page against a darker table (the
    largest four-cornered outline among the image's edges), mapped to the nearest paper size
    (:data:`PAPER_SIZES`, upright or sideways); None unless that is clear."""
    cv2 = _cv2()
    h, w = grey.shape
    f = 800 / max(h, w)
    small = cv2.resize(grey, (max(8, round(w * f)), max(8, round(h * f))), interpolation=cv2.INTER_AREA)
    edges = cv2.dilate(cv2.Canny(cv2.GaussianBlur(small, (5, 5), 0), 30, 90), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    corners = cv2.approxPolyDP(outline, 0.02 * cv2.arcLength(outline, True), True).reshape(-1, 2)
    if len(corners) != 4:
        return None
    points = corners[_corners(corners)].astype(np.float64)
    inside = np.all((points > 2) & (points < np.array(small.shape[::-1]) - 3))  # not cut off by the frame
    if not inside or not _plausible(points, small.size) or not _darker_around(small, points):
        return None
    seen = points / f
    sides = _sides(seen)
    shape = (sides[1] + sides[3]) / (sides[0] + sides[2])  # height over width
    width, height = min(((w, h) if shape >= 1 else (h, w) for w, h in PAPER_SIZES.values()),
                        key=lambda size: abs(np.log(shape * size[0] / size[1])))
    if abs(np.log(shape * width / height)) > PAPER_FIT:
        return None
    return Perspective(seen, np.float64([[0, 0], [width, 0], [width, height], [0, height]]), (width, height))


# --- the QR mark -----------------------------------------------------------------------


@dataclass(frozen=True)
class QrFound:
    text: str
    orientation: float  # degrees the code (and so its page) is turned clockwise from upright
    centre: tuple[float, float] | None = None  # where the code's middle is, in the page's pixels

    @property
    def quarter_turns(self) -> int:
        """Quarter turns clockwise that make the code (and so its page) upright."""
        return int(round(-self.orientation / 90.0)) % 4


def find_qr(page: Page) -> QrFound | None:
    """The first QR code on the page that decodes, or None.

    zxing-cpp reads it (fast, and tells how the code is turned); OpenCV's own detector is
    the fallback where zxing-cpp is not installed."""
    try:
        import zxingcpp
    except ImportError:
        return _find_qr_opencv(page)
    for found in zxingcpp.read_barcodes(page.grey, formats=zxingcpp.BarcodeFormat.QRCode):
        if found.valid and found.text:
            at = found.position
            corners = (at.top_left, at.top_right, at.bottom_right, at.bottom_left)
            centre = (sum(c.x for c in corners) / 4, sum(c.y for c in corners) / 4)
            return QrFound(found.text, float(found.orientation), centre)
    return None


def _find_qr_opencv(page: Page) -> QrFound | None:
    cv2 = _cv2()
    try:
        text, points, _ = cv2.QRCodeDetector().detectAndDecode(page.grey)
    except cv2.error:
        return None
    if not text or points is None:
        return None
    corners = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    (x0, y0), (x1, y1) = corners[:2]
    return QrFound(text, float(np.degrees(np.arctan2(y1 - y0, x1 - x0))), tuple(corners.mean(axis=0)))


# --- the ruled table ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    x0: int
    x1: int
    y: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0


@dataclass(frozen=True)
class Grid:
    """A ruled table: column boundaries ``xs`` and row boundaries ``ys``, in page pixels."""

    xs: tuple[int, ...]
    ys: tuple[int, ...]

    @property
    def columns(self) -> int:
        return len(self.xs) - 1

    @property
    def rows(self) -> int:
        return len(self.ys) - 1

    @property
    def row_height(self) -> float:
        return float(np.median(np.diff(self.ys)))

    @property
    def top(self) -> int:
        return self.ys[0]

    @property
    def bottom(self) -> int:
        return self.ys[-1]

    @property
    def left(self) -> int:
        return self.xs[0]

    @property
    def right(self) -> int:
        return self.xs[-1]

    def cell(self, row: int, column: int) -> tuple[int, int, int, int]:
        """(x0, top, x1, bottom) of a cell; row 0 is the title row."""
        return self.xs[column], self.ys[row], self.xs[column + 1], self.ys[row + 1]


def horizontal_rules(page: Page, min_width: float) -> list[Rule]:
    """Straight horizontal lines at least ``min_width`` px long, top to bottom."""
    cv2 = _cv2()
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (max(40, page.width // 30), 1))
    mask = cv2.morphologyEx(page.rule_mask(horizontal=True), cv2.MORPH_OPEN, kernel)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    rules = []
    for x, y, w, h, area in stats[1:n]:
        if w < min_width:
            continue
        if h <= 25:
            rules.append(Rule(int(x), int(x + w), int(y + h // 2)))
        elif area >= 0.5 * w * h:  # a filled band (a shaded title row scanned dark): its edges are the rules
            rules += [Rule(int(x), int(x + w), int(y)), Rule(int(x), int(x + w), int(y + h))]
        # else a thin line running askew (a photo's perspective left uncorrected): not a straight rule
    return sorted(rules, key=lambda r: r.y)


def find_grid(page: Page) -> Grid | None:
    """The page's largest ruled table (at least 2 columns and 2 rows), or None."""
    cv2 = _cv2()
    rules = horizontal_rules(page, page.width * 0.25)
    tolerance = page.width * 0.02
    best: list[Rule] = []
    for rule in rules:
        group = [r for r in rules if abs(r.x0 - rule.x0) <= tolerance and abs(r.x1 - rule.x1) <= tolerance]
        if len(group) > len(best):
            best = group
    ys: list[int] = []
    for r in sorted(best, key=lambda r: r.y):
        if ys and r.y - ys[-1] < 12:
            continue  # the same rule seen twice (a thick or doubled line)
        ys.append(r.y)
    if len(ys) < 3:
        return None
    left = int(np.median([r.x0 for r in best]))
    right = int(np.median([r.x1 for r in best]))
    top, bottom = ys[0], ys[-1]
    height = bottom - top
    band = page.rule_mask(horizontal=False)[max(0, top - 4):bottom + 4, max(0, left - 12):min(page.width, right + 12)]
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(20, int(np.median(np.diff(ys)) * 0.6))))
    vertical = cv2.morphologyEx(band, cv2.MORPH_OPEN, kernel)
    n, _, stats, _ = cv2.connectedComponentsWithStats(vertical, connectivity=8)
    xs = [left, right]
    for x, _, w, h, _ in stats[1:n]:
        if h >= 0.6 * height and w <= 25:
            xs.append(int(max(0, left - 12) + x + w // 2))
    columns: list[int] = []
    for x in sorted(xs):
        if columns and x - columns[-1] < 15:
            continue
        columns.append(x)
    if len(columns) < 3:
        return None
    return Grid(tuple(columns), tuple(ys))
