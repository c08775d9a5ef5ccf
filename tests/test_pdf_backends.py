"""Both PDF backends read every PDF the suite builds, and the real-world corpus, the same way.

pdfplumber is the reference; the pdfium backend (the default) reimplements its layout
rules over PDFium's parse (``readers/pdf_pdfium.py``, ``readers/pdf_layout.py``). For each
PDF both backends open it, and this compares what the sign-in reader is built on —
whether the file opens (and why not), and page by page its text, words, ruled tables
(rows, cell boxes, cell text), the ink decision for every table cell and for boxes
straddling the cells' borders, the horizontal rules, the searches the reader makes,
image coverage — and what ``SigninPdfReader`` makes of it: ``identify()`` and ``read()``.

Positions are compared to 0.01 pt: PDFium hands coordinates over as float32, pdfminer
as doubles. Everything else must be equal. The PDFs are built by this test the way the
suite builds them (``attendbot.samples``), in every variant the suite uses, plus a few
only PDFium could get wrong (annotation signatures, a turned page, a shifted MediaBox).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_raw
import pytest

from attendbot.demo import write_program
from attendbot.errors import UnreadableFileError
from attendbot.readers.pdf_backend import BACKENDS, MAX_PAGES, Box, PageUnreadableError, PageView, PdfDocument, open_pdf
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.readers.signin_scan import SigninScanReader
from attendbot.readers.source import SourceFile
from attendbot.samples.drafts import LineDraft, SheetDraft
from attendbot.samples.signin_pdf import HeaderStyle, PdfCanvas, draw_sheet, new_pdf, write_signin_pdf

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real-pdfs"
DAY = dt.date(2026, 11, 24)
TOLERANCE = 0.01  # points
# Real-world fonts: where a font's metrics differ between the libraries (a descriptor with no
# descent: pdfminer takes 0, PDFium the font file's), characters sit up to ~3.6 pt apart.
CORPUS_TEXT_TOLERANCE = 4.0
CORPUS_PAGES = 3  # corpus files are compared on the pages identify() reads (pdfminer takes ~0.5 s for a dense one)
DETAIL_PAGES = 2  # ... tables, searches and ink probes on the first two of those
CORPUS_PROBES = 40  # corpus pages: ink probes spread over the tables (the reference rescans the page for each)
FACILITATOR_SIGNATURE = r"facilitator'?s?\s+signature\s*:?"  # the searches SigninPdfReader makes
SEARCHES = (FACILITATOR_SIGNATURE, r"_{3,}")

# Corpus files whose text the two libraries decode differently: what is left is compared
# (tables' shape and ink, text layer, coverage, and what the reader decides).
KNOWN_TEXT_DIFFERENCES = {
    "WARN-Report-for-7-1-2015-to-03-25-2016.pdf": "runs of trailing spaces (which pdfplumber splits words at) "
                                                   "PDFium trims to one",
    "chelsea_pdta.pdf": "overprinted duplicate characters pdfminer keeps and PDFium drops; trailing spaces",
    "issue-71-duplicate-chars.pdf": "duplicate (fake-bold) characters pdfminer keeps and PDFium drops",
    "issue-71-duplicate-chars-2.pdf": "duplicate (fake-bold) characters pdfminer keeps and PDFium drops",
    "issue-336-example.pdf": "CJK text: the libraries space CJK and Latin runs differently",
    "issue-842-example.pdf": "CJK text PDFium cannot map to Unicode",
    "pr-136-example.pdf": "CJK text PDFium cannot map to Unicode",
    "issue-848.pdf": "mirrored text, laid out as columns by x0, where a missing space changes the clustering",
}


# --- the PDFs the suite builds ---------------------------------------------------------


def draft(**changes) -> SheetDraft:
    """test_signin_pdf's sheet: a drawn, a pasted-image and a typed signature, one line unsigned."""
    values = dict(group="Relapse Prevention", date=DAY, facilitator="Dana Whitfield", lines=[
        LineDraft("Avery Quinlan", "stroke", "9:02 AM", "12:00 PM"),
        LineDraft("Jordan Pell", "image", "9:05 AM", "11:45 AM"),
        LineDraft("Casey Marrow", "text", "9:00 AM", "12:00 PM"),
        LineDraft("Riley Stone", None),
    ])
    return SheetDraft(**{**values, **changes})


