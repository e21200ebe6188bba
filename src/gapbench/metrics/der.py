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

import warnings
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from gapbench.core.metric import Metric
from gapbench.core.results import MetricValue, ScoreResult
from gapbench.data.rttm import Turn, read_rttm, read_uem
from gapbench.errors import InputError
from gapbench.metrics import stats

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
        if isinstance(t, Turn):
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


class DERMetric(Metric):
    """Mergeable DER state: the pyannote components of each file, in the order seen.

    ``update(predictions, references, ids)`` takes per-file hypothesis and reference turns
    (:class:`~gapbench.core.predictions.SpeakerTurns`, iterables of ``(start, end, speaker)``
    or pyannote ``Annotation``) and the file ids. ``uem`` maps file id to scored regions; files
    it does not list fall back to pyannote's approximation (when ``uem`` is None) or raise.
    ``collar`` is md-eval's (each side), i.e. half of pyannote's.
    """

    name = "der"

    def __init__(
        self,
        collar: float = 0.0,
        skip_overlap: bool = False,
        uem: Mapping[str, Regions] | None = None,
    ) -> None:
        if collar < 0:
            raise ValueError(f"collar must be >= 0 seconds, got {collar}")
        self.collar = float(collar)
        self.skip_overlap = bool(skip_overlap)
        self.uem = None if uem is None else dict(uem)
        self.files: list[tuple[str, dict[str, float]]] = []
        self._engine: Any = None

    def _der(self) -> Any:
        if self._engine is None:
            from pyannote.metrics.diarization import DiarizationErrorRate

            self._engine = DiarizationErrorRate(collar=2 * self.collar, skip_overlap=self.skip_overlap)
        return self._engine

    def add_file(
        self, uri: str, reference: TurnsLike, hypothesis: TurnsLike, uem: Regions | None = None
    ) -> dict[str, float]:
        """Score one file (``uem`` overrides the metric's map) and keep its components."""
        uri = str(uri)
        if uem is None and self.uem is not None:
            if uri not in self.uem:
                raise InputError(None, f"file {uri!r}", "a UEM entry for every scored file")
            uem = self.uem[uri]
        ref = _annotation(reference, uri)
        hyp = _annotation(hypothesis, uri)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*'uem' was approximated.*")
            detail = self._der()(ref, hyp, uem=_timeline(uem, uri), detailed=True)
        comps = {k: float(detail[v]) for k, v in _PYANNOTE_KEYS.items()}
        self.files.append((uri, comps))
        return comps

    def update(self, predictions: Any, references: Any, ids: Any = None) -> None:
        predictions, references = list(predictions), list(references)
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        start = len(self.files)
        ids = [f"file{start + i}" for i in range(len(references))] if ids is None else list(ids)
        if len(ids) != len(references):
            raise ValueError(f"{len(ids)} ids for {len(references)} references")
        for uri, hyp, ref in zip(ids, predictions, references):
            self.add_file(uri, ref, hyp)

    def merge(self, other: DERMetric) -> DERMetric:
        if (other.collar, other.skip_overlap) != (self.collar, self.skip_overlap):
            raise ValueError("cannot merge DER states with different collar / skip_overlap")
        self.files.extend(other.files)
        return self

    def compute(self, *, bootstrap: int = 1000, seed: int = 0, ci: bool = True) -> ScoreResult:
        n = len(self.files)
        comp = np.array([[c[k] for k in COMPONENTS] for _, c in self.files], dtype=float).reshape(n, 5)
        # accumulate file by file, in order, exactly as pyannote's ``abs(metric)`` does
        sums = [0.0] * 5
        for row in comp:
            for j in range(5):
                sums[j] += float(row[j])
        missed, fa, conf, correct, total = sums
        errors = conf + fa + missed  # pyannote's order of addition
        der = der_from_components(errors, total)
        rates = [x / total if total > 0 else float("nan") for x in (missed, fa, conf)]

        notes: list[str] = []
        cis: list[tuple[float, float] | None] = [None] * 4
        if ci and bootstrap > 0:
            if n < stats.MIN_UNITS:
                notes.append(f"too few files for an interval ({n} file{'s' if n != 1 else ''})")
            else:
                # columns: per-file errors (pyannote's order of addition), missed, FA, confusion
                errs = np.column_stack([comp[:, 2] + comp[:, 1] + comp[:, 0], comp[:, :3]])
                tot = comp[:, 4]

                def statistic(c: np.ndarray) -> np.ndarray:
                    num = c @ errs
                    den = (c @ tot)[:, None]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

                bounds = stats.bootstrap_ci(n, statistic, bootstrap, seed)
                if bounds is not None:
                    cis = [(float(bounds[0, j]), float(bounds[1, j])) for j in range(4)]
                if n < FEW_FILES:
                    notes.append(f"only {n} files: the bootstrap interval over files is rough")
        if total == 0:
            notes.append("no reference speech: DER is 0 without errors and 1 with any (pyannote's rule)")

        metrics = {
            "der": MetricValue(der, cis[0]),
            "missed": MetricValue(rates[0], cis[1]),
            "false_alarm": MetricValue(rates[1], cis[2]),
            "confusion": MetricValue(rates[2], cis[3]),
            "total": MetricValue(total),
        }
        seconds = {k: MetricValue(float(v)) for k, v in zip(COMPONENTS, sums)}
        records = [
            {
                "id": uri,
                "der": der_from_components(c["confusion"] + c["false_alarm"] + c["missed"], c["total"]),
                **c,
            }
            for uri, c in self.files
        ]
        info = {
            "files": n,
            "collar": self.collar,
            "pyannote_collar": 2 * self.collar,
            "skip_overlap": self.skip_overlap,
            "units": "der/missed/false_alarm/confusion: fraction of total; total and 'seconds': seconds",
        }
        if ci and bootstrap > 0:
            info.update(resamples=bootstrap, seed=seed, ci_over="files")
        return ScoreResult("der", metrics, {"seconds": seconds}, info, notes, records)


