"""``gapbench shifts`` and ``gapbench shifts apply`` on real files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gapbench.cli import main


def test_list_families_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shifts", "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"fog", "gaussian_noise", "low_light", "noise", "reverb", "telephone", "codec"} <= set(rows)
    assert rows["poor_framing"]["geometric"] is True and rows["noise"]["modality"] == "audio"
    assert set(rows["fog"]["ladder"]) == {"1", "2", "3", "4", "5"}


def test_apply_image_and_say_level_three(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image
    from skimage import data

    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(data.astronaut()[::4, ::4]).save(src)
    assert main(["shifts", "apply", "fog", str(src), str(dst), "--seed", "1"]) == 0
    assert "level 3" in capsys.readouterr().err
    out = np.asarray(Image.open(dst))
    assert out.shape == (128, 128, 3) and not np.array_equal(out, np.asarray(Image.open(src)))
    from gapbench.shifts.image import corrupt

    want = corrupt(np.asarray(Image.open(src)), corruption_name="fog", severity=3, seed=1)
    np.testing.assert_array_equal(out, want)  # the drop-in and the command agree (same family, level, seed)


def test_apply_audio_keeps_format_and_exact_snr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import soundfile as sf

    t = np.arange(16000) / 16000
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, x, 16000, subtype="FLOAT")
    assert main(["shifts", "apply", "noise:kind=pink,snr=5", str(src), str(dst), "--seed", "0"]) == 0
    y, sr = sf.read(dst, dtype="float32")
    assert sr == 16000 and sf.info(dst).subtype == "FLOAT" and len(y) == len(x)
    snr = 10 * np.log10(np.mean(x.astype(float) ** 2) / np.mean((y.astype(float) - x) ** 2))
    assert snr == pytest.approx(5.0, abs=0.05)


def test_apply_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shifts", "apply", "fgo", str(tmp_path / "a.png"), str(tmp_path / "b.png")]) == 2
    assert main(["shifts", "apply", "noise:snr=nan", str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("gapbench: error:") for line in err)
