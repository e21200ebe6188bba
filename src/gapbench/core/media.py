"""What a sample's input is, so shifts and adapters need not guess.

An image is a plain ``numpy`` array (``H x W`` or ``H x W x C``, uint8 unless said otherwise);
audio carries its sample rate; a chat message carries text and images. ``modality_of`` names the
kind of any input, and a task declares the modality its samples have.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Modality = Literal["image", "audio", "text", "chat", "other"]
MODALITIES: tuple[str, ...] = ("image", "audio", "text", "chat", "other")


@dataclass(frozen=True)
class Audio:
    """A clip: ``samples`` is ``(n,)`` mono or ``(n, channels)``, float in [-1, 1] or integer PCM."""

    samples: np.ndarray = field(compare=False)
    sample_rate: int

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / float(self.sample_rate)

    @property
    def channels(self) -> int:
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[1])

    def mono(self, sample_rate: int | None = None) -> np.ndarray:
        """Float64 mono in [-1, 1] (channels averaged; integer PCM scaled by its full scale),
        resampled with soxr (HQ) when ``sample_rate`` differs: what a model that wants one rate needs."""
        x = np.asarray(self.samples)
        if np.issubdtype(x.dtype, np.integer):
            x = x.astype(np.float64) / float(np.iinfo(x.dtype).max + 1)
        x = x.astype(np.float64)
        if x.ndim == 2:
            x = x.mean(axis=1)
        if sample_rate is not None and self.sample_rate != sample_rate and x.size:
            import soxr

            x = soxr.resample(x, self.sample_rate, sample_rate, quality="HQ")
        return x


@dataclass(frozen=True)
class ChatMessage:
    """One user turn for a vision-language model: text with images (arrays) in order."""

    text: str
    images: tuple[np.ndarray, ...] = field(default=(), compare=False)
    system: str | None = None


def modality_of(x: Any) -> str:
    """The modality of an input value (``other`` when it is none of the known kinds)."""
    if isinstance(x, Audio):
        return "audio"
    if isinstance(x, ChatMessage):
        return "chat"
    if isinstance(x, str):
        return "text"
    if isinstance(x, np.ndarray) and x.ndim in (2, 3):
        return "image"
    return "other"
