"""Names as people write them: normalising words, and matching a written person's name.

A bottom-floor module: readers (status words, group names) and rules (sheet lines
to patients) both use it, and it imports nothing of attendbot's.

Matching a printed name on a sign-in sheet to one of a session's patients:

Case, accents (``Núñez`` / ``NUNEZ``), punctuation, ``Last, First`` order, middle
names or initials and small typos must not stop a match; two candidates that
fit about equally well are never guessed between.

The same matcher names staff (``[slack.facilitators]``, the EHR's staff column,
the charge export's rendering provider): titles (``Dr.``, ``Ms.``), credentials
and suffixes (``LCSW``, ``PhD``, ``Jr.``), pronouns in parentheses, an initial
for a first name (``P. Raman``) and a title with a last name (``Dr. Bell``) do
not stop a match either (:func:`person_name`).
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


#: Written before a name: ``Dr. Marcus Bell``, ``Ms. Raman``.
TITLES = frozenset({"dr", "doctor", "mr", "mrs", "ms", "mx", "miss", "prof", "professor", "rev"})
#: Credentials staff write after their name (``Priya Raman, LCSW``); none is also a surname.
CREDENTIALS = frozenset({
    "lcsw", "licsw", "lisw", "lmsw", "lsw", "msw", "bsw", "dsw", "lpc", "lpcc", "lcpc", "lpca", "lmhc", "lmhca",
    "lmft", "mft", "ladc", "cadc", "lcadc", "lcdc", "csac", "casac", "lcas", "ncc", "crc", "cprs", "ccs",
    "phd", "psyd", "edd", "md", "rn", "lpn", "aprn", "pmhnp", "fnp", "bcba", "cadc", "lcadc", "ladac",
})
#: Degrees that are also surnames (``Ma``, ``Do``): a credential only after a comma, behind a full name.
SOFT_CREDENTIALS = frozenset({"ma", "ms", "med", "mba", "mph", "mpa", "msn", "bsn", "ba", "bs", "do", "pa", "np",
                              "mat", "lac", "cac", "mac"})
SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
PRONOUNS = frozenset({"he", "him", "his", "she", "her", "hers", "they", "them", "their", "theirs", "ze", "zir",
                      "xe", "xem", "any", "all", "pronouns", "ask", "me", "use", "my", "name"})


def _bare(word: str) -> str:
    """``'Ph.D.,'`` -> ``'phd'``; ``'LPC-S'`` -> ``'lpc'``: a word as a credential list spells it."""
    w = word.strip(".,;:()").replace(".", "").casefold()
    base = w.split("-", 1)[0]
    return base if base in CREDENTIALS or base in SOFT_CREDENTIALS else w


def _is_credential(word: str, soft: bool = False) -> bool:
    w = _bare(word)
    return w in CREDENTIALS or w in SUFFIXES or (soft and w in SOFT_CREDENTIALS)


def _is_pronouns(text: str) -> bool:
    parts = [p for p in re.split(r"[\s/,]+", text.casefold()) if p]
    return bool(parts) and all(p in PRONOUNS for p in parts)


@lru_cache(maxsize=65536)
def person_name(name: str) -> tuple[str, bool]:
    """A written person's name without what is not their name, in ``First Middle Last`` order,
    and whether it was written with a title.

    ``'Dr. Marcus Bell'`` -> ``('Marcus Bell', True)``; ``'RAMAN, PRIYA, LCSW'`` -> ``('PRIYA RAMAN',
    False)``; ``'Jordan Ellis, M.A., LMHC (he/him)'`` -> ``('Jordan Ellis', False)``. Titles, credentials,
    suffixes (``Jr.``) and pronouns are dropped; ``Last, First`` is turned round. A word that may be
    a surname (``Ma``, ``Do``) is only a credential after a comma behind a name of two words or more.
    """
    s = re.sub(r"\(([^()]*)\)", lambda m: " " if _is_pronouns(m.group(1)) else m.group(0), name or "")
    words_ = s.split()
    if words_ and "/" in words_[-1] and _is_pronouns(words_[-1]):
        s = " ".join(words_[:-1])
    parts = [p.split() for p in s.split(",")]
    parts = [p for p in parts if p]
    if not parts:
        return "", False
    kept = [parts[0]]
    for index, part in enumerate(parts[1:], start=1):
        # "Ellis, MA" and "Bell, MD" are a last and a first name; "Jordan Ellis, MA" and
        # "Raman, Priya, LCSW" end with a degree
        behind_a_name = len(parts[0]) >= 2 or index >= 2
        if not (behind_a_name and all(_is_credential(w, soft=True) for w in part)):
            kept.append(part)
    # a name keeps two words at least: "Dr. Bell" stays "Dr Bell", "Aa Ii" stays as it is
    least = 2 if len(kept) == 1 else 1
    titled = False
    cleaned = []
    for part in kept:
        while len(part) > least and _bare(part[0]) in TITLES:
            part, titled = part[1:], True
        while len(part) > least and _is_credential(part[-1]):
            part = part[:-1]
        cleaned.append(part)
    if len(cleaned) >= 2:  # Last, First (Middle)
        cleaned = [*cleaned[1:], cleaned[0]]
    return " ".join(w for part in cleaned for w in part), titled


@lru_cache(maxsize=65536)  # a day compares the same few hundred names many times
def name_tokens(name: str) -> tuple[str, ...]:
    """``'Núñez, María J.'`` -> ``['maria', 'j', 'nunez']`` (first names first); titles,
    credentials, suffixes and pronouns dropped (:func:`person_name`)."""
    s = unicodedata.normalize("NFKD", person_name(name or "")[0])
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    s = s.replace("'", "").replace("’", "")
    return tuple(t for t in re.findall(r"\w+", s) if t != "_")


def _core(tokens: tuple[str, ...]) -> str:
    """First and last name only: middle names and initials dropped."""
    full = [t for t in tokens if len(t) > 1] or tokens
    return " ".join([full[0], full[-1]]) if len(full) > 1 else " ".join(full)


def similarity(a: str, b: str) -> float:
    """0–100: how alike two personal names are, whatever their order and middle parts.

    An initial for a first name (``P. Raman``) scores :data:`INITIAL_SCORE` against a full
    first name with that initial and the same last name; a title and a last name alone
    (``Dr. Bell``) scores it against anyone of that last name. Either way two candidates
    who fit alike stay ambiguous (:func:`match_name` never guesses).
    """
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return 0.0
    ca, cb = _core(ta), _core(tb)
    score = max(
        fuzz.ratio(ca, cb),
        fuzz.token_sort_ratio(ca, cb),
        # one side may carry extra middle or hyphenated names: full token overlap
        fuzz.token_set_ratio(" ".join(ta), " ".join(tb)) if min(len(ta), len(tb)) >= 2 else 0.0,
    )
    if score < INITIAL_SCORE and (_initial_fits(ta, tb) or _initial_fits(tb, ta)
                                  or _title_fits(ta, tb) or _title_fits(tb, ta)):
        return INITIAL_SCORE
    return score


INITIAL_SCORE = 90.0


def _initial_fits(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """``('p', 'raman')`` against ``('priya', 'raman')``: a first initial and the same last name."""
    return (len(short) >= 2 and len(full) >= 2 and len(short[0]) == 1 and len(full[0]) > 1
            and short[0] == full[0][0] and short[-1] == full[-1] and len(short[-1]) > 1)


def _title_fits(short: tuple[str, ...], full: tuple[str, ...]) -> bool:
    """``Dr. Bell`` against ``Marcus Bell``: a title and a last name only."""
    return len(short) == 2 and short[0] in TITLES and len(full) >= 2 and full[0] not in TITLES \
        and short[1] == full[-1] and len(short[1]) > 1


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
    if len(tokens) == 2 and (len(tokens[0]) == 1 or tokens[0] in TITLES):  # "P. Raman", "Dr. Bell": same last name
        keep.update(i for i, (_, n) in enumerate(candidates) if name_tokens(n)[-1:] == tokens[-1:])
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


# --- is it one person's name? ----------------------------------------------------------

#: Words no person's name is made of: a value holding them is a sentence or a form's text.
_SENTENCE_WORDS = frozenset({
    "and", "the", "for", "with", "to", "by", "i", "we", "you", "this", "that", "please", "sign", "signature",
    "signed", "signing", "below", "above", "confirm", "attended", "print", "name", "date", "time", "group",
    "session", "patient", "patients", "initials", "n/a", "na", "none", "tbd", "unknown"})
_NAME_PARTICLES = frozenset({"de", "del", "della", "la", "le", "van", "von", "der", "den", "da", "di", "du", "dos",
                             "das", "st", "bin", "al", "el", "ibn", "y"})
MAX_PERSON_WORDS = 4  # first, middle and two last names; more is a list of people


def not_a_person(text: str) -> str | None:
    """Why ``text`` is not one person's name as staff write it (``Priya Raman, LCSW``,
    ``Dr. Marcus Bell``, ``RAMAN, PRIYA``), or None when it is one. The reason never repeats
    the text: a header value that swallowed a roster would carry patients' names along."""
    if len(text) > 80:
        return "is too long for a person's name"
    if re.search(r"\d", text) or re.search(r"[^\w\s.,'’()/&-]", text):
        return "holds characters no person's name has"
    cleaned, _ = person_name(text)
    core = [w for w in cleaned.split() if w.casefold().strip(".") not in _NAME_PARTICLES]
    if not core or not name_tokens(text):
        return "holds no name"
    if len(core) > MAX_PERSON_WORDS:
        return f"looks like several names ({len(core)} words), not one person"
    parts = [p for p in text.split(",") if p.strip()]
    if len([p for p in parts if person_name(p)[0] and person_name(f"Sam Doe, {p}")[0] != "Sam Doe"]) > 2:
        return "looks like several names, not one person"
    if any(w.casefold().strip(".,") in _SENTENCE_WORDS for w in cleaned.split()):
        return "reads as a sentence, not a person's name"
    return None


def same_person(a: str, b: str) -> bool:
    """Whether two written names are one person's, as leniently as :func:`match_name` matches."""
    return similarity(a, b) >= THRESHOLD


def contains_name(text: str, name: str) -> bool:
    """Whether ``text`` holds the first and the last name of ``name`` (a patient's name inside a
    header value that swallowed part of a roster)."""
    have, full = set(name_tokens(text)), [t for t in name_tokens(name) if len(t) > 1]
    return len(full) >= 2 and full[0] in have and full[-1] in have
