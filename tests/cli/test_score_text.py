"""``gapbench score wer|cer`` and ``gapbench compare wer|cer`` through ``gapbench.cli.main``."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jiwer
import pytest

from gapbench.cli import main


def _run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_score_wer_json_equals_jiwer(refdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = refdata / "wer" / "pairs.jsonl"
    payload = _run_json(capsys, ["score", "wer", str(path), "--format", "json", "--bootstrap", "200"])
    pairs = [json.loads(x) for x in path.read_text().splitlines() if x]
    refs, hyps = [p["ref"] for p in pairs], [p["hyp"] for p in pairs]
    o = jiwer.process_words(refs, hyps)
    m = payload["metrics"]
    assert list(m) == ["wer", "mer", "wil", "wip", "substitutions", "deletions", "insertions", "hits"]
    assert m["wer"]["value"] == pytest.approx(jiwer.wer(refs, hyps), abs=1e-15)
    lo, hi = m["wer"]["ci95"]
    assert lo < m["wer"]["value"] < hi
    assert (m["substitutions"]["value"], m["deletions"]["value"], m["insertions"]["value"], m["hits"]["value"]) == (
        o.substitutions, o.deletions, o.insertions, o.hits)
    assert all(m[k]["ci95"] is None for k in ("substitutions", "deletions", "insertions", "hits"))
    assert payload["info"]["utterances"] == 401
    assert payload["info"]["reference_words"] == o.hits + o.substitutions + o.deletions


def test_score_cer_whisper_no_ci_and_out(refdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r" / "cer.json"
    path = refdata / "wer" / "pairs.jsonl"
    payload = _run_json(capsys, ["score", "cer", str(path), "-n", "whisper", "-f", "json", "--no-ci", "--out", str(out)])
    rows = [json.loads(x) for x in (refdata / "wer" / "normalized.jsonl").read_text().splitlines() if x]
    expected = jiwer.cer([r["ref_norm"] for r in rows], [r["hyp_norm"] for r in rows])
    assert payload["metrics"]["cer"] == {"value": pytest.approx(expected, abs=1e-15), "ci95": None}
    assert json.loads(out.read_text()) == payload


def test_table_output(refdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "wer", str(refdata / "wer" / "pairs.jsonl"), "--normalizer", "basic", "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert "WER" in out and "substitutions" in out and "95% CI" in out


def test_kaldi_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _write(tmp_path, "ref.txt", "u1 the cat sat\nu2 on the mat\n")
    hyp = _write(tmp_path, "hyp.txt", "u2 on a mat\nu1 the cat sat down\n")
    payload = _run_json(capsys, ["score", "wer", "--ref", str(ref), "--hyp", str(hyp), "-f", "json"])
    assert payload["metrics"]["wer"]["value"] == pytest.approx(2 / 6)


def test_empty_references_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, "p.jsonl", '{"id": "a", "ref": "", "hyp": "x y"}\n{"id": "b", "ref": "", "hyp": ""}\n')
    payload = _run_json(capsys, ["score", "wer", str(p), "-f", "json"])
    assert payload["metrics"]["wer"] == {"value": 2, "ci95": None}  # jiwer 4: the insertion count
    assert payload["metrics"]["insertions"]["value"] == 2 and isinstance(payload["metrics"]["hits"]["value"], int)
    assert any("insertion count, as in jiwer 4" in n for n in payload["notes"])


def test_compare_json(refdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = refdata / "wer" / "pairs.jsonl"
    rows = [json.loads(x) for x in a.read_text().splitlines() if x]
    b = _write(tmp_path, "b.jsonl", "\n".join(json.dumps({**r, "hyp": r["ref"]}) for r in rows))
    payload = _run_json(capsys, ["compare", "wer", str(a), str(b), "-f", "json", "--bootstrap", "300", "--seed", "5"])
    assert payload["metric"] == "wer" and payload["n"] == 401
    assert payload["b"]["value"] == 0.0
    assert payload["diff"]["value"] == pytest.approx(payload["a"]["value"])
    assert payload["diff"]["ci95"][0] > 0 and 0 < payload["p_value"] < 0.01
    assert main(["compare", "cer", str(a), str(b), "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    assert "difference (first - second)" in out and "p-value" in out


BAD_JSONL = [
    ("{not json}\n", "line 1: expected a JSON object"),
    ('{"ref": "a", "hyp": "b"}\n[1]\n', "line 2: expected a JSON object"),
    ('{"ref": "a"}\n', 'line 1: expected a "hyp" field'),
    ('{"ref": 3, "hyp": "b"}\n', 'line 1: expected "ref" to be a string'),
    ('{"id": 1, "ref": "a", "hyp": "b"}\n{"id": 1, "ref": "a", "hyp": "b"}\n', "line 2: expected a unique id"),
    ("", "expected at least one"),
]


@pytest.mark.parametrize(("text", "message"), BAD_JSONL)
@pytest.mark.parametrize("command", [["score", "wer"], ["score", "cer"]])
def test_bad_pairs_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                      message: str, command: list[str]) -> None:
    p = _write(tmp_path, "bad.jsonl", text)
    assert main([*command, str(p)]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("gapbench: error: ")
    assert str(p) in err and message in err
    assert captured.out == ""


def _err(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_other_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "nope.jsonl" in _err(capsys, ["score", "wer", str(tmp_path / "nope.jsonl")])
    assert "PAIRS.jsonl, or both --ref" in _err(capsys, ["score", "wer"])
    good = _write(tmp_path, "good.jsonl", '{"ref": "a", "hyp": "a"}\n')
    assert "not both" in _err(capsys, ["score", "wer", str(good), "--ref", str(good), "--hyp", str(good)])
    ref = _write(tmp_path, "ref.txt", "u1 a\nu2 b\n")
    hyp = _write(tmp_path, "hyp.txt", "u1 a\nu3 b\n")
    err = _err(capsys, ["score", "wer", "--ref", str(ref), "--hyp", str(hyp)])
    assert "only in" in err and "u2" in err and "u3" in err
    dup = _write(tmp_path, "dup.txt", "u1 a\nu1 b\n")
    assert "dup.txt: line 2: expected a unique utterance id" in _err(capsys, ["score", "cer", "--ref", str(dup), "--hyp", str(hyp)])
    other = _write(tmp_path, "other.jsonl", '{"ref": "b", "hyp": "a"}\n')
    assert "same reference" in _err(capsys, ["compare", "wer", str(good), str(other)])
    two = _write(tmp_path, "two.jsonl", '{"ref": "a", "hyp": "a"}\n{"ref": "b", "hyp": "a"}\n')
    assert "pair them by order" in _err(capsys, ["compare", "cer", str(good), str(two)])


def test_bad_normalizer_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, "good.jsonl", '{"ref": "a", "hyp": "a"}\n')
    assert main(["score", "wer", str(good), "--normalizer", "english"]) == 2
    assert "english" in capsys.readouterr().err


def test_help_stays_light() -> None:
    code = (
        "import sys; from gapbench.cli import main\n"
        "try: main(['score', 'wer', '--help'])\nexcept SystemExit: pass\n"
        "heavy = [m for m in ('jiwer', 'rapidfuzz', 'gapbench.metrics.wer', 'gapbench.text_normalizers.normalizers') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_score_wer_alignments_in_the_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = _write(tmp_path, "p.jsonl", '{"id": "a", "ref": "the cat sat", "hyp": "the bat sat down"}\n'
                                        '{"id": "b", "ref": "x y", "hyp": ""}\n')
    payload = _run_json(capsys, ["score", "wer", str(pairs), "-f", "json", "--no-ci", "--alignments"])
    assert [r["sample_id"] for r in payload["records"]] == ["a", "b"]
    assert payload["records"][0]["alignment"] == [["the", "the", "C"], ["cat", "bat", "S"], ["sat", "sat", "C"],
                                                  [None, "down", "I"]]
    assert payload["records"][1]["alignment"] == [["x", None, "D"], ["y", None, "D"]]
    out = jiwer.process_words("the cat sat", "the bat sat down")
    assert [c.type for c in out.alignments[0]] == ["equal", "substitute", "equal", "insert"]
    plain = _run_json(capsys, ["score", "wer", str(pairs), "-f", "json", "--no-ci"])
    assert "records" not in plain
    assert main(["score", "wer", str(pairs), "--no-ci", "--alignments"]) == 0
    assert "JSON only" in capsys.readouterr().err
