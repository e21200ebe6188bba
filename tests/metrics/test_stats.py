"""The shared interval machinery, checked against scipy and against explicit resampling."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from gapbench.metrics import stats


@pytest.mark.parametrize("k,n", [(0, 1), (0, 10), (3, 10), (10, 10), (512, 1000), (1, 3)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ref = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = stats.wilson_interval(k, n)
    assert lo == pytest.approx(ref.low, abs=1e-12)
    assert hi == pytest.approx(ref.high, abs=1e-12)


def test_wilson_empty_is_none() -> None:
    assert stats.wilson_interval(0, 0) is None


def test_counts_equal_index_resampling() -> None:
    """The multiplicity matrix is exactly the bincount of ordinary index resamples."""
    n, b, seed = 37, 50, 7
    counts = stats.resample_counts(n, b, seed)
    idx = np.random.default_rng(seed).integers(0, n, size=(b, n))
    expected = np.stack([np.bincount(row, minlength=n) for row in idx])
    np.testing.assert_array_equal(counts, expected)
    assert counts.sum(axis=1).tolist() == [n] * b


def test_ratio_ci_equals_explicit_loop() -> None:
    rng = np.random.default_rng(1)
    num = rng.integers(0, 5, size=200).astype(float)
    den = rng.integers(1, 20, size=200).astype(float)
    lo, hi = stats.ratio_ci(num, den, resamples=300, seed=3)
    idx = np.random.default_rng(3).integers(0, 200, size=(300, 200))
    boot = [num[i].sum() / den[i].sum() for i in idx]
    ref = np.percentile(boot, [2.5, 97.5])
    assert (lo, hi) == pytest.approx(tuple(ref), abs=1e-12)
    assert lo <= num.sum() / den.sum() <= hi


def test_ci_reproducible_and_seed_dependent() -> None:
    num, den = np.arange(50.0), np.full(50, 60.0)
    assert stats.ratio_ci(num, den, seed=5) == stats.ratio_ci(num, den, seed=5)
    assert stats.ratio_ci(num, den, seed=5) != stats.ratio_ci(num, den, seed=6)


def test_too_few_units_gives_no_interval() -> None:
    assert stats.ratio_ci(np.array([1.0]), np.array([4.0])) is None
    assert stats.ratio_ci(np.array([1.0, 2.0]), np.array([4.0, 4.0]), resamples=0) is None


def test_blocks_concatenate_to_the_same_matrix() -> None:
    """Splitting resamples into blocks (memory cap) must not change the draws."""
    n = 5000
    blocks = list(stats.iter_resample_counts(n, 40, seed=2))
    whole = np.concatenate(blocks)
    assert whole.shape == (40, n)
    idx = np.random.default_rng(2).integers(0, n, size=(40, n))
    np.testing.assert_array_equal(whole[0], np.bincount(idx[0], minlength=n))


def test_paired_identical_systems() -> None:
    e, r = np.array([1.0, 0, 2, 3, 1]), np.array([5.0, 4, 6, 7, 5])
    t = stats.paired_ratio_test(e, r, e, r, resamples=200)
    assert t.diff == 0.0 and t.ci95 == (0.0, 0.0) and t.p_value == 1.0


def test_paired_clear_difference_is_significant() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(5, 15, size=300).astype(float)
    err_a = rng.binomial(ref.astype(int), 0.30).astype(float)
    err_b = rng.binomial(ref.astype(int), 0.10).astype(float)
    t = stats.paired_ratio_test(err_a, ref, err_b, ref, resamples=500, seed=1)
    assert t.diff == pytest.approx(err_a.sum() / ref.sum() - err_b.sum() / ref.sum())
    assert t.ci95[0] > 0 and t.p_value < 0.01


def test_paired_noise_is_not_significant() -> None:
    rng = np.random.default_rng(4)
    ref = rng.integers(5, 15, size=300).astype(float)
    err_a = rng.binomial(ref.astype(int), 0.2).astype(float)
    err_b = rng.permutation(err_a)  # same distribution, unrelated pairing
    t = stats.paired_ratio_test(err_a, ref, err_b, ref, resamples=500, seed=1)
    assert t.ci95[0] <= t.diff <= t.ci95[1]
    assert t.p_value > 0.05 or abs(t.diff) < 0.02


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30)), min_size=2, max_size=40), st.integers(0, 99))
def test_ratio_ci_brackets_are_ordered_and_bounded(units: list[tuple[int, int]], seed: int) -> None:
    num = np.array([u[0] for u in units], float)
    den = np.array([u[1] for u in units], float)
    lo, hi = stats.ratio_ci(num, den, resamples=100, seed=seed)
    ratios = num / den
    assert lo <= hi
    assert ratios.min() - 1e-12 <= lo and hi <= ratios.max() + 1e-12


def test_bias_corrected_interval_recentres_on_the_estimate() -> None:
    rng = np.random.default_rng(0)
    boot = rng.normal(0.5, 0.01, size=(2000, 2))
    plain = stats.percentile_interval(boot)
    # unbiased column: the correction only shifts by the tiny sampling noise of the mean
    fixed = stats.bias_corrected_interval(boot, np.array([0.5, 0.47]))
    assert fixed[:, 0] == pytest.approx(plain[:, 0], abs=1e-3)
    # biased column (resamples centred 0.03 above the estimate): plain misses, corrected brackets
    assert not plain[0, 1] <= 0.47 <= plain[1, 1]
    assert fixed[0, 1] <= 0.47 <= fixed[1, 1]
    assert fixed[1, 1] - fixed[0, 1] == pytest.approx(plain[1, 1] - plain[0, 1])
