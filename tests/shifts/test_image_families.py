"""The image shift families: contract, layouts, sizes, parameters, errors, geometry."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.errors import InputError
from gapbench.shifts.base import SEVERITIES, ShiftFamily
from gapbench.shifts.image import IMAGE_FAMILIES, IMAGENET_C, IMAGENET_C_MAIN, corrupt, get_corruption_names

DIRTY = ("low_light", "overexposure", "out_of_focus", "poor_framing", "jpeg_chain", "occlusion")
GREY_FAMILIES = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "contrast", "brightness")


@pytest.fixture(scope="module")
def photo(imagec_fixtures) -> np.ndarray:
    return imagec_fixtures["image/astronaut"]


def test_registry_and_ladders() -> None:
    assert set(IMAGENET_C_MAIN) == set(get_corruption_names("common")) and len(IMAGENET_C_MAIN) == 15
    assert set(IMAGE_FAMILIES) == set(IMAGENET_C) | set(DIRTY)
    for name, fam in IMAGE_FAMILIES.items():
        assert isinstance(fam, ShiftFamily) and fam.name == name and fam.modality == "image"
        assert sorted(fam.ladder) == list(SEVERITIES)
        for s in SEVERITIES:  # every ladder value is a declared, in-range parameter
            assert fam.params_for(s, **fam.ladder[s]) == dict(fam.ladder[s])
        assert all(p.doc for p in fam.params)
    assert {n for n, f in IMAGE_FAMILIES.items() if f.geometric} == {"elastic_transform", "poor_framing"}


def test_seeded_and_independent_of_global_stream(photo) -> None:
    for name, fam in IMAGE_FAMILIES.items():
        p = fam.params_for(3)
        np.random.seed(1)
        a, _ = fam.apply(photo, None, p, seed=7)
        np.random.seed(2)
        b, _ = fam.apply(photo, None, p, seed=7)
        assert np.array_equal(a, b), name
        assert a.shape == photo.shape and a.dtype == np.uint8, name


def test_explicit_params_are_used(photo) -> None:
    fam = IMAGE_FAMILIES["gaussian_noise"]
    weak, _ = fam.apply(photo, None, fam.params_for(sigma=0.01), seed=0)
    strong, _ = fam.apply(photo, None, fam.params_for(sigma=0.5), seed=0)
    err = [np.abs(x.astype(float) - photo).mean() for x in (weak, strong)]
    assert err[0] < 2 < 20 < err[1]
    # a parameter left out takes its severity-3 value; the sign of motion can be fixed
    fam = IMAGE_FAMILIES["motion_blur"]
    a, _ = fam.apply(photo, None, fam.params_for(angle=30.0), seed=0)
    b, _ = fam.apply(photo, None, fam.params_for(angle=30.0), seed=1)
    assert np.array_equal(a, b)
    with pytest.raises(InputError, match="sigma"):
        IMAGE_FAMILIES["gaussian_noise"].params_for(sgma=0.2)


def test_corrupt_drop_in(photo) -> None:
    out = corrupt(photo, corruption_name="fog", severity=3, seed=0)
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.array_equal(corrupt(photo, 2, corruption_number=IMAGENET_C.index("snow"), seed=3),
                          corrupt(photo, 2, "snow", seed=3))
    grey = photo[..., 1]
    assert corrupt(grey, 1, "contrast").shape == photo.shape
    assert corrupt(grey[..., None], 1, "contrast").shape == photo.shape
    for bad in (dict(corruption_name="fgo"), dict(corruption_name="fog", severity=6)):
        with pytest.raises(InputError):
            corrupt(photo, **{"severity": 1, **bad})
    with pytest.raises(InputError, match="uint8"):
        corrupt(photo.astype(np.float32), 1, "fog")


@pytest.mark.parametrize("shape", [(32, 32, 3), (33, 47, 3), (700, 1000, 3), (1000, 700)])
def test_sizes(shape) -> None:
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, shape[0] * shape[1]).reshape(shape[:2])
    img = np.clip(base[..., None] + rng.normal(0, 20, shape[:2] + (3,)), 0, 255).astype(np.uint8)
    img = img if len(shape) == 3 else img[..., 0]
    names = IMAGENET_C if shape[0] < 100 else ("glass_blur", "zoom_blur", "fog", "frost", "snow", "elastic_transform",
                                               "motion_blur", "spatter")
    for name in names:
        out = corrupt(img, 5, name, seed=0)
        assert out.shape == shape[:2] + (3,) and out.dtype == np.uint8, name


def test_small_images_refused_or_supported() -> None:
    tiny = np.full((16, 20, 3), 120, dtype=np.uint8)
    for name, fam in IMAGE_FAMILIES.items():
        if fam.min_size and fam.min_size > 16:
            with pytest.raises(InputError, match=f"at least {fam.min_size}"):
                fam.apply(tiny, None, fam.params_for(1), seed=0)
        else:
            out, _ = fam.apply(tiny, None, fam.params_for(1), seed=0)
            assert out.shape == tiny.shape, name


def test_digits_8x8_keep_layout_and_scale() -> None:
    """The digits task's inputs: (8, 8) float64 on 0..16 come back (8, 8) float64 on 0..16."""
    from sklearn.datasets import load_digits

    digit = load_digits().images[0].astype(np.float64)
    for name in GREY_FAMILIES:
        fam = IMAGE_FAMILIES[name]
        out, ref = fam.apply(digit, 3, fam.params_for(5), seed=0)
        assert ref == 3 and out.shape == (8, 8) and out.dtype == np.float64, name
        assert 0 <= out.min() and out.max() <= 16 and not np.array_equal(out, digit), name
    # uint8 grey stays grey uint8; per-channel families act on the grey plane as the reference
    # acts on each (identical) channel of the stacked image
    grey = np.clip(digit * 16, 0, 255).astype(np.uint8)
    fam = IMAGE_FAMILIES["contrast"]
    out, _ = fam.apply(grey, None, fam.params_for(2), seed=0)
    assert out.shape == (8, 8) and out.dtype == np.uint8
    big = np.kron(grey, np.ones((4, 4), dtype=np.uint8))
    assert np.array_equal(fam.apply(big, None, fam.params_for(2), seed=0)[0], corrupt(big, 2, "contrast")[..., 0])


