"""Per-utterance alignments (``alignments=True``) against jiwer's own ``process_words(...).alignments``.

The expected triples are built here from jiwer's public output with jiwer's *default* transforms
(``wer_default`` / ``cer_default``), independently of gapbench's tokeniser: each ``AlignmentChunk``
span is expanded over ``references`` / ``hypotheses``; the reverse check groups our ops back into
chunks and compares types and indices.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jiwer
import pytest
from wer_ref import ADVERSARIAL, load_pairs

from gapbench.metrics.wer import WERMetric
from gapbench.scoring.text import score_wer
from gapbench.text_normalizers.normalizers import get_normalizer

JIWER_OP = {"equal": "C", "substitute": "S", "delete": "D", "insert": "I"}

MORE = [
    ("", "spurious words here"),  # empty reference: all insertions (scored by gapbench, not jiwer)
    ("", ""),
    ("a a a a", "a a"),
    ("the the cat", "the cat cat the"),
    ("completely different words", "nothing alike at all here"),
    ("x", "y"),
]


def _expected(ref: str, hyp: str, unit: str) -> list[list[Any]]:
    if not ref.strip():  # jiwer refuses an empty reference; every hypothesis unit is an insertion
        words = jiwer.process_words("x", hyp).hypotheses[0] if unit == "word" else list(hyp.strip())
        return [[None, w, "I"] for w in words]
    out = (jiwer.process_words if unit == "word" else jiwer.process_characters)(ref, hyp)
    r, h = out.references[0], out.hypotheses[0]
    triples: list[list[Any]] = []
    for c in out.alignments[0]:
        n = max(c.ref_end_idx - c.ref_start_idx, c.hyp_end_idx - c.hyp_start_idx)
        for k in range(n):
            rw = r[c.ref_start_idx + k] if c.type != "insert" else None
            hw = h[c.hyp_start_idx + k] if c.type != "delete" else None
            triples.append([rw, hw, JIWER_OP[c.type]])
    return triples


def _chunks(triples: list[list[Any]]) -> list[tuple[str, int, int, int, int]]:
    """Our triples grouped back into jiwer-style (type, ref_start, ref_end, hyp_start, hyp_end)."""
    names = {v: k for k, v in JIWER_OP.items()}
    out: list[tuple[str, int, int, int, int]] = []
    ri = hi = 0
    for _r, _h, op in triples:
        dr, dh = int(op != "I"), int(op != "D")
        if out and out[-1][0] == names[op]:
            t, rs, _re, hs, _he = out[-1]
            out[-1] = (t, rs, ri + dr, hs, hi + dh)
        else:
            out.append((names[op], ri, ri + dr, hi, hi + dh))
        ri, hi = ri + dr, hi + dh
    return out


def _metric(refs: list[str], hyps: list[str], unit: str = "word", normalizer: str = "none") -> WERMetric:
    m = WERMetric(unit, normalizer, alignments=True)  # type: ignore[arg-type]
    m.update(hyps, refs, ids=[f"u{k}" for k in range(len(refs))])
    return m


@pytest.mark.parametrize("unit", ["word", "char"])
def test_real_pairs_equal_jiwer(refdata: Path, unit: str) -> None:
    pairs = load_pairs(refdata)
    refs, hyps = [p["ref"] for p in pairs], [p["hyp"] for p in pairs]
    records = _metric(refs, hyps, unit).compute(ci=False).records
    assert len(records) == len(pairs)
    for rec, ref, hyp in zip(records, refs, hyps):
        assert rec["alignment"] == _expected(ref, hyp, unit)
        if ref.strip():
            process = jiwer.process_words if unit == "word" else jiwer.process_characters
            theirs = [(c.type, c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx)
                      for c in process(ref, hyp).alignments[0]]
            assert _chunks(rec["alignment"]) == theirs


@pytest.mark.parametrize(("ref", "hyp"), ADVERSARIAL + MORE)
@pytest.mark.parametrize("unit", ["word", "char"])
def test_adversarial_pairs_equal_jiwer_and_the_counts(ref: str, hyp: str, unit: str) -> None:
    rec = _metric([ref], [hyp], unit).compute(ci=False).records[0]
    assert rec["alignment"] == _expected(ref, hyp, unit)
    ops = [op for _, _, op in rec["alignment"]]
    assert (ops.count("S"), ops.count("D"), ops.count("I"), ops.count("C")) == (
        rec["substitutions"], rec["deletions"], rec["insertions"], rec["hits"])


def test_normalised_units_are_aligned(refdata: Path) -> None:
    pairs = load_pairs(refdata)[:60]
    norm = get_normalizer("whisper")
    refs, hyps = [p["ref"] for p in pairs], [p["hyp"] for p in pairs]
    records = _metric(refs, hyps, normalizer="whisper").compute(ci=False).records
    for rec, ref, hyp in zip(records, refs, hyps):
        assert rec["alignment"] == _expected(norm(ref), norm(hyp), "word")


def test_shards_merge_and_travel_as_json(refdata: Path) -> None:
    pairs = load_pairs(refdata)[:50]
    refs, hyps = [p["ref"] for p in pairs], [p["hyp"] for p in pairs]
    whole = _metric(refs, hyps)
    a = WERMetric(alignments=True)
    a.update(hyps[:20], refs[:20], ids=[f"u{k}" for k in range(20)])
    b = WERMetric(alignments=True)
    b.update(hyps[20:], refs[20:], ids=[f"u{k}" for k in range(20, 50)])
    b2 = WERMetric.from_state_dict(json.loads(json.dumps(b.state_dict())))
    assert a.merge(b2).compute(ci=False).records == whole.compute(ci=False).records
    with pytest.raises(Exception, match="settings"):
        WERMetric().merge(WERMetric(alignments=True))


def test_off_by_default_and_state_holds_no_text() -> None:
    m = WERMetric()
    m.update(["a b"], ["a c"])
    assert "alignment" not in m.compute(ci=False).records[0]
    assert "alignments" not in m.state_dict() and m.config() == {"unit": "word", "normalizer": "none"}


def test_score_wer_records_carry_alignments() -> None:
    r = score_wer(refs=["the cat sat", "a b"], hyps=["the bat sat down", ""], ids=["x", "y"], alignments=True,
                  ci=False)
    assert [rec["alignment"] for rec in r.records] == [_expected("the cat sat", "the bat sat down", "word"),
                                                      _expected("a b", "", "word")]
