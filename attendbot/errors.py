"""The few exceptions that cross module boundaries.

Per-file trouble is data, not an exception that escapes: a reader raises
:class:`UnreadableFileError`, the inbox loop turns it into ``status="unreadable"``,
a quarantined file and an ``UNREADABLE_FILE`` gap, and goes on.
"""

from __future__ import annotations


class AttendbotError(Exception):
    """Stops the run with exit status 1 and a clear message."""


class ConfigError(AttendbotError):
    """Bad configuration or arguments: exit status 2. Names the file, the key and the problem."""

    def __init__(self, file: str, key: str | None, problem: str):
        self.file, self.key, self.problem = file, key, problem
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {problem}")


class UnreadableFileError(Exception):
    """A file that cannot be read: corrupt, truncated, encrypted, empty, image-only."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class AmbiguousFileError(Exception):
    """More than one reader claims a file: it is reported and quarantined, never guessed."""
