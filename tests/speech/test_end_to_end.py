"""Speech end to end through the local runner: embedded tasks, a noise sweep, a generic --data task."""
from __future__ import annotations

import json

import jiwer
import pytest
import soundfile as sf

from gapbench.core.task import Target, TaskSpec, get_task
from gapbench.runner.local import run_task
from gapbench.runner.sweep import parse_cells

pytestmark = pytest.mark.slow


def test_asr_digits_clean_wer_equals_jiwer_on_the_records():
    from gapbench.models.registry import load_model

    out = run_task("asr-digits", "pocketsphinx-digits", limit=10, cache=False, show_progress=False)
    assert out.document.dataset.n_samples == 10 and len(out.clean.records) == 10
    wer = out.metrics["wer"].value
    # the same model in a plain loop, scored by jiwer directly
    samples = list(get_task("asr-digits").samples(limit=10))
    model = load_model("pocketsphinx-digits")
    hyps = model.predict([model.preprocess(s.input) for s in samples])
    assert wer == pytest.approx(jiwer.wer([s.reference for s in samples], hyps))
    assert 0 <= wer < 0.6 and "cer" in out.metrics


def test_noise_sweep_raises_wer():
    out = run_task("asr-digits", "pocketsphinx-digits", limit=12, cache=False, show_progress=False,
                   cells=parse_cells(["noise:snr=20,0"]), bootstrap=200)
    wers = [c.metrics["wer"].value for c in out.cells]
    assert [c.cell.params.get("snr") for c in out.cells[1:]] == [20, 0]
    assert wers[2] > wers[0] + 0.1  # 0 dB white noise hurts
    assert wers[2] >= wers[1]


def test_diarization_meetings_with_the_builtin_diarizer():
    out = run_task("diarization-meetings", "diarizer", limit=2, cache=False, show_progress=False, ci=False)
    assert 0 <= out.metrics["der"].value < 0.35  # one-speaker chance is about 0.5 on these meetings


def test_generic_asr_task_reads_a_manifest(tmp_path):
    from gapbench.speech.tts import Voice, synthesize_fresh, trim_silence

    texts = ["one two", "three"]
    clips, _ = synthesize_fresh([(t, Voice("en-us", 150, 50), 22050, 0) for t in texts])
    lines = []
    for i, (t, x) in enumerate(zip(texts, clips)):
        sf.write(tmp_path / f"u{i}.wav", trim_silence(x), 22050, subtype="PCM_16")
        lines.append(json.dumps({"audio_filepath": f"u{i}.wav", "text": t.upper(), "duration": 1.0}))
    (tmp_path / "m.jsonl").write_text("\n".join(lines))
    base = get_task("asr")
    task = TaskSpec("asr-test-manifest", "asr", Target(base.dataset.target, {"data": str(tmp_path / "m.jsonl")}),
                    base.metrics, default_model="builtin:pocketsphinx-digits")
    out = run_task(task, None, cache=False, show_progress=False, ci=False)
    assert out.document.dataset.n_samples == 2
    assert out.metrics["wer"].value == 0.0  # 22.05 kHz resampled by the adapter; whisper normaliser


def test_run_document_records_the_generator_versions():
    from gapbench.speech.tts import generator_versions

    out = run_task("diarization-meetings", "diarizer", limit=1, cache=False, show_progress=False, ci=False)
    gen = out.document.dataset.generator
    assert gen["espeak-ng"] == generator_versions()["espeak-ng"] and gen["corpus_version"]
    assert gen["dataset"] == "gapbench.speech.corpus:diarization_meetings"
