"""Speech data set loaders on files written here: LibriSpeech, Common Voice, manifests, Kaldi, RTTM."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from gapbench.core.media import Audio
from gapbench.core.predictions import SpeakerTurns
from gapbench.data.speech import asr_dataset, diarization_dataset
from gapbench.errors import InputError

SR = 16000


def tone(seconds: float, f: float = 440.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def write(path, x, sr=SR, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, **kw)
    return path


def test_librispeech_layout(tmp_path):
    d = tmp_path / "test-clean" / "19" / "198"
    write(d / "19-198-0000.flac", tone(0.5))
    write(d / "19-198-0001.flac", tone(0.25, 300))
    (d / "19-198.trans.txt").write_text("19-198-0000 HELLO WORLD\n19-198-0001 GOOD MORNING\n")
    ds = asr_dataset(tmp_path / "test-clean")
    assert ds.generator["format"] == "librispeech" and len(ds) == 2
    samples = list(ds)
    assert [s.id for s in samples] == ["19-198-0000", "19-198-0001"]
    assert samples[0].reference == "HELLO WORLD" and isinstance(samples[0].input, Audio)
    assert samples[1].input.duration == pytest.approx(0.25) and samples[1].meta["sample_rate"] == SR


def test_librispeech_missing_audio_names_the_transcript_line(tmp_path):
    (tmp_path / "a.trans.txt").write_text("u1 ONE\nu2 TWO\n")
    write(tmp_path / "u1.flac", tone(0.1))
    ds = asr_dataset(tmp_path)
    with pytest.raises(InputError, match=r"a\.trans\.txt: line 2.*no such file"):
        list(ds)


def test_common_voice_tsv_with_mp3_and_ogg_clips(tmp_path):
    write(tmp_path / "clips" / "a.mp3", tone(1.0), format="MP3")
    write(tmp_path / "clips" / "b.ogg", tone(0.5, 48000 / 100, sr=48000), sr=48000, format="OGG")
    (tmp_path / "test.tsv").write_text("client_id\tpath\tsentence\tup_votes\n"
                                       "x\ta.mp3\tHello there.\t2\ny\tb.ogg\tGood \"day\"\t1\n")
    ds = asr_dataset(tmp_path / "test.tsv")
    s = list(ds)
    assert [x.reference for x in s] == ["Hello there.", 'Good "day"']
    assert s[0].input.duration == pytest.approx(1.0, abs=0.1)  # mp3 adds encoder padding
    assert s[1].input.sample_rate == 48000  # native rate kept; adapters resample


def test_common_voice_header_and_zero_length_clip(tmp_path):
    (tmp_path / "bad.tsv").write_text("path\ttext\na.mp3\thi\n")
    with pytest.raises(InputError, match=r"bad\.tsv: line 1: expected a header with 'path' and 'sentence'"):
        asr_dataset(tmp_path / "bad.tsv")
    write(tmp_path / "clips" / "z.wav", np.zeros(0, np.float32))
    (tmp_path / "z.tsv").write_text("path\tsentence\nz.wav\tnothing\n")
    with pytest.raises(InputError, match=r"z\.tsv: line 2.*non-empty audio clip"):
        list(asr_dataset(tmp_path / "z.tsv"))


def test_manifest_with_offsets_and_bad_records(tmp_path):
    write(tmp_path / "audio" / "long.wav", np.concatenate([tone(1.0, 200), tone(1.0, 800)]), subtype="PCM_16")
    lines = [{"audio_filepath": "audio/long.wav", "text": "first", "offset": 0.0, "duration": 1.0},
             {"audio_filepath": "audio/long.wav", "text": "second", "offset": 1.0, "duration": 0.5, "id": "b"},
             {"audio_filepath": str(tmp_path / "audio" / "long.wav"), "text": "all"}]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    s = list(asr_dataset(tmp_path / "m.jsonl"))
    assert [x.reference for x in s] == ["first", "second", "all"]
    assert [round(x.input.duration, 3) for x in s] == [1.0, 0.5, 2.0]
    assert s[1].id == "b"
    low = np.abs(np.fft.rfft(s[0].input.samples)).argmax()
    high = np.abs(np.fft.rfft(s[1].input.samples)).argmax() / 0.5
    assert low == pytest.approx(200, abs=2) and high == pytest.approx(800, abs=4)
    (tmp_path / "bad.jsonl").write_text('{"audio_filepath": "a.wav", "text": "x"}\n{"audio_filepath": 3}\n')
    with pytest.raises(InputError, match=r"bad\.jsonl: line 2: expected an object with string"):
        asr_dataset(tmp_path / "bad.jsonl")
    (tmp_path / "neg.jsonl").write_text('{"audio_filepath": "a.wav", "text": "x", "offset": -1}\n')
    with pytest.raises(InputError, match=r"neg\.jsonl: line 1: expected 'offset'"):
        asr_dataset(tmp_path / "neg.jsonl")
    (tmp_path / "junk.jsonl").write_text("not json\n")
    with pytest.raises(InputError, match=r"junk\.jsonl: line 1: expected one JSON object"):
        asr_dataset(tmp_path / "junk.jsonl")


def test_unreadable_audio_names_record_and_file(tmp_path):
    (tmp_path / "broken.wav").write_bytes(b"RIFF1234WAVEjunk")
    (tmp_path / "m.jsonl").write_text('{"audio_filepath": "broken.wav", "text": "x"}\n')
    with pytest.raises(InputError, match=r"m\.jsonl: line 1 \(.*broken\.wav\): expected audio soundfile can read"):
        list(asr_dataset(tmp_path / "m.jsonl"))


def test_kaldi_with_and_without_segments(tmp_path):
    write(tmp_path / "wav" / "rec1.wav", np.concatenate([tone(1.0, 200), tone(1.0, 800)]))
    (tmp_path / "wav.scp").write_text("rec1 wav/rec1.wav\n")
    (tmp_path / "text").write_text("rec1 whole thing\n")
    s = list(asr_dataset(tmp_path))
    assert s[0].id == "rec1" and s[0].reference == "whole thing" and s[0].input.duration == pytest.approx(2.0)
    (tmp_path / "text").write_text("u1 low part\nu2 high part\n")
    (tmp_path / "segments").write_text("u1 rec1 0.0 1.0\nu2 rec1 1.0 2.0\n")
    ds = asr_dataset(tmp_path)
    assert ds.generator["format"] == "kaldi"
    assert [(x.id, x.reference, round(x.input.duration, 3)) for x in ds] == [
        ("u1", "low part", 1.0), ("u2", "high part", 1.0)]
    (tmp_path / "segments").write_text("u1 rec1 0.0 1.0\nu3 rec1 1.0 2.0\n")
    with pytest.raises(InputError, match=r"segments: line 2: expected an utterance id listed in text, got 'u3'"):
        asr_dataset(tmp_path)
    (tmp_path / "segments").write_text("u1 recX 0.0 1.0\n")
    with pytest.raises(InputError, match=r"segments: line 1: expected a recording id listed in wav.scp"):
        asr_dataset(tmp_path)
    (tmp_path / "wav.scp").write_text("rec1 sox in.wav -t wav - |\n")
    with pytest.raises(InputError, match=r"wav\.scp: line 1: expected a file path"):
        asr_dataset(tmp_path)


def test_non_utf8_transcript_and_bad_paths(tmp_path):
    (tmp_path / "wav.scp").write_text("r a.wav\n")
    (tmp_path / "text").write_bytes(b"r caf\xe9\n")
    with pytest.raises(InputError, match=r"text: line 1.*UTF-8"):
        asr_dataset(tmp_path)
    with pytest.raises(InputError, match="no such path"):
        asr_dataset(tmp_path / "nope")
    with pytest.raises(InputError, match=r"--data PATH"):
        asr_dataset(None)
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="a directory, a .tsv"):
        asr_dataset(tmp_path / "x.csv")


def test_rttm_and_audio_for_diarization(tmp_path):
    write(tmp_path / "meet1.wav", tone(3.0))
    write(tmp_path / "meet2.flac", tone(2.0))
    (tmp_path / "meet1.rttm").write_text("SPEAKER meet1 1 0.0 1.5 <NA> <NA> alice <NA> <NA>\n"
                                         "SPEAKER meet1 1 1.5 1.5 <NA> <NA> bob <NA> <NA>\n")
    (tmp_path / "meet2.rttm").write_text("SPEAKER meet2 1 0.5 1.0 <NA> <NA> carol <NA> <NA>\n")
    ds = diarization_dataset(tmp_path)
    s = list(ds)
    assert [x.id for x in s] == ["meet1", "meet2"]
    assert s[0].reference == SpeakerTurns(((0.0, 1.5, "alice"), (1.5, 3.0, "bob")))
    assert s[1].input.duration == pytest.approx(2.0)
    (tmp_path / "meet3.rttm").write_text("SPEAKER ghost 1 0.0 1.0 <NA> <NA> a <NA> <NA>\n")
    with pytest.raises(InputError, match=r"meet3\.rttm: file 'ghost': expected an audio file"):
        diarization_dataset(tmp_path)
    (tmp_path / "meet3.rttm").write_text("SPEAKER ghost 1 zero 1.0 <NA> <NA> a <NA> <NA>\n")
    with pytest.raises(InputError, match=r"meet3\.rttm: line 1"):
        diarization_dataset(tmp_path)


def test_task_with_data_binds_the_path_or_refuses(tmp_path):
    from gapbench.core.task import get_task

    write(tmp_path / "a.wav", tone(0.2))
    (tmp_path / "m.jsonl").write_text('{"audio_filepath": "a.wav", "text": "hi"}\n')
    task = get_task("asr").with_data(tmp_path / "m.jsonl")
    assert task.dataset.args["data"] == str(tmp_path / "m.jsonl")
    assert [s.reference for s in task.samples()] == ["hi"]
    gen = task.generator()
    assert gen["data"] == str(tmp_path / "m.jsonl") and gen["soundfile"] == sf.__version__ and gen["libsndfile"]
    with pytest.raises(InputError, match="task 'asr-digits': expected a task that reads a data set path"):
        get_task("asr-digits").with_data(tmp_path)
