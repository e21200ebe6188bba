"""Word and character error rate (WER/CER) on the component base.

Definitions (identical to jiwer 4, the field's library, which does the alignment):

* Corpus WER = sum over utterances of (S + D + I) / sum of reference words (= H + S + D), **not**
  the mean of per-utterance WERs. CER is the same over characters.
* Tokenisation is jiwer's default, applied after the chosen normaliser: for words
  ``RemoveMultipleSpaces`` (``\\s\\s+`` -> one space), ``Strip``, split on ``" "``; for characters
  ``Strip`` and then every character (inner spaces included) is a unit. So with
  ``normalizer="none"`` a lone tab inside a line does *not* separate words, exactly as in jiwer.
* S/D/I/H per utterance come from jiwer's own alignment (``process_words``, rapidfuzz
  Levenshtein opcodes), so the counts equal jiwer's exactly.
* An utterance whose reference is empty (after normalisation) is scored by us, not jiwer: all its
  hypothesis units are insertions and it adds 0 reference units; it is listed in the notes. When
  *every* reference is empty we follow jiwer 4: the rate is the insertion count (0 when every
  hypothesis is empty too), and a note says so. An empty hypothesis is all deletions.
* For words, jiwer's other corpus measures from the same counts: MER = (S+D+I)/(H+S+D+I),
  WIP = (H/N_ref)(H/N_hyp) with N_ref = H+S+D and N_hyp = H+S+I, WIL = 1 - WIP (Morris, Maier &
  Green 2004), with jiwer's conventions when a side is empty.
* The 95% interval resamples utterances (the component base's bootstrap of (errors, units)).

Per-utterance records: ``{"sample_id", "ref_units", "substitutions", "deletions", "insertions",
"hits", "errors"}``, and with ``alignments=True`` also ``"alignment"``: jiwer's alignment of the
utterance, one ``[ref_unit, hyp_unit, op]`` triple per aligned position in order, ``op`` in sclite's
letters ``"C"`` (correct, jiwer ``equal``), ``"S"`` (``substitute``), ``"D"`` (``delete``: hyp unit
``null``) and ``"I"`` (``insert``: ref unit ``null``). Expanding jiwer's ``AlignmentChunk`` spans
over its token lists gives exactly these triples; grouping runs of one op gives the chunks back.
The units are the tokens after normalisation (words, or characters for CER, a space included).
Alignments are opt-in: they hold the texts, which the count table never does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self

import numpy as np

from gapbench.core.metric import COUNT, FRACTION_DOWN, FRACTION_UP, ComponentMetric, check_batch
from gapbench.core.results import ScoreResult
from gapbench.errors import InputError
from gapbench.text_normalizers.normalizers import get_normalizer

Unit = Literal["word", "char"]
UNITS: tuple[str, ...] = ("word", "char")
KIND = {"word": "wer", "char": "cer"}
UNITS_NAME = {"word": "words", "char": "characters"}
MAX_IDS_SHOWN = 10
_MULTI_SPACE = re.compile(r"\s\s+")
_COUNTS = ("substitutions", "deletions", "insertions", "hits")


def tokenize(text: str, unit: Unit = "word") -> list[str]:
    """jiwer's default tokenisation (``wer_default`` / ``cer_default``) of one string."""
    if unit == "char":
        return list(text.strip())
    return [w for w in _MULTI_SPACE.sub(" ", text).strip().split(" ") if w]


Pair = list[Any]  # [ref unit | None, hyp unit | None, "C" | "S" | "D" | "I"]
OPS = {"equal": "C", "substitute": "S", "delete": "D", "insert": "I"}


def align_counts(refs: list[str], hyps: list[str], unit: Unit) -> list[tuple[int, int, int, int]]:
    """``(S, D, I, H)`` per utterance from one jiwer call (references must be non-empty)."""
    return align(refs, hyps, unit)[0]


