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
from itertools import chain
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process


def words(value: object) -> str:
    """Lower-case ASCII words separated by single spaces: ``'No-Show!'`` -> ``'no show'``."""
    s = str(value or "")
    if not s.isascii():  # plain ASCII has no accents to drop
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = s.lower()
    return " ".join(re.findall(r"[a-z0-9]+", s))


THRESHOLD = 85.0  # below this a name matches nobody
PREFILTER_ABOVE = 40  # more candidates than this (a whole day's patients) are looked up by name word
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


@lru_cache(maxsize=8192)
def person_name(name: str) -> tuple[str, bool]:
    """A written person's name without what is not their name, in ``First Middle Last`` order,
    and whether it was written with a title.

    ``'Dr. Marcus Bell'`` -> ``('Marcus Bell', True)``; ``'RAMAN, PRIYA, LCSW'`` -> ``('PRIYA RAMAN',
    False)``; ``'Jordan Ellis, M.A., LMHC (he/him)'`` -> ``('Jordan Ellis', False)``. Titles, credentials,
    suffixes (``Jr.``) and pronouns are dropped; ``Last, First`` is turned round. A word that may be
    a surname (``Ma``, ``Do``) is only a credential after a comma behind a name of two words or more.
    """
    s = name or ""
    if "(" in s:
        s = re.sub(r"\(([^()]*)\)", lambda m: " " if _is_pronouns(m.group(1)) else m.group(0), s)
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


@lru_cache(maxsize=8192)  # a session's names are compared with each of its sheet's lines
def name_tokens(name: str) -> tuple[str, ...]:
    """``'Núñez, María J.'`` -> ``['maria', 'j', 'nunez']`` (first names first); titles,
    credentials, suffixes and pronouns dropped (:func:`person_name`)."""
    return tuple(t for t in _WORD.findall(_fold(person_name(name or "")[0])) if t != "_")


_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    """Accents dropped, case folded, apostrophes gone: ``"Núñez O'Brien"`` -> ``'nunez obrien'``."""
    if not text.isascii():  # plain ASCII has no accents to drop
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.casefold().replace("'", "").replace("’", "")


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


@dataclass(frozen=True)
class NameMatch:
    key: str | None  # the matched candidate's key; None when no match or ambiguous
    score: float
    ambiguous: tuple[str, ...] = ()  # candidate keys that tied, when ambiguous


class Roster:
    """Candidates ``(key, name)`` to match printed names against, each name normalised once
    (not once per printed name) and scored by rapidfuzz's C loops over the whole list.

    :meth:`match` gives what comparing the printed name with every candidate by
    :func:`similarity` gives.
    """

    def __init__(self, candidates: Iterable[tuple[str, str]]):
        distinct = dict.fromkeys((key, tokens) for key, name in candidates if (tokens := name_tokens(name)))
        self._keys = [key for key, _ in distinct]
        self._tokens = [tokens for _, tokens in distinct]
        self._cores = [_core(tokens) for tokens in self._tokens]
        self._fulls = [" ".join(tokens) if len(tokens) >= 2 else None for tokens in self._tokens]  # None: skipped

    def match(self, printed: str) -> NameMatch:
        return _decide(self.scores(name_tokens(printed)))

    def scores(self, tokens: tuple[str, ...]) -> list[tuple[float, str]]:
        """``(similarity, key)`` of each candidate reaching :data:`THRESHOLD` (``tokens``: the printed name's)."""
        if not tokens:
            return []
        best: dict[int, float] = {}
        core = _core(tokens)
        for query, choices, scorer in ((core, self._cores, fuzz.ratio), (core, self._cores, fuzz.token_sort_ratio),
                                       (" ".join(tokens), self._fulls if len(tokens) >= 2 else [],
                                        fuzz.token_set_ratio)):
            for _, score, i in process.extract(query, choices, scorer=scorer, score_cutoff=THRESHOLD, limit=None):
                best[i] = max(score, best.get(i, 0.0))
        for i, other in enumerate(self._tokens):  # an initial or a title with the same last name
            if other[-1] == tokens[-1] and best.get(i, 0.0) < INITIAL_SCORE and (
                    _initial_fits(tokens, other) or _initial_fits(other, tokens)
                    or _title_fits(tokens, other) or _title_fits(other, tokens)):
                best[i] = INITIAL_SCORE
        return [(score, self._keys[i]) for i, score in best.items()]


