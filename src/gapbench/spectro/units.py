"""Phoneme-level items: single phones and diphones as an easier curriculum than words.

The paper's open question: can a model read *sounds* from a spectrogram before it reads words?
``spectro build --unit phone|diphone`` makes items whose spoken unit is one phone (``AA``, ``S``)
or a two-phone sequence (``B-AA``), with the same rendering, conditions and evaluation as words.

* Inventory: the 39 ARPAbet phones of cmudict (IPA by :data:`~gapbench.spectro.phonemes.ARPABET_TO_IPA`).
  A unit's id is its ARPAbet phones joined by ``-`` (ASCII file names; what graphemic options
  show); its IPA (what phonemic options show) is the segments joined.
* Diphones: the two-phone sequences that occur inside the pronunciations of the word list
  (cmudict, first pronunciation, the ``pool`` most frequent words), ranked by how many words
  contain them (ties: alphabetical); the ``words`` most common are the items, every attested
  diphone is a candidate distractor.
* Speech: espeak-ng's phoneme input (``[[...]]`` with its phoneme mnemonics, :data:`ESPEAK`),
  spoken in isolation: vowels and continuants are sustained, stops are a closure and a burst.
* Distance (what "nearest distractor" means for units): articulatory features
  (:data:`FEATURES`; the usual IPA chart categories, e.g. Ladefoged & Johnson, *A Course in
  Phonetics*): consonants by voicing, place and manner; vowels by height, backness, rounding
  and whether they glide (diphthong) or are r-coloured. The distance of two phones is the number
  of features that differ, a consonant vs a vowel counts :data:`CLASS_GAP`; a diphone's distance
  is the sum over its two positions. The PED stored per option stays the segment Levenshtein
  distance of :mod:`gapbench.spectro.phonemes` (for phones: 0 or 1).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

UNITS: tuple[str, ...] = ("word", "phone", "diphone")
CLASS_GAP = 4  # consonant vs vowel: more than any within-class difference (at most 3 features)

# consonants: (voiced, place, manner); vowels: (height, backness, rounded, glide/rhotic)
FEATURES: dict[str, tuple[str, ...]] = {
    "P": ("C", "-", "bilabial", "stop"), "B": ("C", "+", "bilabial", "stop"),
    "T": ("C", "-", "alveolar", "stop"), "D": ("C", "+", "alveolar", "stop"),
    "K": ("C", "-", "velar", "stop"), "G": ("C", "+", "velar", "stop"),
    "CH": ("C", "-", "postalveolar", "affricate"), "JH": ("C", "+", "postalveolar", "affricate"),
    "F": ("C", "-", "labiodental", "fricative"), "V": ("C", "+", "labiodental", "fricative"),
    "TH": ("C", "-", "dental", "fricative"), "DH": ("C", "+", "dental", "fricative"),
    "S": ("C", "-", "alveolar", "fricative"), "Z": ("C", "+", "alveolar", "fricative"),
    "SH": ("C", "-", "postalveolar", "fricative"), "ZH": ("C", "+", "postalveolar", "fricative"),
    "HH": ("C", "-", "glottal", "fricative"),
    "M": ("C", "+", "bilabial", "nasal"), "N": ("C", "+", "alveolar", "nasal"), "NG": ("C", "+", "velar", "nasal"),
    "L": ("C", "+", "alveolar", "lateral"), "R": ("C", "+", "postalveolar", "approximant"),
    "W": ("C", "+", "labiovelar", "approximant"), "Y": ("C", "+", "palatal", "approximant"),
    "IY": ("V", "high", "front", "-", "mono"), "IH": ("V", "near-high", "front", "-", "mono"),
    "EY": ("V", "mid", "front", "-", "glide"), "EH": ("V", "open-mid", "front", "-", "mono"),
    "AE": ("V", "near-low", "front", "-", "mono"), "AA": ("V", "low", "back", "-", "mono"),
    "AH": ("V", "open-mid", "central", "-", "mono"), "AO": ("V", "open-mid", "back", "+", "mono"),
    "OW": ("V", "mid", "back", "+", "glide"), "UH": ("V", "near-high", "back", "+", "mono"),
    "UW": ("V", "high", "back", "+", "mono"), "ER": ("V", "mid", "central", "-", "rhotic"),
    "AY": ("V", "low", "central", "-", "glide"), "AW": ("V", "low", "central", "+", "glide"),
    "OY": ("V", "open-mid", "back", "+", "glide"),
}
PHONES: tuple[str, ...] = tuple(sorted(FEATURES))
# espeak-ng's en-us phoneme mnemonics for ``[[...]]`` input (checked against its own transcriptions,
# e.g. father f'A:D3, caught k'O:t, bird b'3:d, church tS'3:tS)
ESPEAK: dict[str, str] = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "EH": "E", "ER": "3:", "EY": "eI",
    "IH": "I", "IY": "i:", "OW": "oU", "OY": "OI", "UH": "U", "UW": "u:",
    "B": "b", "CH": "tS", "D": "d", "DH": "D", "F": "f", "G": "g", "HH": "h", "JH": "dZ", "K": "k", "L": "l",
    "M": "m", "N": "n", "NG": "N", "P": "p", "R": "r", "S": "s", "SH": "S", "T": "t", "TH": "T", "V": "v",
    "W": "w", "Y": "j", "Z": "z", "ZH": "Z",
}


def phones_of(unit_id: str) -> tuple[str, ...] | None:
    """The ARPAbet phones of a unit id (``B-AA`` -> ``("B", "AA")``), or None when it is not one."""
    parts = tuple(unit_id.upper().split("-"))
    return parts if all(p in FEATURES for p in parts) else None


def unit_segments(unit_id: str) -> tuple[str, ...]:
    """IPA segments of a unit id (stress-free ARPAbet -> IPA)."""
    from gapbench.spectro.phonemes import ARPABET_TO_IPA

    phones = phones_of(unit_id)
    if phones is None:
        raise ValueError(f"not a phone unit: {unit_id!r} (ARPAbet phones joined by '-')")
    return tuple(ARPABET_TO_IPA[p] for p in phones)


def espeak_text(unit_id: str) -> str:
    """espeak-ng phoneme input for a unit (to be synthesised with phoneme input enabled)."""
    phones = phones_of(unit_id)
    if phones is None:
        raise ValueError(f"not a phone unit: {unit_id!r}")
    return "[[" + "".join(ESPEAK[p] for p in phones) + "]]"


def phone_distance_matrix() -> np.ndarray:
    """``(39, 39)`` articulatory distances between :data:`PHONES` (see the module docstring)."""
    n = len(PHONES)
    out = np.zeros((n, n), dtype=np.int32)
    for i, a in enumerate(PHONES):
        for j, b in enumerate(PHONES):
            fa, fb = FEATURES[a], FEATURES[b]
            out[i, j] = CLASS_GAP if fa[0] != fb[0] else sum(x != y for x, y in zip(fa[1:], fb[1:]))
    return out


def unit_distance_matrix(rows: Sequence[str], cols: Sequence[str]) -> np.ndarray:
    """``(len(rows), len(cols))`` distances between unit ids of the same length (vectorised):
    the sum over positions of the phone distances; units of different lengths are ``CLASS_GAP`` apart
    per phone of the longer one (they never meet in one build)."""
    index = {p: i for i, p in enumerate(PHONES)}
    d = phone_distance_matrix()
    a = [[index[p] for p in phones_of(r) or ()] for r in rows]
    b = [[index[p] for p in phones_of(c) or ()] for c in cols]
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.int32)
    if len({len(x) for x in a + b}) != 1:
        raise ValueError("unit_distance_matrix: units of one length at a time")
    ai, bi = np.asarray(a), np.asarray(b)
    return d[ai[:, None, :], bi[None, :, :]].sum(axis=2).astype(np.int32)


def unit_vocabulary(unit: str, pool: int = 20000) -> list[str]:
    """Unit ids in item order: the 39 phones (alphabetical), or the attested diphones by frequency."""
    if unit == "phone":
        return list(PHONES)
    if unit != "diphone":
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    from gapbench.spectro.phonemes import cmu_dict
    from gapbench.spectro.words import candidate_words

    cmu = cmu_dict()
    counts: Counter[str] = Counter()
    for w in candidate_words(pool):
        phones = [p.rstrip("012") for p in cmu[w][0]]
        counts.update({f"{a}-{b}" for a, b in zip(phones, phones[1:])})
    return [u for u, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
