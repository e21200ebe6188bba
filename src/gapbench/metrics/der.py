"""Diarization error rate with pyannote.metrics as the engine, plus a bootstrap CI over files.

Semantics (identical to ``pyannote.metrics.diarization.DiarizationErrorRate``):

* Optimal one-to-one speaker mapping per file (Hungarian algorithm), then
  ``DER = (missed + false_alarm + confusion) / total`` where ``total`` is the reference speech
  in seconds (overlapped speech counted once per speaker) inside the evaluation map (UEM).
* Corpus DER sums the components over files and divides by the summed totals, which is
  pyannote's ``abs(metric)`` after accumulating every file (not a mean of per-file DERs).
* **Collar**: ``collar`` here follows md-eval / dscore: seconds forgiven on *each side* of every
  reference boundary. pyannote's ``collar`` is the total width, so ``collar=0.25`` here is
  pyannote ``collar=0.5``.
* ``skip_overlap``: regions where the reference has two or more speakers are not scored.
* Without a UEM, pyannote approximates the evaluation map of each file by the union of the
  reference and hypothesis extents (first to last turn of either); we do the same and say so in a
  note. Silence before the first turn of both is then not scored.
* Same-speaker overlapping turns (e.g. a hypothesis with two overlapping ``spk01`` turns) are
  counted once per turn by pyannote (the overlap is scored as two speakers), whereas md-eval
  merges them first. We keep pyannote's behaviour; merge such turns yourself to get md-eval's.
* A reference file absent from the hypothesis is scored against an empty hypothesis (all its
  speech is missed). A hypothesis file absent from the reference is scored against an empty
  reference (all its speech inside the evaluation map is false alarm); with a UEM that does not
  list it, it lies outside the evaluation map and is skipped. With a UEM, every reference file
  needs a UEM entry. UEM files in neither the reference nor the hypothesis have nothing to score
  and are skipped. Each of these cases is reported in the result's notes.

Metric names: ``der``, ``missed``, ``false_alarm``, ``confusion`` are fractions of ``total``;
``total`` is reference speech in seconds. The group ``seconds`` gives every component in seconds.
The 95% interval resamples files (the independent units) and re-aggregates the summed components.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gapbench.core.metric import FRACTION_DOWN, ComponentMetric, MetricInfo, check_batch
from gapbench.core.results import ScoreResult
from gapbench.errors import InputError

COMPONENTS = ("missed", "false_alarm", "confusion", "correct", "total")
_PYANNOTE_KEYS = {
    "missed": "missed detection",
    "false_alarm": "false alarm",
    "confusion": "confusion",
    "correct": "correct",
    "total": "total",
}
FEW_FILES = 10

TurnsLike = Any  # SpeakerTurns | Iterable[Turn | (start, end, speaker)] | pyannote Annotation
Regions = Sequence[tuple[float, float]]


def _annotation(turns: TurnsLike, uri: str) -> Any:
    from pyannote.core import Annotation, Segment

    if isinstance(turns, Annotation):
        return turns
    items = getattr(turns, "turns", turns)  # SpeakerTurns or a plain iterable
    ann = Annotation(uri=uri)
    for track, t in enumerate(items if items is not None else ()):
        if hasattr(t, "speaker"):  # gapbench.data.rttm.Turn
            start, end, speaker = t.start, t.end, t.speaker
        else:
            start, end, speaker = t
        ann[Segment(float(start), float(end)), track] = str(speaker)
    return ann


def _timeline(regions: Regions | None, uri: str) -> Any:
    if regions is None:
        return None
    from pyannote.core import Segment, Timeline

    return Timeline(segments=[Segment(float(s), float(e)) for s, e in regions], uri=uri)


def der_from_components(errors: float, total: float) -> float:
    """pyannote's rule: ``errors / total``; with no reference speech 0 if no error else 1."""
    if total == 0:
        return 0.0 if errors == 0 else 1.0
    return errors / total


