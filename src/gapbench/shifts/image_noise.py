"""ImageNet-C noise corruptions: Gaussian, shot (Poisson), impulse (salt and pepper), speckle.

Definitions and severity constants from Hendrycks & Dietterich, "Benchmarking Neural Network
Robustness to Common Corruptions and Perturbations" (ICLR 2019), as implemented in
``imagecorruptions`` 1.1.2. Every function takes a float image on the 0..255 scale (H x W x C,
any C: noise is drawn per value) and returns the corrupted float image on the same scale, before
the caller's truncation to uint8. Randomness comes only from ``rng``.
"""

from __future__ import annotations

import numpy as np

# severity 1..5 -> parameter, the published ladders
GAUSSIAN_SIGMA = (0.08, 0.12, 0.18, 0.26, 0.38)
SHOT_PHOTONS = (60.0, 25.0, 12.0, 5.0, 3.0)
IMPULSE_AMOUNT = (0.03, 0.06, 0.09, 0.17, 0.27)
SPECKLE_SIGMA = (0.15, 0.2, 0.35, 0.45, 0.6)


def gaussian_noise(x: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Additive white noise of std ``sigma`` (fraction of full scale): sensor read noise."""
    y = x / 255.0 + rng.standard_normal(x.shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(y, 0.0, 1.0) * 255.0


def shot_noise(x: np.ndarray, rng: np.random.Generator, photons: float) -> np.ndarray:
    """Poisson photon noise: a full-scale pixel collects ``photons`` photons on average."""
    return np.clip(rng.poisson(x * (photons / 255.0)) / float(photons), 0.0, 1.0) * 255.0


def impulse_noise(x: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Salt and pepper: a fraction ``amount`` of values set to 0 or full scale, half each.

    scikit-image's ``random_noise(mode='s&p')`` as the reference calls it, drawn with one uniform
    per value.
    """
    u = rng.random(x.shape, dtype=np.float32)
    y = np.where(u < amount / 2, 255.0, x)
    return np.where((u >= amount / 2) & (u < amount), 0.0, y)


def speckle_noise(x: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Multiplicative noise ``x + x * N(0, sigma)``: noise that grows with the signal."""
    y = x / 255.0
    y = y + y * (rng.standard_normal(x.shape, dtype=np.float32) * np.float32(sigma))
    return np.clip(y, 0.0, 1.0) * 255.0
