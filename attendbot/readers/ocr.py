"""The OCR engine behind scanned sign-in sheets, behind one small interface.

The engine is RapidOCR (PaddleOCR's PP-OCR text detection and recognition models,
converted to ONNX and run by onnxruntime). It is chosen because it installs from
PyPI with its models *inside the wheel* — the README's two set-up commands are all
a fresh machine needs, with no system package (Tesseract) and nothing downloaded
at run time. The models are always loaded from the installed package by explicit
path, so RapidOCR's own downloader (which fetches models and character lists it
cannot find) is never reached; the tests check that recognition works with the
network cut off.

Nothing here raises for the content of an image. A missing engine (the package
or onnxruntime not installed, its models not in the package) raises
:class:`OcrUnavailable` with a reason a person can act on; the scan reader turns
that into an unreadable file, never a crash.

The engine is created on first use in the process that reads (the forked child of
:mod:`attendbot.ingest.sandbox`). onnxruntime's thread pools do not survive a fork, so an
engine a process holds is dropped before it forks (see :func:`_drop_engine`).
"""

from __future__ import annotations

import gc
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Threads onnxruntime may use (default: one per core). Its threads spin while they wait, so on a
# machine other work keeps busy, 1 reads a page about twice as fast as 2 (measured: bench/RESULTS.md).
THREADS_VARIABLE = "ATTENDBOT_OCR_THREADS"
BATCH = 16  # crops recognised in one network call at most
BATCH_SPREAD = 1.3  # ... whose width (for their height) differs at most this much
DET_LIMIT_SIDE = 960  # px: the detector sees a region at most this long (text stays ~17 px high)
_INSTALL = "install attendbot's dependencies again (pip install -e .), which include rapidocr and onnxruntime"

_engine: Any = None
_engine_pid: int | None = None


def _drop_engine() -> None:
    """Before this process forks: an onnxruntime session's threads do not exist in the child,
    and a child that starts its own engine beside the copied one hangs. Dropping the engine
    (its sessions join their threads as they are freed) leaves the child a clean slate; this
    process makes a new one if it reads again. Only tests and a run without fork read in the
    run's own process, so this costs a run nothing."""
    global _engine, _engine_pid
    if _engine is not None:
        _engine, _engine_pid = None, None
        gc.collect()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_drop_engine)


class OcrUnavailable(Exception):
    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class TextBox:
    """A line of text the engine found: what it says, how sure it is (0-1), where (pixels)."""

    text: str
    score: float
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top


def _model(folder: Path, task: str) -> Path:
    found = sorted(folder.glob(f"*{task}*.onnx"))
    if not found:
        raise OcrUnavailable(f"the OCR engine's {task} model is not in its package ({folder}): {_INSTALL}")
    return found[0]


def engine() -> Any:
    """The process's RapidOCR engine, created on first use. Raises OcrUnavailable."""
    global _engine, _engine_pid
    if _engine is not None and _engine_pid == os.getpid():
        return _engine
    try:
        import onnxruntime
        import rapidocr
        del onnxruntime  # imported only so a missing one is named here: RapidOCR imports it lazily
    except ImportError as exc:
        raise OcrUnavailable(f"the OCR engine is not installed (no module {exc.name!r}): {_INSTALL}") from None
    models = Path(rapidocr.__file__).parent / "models"
    params = {
        "Global.log_level": "error",
        "Global.use_cls": False,  # pages are turned upright before any text is read
        "Det.model_path": str(_model(models, "det")),
        "Rec.model_path": str(_model(models, "rec")),
        "Cls.model_path": str(_model(models, "cls")),
        # RapidOCR's default scales a region's *short* side up to 736 px: a wide header strip
        # became a huge image. Limit the long side instead.
        "Det.limit_type": "max",
        "Det.limit_side_len": DET_LIMIT_SIDE,
        "Rec.rec_batch_num": BATCH,
        # The recogniser pads every crop to at least this width (RapidOCR's default, 320 px, made a
        # short time cost as much as a long name); crops are batched by width instead (_batches).
        "Rec.rec_img_shape": [3, 48, 48],
        "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,  # ~10% faster; well inside the memory budget
    }
    threads = os.environ.get(THREADS_VARIABLE, "").strip()
    if threads.isdigit() and int(threads) > 0:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    try:
        _engine = rapidocr.RapidOCR(params=params)
    except Exception as exc:  # noqa: BLE001 - a broken install, reported as such
        raise OcrUnavailable(f"the OCR engine could not start ({type(exc).__name__}: {str(exc)[:160]}): "
                             f"{_INSTALL}") from exc
    _engine_pid = os.getpid()
    return _engine


