"""Word and character error rate (WER/CER) with bootstrap intervals and paired comparisons.

Definitions (identical to jiwer 4, the field's library, which does the alignment):

* Corpus WER = sum over utterances of (S + D + I) / sum of reference words (= H + S + D), **not**
  the mean of per-utterance WERs. CER is the same over characters.
* Tokenisation is jiwer's default, applied after the chosen normaliser: for words
  ``RemoveMultipleSpaces`` (``\\s\\s+`` -> one space), ``Strip``, split on ``" "``; for characters
  ``Strip`` and then every character (inner spaces included) is a unit. So with
  ``normalizer="none"`` a lone tab inside a line does *not* separate words, exactly as in jiwer.
* S/D/I/H per utterance come from jiwer's own alignment (``process_words`` /
  ``process_characters``, rapidfuzz Levenshtein opcodes), so the counts equal jiwer's exactly.
* An utterance whose reference is empty (after normalisation) is scored by us, not jiwer: all its
  hypothesis units are insertions (numerator) and it adds 0 reference units (denominator); it is
  listed in ``notes``/``info``. When every reference is empty the rate is undefined (``NaN``, JSON
  ``null``), never a crash. An empty hypothesis is all deletions.
* The 95% interval is the percentile bootstrap over utterances of (errors, reference units)
  (:func:`gapbench.metrics.stats.ratio_ci`), seeded; ``compare_*`` is the paired bootstrap of
  A - B on the same utterances (:func:`gapbench.metrics.stats.paired_ratio_test`).

Per-utterance records: ``{"id", "ref_words", "substitutions", "deletions", "insertions", "hits",
"errors"}``; for CER ``ref_words`` counts reference characters (the key is kept for one schema).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, Self

import numpy as np

from gapbench.core.metric import Metric
from gapbench.core.results import CompareResult, MetricValue, ScoreResult
from gapbench.data.text_pairs import TextPair, check_same_ids, join_kaldi, read_pairs_columns
from gapbench.errors import InputError
from gapbench.metrics.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, paired_ratio_test, ratio_ci
from gapbench.text.normalizers import get_normalizer

Unit = Literal["word", "char"]
PairsSource = str | os.PathLike[str] | Iterable[TextPair | tuple[str, str]]

_KIND = {"word": "wer", "char": "cer"}
_UNITS_NAME = {"word": "words", "char": "characters"}
MAX_IDS_SHOWN = 10
_MULTI_SPACE = re.compile(r"\s\s+")


def tokenize(text: str, unit: Unit = "word") -> list[str]:
    """jiwer's default tokenisation (``wer_default`` / ``cer_default``) of one string."""
    if unit == "char":
        return list(text.strip())
    return [w for w in _MULTI_SPACE.sub(" ", text).strip().split(" ") if w]


def _align_counts(refs: list[str], hyps: list[str], unit: Unit) -> list[tuple[int, int, int, int]]:
    """``(S, D, I, H)`` per utterance from one jiwer call (references must be non-empty)."""
    import jiwer

    if not refs:
        return []

    def transform(sentences: list[str]) -> list[list[str]]:
        # jiwer's wer_default / cer_default, without its per-transform list passes (same tokens)
        return [tokenize(x, unit) for x in sentences]

    out = jiwer.process_words(refs, hyps, reference_transform=transform, hypothesis_transform=transform)
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
    return rows


def _text(x: Any, what: str, index: int) -> str:
    if isinstance(x, str):
        return x
    text = getattr(x, "text", None)  # gapbench.core.predictions.Transcript
    if isinstance(text, str):
        return text
    raise InputError(None, f"{what} {index}", "a string or a Transcript", x)


