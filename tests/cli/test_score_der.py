"""``gapbench score der``: JSON keys, table output, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gapbench.cli import main


def test_json_output_and_collar_convention(
    refdata: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from pyannote.database.util import load_rttm, load_uem
    from pyannote.metrics.diarization import DiarizationErrorRate

    d = refdata / "der" / "dscore_file1"
    out = tmp_path / "res.json"
    rc = main(
        [
            "score",
            "der",
            str(d / "ref.rttm"),
            str(d / "hyp.rttm"),
            "--uem",
            str(d / "all.uem"),
            "--collar",
            "0.25",
            "--skip-overlap",
            "--format",
            "json",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["kind"] == "der"
    assert set(payload["metrics"]) == {"der", "missed", "false_alarm", "confusion", "total", "jer", "purity",
                                     "coverage", "speakers"}
    assert set(payload["seconds"]) == {"missed", "false_alarm", "confusion", "correct", "total"}
    assert json.loads(out.read_text()) == payload
    ref, hyp, uem = load_rttm(d / "ref.rttm"), load_rttm(d / "hyp.rttm"), load_uem(d / "all.uem")
    expected = DiarizationErrorRate(collar=0.5, skip_overlap=True)(
        ref["FILE1"], hyp["FILE1"], uem=uem["FILE1"]
    )
    assert payload["metrics"]["der"]["value"] == expected
    assert payload["metrics"]["der"]["ci95"] is None
    from pyannote.metrics.diarization import JaccardErrorRate

    jer = JaccardErrorRate(collar=0.5, skip_overlap=True)(ref["FILE1"], hyp["FILE1"], uem=uem["FILE1"])
    assert payload["metrics"]["jer"]["value"] == jer
    assert any("too few files" in n for n in payload["notes"])


def test_table_output(refdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = refdata / "der" / "ami_es2005a_variants"
    assert main(["score", "der", str(d / "ref.rttm"), str(d / "hyp.rttm"), "--no-ci"]) == 0
    text = capsys.readouterr().out
    assert "der" in text and "false_alarm" in text and "seconds" in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "SPEAKER f 1 0 1 <NA> <NA> A <NA> <NA>\nSPEAKER f 1 x 1 <NA> <NA> A <NA> <NA>\n",
            "line 2: expected a number",
        ),
        ("SPEAKER f 1 0 -1 <NA> <NA> A <NA> <NA>\n", "line 1: expected a non-negative duration"),
        ("SPEAKER f 1 0 1\n", "line 1: expected 'SPEAKER file chan"),
    ],
)
def test_bad_hypothesis_is_one_line_exit_2(tmp_path: Path, capsys, content: str, message: str) -> None:
    (tmp_path / "ref.rttm").write_text("SPEAKER f 1 0 1 <NA> <NA> A <NA> <NA>\n")
    (tmp_path / "hyp.rttm").write_text(content)
    rc = main(["score", "der", str(tmp_path / "ref.rttm"), str(tmp_path / "hyp.rttm")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("gapbench: error: ")
    assert f"hyp.rttm: {message}" in err


def test_missing_file_and_bad_uem(tmp_path: Path, capsys) -> None:
    (tmp_path / "ref.rttm").write_text("SPEAKER f 1 0 1 <NA> <NA> A <NA> <NA>\n")
    assert main(["score", "der", str(tmp_path / "ref.rttm"), str(tmp_path / "nope.rttm")]) == 2
    assert "nope.rttm" in capsys.readouterr().err
    (tmp_path / "a.uem").write_text("g 1 0 4\n")
    assert (
        main(
            [
                "score",
                "der",
                str(tmp_path / "ref.rttm"),
                str(tmp_path / "ref.rttm"),
                "--uem",
                str(tmp_path / "a.uem"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a.uem: file 'f': expected a UEM entry" in err
