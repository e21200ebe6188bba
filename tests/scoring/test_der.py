"""scoring.der (score_der/compare_der) against pyannote.metrics on the reference RTTM cases."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from der_ref import check_against_pyannote, pyannote_der

from gapbench.core.predictions import SpeakerTurns
from gapbench.errors import InputError
from gapbench.scoring.der import score_der

SMALL_CASES = ["dscore_file1", "pyannote_toy", "ami_es2005a_variants", "quirk_hyp_self_overlap"]


@pytest.mark.parametrize("case", SMALL_CASES)
@pytest.mark.parametrize("uem", [False, True], ids=["no-uem", "uem"])
@pytest.mark.parametrize("collar", [0.0, 0.25])
@pytest.mark.parametrize("skip_overlap", [False, True], ids=["overlap", "skip-overlap"])
def test_reference_cases_match_pyannote(
    refdata: Path, case: str, uem: bool, collar: float, skip_overlap: bool
) -> None:
    d = refdata / "der" / case
    result = score_der(
        d / "ref.rttm",
        d / "hyp.rttm",
        uem=d / "all.uem" if uem else None,
        collar=collar,
        skip_overlap=skip_overlap,
        ci=False,
    )
    check_against_pyannote(result, *pyannote_der(d, uem=uem, collar=collar, skip_overlap=skip_overlap))
    assert result.info["pyannote_collar"] == 2 * collar
    assert any("approximation" in n for n in result.notes) == (not uem)


def test_self_overlap_quirk_counts_twice_like_pyannote(refdata: Path) -> None:
    """pyannote scores two overlapping turns of one hypothesis speaker as two speakers; md-eval
    would merge them first. We follow pyannote; merging the turns gives a different DER."""
    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    d = refdata / "der" / "quirk_hyp_self_overlap"
    result = score_der(d / "ref.rttm", d / "hyp.rttm", uem=d / "all.uem", ci=False)
    ref, hyp = load_rttm(d / "ref.rttm"), load_rttm(d / "hyp.rttm")
    from pyannote.database.util import load_uem

    uem = load_uem(d / "all.uem")
    (uri,) = ref
    twice = DiarizationErrorRate()(ref[uri], hyp[uri], uem=uem[uri])
    merged = DiarizationErrorRate()(ref[uri], hyp[uri].support(), uem=uem[uri])
    assert result.metrics["der"].value == twice
    assert twice != merged


def test_ci_notes_for_one_file(refdata: Path) -> None:
    d = refdata / "der" / "pyannote_toy"
    result = score_der(d / "ref.rttm", d / "hyp.rttm", uem=d / "all.uem")
    assert result.metrics["der"].ci95 is None
    assert any("too few files (1)" in n for n in result.notes)
    js = result.to_json()
    assert set(js["metrics"]) == {"der", "missed", "false_alarm", "confusion", "total", "jer", "purity",
                                "coverage", "speakers"}
    assert set(js["seconds"]) == {"missed", "false_alarm", "confusion", "correct", "total"}


def _rttm(turns: list[tuple[str, float, float, str]]) -> str:
    return "".join(f"SPEAKER {f} 1 {s:.3f} {d:.3f} <NA> <NA> {spk} <NA> <NA>\n" for f, s, d, spk in turns)


def _ann(turns, uri):
    from pyannote.core import Annotation, Segment

    ann = Annotation(uri=uri)
    for i, (f, s, d, spk) in enumerate(turns):
        if f == uri:
            ann[Segment(round(s, 3), round(s, 3) + round(d, 3)), i] = spk
    return ann


def _pyannote(ref_turns, hyp_turns, uris, uem=None, collar=0.0, skip_overlap=False):
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=2 * collar, skip_overlap=skip_overlap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for uri in uris:
            tl = None if uem is None else Timeline([Segment(*uem[uri])], uri=uri)
            metric(_ann(ref_turns, uri), _ann(hyp_turns, uri), uem=tl)
    return metric


ODD_REF = [
    ("f/1", 0.0, 4.0, "spk:1"),
    ("f/1", 3.0, 3.0, "ü-ß"),
    ("f/1", 5.0, 0.0, "zero"),  # zero duration
    ("f/1", 6.5, 2.0, "spk:1"),
    ("f/1", 7.0, 1.0, "ü-ß"),
    ("f/1", 7.2, 0.5, "x'y\"z"),  # 3-way overlap
    ("g", 1.0, 2.0, "A"),
    ("g", 1.5, 2.0, "B"),
]


ODD_HYP = [
    ("f/1", 0.2, 3.5, "0"),
    ("f/1", 3.7, 2.4, "1"),
    ("f/1", 6.4, 2.2, "0"),
    ("f/1", 7.0, 0.0, "2"),
    ("g", 1.1, 2.5, "B"),
]


@pytest.mark.parametrize("collar", [0.0, 0.25])
@pytest.mark.parametrize("skip_overlap", [False, True])
def test_odd_names_zero_durations_overlaps(tmp_path: Path, collar: float, skip_overlap: bool) -> None:
    (tmp_path / "r.rttm").write_text(_rttm(ODD_REF))
    (tmp_path / "h.rttm").write_text(_rttm(ODD_HYP))
    result = score_der(
        tmp_path / "r.rttm", tmp_path / "h.rttm", collar=collar, skip_overlap=skip_overlap, ci=False
    )
    metric = _pyannote(ODD_REF, ODD_HYP, ["f/1", "g"], collar=collar, skip_overlap=skip_overlap)
    assert result.metrics["der"].value == abs(metric)
    assert result.groups["seconds"]["total"].value == metric["total"]


def test_empty_hypothesis_is_all_missed(tmp_path: Path) -> None:
    (tmp_path / "r.rttm").write_text(_rttm(ODD_REF))
    (tmp_path / "h.rttm").write_text(";; nothing detected\n")
    (tmp_path / "a.uem").write_text("f/1 1 0 10\ng 1 0 5\n")
    with pytest.raises(InputError, match="allow_empty"):  # almost always the wrong file
        score_der(tmp_path / "r.rttm", tmp_path / "h.rttm", uem=tmp_path / "a.uem", ci=False)
    result = score_der(tmp_path / "r.rttm", tmp_path / "h.rttm", uem=tmp_path / "a.uem", ci=False,
                       allow_empty=True)
    metric = _pyannote(ODD_REF, [], ["f/1", "g"], uem={"f/1": (0, 10), "g": (0, 5)})
    assert result.metrics["der"].value == abs(metric) == 1.0
    assert result.metrics["missed"].value == 1.0
    assert any("missing from the hypothesis" in n for n in result.notes)


def test_extra_hypothesis_file_is_false_alarm_and_uem_rules(tmp_path: Path) -> None:
    ref = [t for t in ODD_REF if t[0] == "g"]
    hyp = ODD_HYP + [("extra", 0.0, 2.0, "Z")]
    (tmp_path / "r.rttm").write_text(_rttm(ref))
    (tmp_path / "h.rttm").write_text(_rttm(hyp))
    result = score_der(tmp_path / "r.rttm", tmp_path / "h.rttm", ci=False)
    metric = _pyannote(ref, hyp, ["g", "f/1", "extra"])  # hyp-only files follow, in hyp order
    assert result.metrics["der"].value == abs(metric)
    assert result.groups["seconds"]["false_alarm"].value == metric["false alarm"]
    assert any("not in the reference" in n for n in result.notes)
    # with a UEM that lists only 'g' (and an unused file), the extra file lies outside it
    (tmp_path / "a.uem").write_text("g 1 0 10\nunused 1 0 3\n")
    result = score_der(tmp_path / "r.rttm", tmp_path / "h.rttm", uem=tmp_path / "a.uem", ci=False)
    assert result.metrics["der"].value == abs(_pyannote(ref, hyp, ["g"], uem={"g": (0, 10)}))
    assert any("outside the UEM" in n for n in result.notes)
    assert any("in neither" in n for n in result.notes)
    # a reference file without a UEM entry is an error naming it
    (tmp_path / "b.uem").write_text("other 1 0 10\n")
    with pytest.raises(InputError, match=r"b\.uem: file 'g': expected a UEM entry"):
        score_der(tmp_path / "r.rttm", tmp_path / "h.rttm", uem=tmp_path / "b.uem")


def test_empty_reference_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "r.rttm").write_text(";; empty\n")
    (tmp_path / "h.rttm").write_text(_rttm(ODD_HYP))
    with pytest.raises(InputError, match="at least one SPEAKER line"):
        score_der(tmp_path / "r.rttm", tmp_path / "h.rttm")


def test_mappings_and_speaker_turns_api() -> None:
    ref = {"a": [(0.0, 5.0, "x"), (5.0, 9.0, "y")]}
    hyp = {"a": SpeakerTurns(((0.0, 4.0, "1"), (4.0, 9.0, "2")))}
    result = score_der(ref, hyp, uem={"a": [(0.0, 10.0)]}, ci=False)
    assert result.metrics["der"].value == pytest.approx(1 / 9)