def morning_sheet() -> SheetDraft:
    """test_pipeline's sheet."""
    return SheetDraft("Morning Process Group", DAY, "9:00 AM", "12:00 PM", "Dana Whitfield",
                      lines=[LineDraft("Ana Silva", "stroke", "9:00", "12:00"), LineDraft("Ben Okoro", "stroke", "9:00", "12:00")])


def large_day_sheets(pages: int) -> list[SheetDraft]:
    """bench/pdf.py's pages: 12 lines, signed every way, one line in six unsigned."""
    kinds = ("stroke", "stroke", "image", "stroke", "text", None)
    return [SheetDraft(f"Skills Group {p}", DAY, "9:00 AM", "12:00 PM", "Dana Whitfield",
                       lines=[LineDraft(f"Patient {p}-{i}", kinds[i % 6], "9:00", "12:00") for i in range(12)])
            for p in range(pages)]


def _pages(path: Path, *pages: tuple[str, object]) -> Path:
    """A PDF of hand-made pages: ("sheet", draft) or ("text", words)."""
    pdf = new_pdf()
    for kind, what in pages:
        pdf.add_page()
        if kind == "sheet":
            draw_sheet(PdfCanvas(pdf), what)
        else:
            pdf.set_font("Helvetica", size=12)
            pdf.text(72, 100, what)
    pdf.output(str(path))
    return path


def _annotated(path: Path) -> Path:
    """Signatures a signing app leaves: an Ink annotation in line 1's signature cell, a
    FreeText one on the facilitator's line (the drawing itself has neither)."""
    pdf = new_pdf()
    pdf.add_page()
    draw_sheet(PdfCanvas(pdf), draft(lines=[LineDraft("Avery Quinlan", None, "9:00", "12:00"),
                                            LineDraft("Jordan Pell", None, "9:00", "12:00")],
                                     facilitator_signature=None))
    # draw_sheet's layout: the facilitator's signature space is x 184-404, above y 392.
    pdf.free_text_annotation("D. Whitfield", x=200, y=372, w=120, h=18)
    source = path.with_suffix(".src.pdf")
    pdf.output(str(source))

    def ink(page: pypdfium2.PdfPage) -> None:
        # fpdf2 gets an Ink annotation's Rect wrong, so PDFium adds this one: a scribble in
        # line 1's signature cell (x 250-410, y 200-226 from the top; 566-592 in PDF space).
        annot = pdfium_raw.FPDFPage_CreateAnnot(page.raw, pdfium_raw.FPDF_ANNOT_INK)
        pdfium_raw.FPDFAnnot_SetRect(annot, pdfium_raw.FS_RECTF(262, 586, 350, 572))
        points = (pdfium_raw.FS_POINTF * 4)(*(pdfium_raw.FS_POINTF(x, y) for x, y in
                                              ((262, 574), (290, 584), (320, 573), (350, 585))))
        pdfium_raw.FPDFAnnot_AddInkStroke(annot, points, 4)
        pdfium_raw.FPDFPage_CloseAnnot(annot)

    return _edited(path, source, ink)


def _edited(path: Path, source: Path, edit) -> Path:
    """``source`` with each page changed by ``edit(page)`` and saved again by PDFium."""
    pdf = pypdfium2.PdfDocument(source)
    try:
        for page in pdf:
            edit(page)
        buffer = io.BytesIO()
        pdf.save(buffer)
    finally:
        pdf.close()
    path.write_bytes(buffer.getvalue())
    return path


def _encrypted(path: Path) -> Path:
    pdf = new_pdf()
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    pdf.add_page()
    draw_sheet(PdfCanvas(pdf), draft())
    pdf.output(str(path))
    return path


