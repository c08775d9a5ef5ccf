"""Names as people write them: normalising words, and matching a written person's name.

A bottom-floor module: readers (status words, group names) and rules (sheet lines
to patients) both use it, and it imports nothing of attendbot's.

Matching a printed name on a sign-in sheet to one of a session's patients:

Case, accents (``Núñez`` / ``NUNEZ``), punctuation, ``Last, First`` order, middle
names or initials and small typos must not stop a match; two candidates that
fit about equally well are never guessed between.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process


def words(value: object) -> str:
    """Lower-case ASCII words separated by single spaces: ``'No-Show!'`` -> ``'no show'``."""
    s = unicodedata.normalize("NFKD", str(value or ""))
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    return " ".join(re.findall(r"[a-z0-9]+", s))


THRESHOLD = 85.0  # below this a name matches nobody
PREFILTER_ABOVE = 40  # more candidates than this (a whole day's patients) are shortlisted first
MARGIN = 6.0  # the best must beat the runner-up by this much, or the match is ambiguous


@lru_cache(maxsize=65536)  # a day compares the same few hundred names many times
def name_tokens(name: str) -> tuple[str, ...]:
    """``'Núñez, María J.'`` -> ``['maria', 'j', 'nunez']`` (first names first)."""
    s = unicodedata.normalize("NFKD", name or "")
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    if "," in s:
        last, _, first = s.partition(",")
        s = f"{first} {last}"
    s = s.replace("'", "").replace("’", "")
    return tuple(t for t in re.findall(r"\w+", s) if t != "_")


def _core(tokens: tuple[str, ...]) -> str:
    """First and last name only: middle names and initials dropped."""
    full = [t for t in tokens if len(t) > 1] or tokens
    return " ".join([full[0], full[-1]]) if len(full) > 1 else " ".join(full)


def similarity(a: str, b: str) -> float:
    """0–100: how alike two personal names are, whatever their order and middle parts."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return 0.0
    ca, cb = _core(ta), _core(tb)
    return max(
        fuzz.ratio(ca, cb),
        fuzz.token_sort_ratio(ca, cb),
        # one side may carry extra middle or hyphenated names: full token overlap
        fuzz.token_set_ratio(" ".join(ta), " ".join(tb)) if min(len(ta), len(tb)) >= 2 else 0.0,
    )


def _shortlist(printed: str, candidates: list[tuple[str, str]], size: int = 20) -> list[tuple[str, str]]:
    """The candidates that could reach the threshold, found by rapidfuzz's C loops over the
    whole list (by first-and-last name and by all name parts), so a day's worth of patients
    costs one fast pass rather than a Python-level comparison per patient."""
    tokens = name_tokens(printed)
    cutoff = THRESHOLD - 10
    keep: set[int] = set()
    for query, choices, scorer in (
            (_core(tokens), [_core(name_tokens(n)) for _, n in candidates], fuzz.token_sort_ratio),
            (" ".join(tokens), [" ".join(name_tokens(n)) for _, n in candidates], fuzz.token_set_ratio)):
        keep.update(i for _, _, i in process.extract(query, choices, scorer=scorer, score_cutoff=cutoff,
                                                     limit=size))
    return [candidates[i] for i in sorted(keep)]


@dataclass(frozen=True)
class NameMatch:
    key: str | None  # the matched candidate's key; None when no match or ambiguous
    score: float
    ambiguous: tuple[str, ...] = ()  # candidate keys that tied, when ambiguous


def match_name(printed: str, candidates: Iterable[tuple[str, str]]) -> NameMatch:
    """Best candidate ``(key, name)`` for a printed name.

    A unique exact (normalized) match wins outright; otherwise the best score must
    reach :data:`THRESHOLD` and beat the next candidate by :data:`MARGIN`.
    """
    candidates = list(candidates)
    if len(candidates) > PREFILTER_ABOVE:
        candidates = _shortlist(printed, candidates)
    scored = sorted(((similarity(printed, name), key) for key, name in candidates), reverse=True)
    scored = [(s, k) for s, k in scored if s >= THRESHOLD]
    if not scored:
        return NameMatch(None, 0.0)
    best_score, best_key = scored[0]
    rivals = [k for s, k in scored[1:] if k != best_key and best_score - s < MARGIN]
    if best_score == 100.0 and not [k for s, k in scored[1:] if s == 100.0 and k != best_key]:
        return NameMatch(best_key, best_score)
    if rivals:
        return NameMatch(None, best_score, (best_key, *rivals))
    return NameMatch(best_key, best_score)
