"""Jaccard error rate, purity and coverage of a diarization, with pyannote.metrics as the engine.

Definitions (identical to ``pyannote.metrics.diarization``, which computes every file's components):

* **JER** (``JaccardErrorRate``; DIHARD II evaluation plan, Ryant et al. 2019): the reference and
  hypothesis are cropped to the evaluation map (UEM, collar and overlap removed as for DER), the
  speakers are paired one-to-one (Hungarian mapping); each *reference* speaker's error is
  ``(FA + MISS) / |ref u hyp|`` against its paired hypothesis speaker and 1 when unpaired;
  unpaired hypothesis speakers add nothing. pyannote's corpus JER is the sum of the per-speaker
  errors over every file divided by the number of reference speakers over every file (each
  speaker weighs the same, whichever file it is in), 1.0 when no file has a reference speaker.
  ``collar`` here is md-eval's (each side), i.e. half of pyannote's, as in :mod:`gapbench.metrics.der`.
* **Purity** (``DiarizationPurity``): for each hypothesis cluster, the duration of the reference
  speaker it overlaps most; summed and divided by the hypothesis speech duration. **Coverage**
  (``DiarizationCoverage``): the same with reference and hypothesis swapped. Both are 1.0 when the
  denominator is 0. pyannote computes them on the whole annotations: they take **no UEM, no collar
  and no overlap skipping** (the class ignores its ``uem`` argument); we do the same and say so in a
  note when a UEM, a collar or ``skip_overlap`` was given.

State per file: ``(speakers, speaker_error, purity_total, purity_correct, coverage_total,
coverage_correct)`` exactly as pyannote returns them; corpus values are the summed components
(summed in file order, as pyannote accumulates), so they equal pyannote's ``abs(metric)`` to the
last digit. The 95% interval resamples files and re-aggregates the summed components.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from gapbench.core.metric import COUNT, FRACTION_DOWN, FRACTION_UP
from gapbench.core.results import ScoreResult
from gapbench.metrics.der import FEW_FILES, DERMetric, Regions, TurnsLike, _annotation, _timeline

COMPONENTS = ("speakers", "speaker_error", "purity_total", "purity_correct", "coverage_total", "coverage_correct")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """pyannote's rule for JER, purity and coverage: ``num / den``, 1.0 when ``den`` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), 1.0)


class JERMetric(DERMetric):
    """Mergeable JER, purity and coverage: pyannote's components of each file, in the order seen.

    Same inputs and settings as :class:`~gapbench.metrics.der.DERMetric` (``collar`` is md-eval's,
    ``uem`` maps file id to scored regions), so a diarization task can list both and they score
    the same files the same way; purity and coverage ignore the UEM, collar and overlap setting,
    as pyannote's classes do.
    """

    name = "jer"
    unit = "file"
    declared = {"jer": FRACTION_DOWN, "purity": FRACTION_UP, "coverage": FRACTION_UP, "speakers": COUNT}

    def __init__(self, collar: float = 0.0, skip_overlap: bool = False,
                 uem: Any = None) -> None:
        super().__init__(collar=collar, skip_overlap=skip_overlap, uem=uem)
        self._engines: tuple[Any, Any, Any] | None = None
        self._uem_given = uem is not None

    def _pyannote(self) -> tuple[Any, Any, Any]:
        if self._engines is None:
            from pyannote.metrics.diarization import DiarizationCoverage, DiarizationPurity, JaccardErrorRate

            self._engines = (JaccardErrorRate(collar=2 * self.collar, skip_overlap=self.skip_overlap),
                             DiarizationPurity(), DiarizationCoverage())
        return self._engines

    def add_file(
        self, uri: str, reference: TurnsLike, hypothesis: TurnsLike, uem: Regions | None = None
    ) -> dict[str, float]:
        """Score one file (``uem`` overrides the metric's map) and keep its components."""
        uri = str(uri)
        uem = self._file_uem(uri, uem)
        self._uem_given = self._uem_given or uem is not None
        ref = _annotation(reference, uri)
        hyp = _annotation(hypothesis, uri)
        jer, purity, coverage = self._pyannote()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*'uem' was approximated.*")
            j = jer(ref, hyp, uem=_timeline(uem, uri), detailed=True)
        p = purity(ref, hyp, detailed=True)
        c = coverage(ref, hyp, detailed=True)
        comps = {"speakers": float(j["speaker count"]), "speaker_error": float(j["speaker error"]),
                 "purity_total": float(p["total"]), "purity_correct": float(p["correct"]),
                 "coverage_total": float(c["total"]), "coverage_correct": float(c["correct"])}
        self.add_units(np.array([[comps[k] for k in COMPONENTS]]), [uri])
        return comps

    def values(self, totals: np.ndarray) -> dict[str, np.ndarray]:
        speakers, err, p_tot, p_cor, c_tot, c_cor = (totals[:, k] for k in range(6))
        return {"jer": _ratio(err, speakers), "purity": _ratio(p_cor, p_tot), "coverage": _ratio(c_cor, c_tot),
                "speakers": speakers.astype(np.int64)}

    def interval_names(self, names: Sequence[str]) -> list[str]:
        return ["jer", "purity", "coverage"]

    def records(self, rows: np.ndarray) -> list[dict[str, Any]]:
        out = []
        for uri, r in zip(self.unit_ids(), rows.tolist()):
            c = dict(zip(COMPONENTS, r))
            vals = self.values(np.asarray([r]))
            out.append({"sample_id": uri, "jer": float(vals["jer"][0]), "purity": float(vals["purity"][0]),
                        "coverage": float(vals["coverage"][0]), **c, "speakers": int(c["speakers"])})
        return out

    def finish(self, result: ScoreResult, rows: np.ndarray) -> None:
        n = len(rows)
        if "bootstrap" in result.info and n < FEW_FILES:
            result.notes.append(f"only {n} files: the JER/purity/coverage interval over files is rough")
        if float(rows[:, 0].sum()) == 0:
            result.notes.append("no reference speaker: JER is 1.0 (pyannote's rule)")
        if self._uem_given or self.collar or self.skip_overlap:
            result.notes.append("purity/coverage: whole annotations, no UEM, collar or overlap skipping "
                                "(pyannote's definition)")
        result.info.update({"collar": self.collar, "pyannote_collar": 2 * self.collar,
                            "skip_overlap": self.skip_overlap,
                            "units": "jer/purity/coverage: fractions; speakers: reference speakers over files"})