def _decide(scored: list[tuple[float, str]]) -> NameMatch:
    """A unique exact (normalized) match wins outright; otherwise the best score must beat the
    next candidate's by :data:`MARGIN`."""
    scored = sorted(scored, reverse=True)
    if not scored:
        return NameMatch(None, 0.0)
    best_score, best_key = scored[0]
    rivals = list(dict.fromkeys(k for s, k in scored[1:] if k != best_key and best_score - s < MARGIN))
    if best_score == 100.0 and not [k for s, k in scored[1:] if s == 100.0 and k != best_key]:
        return NameMatch(best_key, best_score)
    if rivals:
        return NameMatch(None, best_score, (best_key, *rivals))
    return NameMatch(best_key, best_score)


COMMON_WORD = 200  # items holding a word (a first name) beyond which it brings no item on its own


class WordIndex:
    """Items (numbered by the caller) indexed by their words, to find the items holding one of a
    few words give or take one edit (a letter dropped, added or changed, or two neighbours
    swapped) without comparing every item.

    A word held by more than :data:`COMMON_WORD` items (a common first name) brings only the
    items that hold another of the words looked up too, so a lookup costs the same among a
    million items as among a thousand. The index keeps each item's words and nothing per
    misspelling: a lookup tries each word's every edit instead (and its two ends, for two
    words run together).
    """

    def __init__(self) -> None:
        self._holders: dict[str, list[int]] = {}  # word -> the items holding it
        self._letters: set[str] = set()

    def add(self, item: int, words: Iterable[str]) -> None:
        for word in set(words):
            holders = self._holders.get(word)
            if holders is None:
                self._holders[word] = [item]
                self._letters.update(word)
            else:
                holders.append(item)

    def near(self, words: Iterable[str], words_of: Callable[[int], Iterable[str]]) -> set[int]:
        """The items holding one of ``words`` (of two letters or more), give or take one edit;
        ``words_of(item)``: the words the item was added with."""
        rare: set[int] = set()
        common: list[list[str]] = []
        for word in dict.fromkeys(w for w in words if len(w) > 1):
            found = [w for w in self._near_words(word) if w in self._holders]
            if sum(len(self._holders[w]) for w in found) > COMMON_WORD:
                common.append(found)
            else:
                rare.update(i for w in found for i in self._holders[w])
        if rare or len(common) < 2:
            return rare
        # every word common: the items holding two of them, each among the holders of all the
        # words but the most common one (whose holders are never gone through)
        common.sort(key=lambda found: sum(len(self._holders[w]) for w in found))
        held: dict[int, int] = {}
        for found in common[:-1]:
            for i in {i for w in found for i in self._holders[w]}:
                held[i] = held.get(i, 0) + 1
        most = set(common[-1])
        return {i for i, n in held.items() if n >= 2 or not most.isdisjoint(words_of(i))}

    def _near_words(self, word: str) -> set[str]:
        """``word`` and every word one edit from it; and, as a name read without its space
        (``MARIANUNEZ``) is two words run together, each end of it of three letters or more."""
        return _one_edit(word, self._letters) | {part for i in range(3, len(word) - 2)
                                                 for part in (word[:i], word[i:])}


