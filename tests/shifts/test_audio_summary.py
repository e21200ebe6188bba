"""snr_at_doubling: linear interpolation between the bracketing points, scanning from high SNR down."""
from __future__ import annotations

import pytest

from gapbench.errors import InputError
from gapbench.shifts.audio_summary import snr_at_doubling


def test_interpolates_between_bracketing_points() -> None:
    # clean 10%; target 20% lies between (10 dB, 15%) and (5 dB, 25%): halfway -> 7.5 dB
    assert snr_at_doubling([20, 10, 5, 0], [0.11, 0.15, 0.25, 0.6], 0.10) == pytest.approx(7.5)
    # order of the input does not matter
    assert snr_at_doubling([0, 5, 20, 10], [0.6, 0.25, 0.11, 0.15], 0.10) == pytest.approx(7.5)


def test_exact_hit_and_first_crossing_from_clean_side() -> None:
    assert snr_at_doubling([20, 10, 0], [0.1, 0.2, 0.5], 0.1) == pytest.approx(10.0)
    # non-monotone: the first crossing scanning down from high SNR
    assert snr_at_doubling([30, 20, 10, 0], [0.1, 0.3, 0.15, 0.5], 0.1) == pytest.approx(25.0)


def test_bounds_and_none() -> None:
    assert snr_at_doubling([20, 10], [0.5, 0.9], 0.1) == 20.0  # reached at the highest SNR: that SNR
    assert snr_at_doubling([20, 10, 0], [0.1, 0.12, 0.19], 0.1) is None  # never reached
    assert snr_at_doubling([20, 10], [0.0, 0.3], 0.0) is None  # clean WER 0: doubling is meaningless
    assert snr_at_doubling([], [], 0.1) is None
    assert snr_at_doubling([-5.0, -10.0], [0.1, 0.3], 0.1) == pytest.approx(-7.5)


@pytest.mark.parametrize("args", [([1, 2], [0.1], 0.1), ([float("nan")], [0.1], 0.1), ([1], [float("inf")], 0.1),
                                  ([1, 1], [0.1, 0.2], 0.1), ([1], [0.1], -0.1), ([1], [-0.1], 0.1)])
def test_bad_input(args) -> None:
    with pytest.raises(InputError):
        snr_at_doubling(*args)
