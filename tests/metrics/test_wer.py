"""WER/CER against jiwer (computed here) on the real pairs and adversarial cases; merge; compare."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wer_ref import ADVERSARIAL, load_pairs

from gapbench.core.predictions import Transcript
from gapbench.errors import InputError
from gapbench.metrics.intervals import paired_ratio_test, ratio_interval
from gapbench.metrics.wer import WERMetric, tokenize
from gapbench.scoring.text import compare_wer, score_cer, score_wer


def test_bootstrap_interval(refdata: Path) -> None:
    path = refdata / "wer" / "pairs.jsonl"
    r1 = score_wer(path, bootstrap=500, seed=3)
    r2 = score_wer(path, bootstrap=500, seed=3)
    r3 = score_wer(path, bootstrap=500, seed=4)
    assert r1.metrics["wer"].ci95 == r2.metrics["wer"].ci95 != r3.metrics["wer"].ci95
    lo, hi = r1.metrics["wer"].ci95
    assert lo < r1.metrics["wer"].value < hi
    errors = np.array([x["errors"] for x in r1.records], float)
    words = np.array([x["ref_units"] for x in r1.records], float)
    assert r1.metrics["wer"].ci95 == ratio_interval(errors, words, 500, 3).pair()
    assert score_wer(path, ci=False).metrics["wer"].ci95 is None
    with pytest.raises(InputError, match="ci=False"):
        score_wer(path, bootstrap=0)


WORDS = st.sampled_from(["a", "b", "c", "the", "cat", "Sat", "naïve", "x-y", "12"])


SENTENCE = st.lists(WORDS, min_size=0, max_size=8).map(" ".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(SENTENCE, SENTENCE), min_size=1, max_size=20),
    st.lists(st.integers(0, 20), max_size=4),
    st.sampled_from(["word", "char"]),
    st.booleans(),
)
def test_merge_of_shards_equals_one_shot(pairs, cuts, unit, with_ids) -> None:
    refs = [r for r, _ in pairs]
    hyps = [Transcript(h) for _, h in pairs]
    ids = [f"u{i}" for i in range(len(pairs))] if with_ids else None
    one = WERMetric(unit, "basic")
    one.update(hyps, refs, ids)
    bounds = sorted({0, len(pairs), *[min(c, len(pairs)) for c in cuts]})
    shards = []
    for lo, hi in zip(bounds, bounds[1:]):
        m = WERMetric(unit, "basic")
        m.update(hyps[lo:hi], refs[lo:hi], ids[lo:hi] if ids else None)
        shards.append(m)
    merged = shards[0]
    for s in shards[1:]:
        merged.merge(s)
    a = one.compute(bootstrap=50, seed=1)
    b = merged.compute(bootstrap=50, seed=1)
    assert a.to_json() == b.to_json()
    assert a.records == b.records


def test_metric_update_accepts_transcripts_and_rejects_bad() -> None:
    m = WERMetric()
    m.update([Transcript("a b"), "c"], ["a x", "c"])
    assert m.compute(ci=False).metrics["wer"].value == pytest.approx(1 / 3)
    with pytest.raises(InputError):
        m.update(["a"], ["a", "b"])
    with pytest.raises(InputError):
        m.update([3], ["a"])
    with pytest.raises(ValueError):
        m.merge(WERMetric("char"))
    with pytest.raises(InputError):
        WERMetric().compute()


def test_compare_matches_scores_and_paired_test(refdata: Path, tmp_path: Path) -> None:
    pairs = load_pairs(refdata)
    a_path = refdata / "wer" / "pairs.jsonl"
    b_path = tmp_path / "b.jsonl"  # system B: reference-perfect on every 3rd utterance, shuffled order
    rows = [{**p, "hyp": p["ref"] if i % 3 == 0 else p["hyp"]} for i, p in enumerate(pairs)]
    b_path.write_text("\n".join(json.dumps(r) for r in reversed(rows)))
    res = compare_wer(a_path, b_path, bootstrap=400, seed=2)
    sa = score_wer(a_path, ci=False)
    sb = score_wer(b_path, ci=False)
    assert res.a.value == pytest.approx(sa.metrics["wer"].value)
    assert res.b.value == pytest.approx(sb.metrics["wer"].value)
    assert res.diff.value == pytest.approx(res.a.value - res.b.value)
    assert res.n == 401
    ea = np.array([r["errors"] for r in sa.records], float)
    words = np.array([r["ref_units"] for r in sa.records], float)
    by_id = {r["sample_id"]: r["errors"] for r in sb.records}
    eb = np.array([by_id[r["sample_id"]] for r in sa.records], float)
    t = paired_ratio_test(ea, words, eb, words, 400, 2)
    assert res.diff.ci95 == t.ci95 and res.p_value == t.p_value
    assert res.diff.ci95[0] > 0 and res.p_value < 0.05
    payload = res.to_json()
    assert payload["metric"] == "wer" and set(payload) >= {"a", "b", "diff", "p_value", "n"}


@pytest.mark.parametrize("text", [r for pair in ADVERSARIAL for r in pair] + ["", " \t ", "a\u2003\u2003b", "\na\n"])
def test_tokenize_equals_jiwer_default_transforms(text: str) -> None:
    assert tokenize(text, "word") == jiwer.transformations.wer_default(text)[0]
    assert tokenize(text, "char") == jiwer.transformations.cer_default(text)[0]


@pytest.mark.parametrize("normalizer", ["none", "whisper"])
def test_mer_wil_wip_equal_jiwer(refdata: Path, normalizer: str) -> None:
    """jiwer's other corpus measures, on the reference pairs and on the empty-side edge cases."""
    from gapbench.text_normalizers.normalizers import get_normalizer

    norm = get_normalizer(normalizer)
    rows = [json.loads(x) for x in (refdata / "wer" / "pairs.jsonl").read_text().splitlines() if x.strip()]
    refs, hyps = [norm(r["ref"]) for r in rows], [norm(r["hyp"]) for r in rows]
    keep = [k for k, r in enumerate(refs) if r.strip()]
    refs, hyps = [refs[k] for k in keep], [hyps[k] for k in keep]
    res, o = score_wer(refs=refs, hyps=hyps, bootstrap=200), jiwer.process_words(refs, hyps)
    for name in ("mer", "wil", "wip"):
        assert res.metrics[name].value == pytest.approx(getattr(o, name), abs=1e-15)
        lo, hi = res.metrics[name].ci95
        assert 0.0 <= lo <= res.metrics[name].value <= hi <= 1.0
    for r, h in ((["", ""], ["a b", ""]), (["", ""], ["", ""]), (["a b"], [""]), (["a b c"], ["a x c d"])):
        got, want = score_wer(refs=r, hyps=h, ci=False), jiwer.process_words(r, h)
        assert [got.metrics[k].value for k in ("mer", "wil", "wip")] == pytest.approx(
            [want.mer, want.wil, want.wip])
    assert "mer" not in score_cer(refs=refs, hyps=hyps, ci=False).metrics  # jiwer defines them for words
