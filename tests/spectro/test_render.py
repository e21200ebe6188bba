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


def test_stft_and_db_equal_librosa() -> None:
    import librosa

    from gapbench.spectro.render import stft_magnitude

    rng = np.random.default_rng(5)
    for n, n_fft, hop in ((11025, 128, 22), (3001, 256, 64), (50, 128, 22)):
        y = (rng.standard_normal(n) * 0.1).astype(np.float32)
        ref = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
        got = stft_magnitude(y, n_fft, hop)
        assert got.shape == ref.shape and np.allclose(got, ref, atol=1e-5, rtol=1e-5)
        p = RenderParams(n_fft=n_fft, hop_length=hop, top_db=60.0)
        want = librosa.amplitude_to_db(np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)), ref=np.max, top_db=60)
        assert np.allclose(spectrogram_db(y, p), want, atol=1e-3)


def test_direct_png_writer_decodes_exactly() -> None:
    import io

    from PIL import Image

    from gapbench.spectro.render import indexed_png_bytes

    rng = np.random.default_rng(1)
    for shape in ((1, 1), (3, 7), (224, 448), (50, 31)):
        levels = rng.integers(0, 256, size=shape, dtype=np.uint8)
        data = indexed_png_bytes(levels, "magma", 1)
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            assert im.mode == "P" and im.size == shape[::-1]
            assert np.array_equal(np.asarray(im.convert("RGB")), colormap_lut("magma")[levels])
        assert data == indexed_png_bytes(levels, "magma", 1)
        for level in (0, 3):  # every ISA-L level gives a stream PIL's zlib decodes to the same pixels
            with Image.open(io.BytesIO(indexed_png_bytes(levels, "magma", level))) as im:
                assert np.array_equal(np.asarray(im.convert("RGB")), colormap_lut("magma")[levels])
    with pytest.raises(ValueError, match="2-D"):
        indexed_png_bytes(np.zeros((0, 4), np.uint8), "gray")
    with pytest.raises(ValueError, match="0-3"):
        indexed_png_bytes(np.zeros((2, 2), np.uint8), "gray", 6)