class DERMetric(ComponentMetric):
    """Mergeable DER state: the pyannote components of each file, in the order seen.

    ``update(predictions, references, ids)`` takes per-file hypothesis and reference turns
    (:class:`~gapbench.core.predictions.SpeakerTurns`, iterables of ``(start, end, speaker)``
    or pyannote ``Annotation``) and the file ids. ``uem`` maps file id to scored regions; files
    it does not list fall back to pyannote's approximation (when ``uem`` is None) or raise.
    ``collar`` is md-eval's (each side), i.e. half of pyannote's.
    """

    name = "der"
    unit = "file"
    declared = {"der": FRACTION_DOWN, "missed": FRACTION_DOWN, "false_alarm": FRACTION_DOWN,
                "confusion": FRACTION_DOWN, "total": MetricInfo(True, "seconds")}

    def __init__(self, collar: float = 0.0, skip_overlap: bool = False,
                 uem: Mapping[str, Regions] | None = None) -> None:
        super().__init__()
        if not isinstance(collar, (int, float)) or not math.isfinite(collar) or collar < 0:
            raise InputError(None, "collar", "a finite number of seconds >= 0", collar)
        self.collar = float(collar)
        self.skip_overlap = bool(skip_overlap)
        self.uem = None if uem is None else dict(uem)
        self._engine: Any = None

    def config(self) -> dict[str, Any]:
        return {"collar": self.collar, "skip_overlap": self.skip_overlap}

    def _der(self) -> Any:
        if self._engine is None:
            from pyannote.metrics.diarization import DiarizationErrorRate

            self._engine = DiarizationErrorRate(collar=2 * self.collar, skip_overlap=self.skip_overlap)
        return self._engine

    def _file_uem(self, uri: str, uem: Regions | None) -> Regions | None:
        """The file's scored regions: ``uem`` if given, else the metric's map (which must name it)."""
        if uem is None and self.uem is not None:
            if uri not in self.uem:
                raise InputError(None, f"file {uri!r}", "a UEM entry for every scored file")
            uem = self.uem[uri]
        return uem

    def add_file(
        self, uri: str, reference: TurnsLike, hypothesis: TurnsLike, uem: Regions | None = None
    ) -> dict[str, float]:
        """Score one file (``uem`` overrides the metric's map) and keep its components."""
        uri = str(uri)
        uem = self._file_uem(uri, uem)
        ref = _annotation(reference, uri)
        hyp = _annotation(hypothesis, uri)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*'uem' was approximated.*")
            detail = self._der()(ref, hyp, uem=_timeline(uem, uri), detailed=True)
        comps = {k: float(detail[v]) for k, v in _PYANNOTE_KEYS.items()}
        self.add_units(np.array([[comps[k] for k in COMPONENTS]]), [uri])
        return comps

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        preds, refs, id_list = check_batch(predictions, references, ids)
        start = len(self.ids)
        id_list = id_list or [f"file{start + i}" for i in range(len(refs))]
        for uri, hyp, ref in zip(id_list, preds, refs):
            self.add_file(uri, ref, hyp)

    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        missed, fa, conf, correct, total = (totals[:, k] for k in range(5))
        errors = conf + fa + missed  # pyannote's order of addition
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = np.where(total > 0, total, 1)
            der = np.where(total > 0, errors / safe, np.where(errors == 0, 0.0, 1.0))
            rates = [np.where(total > 0, x / safe, np.nan) for x in (missed, fa, conf)]
        out = {"der": der, "missed": rates[0], "false_alarm": rates[1], "confusion": rates[2], "total": total}
        out.update({f"seconds/{k}": totals[:, j] for j, k in enumerate(COMPONENTS)})
        return out

    def interval_names(self, names: Sequence[str]) -> list[str]:
        return ["der", "missed", "false_alarm", "confusion"]

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        out = []
        for uri, r in zip(self.unit_ids(), rows.tolist()):
            c = dict(zip(COMPONENTS, r))
            out.append({"sample_id": uri,
                        "der": der_from_components(c["confusion"] + c["false_alarm"] + c["missed"], c["total"]),
                        **c})
        return out

    def finish(self, result: ScoreResult, rows: np.ndarray) -> None:
        n = len(rows)
        if "bootstrap" in result.info and n < FEW_FILES:
            result.notes.append(f"only {n} files: the bootstrap interval over files is rough")
        if float(rows[:, 4].sum()) == 0:
            result.notes.append("no reference speech: DER is 0 without errors and 1 with any (pyannote's rule)")
        result.info.update({
            "collar": self.collar, "pyannote_collar": 2 * self.collar, "skip_overlap": self.skip_overlap,
            "units": "der/missed/false_alarm/confusion: fraction of total; total and 'seconds': seconds",
        })
