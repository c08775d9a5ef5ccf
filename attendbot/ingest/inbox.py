"""The inbox: which files to look at, which to leave for later, and quarantine.

Files are dropped flat or in one sub-folder per day. Files that were read stay
where they were dropped (a re-run finds them again and recognises them by
SHA-256); a file that cannot be read is moved to ``quarantine/`` beside the inbox
with a ``.why.txt`` note next to it. Nothing is ever deleted.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

#: Never inbox files: notes, editor and sync droppings, partial downloads.
IGNORE = ("README*", ".*", "~$*", "*.tmp", "*.part", "*.crdownload", "*.download", "*.why.txt",
          "Thumbs.db", "desktop.ini")


def candidates(inbox: Path) -> Iterator[Path]:
    """Files in the inbox and its day sub-folders, in a stable order."""
    if not inbox.is_dir():
        return
    for entry in sorted(inbox.iterdir()):
        if any(fnmatch.fnmatch(entry.name, pattern) for pattern in IGNORE):
            continue
        if entry.is_dir():
            for sub in sorted(entry.iterdir()):
                if sub.is_file() and not sub.is_symlink() and \
                        not any(fnmatch.fnmatch(sub.name, pattern) for pattern in IGNORE):
                    yield sub
        elif entry.is_file() and not entry.is_symlink():
            yield entry


#: A file unchanged (size and modification time) for this long has stopped being written.
QUIET_SECONDS = 1.0


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def wait_until_settled(paths: list[Path], settle_seconds: float, *, clock=time.monotonic,
                       sleep=time.sleep) -> set[Path]:
    """Wait (at most ``settle_seconds``) for files modified within the last ``settle_seconds``
    to stop changing; returns those still changing after the wait (left for the next run).

    A file counts as settled once its size and modification time have not moved for
    ``QUIET_SECONDS`` (or ``settle_seconds``, when shorter): a copy that finished a moment
    ago is read now, not skipped.
    """
    if settle_seconds <= 0:
        return set()
    now = time.time()
    recent = {p: sig for p in paths if (sig := _signature(p)) and now - sig[1] / 1e9 < settle_seconds}
    quiet = min(QUIET_SECONDS, settle_seconds)
    deadline = clock() + settle_seconds
    while recent:
        sleep(min(quiet, max(0.0, deadline - clock())))
        moved = {p: sig for p in recent if (sig := _signature(p)) != recent[p]}
        if not moved or clock() >= deadline:
            return set(moved)
        recent = moved
    return set()


def quarantine_target(path: Path, inbox: Path, day: dt.date) -> Path:
    """Where an unreadable file goes: ``<inbox>/../quarantine/<day>/<name>``, never over another file."""
    folder = inbox.parent / "quarantine" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder.parent, 0o700)
    target = folder / path.name
    n = 1
    while target.exists() or target.with_name(target.name + ".why.txt").exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    return target


def quarantine(path: Path, target: Path, reason: str) -> None:
    """Move an unreadable file to ``target`` with a ``.why.txt`` note beside it."""
    note = target.with_name(target.name + ".why.txt")
    note.write_text(f"{path.name} was moved here from {path.parent} on "
                    f"{dt.datetime.now().isoformat(timespec='seconds')} because it could not be read:\n"
                    f"{reason}\n\nFix or re-export the file and drop it into the inbox again.\n",
                    encoding="utf-8")
    os.chmod(note, 0o600)
    shutil.move(str(path), target)
    os.chmod(target, 0o600)  # a move keeps the mode the file had in the inbox
