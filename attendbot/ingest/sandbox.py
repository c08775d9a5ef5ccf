"""Every inbox file gets a time and a size budget; one bad file never hangs or kills a run.

attendbot runs unattended on whatever other systems and people drop into the
inbox. Two kinds of limits protect a run from a hostile or pathological file:

* **Size budgets, checked before parsing** (:class:`~attendbot.readers.source.SourceFile`
  applies them and raises :class:`~attendbot.errors.UnreadableFileError` with a reason
  and what to do): a file larger than :data:`~attendbot.readers.limits.MAX_FILE_BYTES`; a CSV or worksheet
  with more than :data:`MAX_ROWS` rows; an XLSX whose ZIP members would unpack to
  more than :data:`MAX_UNZIPPED_BYTES`, or one of whose members is compressed more
  than :data:`MAX_ZIP_RATIO` times (a zip bomb). PDFs are capped at
  :data:`attendbot.readers.pdf_backend.MAX_PAGES` pages.
* **A time and memory budget per file**: identifying and reading one file runs in a
  forked child process (:func:`read_file`) with a wall-clock limit of
  :data:`FILE_SECONDS` and an address-space limit of :data:`FILE_MEMORY_BYTES` (on top
  of what the process already uses when it forks). A child over time is killed
  (SIGKILL); a child out of memory reports it; a child that dies (the kernel's
  out-of-memory killer, a crash in a parsing library) is noticed. In each case the
  file is reported unreadable with the reason, and the run goes on with the next.

Several files are read at once (:class:`Pool`): one forked child per file, at most
:func:`workers` of them alive (one per core unless ``ATTENDBOT_WORKERS`` says
otherwise), each with the budgets above as its own: its time counts from the moment
its child starts, and a child killed, crashed or over its budget costs only its own
file. A child per file rather than long-lived workers keeps those budgets exact and
leaves nothing of one file's reading behind for the next; forking costs about
15–20 ms of CPU per file (``bench/RESULTS.md``). With N workers the run may hold N
times ``FILE_MEMORY_BYTES`` at worst.

The limits are module constants, read when they are used, so a deployment or a
test can change them (``monkeypatch.setattr(sandbox, "FILE_SECONDS", 2)``).

The child is forked, so it inherits the readers (and the configuration's extra
column names in them) and needs no arguments but the path: the file's bytes
never cross a process boundary, only the small outcome does. Fork is POSIX-only;
where it does not exist (Windows) the file is read in the run's own process, with
the size budgets but without the time and memory budget.
"""

from __future__ import annotations

import dataclasses
import errno
import gc
import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from multiprocessing import connection
from multiprocessing.connection import Connection

from attendbot.errors import AmbiguousFileError, UnreadableFileError
from attendbot.model import ReadResult
from attendbot.readers import Reader, identify, limits, ocr, why_ignored
from attendbot.readers.source import SourceFile
from attendbot.readers.vet import vetted
from attendbot.secrets import clean

log = logging.getLogger("attendbot")

FILE_SECONDS = limits.FILE_SECONDS  # wall-clock time to identify and read one file
FILE_MEMORY_BYTES = 2 * 1024**3  # address space one file may add to the process
_EXIT_GRACE_SECONDS = 5.0  # a child that has sent its outcome gets this long to exit
WORKERS_VARIABLE = "ATTENDBOT_WORKERS"  # processes a run keeps busy at once (default: one per core)
MAX_WORKERS = 64  # each reader may take FILE_MEMORY_BYTES: many more at once would only thrash


@dataclass(frozen=True)
class Outcome:
    """What reading one file gave, small enough to cross from the child to the run.

    ``status`` is ``read`` (``kind``, ``reader`` and ``result`` are set), ``ignored``
    (no reader claimed the file; ``reason`` says why), ``unreadable`` (``reason``; the
    file is to be quarantined) or ``retry`` (the file could not be opened or changed
    while it was read: left in the inbox, not recorded, tried again by the next run).
    ``sha256`` is of the bytes the child read, when it got that far.
    """

    status: str
    kind: str = "unknown"
    reason: str = ""
    reader: str | None = None
    result: ReadResult | None = None
    sha256: str | None = None


