"""WER and CER from whatever you have: a pairs JSONL file, parallel lists, Kaldi ``text`` files.

``score_wer`` / ``score_cer`` and ``compare_wer`` / ``compare_cer`` are one function each with
the unit fixed. A plain string where a list is expected is one utterance, as in jiwer.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from gapbench.core.results import CompareResult, ScoreResult
from gapbench.data.text_pairs import TextPair, check_same_ids, join_kaldi, read_pairs_columns
from gapbench.errors import InputError
from gapbench.metrics.intervals import DEFAULT_RESAMPLES, DEFAULT_SEED
from gapbench.metrics.wer import KIND, Unit, WERMetric, tokenize
from gapbench.scoring.compare import compare_metrics
from gapbench.text_normalizers.normalizers import get_normalizer

M = TypeVar("M")  # a metric state: update(hyps, refs, ids)

PairsSource = str | os.PathLike[str] | Iterable[TextPair | tuple[str, str]]
Loaded = tuple[list[str], list[str], list[str | None] | None, str | None]


def _pairs_from_iterable(items: Iterable[TextPair | tuple[str, str]]) -> list[TextPair]:
    out: list[TextPair] = []
    for k, item in enumerate(items):
        if isinstance(item, TextPair):
            out.append(item)
        elif isinstance(item, (tuple, list)) and len(item) == 2 and all(isinstance(x, str) for x in item):
            out.append(TextPair(item[0], item[1]))
        else:
            raise InputError(None, f"pair {k}", "a (ref, hyp) tuple of strings or a TextPair", item)
    return out


def _check_unique(ids: list[str | None] | None) -> None:
    seen: set[str] = set()
    for u in ids or []:
        if u is not None:
            if u in seen:
                raise InputError(None, f"utterance {u!r}", "unique utterance ids", "a duplicate")
            seen.add(u)


def _as_list(x: Sequence[str] | str, what: str) -> list[str]:
    if isinstance(x, str):
        return [x]  # one utterance, as jiwer takes it
    if isinstance(x, bytes):
        raise InputError(None, what, "a string or a list of strings", x)
    return list(x)


def load_pairs(
    pairs: PairsSource | None = None,
    *,
    refs: Sequence[str] | str | None = None,
    hyps: Sequence[str] | str | None = None,
    ids: Sequence[str] | None = None,
    ref_file: str | os.PathLike[str] | None = None,
    hyp_file: str | os.PathLike[str] | None = None,
) -> Loaded:
    """Resolve exactly one input source into ``(refs, hyps, ids or None, file name or None)``."""
    given = [pairs is not None, refs is not None or hyps is not None, ref_file is not None or hyp_file is not None]
    if sum(given) != 1:
        raise InputError(None, None, "exactly one input: a pairs file/list, refs= with hyps=, "
                                     "or ref_file= with hyp_file=")
    if refs is not None or hyps is not None:
        if refs is None or hyps is None:
            raise InputError(None, None, "both refs= and hyps=")
        if isinstance(refs, str) != isinstance(hyps, str):
            raise InputError(None, None, "refs= and hyps= both strings (one utterance) or both lists")
        r, h = _as_list(refs, "refs"), _as_list(hyps, "hyps")
        if len(r) != len(h):
            raise InputError(None, None, f"as many hypotheses as references ({len(r)})", len(h))
        if ids is not None and len(ids) != len(r):
            raise InputError(None, None, f"as many ids as references ({len(r)})", len(ids))
        if not r:
            raise InputError(None, None, "at least one reference", "an empty list")
        uids = None if ids is None else [None if u is None else str(u) for u in ids]
        _check_unique(uids)
        return r, h, uids, None
    if pairs is not None:
        if isinstance(pairs, (str, os.PathLike)):
            columns = read_pairs_columns(pairs)
            return columns.refs, columns.hyps, columns.ids, os.fspath(pairs)
        loaded, source = _pairs_from_iterable(pairs), None
        if not loaded:
            raise InputError(None, None, "at least one (ref, hyp) pair", "an empty list")
    else:
        if ref_file is None or hyp_file is None:
            raise InputError(None, None, "both a reference and a hypothesis Kaldi text file")
        loaded, source = join_kaldi(ref_file, hyp_file), os.fspath(hyp_file)
    ids_out = [p.id for p in loaded] if any(p.id is not None for p in loaded) else None
    _check_unique(ids_out)
    return [p.ref for p in loaded], [p.hyp for p in loaded], ids_out, source


def filled(metric: M, loaded: Loaded) -> M:
    """``metric`` updated with the loaded pairs (their ids when every utterance has one)."""
    refs, hyps, ids, _ = loaded
    metric.update(hyps, refs, None if ids is None or None in ids else ids)
    return metric


def scored(metric: Any, loaded: Loaded, bootstrap: int, seed: int, ci: bool) -> ScoreResult:
    """The metric filled with ``loaded`` and computed; ``info["source"]`` names the pairs file."""
    result = filled(metric, loaded).compute(bootstrap=bootstrap, seed=seed, ci=ci)
    if loaded[3] is not None:
        result.info["source"] = loaded[3]
    return result


def _metric(loaded: Loaded, unit: Unit, normalizer: str, alignments: bool = False) -> WERMetric:
    return filled(WERMetric(unit, normalizer, alignments), loaded)


def score_text(
    pairs: PairsSource | None = None,
    *,
    unit: Unit = "word",
    refs: Sequence[str] | str | None = None,
    hyps: Sequence[str] | str | None = None,
    ids: Sequence[str] | None = None,
    ref_file: str | os.PathLike[str] | None = None,
    hyp_file: str | os.PathLike[str] | None = None,
    normalizer: str = "none",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
    alignments: bool = False,
) -> ScoreResult:
    """Corpus WER (``unit="word"``) or CER (``"char"``) with a bootstrap 95% CI, S/D/I/H counts
    and per-utterance records (``alignments=True`` adds each utterance's aligned
    ``[ref, hyp, op]`` triples, see :mod:`gapbench.metrics.wer`).

    Give exactly one input, whichever you already have, so nobody writes a temp file:
    ``pairs`` (a ``PAIRS.jsonl`` path, ``-`` for standard input, or an iterable of ``(ref, hyp)``);
    ``refs`` and ``hyps`` (parallel lists, or two strings for one utterance; optionally ``ids``);
    ``ref_file`` and ``hyp_file`` (Kaldi ``text`` files joined on utterance id). ``normalizer``
    is ``"none"`` (jiwer's numbers exactly), ``"basic"`` or ``"whisper"``, applied to both sides.
    ``ci=False`` skips the interval. Bad input raises :class:`InputError`.
    """
    loaded = load_pairs(pairs, refs=refs, hyps=hyps, ids=ids, ref_file=ref_file, hyp_file=hyp_file)
    return scored(WERMetric(unit, normalizer, alignments), loaded, bootstrap, seed, ci)


score_wer = functools.partial(score_text, unit="word")
score_wer.__doc__ = "Corpus WER (equals ``jiwer.wer``); inputs and options as :func:`score_text`."
score_cer = functools.partial(score_text, unit="char")
score_cer.__doc__ = "Corpus CER (equals ``jiwer.cer``); inputs and options as :func:`score_text`."


def _align_systems(a: Loaded, b: Loaded, a_name: str, b_name: str) -> Loaded:
    """B's utterances in A's order: by id when both have ids, else by position."""
    a_ids, b_ids = a[2], b[2]
    if a_ids is not None and b_ids is not None and None not in a_ids and None not in b_ids:
        check_same_ids(a_ids, b_ids, a_name, b_name)
        b_index = {u: k for k, u in enumerate(b_ids)}
        order = [b_index[u] for u in a_ids]
        return [b[0][k] for k in order], [b[1][k] for k in order], list(a_ids), b[3]
    if len(a[0]) != len(b[0]):
        raise InputError(b_name, None, f"as many utterances as {a_name} ({len(a[0])}) to pair them by order",
                         len(b[0]))
    return b[0], b[1], [str(k) for k in range(len(b[0]))], b[3]


def compare_text(
    a: PairsSource,
    b: PairsSource,
    *,
    unit: Unit = "word",
    a_hyp_file: str | os.PathLike[str] | None = None,
    normalizer: str = "none",
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
) -> CompareResult:
    """Paired bootstrap of WER/CER(A) - WER/CER(B) on the same references.

    ``a`` and ``b`` are pairs files or lists as for :func:`score_text`. Utterances are matched by
    id when both sides have ids, else by order; after normalisation the references must be
    identical, otherwise :class:`InputError` names the first utterance that differs.
    """
    pa, pb = load_pairs(a), load_pairs(b)
    return _compare_loaded(pa, pb, unit, normalizer, bootstrap, seed, ci)


def compare_kaldi(ref_file: str | os.PathLike[str], hyp_a: str | os.PathLike[str],
                  hyp_b: str | os.PathLike[str], *, unit: Unit = "word", normalizer: str = "none",
                  bootstrap: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED, ci: bool = True) -> CompareResult:
    """Two systems' Kaldi hypothesis files against one Kaldi reference file."""
    pa = load_pairs(ref_file=ref_file, hyp_file=hyp_a)
    pb = load_pairs(ref_file=ref_file, hyp_file=hyp_b)
    return _compare_loaded(pa, pb, unit, normalizer, bootstrap, seed, ci)


def pair_systems(pa: Loaded, pb: Loaded, same_reference: Callable[[str, str], bool]
                 ) -> tuple[Loaded, Loaded, str, str]:
    """Two systems' utterances matched by id (else by order): ``(a, b, a_name, b_name)``.

    ``same_reference(x, y)`` says whether two references are one after the metric's own
    normalisation; the first utterance where they are not is an :class:`InputError`.
    """
    a_name, b_name = pa[3] or "A", pb[3] or "B"
    if pa[2] is None or None in pa[2]:
        pa = (pa[0], pa[1], [str(k) for k in range(len(pa[0]))], pa[3])
    pb = _align_systems(pa, pb, a_name, b_name)
    for k, (x, y) in enumerate(zip(pa[0], pb[0])):
        if x != y and not same_reference(x, y):
            raise InputError(b_name, f"utterance {pa[2][k]!r}", f"the same reference as in {a_name} ({x!r})", y)
    return pa, pb, a_name, b_name


def _compare_loaded(pa: Loaded, pb: Loaded, unit: Unit, normalizer: str, bootstrap: int, seed: int,
                    ci: bool) -> CompareResult:
    norm = get_normalizer(normalizer)
    pa, pb, a_name, b_name = pair_systems(pa, pb, lambda x, y: tokenize(norm(x), unit) == tokenize(norm(y), unit))
    result = compare_metrics(_metric(pa, unit, normalizer), _metric(pb, unit, normalizer), KIND[unit],
                             a_label=a_name, b_label=b_name, bootstrap=bootstrap, seed=seed, ci=ci)
    result.info["normalizer"] = normalizer
    return result


compare_wer = functools.partial(compare_text, unit="word")
compare_wer.__doc__ = "Paired bootstrap of WER(A) - WER(B); see :func:`compare_text`."
compare_cer = functools.partial(compare_text, unit="char")
compare_cer.__doc__ = "Paired bootstrap of CER(A) - CER(B); see :func:`compare_text`."

