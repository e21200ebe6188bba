"""The generic ``asr`` task on a Hugging Face dataset (built with ``datasets``) with the embedded decoder."""
from __future__ import annotations

import io

import pytest
import soundfile as sf

from gapbench.core.task import Target, TaskSpec, get_task
from gapbench.runner.local import run_task

pytestmark = pytest.mark.slow
datasets = pytest.importorskip("datasets", reason="the test builds its data set with `datasets` (test extra)")


def test_pocketsphinx_on_a_saved_dataset_at_another_rate(tmp_path):
    from gapbench.speech.tts import Voice, synthesize_fresh, trim_silence

    texts = ["one two", "three"]
    clips, _ = synthesize_fresh([(t, Voice("en-us", 150, 50), 22050, 0) for t in texts])
    cells = []
    for x in clips:
        buf = io.BytesIO()
        sf.write(buf, trim_silence(x), 22050, format="FLAC")
        cells.append({"bytes": buf.getvalue(), "path": None})
    ds = datasets.Dataset.from_dict({"audio": cells, "transcription": [t.upper() for t in texts]})
    ds.cast_column("audio", datasets.Audio()).save_to_disk(str(tmp_path / "d"))
    base = get_task("asr")
    task = TaskSpec("asr-test-hf", "asr", Target(base.dataset.target, {"data": str(tmp_path / "d")}),
                    base.metrics, default_model="builtin:pocketsphinx-digits")
    out = run_task(task, None, cache=False, show_progress=False, ci=False)
    assert out.document.dataset.n_samples == 2
    assert out.metrics["wer"].value == 0.0  # 22.05 kHz FLAC decoded here, resampled by the adapter