def align(refs: list[str], hyps: list[str], unit: Unit, pairs: bool = False
          ) -> tuple[list[tuple[int, int, int, int]], list[list[Pair]]]:
    """``(S, D, I, H)`` per utterance and, with ``pairs``, the aligned ``[ref, hyp, op]`` triples
    (module docstring), from one jiwer call (references must be non-empty)."""
    import jiwer

    if not refs:
        return [], []

    def transform(sentences: list[str]) -> list[list[str]]:
        # jiwer's wer_default / cer_default, without its per-transform list passes (same tokens)
        return [tokenize(x, unit) for x in sentences]

    out = jiwer.process_words(refs, hyps, reference_transform=transform, hypothesis_transform=transform)
    aligned = [_pairs(c, r, h) for c, r, h in zip(out.alignments, out.references, out.hypotheses)] if pairs else []
    rows: list[tuple[int, int, int, int]] = []
    for chunks in out.alignments:
        s = d = i = h = 0
        for c in chunks:
            t = c.type
            if t == "equal":
                h += c.ref_end_idx - c.ref_start_idx
            elif t == "substitute":
                s += c.ref_end_idx - c.ref_start_idx
            elif t == "delete":
                d += c.ref_end_idx - c.ref_start_idx
            else:  # insert
                i += c.hyp_end_idx - c.hyp_start_idx
        rows.append((s, d, i, h))
    return rows, aligned


def _pairs(chunks: list[Any], ref: list[str], hyp: list[str]) -> list[Pair]:
    """jiwer's chunks of one utterance expanded into ``[ref, hyp, op]`` triples."""
    out: list[Pair] = []
    for c in chunks:
        op = OPS[c.type]
        if op == "I":
            out += [[None, w, "I"] for w in hyp[c.hyp_start_idx:c.hyp_end_idx]]
        elif op == "D":
            out += [[w, None, "D"] for w in ref[c.ref_start_idx:c.ref_end_idx]]
        else:  # equal and substitute spans have one length on both sides
            out += [[r, h, op] for r, h in zip(ref[c.ref_start_idx:c.ref_end_idx], hyp[c.hyp_start_idx:c.hyp_end_idx])]
    return out


def _text(x: Any, what: str, index: int) -> str:
    if isinstance(x, str):
        return x
    text = getattr(x, "text", None)  # gapbench.core.predictions.Transcript
    if isinstance(text, str):
        return text
    raise InputError(None, f"{what} {index}", "a string or a Transcript", x)


