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
