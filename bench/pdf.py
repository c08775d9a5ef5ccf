"""PDF reading on a large day: SigninPdfReader against the bare libraries. Targets, not tests.

Run:  .venv/bin/python bench/pdf.py [--pages 60] [--repeat 7] [--quick]

A large day is 60 sign-in pages (12 lines each: drawn, pasted-image and typed
signatures, some lines unsigned), written as six 10-page PDFs. Each round times, one
after the other on the same files (interleaved, so machine load hits all alike):

  plumber   bare pdfplumber: open each file, then extract_text() and find_tables()
            ("lines" strategies) on every page: the floor of the old way.
  pdfium    bare pypdfium2: open each file, then per page load it, load its text page,
            get_text_range(), and walk its objects (get_objects(), into forms): what
            PDFium itself costs to hand over a page's text and drawing.
  reader    SigninPdfReader as a run uses it: identify(), then read(), on the default
            (pdfium) backend: words, lines, tables, every signature cell's ink, problems.
  reader/plumber-backend   the same on the pdfplumber backend, for the record.

It prints each measurement's median over the rounds (and min-max), wall and CPU time of
this process (CPU time moves less when other work loads the machine), then the ratios.
Targets: reader / plumber <= 1.0 (goal <= 0.5). Exit status 1 when the target is missed.
--quick: 10 pages, 2 rounds (a smoke run; its figures are not comparable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pdfplumber
from pypdfium2.version import PDFIUM_INFO, PYPDFIUM_INFO

from bare import bare_pdfium, bare_plumber
from attendbot.readers.pdf_backend import open_pdf
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.readers.source import SourceFile
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.signin_pdf import write_signin_pdf

DAY = dt.date(2026, 11, 24)
PAGES_PER_FILE = 10
FIRST = "Ana Ben Chidi Dana Elin Femi Grace Hugo Ines Jae Kofi Lena Mateo Nia Omar Priya Quinn Rosa".split()
LAST = "Adeyemi Brennan Castillo Dubois Eriksen Fischer Garcia Hughes Ibarra Jensen Kowalski Lindqvist".split()
SIGNATURES = ("stroke", "stroke", "image", "stroke", "text", None)  # one line in six left unsigned


def large_day(folder: Path, pages: int) -> list[Path]:
    """``pages`` sign-in pages of 12 lines, in files of ``PAGES_PER_FILE`` pages."""
    sheets = [SheetDraft(f"Skills Group {p}", DAY, "9:00 AM", "12:00 PM", "Dana Whitfield", lines=[
        LineDraft(f"{FIRST[(p * 12 + i) % len(FIRST)]} {LAST[(p + i) % len(LAST)]}", SIGNATURES[i % 6],
                  "9:00", "12:00") for i in range(12)]) for p in range(pages)]
    return [write_signin_pdf(folder / f"signin-{n // PAGES_PER_FILE:02d}.pdf", sheets[n:n + PAGES_PER_FILE])
            for n in range(0, pages, PAGES_PER_FILE)]


def reader(backend: str) -> Callable[[list[Path]], object]:
    def run(files: list[Path]) -> object:
        results = []
        for path in files:
            src = SourceFile(path)
            if backend != "pdfium":  # SourceFile opens the default backend; give it the other one
                src.__dict__["pdf"] = open_pdf(src.data, src.shown, backend=backend)
            try:
                assert SigninPdfReader().identify(src)
                results.append(SigninPdfReader().read(src))
            finally:
                src.close()
        return results

    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=7, help="interleaved rounds (the median is reported)")
    ap.add_argument("--quick", action="store_true", help="10 pages, 2 rounds: a smoke run")
    args = ap.parse_args()
    pages, repeat = (10, 2) if args.quick else (args.pages, args.repeat)
    runs = {"plumber": bare_plumber, "pdfium": bare_pdfium, "reader": reader("pdfium"),
            "reader/plumber-backend": reader("pdfplumber")}
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory(prefix="attendbot-bench-pdf-") as tmp:
        files = large_day(Path(tmp), pages)
        check = reader("pdfium")(files), reader("pdfplumber")(files)  # also warms imports and caches
        assert check[0] == check[1], "the two backends read the large day differently"
        sheets = [s for r in check[0] for s in r.sheets]
        signed = sum(line.signed for s in sheets for line in s.lines)
        assert len(sheets) == pages and signed == pages * 10, (len(sheets), signed)
        for _ in range(repeat):
            for name, fn in runs.items():
                gc.collect()
                start, start_cpu = time.perf_counter(), time.process_time()
                fn(files)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    median = {name: statistics.median(t) for name, t in times.items()}
    median_cpu = {name: statistics.median(t) for name, t in cpu.items()}
    print(f"attendbot PDF bench {dt.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, {platform.processor() or platform.machine()}"
          f", Python {platform.python_version()}, pdfplumber {pdfplumber.__version__}, pypdfium2 "
          f"{PYPDFIUM_INFO} (PDFium {PDFIUM_INFO}){' (quick)' if args.quick else ''}")
    print(f"  large day: {pages} sign-in pages in {len(files)} files; {repeat} interleaved rounds")
    for name, t in times.items():
        print(f"  {name:<24} median {median[name]:7.3f} s wall ({median[name] / pages * 1000:5.1f} ms/page; "
              f"min {min(t):.3f}, max {max(t):.3f}); {median_cpu[name]:7.3f} s CPU")
    ratio = median["reader"] / median["plumber"]
    print(f"  {'ratio':<54} {'wall':>6} {'CPU':>6}")

    def show(what: str, a: str, b: str) -> None:
        print(f"  {what:<54} {median[a] / median[b]:6.2f} {median_cpu[a] / median_cpu[b]:6.2f}")

    show("reader / bare pdfplumber (target <= 1, goal <= 0.5)", "reader", "plumber")
    show("reader / bare pypdfium2", "reader", "pdfium")
    show("bare pypdfium2 / bare pdfplumber", "pdfium", "plumber")
    show("reader on the pdfplumber backend / bare pdfplumber", "reader/plumber-backend", "plumber")
    show("reader on the pdfplumber backend / reader", "reader/plumber-backend", "reader")
    print(f"  target {'met' if ratio <= 1.0 else 'MISSED'}, goal {'met' if ratio <= 0.5 else 'missed'} (wall)")
    return 0 if ratio <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