class WERMetric(Metric):
    """Mergeable WER/CER state: per-utterance (S, D, I, H) counts, never the texts.

    ``update`` normalises and aligns a batch; ``merge`` concatenates shards in order, so
    ``a.merge(b).compute()`` equals a one-shot ``update`` over a's then b's utterances (intervals
    included, for the same seed). Utterances given without ids are named by their position.
    """

    def __init__(self, unit: Unit = "word", normalizer: str = "none") -> None:
        if unit not in _KIND:
            raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
        self.unit: Unit = unit
        self.normalizer = normalizer
        self.name = _KIND[unit]
        self._normalize = get_normalizer(normalizer)
        self.ids: list[str | None] = []
        self.subs: list[int] = []
        self.dels: list[int] = []
        self.ins: list[int] = []
        self.hits: list[int] = []

    def __len__(self) -> int:
        return len(self.ids)

    def update(
        self, predictions: Sequence[Any], references: Sequence[str], ids: Sequence[Any] | None = None
    ) -> None:
        """Add hypotheses (``str`` or ``Transcript``) with their reference strings, same order."""
        if len(predictions) != len(references):
            raise InputError(
                None, None, f"as many predictions as references ({len(references)})", len(predictions)
            )
        if ids is not None and len(ids) != len(references):
            raise InputError(None, None, f"as many ids as references ({len(references)})", len(ids))
        offset = len(self.ids)
        hyps = [
            p if isinstance(p, str) else _text(p, "prediction", offset + k) for k, p in enumerate(predictions)
        ]
        refs = [
            r if isinstance(r, str) else _text(r, "reference", offset + k) for k, r in enumerate(references)
        ]
        if self.normalizer != "none":
            norm = self._normalize
            refs = [norm(r) for r in refs]
            hyps = [norm(h) for h in hyps]
        empty = [k for k, r in enumerate(refs) if not r.strip()]
        if empty:
            empty_set = set(empty)
            keep = [k for k in range(len(refs)) if k not in empty_set]
            aligned = iter(_align_counts([refs[k] for k in keep], [hyps[k] for k in keep], self.unit))
            rows = [
                (0, 0, len(tokenize(hyps[k], self.unit)), 0) if k in empty_set else next(aligned)
                for k in range(len(refs))
            ]
        else:
            rows = _align_counts(refs, hyps, self.unit)
        self.ids.extend(
            [None if u is None else str(u) for u in ids] if ids is not None else [None] * len(rows)
        )
        if rows:
            s, d, i, h = zip(*rows)
            self.subs.extend(s)
            self.dels.extend(d)
            self.ins.extend(i)
            self.hits.extend(h)

    def merge(self, other: Self) -> Self:
        if (other.unit, other.normalizer) != (self.unit, self.normalizer):
            raise ValueError(
                f"cannot merge {other.name}/{other.normalizer} into {self.name}/{self.normalizer}"
            )
        self.ids.extend(other.ids)
        self.subs.extend(other.subs)
        self.dels.extend(other.dels)
        self.ins.extend(other.ins)
        self.hits.extend(other.hits)
        return self

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-utterance ``(errors, reference units)`` as float arrays (bootstrap inputs)."""
        s, d, i, h = (np.asarray(x, dtype=np.int64) for x in (self.subs, self.dels, self.ins, self.hits))
        return (s + d + i).astype(float), (h + s + d).astype(float)

    def utterance_ids(self) -> list[str]:
        return [str(k) if u is None else u for k, u in enumerate(self.ids)]

    def records(self) -> list[dict[str, Any]]:
        return [
            {
                "id": uid,
                "ref_words": h + s + d,
                "substitutions": s,
                "deletions": d,
                "insertions": i,
                "hits": h,
                "errors": s + d + i,
            }
            for uid, s, d, i, h in zip(self.utterance_ids(), self.subs, self.dels, self.ins, self.hits)
        ]

    def _empty_ref_notes(self, notes: list[str], info: dict[str, Any]) -> None:
        units = _UNITS_NAME[self.unit]
        empty = [k for k, (h, s, d) in enumerate(zip(self.hits, self.subs, self.dels)) if not (h or s or d)]
        info["empty_references"] = len(empty)
        if not empty:
            return
        uids = self.utterance_ids()
        shown = [uids[k] for k in empty[:MAX_IDS_SHOWN]]
        info["empty_reference_ids"] = shown
        inserted = sum(self.ins[k] for k in empty)
        more = f" (first {MAX_IDS_SHOWN})" if len(empty) > MAX_IDS_SHOWN else ""
        notes.append(
            f"{len(empty)} utterance(s) with an empty reference after normalisation{more}: "
            f"{', '.join(shown)}; their {inserted} hypothesis {units} count as insertions, "
            f"with 0 reference {units}"
        )
        if len(empty) == len(self.ids):
            notes.append(f"every reference is empty: {self.name.upper()} is undefined (null)")

    def compute(
        self, *, bootstrap: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED, ci: bool = True
    ) -> ScoreResult:
        n = len(self.ids)
        if n == 0:
            raise InputError(None, None, "at least one utterance to score")
        S, D, I, H = sum(self.subs), sum(self.dels), sum(self.ins), sum(self.hits)  # noqa: E741 - the field's own letters
        ref_units = H + S + D
        errors = S + D + I
        value = errors / ref_units if ref_units > 0 else float("nan")
        notes: list[str] = []
        units = _UNITS_NAME[self.unit]
        info: dict[str, Any] = {
            "normalizer": self.normalizer,
            "utterances": n,
            f"reference_{units}": ref_units,
            f"hypothesis_{units}": H + S + I,
            "errors": errors,
        }
        self._empty_ref_notes(notes, info)
        interval = None
        if ci and bootstrap > 0 and ref_units > 0:
            num, den = self.arrays()
            interval = ratio_ci(num, den, bootstrap, seed)
            if interval is None:
                notes.append(f"only {n} utterance: no bootstrap interval")
            else:
                info["bootstrap"] = {"resamples": bootstrap, "seed": seed, "unit": "utterance"}
        metrics = {
            self.name: MetricValue(value, interval),
            "substitutions": MetricValue(float(S)),
            "deletions": MetricValue(float(D)),
            "insertions": MetricValue(float(I)),
            "hits": MetricValue(float(H)),
        }
        return ScoreResult(self.name, metrics, info=info, notes=notes, records=self.records())


# --------------------------------------------------------------------------------------------
# Loading pairs from any supported source


def _pairs_from_iterable(items: Iterable[TextPair | tuple[str, str]]) -> list[TextPair]:
    out: list[TextPair] = []
    for k, item in enumerate(items):
        if isinstance(item, TextPair):
            out.append(item)
            continue
        if isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(x, str) for x in item):
            out.append(TextPair(item[0], item[1]))
            continue
        raise InputError(None, f"pair {k}", "a (ref, hyp) tuple of strings or a TextPair", item)
    return out


def _check_unique(ids: list[str | None] | None) -> None:
    if ids is None:
        return
    seen: set[str] = set()
    for u in ids:
        if u is not None:
            if u in seen:
                raise InputError(None, f"utterance {u!r}", "unique utterance ids", "a duplicate")
            seen.add(u)


Loaded = tuple[list[str], list[str], list[str | None] | None, str | None]


def load_pairs(
    pairs: PairsSource | None = None,
    *,
    refs: Sequence[str] | None = None,
    hyps: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    ref_file: str | os.PathLike[str] | None = None,
    hyp_file: str | os.PathLike[str] | None = None,
) -> Loaded:
    """Resolve exactly one input source into ``(refs, hyps, ids or None, file name or None)``."""
    given = [
        pairs is not None,
        refs is not None or hyps is not None,
        ref_file is not None or hyp_file is not None,
    ]
    if sum(given) != 1:
        raise InputError(
            None, None, "exactly one input: a pairs file/list, refs= with hyps=, or ref_file= with hyp_file="
        )
    if refs is not None or hyps is not None:
        if refs is None or hyps is None:
            raise InputError(None, None, "both refs= and hyps=")
        if len(refs) != len(hyps):
            raise InputError(None, None, f"as many hypotheses as references ({len(refs)})", len(hyps))
        if ids is not None and len(ids) != len(refs):
            raise InputError(None, None, f"as many ids as references ({len(refs)})", len(ids))
        if not refs:
            raise InputError(None, None, "at least one reference", "an empty list")
        uids = None if ids is None else [None if u is None else str(u) for u in ids]
        _check_unique(uids)
        return list(refs), list(hyps), uids, None
    if pairs is not None:
        if isinstance(pairs, (str, os.PathLike)):
            columns = read_pairs_columns(pairs)
            return columns.refs, columns.hyps, columns.ids, os.fspath(pairs)
        loaded = _pairs_from_iterable(pairs)
        if not loaded:
            raise InputError(None, None, "at least one (ref, hyp) pair", "an empty list")
        source = None
    else:
        if ref_file is None or hyp_file is None:
            raise InputError(None, None, "both --ref and --hyp Kaldi text files")
        loaded, source = join_kaldi(ref_file, hyp_file), os.fspath(hyp_file)
    has_ids = any(p.id is not None for p in loaded)
    ids_out = [p.id for p in loaded] if has_ids else None
    _check_unique(ids_out)
    return [p.ref for p in loaded], [p.hyp for p in loaded], ids_out, source


def _metric_for(loaded: Loaded, unit: Unit, normalizer: str) -> WERMetric:
    refs, hyps, ids, _ = loaded
    metric = WERMetric(unit, normalizer)
    metric.update(hyps, refs, ids)
    return metric


def _score(
    unit: Unit,
    pairs: PairsSource | None,
    normalizer: str,
    bootstrap: int,
    seed: int,
    ci: bool,
    **sources: Any,
) -> ScoreResult:
    loaded = load_pairs(pairs, **sources)
    result = _metric_for(loaded, unit, normalizer).compute(bootstrap=bootstrap, seed=seed, ci=ci)
    if loaded[3] is not None:
        result.info["source"] = loaded[3]
    return result


def score_wer(
    pairs: PairsSource | None = None,
    *,
    refs: Sequence[str] | None = None,
    hyps: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    ref_file: str | os.PathLike[str] | None = None,
    hyp_file: str | os.PathLike[str] | None = None,
    normalizer: str = "none",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """Corpus WER with a bootstrap 95% CI, S/D/I/H counts and per-utterance records.

    Give exactly one input, whichever you already have, so nobody writes a temp file:

    * ``pairs``: a ``PAIRS.jsonl`` path, or an iterable of ``(ref, hyp)`` tuples / ``TextPair``;
    * ``refs`` and ``hyps`` (optionally ``ids``): parallel lists, as from a model loop;
    * ``ref_file`` and ``hyp_file``: Kaldi ``text`` files joined on utterance id.

    ``normalizer`` is ``"none"`` (jiwer's numbers exactly), ``"basic"`` or ``"whisper"`` (see
    :mod:`gapbench.text.normalizers`), applied to both sides. ``bootstrap`` resamples with
    ``seed``; ``ci=False`` skips the interval. Bad input raises :class:`InputError`.
    """
    return _score(
        "word",
        pairs,
        normalizer,
        bootstrap,
        seed,
        ci,
        refs=refs,
        hyps=hyps,
        ids=ids,
        ref_file=ref_file,
        hyp_file=hyp_file,
    )


def score_cer(
    pairs: PairsSource | None = None,
    *,
    refs: Sequence[str] | None = None,
    hyps: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    ref_file: str | os.PathLike[str] | None = None,
    hyp_file: str | os.PathLike[str] | None = None,
    normalizer: str = "none",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """Corpus CER (equals ``jiwer.cer``); inputs and options as :func:`score_wer`."""
    return _score(
        "char",
        pairs,
        normalizer,
        bootstrap,
        seed,
        ci,
        refs=refs,
        hyps=hyps,
        ids=ids,
        ref_file=ref_file,
        hyp_file=hyp_file,
    )


# --------------------------------------------------------------------------------------------
# Paired comparison


def _align_systems(a: Loaded, b: Loaded, a_name: str, b_name: str) -> Loaded:
    """B's utterances in A's order: by id when both have ids, else by position."""
    a_ids, b_ids = a[2], b[2]
    if a_ids is not None and b_ids is not None and None not in a_ids and None not in b_ids:
        check_same_ids(a_ids, b_ids, a_name, b_name)
        b_index = {u: k for k, u in enumerate(b_ids)}
        order = [b_index[u] for u in a_ids]
        return [b[0][k] for k in order], [b[1][k] for k in order], list(a_ids), b[3]
    if len(a[0]) != len(b[0]):
        raise InputError(
            b_name, None, f"as many utterances as {a_name} ({len(a[0])}) to pair them by order", len(b[0])
        )
    return b


def _compare(
    unit: Unit, a: PairsSource, b: PairsSource, normalizer: str, bootstrap: int, seed: int, ci: bool
) -> CompareResult:
    pa, pb = load_pairs(a), load_pairs(b)
    a_name, b_name = pa[3] or "A", pb[3] or "B"
    pb = _align_systems(pa, pb, a_name, b_name)
    norm = get_normalizer(normalizer)
    ids = pa[2]
    for k, (x, y) in enumerate(zip(pa[0], pb[0])):
        if x == y:
            continue
        if tokenize(norm(x), unit) != tokenize(norm(y), unit):
            where = f"utterance {ids[k]!r}" if ids is not None else f"utterance {k} (by order)"
            raise InputError(b_name, where, f"the same reference as in {a_name} ({x!r})", y)
    ma, mb = _metric_for(pa, unit, normalizer), _metric_for(pb, unit, normalizer)
    num_a, den = ma.arrays()
    num_b, _ = mb.arrays()
    kind = _KIND[unit]
    n = len(pa[0])
    resamples = bootstrap if ci else 0
    test = paired_ratio_test(num_a, den, num_b, den, resamples, seed)
    ci_a = ratio_ci(num_a, den, resamples, seed) if resamples > 0 and den.sum() > 0 else None
    ci_b = ratio_ci(num_b, den, resamples, seed) if resamples > 0 and den.sum() > 0 else None
    notes: list[str] = []
    info: dict[str, Any] = {
        "normalizer": normalizer,
        "a": a_name,
        "b": b_name,
        f"reference_{_UNITS_NAME[unit]}": int(den.sum()),
        "errors_a": int(num_a.sum()),
        "errors_b": int(num_b.sum()),
    }
    ma._empty_ref_notes(notes, info)
    if resamples > 0 and test.ci95 is None:
        notes.append(f"only {n} utterance(s) or no reference {_UNITS_NAME[unit]}: no bootstrap test")
    if test.resamples:
        info["bootstrap"] = {"resamples": test.resamples, "seed": seed, "unit": "utterance", "paired": True}
    return CompareResult(
        kind=kind,
        metric=kind,
        a=MetricValue(test.a, ci_a),
        b=MetricValue(test.b, ci_b),
        diff=MetricValue(test.diff, test.ci95),
        p_value=test.p_value,
        n=n,
        info=info,
        notes=notes,
    )


def compare_wer(
    a: PairsSource,
    b: PairsSource,
    *,
    normalizer: str = "none",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
) -> CompareResult:
    """Paired bootstrap of WER(A) - WER(B) on the same references.

    ``a`` and ``b`` are pairs files or lists as for :func:`score_wer`. Utterances are matched by id
    when both sides have ids, else by order; after normalisation the references must be
    identical, otherwise :class:`InputError` names the first utterance that differs.
    """
    return _compare("word", a, b, normalizer, bootstrap, seed, ci)


def compare_cer(
    a: PairsSource,
    b: PairsSource,
    *,
    normalizer: str = "none",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
) -> CompareResult:
    """Paired bootstrap of CER(A) - CER(B); see :func:`compare_wer`."""
    return _compare("char", a, b, normalizer, bootstrap, seed, ci)
