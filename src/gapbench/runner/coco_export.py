"""Detection predictions of a run as standard COCO files that pycocotools reads.

For each cell of a run whose metric holds COCO state (detection tasks; the box part of the OCR
metric), two files are written beside the run JSON, in ``<out>/<run_id>.coco/``:

* ``<cell>.results.json`` -- the COCO *results* format (Lin et al. 2014; what
  ``COCO.loadRes`` and ``gapbench score coco`` read): a list of
  ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``, plus each detection's mask as a
  compressed RLE ``segmentation`` when the model returned masks;
* ``<cell>.segm.results.json`` (masks only) -- the same without ``bbox``: pycocotools'
  ``loadRes`` then takes each detection's ``area`` from its mask (with a ``bbox`` it takes the
  box's, which moves the small/medium/large segm stats); ``COCOeval(iouType="segm")`` on it and
  the GT file gives the run's ``segm_*`` values (as detectron2 drops ``bbox`` for segm);
* ``<cell>.gt.json`` -- the ground truth that cell was scored against (boxes a geometric shift
  moved are the moved ones), with ``images``, ``annotations`` and ``categories``.

Image ids: the data set's own (COCO files keep theirs, so the results file also loads against
the user's annotation file); otherwise 1..N in the run's image order, with the sample id as the
image's ``file_name``. ``pycocotools`` on the two files gives the run's clean AP (tested).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gapbench.errors import InputError


def coco_state(states: list[Any]) -> Any | None:
    """The first COCO metric state among a cell's metric states (or their ``detection`` part)."""
    from gapbench.metrics.coco import COCOMetric

    for m in states:
        for cand in (m, getattr(m, "detection", None)):
            if isinstance(cand, COCOMetric):
                return cand
    return None


def coco_files(metric: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(gt, results)`` of one COCO metric state, with the image ids described in the module docstring."""
    gt, dets = metric.to_coco()
    src = getattr(metric, "source_ids", {}) or {}
    keys = [str(img["id"]) for img in gt["images"]]
    if keys and all(k in src for k in keys) and len({src[k] for k in keys}) == len(keys):
        new = {img["id"]: src[str(img["id"])] for img in gt["images"]}
        images = [dict(img, id=new[img["id"]]) for img in gt["images"]]
    else:
        new = {img["id"]: n for n, img in enumerate(gt["images"], start=1)}
        images = [dict(img, id=new[img["id"]], file_name=str(img["id"])) for img in gt["images"]]
    anns = [dict(a, image_id=new[a["image_id"]]) for a in gt["annotations"]]
    results = [{"image_id": new[d["image_id"]], "category_id": d["category_id"], "bbox": d["bbox"],
                "score": d["score"], **({"segmentation": d["segmentation"]} if "segmentation" in d else {})}
               for d in dets]
    return {"images": images, "annotations": anns, "categories": gt["categories"]}, results


def write_coco_files(cells: list[Any], folder: Path) -> list[Path]:
    """Write each COCO-scored cell's GT and results files into ``folder``; the paths written."""
    written: list[Path] = []
    for cell in cells:
        metric = coco_state(getattr(cell, "states", []))
        if metric is None:
            continue
        gt, results = coco_files(metric)
        label = re.sub(r"[^A-Za-z0-9_.@=-]+", "_", cell.cell.label())
        try:
            folder.mkdir(parents=True, exist_ok=True)
            files: list[tuple[str, Any]] = [("gt", gt), ("results", results)]
            if results and all("segmentation" in r for r in results):  # masks: the file segm evaluation reads
                files.append(("segm.results", [{k: v for k, v in r.items() if k != "bbox"} for r in results]))
            for kind, obj in files:
                path = folder / f"{label}.{kind}.json"
                path.write_text(json.dumps(obj) + "\n")
                written.append(path)
        except OSError as exc:
            raise InputError(str(folder), None, "a writable folder", exc.strerror or str(exc)) from None
    return written
