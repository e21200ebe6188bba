"""Option sets: each word with three distractors nearest by phonemic edit distance (PED).

For every item word the pool of candidates is every vocabulary word of the same split (so no word
appears, as target or option, in two splits). Candidates are ranked by Levenshtein PED over IPA
segments (:func:`gapbench.spectro.phonemes.distance_matrix`, vectorised), ties broken by a seeded
hash so a build is reproducible for a given ``seed``. A candidate is skipped when it is

* a homophone of the target or of an option already chosen (PED 0: same segments);
* an inflection of the target or of a chosen option (:func:`is_inflection`: -s/-es/-ed/-ing/-er/
  -est/-ly, with e-drop, y -> i and doubled final consonant);
* a duplicate spelling.

Designs (``design``): ``"paper"`` speaks the word the set was built around -- as published, which
puts the target at the phonemic centre of its own options (a blind rule that picks the option with
the smallest total PED to the others exploits this); ``"debiased"`` (default) keeps each option
set but speaks a uniformly drawn member of it, so no option-only rule beats chance on average.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gapbench.spectro.phonemes import distance_matrix, levenshtein

DESIGNS: tuple[str, ...] = ("debiased", "paper")
SPLITS: tuple[str, ...] = ("train", "dev", "test")
_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "est", "ly", "r", "st")
SHORTLIST = 64  # nearest candidates examined per item before the exclusions


def unit_hash(*parts: object) -> float:
    """A uniform number in [0, 1) from its arguments (stable across runs and machines)."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


def assign_split(word: str, seed: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> str:
    """The split of ``word`` (seeded hash against cumulative ``fractions``)."""
    u = unit_hash("split", seed, word)
    acc = 0.0
    for name, f in zip(SPLITS, fractions):
        acc += f
        if u < acc:
            return name
    return SPLITS[-1]


def _stems(w: str) -> set[str]:
    out = {w}
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 2:
            stem = w[: -len(suf)]
            out |= {stem, stem + "e"}
            if len(stem) >= 2 and stem[-1] == stem[-2]:
                out.add(stem[:-1])  # running -> run
            if stem.endswith("i"):
                out.add(stem[:-1] + "y")  # cities -> city, carried -> carry
    return out


def is_inflection(a: str, b: str) -> bool:
    """True when one word is a regular inflection of the other (or they share a regular stem)."""
    if a == b:
        return True
    return bool(_stems(a) & _stems(b)) and (a.startswith(b[:3]) and b.startswith(a[:3]))


@dataclass(frozen=True)
class OptionSet:
    """One item's four words (the target first) with their IPA segments."""

    word: str  # the word the set was built around
    words: tuple[str, ...]
    segments: tuple[tuple[str, ...], ...]


def option_sets(items: Sequence[str], pool: Sequence[str], seg: dict[str, tuple[str, ...]], *, seed: int = 0,
                n_options: int = 4, workers: int = 1,
                distance: Callable[[Sequence[str], Sequence[str]], np.ndarray] | None = None
                ) -> list[OptionSet | None]:
    """For each item word, itself plus ``n_options - 1`` distractors from ``pool`` (None if too few).

    ``distance(items, pool)`` ranks the candidates (default: Levenshtein PED over segments; phone
    units pass :func:`gapbench.spectro.units.unit_distance_matrix`). Inflection exclusion applies to
    words only (unit ids are not words: ``is_inflection`` is skipped when ``distance`` is given).
    """
    if not items:
        return []
    pool = [w for w in pool if w in seg]
    if distance is None:
        dist = distance_matrix([seg[w] for w in items], [seg[w] for w in pool], workers=workers)
    else:
        dist = distance(items, pool)
    inflected = is_inflection if distance is None else (lambda a, b: a == b)
    tie = np.array([unit_hash("tie", seed, w) for w in pool])
    k = min(SHORTLIST, len(pool))
    out: list[OptionSet | None] = []
    for i, target in enumerate(items):
        row = dist[i]
        near = np.argpartition(row, k - 1)[:k] if k < len(pool) else np.arange(len(pool))
        order = near[np.lexsort((tie[near], row[near]))]
        chosen = [target]
        for j in order:
            cand = pool[int(j)]
            if row[j] == 0 or any(cand == c or inflected(cand, c) for c in chosen):
                continue
            if any(levenshtein(seg[cand], seg[c]) == 0 for c in chosen[1:]):
                continue
            chosen.append(cand)
            if len(chosen) == n_options:
                break
        if len(chosen) < n_options:
            out.append(None)
            continue
        out.append(OptionSet(target, tuple(chosen), tuple(seg[c] for c in chosen)))
    return out


def arrange(s: OptionSet, design: str, seed: int) -> tuple[int, list[int]]:
    """``(index in s.words of the spoken word, display order of s.words)`` for ``design``."""
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}: expected one of {', '.join(DESIGNS)}")
    n = len(s.words)
    target = 0 if design == "paper" else int(unit_hash("target", seed, s.word) * n)
    order = sorted(range(n), key=lambda j: unit_hash("order", seed, s.word, j))
    return target, order


def centrality_pick(segs: Sequence[Sequence[str]]) -> int:
    """The option with the smallest total PED to the others (first on ties): the blind rule."""
    totals = [sum(levenshtein(a, b) for b in segs) for a in segs]
    return int(np.argmin(totals))
