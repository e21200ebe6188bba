from __future__ import annotations

import json
from pathlib import Path

import pytest

from gapbench.errors import InputError
from gapbench.spectro.build import BuildParams, build, load_items, read_wav, verify


def test_layout_manifest_and_items(paper_build: Path) -> None:
    manifest = json.loads((paper_build / "manifest.json").read_text())
    items = load_items(paper_build)
    assert manifest["items"] == len(items) == 48
    assert verify(paper_build) == []
    assert sum(manifest["splits"].values()) == 48
    for it in items:
        assert it["options"][ord(it["answer"]) - 65] == it["word"]  # paper design: the spoken word is an option
        assert it["peds"][ord(it["answer"]) - 65] == 0
        assert sorted(it["peds"])[1] > 0
        for key in ("audio", "spectrogram", "waveform"):
            assert (paper_build / it[key]).is_file()
    samples, rate = read_wav(paper_build / items[0]["audio"])
    assert rate == 22050 and len(samples) > 1000


def test_no_word_in_two_splits(debiased_build: Path) -> None:
    seen: dict[str, str] = {}
    for it in load_items(debiased_build):
        for w in it["options"]:
            assert seen.setdefault(w, it["split"]) == it["split"], w


def test_verify_detects_tampering(tmp_path: Path) -> None:
    build(BuildParams(word_list=("water", "fire", "zzqx"), design="paper"), tmp_path, workers=1)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["failures"] == [{"word": "zzqx", "reason": "no pronunciation in cmudict"}]
    assert manifest["items"] == 2
    (tmp_path / "spectrogram" / "water.png").write_bytes(b"x")
    assert verify(tmp_path) == ["spectrogram/water.png"]


@pytest.mark.slow
def test_bit_reproducible(tmp_path: Path) -> None:
    a = build(BuildParams(words=20, pool=5000, seed=3), tmp_path / "a", workers=2)
    b = build(BuildParams(words=20, pool=5000, seed=3), tmp_path / "b", workers=1)
    assert a["files"] == b["files"]
    c = build(BuildParams(words=20, pool=5000, seed=4), tmp_path / "c", workers=2)
    assert c["files"]["items.jsonl"] != a["files"]["items.jsonl"]
    # a word's files do not depend on what else the build speaks (a fresh espeak-ng instance per word)
    d = build(BuildParams(words=9, pool=5000, seed=3), tmp_path / "d", workers=1)
    shared = [f for f in d["files"] if f.startswith("audio/") and f in a["files"]]
    assert len(shared) >= 5
    for f in shared:
        png = f.replace("audio/", "spectrogram/").replace(".wav", ".png")
        assert d["files"][f] == a["files"][f] and d["files"][png] == a["files"][png], f


def test_load_items_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="spectro build"):
        load_items(tmp_path)
    (tmp_path / "items.jsonl").write_text('{"id": "x"}\n')
    with pytest.raises(InputError, match="missing"):
        load_items(tmp_path)
    with pytest.raises(ValueError, match="design"):
        BuildParams(design="fancy")


def test_natural_speech_folder(tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    from gapbench.spectro.build import synthesize_word
    from gapbench.spectro.words import select_words

    rec = tmp_path / "rec"
    rec.mkdir()
    words = select_words(40, pool=3000)
    for w in words:  # stand-in recordings: another voice, float WAV at 16 kHz
        y, sr = synthesize_word(w, "en-us+f3")
        sf.write(rec / f"{w}.wav", y[::2] / 32768.0 * 0.5, sr // 2, subtype="FLOAT")
    sf.write(rec / "zzqx.wav", np.zeros(800), 16000)
    m = build(BuildParams(audio_dir=str(rec), seed=1), tmp_path / "out", workers=1)
    assert {"word": "zzqx", "reason": "no pronunciation in cmudict"} in m["failures"]
    items = load_items(tmp_path / "out")
    assert items and all(it["voice"] == "recorded" for it in items)
    assert all(set(it["options"]) <= set(words) for it in items)  # distractors are recorded words too
    got, rate = read_wav(tmp_path / "out" / items[0]["audio"])
    want, _ = sf.read(rec / f"{items[0]['word']}.wav")
    assert rate == 11025 and np.abs(got / 32767 - want).max() < 1e-4
