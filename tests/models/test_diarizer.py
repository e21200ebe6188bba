"""The embedded diarizer: VAD, MFCCs, clustering, and DER on a synthetic meeting far below chance."""
from __future__ import annotations

import numpy as np
import pytest

from gapbench.core.media import Audio
from gapbench.core.predictions import SpeakerTurns
from gapbench.metrics.der import DERMetric
from gapbench.models.diarizer import Diarizer, energy_vad, mfcc_frames, to_mono16k
from gapbench.models.registry import load_model


def test_energy_vad_finds_the_tone_and_ignores_silence():
    t = np.arange(16000) / 16000
    x = np.concatenate([np.zeros(16000), 0.3 * np.sin(2 * np.pi * 220 * t), np.zeros(16000)])
    mask = energy_vad(x)
    on = np.flatnonzero(mask)
    assert on[0] == pytest.approx(100, abs=3) and on[-1] == pytest.approx(197, abs=3)
    assert energy_vad(np.zeros(100)).size == 0


def test_mfcc_frames_shape_and_tone_separation():
    t = np.arange(16000) / 16000
    low, high = mfcc_frames(np.sin(2 * np.pi * 200 * t)), mfcc_frames(np.sin(2 * np.pi * 3000 * t))
    assert low.shape == (98, 21)
    assert np.linalg.norm(low.mean(0) - high.mean(0)) > 10 * np.linalg.norm(low.std(0))


def test_to_mono16k_resamples_and_downmixes():
    stereo = np.stack([np.ones(8000), np.zeros(8000)], axis=1).astype(np.float32)
    y = to_mono16k(Audio(stereo, 8000))
    assert y.size == 16000 and y[8000] == pytest.approx(0.5, abs=1e-3)


@pytest.fixture(scope="module")
def meeting():
    from gapbench.speech.corpus import SAMPLE_RATE, SPEAKERS, _assemble
    from gapbench.speech.tts import synthesize_fresh

    texts = ["the meeting will now begin", "thank you for coming today", "i have a question about that",
             "let us look at the numbers", "that sounds fine to me", "we should decide by friday"]
    who = [0, 3, 0, 3, 0, 3]
    clips, _ = synthesize_fresh([(t, SPEAKERS[k], SAMPLE_RATE, i) for i, (t, k) in enumerate(zip(texts, who))])
    turns = [{"speaker": k, "gap": 0.4, "overlap": 0.0} for k in who]
    x, ref, _ = _assemble(turns, clips)
    return Audio(x, SAMPLE_RATE), SpeakerTurns(tuple(ref))


def _der(hyp, ref):
    m = DERMetric(collar=0.25)
    m.update([hyp], [ref], ["m"])
    return m.compute(ci=False).metrics["der"].value


def test_diarizer_der_far_below_one_speaker_chance(meeting):
    audio, ref = meeting
    d = load_model("diarizer")
    assert isinstance(d, Diarizer) and d.name == "builtin:diarizer"
    hyp = d.predict([d.preprocess(audio)])[0]
    assert isinstance(hyp, SpeakerTurns) and hyp.turns
    # chance baseline: everything one speaker (the best a speaker-blind system can do)
    start, end = min(t[0] for t in ref.turns), max(t[1] for t in ref.turns)
    chance = _der(SpeakerTurns(((start, end, "a"),)), ref)
    assert chance > 0.4
    assert _der(hyp, ref) < 0.5 * chance


def test_threshold_controls_the_number_of_speakers(meeting):
    audio, _ = meeting
    x = to_mono16k(audio)
    n = [len({t[2] for t in Diarizer(threshold=th).diarize(x).turns}) for th in (0.3, 2.0)]
    assert n[0] > n[1] == 1
    assert Diarizer(threshold=0.3).fingerprint() != Diarizer().fingerprint()
    assert Diarizer().diarize(np.zeros(16000)).turns == ()
