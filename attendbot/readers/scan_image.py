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
3. **skew** — the angle (within :data:`MAX_SKEW` degrees) at which the rows of ink
   line up best (the sharpest horizontal projection), found coarse then fine, and
   undone;
4. **grid** — long horizontal and vertical rules (morphological opening with long
   thin kernels); the largest set of horizontal rules sharing left and right ends is
   the table, the vertical rules crossing most of its height are its columns.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from attendbot.errors import UnreadableFileError

WORK_WIDTH = 1700  # px across a page once prepared
INK_LEVEL = 0.62  # a pixel at most this share of the local paper brightness is ink
RULE_LEVEL = 0.80  # ... is part of a ruled line: lenient, since a thin rule blurred by a 150-dpi scan is faint
RULE_GAP = 9  # px: gaps this short in a ruled line (noise, a faint stretch) are bridged
MAX_SKEW = 4.0  # degrees searched either way
BLANK_INK = 0.0015  # share of a page's pixels: less ink than this is a blank page
MIN_BLOB = 12  # px: ink specks smaller than this (dust, noise) are not ink
MAX_PIXELS = 80_000_000  # an image larger than this is refused unread (a 600-dpi Letter page is 34 Mpx)
MAX_PAGES = 60  # pages of one scanned file

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

    def ink_in(self, x0: float, top: float, x1: float, bottom: float) -> tuple[float, tuple[int, int, int, int] | None]:
        """The share of the area that is ink (specks under MIN_BLOB px left out), and the ink's
        bounding box in page pixels (None when there is none)."""
        cv2 = _cv2()
        x0, x1 = max(0, int(round(x0))), min(self.width, int(round(x1)))
        top, bottom = max(0, int(round(top))), min(self.height, int(round(bottom)))
        if x1 - x0 < 2 or bottom - top < 2:
            return 0.0, None
        area = self.ink[top:bottom, x0:x1]
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


# --- the QR mark -----------------------------------------------------------------------


@dataclass(frozen=True)
class QrFound:
    text: str
    orientation: float  # degrees the code (and so its page) is turned clockwise from upright

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
            return QrFound(found.text, float(found.orientation))
    return None


def _find_qr_opencv(page: Page) -> QrFound | None:
    cv2 = _cv2()
    try:
        text, points, _ = cv2.QRCodeDetector().detectAndDecode(page.grey)
    except cv2.error:
        return None
    if not text or points is None:
        return None
    (x0, y0), (x1, y1) = np.asarray(points, dtype=np.float64).reshape(-1, 2)[:2]
    return QrFound(text, float(np.degrees(np.arctan2(y1 - y0, x1 - x0))))


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
    for x, y, w, h, _ in stats[1:n]:
        if w < min_width:
            continue
        if h <= 25:
            rules.append(Rule(int(x), int(x + w), int(y + h // 2)))
        else:  # a filled band (a shaded title row scanned dark): its edges are the rules
            rules += [Rule(int(x), int(x + w), int(y)), Rule(int(x), int(x + w), int(y + h))]
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
