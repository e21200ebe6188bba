"""``labels=`` entries: names (positions), NAME=ID pairs, or a COCO annotations / {name: id} file."""
from __future__ import annotations

import json

import pytest

from gapbench.errors import InputError
from gapbench.models.label_ids import LabelSpec, parse_labels


def test_names_pairs_and_files(tmp_path):
    assert parse_labels(None, "m") is None
    assert parse_labels(["cat", "dog"], "m") == LabelSpec(("cat", "dog"))
    assert parse_labels(["traffic light=10", "cat=17"], "m") == LabelSpec(("traffic light", "cat"), (10, 17))
    coco = tmp_path / "instances.json"
    coco.write_text(json.dumps({"categories": [{"id": 1, "name": "person", "supercategory": "person"},
                                               {"id": 90, "name": "toothbrush"}]}))
    spec = parse_labels([f"@{coco}"], "m")
    assert spec == LabelSpec(("person", "toothbrush"), (1, 90), from_file=True)
    assert spec.canonical() == "person=1,toothbrush=90"
    plain = tmp_path / "ids.json"
    plain.write_text(json.dumps({"a": 4, "b": 2}))
    assert parse_labels([f"@{plain}"], "m") == LabelSpec(("a", "b"), (4, 2), from_file=True)


@pytest.mark.parametrize("items, match", [
    (["cat=1", "dog"], "NAME=ID"),
    (["cat=x"], "NAME=ID"),
    (["=3"], "NAME=ID"),
    (["cat=1", "dog=1"], "each id once"),
    (["cat=1", "cat=2"], "each name once"),
])
def test_bad_entries_are_one_line(items, match):
    with pytest.raises(InputError, match=match):
        parse_labels(items, "hf:m")


def test_bad_files_are_one_line(tmp_path):
    for name, text, match in [("missing.json", None, "missing.json"),
                              ("junk.json", "{not json", "junk.json"),
                              ("list.json", json.dumps([1, 2]), "categories"),
                              ("float.json", json.dumps({"a": 1.5}), "integer ids"),
                              ("empty.json", json.dumps({"categories": []}), "integer ids")]:
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(InputError, match=match):
            parse_labels([f"@{path}"], "hf:m")
