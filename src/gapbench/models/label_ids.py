"""``labels=`` for detectors: the model's class names mapped to the data set's category ids.

A detector's labels are its class indices. COCO-trained DETR checkpoints happen to number their
classes by COCO category id (1..90, with gaps), but universal-segmentation checkpoints (Mask2Former,
MaskFormer) number COCO's 80 classes 0..79, so their labels are not the annotations' category ids.
``labels=person=1,car=3`` states the output id of each kept class; ``labels=@FILE`` reads the ids
from a COCO annotations file (its ``categories``: ``id`` and ``name``) or a JSON ``{name: id}``, so
``--model-option labels=@instances_val2017.json`` scores any detector whose label names are the
data set's. Plain names (``labels=cat,dog``) keep meaning positions (class ``i`` of the task).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gapbench.errors import InputError


@dataclass(frozen=True)
class LabelSpec:
    """Class names in the task's order, with the output id of each (None: its position)."""

    names: tuple[str, ...]
    ids: tuple[int, ...] | None = None
    from_file: bool = False  # names the model lacks are skipped (a data set may have classes a model has not)

    def canonical(self) -> str:
        """The option as a string that changes whenever the mapping does (part of the cache key)."""
        if self.ids is None:
            return ",".join(self.names)
        return ",".join(f"{n}={i}" for n, i in zip(self.names, self.ids))


def parse_labels(items: list[str] | None, where: str) -> LabelSpec | None:
    """``labels=`` entries: names, ``name=ID`` pairs (all or none), or one ``@FILE``."""
    if not items:
        return None
    if len(items) == 1 and items[0].startswith("@"):
        return _from_file(Path(items[0][1:]).expanduser())
    pairs = [item.rpartition("=") for item in items]
    if not any(sep for _, sep, _ in pairs):
        return LabelSpec(tuple(items))
    names, ids = [], []
    for item, (name, sep, value) in zip(items, pairs):
        try:
            if not sep or not name.strip():
                raise ValueError
            ids.append(int(value))
        except ValueError:
            raise InputError(where, "option 'labels'", "every entry NAME=ID (an integer id) or none", item) from None
        names.append(name.strip())
    _check_unique(names, ids, where)
    return LabelSpec(tuple(names), tuple(ids))


def _from_file(path: Path) -> LabelSpec:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), None, "a COCO annotations file or a JSON {name: id}", str(exc)) from None
    if isinstance(data, dict) and "categories" in data:
        data = data["categories"]
    if isinstance(data, dict):
        entries = list(data.items())
    elif isinstance(data, list) and all(isinstance(c, dict) and {"id", "name"} <= set(c) for c in data):
        entries = [(c["name"], c["id"]) for c in data]
    else:
        raise InputError(str(path), None, "'categories' with id and name, or a JSON {name: id}", type(data).__name__)
    bad = [(n, i) for n, i in entries if not isinstance(n, str) or isinstance(i, bool) or not isinstance(i, int)]
    if bad or not entries:
        raise InputError(str(path), "categories", "string names with integer ids", bad[0] if bad else "none")
    names, ids = [str(n) for n, _ in entries], [int(i) for _, i in entries]
    _check_unique(names, ids, str(path))
    return LabelSpec(tuple(names), tuple(ids), from_file=True)


def _check_unique(names: list[str], ids: list[int], where: str) -> None:
    for what, seq in (("name", names), ("id", ids)):
        dup = next((x for i, x in enumerate(seq) if x in seq[:i]), None)
        if dup is not None:
            raise InputError(where, "option 'labels'", f"each {what} once", dup)


def label_map_by_name(spec: LabelSpec, class_names: list[str] | None, where: str) -> list[int | None]:
    """Class index -> output label for a model whose classes have names: the id ``spec`` gives the
    name (or its position), None for a class it does not name. A name the model lacks is an error
    unless the names came from a data set's file (the data set may have more classes)."""
    if class_names is None:
        raise InputError(where, "option 'labels'", "the model's class names (its metadata 'names', as "
                         "Ultralytics exports write them, or the option names=)")
    out_of = {n: (spec.ids[i] if spec.ids is not None else i) for i, n in enumerate(spec.names)}
    missing = [n for n in spec.names if n not in class_names]
    mapped = [out_of.get(n) for n in class_names]
    if (missing and not spec.from_file) or all(m is None for m in mapped):
        raise InputError(where, "option 'labels'", f"names among the model's classes {class_names[:20]}",
                         ", ".join(missing[:20]))
    return mapped
