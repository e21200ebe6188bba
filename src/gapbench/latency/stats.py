"""Latency statistics of a run: per pipeline stage and end to end.

Definitions (all times in seconds; stage names in :mod:`gapbench.latency.stages`):

* A stage value is the time one sample cost in that stage. Per-sample stages (``shift``,
  ``preprocess``, ``postprocess``) are timed per sample; batch stages (``decode``: pulling the
  batch from the dataset, ``inference``: the model's ``predict`` on the batch, ``transport``)
  are divided evenly over the samples of the batch.
* ``end_to_end`` per sample is the sum of its stage values (its share of the pipeline's work).
* ``batch_latency`` is, per batch, the sum of its stages over the batch -- what a caller waiting
  for that batch would wait, without queueing.
* Percentiles are ``numpy.percentile(values, q, method="linear")`` (numpy's default; the
  interpolation of Hyndman & Fan type 7): p50, p90, p99.
* ``throughput`` = measured samples / wall-clock seconds from the end of the warm-up to the end of
  the last measured batch (so prefetch overlap counts, as it does in production). With no warm-up
  dropped the clock starts at the start of the run.
* ``real_time_factor`` = sum of end-to-end times / sum of media durations, for samples whose
  ``meta["duration"]`` (seconds) is known; below 1 is faster than real time.
* ``rtfx`` = sum of media durations / sum of model time (preprocess + inference + postprocess:
  feature extraction through decoding, the Open ASR Leaderboard's definition), over the same
  samples after warm-up; ``rtf`` = 1 / ``rtfx``.
* Warm-up: the first ``warmup_batches`` batches the model actually computed are dropped from every
  statistic (JIT, caches, lazy init); the output says how many samples were dropped. When the run
  computed no more batches than that, nothing is dropped and a note says so.
* A run answered entirely from the response cache reports the stage timings stored with the
  cache entries (those of the run that computed them), marked ``from_cache``; its throughput is
  not known. In a partly cached run only the samples computed now are timed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapbench.latency.stages import STAGES

PERCENTILES = (50, 90, 99)
PERCENTILE_METHOD = "linear"


IMAGE_TYPES = ("image-classification", "object-detection", "semantic-segmentation")  # tasks whose samples are images


@dataclass(frozen=True)
class StageStats:
    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    total: float

    @classmethod
    def of(cls, values: Any) -> StageStats:
        v = np.asarray(values, dtype=float).ravel()
        if v.size == 0:
            return cls(0, None, None, None, None, 0.0)
        p50, p90, p99 = (float(x) for x in np.percentile(v, PERCENTILES, method=PERCENTILE_METHOD))
        return cls(int(v.size), float(v.mean()), p50, p90, p99, float(v.sum()))

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p90": self.p90,
                "p99": self.p99, "total": self.total}


@dataclass
class BatchTiming:
    """What the runner measured for one computed batch: seconds per sample for every stage."""

    index: int
    n: int  # samples the model computed in this batch
    stages: dict[str, np.ndarray]  # stage -> (n,) seconds; batch stages already divided evenly
    t_done: float  # perf_counter when the batch finished
    durations: list[float | None] = field(default_factory=list)  # media seconds per sample

    @classmethod
    def of(cls, index: int, n: int, t_done: float, per_sample: dict[str, list[float]],
           per_batch: dict[str, float], durations: list[float | None] | None = None) -> BatchTiming:
        """Per-sample stages as given, batch stages split evenly over the ``n`` samples."""
        stages = {s: np.zeros(n) for s in STAGES}
        for s, v in per_sample.items():
            stages[s] = np.asarray(v, dtype=float)
        for s, v in per_batch.items():
            stages[s] = np.full(n, float(v) / max(n, 1))
        return cls(index, n, stages, t_done, list(durations or []))

    def per_sample(self) -> dict[str, np.ndarray]:
        return {s: self.stages.get(s, np.zeros(self.n)) for s in STAGES}

    def sample_rows(self) -> list[dict[str, float]]:
        """One ``{stage: seconds}`` dict per sample (what the response cache stores)."""
        ps = self.per_sample()
        return [{s: float(ps[s][j]) for s in STAGES} for j in range(self.n)]


@dataclass
class LatencyReport:
    stages: dict[str, StageStats]
    end_to_end: StageStats
    batch_latency: StageStats
    throughput: float | None  # samples per second
    real_time_factor: float | None
    measured_samples: int
    warmup_batches: int
    warmup_samples_dropped: int
    cached_samples: int = 0
    from_cache: bool = False
    rtfx: float | None = None
    fps: float | None = None  # images per second (image tasks): the throughput, named as vision reports it
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "unit": "seconds",
            "percentile_method": PERCENTILE_METHOD,
            "stages": {k: v.to_json() for k, v in self.stages.items()},
            "end_to_end": self.end_to_end.to_json(),
            "batch_latency": self.batch_latency.to_json(),
            "throughput_samples_per_s": self.throughput,
            "real_time_factor": self.real_time_factor,
            "rtfx": self.rtfx,
            "rtf": None if not self.rtfx else 1.0 / self.rtfx,
            "fps": self.fps,
            "measured_samples": self.measured_samples,
            "warmup_batches": self.warmup_batches,
            "warmup_samples_dropped": self.warmup_samples_dropped,
            "cached_samples": self.cached_samples,
            "from_cache": self.from_cache,
            "notes": list(self.notes),
        }


def summarize(batches: list[BatchTiming], *, warmup_batches: int = 1, t_start: float | None = None,
              cached_samples: int = 0, from_cache: bool = False, images: bool = False) -> LatencyReport:
    """Latency statistics over computed batches (in run order), dropping the warm-up batches;
    ``images``: the samples are images, so the throughput is also reported as ``fps``."""
    notes: list[str] = []
    computed = [b for b in batches if b.n > 0]
    dropped: list[BatchTiming] = []
    if warmup_batches > 0:
        if len(computed) > warmup_batches:
            dropped, computed = computed[:warmup_batches], computed[warmup_batches:]
            notes.append(f"warm-up: dropped the first {warmup_batches} computed batch(es) "
                         f"({sum(b.n for b in dropped)} samples) from latency statistics")
        elif computed:
            notes.append(f"only {len(computed)} computed batch(es): warm-up not dropped")
    if from_cache:
        notes.append(f"every sample came from the response cache: stage timings are those stored "
                     f"by the run that computed them ({cached_samples} samples); throughput unknown")
    elif cached_samples:
        notes.append(f"{cached_samples} samples came from the response cache and were not timed")
    per: dict[str, list[np.ndarray]] = {s: [] for s in STAGES}
    batch_lat: list[float] = []
    for b in computed:
        ps = b.per_sample()
        for s in STAGES:
            per[s].append(ps[s])
        batch_lat.append(sum(float(ps[s].sum()) for s in STAGES))
    cat = {s: (np.concatenate(per[s]) if per[s] else np.zeros(0)) for s in STAGES}
    e2e = sum((cat[s] for s in STAGES), np.zeros(len(cat[STAGES[0]])))
    n = int(len(e2e))

    throughput = None
    if computed and not from_cache:
        start = dropped[-1].t_done if dropped else t_start
        if start is not None:
            wall = computed[-1].t_done - start
            throughput = n / wall if wall > 0 else None

    rtf = None
    durs = [(d, float(e)) for b, e_block in zip(computed, _split(e2e, computed))
            for d, e in zip(b.durations or [None] * b.n, e_block)]
    known = [(d, e) for d, e in durs if d is not None and d > 0]
    rtfx = None
    if known:
        rtf = sum(e for _, e in known) / sum(d for d, _ in known)
        model = sum((cat[s] for s in ("preprocess", "inference", "postprocess")), np.zeros(n))
        durations = np.array([d if d is not None and d > 0 else 0.0 for d, _ in durs])
        with_audio = durations > 0
        model_s = float(model[with_audio].sum())
        rtfx = float(durations[with_audio].sum()) / model_s if model_s > 0 else None

    if not computed:
        notes.append("no samples were computed in this run: no latency measured")
    return LatencyReport(
        stages={s: StageStats.of(cat[s]) for s in STAGES},
        end_to_end=StageStats.of(e2e),
        batch_latency=StageStats.of(batch_lat),
        throughput=throughput,
        real_time_factor=rtf,
        measured_samples=n,
        warmup_batches=len(dropped),
        warmup_samples_dropped=sum(b.n for b in dropped),
        cached_samples=cached_samples,
        from_cache=from_cache,
        rtfx=rtfx,
        fps=throughput if images else None,
        notes=notes,
    )


def _split(values: np.ndarray, batches: list[BatchTiming]) -> list[np.ndarray]:
    out, i = [], 0
    for b in batches:
        out.append(values[i:i + b.n])
        i += b.n
    return out
