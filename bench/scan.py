"""attendbot scan benchmark: seconds per scanned sign-in page (target <= 2 s/page on 2 cores).

Run:  .venv/bin/python bench/scan.py [--pages N] [--record]

Makes N pages of each kind, scanned the way the tests scan them (200 dpi, turned 2 degrees, blur,
noise, dust, grey background), as one image-only PDF per kind, and reads each with
SigninScanReader in this process after the OCR engine has been loaded once:

  roster   printed attendbot rosters (12 scheduled patients, 9 signed): read by their QR mark,
           OCR only for the printed names (recognition only, no text detection)
  ocr      the project's digital sheet layout (12 lines, 9 signed, typed times): header found and
           read by OCR (detection + recognition), column titles, names and times recognised
  photo    the same sheet as phone photos instead (attendbot.samples.scans.photograph: in
           perspective on a darker table, uneven light, about 130 px an inch, a different
           photo per page): the paper's outline found and the page warped back, then read as ocr

It also reports the engine's start-up (loading the two ONNX models: paid once per file, since each
file is read in its own forked process) and one whole file read the way a run reads it
(attendbot.ingest.sandbox.read_file: fork, limits, start-up included). Exit status 1 when a per-page
target is missed. --record appends the figures to bench/RESULTS.md. CPU seconds are of all this
process's threads (onnxruntime runs on every core): on a machine other work is loading, they tell
more than the wall clock does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attendbot.ingest import sandbox  # noqa: E402
from attendbot.outputs.rosters import Roster, build_rosters_pdf  # noqa: E402
from attendbot.readers import all_readers, ocr  # noqa: E402
from attendbot.readers.signin_scan import SigninScanReader  # noqa: E402
from attendbot.readers.source import SourceFile  # noqa: E402
from attendbot.samples.drafts import LineDraft, SheetDraft  # noqa: E402
from attendbot.samples.scans import PhotoStyle, ScanStyle, image_only_pdf, photograph, render_page, scan  # noqa: E402
from attendbot.samples.signin_pdf import PdfCanvas, _scribble, write_signin_pdf  # noqa: E402

TARGET = 2.0  # seconds per page
DAY = dt.date(2026, 11, 24)
NAMES = [f"{last}, {first}" for first, last in zip(
    "Ana Ben Chidi Dana Elin Femi Grace Hugo Ines Jae Kofi Lena".split(),
    "Adeyemi Brennan Castillo Dubois Eriksen Fischer Garcia Hughes Ibarra Jensen Kowalski Lindqvist".split())]
HERE = Path(__file__).resolve().parent


def roster_pdf(folder: Path) -> Path:
    pdf, [page] = build_rosters_pdf([Roster("Morning Process Group", DAY, dt.time(9), dt.time(12),
                                            "Dana Whitfield", tuple(NAMES))], "Riverbend Recovery IOP")
    canvas = PdfCanvas(pdf)
    for row in range(1, 10):
        canvas.curve(_scribble(f"row {row}", page.rows[row]["signature"]))
    canvas.curve(_scribble("facilitator", page.facilitator_signature))
    path = folder / "roster.pdf"
    pdf.output(str(path))
    return path


def digital_pdf(folder: Path) -> Path:
    lines = [LineDraft(name.split(", ")[1] + " " + name.split(", ")[0], "stroke" if i < 9 else None,
                       "9:0{} AM".format(i % 10), "12:00 PM") for i, name in enumerate(NAMES)]
    return write_signin_pdf(folder / "sheet.pdf", [SheetDraft("Morning Process Group", DAY, "9:00 AM", "12:00 PM",
                                                              "Dana Whitfield", lines=lines)])


def scanned(source: Path, out: Path, pages: int) -> Path:
    images = [scan(render_page(source, 1, 200), ScanStyle(dpi=200, angle=2.0, blur=1.0, noise=10, seed=n))
              for n in range(pages)]
    return image_only_pdf(images, out, 200)


def photographed(source: Path, out: Path, pages: int) -> Path:
    style = PhotoStyle()
    images = [photograph(render_page(source, 1, style.dpi), PhotoStyle(seed=n)) for n in range(pages)]
    return image_only_pdf(images, out, style.dpi)


def read_seconds(path: Path) -> tuple[float, float, int]:
    """Wall-clock and CPU seconds (this process, all its threads) to read a file, and its sheets."""
    src = SourceFile(path, path.name)
    start, cpu = time.perf_counter(), time.process_time()
    result = SigninScanReader().read(src)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    src.close()
    return elapsed, cpu, len(result.sheets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5, help="pages of each kind (default 5)")
    parser.add_argument("--record", action="store_true", help="append the figures to bench/RESULTS.md")
    args = parser.parse_args()
    lines, missed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sheet = digital_pdf(folder)
        files = {"roster": scanned(roster_pdf(folder), folder / "roster-scan.pdf", args.pages),
                 "ocr": scanned(sheet, folder / "ocr-scan.pdf", args.pages),
                 "photo": photographed(sheet, folder / "ocr-photo.pdf", args.pages)}
        start = time.perf_counter()
        ocr.engine()
        ocr.recognize(__import__("numpy").full((48, 200), 255, "uint8"))
        ocr.read_text(__import__("numpy").full((200, 600), 255, "uint8"))
        startup = time.perf_counter() - start
        lines.append(f"engine start-up (both models) {startup:.2f} s")
        for kind, path in files.items():
            elapsed, cpu, sheets = read_seconds(path)
            per_page = elapsed / args.pages
            ok = per_page <= TARGET and sheets == args.pages
            missed |= not ok
            lines.append(f"{kind:6} {per_page:.2f} s/page wall, {cpu / args.pages:.2f} s/page CPU "
                         f"({args.pages} pages, {sheets} sheets read)  target <= {TARGET:g} s/page  "
                         f"{'ok' if ok else 'MISSED'}")
        ocr._drop_engine()
        start = time.perf_counter()
        outcome = sandbox.read_file(files["ocr"], "ocr-scan.pdf", all_readers())
        whole = time.perf_counter() - start
        lines.append(f"whole file as a run reads it (fork, limits, engine start-up, {args.pages} ocr pages): "
                     f"{whole:.2f} s, {outcome.status}")
    load = os.getloadavg()
    lines.append(f"load average while measuring: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print("\n".join(lines))
    if args.record:
        with (HERE / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write(f"\n## bench/scan.py, {dt.date.today().isoformat()}\n\n" + "\n".join(f"- {ln}" for ln in lines) + "\n")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
