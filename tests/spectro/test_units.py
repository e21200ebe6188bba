"""Phone and diphone items: inventory, articulatory distance, espeak phoneme input, builds."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gapbench.spectro.units import (
    CLASS_GAP,
    ESPEAK,
    FEATURES,
    PHONES,
    espeak_text,
    phone_distance_matrix,
    phones_of,
    unit_distance_matrix,
    unit_segments,
    unit_vocabulary,
)


def _phone_distance(a: str, b: str) -> int:  # the definition written out, pair by pair
    fa, fb = FEATURES[a], FEATURES[b]
    if fa[0] != fb[0]:
        return CLASS_GAP
    return sum(1 for x, y in zip(fa, fb) if x != y)


def test_inventory_and_phone_distances() -> None:
    assert len(PHONES) == 39 and set(ESPEAK) == set(PHONES)
    assert len({FEATURES[p] for p in PHONES}) == 39  # no two phones share every feature
    d = phone_distance_matrix()
    assert (d == d.T).all() and (np.diag(d) == 0).all() and (d[~np.eye(39, dtype=bool)] > 0).all()
    i = {p: k for k, p in enumerate(PHONES)}
    assert d[i["P"], i["B"]] == 1 and d[i["S"], i["SH"]] == 1 and d[i["P"], i["AA"]] == CLASS_GAP
    for a in ("P", "IY", "ZH"):
        for b in PHONES:
            assert d[i[a], i[b]] == _phone_distance(a, b)


def test_unit_ids_segments_and_diphone_distance() -> None:
    assert phones_of("B-AA") == ("B", "AA") and phones_of("water") is None and phones_of("B-XX") is None
    assert unit_segments("CH-IY") == ("tʃ", "i") and espeak_text("B-AA") == "[[bA:]]"
    rows, cols = ["B-AA", "S-T"], ["P-AA", "S-T", "SH-D", "AA-B"]
    got = unit_distance_matrix(rows, cols)
    want = [[sum(_phone_distance(x, y) for x, y in zip(r.split("-"), c.split("-"))) for c in cols] for r in rows]
    assert got.tolist() == want
    with pytest.raises(ValueError, match="one length"):
        unit_distance_matrix(["B"], ["B-AA"])
    di = unit_vocabulary("diphone", pool=3000)
    assert len(di) > 300 and all(len(phones_of(u) or ()) == 2 for u in di)


def test_units_are_spoken_through_phoneme_input() -> None:
    from gapbench.spectro.build import synthesize_word

    aa, sr = synthesize_word("AA", unit="phone")
    letters, _ = synthesize_word("AA")  # the text "AA": espeak reads it as a word
    s, _ = synthesize_word("S", unit="phone")
    assert sr == 22050 and aa.size > 1000 and s.size > 500
    assert aa.size != letters.size or not np.array_equal(aa, letters)
    # a sustained vowel has most energy low, /s/ is high-frequency noise
    spec = lambda x: np.abs(np.fft.rfft(x.astype(float)))  # noqa: E731
    hi = lambda x: spec(x)[len(spec(x)) // 3:].sum() / spec(x).sum()  # noqa: E731
    assert hi(s) > 2 * hi(aa)


def _check_nearest(root: Path) -> list[dict]:
    from gapbench.spectro.build import load_items

    items = load_items(root)
    by_split: dict[str, set[str]] = {}
    for it in items:
        by_split.setdefault(it["split"], set()).update(it["options"])
    for it in items:
        assert it["unit"] in ("phone", "diphone") and it["word"] in it["options"]
        chosen = [o for o in it["options"] if o != it["set_word"]]
        pool = sorted(by_split[it["split"]] - set(it["options"]))
        if pool:
            dc = unit_distance_matrix([it["set_word"]], chosen)[0]
            dp = unit_distance_matrix([it["set_word"]], pool)[0]
            assert dc.max() <= dp.min(), it  # distractors are the nearest units of the split
    return items


def test_phone_and_diphone_builds(tmp_path: Path) -> None:
    from gapbench.spectro.build import BuildParams, build
    from gapbench.spectro.dataset import spectro_samples

    m = build(BuildParams(unit="phone", words=39, pool=3000), tmp_path / "phone", workers=1)
    assert m["items"] + len(m["failures"]) == 39 and m["items"] > 25
    items = _check_nearest(tmp_path / "phone")
    assert all(len(o.split("-")) == 1 for it in items for o in it["options"])
    m = build(BuildParams(unit="diphone", words=30, pool=3000), tmp_path / "di", workers=2)
    items = _check_nearest(tmp_path / "di")
    assert m["items"] == len(items) > 20 and all(len(o.split("-")) == 2 for it in items for o in it["options"])
    text = spectro_samples(str(tmp_path / "di"), "phonemic-spec")[0].input.text
    assert "two-sound sequence" in text and "spoken sound" in text and "word" not in text
    with pytest.raises(ValueError, match="unit"):
        BuildParams(unit="syllable")
    with pytest.raises(ValueError, match="unit word"):
        BuildParams(unit="phone", audio_dir=str(tmp_path))


@pytest.mark.slow
def test_asr_baseline_hears_diphones(tmp_path: Path) -> None:
    from gapbench.spectro.build import BuildParams, build
    from gapbench.spectro.eval import evaluate

    build(BuildParams(unit="diphone", words=40, pool=3000), tmp_path, workers=2)
    doc, _ = evaluate(tmp_path, ["baseline:asr"], conditions=["graphemic-spec"], show_progress=False, cache=False)
    acc = doc["results"][0]["metrics"]["accuracy"]
    assert acc["ci95"][0] > 0.25, acc  # its own decoder words (b, ah are English words too), above chance
