"""File-based vision loaders on files made here: ImageFolder, COCO, VOC, image + mask pairs; bad records."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from gapbench.core.sample import UnreadableSample
from gapbench.data.images import read_image, read_mask
from gapbench.data.vision_files import coco_detection, imagefolder, seg_masks, voc
from gapbench.errors import InputError


def _png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def test_read_image_modes(tmp_path, capsys):
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=100)
    assert read_image(tmp_path / "c.jpg").shape == (4, 5, 3)
    deep = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 3000)
    Image.fromarray(deep).save(tmp_path / "d.png")
    out = read_image(tmp_path / "d.png")
    assert out.shape == (4, 5, 3) and out[0, 0, 0] == 0 and out[-1, -1, 0] == round(57000 / 65535 * 255)
    rgba = np.zeros((2, 2, 4), np.uint8)  # fully transparent -> white
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert (read_image(tmp_path / "a.png") == 255).all()
    grey = np.full((3, 3), 7, np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    assert (read_image(tmp_path / "g.png") == 7).all()
    im = Image.fromarray(np.zeros((2, 6, 3), np.uint8))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90
    im.save(tmp_path / "e.jpg", exif=exif)
    assert read_image(tmp_path / "e.jpg").shape == (6, 2, 3)
    err = capsys.readouterr().err
    assert "EXIF" in err and "transparency" in err and "scaled to 8 bits" in err


def test_read_image_errors_name_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="bad.png"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(InputError, match="missing.png.*existing image"):
        read_image(tmp_path / "missing.png")
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(InputError, match="single-channel"):
        read_mask(tmp_path / "rgb.png")


def test_imagefolder(tmp_path):
    for cls, v in (("cat", 10), ("dog", 200)):
        for k in range(2):
            _png(tmp_path / cls / f"{k}.png", np.full((4, 4, 3), v + k, np.uint8))
    (tmp_path / "dog" / "notes.txt").write_text("ignored")
    samples = list(imagefolder(str(tmp_path)))
    assert [s.id for s in samples] == ["cat/0.png", "cat/1.png", "dog/0.png", "dog/1.png"]
    assert [s.reference for s in samples] == [0, 0, 1, 1]
    assert samples[3].input[0, 0, 0] == 201
    labels = tmp_path.parent / "labels.txt"
    labels.write_text("dog Canis familiaris\ncat\n")
    ds = imagefolder(str(tmp_path), labels=str(labels))
    assert len(ds) == 4 and [s.reference for s in ds] == [0, 0, 1, 1] and ds[0].meta["class"] == "Canis familiaris"
    labels.write_text("dog\n")
    with pytest.raises(InputError, match="missing 'cat'"):
        imagefolder(str(tmp_path), labels=str(labels))
    with pytest.raises(InputError, match="--data"):
        imagefolder(None)
    (tmp_path / "cat" / "2.png").write_bytes(b"broken")
    bad = list(imagefolder(str(tmp_path)))[2]  # in the item's place, for the run to raise or skip
    assert isinstance(bad, UnreadableSample) and bad.id == "cat/2.png" and "2.png" in bad.error.one_line()
    with pytest.raises(InputError, match="2.png"):
        imagefolder(str(tmp_path))[2]


def _coco(tmp_path, width=8):
    _png(tmp_path / "img" / "a.png", np.zeros((6, 8, 3), np.uint8))
    _png(tmp_path / "img" / "b.png", np.zeros((6, 8, 3), np.uint8))
    gt = {"images": [{"id": 1, "file_name": "a.png", "width": width, "height": 6},
                     {"id": 2, "file_name": "b.png", "width": 8, "height": 6}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 1, 2, 3], "area": 5.0, "iscrowd": 0}],
          "categories": [{"id": 3, "name": "thing"}]}
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(gt))
    return str(tmp_path / "img"), str(path)


def test_coco_detection(tmp_path):
    data, ann = _coco(tmp_path)
    samples = list(coco_detection(data, ann))
    ref = samples[0].reference
    assert ref["boxes"] == [[1.0, 1.0, 2.0, 3.0]] and ref["labels"] == [3] and ref["areas"] == [5.0]
    assert ref["categories"] == [{"id": 3, "name": "thing"}] and samples[1].reference["boxes"] == []


def test_coco_detection_bad_records(tmp_path):
    data, ann = _coco(tmp_path, width=9)
    bad = list(coco_detection(data, ann))[0]
    assert isinstance(bad, UnreadableSample) and bad.id == "1"
    with pytest.raises(InputError, match="image id 1.*8x6"):
        raise bad.error
    data, ann = _coco(tmp_path)
    (tmp_path / "img" / "b.png").unlink()
    with pytest.raises(InputError, match="b.png: image id 2"):
        coco_detection(data, ann)
    with pytest.raises(InputError, match="--annotations"):
        coco_detection(data, None)


VOC_XML = """<annotation><filename>{f}</filename><size><width>8</width><height>6</height><depth>3</depth></size>
<object><name>{c}</name><difficult>{d}</difficult><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>4</xmax><ymax>5</ymax></bndbox></object>
</annotation>"""


def test_voc(tmp_path):
    _png(tmp_path / "JPEGImages" / "x.png", np.zeros((6, 8, 3), np.uint8))
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "x.xml").write_text(VOC_XML.format(f="x.png", c="dog", d=1))
    (s,) = list(voc(str(tmp_path)))
    assert s.reference["boxes"] == [[1.0, 1.0, 3.0, 4.0]]  # 1-based inclusive -> COCO
    assert s.reference["labels"] == [12] and s.reference["iscrowd"] == [1]  # VOC's 12th class
    (tmp_path / "Annotations" / "x.xml").write_text(VOC_XML.format(f="x.png", c="dog", d=0).replace("<xmax>4", "<xmax>z"))
    with pytest.raises(InputError, match="x.xml: object 0"):
        voc(str(tmp_path))
    (tmp_path / "Annotations" / "x.xml").write_text("<annotation><object>")
    with pytest.raises(InputError, match="well-formed"):
        voc(str(tmp_path))
    (tmp_path / "Annotations" / "x.xml").write_text(VOC_XML.format(f="y.png", c="dog", d=0))
    with pytest.raises(InputError, match="y.png"):
        voc(str(tmp_path))


def test_seg_masks(tmp_path):
    _png(tmp_path / "im" / "p.png", np.zeros((4, 5, 3), np.uint8))
    mask = np.array([[0, 1, 2, 255, 3]] * 4, np.uint8)
    _png(tmp_path / "m" / "p.png", mask)
    (s,) = list(seg_masks(str(tmp_path / "im"), str(tmp_path / "m")))
    assert s.reference.dtype == np.int64 and np.array_equal(s.reference, mask)
    _png(tmp_path / "m" / "p.png", mask[:3])
    with pytest.raises(InputError, match="p.png.*4x5"):
        seg_masks(str(tmp_path / "im"), str(tmp_path / "m"))[0]
    _png(tmp_path / "im" / "q.png", np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(InputError, match="q.png"):
        seg_masks(str(tmp_path / "im"), str(tmp_path / "m"))


def test_read_image_conversions_match_pillow_and_are_said_once(tmp_path, capsys):
    """CMYK -> RGB as Pillow converts it; each kind of conversion noted on stderr once per process."""
    from gapbench.data import images

    said_before = set(images._SAID)
    images._SAID.clear()
    try:
        rng = np.random.default_rng(0)
        cmyk = Image.fromarray(rng.integers(0, 256, (6, 7, 4), dtype=np.uint8), mode="CMYK")
        cmyk.save(tmp_path / "c.tif")
        with Image.open(tmp_path / "c.tif") as im:
            want = np.asarray(im.convert("RGB"))
        assert np.array_equal(read_image(tmp_path / "c.tif"), want)
        pal = Image.fromarray(rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)).convert("P")
        pal.save(tmp_path / "p.png")
        with Image.open(tmp_path / "p.png") as im:
            assert np.array_equal(read_image(tmp_path / "p.png"), np.asarray(im.convert("RGB")))
        first = capsys.readouterr().err
        assert first.count("CMYK images are converted") == 1 and first.count("P images are converted") == 1
        read_image(tmp_path / "c.tif")
        read_image(tmp_path / "p.png")
        assert capsys.readouterr().err == ""  # said once
    finally:
        images._SAID.clear()
        images._SAID.update(said_before)


def test_an_unreadable_image_stops_the_run_or_is_one_recorded_skip(tmp_path):
    """``run coco``: a corrupt file and an image whose size contradicts the JSON are one error line by
    default; with ``on_error="skip"`` each is a recorded skip and the other images are scored."""
    from gapbench.core.task import get_task
    from gapbench.runner.local import run_task

    data, ann = _coco(tmp_path)
    _png(tmp_path / "img" / "c.png", np.zeros((5, 8, 3), np.uint8))  # the JSON says 8x6
    (tmp_path / "img" / "d.png").write_bytes(b"broken")
    gt = json.loads((tmp_path / "inst.json").read_text())
    gt["images"] += [{"id": 3, "file_name": "c.png", "width": 8, "height": 6},
                     {"id": 4, "file_name": "d.png", "width": 8, "height": 6}]
    (tmp_path / "inst.json").write_text(json.dumps(gt))
    # under its own name: run_task registers the task it runs, and must not replace the built-in coco
    task = dataclasses.replace(get_task("coco").with_data(data, annotations=ann), name="coco-unreadable-test")

    def model(batch):
        return [{"boxes": [[1, 1, 2, 3]], "scores": [0.9], "labels": [3]} for _ in batch]

    with pytest.raises(InputError, match="image id 3"):
        run_task(task, model, cache=False, show_progress=False, ci=False)
    out = run_task(task, model, cache=False, show_progress=False, ci=False, on_error="skip")
    cell = out.cells[0]
    assert [s.sample_id for s in cell.skipped] == ["3", "4"] and "d.png" in cell.skipped[1].reason
    assert [r.sample_id for r in cell.records] == ["1", "2"] and out.metrics["AP"].value == pytest.approx(1.0)
    assert any("could not be read" in n for n in cell.score.notes)
