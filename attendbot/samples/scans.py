"""Synthetic scans: a PDF sign-in page as it comes back from an office scanner or a phone.

A page is rendered at a scanner's resolution, laid on the scanner's grey
background with the paper's own tint, turned a little (or upside down), blurred,
given sensor noise and dust, and saved as an image-only PDF, a PNG or a JPEG
(:func:`scan`). A phone photo (:func:`photograph`) is the page seen at an angle —
a trapezoid, not a rectangle — on a darker table, lit unevenly, at a lower
resolution. Everything is seeded: the same arguments give the same pixels. Used by
the tests and the benchmark; nothing here is read by a run.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image


@dataclass(frozen=True)
class ScanStyle:
    dpi: int = 200
    angle: float = 0.0  # degrees, counter-clockwise; 180 for a page fed upside down
    blur: float = 0.8  # Gaussian sigma, in pixels at that dpi
    noise: float = 8.0  # sensor noise (standard deviation, grey levels)
    dust: int = 300  # dark specks over the page
    background: int = 170  # the scanner lid's grey around the page
    paper: float = 0.93  # the paper's brightness (1.0: pure white)
    margin: float = 0.03  # share of the page's size of background showing on each side
    seed: int = 0


@dataclass(frozen=True)
class PhotoStyle:
    """A phone photo of a page lying on a table.

    ``corners`` says how far each corner of the page is pulled in towards the page's middle,
    as shares of the page's width and height (top-left, top-right, bottom-right, bottom-left as
    the photo shows them): unequal pulls are a phone held off-centre and tilted. The defaults are
    a photo taken by hand a little from below and to the right, the far (top) edge 8 % shorter than
    the near one.
    """

    dpi: int = 130  # the page's resolution in the photo, along its near edge
    corners: tuple[tuple[float, float], ...] = ((0.05, 0.02), (0.04, 0.045), (0.0, 0.01), (0.01, 0.0))
    quarter_turns: int = 0  # the page lies turned this many quarter turns clockwise (2: upside down)
    background: int = 80  # the table's grey
    paper: float = 0.95
    margin: float = 0.07  # share of the page's size of table showing on each side
    light: float = 0.35  # the dimmest corner is this much darker than the brightest
    blur: float = 0.9
    noise: float = 5.0
    seed: int = 0


def render_page(pdf: Path | bytes, number: int = 1, dpi: int = 200) -> Image.Image:
    """Page ``number`` (1-based) of a PDF as a grey image at ``dpi``."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        page = doc[number - 1]
        image = page.render(scale=dpi / 72).to_pil().convert("L")
        page.close()
        return image
    finally:
        doc.close()


def scan(image: Image.Image, style: ScanStyle = ScanStyle()) -> Image.Image:
    """``image`` (a clean page) as a scanner would return it."""
    import cv2

    rng = np.random.default_rng(style.seed)
    page = np.asarray(image.convert("L"), dtype=np.float32) * style.paper
    h, w = page.shape
    my, mx = int(h * style.margin), int(w * style.margin)
    canvas = np.full((h + 2 * my, w + 2 * mx), float(style.background), np.float32)
    canvas[my:my + h, mx:mx + w] = page
    ch, cw = canvas.shape
    if style.angle:
        matrix = cv2.getRotationMatrix2D((cw / 2, ch / 2), style.angle, 1.0)
        canvas = cv2.warpAffine(canvas, matrix, (cw, ch), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=float(style.background))
    canvas = _sensor(canvas, style.blur, style.noise, rng)
    for _ in range(style.dust):
        y, x = int(rng.integers(0, ch - 2)), int(rng.integers(0, cw - 2))
        size = int(rng.integers(1, 3))
        canvas[y:y + size, x:x + size] = float(rng.integers(20, 90))
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8), "L")


def photograph(image: Image.Image, style: PhotoStyle = PhotoStyle()) -> Image.Image:
    """``image`` (a clean page, rendered at ``style.dpi``) as a phone photo of it: in perspective, on a
    table, lit from one side, a little blurred and noisy."""
    import cv2

    rng = np.random.default_rng(style.seed)
    page = np.ascontiguousarray(np.rot90(np.asarray(image.convert("L"), dtype=np.float32) * style.paper,
                                         -style.quarter_turns))
    h, w = page.shape
    my, mx = int(h * style.margin), int(w * style.margin)
    pulls = ((1, 1), (-1, 1), (-1, -1), (1, -1))  # towards the middle, from each corner
    source = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    target = np.float32([[mx + x + sx * dx * w, my + y + sy * dy * h]
                         for (x, y), (sx, sy), (dx, dy) in zip(source, pulls, style.corners)])
    size = (w + 2 * mx, h + 2 * my)
    canvas = cv2.warpPerspective(page, cv2.getPerspectiveTransform(source, target), size, flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=float(style.background))
    yy, xx = np.mgrid[0:size[1], 0:size[0]].astype(np.float32)
    canvas *= 1.0 - style.light * (0.6 * xx / size[0] + 0.4 * yy / size[1])  # the window is top-left
    return Image.fromarray(np.clip(_sensor(canvas, style.blur, style.noise, rng), 0, 255).astype(np.uint8), "L")


def _sensor(canvas: np.ndarray, blur: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    """The camera's or scanner's blur and sensor noise over ``canvas`` (float grey levels)."""
    import cv2

    if blur > 0:
        canvas = cv2.GaussianBlur(canvas, (0, 0), blur)
    if noise > 0:
        canvas = canvas + rng.normal(0.0, noise, canvas.shape).astype(np.float32)
    return canvas


def image_only_pdf(images: list[Image.Image], path: Path, dpi: int = 200) -> Path:
    """A PDF whose pages are only these images (no text layer), each at its scanned size."""
    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))  # the same images, the same bytes
    for image in images:
        w, h = image.width * 72 / dpi, image.height * 72 / dpi
        pdf.add_page(format=(w, h))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        buffer.seek(0)
        pdf.image(buffer, 0, 0, w, h)
    pdf.output(str(path))
    return Path(path)


def save_image(image: Image.Image, path: Path, dpi: int = 200) -> Path:
    """As PNG, JPEG or TIFF by the file's suffix (JPEG at a phone's quality)."""
    path = Path(path)
    kind = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}[path.suffix.lower()]
    options = {"quality": 80} if kind == "JPEG" else {"compress_level": 1} if kind == "PNG" else {}
    image.save(path, format=kind, dpi=(dpi, dpi), **options)
    return path
