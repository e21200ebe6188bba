"""Generate ``image_fixtures.npz``: what the reference ImageNet-C implementation produces.

Run once with ``imagecorruptions`` 1.1.2 installed (``pip install --no-deps imagecorruptions==1.1.2``,
shimmed by ``imagec_reference.py``):

    PYTHONPATH=src python tests/shifts/make_image_fixtures.py

Test images are real photographs from scikit-image's data (astronaut, chelsea, coffee), resized
with anti-aliasing and stored in the file. For the deterministic corruptions the file holds the
reference's output arrays for every severity; for the random ones, per seed 0..4 and severities
1, 3, 5, the PSNR and mean absolute difference of the reference's output to the clean image.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DETERMINISTIC = ("defocus_blur", "zoom_blur", "brightness", "contrast", "pixelate", "jpeg_compression",
                 "gaussian_blur", "saturate")
RANDOM = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "glass_blur", "motion_blur",
          "snow", "frost", "fog", "spatter", "elastic_transform")
IMAGES = {"astronaut": (64, 64), "chelsea": (48, 64), "coffee": (40, 56)}  # name -> (H, W)
RANDOM_IMAGES = ("astronaut", "chelsea")
STAT_SEVERITIES = (1, 3, 5)
SEEDS = range(5)
OUT = HERE / "image_fixtures.npz"


def test_images() -> dict[str, np.ndarray]:
    from skimage import data, transform

    out = {}
    for name, shape in IMAGES.items():
        img = getattr(data, name)()
        out[name] = (transform.resize(img, shape, anti_aliasing=True) * 255).astype(np.uint8)
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def main() -> None:
    from imagec_reference import load_reference, reference_corrupt

    if load_reference() is None:
        raise SystemExit("imagecorruptions 1.1.2 is not importable")
    arrays: dict[str, np.ndarray] = {}
    images = test_images()
    for name, img in images.items():
        arrays[f"image/{name}"] = img
        for corr in DETERMINISTIC:
            for s in range(1, 6):
                arrays[f"det/{name}/{corr}/{s}"] = reference_corrupt(img, corr, s, 0)
    for name in RANDOM_IMAGES:
        img = images[name]
        for corr in RANDOM:
            for s in STAT_SEVERITIES:
                outs = [reference_corrupt(img, corr, s, seed) for seed in SEEDS]
                arrays[f"psnr/{name}/{corr}/{s}"] = np.array([psnr(img, o) for o in outs])
                arrays[f"mad/{name}/{corr}/{s}"] = np.array([mad(img, o) for o in outs])
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
