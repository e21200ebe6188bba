"""Diarization ``--data`` with ``--annotations`` and a UEM: DER equal to pyannote.metrics with that UEM."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import soundfile as sf

from gapbench.core.predictions import SpeakerTurns
from gapbench.core.task import get_task
from gapbench.data.speech import diarization_dataset, diarization_uem
from gapbench.errors import InputError
from gapbench.runner.local import run_task

SR = 8000
RTTM = ("SPEAKER m1 1 0.5 2.0 <NA> <NA> alice <NA> <NA>\n"
        "SPEAKER m1 1 2.5 2.0 <NA> <NA> bob <NA> <NA>\n"
        "SPEAKER m1 1 4.0 1.5 <NA> <NA> alice <NA> <NA>\n"
        "SPEAKER m2 1 0.0 3.0 <NA> <NA> carol <NA> <NA>\n"
        "SPEAKER m2 1 3.5 2.0 <NA> <NA> dan <NA> <NA>\n")
UEM = "m1 1 1.0 5.0\nm2 1 0.0 2.0\nm2 1 4.0 6.0\n"


def task_on(*args, **kw):
    """The generic task bound to the data, renamed: run_task registers it, and must not replace 'diarization'."""
    return dataclasses.replace(get_task("diarization").with_data(*args, **kw), name="diarization-uem-test")


def hypothesis(inputs):
    """A fixed, imperfect diarization that depends only on the clip's length (so it is reproducible)."""
    out = []
    for a in inputs:
        d = a.samples.shape[0] / a.sample_rate
        out.append(SpeakerTurns(((0.0, 0.4 * d, "A"), (0.4 * d, 0.8 * d, "B"), (0.7 * d, d, "A"))))
    return out


def pyannote_der(tmp_path, uem: bool, collar: float = 0.5, kind: str = "DiarizationErrorRate") -> float:
    """pyannote.metrics itself over the two files (collar is pyannote's total width)."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics import diarization

    from gapbench.core.media import Audio
    from gapbench.data.rttm import read_rttm, read_uem

    metric = getattr(diarization, kind)(collar=collar)
    regions = read_uem(tmp_path / "ref.uem")
    for uri, turns in read_rttm(tmp_path / "ref.rttm").items():
        ref = Annotation(uri=uri)
        for k, t in enumerate(turns):
            ref[Segment(t.start, t.end), k] = t.speaker
        x, sr = sf.read(tmp_path / "audio" / f"{uri}.wav")
        hyp = Annotation(uri=uri)
        for k, (s, e, spk) in enumerate(hypothesis([Audio(x, sr)])[0].turns):
            hyp[Segment(s, e), k] = spk
        metric(ref, hyp, uem=Timeline([Segment(s, e) for s, e in regions[uri]], uri=uri) if uem else None)
    return abs(metric)


@pytest.fixture()
def meeting(tmp_path):
    (tmp_path / "audio").mkdir()
    for uri, secs in (("m1", 6.0), ("m2", 6.0)):
        sf.write(tmp_path / "audio" / f"{uri}.wav", np.zeros(int(secs * SR), np.float32), SR)
    (tmp_path / "ref.rttm").write_text(RTTM)
    (tmp_path / "ref.uem").write_text(UEM)
    return tmp_path


def test_der_with_uem_equals_pyannote_and_differs_without(meeting):
    task = task_on(meeting / "audio", annotations=meeting / "ref.rttm", uem=meeting / "ref.uem")
    out = run_task(task, hypothesis, cache=False, show_progress=False, ci=False)
    assert out.metrics["der"].value == pytest.approx(pyannote_der(meeting, uem=True), abs=1e-12)
    # the task's JER metric gets the same UEM
    assert out.metrics["jer"].value == pytest.approx(pyannote_der(meeting, uem=True, kind="JaccardErrorRate"),
                                                     abs=1e-12)
    (meeting / "plain").mkdir()  # the same RTTM with no UEM beside it: pyannote's approximation
    (meeting / "plain" / "ref.rttm").write_text(RTTM)
    plain = run_task(task_on(meeting / "audio", annotations=meeting / "plain" / "ref.rttm"),
                     hypothesis, cache=False, show_progress=False, ci=False)
    assert plain.metrics["der"].value == pytest.approx(pyannote_der(meeting, uem=False), abs=1e-12)
    assert abs(plain.metrics["der"].value - out.metrics["der"].value) > 0.01


def test_uem_auto_found_beside_the_rttm_and_a_list_of_audio_paths(meeting, capsys):
    from gapbench.cli import main

    (meeting / "files.lst").write_text("audio/m1.wav\n\naudio/m2.wav\n")
    assert [s.id for s in diarization_dataset(meeting / "files.lst", annotations=meeting / "ref.rttm")] == ["m1", "m2"]
    assert diarization_uem(meeting / "files.lst", meeting / "ref.rttm") == {
        "m1": [(1.0, 5.0)], "m2": [(0.0, 2.0), (4.0, 6.0)]}
    # the whole command: ref.uem beside ref.rttm is applied without --uem
    model = meeting / "hyp.py"
    model.write_text("from gapbench.core.predictions import SpeakerTurns\n\n\ndef f(inputs):\n"
                     "    out = []\n    for a in inputs:\n        d = a.samples.shape[0] / a.sample_rate\n"
                     "        out.append(SpeakerTurns(((0.0, 0.4 * d, 'A'), (0.4 * d, 0.8 * d, 'B'), (0.7 * d, d, 'A'))))\n"
                     "    return out\n")
    capsys.readouterr()
    assert main(["run", "diarization", "--data", str(meeting / "files.lst"), "--annotations", str(meeting / "ref.rttm"),
                 "--model", f"python:{model}:f", "--no-cache", "--no-ci", "--out", str(meeting / "o"),
                 "--store", f"sqlite:///{meeting / 's.db'}", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["results"][0]["metrics"]["der"]["value"] == pytest.approx(pyannote_der(meeting, uem=True), abs=1e-12)


def test_a_file_without_uem_entry_or_audio_is_one_line(meeting, capsys):
    (meeting / "ref.uem").write_text("m1 1 1.0 5.0\n")
    with pytest.raises(InputError, match=r"ref\.uem: file 'm2': expected a UEM line for every scored file"):
        diarization_uem(meeting / "audio", meeting / "ref.rttm")
    with pytest.raises(InputError, match=r"ref\.uem: file 'm2': expected a UEM line"):
        diarization_dataset(meeting / "audio", meeting / "ref.rttm", uem=meeting / "ref.uem")
    with pytest.raises(InputError, match=r"nope\.uem: expected a UEM file \(--uem\), got 'no such file'"):
        diarization_dataset(meeting / "audio", meeting / "ref.rttm", uem=meeting / "nope.uem")
    (meeting / "audio" / "m2.wav").unlink()
    with pytest.raises(InputError, match=r"audio: file 'm2' of ref\.rttm: expected an audio file m2"):
        diarization_dataset(meeting / "audio", meeting / "ref.rttm")
    with pytest.raises(InputError, match="a task whose data set takes 'uem'"):
        get_task("asr").with_data(meeting / "audio", uem=meeting / "ref.uem")
