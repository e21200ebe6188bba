"""``pyannote:`` adapter: the Annotation -> SpeakerTurns conversion (pyannote.core, always here), the
one-line errors, and a real pipeline where pyannote.audio and a local pipeline are available."""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from gapbench.core.media import Audio
from gapbench.core.predictions import SpeakerTurns
from gapbench.errors import InputError, ModelError
from gapbench.models.pyannote_audio import annotation_to_turns
from gapbench.models.registry import load_model

HAS_PYANNOTE_AUDIO = importlib.util.find_spec("pyannote.audio") is not None


def test_annotation_to_turns_keeps_every_track_and_scores_like_the_annotation():
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    from gapbench.metrics.der import DERMetric

    hyp = Annotation(uri="f")
    hyp[Segment(3.0, 5.0), "a"] = "SPEAKER_01"
    hyp[Segment(0.5, 2.5), "b"] = "SPEAKER_00"
    hyp[Segment(2.0, 4.0), "c"] = "SPEAKER_00"  # overlaps SPEAKER_01 and its own earlier turn
    hyp[Segment(2.2, 2.4), "d"] = "SPEAKER_00"  # a second track of the same label, same time
    assert annotation_to_turns(hyp) == SpeakerTurns(((0.5, 2.5, "SPEAKER_00"), (2.0, 4.0, "SPEAKER_00"),
                                                     (2.2, 2.4, "SPEAKER_00"), (3.0, 5.0, "SPEAKER_01")))
    ref = Annotation(uri="f")
    ref[Segment(0.0, 2.8), 0] = "alice"
    ref[Segment(2.6, 5.5), 1] = "bob"
    want = DiarizationErrorRate()(ref, hyp, detailed=True)
    got = DERMetric().add_file("f", [(0.0, 2.8, "alice"), (2.6, 5.5, "bob")], annotation_to_turns(hyp))
    assert got["confusion"] == pytest.approx(want["confusion"]) and got["false_alarm"] == pytest.approx(
        want["false alarm"]) and got["missed"] == pytest.approx(want["missed detection"])
    assert annotation_to_turns(Annotation(uri="empty")) == SpeakerTurns(())


def test_a_missing_pipeline_path_is_one_line(tmp_path):
    with pytest.raises(InputError, match="expected a local pyannote pipeline directory or its config.yaml"):
        load_model(f"pyannote:{tmp_path / 'nope'}")
    with pytest.raises(InputError, match="expected a pipeline directory with a config.yaml"):
        load_model(f"pyannote:{tmp_path}")
    (tmp_path / "config.yaml").write_text("pipeline: {}\n")
    with pytest.raises(InputError, match="options among device, exclusive"):
        load_model(f"pyannote:{tmp_path}", colour="red")


@pytest.mark.skipif(HAS_PYANNOTE_AUDIO, reason="pyannote.audio is installed: the missing-package message is moot")
def test_without_pyannote_audio_the_error_says_which_extra(tmp_path):
    (tmp_path / "config.yaml").write_text("pipeline: {}\n")
    with pytest.raises(ModelError, match=r"pyannote.audio is not installed \(pip install 'gapbench\[pyannote\]'"):
        load_model(f"pyannote:{tmp_path}")


@pytest.mark.skipif(not HAS_PYANNOTE_AUDIO or not os.environ.get("GAPBENCH_PYANNOTE_PIPELINE"),
                    reason="pyannote.audio is not installed (extra [pyannote], outside [all]: it needs torchaudio and "
                    "torchcodec matched to torch)" if not HAS_PYANNOTE_AUDIO else
                    "set GAPBENCH_PYANNOTE_PIPELINE to a local pyannote pipeline directory (nothing downloads)")
def test_a_local_pipeline_diarizes_through_the_adapter():
    model = load_model(f"pyannote:{os.environ['GAPBENCH_PYANNOTE_PIPELINE']}", device="cpu")
    t = np.arange(3 * 22050) / 22050
    clip = Audio((0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 22050)
    (turns,) = model.predict([model.preprocess(clip)])
    assert isinstance(turns, SpeakerTurns)
    assert all(0 <= s <= e <= 3.01 for s, e, _ in turns.turns)
