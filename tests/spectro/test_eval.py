from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gapbench.spectro.eval import blind_audit, evaluate

pytestmark = pytest.mark.slow

STUB = r'''
def always_b(batch):
    return ["I am not sure, but the answer is (B)." for _ in batch]

def flaky(batch):
    if any("\nA. t" in m.text for m in batch):
        raise RuntimeError("endpoint returned 500")
    return ["A or B" for _ in batch]

def down(batch):
    raise ConnectionError("connection refused")
'''


def _acc(doc: dict, model: str, condition: str = "graphemic-spec") -> dict:
    r = next(r for r in doc["results"] if r["model"] == model and r["condition"] == condition)
    return r


def test_baselines_on_the_debiased_design(debiased_build: Path) -> None:
    doc, _ = evaluate(debiased_build, ["baseline:asr", "baseline:blind", "baseline:chance"],
                      conditions=["graphemic-spec", "phonemic-spec-wave"], show_progress=False)
    assert len(doc["results"]) == 6
    asr = _acc(doc, "baseline:asr")["metrics"]
    assert asr["accuracy"]["value"] > 0.6 and asr["accuracy"]["ci95"][0] > 0.25  # well above chance
    assert _acc(doc, "baseline:asr", "phonemic-spec-wave")["metrics"]["accuracy"] == asr["accuracy"]
    for name in ("baseline:blind", "baseline:chance"):
        lo, hi = _acc(doc, name)["metrics"]["accuracy"]["ci95"]
        assert lo <= 0.25 <= hi, name  # chance level
    assert asr["mean_ped"]["value"] < _acc(doc, "baseline:chance")["metrics"]["mean_ped"]["value"]


def test_paper_design_leaks_to_the_blind_rule(paper_build: Path) -> None:
    audit = blind_audit(paper_build)
    assert audit["accuracy"] > 0.5 and audit["chance"] == 0.25
    doc, _ = evaluate(paper_build, ["baseline:blind"], conditions=["graphemic-spec"], show_progress=False)
    assert _acc(doc, "baseline:blind")["metrics"]["accuracy"]["value"] == pytest.approx(audit["accuracy"])


def test_python_models_through_extraction(paper_build: Path, tmp_path: Path) -> None:
    stub = tmp_path / "stub.py"
    stub.write_text(STUB)
    doc, _ = evaluate(paper_build, [f"python:{stub}:always_b", f"python:{stub}:flaky"],
                      conditions=["graphemic-spec"], batch_size=1, show_progress=False)
    from gapbench.spectro.build import load_items

    items = load_items(paper_build)
    b = _acc(doc, f"python:{stub}:always_b")
    assert b["metrics"]["accuracy"]["value"] == pytest.approx(sum(it["answer"] == "B" for it in items) / len(items))
    assert b["metrics"]["unparseable"]["value"] == 0
    f = _acc(doc, f"python:{stub}:flaky")
    assert f["metrics"]["unparseable"]["value"] == 1.0 and f["metrics"]["accuracy"]["value"] == 0
    n_t = sum(it["options"][0].startswith("t") for it in items)
    assert f["n_skipped"] == n_t > 0 and "endpoint returned 500" in f["skipped"][0]["reason"]
    doc, _ = evaluate(paper_build, [f"python:{stub}:down", "baseline:chance"], conditions=["graphemic-spec"],
                      show_progress=False)
    down = _acc(doc, f"python:{stub}:down")
    assert down["n"] == 0 and down["metrics"] == {} and down["n_skipped"] == 48
    assert "connection refused" in down["skipped"][0]["reason"]
    assert _acc(doc, "baseline:chance")["n"] == 48  # the run went on with the next model


def test_blank_ablation_keeps_baselines_that_ignore_pixels(paper_build: Path) -> None:
    doc, _ = evaluate(paper_build, ["baseline:blind"], conditions=["phonemic-spec"], blank=True, show_progress=False)
    assert doc["blank"] is True and doc["results"][0]["n"] == 48


def test_image_reading_baseline_reads_pixels(paper_build: Path) -> None:
    # the colormap inversion recovers the rendered levels (3 of viridis' 256 entries repeat a colour
    # after rounding: those map to the first of the pair, one level off)
    from gapbench.spectro.build import load_items, read_wav
    from gapbench.spectro.image_baseline import column_features, levels_from_rgb
    from gapbench.spectro.render import RenderParams, read_png, spectrogram_levels

    it = load_items(paper_build)[0]
    samples, _ = read_wav(paper_build / it["audio"])
    levels = spectrogram_levels(samples, RenderParams())
    back = levels_from_rgb(read_png(str(paper_build / it["spectrogram"])), "viridis")
    assert np.abs(back - levels).max() <= 1 and (back == levels).mean() > 0.95
    assert column_features(levels).shape == (448 // 4, 12)
    doc, _ = evaluate(paper_build, ["baseline:image"], conditions=["graphemic-spec"], limit=24, show_progress=False)
    acc = doc["results"][0]["metrics"]["accuracy"]
    assert acc["ci95"][0] > 0.25, acc  # reads the word from pixels well above chance


def test_circular_evaluation(paper_build: Path, tmp_path: Path) -> None:
    stub = tmp_path / "stub.py"
    stub.write_text(STUB)
    doc, outs = evaluate(paper_build, [f"python:{stub}:always_b", "baseline:blind"], conditions=["graphemic-spec"],
                         circular=True, show_progress=False)
    assert len(outs) == 8  # 2 models x 4 rotations
    always_b = _acc(doc, f"python:{stub}:always_b")["metrics"]
    assert always_b["accuracy"]["value"] > 0 and always_b["circular_accuracy"]["value"] == 0  # a letter bias
    blind = _acc(doc, "baseline:blind")["metrics"]
    # the blind rule reads the options, not their positions: rotations change nothing except ties
    assert blind["circular_accuracy"]["value"] <= blind["accuracy"]["value"]
    assert blind["circular_accuracy"]["value"] > 0.4
