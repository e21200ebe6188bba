"""``diarizer``: a small embedded speaker diarization baseline (numpy and scipy).

Pipeline (the classic pre-neural recipe, e.g. the LIUM / "bottom-up" systems):

1. **Voice activity by energy**: log energy of 25 ms frames every 10 ms; a frame is speech when it
   is above ``max(p95 - 35 dB, p10 + 0.3 (p95 - p10))`` (p = percentiles of the file's frame
   energies; the second term adapts to a noise floor). Gaps shorter than ``min_gap`` are filled,
   speech runs shorter than ``min_speech`` dropped.
2. **Embeddings**: inside speech, windows of ``window`` seconds every ``hop`` seconds; each window
   is the mean and standard deviation of 20 MFCCs (c0 dropped: loudness is not identity), then
   standardised over the file's windows and L2-normalised.
3. **Clustering**: agglomerative, average linkage on cosine distance, stopped at
   ``threshold`` (no number of speakers needed). Each speech frame takes the label of the window
   whose centre is nearest; runs of one label become turns.

One speaker per frame: overlapped speech is attributed to one of the talkers (it counts as missed
speech for the other in DER). Deterministic; fingerprint = the parameters + library versions.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from gapbench.core.media import Audio
from gapbench.core.predictions import SpeakerTurns
from gapbench.core.sample import content_hash
from gapbench.errors import InputError
from gapbench.models.base import ModelAdapter

SAMPLE_RATE = 16000
FRAME, HOP = 400, 160  # 25 ms / 10 ms at 16 kHz


def to_mono16k(audio: Audio) -> np.ndarray:
    """Float64 mono at 16 kHz (channels averaged; integer PCM scaled by full scale; soxr resampling)."""
    if not isinstance(audio, Audio):
        raise InputError(None, "diarizer input", "gapbench Audio", type(audio).__name__)
    return audio.mono(SAMPLE_RATE)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` index runs where ``mask`` is true."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def energy_vad(x: np.ndarray, min_speech: float = 0.2, min_gap: float = 0.25) -> np.ndarray:
    """Boolean speech mask per 10 ms frame (see the module docstring for the rule)."""
    n = max(0, 1 + (x.size - FRAME) // HOP)
    if n == 0:
        return np.zeros(0, bool)
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n)[:, None]
    e = 10 * np.log10(np.mean(x[idx] ** 2, axis=1) + 1e-12)
    p10, p95 = np.percentile(e, [10, 95])
    mask = e > max(p95 - 35.0, p10 + 0.3 * (p95 - p10))
    fps = SAMPLE_RATE / HOP
    for s, t in _runs(~mask):  # fill short gaps (not at the edges)
        if s > 0 and t < n and (t - s) < min_gap * fps:
            mask[s:t] = True
    for s, t in _runs(mask):
        if (t - s) < min_speech * fps:
            mask[s:t] = False
    return mask


def _mel_filterbank(n_mels: int, n_fft: int) -> np.ndarray:
    """Triangular filters evenly spaced on the HTK mel scale (``2595 log10(1 + f/700)``), 0-8 kHz."""
    mel = np.linspace(0.0, 2595 * np.log10(1 + (SAMPLE_RATE / 2) / 700), n_mels + 2)
    hz = 700 * (10 ** (mel / 2595) - 1)
    bins = np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE)
    fb = np.zeros((n_mels, bins.size))
    for i in range(n_mels):
        lo, c, hi = hz[i], hz[i + 1], hz[i + 2]
        fb[i] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0, None)
    return fb


def mfcc_frames(x: np.ndarray, n_mfcc: int = 21, n_mels: int = 40, n_fft: int = 512) -> np.ndarray:
    """MFCCs per 25 ms / 10 ms frame: Hamming window, power spectrum, 40 mel bands, log, DCT-II (ortho).

    Written here (not librosa) so the diarizer starts in milliseconds: librosa's numba JIT costs
    seconds on the first call, which is most of a small run's budget.
    """
    from scipy.fft import dct

    n = max(0, 1 + (x.size - FRAME) // HOP)
    if n == 0:
        return np.zeros((0, n_mfcc))
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hamming(FRAME), n=n_fft)) ** 2
    mel = np.log(spec @ _mel_filterbank(n_mels, n_fft).T + 1e-10)
    return dct(mel, type=2, norm="ortho", axis=1)[:, :n_mfcc]


class Diarizer(ModelAdapter):
    """Energy VAD + MFCC-statistics embeddings + agglomerative clustering with a threshold."""

    name = "builtin:diarizer"
    task_types = ("diarization",)

    def __init__(self, threshold: float = 0.9, window: float = 1.0, hop: float = 0.5, n_mfcc: int = 20,
                 min_speech: float = 0.2, min_gap: float = 0.25) -> None:
        self.params = {"threshold": float(threshold), "window": float(window), "hop": float(hop),
                       "n_mfcc": int(n_mfcc), "min_speech": float(min_speech), "min_gap": float(min_gap)}
        from importlib.metadata import version

        self._fingerprint = content_hash({"adapter": self.name, **self.params, "scipy": version("scipy"),
                                          "code": 1})

    def settings(self) -> dict[str, Any]:
        return dict(self.params)

    def fingerprint(self) -> str:
        return self._fingerprint

    def preprocess(self, input: Any) -> np.ndarray:  # noqa: A002
        return to_mono16k(input)

    def predict(self, batch: list[Any]) -> list[SpeakerTurns]:
        return [self.diarize(x) for x in batch]

    def embeddings(self, x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Window centres (frame index) and their normalised MFCC-statistics embeddings."""
        p = self.params
        mfcc = mfcc_frames(x, p["n_mfcc"] + 1)[:, 1:]
        m = min(len(mfcc), len(mask))
        mfcc, mask = mfcc[:m], mask[:m]
        win, hop = int(p["window"] * 100), max(1, int(p["hop"] * 100))
        centres, embs = [], []
        for s, t in _runs(mask):
            starts = list(range(s, max(s + 1, t - win + 1), hop))
            for a in starts:
                b = min(t, a + win)
                seg = mfcc[a:b]
                centres.append((a + b) // 2)
                embs.append(np.concatenate([seg.mean(0), seg.std(0)]))
        if not embs:
            return np.zeros(0, int), np.zeros((0, 2 * p["n_mfcc"]))
        e = np.asarray(embs)
        e = (e - e.mean(0)) / (e.std(0) + 1e-8)
        e /= np.linalg.norm(e, axis=1, keepdims=True) + 1e-12
        return np.asarray(centres), e

    def cluster(self, emb: np.ndarray) -> np.ndarray:
        """Agglomerative clustering (average linkage, cosine) stopped at the distance threshold."""
        if len(emb) < 2:
            return np.zeros(len(emb), int)
        # scipy rather than scikit-learn: same average-linkage tree, and importing sklearn.cluster
        # costs ~3 s here, more than diarizing a meeting
        from scipy.cluster.hierarchy import fcluster, linkage

        tree = linkage(emb, method="average", metric="cosine")
        return fcluster(tree, t=self.params["threshold"], criterion="distance") - 1

    def diarize(self, x: np.ndarray) -> SpeakerTurns:
        """Speaker turns (seconds) for one mono 16 kHz signal."""
        p = self.params
        mask = energy_vad(x, p["min_speech"], p["min_gap"])
        centres, emb = self.embeddings(x, mask)
        if len(centres) == 0:
            return SpeakerTurns(())
        labels = self.cluster(emb)
        frames = np.flatnonzero(mask[: int(centres.max()) + 10 * len(mask)])
        nearest = np.abs(frames[:, None] - centres[None, :]).argmin(axis=1)
        frame_label = np.full(len(mask), -1)
        frame_label[frames] = labels[nearest]
        turns: list[tuple[float, float, str]] = []
        for k in np.unique(labels):
            for s, t in _runs(frame_label == k):
                # a frame covers [i*HOP, i*HOP + FRAME): the turn ends where its last frame ends
                turns.append((s * HOP / SAMPLE_RATE, ((t - 1) * HOP + FRAME) / SAMPLE_RATE, f"spk{int(k):02d}"))
        return SpeakerTurns(tuple(sorted(turns)))


def diarizer() -> Diarizer:
    """``builtin:diarizer`` with its default threshold."""
    return Diarizer()