def read_file(path: Path, shown: str, readers: Sequence[Reader]) -> Outcome:
    """Identify and read one file within the time and memory budget. Never raises for the
    file's content; raises OSError only when no process can be started (retry later)."""
    with Pool(readers, size=1) as pool:
        return pool.outcome(pool.submit(path, shown))


def workers() -> int:
    """How many processes a run keeps busy at once (inbox files read at once): :data:`WORKERS_VARIABLE`
    when it is set to a whole number from 1 to :data:`MAX_WORKERS`, else one per core this process
    may run on (its CPU affinity, so ``taskset`` is respected)."""
    value = os.environ.get(WORKERS_VARIABLE, "").strip()
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_WORKERS:
        return int(value)
    if value and value not in _said:
        _said.add(value)  # once, not at every run of a back-fill
        log.warning("%s=%r is not a whole number from 1 to %d: one process per core is used",
                    WORKERS_VARIABLE, value[:20], MAX_WORKERS)
    return _cores()


_said: set[str] = set()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Reading:
    """One file handed to a :class:`Pool`: waiting for a free slot, being read by its child, or done."""

    def __init__(self, path: Path, shown: str):
        self.path, self.shown = path, shown
        self.child: multiprocessing.process.BaseProcess | None = None
        self.receive: Connection | None = None
        self.deadline = 0.0  # time.monotonic() by which its child must have answered
        self.outcome: Outcome | None = None
        self.error: OSError | None = None  # no process could be started to read it

    @property
    def done(self) -> bool:
        return self.outcome is not None or self.error is not None


