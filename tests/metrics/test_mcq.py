from __future__ import annotations

import math

import pytest

from gapbench.core.predictions import Choice
from gapbench.errors import InputError
from gapbench.metrics.intervals import wilson_interval
from gapbench.metrics.mcq import ChoiceMetric

REFS = [
    {"answer": "A", "peds": [0, 1, 2, 3]},
    {"answer": "B", "peds": [2, 0, 1, 1]},
    {"answer": "C", "peds": [1, 1, 0, 4]},
    {"answer": "D", "peds": [3, 2, 2, 0]},
]


def test_hand_computed() -> None:
    m = ChoiceMetric()
    # right, wrong (PED 1 chosen), unparseable, wrong (PED 3 chosen)
    m.update([Choice("A"), Choice("C"), Choice(""), "a"], REFS, ids=["i1", "i2", "i3", "i4"])
    r = m.compute(ci=False)
    assert r.metrics["accuracy"].value == pytest.approx(1 / 4)
    assert r.metrics["mean_ped"].value == pytest.approx((0 + 1 + 3) / 3)  # over the 3 parseable answers
    assert r.metrics["unparseable"].value == pytest.approx(1 / 4)
    assert [x["ped"] for x in r.records] == [0.0, 1.0, None, 3.0]
    assert any("unparseable" in n for n in r.notes)


def test_intervals_merge_and_state() -> None:
    a, b = ChoiceMetric(), ChoiceMetric()
    a.update([Choice("A")] * 20, [REFS[0]] * 10 + [REFS[1]] * 10)
    b.update([Choice("B")] * 20, [REFS[1]] * 5 + [REFS[2]] * 15)
    whole = ChoiceMetric()
    whole.update([Choice("A")] * 20 + [Choice("B")] * 20, [REFS[0]] * 10 + [REFS[1]] * 15 + [REFS[2]] * 15)
    merged = a.merge(b)
    r1, r2 = merged.compute(seed=1), whole.compute(seed=1)
    assert r1.metrics["accuracy"].value == r2.metrics["accuracy"].value == pytest.approx(15 / 40)
    assert r1.metrics["accuracy"].ci95 == pytest.approx(wilson_interval(15, 40))
    assert r1.metrics["mean_ped"].ci95 is not None
    again = ChoiceMetric().load_state_dict(merged.state_dict()).compute(seed=1)
    assert again.metrics["mean_ped"].value == r1.metrics["mean_ped"].value


def test_nothing_parsed_and_bad_reference() -> None:
    m = ChoiceMetric()
    m.update(["", "maybe"], REFS[:2])
    r = m.compute(ci=False)
    assert r.metrics["accuracy"].value == 0 and math.isnan(r.metrics["mean_ped"].value)
    assert r.metrics["unparseable"].value == 1
    with pytest.raises(InputError):
        m.update(["A"], [{"answer": "A"}])