def _rgb(image: Any) -> Any:
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image


def read_text(image: Any) -> list[TextBox]:
    """Find and read every line of text in a (grey) image region, top to bottom."""
    out = engine()(_rgb(image), use_det=True, use_cls=False, use_rec=False)
    boxes = getattr(out, "boxes", None)
    if boxes is None:
        return []
    places, crops = [], []
    h, w = image.shape[:2]
    for quad in boxes:
        xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
        x0, top, x1, bottom = max(0.0, min(xs)), max(0.0, min(ys)), min(float(w), max(xs)), min(float(h), max(ys))
        pad = 0.15 * (bottom - top)
        crop = image[int(max(0, top - pad)):int(min(h, bottom + pad)), int(max(0, x0 - pad)):int(min(w, x1 + pad))]
        if crop.size:
            places.append((x0, top, x1, bottom))
            crops.append(crop)
    found = [TextBox(text, score, *place) for place, (text, score) in zip(places, recognize_many(crops)) if text]
    return sorted(found, key=lambda b: (b.top, b.x0))


def recognize(image: Any) -> tuple[str, float]:
    """Read one line of text that fills a (grey) crop: its text and the engine's confidence."""
    return recognize_many([image])[0]


def _batches(images: list[Any]) -> list[list[int]]:
    """Indices of ``images`` in batches of similar shape: every crop in a batch is padded to the
    widest one's width (for its height), so a short time beside a long title would cost as much."""
    ratio = {i: image.shape[1] / max(1, image.shape[0]) for i, image in enumerate(images)}
    batches: list[list[int]] = []
    for i in sorted(ratio, key=ratio.get):
        if batches and len(batches[-1]) < BATCH and ratio[i] <= BATCH_SPREAD * ratio[batches[-1][0]]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


def recognize_many(images: list[Any]) -> list[tuple[str, float]]:
    """:func:`recognize` for many crops at once, in order.

    The recogniser runs them in batches of similar widths (one network call per batch, which
    is what makes a page of names cheap). Where RapidOCR's recogniser cannot be reached (its
    internals moved), each crop is read on its own through the public call."""
    if not images:
        return []
    eng = engine()
    recognizer = None
    try:
        from rapidocr.ch_ppocr_rec import TextRecInput

        recognizer = eng._load_rec_model()
    except (ImportError, AttributeError):
        pass
    if recognizer is not None:
        results: list[tuple[str, float]] = [("", 0.0)] * len(images)
        for batch in _batches(images):
            out = recognizer(TextRecInput(img=[_rgb(images[i]) for i in batch]))
            for i, text, score in zip(batch, out.txts, out.scores):
                results[i] = (str(text).strip(), float(score))
        return results
    results = []
    for image in images:
        out = eng(_rgb(image), use_det=False, use_cls=False, use_rec=True)
        txts = getattr(out, "txts", None)
        results.append((str(txts[0]).strip(), float(out.scores[0])) if txts else ("", 0.0))
    return results


def lines(boxes: list[TextBox]) -> list[list[TextBox]]:
    """Boxes grouped into lines of text (left to right), top to bottom."""
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: b.middle):
        if rows:
            first = rows[-1][0]
            if abs(box.middle - first.middle) <= 0.6 * max(first.height, box.height, 1.0):
                rows[-1].append(box)
                continue
        rows.append([box])
    return [sorted(row, key=lambda b: b.x0) for row in rows]
