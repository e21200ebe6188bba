"""scoring.text (score_wer/cer, compare_wer/cer) against jiwer on the reference pairs and adversarial input."""
from __future__ import annotations

import json
from pathlib import Path

import jiwer
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wer_ref import ADVERSARIAL, load_pairs

from gapbench.data.text_pairs import TextPair
from gapbench.errors import InputError
from gapbench.scoring.text import compare_cer, compare_wer, score_cer, score_wer


def _normalized(refdata: Path, normalizer: str) -> tuple[list[str], list[str]]:
    """Expected normalised texts from an independent source per normaliser."""
    pairs = load_pairs(refdata)
    if normalizer == "whisper":  # openai-whisper's own output, stored with the reference data
        rows = [json.loads(x) for x in (refdata / "wer" / "normalized.jsonl").read_text().splitlines() if x]
        return [r["ref_norm"] for r in rows], [r["hyp_norm"] for r in rows]
    if normalizer == "basic":  # jiwer's own transforms define "basic"
        norm = jiwer.Compose(
            [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()]
        )
    else:
        norm = lambda s: s  # noqa: E731
    return [norm(p["ref"]) for p in pairs], [norm(p["hyp"]) for p in pairs]


def _check_against_jiwer(result, refs: list[str], hyps: list[str], unit: str) -> None:
    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    rate = jiwer.wer if unit == "word" else jiwer.cer
    name = "wer" if unit == "word" else "cer"
    out = process(refs, hyps)
    assert result.metrics[name].value == pytest.approx(rate(refs, hyps), abs=1e-15)
    assert result.metrics["substitutions"].value == out.substitutions
    assert result.metrics["deletions"].value == out.deletions
    assert result.metrics["insertions"].value == out.insertions
    assert result.metrics["hits"].value == out.hits
    for m in ("substitutions", "deletions", "insertions", "hits"):
        assert result.metrics[m].ci95 is None


@pytest.mark.parametrize("normalizer", ["none", "basic", "whisper"])
@pytest.mark.parametrize("unit", ["word", "char"])
def test_reference_pairs_equal_jiwer(refdata: Path, normalizer: str, unit: str) -> None:
    score = score_wer if unit == "word" else score_cer
    result = score(refdata / "wer" / "pairs.jsonl", normalizer=normalizer, ci=False)
    refs, hyps = _normalized(refdata, normalizer)
    _check_against_jiwer(result, refs, hyps, unit)
    assert result.info["utterances"] == 401
    assert result.info["normalizer"] == normalizer
    # per-utterance records equal jiwer run on each utterance alone
    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    for rec, r, h, p in list(zip(result.records, refs, hyps, load_pairs(refdata)))[::7]:
        o = process(r, h)
        assert rec["sample_id"] == p["id"]
        assert (rec["substitutions"], rec["deletions"], rec["insertions"], rec["hits"]) == (
            o.substitutions, o.deletions, o.insertions, o.hits)
        assert rec["ref_units"] == o.hits + o.substitutions + o.deletions
        assert rec["errors"] == o.substitutions + o.deletions + o.insertions


def test_corpus_rate_is_not_mean_of_utterance_rates() -> None:
    r = score_wer([("a b c d", "a b c d"), ("x", "y")], ci=False)
    assert r.metrics["wer"].value == pytest.approx(1 / 5)  # the mean of utterance WERs is 0.5


@pytest.mark.parametrize("unit", ["word", "char"])
def test_adversarial_equal_jiwer(unit: str) -> None:
    refs = [r for r, _ in ADVERSARIAL if r.strip()]
    hyps = [h for r, h in ADVERSARIAL if r.strip()]
    score = score_wer if unit == "word" else score_cer
    _check_against_jiwer(score(refs=refs, hyps=hyps, ci=False), refs, hyps, unit)
    for r, h in zip(refs, hyps):  # single utterances too
        res = score([(r, h)])
        _check_against_jiwer(res, [r], [h], unit)
        assert res.metrics["wer" if unit == "word" else "cer"].ci95 is None
        assert any("no bootstrap interval" in n for n in res.notes)


@pytest.mark.parametrize("unit", ["word", "char"])
def test_empty_references_are_reported_not_fatal(unit: str) -> None:
    pairs = ADVERSARIAL + [("", "spurious\twords  here "), ("", "")]  # jiwer: "spurious\twords" is one word
    score = score_wer if unit == "word" else score_cer
    result = score(pairs, ci=True, bootstrap=200)
    nonempty = [(r, h) for r, h in pairs if r.strip()]
    transform = jiwer.transformations.wer_default if unit == "word" else jiwer.transformations.cer_default
    empty_ins = sum(len(transform(h)[0]) for r, h in pairs if not r.strip())
    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    o = process([r for r, _ in nonempty], [h for _, h in nonempty])
    name = result.kind
    expected = (o.substitutions + o.deletions + o.insertions + empty_ins) / (o.hits + o.substitutions + o.deletions)
    assert result.metrics[name].value == pytest.approx(expected, abs=1e-15)
    assert result.metrics["insertions"].value == o.insertions + empty_ins
    assert result.info["empty_references"] == 3  # "   ", "" and ""
    assert result.info["empty_reference_ids"] == ["1", "8", "9"]
    assert any("empty reference" in n for n in result.notes)
    assert result.metrics[name].ci95 is not None
    # jiwer 4.0 itself agrees when it accepts the empty references
    assert result.metrics[name].value == pytest.approx(
        (jiwer.wer if unit == "word" else jiwer.cer)([r for r, _ in pairs], [h for _, h in pairs]))


