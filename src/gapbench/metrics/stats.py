"""Confidence intervals and paired tests shared by every metric family.

* Bootstrap: the nonparametric percentile bootstrap (Efron & Tibshirani 1993, ch. 13) over the
  evaluation's independent units (utterances, images, files). Resamples are represented as a
  matrix of multiplicities ``counts[b, i]`` (how often unit ``i`` is drawn in resample ``b``), so a
  metric that is a ratio of per-unit sums re-aggregates with one matrix product instead of
  re-scoring anything.
* Wilson score interval for a binomial proportion (Wilson 1927), the closed form for accuracy.
* Paired bootstrap for A-vs-B on the same units (Koehn 2004; Bisani & Ney 2004): both systems are
  resampled with the same draws; the p-value is the two-sided test of a zero difference using the
  bootstrap distribution shifted to the null (Efron & Tibshirani 1993, alg. 16.1), with the
  ``(1 + #) / (B + 1)`` correction so it is never exactly zero.

Everything is seeded: the same ``seed`` gives the same interval on every machine.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
MIN_UNITS = 2  # fewer independent units than this: no bootstrap interval (say so instead)
_MAX_CELLS = 1 << 24  # cap on resamples x units held at once (~64 MiB of int32)


def iter_resample_counts(n: int, resamples: int, seed: int = DEFAULT_SEED) -> Iterator[np.ndarray]:
    """Yield blocks of the ``(resamples, n)`` multiplicity matrix, in order.

    The block size depends only on ``n``, so results do not depend on memory settings.
    """
    rng = np.random.default_rng(seed)
    rows_per_block = max(1, min(resamples, _MAX_CELLS // max(n, 1)))
    done = 0
    while done < resamples:
        rows = min(rows_per_block, resamples - done)
        idx = rng.integers(0, n, size=(rows, n))
        idx += (np.arange(rows) * n)[:, None]
        counts = np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n).astype(np.int32)
        yield counts
        done += rows


def resample_counts(n: int, resamples: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The whole ``(resamples, n)`` multiplicity matrix (use the iterator for huge ``n``)."""
    return np.concatenate(list(iter_resample_counts(n, resamples, seed)), axis=0)


def percentile_interval(stats: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Percentile interval along axis 0; columns whose resamples are all NaN give NaN."""
    stats = np.asarray(stats, dtype=float)
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are expected
        return np.nanpercentile(stats, [100 * alpha, 100 * (1 - alpha)], axis=0)


def bias_corrected_interval(stats: np.ndarray, point: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Percentile interval of ``stats - bias`` where ``bias = mean(stats) - point``.

    For statistics whose resampled values are biased (interpolated AP: its precision envelope is
    a running maximum, so noisier resampled curves score higher), the plain percentile interval
    can miss the point estimate entirely. Subtracting the bootstrap estimate of the bias
    (Efron & Tibshirani 1993, sec. 10.2) re-centres the spread on the estimate.
    """
    stats = np.asarray(stats, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are expected
        bias = np.nanmean(stats, axis=0) - np.asarray(point, dtype=float)
    return percentile_interval(stats - bias, level)


def bootstrap_stats(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> np.ndarray:
    """Evaluate ``statistic(counts_block) -> (rows,) or (rows, m)`` on every resample."""
    parts = [np.asarray(statistic(c), dtype=float) for c in iter_resample_counts(n, resamples, seed)]
    return np.concatenate(parts, axis=0)


def bootstrap_ci(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> np.ndarray | None:
    """95% percentile interval(s) of ``statistic``; ``None`` when ``n < MIN_UNITS``.

    Returns shape ``(2,)`` for a scalar statistic, ``(2, m)`` for ``m`` statistics at once.
    """
    if n < MIN_UNITS or resamples <= 0:
        return None
    return percentile_interval(bootstrap_stats(n, statistic, resamples, seed))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def ratio_ci(
    numerators: np.ndarray,
    denominators: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float] | None:
    """Interval of ``sum(num) / sum(den)`` resampling units (e.g. errors / reference words)."""
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    ci = bootstrap_ci(len(num), lambda c: _ratio(c @ num, c @ den), resamples, seed)
    return None if ci is None else (float(ci[0]), float(ci[1]))


def wilson_interval(successes: float, total: float, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for ``successes / total``; ``None`` when ``total`` is 0."""
    if total <= 0:
        return None
    p = successes / total
    denom = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


@dataclass(frozen=True)
class PairedTest:
    """A minus B: the observed difference, its 95% interval and the two-sided p-value."""

    a: float
    b: float
    diff: float
    ci95: tuple[float, float] | None
    p_value: float
    resamples: int


def paired_bootstrap(
    statistic_a: Callable[[np.ndarray], np.ndarray],
    statistic_b: Callable[[np.ndarray], np.ndarray],
    n: int,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedTest:
    """Paired bootstrap of ``stat_a - stat_b`` over the same ``n`` units.

    Each statistic maps a counts block ``(rows, n)`` to ``(rows,)``; the full-sample value is the
    statistic at all-ones multiplicities.
    """
    ones = np.ones((1, n), dtype=np.int32)
    a = float(statistic_a(ones)[0])
    b = float(statistic_b(ones)[0])
    observed = a - b
    if n < MIN_UNITS or resamples <= 0:
        return PairedTest(a, b, observed, None, float("nan"), 0)
    diffs = bootstrap_stats(n, lambda c: statistic_a(c) - statistic_b(c), resamples, seed)
    diffs = diffs[~np.isnan(diffs)]
    if diffs.size == 0:
        return PairedTest(a, b, observed, None, float("nan"), 0)
    lo, hi = percentile_interval(diffs)
    extreme = np.count_nonzero(np.abs(diffs - observed) >= abs(observed) - 1e-15)
    p = (1 + extreme) / (diffs.size + 1)
    return PairedTest(a, b, observed, (float(lo), float(hi)), float(min(1.0, p)), int(diffs.size))


def paired_ratio_test(
    num_a: np.ndarray,
    den_a: np.ndarray,
    num_b: np.ndarray,
    den_b: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedTest:
    """Paired test for corpus ratios such as WER (errors / reference words) of two systems."""
    na, da = np.asarray(num_a, float), np.asarray(den_a, float)
    nb, db = np.asarray(num_b, float), np.asarray(den_b, float)
    return paired_bootstrap(
        lambda c: _ratio(c @ na, c @ da), lambda c: _ratio(c @ nb, c @ db), len(na), resamples, seed
    )


MIN_DISTINCT = 20  # fewer distinct resampled values than this: the interval is not trustworthy


def bootstrap_interval(boot: np.ndarray, point: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
    """Percentile intervals of each column of ``boot`` ``(B, m)``, or a reason why not.

    Columns whose resamples are undefined (NaN) or take fewer than ``MIN_DISTINCT`` distinct
    values get no interval (NaN bounds) and a one-phrase reason; the rest get the percentile
    interval.
    """
    boot = np.asarray(boot, dtype=float).reshape(len(boot), -1)
    point = np.asarray(point, dtype=float).reshape(-1)
    bounds = percentile_interval(boot)
    reasons: list[str | None] = []
    for j in range(boot.shape[1]):
        col = boot[:, j][~np.isnan(boot[:, j])]
        if col.size == 0 or np.isnan(point[j]):
            reasons.append("undefined on the resamples")
        elif np.unique(col).size < MIN_DISTINCT:
            reasons.append(f"fewer than {MIN_DISTINCT} distinct resampled values")
        else:
            reasons.append(None)
    for j, r in enumerate(reasons):
        if r is not None:
            bounds[:, j] = np.nan
    return bounds, reasons
