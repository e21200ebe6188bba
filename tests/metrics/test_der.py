"""DER against pyannote.metrics run here, on the shared real cases and adversarial ones.

The expected values come from ``pyannote.metrics.diarization.DiarizationErrorRate`` fed by
``pyannote.database.util.load_rttm`` / ``load_uem`` (an independent RTTM reader). md-eval's
``-c 0.25`` (each side) is pyannote's ``collar=0.5`` (total width).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from der_ref import check_against_pyannote, pyannote_der
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gapbench.core.predictions import SpeakerTurns
from gapbench.metrics import intervals
from gapbench.metrics.der import DERMetric
from gapbench.scoring.der import score_der


@pytest.mark.parametrize(("uem", "collar", "skip_overlap"), [(True, 0.25, False), (False, 0.0, True)])
def test_four_ami_meetings_accumulate_like_pyannote(
    refdata: Path, uem: bool, collar: float, skip_overlap: bool
) -> None:
    d = refdata / "der" / "ami_test4_synth"
    result = score_der(
        d / "ref.rttm",
        d / "hyp.rttm",
        uem=d / "all.uem" if uem else None,
        collar=collar,
        skip_overlap=skip_overlap,
        bootstrap=300,
        seed=3,
    )
    metric, per_file = pyannote_der(d, uem=uem, collar=collar, skip_overlap=skip_overlap)
    check_against_pyannote(result, metric, per_file)
    assert len(per_file) == 4
    # corpus DER is not the mean of per-file DERs
    assert result.metrics["der"].value != pytest.approx(
        np.mean([f["diarization error rate"] for f in per_file.values()])
    )
    # the interval resamples files: the same as intervals.ratio_interval on per-file errors / totals
    errs = [r["confusion"] + r["false_alarm"] + r["missed"] for r in result.records]
    tots = [r["total"] for r in result.records]
    # (the same up to float association: the base sums components before dividing)
    assert result.metrics["der"].ci95 == pytest.approx(intervals.ratio_interval(errs, tots, 300, 3).pair(), abs=1e-12)
    lo, hi = result.metrics["der"].ci95
    assert lo <= result.metrics["der"].value <= hi
    assert any("rough" in n for n in result.notes)


_turn = st.tuples(st.integers(0, 40), st.integers(0, 15), st.sampled_from("ABC"))


_file = st.tuples(st.lists(_turn, max_size=5), st.lists(_turn, max_size=5))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(_file, min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 6), max_size=3),
    collar=st.sampled_from([0.0, 0.25]),
)
def test_merge_of_shards_equals_one_shot(files, cuts, collar) -> None:
    def turns(ts):
        return SpeakerTurns(tuple((s / 4, (s + d) / 4, spk) for s, d, spk in ts))

    ids = [f"file{i}" for i in range(len(files))]
    refs = [turns(r) for r, _ in files]
    hyps = [turns(h) for _, h in files]
    one = DERMetric(collar=collar)
    one.update(hyps, refs, ids)
    bounds = sorted({0, len(files), *(min(c, len(files)) for c in cuts)})
    shards = []
    for a, b in zip(bounds, bounds[1:]):
        m = DERMetric(collar=collar)
        m.update(hyps[a:b], refs[a:b], ids[a:b])
        shards.append(m)
    merged = shards[0]
    for m in shards[1:]:
        merged.merge(m)
    r1, r2 = one.compute(bootstrap=50, seed=1), merged.compute(bootstrap=50, seed=1)
    assert r1.to_json(with_records=True) == r2.to_json(with_records=True)
