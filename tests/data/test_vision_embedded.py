"""The embedded vision data sets: deterministic, cached under a version key, boxes where the pixels are."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.data import faces as faces_mod
from gapbench.data import ocr_scenes as ocr_mod
from gapbench.data.photos import available_fonts, data_cache_dir, photo


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GAPBENCH_CACHE_DIR", str(tmp_path))


def test_fonts_found_and_photos_offline():
    fonts = available_fonts()
    assert fonts[-1].path is None  # Pillow's default always exists
    assert len({f.name for f in fonts}) == len(fonts)
    for f in fonts:
        assert f.load(20).getbbox("Ag")[2] > 0
    assert photo("china").shape == (427, 640, 3) and photo("camera").shape == (512, 512, 3)


def test_ocr_scene_deterministic_and_seed_dependent():
    a_img, a_rec = ocr_mod.make_scene(3)
    b_img, b_rec = ocr_mod.make_scene(3)
    assert np.array_equal(a_img, b_img) and a_rec == b_rec
    c_img, c_rec = ocr_mod.make_scene(3, seed=1)
    assert c_rec != a_rec


def test_ocr_scene_ink_inside_recorded_boxes():
    for i in range(4):
        img, rec = ocr_mod.make_scene(i)
        base = photo(rec["photo"]).astype(int)
        changed = np.any(img.astype(int) != base, axis=2)
        inside = np.zeros_like(changed)
        for x, y, w, h in rec["boxes"]:
            assert 0 <= x and 0 <= y and x + w <= img.shape[1] and y + h <= img.shape[0]
            assert changed[y: y + h, x: x + w].any()
            inside[y: y + h, x: x + w] = True
        assert not (changed & ~inside).any()  # nothing drawn outside the boxes
        assert len(rec["texts"]) == len(rec["boxes"]) >= 1
        assert all(t.strip() for t in rec["texts"])


def test_ocr_scenes_cached_and_reused(monkeypatch):
    first = ocr_mod.ocr_scenes(n=3)
    files = sorted(p.name for p in data_cache_dir().iterdir())
    assert len(files) == 2 and files[0].endswith(".json") and files[1].endswith(".npz")

    def boom(*_a, **_k):
        raise AssertionError("rebuilt although cached")

    monkeypatch.setattr(ocr_mod, "make_scene", boom)
    again = ocr_mod.ocr_scenes(n=3)
    assert [s.key for s in again] == [s.key for s in first]
    with pytest.raises(AssertionError):
        ocr_mod.ocr_scenes(n=4)  # another version key: built anew


def test_ocr_scenes_damaged_cache_is_rebuilt():
    first = ocr_mod.ocr_scenes(n=2)
    for p in data_cache_dir().glob("*.npz"):
        p.write_bytes(b"not a zip")
    assert [s.key for s in ocr_mod.ocr_scenes(n=2)] == [s.key for s in first]


def test_ocr_scenes_sizes_small_text_and_rotation():
    sizes = []
    rng_lines = 0
    for i in range(16):
        _, rec = ocr_mod.make_scene(i)
        rng_lines += len(rec["boxes"])
        sizes += [h for *_, h in rec["boxes"]]
    assert rng_lines >= 32
    assert min(sizes) <= 20  # some small text


def test_faces_boxes_hold_the_pasted_faces():
    img, rec = faces_mod.make_face_scene(0)
    crops = faces_mod.lfw_crops()
    for (x, y, w, h), face in zip(rec["boxes"], rec["faces"]):
        assert w == h and faces_mod.MIN_FACE <= w <= faces_mod.MAX_FACE
        expect = faces_mod.upscale(crops[face], w)
        f = faces_mod.FEATHER
        inner = img[y + f: y + h - f, x + f: x + w - f, 0].astype(int)
        assert np.abs(inner - expect[f:-f, f:-f]).max() <= 1


def test_faces_and_faces_cls_samples():
    samples = faces_mod.faces(n=4)
    assert [s.id for s in samples] == [f"faces-{i}" for i in range(4)]
    assert [s.key for s in faces_mod.faces(n=4)] == [s.key for s in samples]
    for s in samples:
        assert s.reference["categories"] == [{"id": 1, "name": "face"}]
        assert len(s.reference["boxes"]) == len(s.reference["labels"]) >= 1
    cls = faces_mod.faces_cls()
    assert len(cls) == 200 and sum(s.reference for s in cls) == 100
    assert cls[0].input.shape == (96, 96, 3) and cls[0].input.dtype == np.uint8