def _long(path: Path, pages: int) -> Path:
    """test_hostile_inputs' long PDF, shorter: a sheet, then pages of a few words."""
    pdf = new_pdf()
    pdf.add_page()
    draw_sheet(PdfCanvas(pdf), morning_sheet())
    pdf.set_font("Helvetica", "", 8)
    for number in range(2, pages + 1):
        pdf.add_page()
        pdf.text(72, 72, f"page {number}")
    pdf.output(str(path))
    return path


def _demo_pdfs(folder: Path) -> list[Path]:
    write_program(folder)
    return sorted(folder.rglob("*.pdf"))


BUILT = {
    "signatures of every kind": lambda p: write_signin_pdf(p, [draft()]),
    "empty signature cells": lambda p: write_signin_pdf(p, [draft(lines=[LineDraft(f"Patient {c}", None) for c in "ABC"])]),
    "facilitator signatures": lambda p: write_signin_pdf(p, [draft(facilitator_signature=k)
                                                           for k in ("stroke", "image", "text", None, "no-field")]),
    "separate start and end times": lambda p: write_signin_pdf(p, [draft(separate_times=True, start="1:00 PM",
                                                                         end="4:00 PM")]),
    "group name label, spelled-out date": lambda p: write_signin_pdf(
        p, [draft()], HeaderStyle(group_label="Group Name:", date_format="%B %d, %Y")),
    "wrapped group name": lambda p: write_signin_pdf(p, [draft(
        group="Dialectical Behavior Therapy Skills Group for Adults - Morning Track B")]),
    "unreadable time": lambda p: write_signin_pdf(p, [draft(lines=[LineDraft("Avery Quinlan", "stroke", "late",
                                                                               "12:00 PM")])]),
    "several sessions": lambda p: write_signin_pdf(p, [
        draft(), draft(group="Coping Skills", start="1:00 PM", end="3:00 PM"),
        draft(group="Family Systems", date=DAY + dt.timedelta(days=1))]),
    "a scanned page among sheets": lambda p: write_signin_pdf(p, [draft(), draft(group="Coping Skills", scanned=True),
                                                                   draft(group="Family Systems")]),
    "scans only": lambda p: write_signin_pdf(p, [draft(scanned=True), draft(scanned=True)]),
    "instructions page first": lambda p: _pages(p, ("text", "How to fill in the sign-in sheet: print your name, "
                                                            "then sign."), ("sheet", draft())),
    "a sheet without a group name": lambda p: write_signin_pdf(p, [draft(group=""), draft(group="Coping Skills")]),
    "a newsletter": lambda p: _pages(p, ("text", "Quarterly newsletter. Date: 11/24/2026. Name the new garden!")),
    "the pipeline's sheet": lambda p: write_signin_pdf(p, [morning_sheet()]),
    "the bench's large day": lambda p: write_signin_pdf(p, large_day_sheets(3)),
    "annotation signatures": _annotated,
    "a page turned a quarter": lambda p: _edited(p, write_signin_pdf(p.with_suffix(".src.pdf"), [draft()]),
                                                 lambda page: page.set_rotation(90)),
    "a MediaBox off the origin": lambda p: _edited(p, write_signin_pdf(p.with_suffix(".src.pdf"), [draft()]),
                                                   lambda page: page.set_mediabox(-20, 30, 592, 822)),
    "encrypted": _encrypted,
    "truncated": lambda p: _truncated(p),
    "empty file": lambda p: _empty(p),
    "more pages than the cap": lambda p: _long(p, 201),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("backends")
    pdfs = {name: make(folder / f"{n:02d}.pdf") for n, (name, make) in enumerate(BUILT.items())}
    for path in _demo_pdfs(folder / "demo"):
        pdfs[f"demo: {path.name}"] = path
    return pdfs


# --- reading a PDF both ways -------------------------------------------------------------


class _Source(SourceFile):
    """A SourceFile whose PDF comes from the given backend (and has the given page cap)."""

    def __init__(self, path: Path, backend: str, max_pages: int = MAX_PAGES):
        super().__init__(path, shown="inbox/sheet.pdf")
        self.backend, self.max_pages = backend, max_pages

    @cached_property
    def pdf(self) -> PdfDocument:
        return open_pdf(self.data, self.shown, max_pages=self.max_pages, backend=self.backend)


def _outcome(fn):
    """What a call gave: ("ok", value) or ("unreadable", reason)."""
    try:
        return "ok", fn()
    except UnreadableFileError as exc:
        return "unreadable", exc.reason


@dataclass
class Reading:
    """One backend's view of one PDF, computed on demand."""

    path: Path
    backend: str
    max_pages: int = MAX_PAGES

    @cached_property
    def source(self) -> _Source:
        return _Source(self.path, self.backend, self.max_pages)

    @cached_property
    def document(self) -> tuple[str, object]:
        return _outcome(lambda: self.source.pdf)

    def identify(self) -> tuple[str, object]:
        return _outcome(lambda: SigninPdfReader().identify(self.source))

    def read(self) -> tuple[str, object]:
        return _outcome(lambda: SigninPdfReader().read(self.source))

    def scan_read(self) -> tuple[str, object]:
        """What the scan reader makes of it: ("ignored", None) when it does not claim it."""
        def read():
            if not SigninScanReader().identify(self.source):
                return None
            return SigninScanReader().read(self.source)
        outcome = _outcome(read)
        return ("ignored", None) if outcome == ("ok", None) else outcome

    def close(self) -> None:
        self.source.close()


def _near(a: Box | None, b: Box | None, tolerance: float = TOLERANCE) -> bool:
    if a is None or b is None:
        return a is b
    return all(abs(p - q) <= tolerance for p, q in zip((a.x0, a.top, a.x1, a.bottom), (b.x0, b.top, b.x1, b.bottom)))


def _boxes_near(a: list[Box], b: list[Box], tolerance: float = TOLERANCE) -> bool:
    return len(a) == len(b) and all(_near(p, q, tolerance) for p, q in zip(a, b))


def _placed_alike(a: list[Box], b: list[Box], tolerance: float) -> bool:
    """Words start at the same place and sit on the same line: left, top and bottom within
    ``tolerance``. Their right ends are not compared: pdfminer reads glyph widths from the
    PDF's width table, PDFium from the font program, and real-world fonts disagree."""
    return len(a) == len(b) and all(abs(p.x0 - q.x0) <= tolerance and abs(p.top - q.top) <= tolerance
                                    and abs(p.bottom - q.bottom) <= tolerance for p, q in zip(a, b))


def _probes(page: PageView, shifted: bool, at_most: int | None = None) -> list[Box]:
    """Boxes to ask about ink: every table cell, and with ``shifted`` each moved by half its
    size too (so it straddles the cell's borders and cuts through its neighbours' writing);
    ``at_most`` of them, spread evenly, if given."""
    probes = []
    for table in page.tables:
        for row in table.rows:
            for cell in row:
                if cell.box is None:
                    continue
                b, w, h = cell.box, cell.box.width / 2, cell.box.height / 2
                probes.append(b)
                if shifted:
                    probes += [Box(b.x0 + w, b.top, b.x1 + w, b.bottom), Box(b.x0, b.top + h, b.x1, b.bottom + h),
                               Box(b.x0 + w, b.top + h, b.x1 + w, b.bottom + h)]
    if at_most is None or len(probes) <= at_most:
        return probes
    return [probes[i * len(probes) // at_most] for i in range(at_most)]


def _page_outcome(page: PageView, attribute: str):
    return _outcome(lambda: getattr(page, attribute))


def compare_pages(reference: PdfDocument, candidate: PdfDocument, pages: int, text: bool, detail_pages: int,
                  text_tolerance: float = TOLERANCE) -> None:
    """Every checked aspect of the first ``pages`` pages agrees (tables, searches and ink on the
    first ``detail_pages``); text and words too unless ``text`` is False, word and search boxes
    within ``text_tolerance``."""
    built = text_tolerance == TOLERANCE  # a PDF built here, in the standard fonts: exact places
    same_place = _boxes_near if built else lambda p, q: _placed_alike(p, q, text_tolerance)
    for number in range(1, pages + 1):
        a, b = reference.page(number), candidate.page(number)
        where = f"page {number}"
        kind_a, parsed_a = _page_outcome(a, "has_text_layer")
        kind_b, parsed_b = _page_outcome(b, "has_text_layer")
        assert kind_a == kind_b, f"{where}: {parsed_a} / {parsed_b}"
        if kind_a == "unreadable":
            continue
        assert parsed_a == parsed_b, f"{where}: text layer"
        assert _near(a.box, b.box), f"{where}: page box {a.box} / {b.box}"
        assert abs(a.image_coverage - b.image_coverage) < 1e-6, f"{where}: image coverage"
        if text:
            assert a.text == b.text, f"{where}: text"
            assert [w.text for w in a.words] == [w.text for w in b.words], f"{where}: words"
            assert same_place([w.box for w in a.words], [w.box for w in b.words]), f"{where}: word boxes"
        if number > detail_pages:
            continue
        if text:
            for pattern in SEARCHES:
                assert same_place(a.search(pattern), b.search(pattern)), f"{where}: search {pattern!r}"
        assert _boxes_near(a.horizontal_rules(), b.horizontal_rules()), f"{where}: horizontal rules"
        tables_a, tables_b = a.tables, b.tables
        assert len(tables_a) == len(tables_b), f"{where}: {len(tables_a)} / {len(tables_b)} tables"
        for t, (ta, tb) in enumerate(zip(tables_a, tables_b), start=1):
            assert _near(ta.box, tb.box), f"{where} table {t}: box {ta.box} / {tb.box}"
            assert [len(r) for r in ta.rows] == [len(r) for r in tb.rows], f"{where} table {t}: shape"
            for r, (ra, rb) in enumerate(zip(ta.rows, tb.rows), start=1):
                assert all(_near(ca.box, cb.box) for ca, cb in zip(ra, rb)), f"{where} table {t} row {r}: cells"
                if text:
                    assert [c.text for c in ra] == [c.text for c in rb], f"{where} table {t} row {r}: text"
        # A box whose border runs through a line of writing: real-world font metrics move
        # characters' middles by a fraction of a point, enough to flip it; so only built PDFs.
        probes = _probes(a, shifted=built, at_most=None if built else CORPUS_PROBES)
        assert [a.ink_in(box) for box in probes] == [b.ink_in(box) for box in probes], f"{where}: ink decisions"


def compare(path: Path, known_text_difference: bool = False, detail_pages: int | None = None,
            text_tolerance: float = TOLERANCE, max_pages: int = MAX_PAGES) -> None:
    """Both backends read ``path`` alike: opening it, its pages, identify() and read().

    A file one library opens and the other cannot must still give nothing through both:
    pdfminer finds no page in one corpus file where PDFium finds a blank one, which the
    sign-in reader leaves to the scan reader (it has no text layer), which finds no sheet.
    """
    readings = {backend: Reading(path, backend, max_pages) for backend in BACKENDS}
    reference, candidate = readings["pdfplumber"], readings["pdfium"]
    try:
        (opened_a, doc_a), (opened_b, doc_b) = reference.document, candidate.document
        identified_a, identified_b = reference.identify(), candidate.identify()
        if opened_a == opened_b == "ok":
            assert (doc_a.page_count, doc_a.truncated) == (doc_b.page_count, doc_b.truncated)
            pages = min(doc_a.page_count, doc_a.max_pages)
            compare_pages(doc_a, doc_b, pages, not known_text_difference,
                          pages if detail_pages is None else detail_pages, text_tolerance)
            assert identified_a == identified_b, "SigninPdfReader.identify()"
            assert reference.read() == candidate.read(), "SigninPdfReader.read()"
        elif opened_a == opened_b == "unreadable":
            assert _kind_of(doc_a) == _kind_of(doc_b), "why the file cannot be opened"
            assert (identified_a[0], _kind_of(identified_a[1])) == (identified_b[0], _kind_of(identified_b[1]))
        else:
            for identified, reading in ((identified_a, reference), (identified_b, candidate)):
                if identified[0] != "unreadable":
                    assert identified == ("ok", False), (identified_a, identified_b)
                    assert reading.scan_read()[0] in ("unreadable", "ignored"), reading.scan_read()
    finally:
        for reading in readings.values():
            reading.close()


def _kind_of(reason: object) -> object:
    """The part of a reason both libraries can give: "damaged PDF", not what pdfminer or
    PDFium said about the damage in the brackets after it."""
    return reason.split(" (")[0] if isinstance(reason, str) else reason


def _truncated(path: Path) -> Path:
    data = write_signin_pdf(path.with_suffix(".src.pdf"), [draft()]).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("name", list(BUILT) + ["demo: Scan_0042.pdf", "demo: signin_morning_family.pdf"])
def test_both_backends_read_a_built_pdf_alike(built, name):
    compare(built[name])


def test_the_built_pdfs_exercise_what_they_are_built_for(built):
    """The comparisons above are worth something only if the PDFs reach every branch."""
    def read(name):
        src = _Source(built[name], "pdfium")
        try:
            return SigninPdfReader().read(src)
        finally:
            src.close()

    [sheet] = read("annotation signatures").sheets
    assert [line.signed for line in sheet.lines] == [True, False] and sheet.facilitator_signed is True
    [sheet] = read("signatures of every kind").sheets
    assert [line.signed for line in sheet.lines] == [True, True, True, False]
    assert [s.facilitator_signed for s in read("facilitator signatures").sheets] == [True, True, True, False, None]
    assert read("a page turned a quarter").problems  # sideways, it no longer reads as a sheet
    assert len(read("a MediaBox off the origin").sheets) == 1
    long = read("more pages than the cap")
    assert len(long.sheets) == 1 and "only the first 200 were read" in long.problems[-1].message
    with pytest.raises(UnreadableFileError, match="encrypted"):
        _Source(built["encrypted"], "pdfium").pdf
    with pytest.raises(UnreadableFileError, match="damaged PDF"):
        _Source(built["truncated"], "pdfium").pdf


# --- the real-world corpus ---------------------------------------------------------------

CORPUS_PDFS = sorted(CORPUS.glob("*.pdf")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no PDF corpus at {CORPUS} (a checkout without ../shared)")
@pytest.mark.parametrize("path", CORPUS_PDFS, ids=lambda p: p.name)
def test_both_backends_read_a_real_world_pdf_alike(path):
    compare(path, known_text_difference=path.name in KNOWN_TEXT_DIFFERENCES, detail_pages=DETAIL_PAGES,
            text_tolerance=CORPUS_TEXT_TOLERANCE, max_pages=CORPUS_PAGES)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no PDF corpus at {CORPUS} (a checkout without ../shared)")
@pytest.mark.parametrize("path", CORPUS_PDFS, ids=lambda p: p.name)
def test_the_pdfium_backend_reads_every_page_of_a_real_world_pdf(path):
    """Beyond the pages compared: every page, every accessor, nothing raised but the contract's."""
    try:
        doc = open_pdf(path.read_bytes(), path.name)
    except UnreadableFileError as exc:
        assert exc.reason.startswith(("empty file", "encrypted", "damaged PDF")), exc.reason
        return
    try:
        for page in doc.pages():
            try:
                page.text, page.words, page.has_text_layer, page.image_coverage, page.horizontal_rules()
                page.search(FACILITATOR_SIGNATURE)
                for box in _probes(page, shifted=False):
                    page.ink_in(box)
            except PageUnreadableError as exc:
                assert exc.page == page.number and exc.reason
    finally:
        doc.close()


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no PDF corpus at {CORPUS} (a checkout without ../shared)")
def test_every_known_text_difference_is_a_corpus_file():
    assert set(KNOWN_TEXT_DIFFERENCES) <= {p.name for p in CORPUS_PDFS}


def test_an_unknown_backend_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown PDF backend"):
        open_pdf(b"%PDF-1.4", "x.pdf", backend="mupdf")


def test_text_search_is_case_insensitive_and_skips_white_space_only_matches(built):
    doc = open_pdf(built["signatures of every kind"].read_bytes(), "x.pdf")
    try:
        page = doc.page(1)
        assert page.search("RELAPSE") and not page.search(r"\s+")
        assert re.search(FACILITATOR_SIGNATURE, page.text, re.IGNORECASE)
    finally:
        doc.close()
