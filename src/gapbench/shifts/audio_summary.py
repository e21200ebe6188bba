"""Degradation summaries for audio sweeps: the SNR at which a model's WER doubles.

``snr_at_doubling`` answers "how much noise does this model take before its errors double?", a
single number per model for the noise family's degradation summary.

The rule: the target is ``2 * clean_wer``. Points are sorted by SNR from high to low and scanned in
that order; the first point whose WER is ``>= target`` ends the scan. If a higher-SNR point
precedes it, the answer is the SNR on the straight line between those two (``(snr, wer)``)
points where WER equals the target. If the very first (highest-SNR) point already reaches the
target, no bracket exists and the answer is that point's SNR: the doubling happens at this SNR
or above (a conservative bound, not an interpolation). ``None`` when no point reaches the target
or the clean WER is 0 (doubling zero is zero: every point would "reach" it; report the WERs
instead). Non-monotone curves are answered by their first crossing from the clean side.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from gapbench.errors import InputError


def snr_at_doubling(snrs: Sequence[float], wers: Sequence[float], clean_wer: float) -> float | None:
    """The SNR (dB) at which WER reaches twice ``clean_wer``, by the module's rule; or ``None``."""
    if len(snrs) != len(wers):
        raise InputError(None, "snr_at_doubling", "as many WERs as SNRs", f"{len(wers)} vs {len(snrs)}")
    pts = [(float(s), float(w)) for s, w in zip(snrs, wers)]
    for s, w in pts:
        if not (math.isfinite(s) and math.isfinite(w)) or w < 0:
            raise InputError(None, "snr_at_doubling", "finite SNRs and finite WERs >= 0", (s, w))
    if len({s for s, _ in pts}) != len(pts):
        raise InputError(None, "snr_at_doubling", "distinct SNRs (average repeated runs first)", list(snrs))
    clean = float(clean_wer)
    if not math.isfinite(clean) or clean < 0:
        raise InputError(None, "snr_at_doubling", "a finite clean WER >= 0", clean_wer)
    if clean == 0.0:
        return None
    target = 2.0 * clean
    prev: tuple[float, float] | None = None
    for s, w in sorted(pts, reverse=True):
        if w >= target:
            if prev is None:
                return s
            s1, w1 = prev
            return s1 + (target - w1) * (s - s1) / (w - w1)
        prev = (s, w)
    return None
