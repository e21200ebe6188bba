"""``compare der|seg|topk`` through the CLI, the p-value floor, and how tables and notes render."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from gapbench.cli import main
from gapbench.cli.render import fmt_p, print_notes


@pytest.fixture(scope="module")
def arrays(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cmp")
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 4, size=(30, 8, 8)).astype(np.uint8)
    np.save(tmp / "gt.npy", gt)
    np.save(tmp / "good.npy", np.where(rng.random(gt.shape) < 0.9, gt, 0).astype(np.uint8))
    np.save(tmp / "poor.npy", np.where(rng.random(gt.shape) < 0.4, gt, 0).astype(np.uint8))
    labels = rng.integers(0, 5, size=300)
    np.save(tmp / "labels.npy", labels)
    np.save(tmp / "perfect.npy", np.eye(5)[labels] + 0.01 * rng.random((300, 5)))
    np.save(tmp / "random.npy", rng.random((300, 5)))
    return tmp


def _table(capsys, argv: list[str]) -> tuple[str, str]:
    capsys.readouterr()
    assert main(argv) == 0
    cap = capsys.readouterr()
    return cap.out, cap.err


def _json(capsys, argv: list[str]) -> dict:
    capsys.readouterr()
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_compare_topk_and_the_p_value_floor(arrays: Path, capsys) -> None:
    argv = ["compare", "topk", str(arrays / "perfect.npy"), str(arrays / "random.npy"), str(arrays / "labels.npy")]
    doc = _json(capsys, argv)
    assert doc["metric"] == "top1" and doc["n"] == 300 and doc["a"]["value"] == 1.0
    assert doc["p_value"] == pytest.approx(doc["info"]["p_value_floor"]) == pytest.approx(1 / 1001)
    out, _ = _table(capsys, argv)
    assert "top1: paired bootstrap over 300 samples" in out and "perfect.npy" in out and "random.npy" in out
    assert "p-value (two-sided, H0: no difference): < 0.001" in out
    out, _ = _table(capsys, [*argv, "--bootstrap", "100"])
    assert ": < 0.01\n" in out
    out, _ = _table(capsys, [*argv, "--no-ci"])
    assert "p-value (two-sided, H0: no difference): n/a" in out and "CI" not in out


def test_fmt_p() -> None:
    assert fmt_p(1 / 1001, 1 / 1001) == "< 0.001"
    assert fmt_p(1 / 51, 1 / 51) == "< 0.02"
    assert fmt_p(0.25, 1 / 1001) == "0.2500"
    assert fmt_p(float("nan"), None) == "n/a"


def test_compare_seg(arrays: Path, capsys) -> None:
    argv = ["compare", "seg", str(arrays / "gt.npy"), str(arrays / "good.npy"), str(arrays / "poor.npy"),
            "--num-classes", "4", "--bootstrap", "200"]
    doc = _json(capsys, argv)
    score = _json(capsys, ["score", "seg", str(arrays / "gt.npy"), str(arrays / "good.npy"), "--num-classes", "4",
                           "--no-ci"])
    assert doc["metric"] == "mIoU" and doc["a"]["value"] == score["metrics"]["mIoU"]["value"]
    assert doc["diff"]["value"] == pytest.approx(doc["a"]["value"] - doc["b"]["value"])
    lo, hi = doc["diff"]["ci95"]
    assert 0 < lo <= doc["diff"]["value"] <= hi
    out, _ = _table(capsys, argv)
    assert "mIoU: paired bootstrap over 30 images" in out and "good.npy" in out and "poor.npy" in out


@pytest.mark.slow
def test_compare_der(refdata: Path, capsys) -> None:
    d = refdata / "der" / "ami_test4_synth"
    argv = ["compare", "der", str(d / "ref.rttm"), str(d / "hyp.rttm"), str(d / "ref.rttm"), "--bootstrap", "200"]
    doc = _json(capsys, argv)
    score = _json(capsys, ["score", "der", str(d / "ref.rttm"), str(d / "hyp.rttm"), "--no-ci"])
    assert doc["metric"] == "der" and doc["n"] == 4 and doc["b"]["value"] == 0.0
    assert doc["a"]["value"] == pytest.approx(score["metrics"]["der"]["value"])
    out, _ = _table(capsys, argv)
    assert "der (fraction of reference speech): paired bootstrap over 4 files" in out
    assert "hyp.rttm" in out and "ref.rttm" in out


def test_same_file_twice_shows_two_rows(arrays: Path, capsys) -> None:
    f = str(arrays / "perfect.npy")
    out, _ = _table(capsys, ["compare", "topk", f, f, str(arrays / "labels.npy"), "--bootstrap", "50"])
    assert f"{f} (first)" in out and f"{f} (second)" in out


def test_names_from_data_are_not_markup(arrays: Path, capsys, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a short relative name: no wrapping inside the table cell
    odd = Path("[red]sys[red] [bold].npy")
    shutil.copy(arrays / "perfect.npy", odd)
    out, _ = _table(capsys, ["compare", "topk", str(odd), str(arrays / "random.npy"), str(arrays / "labels.npy"),
                             "--bootstrap", "50"])
    assert "[red]sys[red] [bold].npy" in out
    out, _ = _table(capsys, ["score", "topk", str(odd), str(arrays / "labels.npy")])
    assert "top-k of [red]sys[red] [bold].npy (300 samples)" in out
    capsys.readouterr()
    print_notes(["sample [bold]utt-1[/bold] at /data/[x].wav"], "job[1]: ")
    assert capsys.readouterr().err == "note: job[1]: sample [bold]utt-1[/bold] at /data/[x].wav\n"


def test_titles_counts_units_and_clean_stderr(refdata: Path, arrays: Path, capsys) -> None:
    d = refdata / "der" / "ami_test4_synth"
    single = refdata / "der" / "dscore_file1"
    runs = {
        "der": ["score", "der", str(d / "ref.rttm"), str(d / "hyp.rttm"), "--bootstrap", "50"],
        "der1": ["score", "der", str(single / "ref.rttm"), str(single / "hyp.rttm"), "--bootstrap", "50"],
        "wer": ["score", "wer", str(refdata / "wer" / "pairs.jsonl"), "--bootstrap", "50"],
        "seg": ["score", "seg", str(arrays / "gt.npy"), str(arrays / "good.npy"), "--num-classes", "4",
                "--bootstrap", "50"],
        "coco": ["score", "coco", str(refdata / "coco" / "real_val2014_100" / "gt.json"),
                 str(refdata / "coco" / "real_val2014_100" / "dt_bbox.json"), "--bootstrap", "50"],
    }
    outs = {}
    for name, argv in runs.items():
        out, err = _table(capsys, argv)
        outs[name] = out
        title = out.splitlines()[0]
        assert "  " not in title.strip(), title
        assert re.search(r"\((\d+ \w+|[^)]*\d+ \w+)\)$", title), title  # a sample count in the title
        assert "" not in err.splitlines(), repr(err)  # no blank lines on stderr
        assert all(line.startswith("note: ") for line in err.splitlines()), err
    assert "(4 files)" in outs["der"] and "(1 file)" in outs["der1"]
    assert re.search(r"der\s+│\s+0\.\d{4}\s+│.*│\s+fraction", outs["der"])
    assert re.search(r"total\s+│\s+[\d.]+\s+│.*│\s+seconds", outs["der"])
    assert "seconds (seconds)" not in outs["der"] and "\nseconds\n" in outs["der"]
    assert "401 utterances)" in outs["wer"] and "(30 images)" in outs["seg"] and "(100 images)" in outs["coco"]
