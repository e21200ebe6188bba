"""The dirty-data families: each ladder degrades real photos strictly more at every level."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.shifts.base import SEVERITIES
from gapbench.shifts.image import IMAGE_FAMILIES

DIRTY = ("low_light", "overexposure", "out_of_focus", "poor_framing", "jpeg_chain", "occlusion")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


@pytest.mark.parametrize("name", DIRTY)
def test_psnr_falls_strictly_over_levels(imagec_fixtures, name: str) -> None:
    fam = IMAGE_FAMILIES[name]
    for image in ("astronaut", "chelsea", "coffee"):
        img = imagec_fixtures[f"image/{image}"]
        curve = [np.mean([psnr(img, fam.apply(img, None, fam.params_for(s), seed=k)[0]) for k in range(3)])
                 for s in SEVERITIES]
        assert all(a > b for a, b in zip(curve, curve[1:])), (image, np.round(curve, 2))


def test_low_light_is_dark_and_noisy(imagec_fixtures) -> None:
    img = imagec_fixtures["image/chelsea"]
    fam = IMAGE_FAMILIES["low_light"]
    out, _ = fam.apply(img, None, fam.params_for(5), seed=0)
    assert out.mean() < img.mean()
    flat = out.astype(float) - fam.apply(img, None, fam.params_for(5), seed=1)[0]
    assert flat.std() > 5  # noise, not only a tone curve


def test_overexposure_burns_highlights(imagec_fixtures) -> None:
    img = imagec_fixtures["image/coffee"]
    fam = IMAGE_FAMILIES["overexposure"]
    out, _ = fam.apply(img, None, fam.params_for(5), seed=0)
    assert (out == 255).mean() > (img == 255).mean() + 0.2