class NameIndex:
    """A long list of candidates (a whole day's patients), indexed by the words of their names.

    A printed name is compared (as by :class:`Roster`) only with the candidates holding one of
    its words give or take one edit (:class:`WordIndex`): names sharing no word that closely
    score under :data:`THRESHOLD`, but for long names misspelt in every word.

    Names are split into words as written (every word of :func:`name_tokens` is among them,
    and titles or credentials too); nothing else is normalised until a candidate is compared.
    """

    def __init__(self, candidates: Iterable[tuple[str, str]]):
        self._keys: list[str] = []
        self._names: list[str] = []
        self._words = WordIndex()
        for i, (key, name) in enumerate(candidates):
            self._keys.append(key)
            self._names.append(name)
            self._words.add(i, _words_as_written(name))

    def __len__(self) -> int:
        return len(self._keys)

    def match(self, printed: str) -> NameMatch:
        tokens = name_tokens(printed)
        near = self._words.near(tokens, lambda i: _words_as_written(self._names[i]))
        return _decide(Roster((self._keys[i], self._names[i]) for i in near).scores(tokens))


def _one_edit(word: str, letters: Iterable[str]) -> set[str]:
    """The word and every word one edit from it: a letter dropped, two neighbours swapped, a
    letter changed or added (one of ``letters``)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return {word,
            *(a + b[1:] for a, b in splits if b),
            *(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1),
            *(a + c + b[1:] for a, b in splits if b for c in letters),
            *(a + c + b for a, b in splits for c in letters)}


def _words_as_written(name: str) -> list[str]:
    """The name's words folded as :func:`name_tokens` folds them, titles and all."""
    return [t for t in _WORD.findall(_fold(name or "")) if t != "_"]


def roster(candidates: Iterable[tuple[str, str]]) -> Roster | NameIndex:
    """Candidates ``(key, name)`` ready to match many printed names: a :class:`Roster`, or for
    more than :data:`PREFILTER_ABOVE` different ones (a whole day's patients) a :class:`NameIndex`."""
    candidates = iter(candidates)
    few: dict[tuple[str, str], None] = {}
    for pair in candidates:
        few[pair] = None
        if len(few) > PREFILTER_ABOVE:
            return NameIndex(chain(few, candidates))
    return Roster(few)


def match_name(printed: str, candidates: Iterable[tuple[str, str]]) -> NameMatch:
    """Best candidate ``(key, name)`` for a printed name.

    A unique exact (normalized) match wins outright; otherwise the best score must reach
    :data:`THRESHOLD` and beat the next candidate by :data:`MARGIN`. To match many printed
    names against one list, build its :func:`roster` once.
    """
    return roster(candidates).match(printed)


# --- is it one person's name? ----------------------------------------------------------

#: Words no person's name is made of: a value holding them is a sentence or a form's text.
_SENTENCE_WORDS = frozenset({
    "and", "the", "for", "with", "to", "by", "i", "we", "you", "this", "that", "please", "sign", "signature",
    "signed", "signing", "below", "above", "confirm", "attended", "print", "name", "date", "time", "group",
    "session", "patient", "patients", "initials", "n/a", "na", "none", "tbd", "unknown"})
_NAME_PARTICLES = frozenset({"de", "del", "della", "la", "le", "van", "von", "der", "den", "da", "di", "du", "dos",
                             "das", "st", "bin", "al", "el", "ibn", "y"})
MAX_PERSON_WORDS = 4  # first, middle and two last names; more is a list of people


@lru_cache(maxsize=1024)  # every session asks it of the same few staff names
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


def first_and_last(name: str) -> tuple[str, str] | None:
    """``'Núñez, María J.'`` -> ``('maria', 'nunez')``: the first and the last of the name's words of
    two letters or more; None when it has fewer than two."""
    full = [t for t in name_tokens(name) if len(t) > 1]
    return (full[0], full[-1]) if len(full) >= 2 else None


def contains_any(text: str, names: Iterable[tuple[str, str] | None]) -> bool:
    """Whether ``text`` holds the first and the last name of one of ``names`` (each given as its
    :func:`first_and_last`): a patient's name inside a header value that swallowed part of a roster."""
    have = set(name_tokens(text))
    return any(pair is not None and pair[0] in have and pair[1] in have for pair in names)
