"""The inbox: which files to look at, which to leave for later, and quarantine.

Files are dropped flat or in one sub-folder per day. Files that were read stay
where they were dropped (a re-run finds them again and recognises them by
SHA-256); a file that cannot be read is moved to ``quarantine/`` beside the inbox
with a ``.why.txt`` note next to it. Nothing is ever deleted.

The inbox is read safely (SPEC "Inputs"): only regular files inside it are read.
A symbolic link (to a file or a folder), a named pipe, a socket, a device, a folder
that cannot be listed or one nested deeper than a day folder is never opened,
followed, moved or deleted: :func:`scan` lists it with its reason and the run
reports it ``ignored``. The quarantine never writes through a symbolic link: its
folders are opened without following links, a note is created only where nothing
exists yet (``O_CREAT | O_EXCL | O_NOFOLLOW``) or rewritten where a run was killed
before moving its file (a regular file ending with that file's ledger key, opened
``O_NOFOLLOW``), and the file is renamed into the folder it opened.
"""

from __future__ import annotations

import datetime as dt
import errno
import fnmatch
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from attendbot.secrets import one_line

#: Never inbox files: notes, editor and sync droppings, partial downloads.
IGNORE = ("README*", ".*", "~$*", "*.tmp", "*.part", "*.crdownload", "*.download", "*.why.txt",
          "Thumbs.db", "desktop.ini")

QUARANTINE = "quarantine"  # the folder beside the inbox unreadable files are moved to
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_SAFE_FD = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd and os.mkdir in os.supports_dir_fd


@dataclass(frozen=True)
class Entry:
    """One inbox entry: a regular file to read (``reason`` None), or why it is not read; ``stat``
    is what ``lstat`` said of it when the inbox was listed (None when it could not be looked at)."""

    path: Path
    reason: str | None = None
    stat: os.stat_result | None = None


LINK = "a symbolic link: links are never followed — copy the file itself into the inbox"
NESTED = "a folder inside a day folder: only the inbox and its day folders are read"


_IGNORED = re.compile("|".join(fnmatch.translate(pattern) for pattern in IGNORE))


def _ignored_name(name: str) -> bool:
    return _IGNORED.match(os.path.normcase(name)) is not None


def _kind(mode: int) -> str | None:
    """Why an entry of this (lstat) mode is not read; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return LINK
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file: it is never opened"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file: it is never opened"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file: it is never opened"
    if stat.S_ISDIR(mode):
        return NESTED
    return "not a regular file: it is never opened"


def scan(inbox: Path) -> Iterator[Entry]:
    """Every entry of the inbox and its day sub-folders, in a stable order, never following a link.

    Regular files come with ``reason`` None; everything else with the reason it is not read.
    Names matching :data:`IGNORE` (notes, sync droppings, quarantine notes) are skipped unlisted.
    """
    try:
        top = sorted(os.scandir(inbox), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        yield Entry(inbox, f"the inbox folder cannot be read ({exc.strerror or exc})")
        return
    for entry in top:
        if _ignored_name(entry.name):
            continue
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:  # gone between listing and looking: the next run sees what is there
            yield Entry(path, f"could not be looked at ({exc.strerror or exc})")
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield Entry(path, _kind(st.st_mode), st)
            continue
        try:
            subs = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            yield Entry(path, f"a folder that cannot be read ({exc.strerror or exc}): its files were not read")
            continue
        for sub in subs:
            if _ignored_name(sub.name):
                continue
            try:
                sub_st = sub.stat(follow_symlinks=False)
            except OSError as exc:
                yield Entry(Path(sub.path), f"could not be looked at ({exc.strerror or exc})")
                continue
            yield Entry(Path(sub.path), _kind(sub_st.st_mode), sub_st)


def candidates(inbox: Path) -> Iterator[Path]:
    """The regular files in the inbox and its day sub-folders, in a stable order."""
    for entry in scan(inbox):
        if entry.reason is None:
            yield entry.path


def listing(inbox: Path) -> tuple[list[tuple], float]:
    """What the filesystem says of every inbox entry, without opening one: each entry's name, why
    it is not read (or None), size, modification and change times, inode and mode; and the newest
    modification time among them (0 for an empty inbox). A file written, replaced, renamed,
    touched or given new permissions changes its line."""
    lines, newest = [], 0.0
    for entry in scan(inbox):
        st = entry.stat
        if st is None:
            lines.append((entry.path.as_posix(), entry.reason))
            continue
        lines.append((entry.path.as_posix(), entry.reason, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                      st.st_ino, st.st_mode))
        newest = max(newest, st.st_mtime)
    return lines, newest


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


def quarantine_folder(inbox: Path, day: dt.date) -> Path:
    """``<inbox>/../quarantine/<day>``: where a run for ``day`` moves unreadable files."""
    return inbox.parent / QUARANTINE / day.isoformat()


class Slot:
    """A place reserved in the quarantine for one file: its note is written, the file not moved yet.

    Reserving first lets the run record the file in the ledger before it moves it (a kill in
    between leaves the file in the inbox, quarantined again by the next run).
    """

    def __init__(self, folder: Path, dir_fd: int | None, name: str):
        self.folder, self.dir_fd, self.name = folder, dir_fd, name

    @property
    def target(self) -> Path:
        return self.folder / self.name

    def move(self, path: Path) -> None:
        """Rename ``path`` into the reserved place (never over anything) and make it owner-only."""
        try:
            if self.dir_fd is not None:
                if _exists(self.name, self.dir_fd):
                    raise FileExistsError(errno.EEXIST, "something appeared where the file was to go",
                                          str(self.target))
                os.rename(path, self.name, dst_dir_fd=self.dir_fd)
                _chmod_regular(self.name, self.dir_fd)
            else:  # no dir_fd on this platform: checked by name, never over anything
                if os.path.lexists(self.target):
                    raise FileExistsError(errno.EEXIST, "something appeared where the file was to go",
                                          str(self.target))
                os.rename(path, self.target)
                _chmod_regular(str(self.target), None)
        finally:
            self.close()

    def close(self) -> None:
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None


def reserve(path: Path, inbox: Path, day: dt.date, reason: str, key: str) -> Slot:
    """Open ``quarantine/<day>/`` without following links, pick a free name for ``path`` (never
    over another file, a note or a planted link) and write its ``.why.txt`` note there.

    ``key`` is the file's ledger key (its SHA-256), the note's last line. A note of the same key
    with no file beside it is a quarantine a kill cut short (after the note, before the move):
    its name is taken again, so the file lands where the first run meant it to.

    Raises:
        OSError: the quarantine folder is a symbolic link or not a folder, or cannot be
            created or written; nothing was moved.
    """
    folder = quarantine_folder(inbox, day)
    dir_fd = _open_folders(folder) if _SAFE_FD else None
    try:
        if dir_fd is None:
            _check_folders(folder)
        text, n = _note(path, reason, key), 0
        while True:
            name = path.name if n == 0 else f"{path.stem}.{n}{path.suffix}"
            n += 1
            if _exists(name, dir_fd, folder):
                continue
            note = name + ".why.txt"
            try:
                if not _exists(note, dir_fd, folder):
                    _write_note(note, dir_fd, folder, text)
                elif _read_note(note, dir_fd, folder).endswith(_key_line(key)):  # this file's, cut short
                    _write_note(note, dir_fd, folder, text, again=True)
                else:
                    continue
            except (FileExistsError, _NotANote):  # taken meanwhile, or a link planted: the next name
                continue
            return Slot(folder, dir_fd, name)
    except BaseException:
        if dir_fd is not None:
            os.close(dir_fd)
        raise


def _note(path: Path, reason: str, key: str) -> str:
    return (f"{one_line(path.name, '?')} was moved here from {one_line(path.parent, '?')} on "
            f"{dt.datetime.now().isoformat(timespec='seconds')} because it could not be read:\n"
            f"{one_line(reason)}\n\nFix or re-export the file and drop it into the inbox again.\n"
            f"{_key_line(key)}")


def _key_line(key: str) -> str:
    return f"\nLedger key: {key}\n"


def _open_folders(folder: Path) -> int:
    """An fd of ``folder`` (``quarantine/<day>``), each of its last two components opened without
    following a link and created owner-only when missing. The program folder above is the
    administrator's and is taken as it is."""
    parent_fd = os.open(folder.parent.parent, os.O_RDONLY | _DIRECTORY)
    try:
        quarantine_fd = _open_child(parent_fd, folder.parent)
    finally:
        os.close(parent_fd)
    try:
        os.fchmod(quarantine_fd, 0o700)
        return _open_child(quarantine_fd, folder)
    finally:
        os.close(quarantine_fd)