@pytest.mark.parametrize("pairs", [[("", "a b"), (" ", "")], [("", ""), ("", "")], [("", "x")]])
def test_all_references_empty_follows_jiwer(pairs: list[tuple[str, str]]) -> None:
    """jiwer 4 returns the insertion count when no reference has a word (0 when nothing was said)."""
    result = score_wer(pairs)
    refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
    assert result.metrics["wer"].value == jiwer.wer(refs, hyps)
    assert result.metrics["wer"].ci95 is None
    assert result.metrics["insertions"].value == jiwer.process_words(refs, hyps).insertions
    assert any("insertion count, as in jiwer 4" in n for n in result.notes)
    json.dumps(result.to_json())


def test_input_sources_agree(refdata: Path, tmp_path: Path) -> None:
    pairs = load_pairs(refdata)[:50]
    ref = tmp_path / "ref.txt"
    hyp = tmp_path / "hyp.txt"
    ref.write_text("".join(f"{p['id']} {p['ref']}\n" for p in pairs))
    hyp.write_text("".join(f"{p['id']} {p['hyp']}\n" for p in reversed(pairs)))
    a = score_wer(ref_file=ref, hyp_file=hyp, bootstrap=100)
    b = score_wer(refs=[p["ref"] for p in pairs], hyps=[p["hyp"] for p in pairs],
                  ids=[p["id"] for p in pairs], bootstrap=100)
    c = score_wer([TextPair(p["ref"], p["hyp"], p["id"]) for p in pairs], bootstrap=100)
    assert a.to_json()["metrics"] == b.to_json()["metrics"] == c.to_json()["metrics"]
    assert a.records == b.records == c.records


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"pairs": [("a", "b")], "refs": ["a"], "hyps": ["b"]},
        {"refs": ["a"]},
        {"refs": ["a", "b"], "hyps": ["a"]},
        {"refs": [], "hyps": []},
        {"pairs": []},
        {"pairs": [("a", 1)]},
        {"ref_file": "x.txt"},
        {"pairs": [("a", "b")], "normalizer": "nope"},
        {"refs": ["a", "b"], "hyps": ["a", "b"], "ids": ["u", "u"]},
        {"pairs": [TextPair("a", "b", "u"), TextPair("a", "b", "u")]},
    ],
)
def test_bad_api_input(kwargs: dict) -> None:
    with pytest.raises(InputError):
        score_wer(**kwargs)


WORDS = st.sampled_from(["a", "b", "c", "the", "cat", "Sat", "naïve", "x-y", "12"])


SENTENCE = st.lists(WORDS, min_size=0, max_size=8).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(SENTENCE.filter(bool), SENTENCE), min_size=1, max_size=12))
def test_wer_equals_jiwer_on_random_words(pairs: list[tuple[str, str]]) -> None:
    refs = [r for r, _ in pairs]
    hyps = [h for _, h in pairs]
    _check_against_jiwer(score_wer(refs=refs, hyps=hyps, ci=False), refs, hyps, "word")
    _check_against_jiwer(score_cer(refs=refs, hyps=hyps, ci=False), refs, hyps, "char")


def test_compare_identical_and_no_ci(refdata: Path) -> None:
    path = refdata / "wer" / "pairs.jsonl"
    res = compare_cer(path, path, normalizer="whisper")
    assert res.diff.value == 0 and res.p_value == 1.0
    res = compare_wer(path, path, ci=False)
    assert res.diff.ci95 is None and res.to_json()["p_value"] is None


def test_compare_by_order_and_errors() -> None:
    a = [("a b c", "a b"), ("d e", "d e")]
    b = [("A B C!", "a b c"), ("d e", "x")]
    res = compare_wer(a, b, normalizer="basic", bootstrap=100)
    assert res.a.value == pytest.approx(1 / 5) and res.b.value == pytest.approx(2 / 5)
    with pytest.raises(InputError, match="same reference"):
        compare_wer(a, b)  # without normalisation the references differ
    with pytest.raises(InputError, match="pair them by order"):
        compare_wer(a, b[:1], normalizer="basic")
    ia = [TextPair("a", "a", "u1"), TextPair("b", "b", "u2")]
    ib = [TextPair("a", "a", "u1"), TextPair("b", "b", "u3")]
    with pytest.raises(InputError, match=r"1 id\(s\) only in A \(u2\); 1 id\(s\) only in B \(u3\)"):
        compare_wer(ia, ib)
