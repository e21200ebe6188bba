"""The shared interval machinery, checked against scipy and against explicit resampling."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from gapbench.metrics import intervals


@pytest.mark.parametrize("k,n", [(0, 1), (0, 10), (3, 10), (10, 10), (512, 1000), (1, 3)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ref = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = intervals.wilson_interval(k, n)
    assert lo == pytest.approx(ref.low, abs=1e-12)
    assert hi == pytest.approx(ref.high, abs=1e-12)


def test_wilson_empty_is_none() -> None:
    assert intervals.wilson_interval(0, 0) is None


def test_counts_equal_index_resampling() -> None:
    """The multiplicity matrix is exactly the bincount of ordinary index resamples."""
    n, b, seed = 37, 50, 7
    counts = intervals.resample_counts(n, b, seed)
    idx = np.random.default_rng(seed).integers(0, n, size=(b, n))
    expected = np.stack([np.bincount(row, minlength=n) for row in idx])
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum(axis=1).tolist() == [n] * b


def _plain_ratio_ci(num: np.ndarray, den: np.ndarray, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """The plain percentile interval of a ratio of sums, from the module's primitives."""
    boot = intervals.bootstrap_stats(len(num), lambda c: c @ num / (c @ den), resamples, seed)
    lo, hi = intervals.percentile_interval(boot)
    return float(lo), float(hi)


def test_resampled_ratio_equals_explicit_loop() -> None:
    rng = np.random.default_rng(1)
    num = rng.integers(0, 5, size=200).astype(float)
    den = rng.integers(1, 20, size=200).astype(float)
    lo, hi = _plain_ratio_ci(num, den, resamples=300, seed=3)
    idx = np.random.default_rng(3).integers(0, 200, size=(300, 200))
    boot = [num[i].sum() / den[i].sum() for i in idx]
    ref = np.percentile(boot, [2.5, 97.5])
    assert (lo, hi) == pytest.approx(tuple(ref), abs=1e-12)
    assert lo <= num.sum() / den.sum() <= hi


def test_ci_reproducible_and_seed_dependent() -> None:
    num, den = np.arange(50.0), np.full(50, 60.0)
    assert _plain_ratio_ci(num, den, seed=5) == _plain_ratio_ci(num, den, seed=5)
    assert _plain_ratio_ci(num, den, seed=5) != _plain_ratio_ci(num, den, seed=6)


def test_too_few_units_or_resamples_give_no_interval() -> None:
    assert intervals.ratio_interval(np.array([1.0]), np.array([4.0])).pair() is None
    none = intervals.ratio_interval(np.array([1.0, 2.0]), np.array([4.0, 4.0]), resamples=0)
    assert none.pair() is None and "no resamples" in none.reasons[0]


def test_blocks_concatenate_to_the_same_matrix() -> None:
    """Splitting resamples into blocks (memory cap) must not change the draws."""
    n = 5000
    blocks = list(intervals.iter_resample_counts(n, 40, seed=2))
    whole = np.concatenate(blocks)
    assert whole.shape == (40, n)
    idx = np.random.default_rng(2).integers(0, n, size=(40, n))
    np.testing.assert_array_equal(whole[0], np.bincount(idx[0], minlength=n))


def test_paired_identical_systems() -> None:
    e, r = np.array([1.0, 0, 2, 3, 1]), np.array([5.0, 4, 6, 7, 5])
    t = intervals.paired_ratio_test(e, r, e, r, resamples=200)
    assert t.diff == 0.0 and t.ci95 == (0.0, 0.0) and t.p_value == 1.0


def test_paired_clear_difference_is_significant() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(5, 15, size=300).astype(float)
    err_a = rng.binomial(ref.astype(int), 0.30).astype(float)
    err_b = rng.binomial(ref.astype(int), 0.10).astype(float)
    t = intervals.paired_ratio_test(err_a, ref, err_b, ref, resamples=500, seed=1)
    assert t.diff == pytest.approx(err_a.sum() / ref.sum() - err_b.sum() / ref.sum())
    assert t.ci95[0] > 0 and t.p_value < 0.01


def test_paired_noise_is_not_significant() -> None:
    rng = np.random.default_rng(4)
    ref = rng.integers(5, 15, size=300).astype(float)
    err_a = rng.binomial(ref.astype(int), 0.2).astype(float)
    err_b = rng.permutation(err_a)  # same distribution, unrelated pairing
    t = intervals.paired_ratio_test(err_a, ref, err_b, ref, resamples=500, seed=1)
    assert t.ci95[0] <= t.diff <= t.ci95[1]
    assert t.p_value > 0.05 or abs(t.diff) < 0.02


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30)), min_size=2, max_size=40), st.integers(0, 99))
def test_plain_ratio_interval_is_ordered_and_bounded(units: list[tuple[int, int]], seed: int) -> None:
    num = np.array([u[0] for u in units], float)
    den = np.array([u[1] for u in units], float)
    lo, hi = _plain_ratio_ci(num, den, resamples=100, seed=seed)
    ratios = num / den
    assert lo <= hi
    assert ratios.min() - 1e-12 <= lo and hi <= ratios.max() + 1e-12


def test_bc_without_bias_equals_percentile_order_statistics() -> None:
    """z0 = 0 (half the resamples below the value): BC is the plain percentile interval."""
    boot = np.arange(1000.0) / 1000  # values 0.000 .. 0.999
    lo, hi = intervals.bc_percentile_interval(boot, 0.4995).bounds  # exactly 500 below
    assert (lo, hi) == (boot[24], boot[975])  # floor(.025 * 999) = 24, ceil(.975 * 999) = 975


