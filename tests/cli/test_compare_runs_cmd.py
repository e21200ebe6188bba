"""``gapbench compare runs`` on runs made by ``gapbench run``: by store id and by JSON path (the same
numbers), the documented JSON shape, the table, and the one-line refusals (exit 2)."""
from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

from gapbench.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_json_shapes import documented  # noqa: E402

WORSE = '''
import numpy as np
from gapbench.models.builtin import DigitsLogReg
_m = DigitsLogReg()
def predict(inputs):
    x = np.stack([np.asarray(i, dtype=float).reshape(-1) / 16.0 for i in inputs])
    x = x + np.random.default_rng(int(x.sum() * 1000) % 2**32).normal(0, 0.8, x.shape)
    return _m.clf.predict_proba(x)
'''


def _call(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("cmpruns")
    (tmp / "worse.py").write_text(WORSE)
    base = ["run", "digits", "--bootstrap", "100", "--store", str(tmp / "runs.db"), "--out", str(tmp / "out"),
            "--no-cache", "--format", "json"]
    ids = {}
    for name, extra in (("a", ["--limit", "60", "--shift", "gaussian_noise", "--severities", "3"]),
                        ("b", ["--limit", "60", "--shift", "gaussian_noise", "--severities", "3",
                               "--model", f"python:{tmp / 'worse.py'}:predict"]),
                        ("short", ["--limit", "40"])):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):  # capsys is function-scoped; this fixture is not
            assert main([*base, *extra]) == 0
        ids[name] = json.loads(out.getvalue())["run_id"]
    return tmp, ids


def test_by_id_and_by_path_agree_and_match_the_documented_shape(runs, capsys) -> None:
    tmp, ids = runs
    store = ["--store", str(tmp / "runs.db")]
    code, out, err = _call(capsys, "compare", "runs", ids["a"], ids["b"], *store, "--bootstrap", "200", "-f", "json")
    assert code == 0, err
    by_id = json.loads(out)
    assert set(by_id) - {"notes"} == set(documented()["compare runs"]) - {"notes"}
    paths = [str(tmp / "out" / f"{ids[k]}.json") for k in ("a", "b")]
    code, out, err = _call(capsys, "compare", "runs", *paths, "--store", str(tmp / "elsewhere.db"),
                           "--bootstrap", "200", "-f", "json")
    assert code == 0, err
    by_path = json.loads(out)
    assert by_path["cells"] == by_id["cells"] and by_path["a"]["source"] == paths[0]
    assert [c["shift"] for c in by_id["cells"]] == ["none", "gaussian_noise"]
    top1 = by_id["cells"][0]["metrics"]["top1"]
    assert top1["diff"]["ci95"][0] > 0 and top1["p_value"] == pytest.approx(1 / 201)
    code, out, _ = _call(capsys, "compare", "runs", ids["a"], ids["b"], *store, "--bootstrap", "200",
                         "--out", str(tmp / "cmp.json"))
    assert code == 0 and "gaussian_noise@3" in out and "top1" in out and "< 0.005" in out
    assert json.loads((tmp / "cmp.json").read_text())["cells"] == by_id["cells"]


def test_refusals_are_one_line_exit_2(runs, capsys) -> None:
    tmp, ids = runs
    store = ["--store", str(tmp / "runs.db")]
    code, out, err = _call(capsys, "compare", "runs", ids["a"], ids["short"], *store)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("gapbench: error: runs not comparable: dataset fingerprints differ (A: digits, 60 samples")
    code, out, err = _call(capsys, "compare", "runs", ids["a"], "20990101-000000-deadbeef", *store)
    assert code == 2 and out == "" and err.count("\n") == 1 and "no run '20990101-000000-deadbeef'" in err
    code, out, err = _call(capsys, "compare", "runs", ids["a"], str(tmp / "missing.json"), *store)
    assert code == 2 and out == "" and err.count("\n") == 1 and "missing.json" in err