class Pool:
    """Reads files in forked children, at most ``size`` at once (default :func:`workers`).

    :meth:`submit` hands a file over and returns at once; :meth:`outcome` waits for that file,
    starting waiting files as slots free and stopping any child that overruns meanwhile. Each
    child is the one :func:`read_file` forks: its own wall-clock limit from the moment it starts
    (a file waiting for a slot spends none of it), its own address-space limit, and a child that
    is killed, crashes or runs out of memory costs only its own file. Leaving the ``with`` block
    kills every child still reading. Where there is no fork, :meth:`submit` reads the file
    in-process at once, with the size budgets only.
    """

    def __init__(self, readers: Sequence[Reader], size: int | None = None):
        self.readers = tuple(readers)
        self.size = max(1, size if size is not None else workers())
        try:
            self._ctx = multiprocessing.get_context("fork")
        except ValueError:  # no fork on this platform
            self._ctx = None
        # Scans read side by side share the cores rather than each starting a thread per core
        # (onnxruntime's threads spin while they wait); ATTENDBOT_OCR_THREADS, when set, wins.
        self._ocr_threads = max(1, _cores() // self.size) if self.size > 1 else None
        self._waiting: deque[Reading] = deque()
        self._reading: dict[Connection, Reading] = {}
        if self._ctx is not None:
            _preload()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def submit(self, path: Path, shown: str) -> Reading:
        """Queue ``path`` to be read; its child starts as soon as a slot is free."""
        reading = Reading(path, shown)
        if self._ctx is None:
            try:
                reading.outcome = _identify_and_read(path, shown, self.readers)
            except MemoryError:
                reading.outcome = _out_of_memory(limited=False)
            return reading
        self._waiting.append(reading)
        self._step(wait=False)
        return reading

    def outcome(self, reading: Reading) -> Outcome:
        """Wait for one submitted file's outcome. Raises OSError only when no process could be
        started to read it (retry later)."""
        while not reading.done:
            self._step(wait=True)
        if reading.error is not None:
            raise reading.error
        assert reading.outcome is not None
        return reading.outcome

    def close(self) -> None:
        """Kill every child still reading (an interrupted run never leaves a reader behind). A file
        not read by then is 'retry' (:meth:`outcome` raises OSError), never unreadable."""
        stopped = [*self._waiting, *self._reading.values()]
        self._waiting.clear()
        self._reading.clear()
        for reading in stopped:
            if reading.child is not None:
                self._end(reading, None)
            reading.error = OSError(errno.ECANCELED, "the run stopped before it was read")

    def _step(self, wait: bool) -> None:
        """Start what fits; take every answer there is (waiting for one, or for the first
        deadline, when ``wait``); kill the children past their deadline; start what fits again."""
        self._start()
        if not self._reading:
            return
        timeout = max(0.0, min(r.deadline for r in self._reading.values()) - time.monotonic()) if wait else 0.0
        for receive in connection.wait(list(self._reading), timeout):
            self._answered(self._reading.pop(receive))
        now = time.monotonic()
        for receive, reading in list(self._reading.items()):
            if reading.deadline <= now:  # it has not answered (an answer was taken just above)
                del self._reading[receive]
                self._end(reading, Outcome("unreadable", reason=f"reading took longer than "
                                                                f"{_seconds(FILE_SECONDS)} (a pathological file?)"))
        self._start()

    def _start(self) -> None:
        while self._waiting and len(self._reading) < self.size:
            reading = self._waiting.popleft()
            receive, send = self._ctx.Pipe(duplex=False)
            # Not a daemon: a run that is itself a daemonic process may still read files. close()
            # makes sure no child outlives the pool.
            child = self._ctx.Process(target=_child, args=(send, reading.path, reading.shown, self.readers,
                                                           os.getpid(), self._ocr_threads),
                                      name=f"attendbot-read-{reading.path.name}"[:60])
            try:
                start_child(child)
            except OSError as exc:
                receive.close()
                reading.error = OSError(exc.errno, f"no process could be started to read it: {exc.strerror or exc}")
                continue
            finally:
                send.close()  # the child has its own copy; EOF here means the child is gone
            reading.child, reading.receive = child, receive
            reading.deadline = time.monotonic() + FILE_SECONDS
            self._reading[receive] = reading

    def _answered(self, reading: Reading) -> None:
        """Its pipe is readable: the child's outcome, or EOF because the child died without one."""
        try:
            outcome = reading.receive.recv()
        except (EOFError, OSError):
            outcome = None  # the child died before it could answer
        reading.child.join(_EXIT_GRACE_SECONDS)
        if outcome is None:
            _kill(reading.child)
            outcome = Outcome("unreadable", reason=_death(reading.child.exitcode))
        self._end(reading, outcome)

    @staticmethod
    def _end(reading: Reading, outcome: Outcome | None) -> None:
        _kill(reading.child)  # over time, dead, or not gone within the grace after answering
        reading.receive.close()
        reading.child.close()
        reading.outcome = outcome


def start_child(child: multiprocessing.process.BaseProcess) -> None:
    """Start a forked child with the run's objects frozen out of the garbage collector: the
    child's collections then never walk (and so never copy) the memory it shares with the run.
    Measured on a back-fill's workbook writers: a sixth less CPU, a third fewer page faults."""
    gc.freeze()
    try:
        child.start()
    finally:
        gc.unfreeze()


_preloaded = False


def _preload() -> None:
    """Import the parsing libraries once in the run, so each forked child has them already
    (otherwise every file would pay for importing pdfplumber or openpyxl again)."""
    global _preloaded
    if _preloaded:
        return
    _preloaded = True
    for name in ("openpyxl", "ctypes", "attendbot.readers.pdf_backend"):
        try:
            __import__(name)
        except ImportError:  # a reader that needs it reports that itself, in its child
            pass


def _kill(child: multiprocessing.process.BaseProcess) -> None:
    if child.is_alive():
        child.kill()
    child.join()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"killed by signal {-exitcode}"
    else:
        how = f"exit status {exitcode}"
    return (f"the process reading it died ({how}): out of memory, or a crash in a parsing library "
            "(a pathological file?)")


def _child(conn: Connection, path: Path, shown: str, readers: Sequence[Reader], run_pid: int,
           ocr_threads: int | None) -> None:
    """In the forked child: set the limits, read, send back one small outcome."""
    # A Ctrl-C or a service stop is the run's to handle: the run kills its reader (see
    # read_file), so a good file is never reported unreadable because the run was stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_run(run_pid)
    _set_limits()
    if ocr_threads:
        os.environ.setdefault(ocr.THREADS_VARIABLE, str(ocr_threads))
    outcome: Outcome | None = None
    out_of_memory = False
    try:
        outcome = _identify_and_read(path, shown, readers)
    except MemoryError:
        out_of_memory = True  # allocate nothing here: what the reader held is freed leaving this block
    if out_of_memory:
        outcome = _out_of_memory()
    try:
        conn.send(outcome)
    except MemoryError:
        outcome = None
        conn.send(_out_of_memory())
    except Exception as exc:  # an unpicklable result: a reader bug, reported like one
        conn.send(Outcome("unreadable", outcome.kind, f"unexpected {type(exc).__name__} while reading: "
                                                      f"{str(exc)[:200]}"))
    conn.close()


def _out_of_memory(limited: bool = True) -> Outcome:
    need = f"more than {_bytes(FILE_MEMORY_BYTES)} of" if limited else "more"
    return Outcome("unreadable", reason=f"reading it needed {need} memory (a pathological file?)")


def _die_with_run(run_pid: int) -> None:
    """A run killed outright (SIGKILL) takes its reader with it (Linux): the child shares the
    run's open files, the run's lock among them, and must not hold it on after the run."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != run_pid:  # the run was gone before that took effect
        os._exit(1)


def _set_limits() -> None:
    """In the child: at most FILE_MEMORY_BYTES more address space; a CPU-time backstop that
    ends the child should the run itself be gone (the run kills it at FILE_SECONDS); no core
    file in the working folder from a parsing library that crashes."""
    try:
        import resource
    except ImportError:  # not POSIX
        return
    for limit, value in ((resource.RLIMIT_AS, _address_space_in_use() + int(FILE_MEMORY_BYTES)),
                         (resource.RLIMIT_CPU, int(FILE_SECONDS) * 2 + 10),
                         (resource.RLIMIT_CORE, 0)):
        try:
            _, hard = resource.getrlimit(limit)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(limit, (value, hard))
        except (ValueError, OSError):  # a platform without this limit: the others still hold
            log.debug("could not set resource limit %s", limit, exc_info=True)


def _address_space_in_use() -> int:
    """The process's virtual size now (Linux); 0 where it cannot be told."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _identify_and_read(path: Path, shown: str, readers: Sequence[Reader]) -> Outcome:
    """What ``Ingest`` did in-process before: identify, then read; every failure becomes data.
    A MemoryError is left to the caller (the child reports it after freeing what it held).
    The reason is cleaned of secrets and control characters; what was read is vetted
    (:func:`attendbot.readers.vet.vetted`)."""
    outcome = _outcome(path, shown, readers)
    reason = clean(outcome.reason)
    return outcome if reason == outcome.reason else dataclasses.replace(outcome, reason=reason)


def _outcome(path: Path, shown: str, readers: Sequence[Reader]) -> Outcome:
    src = SourceFile(path, shown)
    reader = None
    try:
        try:
            sha256 = hashlib.sha256(src.data).hexdigest()
        except OSError as exc:
            return Outcome("retry", reason=f"could not be opened ({exc.strerror or exc}); will retry")
        except UnreadableFileError as exc:  # too big to be read at all
            return Outcome("unreadable", reason=exc.reason)
        try:
            reader = identify(src, readers)
            if reader is None:
                return Outcome("ignored", reason=why_ignored(src), sha256=sha256)
            result = vetted(reader.read(src))
        except AmbiguousFileError as exc:
            return Outcome("unreadable", reason=f"it looks like more than one kind of file ({exc}); "
                                                "it was not guessed", sha256=sha256)
        except UnreadableFileError as exc:
            return Outcome("unreadable", reader.kind if reader else "unknown", exc.reason, sha256=sha256)
        except MemoryError:
            raise
        except RecursionError:
            return Outcome("unreadable", reader.kind if reader else "unknown",
                           "nested too deeply to be read (a damaged or pathological file?)", sha256=sha256)
        except Exception as exc:  # one bad file never stops the run
            log.debug("unexpected error reading %s", shown, exc_info=True)
            return Outcome("unreadable", reader.kind if reader else "unknown",
                           f"unexpected {type(exc).__name__} while reading: {str(exc)[:200]}", sha256=sha256)
        return Outcome("read", reader.kind, reader=reader.name, result=result, sha256=sha256)
    finally:
        src.close()


def _seconds(n: float) -> str:
    return f"{n:g} s"


def _bytes(n: float) -> str:
    """``2 GiB``, ``300 MiB``: a budget as people read it."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"
