"""File-based vision data sets: ImageFolder, COCO, Pascal VOC and image + mask pairs.

Each loader takes the paths (``data``: the ``--data`` directory; ``annotations``: the
``--annotations`` file or directory) and returns a :class:`~gapbench.data.images.LazySamples`
(images decode while the run iterates). Everything that can be checked without decoding every
image is checked when the loader is called; decoding problems surface when the image is reached.
Every problem is one :class:`~gapbench.errors.InputError` naming the file and the record.

* :func:`imagefolder` -- ``data/<class>/<image>`` (the ImageNet / torchvision layout). Classes
  are the sub-folders in sorted order (torchvision's ``ImageFolder`` rule), or the order of a
  ``labels`` file (one folder name per line, optionally ``folder name`` with a readable name
  after a space: ImageNet's ``synset words`` file). Reference: the class index. A Hugging Face
  ``datasets`` export (``save_to_disk`` directory, ``.arrow`` or ``.parquet``) with an image and a
  label column is read by :func:`gapbench.data.hf_datasets.hf_image_classification` instead
  (``ClassLabel`` names are the labels; data options ``split=``, ``image_column=``, ``label_column=``).
* :func:`coco_detection` -- images under ``data`` named by the JSON's ``file_name``; the GT is
  validated as :func:`gapbench.data.coco.validate_gt` does for ``score coco``. A missing image
  file, or an image whose size differs from the JSON's ``width`` / ``height``, is an error. When
  every annotation has a ``segmentation`` (polygons or RLE, checked as for ``--iou-type segm``)
  the reference carries them as ``segmentations`` (scored as ``segm`` by
  :class:`gapbench.metrics.detection.InstanceSegMetric`).
* :func:`voc` -- a VOC root (``JPEGImages/`` + ``Annotations/``) or ``data`` = images and
  ``annotations`` = the XML folder. ``difficult`` objects become COCO crowd regions (matched
  detections are neither true nor false positives, as VOC ignores them). Classes: the 20 VOC
  names when every object uses one, else the sorted names found.
* :func:`seg_masks` -- ``data`` images and ``annotations`` masks paired by file stem
  (ADE20K / Cityscapes style); reference: the ``(H, W)`` int64 mask. An image without a mask,
  or a mask of another size, is an error.

Detection references are box lists (``{"boxes", "labels", "iscrowd", "areas", "area_boxes",
"width", "height", "categories"}``), the form geometric shifts move and
:class:`gapbench.metrics.detection.BoxDetectionMetric` scores.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from gapbench.core.sample import Sample
from gapbench.data.images import (
    LazySamples,
    image_files,
    read_image,
    read_mask,
    require_dir,
    require_file,
)
from gapbench.errors import InputError

VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")


def imagefolder(data: str | None = None, labels: str | None = None, split: str | None = None,
                image_column: str | None = None, label_column: str | None = None) -> LazySamples:
    """ImageFolder samples (see the module docstring); ``meta`` has the class name and path."""
    from gapbench.data.hf_datasets import hf_image_classification, is_hf_dataset

    hf_options = {"split": split, "image_column": image_column, "label_column": label_column}
    if data is not None and is_hf_dataset(data):
        if labels is not None:
            raise InputError(str(data), None, "no --labels for a Hugging Face dataset (its ClassLabel names are used)")
        return hf_image_classification(data, **hf_options)
    given = sorted(k for k, v in hf_options.items() if v is not None)
    if given:
        raise InputError(str(data), None, f"a Hugging Face dataset for the data option {given[0]!r}")
    root = require_dir(data, "folder with one sub-folder per class")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    names = {f: f for f in folders}
    if labels is not None:
        lab = require_file(labels, "labels file", "--labels")
        order: list[str] = []
        for n, line in enumerate(lab.read_text(encoding="utf-8-sig").splitlines(), start=1):
            if not line.strip():
                continue
            folder, _, readable = line.strip().partition(" ")
            if folder in names and folder in order:
                raise InputError(str(lab), n, "each class once", folder)
            order.append(folder)
            names[folder] = readable.strip() or folder
        missing = sorted(set(folders) - set(order))
        if missing:
            raise InputError(str(lab), None, f"a line for every class folder (missing {missing[0]!r})")
        folders = order
    if not folders:
        raise InputError(str(root), None, "at least one class sub-folder with images")
    items: list[tuple[Path, int]] = []
    for idx, folder in enumerate(folders):
        d = root / folder
        if d.is_dir():
            items += [(p, idx) for p in image_files(d)]
    if not items:
        raise InputError(str(root), None, "image files in the class sub-folders")

    def make(i: int) -> Sample:
        path, idx = items[i]
        rel = path.relative_to(root).as_posix()
        return Sample(rel, read_image(path), idx, {"class": names[folders[idx]], "path": str(path)})

    return LazySamples(len(items), make, lambda i: items[i][0].relative_to(root).as_posix())


def coco_detection(data: str | None = None, annotations: str | None = None) -> LazySamples:
    """COCO instances JSON + image folder (see the module docstring)."""
    from gapbench.data.coco import read_json, validate_gt

    root = require_dir(data, "folder of images")
    ann_file = require_file(annotations, "COCO instances JSON", "--annotations")
    gt, _ = read_json(str(ann_file), str(ann_file))
    validate_gt(gt, str(ann_file), "bbox")
    # instance segmentation: every annotation has a mask (polygons or RLE) -> checked as segm, and scored
    has_segm = bool(gt["annotations"]) and all("segmentation" in a for a in gt["annotations"])
    if has_segm:
        validate_gt(gt, str(ann_file), "segm")
    by_image: dict[Any, list[dict[str, Any]]] = {img["id"]: [] for img in gt["images"]}
    for a in gt["annotations"]:
        by_image[a["image_id"]].append(a)
    categories = [{"id": c["id"], "name": str(c.get("name", c["id"]))} for c in gt["categories"]]
    images = list(gt["images"])
    for img in images:
        rec = f"image id {img['id']}"
        if not isinstance(img.get("file_name"), str):
            raise InputError(str(ann_file), rec, "a 'file_name' string")
        if not (root / img["file_name"]).is_file():
            raise InputError(str(root / img["file_name"]), rec, f"the image file named in {ann_file.name}")

    def make(i: int) -> Sample:
        img = images[i]
        rec = f"image id {img['id']}"
        arr = read_image(root / img["file_name"], rec)
        _check_size(arr, img, str(ann_file), rec)
        anns = by_image[img["id"]]
        boxes = [list(map(float, a["bbox"])) for a in anns]
        ref = {"boxes": boxes, "labels": [int(a["category_id"]) for a in anns],
               "iscrowd": [int(a.get("iscrowd", 0)) for a in anns], "areas": [float(a["area"]) for a in anns],
               "area_boxes": [list(b) for b in boxes], "width": int(arr.shape[1]), "height": int(arr.shape[0]),
               "categories": categories, "image_id": img["id"]}
        if has_segm:
            ref["segmentations"] = [a["segmentation"] for a in anns]
        return Sample(str(img["id"]), arr, ref, {"file_name": img["file_name"]})

    return LazySamples(len(images), make, lambda i: str(images[i]["id"]))


def _check_size(arr: Any, img: dict[str, Any], file: str, rec: str) -> None:
    w, h = img.get("width"), img.get("height")
    if (w is not None and int(w) != arr.shape[1]) or (h is not None and int(h) != arr.shape[0]):
        raise InputError(file, rec, f"the image's size {arr.shape[1]}x{arr.shape[0]} (width x height)",
                         f"{w}x{h}")


def _voc_objects(xml: Path) -> tuple[str, int | None, int | None, list[tuple[str, list[float], int]]]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError as exc:
        raise InputError(str(xml), None, "well-formed VOC XML", str(exc)) from None
    fname = root.findtext("filename") or ""
    size = root.find("size")
    w = int(float(size.findtext("width") or 0)) if size is not None else None
    h = int(float(size.findtext("height") or 0)) if size is not None else None
    objs = []
    for k, obj in enumerate(root.iter("object")):
        rec = f"object {k}"
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        if not name or bb is None:
            raise InputError(str(xml), rec, "a <name> and a <bndbox>")
        try:
            x0, y0, x1, y1 = (float(bb.findtext(t) or "nan") for t in ("xmin", "ymin", "xmax", "ymax"))
        except ValueError:
            raise InputError(str(xml), rec, "numeric xmin, ymin, xmax, ymax") from None
        if not (x1 >= x0 and y1 >= y0):
            raise InputError(str(xml), rec, "xmax >= xmin and ymax >= ymin", [x0, y0, x1, y1])
        # VOC pixel indices are 1-based and inclusive: the box spans xmin-1 .. xmax
        objs.append((name, [x0 - 1, y0 - 1, x1 - x0 + 1, y1 - y0 + 1], int(obj.findtext("difficult") or 0)))
    return fname, w, h, objs


def voc(data: str | None = None, annotations: str | None = None, classes: list[str] | None = None) -> LazySamples:
    """Pascal VOC XML + images (see the module docstring)."""
    root = require_dir(data, "VOC root (JPEGImages/ + Annotations/) or a folder of images")
    img_dir, ann_dir = (root / "JPEGImages", root / "Annotations") if annotations is None else \
        (root, require_dir(annotations, "folder of VOC XML files", "--annotations"))
    if not ann_dir.is_dir():
        raise InputError(str(ann_dir), None, "a folder of VOC XML files (or give --annotations)")
    xmls = sorted(ann_dir.glob("*.xml"))
    if not xmls:
        raise InputError(str(ann_dir), None, "at least one .xml annotation")
    parsed = [(x, *_voc_objects(x)) for x in xmls]
    found = sorted({o[0] for *_, objs in parsed for o in objs})
    names = list(classes) if classes else (list(VOC_CLASSES) if set(found) <= set(VOC_CLASSES) else found)
    index = {n: k + 1 for k, n in enumerate(names)}
    categories = [{"id": k, "name": n} for n, k in index.items()]
    for xml, fname, *_rest, objs in parsed:
        for k, o in enumerate(objs):
            if o[0] not in index:
                raise InputError(str(xml), f"object {k}", f"a class among {len(names)} given", o[0])
        img = img_dir / (fname or xml.with_suffix(".jpg").name)
        if not img.is_file():
            raise InputError(str(img), xml.name, "the image file the annotation names")

    def make(i: int) -> Sample:
        xml, fname, w, h, objs = parsed[i]
        path = img_dir / (fname or xml.with_suffix(".jpg").name)
        arr = read_image(path, xml.name)
        if w and h:
            _check_size(arr, {"width": w, "height": h}, str(xml), "<size>")
        boxes = [o[1] for o in objs]
        ref = {"boxes": boxes, "labels": [index[o[0]] for o in objs], "iscrowd": [o[2] for o in objs],
               "width": int(arr.shape[1]), "height": int(arr.shape[0]), "categories": categories}
        return Sample(xml.stem, arr, ref, {"file_name": path.name})

    return LazySamples(len(parsed), make, lambda i: parsed[i][0].stem)


def seg_masks(data: str | None = None, annotations: str | None = None, mask_suffix: str = "") -> LazySamples:
    """Images in ``data`` paired by stem with label masks in ``annotations`` (stem + ``mask_suffix``)."""
    img_dir = require_dir(data, "folder of images")
    mask_dir = require_dir(annotations, "folder of mask PNGs", "--annotations")
    masks = {p.stem: p for p in mask_dir.iterdir() if p.suffix.lower() == ".png"}
    images = image_files(img_dir)
    if not images:
        raise InputError(str(img_dir), None, "image files")
    pairs = []
    for p in images:
        m = masks.get(p.stem + mask_suffix)
        if m is None:
            raise InputError(str(mask_dir), p.name, f"a mask named {p.stem + mask_suffix}.png")
        pairs.append((p, m))

    def make(i: int) -> Sample:
        img_path, mask_path = pairs[i]
        arr = read_image(img_path)
        mask = read_mask(mask_path)
        if mask.shape != arr.shape[:2]:
            raise InputError(str(mask_path), None, f"a mask of its image's size {arr.shape[0]}x{arr.shape[1]} "
                             "(height x width)", f"{mask.shape[0]}x{mask.shape[1]}")
        return Sample(img_path.stem, arr, mask, {"file_name": img_path.name})

    return LazySamples(len(pairs), make, lambda i: pairs[i][0].stem)