def test_colour_family_on_grey_uses_reference_luminance(photo) -> None:
    grey = photo[..., 0]
    fam = IMAGE_FAMILIES["saturate"]
    out, _ = fam.apply(grey, None, fam.params_for(5), seed=0)
    rgb = corrupt(grey, 5, "saturate").astype(np.float64)
    assert out.shape == grey.shape
    assert np.abs(out.astype(float) - np.trunc(rgb @ [0.2989, 0.5870, 0.1140])).max() <= 1


def test_bad_inputs_are_one_line() -> None:
    fam = IMAGE_FAMILIES["gaussian_noise"]
    for bad in (np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4), np.int32), np.full((4, 4), np.nan),
                np.zeros(5, np.uint8)):
        with pytest.raises(InputError) as exc:
            fam.apply(bad, None, fam.params_for(1), seed=0)
        assert "\n" not in str(exc.value)


def _box_image(h: int, w: int, box: list[int]) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    x, y, bw, bh = box
    img[y:y + bh, x:x + bw] = 255
    return img


def _bright_bounds(img: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(img.max(axis=2) > 127)
    return xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()


@pytest.mark.parametrize("name", ["poor_framing", "elastic_transform"])
def test_geometric_moves_boxes_and_masks(name: str) -> None:
    fam = IMAGE_FAMILIES[name]
    h, w, box = 96, 128, [40, 30, 36, 24]
    img = _box_image(h, w, box)
    mask = np.zeros((h, w), np.int64)
    mask[30:54, 40:76] = 7
    for seed in range(3):
        ref = {"boxes": [box, [0, 0, 10, 10]], "category_ids": [1, 2], "image_id": 9}
        out, moved = fam.apply(img, ref, fam.params_for(5), seed=seed)
        assert moved["category_ids"] == [1, 2] and moved["image_id"] == 9 and len(moved["boxes"]) == 2
        got = np.array(moved["boxes"][0])
        want = np.array(_bright_bounds(out))
        assert np.abs(got[:2] - want[:2]).max() <= 2.5, (seed, got, want)
        assert np.abs((got[:2] + got[2:]) - (want[:2] + want[2:])).max() <= 2.5, (seed, got, want)
        out_mask, moved_mask = fam.apply(img, mask, fam.params_for(5), seed=seed)
        assert moved_mask.dtype == mask.dtype and moved_mask.shape == mask.shape
        assert set(np.unique(moved_mask)) <= {0, 7}
        agree = (moved_mask == 7) == (out_mask.max(axis=2) > 127)
        assert agree.mean() > 0.99, (seed, agree.mean())
        assert fam.apply(img, None, fam.params_for(5), seed=seed)[1] is None
        assert fam.apply(img, 4, fam.params_for(5), seed=seed)[1] == 4
    with pytest.raises(InputError, match="boxes"):
        fam.apply(img, {"boxes": [[1, 2, 3]]}, fam.params_for(1), seed=0)
    with pytest.raises(InputError):
        fam.apply(img, np.zeros((5, 5), np.int64), fam.params_for(1), seed=0)


def test_photometric_families_keep_reference(photo) -> None:
    ref = {"boxes": [[1, 2, 3, 4]]}
    for name, fam in IMAGE_FAMILIES.items():
        if not fam.geometric:
            assert fam.apply(photo, ref, fam.params_for(2), seed=0)[1] is ref, name
