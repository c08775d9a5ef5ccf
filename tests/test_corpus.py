"""Real-world PDFs of every kind: the sign-in reader answers "not mine" or "unreadable", and never hangs."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from attendbot.errors import UnreadableFileError
from attendbot.readers.signin_pdf import SigninPdfReader
from attendbot.readers.source import SourceFile

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/real-pdfs"
TIME_LIMIT = 60.0  # seconds per file: generous, only a hang can exceed it

if not CORPUS.is_dir():
    pytest.skip(f"no PDF corpus at {CORPUS}", allow_module_level=True)

PDFS = sorted(CORPUS.glob("*.pdf"))


def _fingerprint(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_size, stat.st_mtime_ns


def _identify_in_a_thread(path: Path) -> dict:
    """Run identify in a daemon thread; the outcome dict stays empty if it did not finish in time."""
    outcome: dict = {}

    def run() -> None:
        src = SourceFile(path)
        try:
            outcome["result"] = SigninPdfReader().identify(src)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome["error"] = exc
        finally:
            src.close()

    worker = threading.Thread(target=run, name=f"identify {path.name}", daemon=True)
    worker.start()
    worker.join(TIME_LIMIT)
    return outcome


def test_the_corpus_has_pdfs():
    assert PDFS


@pytest.mark.parametrize("path", PDFS, ids=lambda p: p.name)
def test_identify_answers_false_or_unreadable_for_a_real_world_pdf_and_leaves_it_unchanged(path):
    before = _fingerprint(path)
    outcome = _identify_in_a_thread(path)
    if not outcome:
        pytest.fail(f"identify did not finish within {TIME_LIMIT:.0f} s")
    error = outcome.get("error")
    if error is not None:
        assert isinstance(error, UnreadableFileError), f"unexpected {type(error).__name__}: {error}"
        assert error.reason.strip()
    else:
        assert outcome["result"] is False
    assert _fingerprint(path) == before
