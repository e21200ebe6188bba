from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gapbench.core.media import ChatMessage
from gapbench.spectro.dataset import SpectroMessage, SpectroSamples
from gapbench.spectro.prompts import CONDITIONS, render_prompt


@pytest.mark.parametrize("condition", CONDITIONS)
def test_conditions(paper_build: Path, condition: str) -> None:
    ds = SpectroSamples(paper_build, condition)
    s = ds[0]
    assert isinstance(s.input, ChatMessage) and isinstance(s.input, SpectroMessage)
    assert len(s.input.images) == (2 if condition.endswith("spec-wave") else 1)
    assert s.input.images[-1].shape == (224, 448, 3)
    it = ds.items[0]
    shown = it["options"] if condition.startswith("graphemic") else [f"/{x}/" for x in it["options_ipa"]]
    for lab, opt in zip("ABCD", shown):
        assert f"{lab}. {opt}" in s.input.text
    assert s.reference["answer"] == it["answer"] and s.meta["condition"] == condition


def test_keys_follow_the_pixels(paper_build: Path) -> None:
    a = SpectroSamples(paper_build, "graphemic-spec")[0]
    b = SpectroSamples(paper_build, "graphemic-spec", blank=True)[0]
    assert not b.input.images[0].any()
    assert a.key != b.key and a.key == SpectroSamples(paper_build, "graphemic-spec")[0].key


def test_split_filter_and_prompt_override(paper_build: Path) -> None:
    ds = SpectroSamples(paper_build, "phonemic-spec", split="test", prompt="{options}|{labels}")
    assert all(s.meta["split"] == "test" for s in ds)
    assert ds[0].input.text.endswith("|A, B, C, D")
    with pytest.raises(ValueError, match="condition"):
        render_prompt("graphemic-audio", ["a", "b"])
    assert np.asarray(ds[0].input.images[0]).dtype == np.uint8


def test_rotation_moves_the_answer_with_the_options(paper_build: Path) -> None:
    base = SpectroSamples(paper_build, "graphemic-spec")[0]
    rot = SpectroSamples(paper_build, "graphemic-spec", rotation=1)[0]
    assert rot.input.options == base.input.options[1:] + base.input.options[:1]
    word = base.input.options["ABCD".index(base.reference["answer"])]
    assert rot.input.options["ABCD".index(rot.reference["answer"])] == word
    assert rot.reference["peds"]["ABCD".index(rot.reference["answer"])] == 0
    assert rot.id != base.id and rot.key != base.key


def test_hints_change_the_prompt_and_the_key(paper_build: Path) -> None:
    from gapbench.spectro.prompts import HINTS

    plain = SpectroSamples(paper_build, "graphemic-spec")[0]
    hinted = SpectroSamples(paper_build, "graphemic-spec", hints=True)[0]
    assert HINTS in hinted.input.text and HINTS not in plain.input.text
    assert hinted.input.text.replace(HINTS + "\n", "") == plain.input.text
    assert hinted.key != plain.key  # a cached answer to the plain prompt is never reused
