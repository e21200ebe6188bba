"""JER, purity and coverage against pyannote.metrics run here, on the shared real cases and adversarial ones.

The expected values come from ``pyannote.metrics.diarization.JaccardErrorRate`` /
``DiarizationPurity`` / ``DiarizationCoverage`` fed by ``pyannote.database.util.load_rttm`` /
``load_uem`` (an independent RTTM reader), accumulated over the files in reference order. Equality
is exact (``==``): we sum pyannote's own components in the order pyannote does.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from der_ref import uris_in_order

from gapbench.metrics.jer import JERMetric
from gapbench.scoring.der import score_der

CASES = ["ami_es2005a_variants", "ami_test4_synth", "dscore_file1", "pyannote_toy", "quirk_hyp_self_overlap"]


def _reference(pairs: list[tuple[str, Any, Any, Any]], collar: float, skip_overlap: bool) -> tuple[Any, Any, Any]:
    from pyannote.metrics.diarization import DiarizationCoverage, DiarizationPurity, JaccardErrorRate

    jer = JaccardErrorRate(collar=2 * collar, skip_overlap=skip_overlap)
    pur, cov = DiarizationPurity(), DiarizationCoverage()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _uri, ref, hyp, uem in pairs:
            jer(ref, hyp, uem=uem)
            pur(ref, hyp)
            cov(ref, hyp)
    return jer, pur, cov


def _case_pairs(d: Path, uem: bool) -> list[tuple[str, Any, Any, Any]]:
    from pyannote.core import Annotation
    from pyannote.database.util import load_rttm, load_uem

    ref, hyp = load_rttm(d / "ref.rttm"), load_rttm(d / "hyp.rttm")
    uems = load_uem(d / "all.uem") if uem else {}
    return [(u, ref[u], hyp.get(u, Annotation(uri=u)), uems.get(u)) for u in uris_in_order(d / "ref.rttm")]


def _check(result: Any, jer: Any, pur: Any, cov: Any) -> None:
    assert result.metrics["jer"].value == abs(jer)
    assert result.metrics["purity"].value == abs(pur)
    assert result.metrics["coverage"].value == abs(cov)
    assert result.metrics["speakers"].value == jer["speaker count"]
    per_file = {uri: (j, p, c) for (uri, j), (_, p), (_, c) in zip(jer.results_, pur.results_, cov.results_)}
    assert [r["sample_id"] for r in result.records] == list(per_file)
    for rec in result.records:
        j, p, c = per_file[rec["sample_id"]]
        assert rec["jer"] == j["jaccard error rate"]
        assert rec["purity"] == p["purity"] and rec["coverage"] == c["coverage"]
        assert rec["speakers"] == j["speaker count"] and rec["speaker_error"] == j["speaker error"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("uem", "collar", "skip_overlap"),
                         [(False, 0.0, False), (True, 0.25, False), (True, 0.0, True), (False, 0.25, True)])
def test_reference_cases_equal_pyannote(refdata: Path, case: str, uem: bool, collar: float,
                                        skip_overlap: bool) -> None:
    d = refdata / "der" / case
    result = score_der(d / "ref.rttm", d / "hyp.rttm", uem=d / "all.uem" if uem else None, collar=collar,
                       skip_overlap=skip_overlap, bootstrap=200, seed=1)
    _check(result, *_reference(_case_pairs(d, uem), collar, skip_overlap))
    # DER is untouched by the extra names
    assert {"der", "missed", "false_alarm", "confusion", "total"} <= set(result.metrics)


def test_four_meetings_get_intervals_that_hold_the_value(refdata: Path) -> None:
    d = refdata / "der" / "ami_test4_synth"
    r = score_der(d / "ref.rttm", d / "hyp.rttm", bootstrap=300, seed=2)
    for name in ("jer", "purity", "coverage"):
        lo, hi = r.metrics[name].ci95
        assert lo <= r.metrics[name].value <= hi
    assert r.metrics["speakers"].ci95 is None


def _ann(uri: str, turns: list[tuple[float, float, str]]) -> Any:
    from pyannote.core import Annotation, Segment

    a = Annotation(uri=uri)
    for k, (s, e, spk) in enumerate(turns):
        a[Segment(s, e), k] = spk
    return a


ADVERSARIAL: dict[str, tuple[list[tuple[float, float, str]], list[tuple[float, float, str]]]] = {
    "empty_hypothesis": ([(0.0, 3.0, "A"), (3.5, 6.0, "B")], []),
    "speakerless_reference": ([], [(0.0, 2.0, "x"), (2.5, 4.0, "y")]),
    "both_empty": ([], []),
    "overlap_both_sides": ([(0.0, 5.0, "A"), (3.0, 8.0, "B"), (7.0, 9.0, "C")],
                           [(0.2, 4.1, "1"), (2.9, 8.3, "2"), (6.5, 9.5, "2")]),
    "more_hyp_speakers": ([(0.0, 4.0, "A"), (4.0, 8.0, "B")],
                          [(0.0, 2.0, "1"), (2.0, 4.0, "2"), (4.0, 6.0, "3"), (6.0, 8.0, "4")]),
    "one_cluster": ([(0.0, 4.0, "A"), (4.0, 8.0, "B"), (8.5, 9.0, "C")], [(0.0, 9.0, "s")]),
    "same_label_self_overlap": ([(0.0, 6.0, "A")], [(0.0, 4.0, "1"), (2.0, 6.0, "1")]),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
@pytest.mark.parametrize(("collar", "skip_overlap", "uem"),
                         [(0.0, False, None), (0.25, False, None), (0.0, True, [(0.5, 7.5)]),
                          (0.3, True, [(0.0, 2.0), (3.0, 9.0)])])
def test_adversarial_files_equal_pyannote(name: str, collar: float, skip_overlap: bool,
                                          uem: list[tuple[float, float]] | None) -> None:
    from pyannote.core import Segment, Timeline

    ref, hyp = ADVERSARIAL[name]
    m = JERMetric(collar=collar, skip_overlap=skip_overlap)
    m.add_file(name, ref, hyp, uem)
    result = m.compute(ci=False)
    timeline = None if uem is None else Timeline([Segment(s, e) for s, e in uem], uri=name)
    _check(result, *_reference([(name, _ann(name, ref), _ann(name, hyp), timeline)], collar, skip_overlap))


def test_adversarial_corpus_accumulates_like_pyannote() -> None:
    m = JERMetric(collar=0.1)
    pairs = []
    for name, (ref, hyp) in ADVERSARIAL.items():
        m.add_file(name, ref, hyp)
        pairs.append((name, _ann(name, ref), _ann(name, hyp), None))
    _check(m.compute(bootstrap=200, seed=0), *_reference(pairs, 0.1, False))


def test_no_reference_speaker_is_one_with_a_note() -> None:
    m = JERMetric()
    m.add_file("f", [], [(0.0, 1.0, "x")])
    r = m.compute(ci=False)
    assert r.metrics["jer"].value == 1.0 and r.metrics["speakers"].value == 0
    assert any("no reference speaker" in n for n in r.notes)


def test_purity_note_only_when_a_setting_is_ignored() -> None:
    plain = JERMetric()
    plain.add_file("f", [(0.0, 1.0, "A")], [(0.0, 1.0, "x")])
    assert not any("purity/coverage" in n for n in plain.compute(ci=False).notes)
    cropped = JERMetric()
    cropped.add_file("f", [(0.0, 1.0, "A")], [(0.0, 1.0, "x")], uem=[(0.0, 0.5)])
    assert any("purity/coverage" in n for n in cropped.compute(ci=False).notes)


def test_shards_merge_and_travel_as_json() -> None:
    names = list(ADVERSARIAL)
    whole, a, b = JERMetric(collar=0.1), JERMetric(collar=0.1), JERMetric(collar=0.1)
    for k, name in enumerate(names):
        ref, hyp = ADVERSARIAL[name]
        whole.add_file(name, ref, hyp)
        (a if k < 3 else b).add_file(name, ref, hyp)
    b2 = JERMetric.from_state_dict(json.loads(json.dumps(b.state_dict())))
    merged = a.merge(b2).compute(ci=False)
    one = whole.compute(ci=False)
    assert merged.metrics == one.metrics and merged.records == one.records
    with pytest.raises(Exception, match="settings"):
        JERMetric(collar=0.2).merge(JERMetric(collar=0.1))