def test_bc_moves_percentiles_not_values() -> None:
    """A biased bootstrap (resamples centred above the estimate): BC moves the percentiles down,
    stays inside the resamples' range and contains the estimate; where the plain interval misses
    the estimate (over 97.5% of resamples on one side), |z0| > 1.96 and BC refuses."""
    rng = np.random.default_rng(0)
    boot = np.clip(rng.normal(0.5, 0.02, size=2000), 0, 1)
    point = 0.47  # ~6.7% of resamples below: z0 ~ -1.5
    plain = intervals.percentile_interval(boot)
    (lo, hi), reasons = intervals.bc_percentile_interval(boot, point)
    assert reasons == [None]
    assert boot.min() <= lo <= point <= hi <= boot.max()
    assert lo < plain[0] and hi < plain[1]
    z0 = sps.norm.ppf(np.mean(boot < point))
    assert lo == np.sort(boot)[int(np.floor(sps.norm.cdf(2 * z0 - intervals.Z95) * 1999))]
    assert hi == np.sort(boot)[int(np.ceil(sps.norm.cdf(2 * z0 + intervals.Z95) * 1999))]
    far = 0.455
    assert not plain[0] <= far <= plain[1]
    iv = intervals.bc_percentile_interval(boot, far)
    assert iv.pair() is None and "degenerate" in iv.reasons[0]


def test_bc_ties_count_half() -> None:
    """An atom at the value is not a bias: 40% below, 20% tied, 40% above gives z0 = 0."""
    boot = np.r_[np.linspace(0.1, 0.4, 400), np.full(200, 0.5), np.linspace(0.6, 0.9, 400)]
    iv = intervals.bc_percentile_interval(boot, 0.5 + 1e-12)  # equal within TIE_RTOL
    assert iv.reasons == [None]
    ref = np.sort(boot)[[int(np.floor(0.025 * 999)), int(np.ceil(0.975 * 999))]]
    assert tuple(iv.bounds) == tuple(ref)


def test_bc_refusals_have_reasons() -> None:
    rng = np.random.default_rng(1)
    good = rng.normal(0.5, 0.05, 1000)
    few = rng.choice([0.2, 0.4, 0.6], 1000)  # 3 distinct values
    flat = np.full(1000, 0.77)  # zero-width
    onesided = np.abs(rng.normal(0, 0.1, 1000)) + 0.5  # all above the value
    nan = np.full(1000, np.nan)
    boot = np.column_stack([good, few, flat, onesided, nan, good])
    point = np.array([0.5, 0.4, 0.77, 0.5, 0.3, np.nan])
    iv = intervals.bc_percentile_interval(boot, point)
    assert iv.reasons[0] is None and iv.pair(0) is not None
    assert "3 distinct" in iv.reasons[1] and "1 distinct" in iv.reasons[2]
    assert "degenerate" in iv.reasons[3] and "no resample" in iv.reasons[4]
    assert "undefined" in iv.reasons[5]
    assert np.isnan(iv.bounds[:, 1:5]).all() and iv.pair(3) is None


def test_bc_leaves_out_undefined_resamples() -> None:
    rng = np.random.default_rng(2)
    good = rng.normal(0.5, 0.05, 600)
    with_nan = np.r_[good, np.full(400, np.nan)]
    assert intervals.bc_percentile_interval(with_nan, 0.5).pair() == intervals.bc_percentile_interval(good, 0.5).pair()


def test_percentile_intervals_guard() -> None:
    boot = np.column_stack([np.arange(1000.0), np.repeat([1.0, 2.0], 500)])
    iv = intervals.percentile_intervals(boot)
    np.testing.assert_allclose(iv.bounds[:, 0], np.percentile(np.arange(1000.0), [2.5, 97.5]))
    assert iv.reasons[0] is None and "2 distinct" in iv.reasons[1]


def test_bootstrap_intervals_and_ratio_interval() -> None:
    rng = np.random.default_rng(5)
    num = rng.integers(0, 5, size=200).astype(float)
    den = rng.integers(1, 20, size=200).astype(float)
    iv = intervals.ratio_interval(num, den, resamples=500, seed=1)
    lo, hi = iv.pair()
    assert lo <= num.sum() / den.sum() <= hi
    plain = _plain_ratio_ci(num, den, resamples=500, seed=1)
    assert lo == pytest.approx(plain[0], abs=0.01) and hi == pytest.approx(plain[1], abs=0.01)
    one = intervals.ratio_interval(num[:1], den[:1])
    assert one.pair() is None and "only 1 unit" in one.reasons[0]
    multi = intervals.bootstrap_intervals(200, lambda c: np.column_stack([c @ num, c @ den]), 200, 0)
    assert multi.bounds.shape == (2, 2) and multi.reasons == [None, None]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=300), st.floats(0, 1))
def test_bc_property_inside_and_contains(values: list[float], point: float) -> None:
    """Any bootstrap distribution and value: an interval given lies within the resamples' range
    and contains the value."""
    boot = np.array(values)
    iv = intervals.bc_percentile_interval(boot, point)
    pair = iv.pair()
    if pair is not None:
        assert boot.min() <= pair[0] or pair[0] == point
        assert pair[1] <= boot.max() or pair[1] == point
        assert pair[0] <= point <= pair[1]
    else:
        assert iv.reasons[0]


@pytest.mark.parametrize("n", [37, 4999])
def test_block_size_does_not_change_the_draws(n: int) -> None:
    """Worker jobs take small blocks: the matrix is the same one seeded stream."""
    whole = intervals.resample_counts(n, 120, seed=4)
    for rows in (1, 7, 25):
        blocks = list(intervals.iter_resample_counts(n, 120, seed=4, rows_per_block=rows))
        assert max(len(b) for b in blocks) == rows
        np.testing.assert_array_equal(np.concatenate(blocks), whole)