class WERMetric(ComponentMetric):
    """Mergeable WER/CER state: per-utterance (S, D, I, H) counts, never the texts."""

    unit = "utterance"
    dtype = np.int64

    def __init__(self, unit: Unit = "word", normalizer: str = "none", alignments: bool = False) -> None:
        super().__init__()
        self.alignments = bool(alignments)
        self._aligned: list[list[Pair]] = []  # per unit, with ``alignments`` only
        if unit not in KIND:
            raise InputError(None, "unit", "'word' or 'char'", unit)
        self.text_unit: Unit = unit
        self.normalizer = normalizer
        self.name = KIND[unit]
        extra = {"mer": FRACTION_DOWN, "wil": FRACTION_DOWN, "wip": FRACTION_UP} if unit == "word" else {}
        self.declared = {self.name: FRACTION_DOWN, **extra, **{c: COUNT for c in _COUNTS}}
        self._normalize = get_normalizer(normalizer)

    def config(self) -> dict[str, Any]:
        extra = {"alignments": True} if self.alignments else {}  # older shards' settings stay as they were
        return {"unit": self.text_unit, "normalizer": self.normalizer, **extra}

    def merge(self, other: Self) -> Self:
        super().merge(other)
        self._aligned.extend(other._aligned)
        return self

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.alignments:
            state["alignments"] = self._aligned
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> Self:
        super().load_state_dict(state)
        if self.alignments:
            self._aligned = [[list(p) for p in a] for a in state.get("alignments", [])]
            if len(self._aligned) != len(self.ids):
                raise InputError(None, "metric state", f"{len(self.ids)} alignments", len(self._aligned))
        return self

    def update(self, predictions: Sequence[Any], references: Sequence[Any], ids: Sequence[Any] | None = None
               ) -> None:
        """Add hypotheses (``str`` or ``Transcript``) with their reference strings, same order."""
        preds, refs_in, id_list = check_batch(predictions, references, ids)
        offset = len(self.ids)
        hyps = [p if isinstance(p, str) else _text(p, "prediction", offset + k) for k, p in enumerate(preds)]
        refs = [r if isinstance(r, str) else _text(r, "reference", offset + k) for k, r in enumerate(refs_in)]
        if self.normalizer != "none":
            refs = [self._normalize(r) for r in refs]
            hyps = [self._normalize(h) for h in hyps]
        empty = {k for k, r in enumerate(refs) if not r.strip()}
        keep = [k for k in range(len(refs)) if k not in empty]
        counts, pairs = align([refs[k] for k in keep], [hyps[k] for k in keep], self.text_unit, self.alignments)
        it = iter(counts)
        rows = [(0, 0, len(tokenize(hyps[k], self.text_unit)), 0) if k in empty else next(it)
                for k in range(len(refs))]
        if self.alignments:
            kept = iter(pairs)
            self._aligned += [[[None, w, "I"] for w in tokenize(hyps[k], self.text_unit)] if k in empty
                              else next(kept) for k in range(len(refs))]
        self.add_units(np.asarray(rows, dtype=np.int64).reshape(-1, 4), id_list)

    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        s, d, i, h = (totals[:, k] for k in range(4))
        den = h + s + d
        with np.errstate(divide="ignore", invalid="ignore"):
            # jiwer 4: with no reference units at all, the rate is the insertion count
            rate = np.where(den > 0, (s + d + i) / np.where(den > 0, den, 1), i)
        out: dict[str, np.ndarray] = {self.name: rate.astype(float)}
        if self.text_unit == "word":
            out.update(_information_measures(s, d, i, h))
        return {**out, "substitutions": s, "deletions": d, "insertions": i, "hits": h}

    def interval_names(self, names: Sequence[str]) -> list[str]:
        if self.table()[:, [0, 1, 3]].sum() == 0:
            return []
        return [n for n in (self.name, "mer", "wil", "wip") if n in names]

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        out = [{"sample_id": uid, "ref_units": int(h + s + d), "substitutions": int(s), "deletions": int(d),
                "insertions": int(i), "hits": int(h), "errors": int(s + d + i)}
               for uid, (s, d, i, h) in zip(self.unit_ids(), rows.tolist())]
        if self.alignments:
            for rec, pairs in zip(out, self._aligned):
                rec["alignment"] = pairs
        return out

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-utterance ``(errors, reference units)`` as float arrays."""
        t = self.table()
        return (t[:, 0] + t[:, 1] + t[:, 2]).astype(float), (t[:, 3] + t[:, 0] + t[:, 1]).astype(float)

    def finish(self, result: ScoreResult, rows: np.ndarray) -> None:
        s, d, i, h = (int(x) for x in rows.sum(axis=0))
        units = UNITS_NAME[self.text_unit]
        result.info.update({"normalizer": self.normalizer, f"reference_{units}": h + s + d,
                            f"hypothesis_{units}": h + s + i, "errors": s + d + i})
        result.notes.extend(empty_reference_notes(self, rows, result.info))


def _information_measures(s: np.ndarray, d: np.ndarray, i: np.ndarray, h: np.ndarray) -> dict[str, np.ndarray]:
    """jiwer's MER, WIL and WIP from summed counts (its rules when the reference has no word: MER
    0 and WIP 1 if the hypothesis is empty too, else MER 1 and WIP 0)."""
    n_ref, n_hyp, all_ = h + s + d, h + s + i, h + s + d + i
    with np.errstate(divide="ignore", invalid="ignore"):
        mer = np.where(all_ > 0, (s + d + i) / np.where(all_ > 0, all_, 1), 0.0)
        both = (n_ref > 0) & (n_hyp > 0)
        recall, precision = h / np.where(n_ref > 0, n_ref, 1), h / np.where(n_hyp > 0, n_hyp, 1)
        wip = np.where(both, recall * precision, np.where((n_ref == 0) & (n_hyp == 0), 1.0, 0.0))
    mer = np.where(n_ref == 0, np.where(n_hyp == 0, 0.0, 1.0), mer)
    return {"mer": mer.astype(float), "wil": (1.0 - wip).astype(float), "wip": wip.astype(float)}


def empty_reference_notes(metric: WERMetric, rows: np.ndarray, info: dict[str, Any]) -> list[str]:
    """Which utterances had an empty reference, and what that did to the rate."""
    units = UNITS_NAME[metric.text_unit]
    empty = np.flatnonzero(rows[:, [0, 1, 3]].sum(axis=1) == 0)
    info["empty_references"] = int(len(empty))
    if not len(empty):
        return []
    shown = [metric.unit_ids()[k] for k in empty[:MAX_IDS_SHOWN]]
    info["empty_reference_ids"] = shown
    more = f" (first {MAX_IDS_SHOWN} shown)" if len(empty) > MAX_IDS_SHOWN else ""
    inserted = int(rows[empty, 2].sum())
    notes = [f"{len(empty)} utterance(s) had an empty reference after normalisation{more}: "
             f"{', '.join(shown)}; their {inserted} hypothesis {units} count as insertions "
             f"with no reference {units}"]
    if len(empty) == len(rows):
        notes.append(f"every reference is empty: {metric.name.upper()} is the insertion count, as in jiwer 4")
    return notes
