"""The reader protocol (after beangulp's identify/extract).

A reader recognises its files by content and turns one into normalized records.

* ``identify(src)`` SHALL look only at content (header names, sheet layout, page
  text), SHALL be cheap, and SHALL return False for a foreign file rather than raise.
  It MAY raise :class:`~attendbot.errors.UnreadableFileError` for a file that is
  corrupt in a way that makes it unreadable by anyone.
* ``read(src)`` SHALL return records for *every* day in the file (the ledger keeps
  them all) plus problems for what it could not use, each with evidence. It never
  drops a row silently: a row it cannot parse becomes a :class:`~attendbot.model.Problem`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from attendbot.model import ReadResult
from attendbot.readers.source import SourceFile


class Reader(ABC):
    kind: str = "unknown"

    @property
    def name(self) -> str:
        return f"{type(self).__module__}.{type(self).__name__}"

    @abstractmethod
    def identify(self, src: SourceFile) -> bool: ...

    @abstractmethod
    def read(self, src: SourceFile) -> ReadResult: ...