def _load_turns(src: Any, what: str) -> dict[str, list[Any]]:
    if isinstance(src, (str, PathLike)):
        return read_rttm(src)
    if isinstance(src, Mapping):
        return {str(k): v for k, v in src.items()}
    raise TypeError(
        f"{what}: expected an RTTM path or a {{file_id: turns}} mapping, got {type(src).__name__}"
    )


def _names(ids: Iterable[str], limit: int = 5) -> str:
    ids = list(ids)
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def score_der(
    ref: str | PathLike[str] | Mapping[str, Any],
    hyp: str | PathLike[str] | Mapping[str, Any],
    *,
    uem: str | PathLike[str] | Mapping[str, Regions] | None = None,
    collar: float = 0.0,
    skip_overlap: bool = False,
    bootstrap: int = stats.DEFAULT_RESAMPLES,
    seed: int = stats.DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """Corpus DER of ``hyp`` against ``ref`` (RTTM paths or ``{file_id: turns}`` mappings).

    ``collar`` is seconds forgiven on each side of every reference boundary (md-eval/dscore
    ``-c``); pyannote's ``collar`` is twice this. ``uem`` is a UEM path or
    ``{file_id: [(start, end), ...]}``; without it, each file's evaluation map is the union of
    the reference and hypothesis extents (pyannote's approximation). See the module docstring
    for missing files and same-speaker overlaps.
    """
    if collar < 0:
        raise InputError("--collar", None, "a non-negative number of seconds", collar)
    ref_turns = _load_turns(ref, "ref")
    hyp_turns = _load_turns(hyp, "hyp")
    uem_map = None
    if uem is not None:
        uem_map = (
            read_uem(uem) if isinstance(uem, (str, PathLike)) else {str(k): list(v) for k, v in uem.items()}
        )
    ref_name = str(ref) if isinstance(ref, (str, PathLike)) else None
    if not ref_turns:
        raise InputError(ref_name, None, "at least one SPEAKER line in the reference")

    notes: list[str] = []
    metric = DERMetric(collar=collar, skip_overlap=skip_overlap)
    uem_name = str(uem) if isinstance(uem, (str, PathLike)) else None
    if uem_map is not None:
        lacking = [u for u in ref_turns if u not in uem_map]
        if lacking:
            raise InputError(uem_name, f"file {lacking[0]!r}", "a UEM entry for every reference file")

    for uri, turns in ref_turns.items():
        metric.add_file(uri, turns, hyp_turns.get(uri, ()), None if uem_map is None else uem_map[uri])
    missing_hyp = [u for u in ref_turns if u not in hyp_turns]
    extra = [u for u in hyp_turns if u not in ref_turns]
    scored_extra, outside = [], []
    for uri in extra:
        if uem_map is not None and uri not in uem_map:
            outside.append(uri)
            continue
        metric.add_file(uri, (), hyp_turns[uri], None if uem_map is None else uem_map[uri])
        scored_extra.append(uri)

    result = metric.compute(bootstrap=bootstrap, seed=seed, ci=ci)
    if uem_map is None:
        notes.append(
            "no UEM: each file's evaluation map is the union of reference and hypothesis extents "
            "(pyannote's approximation)"
        )
    if missing_hyp:
        notes.append(
            f"{len(missing_hyp)} reference file(s) missing from the hypothesis, "
            f"scored as all missed: {_names(missing_hyp)}"
        )
    if scored_extra:
        notes.append(
            f"{len(scored_extra)} hypothesis file(s) not in the reference, "
            f"scored as false alarm: {_names(scored_extra)}"
        )
    if outside:
        notes.append(f"{len(outside)} hypothesis file(s) outside the UEM, skipped: {_names(outside)}")
    if uem_map is not None:
        unused = [u for u in uem_map if u not in ref_turns and u not in hyp_turns]
        if unused:
            notes.append(
                f"{len(unused)} UEM file(s) in neither reference nor hypothesis, skipped: {_names(unused)}"
            )
    result.notes = notes + result.notes
    result.info["uem"] = "file" if uem_map is not None else "approximated"
    for name, src in (("ref", ref), ("hyp", hyp), ("uem_file", uem)):
        if isinstance(src, (str, PathLike)):
            result.info[name] = str(Path(src))
    return result
