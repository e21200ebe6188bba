from __future__ import annotations

import numpy as np
import pytest

from gapbench.spectro.render import (
    RenderParams,
    colormap_lut,
    png_bytes,
    spectrogram_db,
    spectrogram_image,
    waveform_image,
)


@pytest.fixture(scope="module")
def tone() -> np.ndarray:
    t = np.arange(11025) / 22050
    return (np.sin(2 * np.pi * 1000 * t) * 12000).astype(np.int16)


def test_paper_parameters(tone: np.ndarray) -> None:
    import librosa

    p = RenderParams()
    assert (p.n_fft, p.hop_length, p.top_db) == (128, 22, 70.0)
    db = spectrogram_db(tone, p)
    assert db.shape == (65, 1 + len(tone) // 22)  # n_fft // 2 + 1 bins, centred frames
    assert db.max() == pytest.approx(0.0) and db.min() >= -70.0 - 1e-4
    ref = librosa.amplitude_to_db(np.abs(librosa.stft(tone / 32768.0, n_fft=128, hop_length=22)), ref=np.max,
                                  top_db=70)
    assert np.allclose(db, ref, atol=1e-3)
    # the 1 kHz tone falls in bin 1000 / (22050 / 128) ~ 5.8
    assert int(np.argmax(db[:, db.shape[1] // 2])) in (5, 6)


def test_images(tone: np.ndarray) -> None:
    p = RenderParams(width=200, height=100, wave_height=50, colormap="gray")
    img = spectrogram_image(tone, p)
    assert img.shape == (100, 200, 3) and img.dtype == np.uint8
    # low frequencies at the bottom: the tone row (bin ~6 of 65) is near the bottom of the picture
    row = int(np.argmax(img[:, 100, 0]))
    assert row > 80
    w = waveform_image(tone, p)
    assert w.shape == (50, 200, 3)
    assert png_bytes(img) == png_bytes(img)  # deterministic bytes
    silent = spectrogram_image(np.zeros(2000, np.int16), p)
    assert (silent == silent[0, 0]).all()


def test_colormap() -> None:
    lut = colormap_lut("viridis")
    assert lut.shape == (256, 3)
    assert tuple(lut[0]) == (68, 1, 84) and tuple(lut[-1]) == (253, 231, 37)
    assert tuple(colormap_lut("gray")[128]) == (128, 128, 128)
    with pytest.raises(ValueError, match="colormap"):
        colormap_lut("jet")


def test_palette_png_decodes_to_the_rgb_figure(tone: np.ndarray, tmp_path) -> None:
    from gapbench.spectro.render import indexed_png_bytes, read_png, spectrogram_levels, waveform_levels

    p = RenderParams(width=120, height=60, wave_height=30)
    for levels, rgb in ((spectrogram_levels(tone, p), spectrogram_image(tone, p)),
                        (waveform_levels(tone, p), waveform_image(tone, p))):
        path = tmp_path / "x.png"
        path.write_bytes(indexed_png_bytes(levels, p.colormap))
        assert np.array_equal(read_png(str(path)), rgb)