def _open_child(parent_fd: int, path: Path) -> int:
    try:
        os.mkdir(path.name, 0o700, dir_fd=parent_fd)
    except FileExistsError:
        pass
    try:
        return os.open(path.name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise OSError(exc.errno, "is a symbolic link or not a folder; nothing is written through it",
                          str(path)) from None
        raise


def _check_folders(folder: Path) -> None:
    for part in (folder.parent, folder):
        if part.is_symlink() or (part.exists() and not part.is_dir()):
            raise OSError(errno.ELOOP, "is a symbolic link or not a folder; nothing is written through it", str(part))
        part.mkdir(mode=0o700, exist_ok=True)


def _exists(name: str, dir_fd: int | None, folder: Path | None = None) -> bool:
    """Anything at all under that name, a dangling link included."""
    try:
        if dir_fd is not None:
            os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        else:
            os.lstat(folder / name)
    except FileNotFoundError:
        return False
    return True


class _NotANote(OSError):
    """What stands under a note's name is not a regular file (a link, a pipe): never touched."""


def _write_note(name: str, dir_fd: int | None, folder: Path, text: str, again: bool = False) -> None:
    """Create the note where nothing exists yet, or (``again``) rewrite a note of our own."""
    flags = os.O_WRONLY | _NOFOLLOW | (os.O_TRUNC | _NONBLOCK if again else os.O_CREAT | os.O_EXCL)
    with os.fdopen(_open_note(name, dir_fd, folder, flags), "w", encoding="utf-8") as f:
        f.write(text)


def _read_note(name: str, dir_fd: int | None, folder: Path) -> str:
    with os.fdopen(_open_note(name, dir_fd, folder, os.O_RDONLY | _NOFOLLOW | _NONBLOCK), "rb") as f:
        return f.read(64 * 1024).decode("utf-8", "replace")


def _open_note(name: str, dir_fd: int | None, folder: Path, flags: int) -> int:
    try:
        fd = os.open(name, flags, 0o600, dir_fd=dir_fd) if dir_fd is not None else os.open(folder / name, flags, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # a link (never followed), a pipe (never waited on)
            raise _NotANote(exc.errno, exc.strerror, name) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _NotANote(errno.EINVAL, "not a regular file", name)
    return fd


def _chmod_regular(name: str, dir_fd: int | None) -> None:
    """Owner-only, set on the file itself (a move keeps the mode it had in the inbox); a link
    that was swapped in is not followed."""
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK, dir_fd=dir_fd) if dir_fd is not None \
            else os.open(name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError:
        return
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
