"""SemDist from whatever you have (the inputs of :func:`gapbench.scoring.text.score_text`).

``score_semdist`` is the mean semantic distance with a bootstrap interval over utterances;
``compare_semdist`` the paired bootstrap of SemDist(A) - SemDist(B) on the same references.
Definition, model and licences: :mod:`gapbench.metrics.semdist`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

from gapbench.core.results import CompareResult, ScoreResult
from gapbench.metrics.intervals import DEFAULT_RESAMPLES, DEFAULT_SEED
from gapbench.metrics.semdist import MODEL_PACKAGE, SemDistMetric
from gapbench.scoring.compare import compare_metrics
from gapbench.scoring.text import PairsSource, filled, load_pairs, pair_systems, scored
from gapbench.text_normalizers.normalizers import get_normalizer


def score_semdist(
    pairs: PairsSource | None = None,
    *,
    refs: Sequence[str] | str | None = None,
    hyps: Sequence[str] | str | None = None,
    ids: Sequence[str] | None = None,
    ref_file: str | os.PathLike[str] | None = None,
    hyp_file: str | os.PathLike[str] | None = None,
    normalizer: str = "none",
    model: str = MODEL_PACKAGE,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """Mean SemDist (``1 - cos`` of sentence embeddings, Kim et al. 2021) with a bootstrap 95% CI
    and per-utterance records ``{"sample_id", "semdist"}``.

    Inputs as :func:`gapbench.scoring.text.score_text` (exactly one of ``pairs``, ``refs`` with
    ``hyps``, ``ref_file`` with ``hyp_file``). ``model`` is the packaged all-MiniLM-L6-v2 (default)
    or a local sentence-transformers directory with mean pooling. Needs ``gapbench[semdist]``.
    """
    loaded = load_pairs(pairs, refs=refs, hyps=hyps, ids=ids, ref_file=ref_file, hyp_file=hyp_file)
    return scored(SemDistMetric(normalizer, model), loaded, bootstrap, seed, ci)


def compare_semdist(
    a: PairsSource,
    b: PairsSource,
    *,
    normalizer: str = "none",
    model: str = MODEL_PACKAGE,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    ci: bool = True,
) -> CompareResult:
    """Paired bootstrap of SemDist(A) - SemDist(B): utterances matched by id (else by order), the
    references must be the same after normalisation."""
    norm = get_normalizer(normalizer)
    pa, pb, a_name, b_name = pair_systems(load_pairs(a), load_pairs(b), lambda x, y: norm(x) == norm(y))
    result = compare_metrics(filled(SemDistMetric(normalizer, model), pa), filled(SemDistMetric(normalizer, model), pb),
                             "semdist",
                             a_label=a_name, b_label=b_name, bootstrap=bootstrap, seed=seed, ci=ci)
    result.info["normalizer"] = normalizer
    return result
