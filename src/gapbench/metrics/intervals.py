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

The interval rule (one rule for every bootstrap family, :func:`bootstrap_intervals`):

* **Bias-corrected percentile (BC)** (Efron 1981; Efron & Tibshirani 1993, sec. 14.3: BCa with
  acceleration ``a = 0``), :func:`bc_percentile_interval`. With ``B`` defined resamples ``θ*`` of
  a statistic whose full-sample value is ``θ̂``: ``z0 = Φ⁻¹((#{θ* < θ̂} + ½ #{θ* = θ̂}) / B)``
  (ties count half, so a distribution with an atom at ``θ̂`` is not called biased; "equal" is
  within ``TIE_RTOL`` relative, because resampled values are re-aggregated in another order and
  differ from ``θ̂`` by rounding), and the interval is the ``Φ(2 z0 ∓ z_{α/2})`` percentiles of
  the ``θ*``. It moves the percentiles instead of the values, so it stays inside the
  statistic's range (its ends are resampled values), and whenever ``|z0| ≤ z_{α/2}`` it contains
  ``θ̂``: ``Φ(2 z0 - z) ≤ Φ(z0) ≤ Φ(2 z0 + z)``; the ends are taken as order statistics rounded
  outward (lower: ``floor``, upper: ``ceil`` of ``q (B - 1)``) so this also holds exactly on a
  discrete distribution.
* **Refusals** (no interval, and a reason the caller prints as a note): fewer than ``MIN_UNITS``
  units; an undefined ``θ̂``; fewer than ``MIN_DISTINCT = 20`` distinct resampled values (the
  statistic then rests on a handful of units, e.g. a COCO class seen in one or two images: its
  2.5% and 97.5% points are a lone atom or two and the interval would be zero-width or
  arbitrary; 20 = 1/α for α = 0.05: below it not even one value per 5% of mass is possible on
  average); ``|z0| > z_{α/2}`` (1.96 at 95%), where more than 97.5% of the resamples lie on one
  side of ``θ̂``: the bootstrap distribution does not describe the estimator there, the plain
  percentile interval would exclude ``θ̂`` and the BC percentiles would be pushed into the last
  resample. Resamples where the statistic is undefined (NaN: a class absent from the resample)
  are left out (the bootstrap conditional on the statistic being defined).
* **Plain percentile** (:func:`percentile_intervals`: same ``MIN_DISTINCT`` guard, linearly
  interpolated percentiles) remains for the paired difference (its interval is about a
  difference, not an estimate with a range). For a ratio of sums
  (WER, DER) the bias is ``O(1/n)`` and BC and plain agree to within resampling noise; for means
  over classes whose membership changes between resamples (mIoU, COCO AP: a rare class that is
  absent from a resample leaves the mean) the plain interval can exclude the point value, which
  BC either contains or refuses.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

from gapbench.core.arrays import safe_ratio

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
MIN_UNITS = 2  # fewer independent units than this: no bootstrap interval (say so instead)
MIN_DISTINCT = 20  # fewer distinct resampled values than this: no interval (see the module doc)
TIE_RTOL = 1e-9  # resampled values within this (relative to max(1, |value|)) count as equal
_MAX_CELLS = 1 << 24  # cap on resamples x units held at once (~64 MiB of int32)


def iter_resample_counts(
    n: int, resamples: int, seed: int = DEFAULT_SEED, rows_per_block: int | None = None
) -> Iterator[np.ndarray]:
    """Yield blocks of the ``(resamples, n)`` multiplicity matrix, in order (int32).

    The draws are one seeded stream of ``resamples x n`` indices taken row by row, so the matrix
    is the same whatever the block size (by default set from ``n`` alone, under a memory cap;
    ``rows_per_block`` asks for smaller blocks, e.g. one per worker job).
    """
    rng = np.random.default_rng(seed)
    cap = max(1, min(resamples, _MAX_CELLS // max(n, 1)))
    rows_per_block = cap if rows_per_block is None else max(1, min(cap, rows_per_block))
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


class Intervals(NamedTuple):
    """Bootstrap intervals with, per column, the reason one was refused (``None`` where given).

    ``bounds`` is ``(2,)`` for a scalar statistic and ``(2, m)`` for ``m`` statistics, NaN in a
    refused column; ``reasons`` always has one entry per column.
    """

    bounds: np.ndarray
    reasons: list[str | None]

    def pair(self, j: int = 0) -> tuple[float, float] | None:
        """Column ``j`` as ``(lo, hi)``, or ``None`` where refused."""
        if self.reasons[j] is not None:
            return None
        b = self.bounds if self.bounds.ndim == 2 else self.bounds[:, None]
        return (float(b[0, j]), float(b[1, j]))


def _tol(value: float) -> float:
    return TIE_RTOL * max(1.0, abs(value))


def _n_distinct(sorted_vals: np.ndarray, tol: float) -> int:
    """Distinct values of a sorted finite array, values closer than ``tol`` counting as one."""
    if sorted_vals.size == 0:
        return 0
    return 1 + int(np.count_nonzero(np.diff(sorted_vals) > tol))


def _sorted_columns(boot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(boot, dtype=float)
    b2 = b[:, None] if b.ndim == 1 else b
    return np.sort(b2, axis=0), np.count_nonzero(~np.isnan(b2), axis=0)  # NaN sort last


def _shape_back(bounds: np.ndarray, boot: np.ndarray) -> np.ndarray:
    return bounds[:, 0] if np.ndim(boot) == 1 else bounds


def percentile_intervals(boot: np.ndarray, level: float = 0.95) -> Intervals:
    """Plain percentile intervals (linear interpolation) with the ``MIN_DISTINCT`` guard.

    ``boot``: ``(B,)`` or ``(B, m)`` resampled values, NaN where undefined (left out).
    """
    srt, n_ok = _sorted_columns(boot)
    m = srt.shape[1]
    bounds = np.full((2, m), np.nan)
    reasons: list[str | None] = []
    alpha = (1.0 - level) / 2.0
    for j in range(m):
        col = srt[: n_ok[j], j]
        distinct = _n_distinct(col, _tol(float(np.median(col)) if col.size else 0.0))
        if distinct < MIN_DISTINCT:
            reasons.append(_few_distinct(distinct))
            continue
        bounds[:, j] = np.percentile(col, [100 * alpha, 100 * (1 - alpha)])
        reasons.append(None)
    return Intervals(_shape_back(bounds, boot), reasons)


def _few_distinct(distinct: int) -> str:
    if distinct == 0:
        return "no resample defines the statistic: no interval"
    return (f"only {distinct} distinct resampled value{'s' if distinct != 1 else ''} "
            f"(fewer than {MIN_DISTINCT}: too few units carry it): no interval")


def bc_percentile_interval(boot: np.ndarray, point: float | np.ndarray, level: float = 0.95) -> Intervals:
    """Bias-corrected percentile intervals (BC; BCa with ``a = 0``), per column.

    ``boot``: ``(B,)`` or ``(B, m)`` resampled values (NaN where undefined: left out); ``point``:
    the full-sample value(s), scalar or ``(m,)`` (NaN: undefined, refused). Returns the bounds and
    a reason for each refused column (see the module docstring for the rule). Bounds within
    ``TIE_RTOL`` of the point are set to the point itself, so ``lo <= point <= hi`` holds exactly
    even when the resamples were re-aggregated in a different floating-point order.
    """
    srt, n_ok = _sorted_columns(boot)
    m = srt.shape[1]
    pts = np.broadcast_to(np.asarray(point, dtype=float).reshape(-1), (m,))
    bounds = np.full((2, m), np.nan)
    reasons: list[str | None] = []
    alpha = (1.0 - level) / 2.0
    z = NormalDist().inv_cdf(1.0 - alpha)
    for j in range(m):
        theta = float(pts[j])
        B = int(n_ok[j])
        col = srt[:B, j]
        if math.isnan(theta):
            reasons.append("undefined value: no interval")
            continue
        tol = _tol(theta)
        distinct = _n_distinct(col, tol)
        if distinct < MIN_DISTINCT:
            reasons.append(_few_distinct(distinct))
            continue
        below = int(np.searchsorted(col, theta - tol, "left"))
        ties = int(np.searchsorted(col, theta + tol, "right")) - below
        share = (below + 0.5 * ties) / B
        z0 = NormalDist().inv_cdf(share) if 0.0 < share < 1.0 else math.copysign(math.inf, share - 0.5)
        if abs(z0) > z:
            reasons.append(
                f"bias correction degenerate ({share:.1%} of {B} resamples below the value, "
                f"|z0| = {abs(z0):.2f} > {z:.2f}): no interval"
            )
            continue
        q_lo = NormalDist().cdf(2 * z0 - z)
        q_hi = NormalDist().cdf(2 * z0 + z)
        lo = float(col[max(0, min(B - 1, math.floor(q_lo * (B - 1))))])
        hi = float(col[max(0, min(B - 1, math.ceil(q_hi * (B - 1))))])
        lo = theta if abs(lo - theta) <= tol else lo
        hi = theta if abs(hi - theta) <= tol else hi
        if not lo <= theta <= hi:  # cannot happen with |z0| <= z; never print a wrong interval
            reasons.append("bias-corrected interval excludes the value (numerical trouble): no interval")
            continue
        bounds[:, j] = (lo, hi)
        reasons.append(None)
    return Intervals(_shape_back(bounds, boot), reasons)


def bootstrap_stats(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> np.ndarray:
    """Evaluate ``statistic(counts_block) -> (rows,) or (rows, m)`` on every resample."""
    parts = [np.asarray(statistic(c), dtype=float) for c in iter_resample_counts(n, resamples, seed)]
    return np.concatenate(parts, axis=0)


def bootstrap_intervals(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> Intervals:
    """The rule every bootstrap family should use: BC percentile intervals with reasons.

    ``statistic(counts_block) -> (rows,) or (rows, m)``; the point value is the statistic at
    all-ones multiplicities. Fewer than ``MIN_UNITS`` units (or no resamples): every column
    refused with a reason.
    """
    point = np.asarray(statistic(np.ones((1, max(n, 1)), dtype=np.int32)), dtype=float)[0]
    m = point.size
    if n < MIN_UNITS or resamples <= 0:
        why = (f"only {n} unit{'s' if n != 1 else ''} (fewer than {MIN_UNITS}): no interval"
               if n < MIN_UNITS else "no resamples: no interval")
        bounds = np.full((2, m), np.nan)
        return Intervals(bounds[:, 0] if point.ndim == 0 else bounds, [why] * m)
    return bc_percentile_interval(bootstrap_stats(n, statistic, resamples, seed), point, level)


def ratio_interval(
    numerators: np.ndarray,
    denominators: np.ndarray,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Intervals:
    """BC interval (with a reason when refused) of ``sum(num) / sum(den)`` resampling units."""
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    return bootstrap_intervals(len(num), lambda c: safe_ratio(c @ num, c @ den), resamples, seed)


def wilson_interval(successes: float, total: float, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for ``successes / total``; ``None`` when ``total`` is 0.

    Its ends are exactly 0 at no successes and exactly 1 at all successes (in floating point
    ``centre - half`` is ~1e-17 there, which would exclude the point value 0).
    """
    if total <= 0:
        return None
    p = successes / total
    denom = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    lo = 0.0 if successes <= 0 else float(max(0.0, min(p, centre - half)))
    hi = 1.0 if successes >= total else float(min(1.0, max(p, centre + half)))
    return (lo, hi)


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
        lambda c: safe_ratio(c @ na, c @ da), lambda c: safe_ratio(c @ nb, c @ db), len(na), resamples, seed
    )

