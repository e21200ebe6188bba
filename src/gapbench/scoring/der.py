"""DER from RTTM files (or mappings): :func:`score_der` and the paired :func:`compare_der`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from gapbench.core.results import CompareResult, ScoreResult
from gapbench.data.rttm import read_rttm, read_uem
from gapbench.errors import InputError
from gapbench.metrics import intervals
from gapbench.metrics.der import DERMetric, Regions
from gapbench.metrics.jer import JERMetric
from gapbench.scoring.compare import compare_metrics


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
    allow_empty: bool = False,
    bootstrap: int = intervals.DEFAULT_RESAMPLES,
    seed: int = intervals.DEFAULT_SEED,
    ci: bool = True,
) -> ScoreResult:
    """Corpus DER of ``hyp`` against ``ref`` (RTTM paths or ``{file_id: turns}`` mappings).

    ``collar`` is seconds forgiven on each side of every reference boundary (md-eval/dscore
    ``-c``); pyannote's ``collar`` is twice this. ``uem`` is a UEM path or
    ``{file_id: [(start, end), ...]}``; without it, each file's evaluation map is the union of
    the reference and hypothesis extents (pyannote's approximation). A hypothesis with no turn
    at all is refused (almost always the wrong file) unless ``allow_empty``. See
    :mod:`gapbench.metrics.der` for missing files and same-speaker overlaps.

    The result also holds ``jer`` (Jaccard error rate), ``purity``, ``coverage`` and ``speakers``
    from :class:`~gapbench.metrics.jer.JERMetric` on the same files (pyannote.metrics' definitions),
    their components in each per-file record.
    """
    metric = DERMetric(collar=collar, skip_overlap=skip_overlap)
    jer_metric = JERMetric(collar=collar, skip_overlap=skip_overlap)
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
    if not any(len(getattr(t, "turns", t) or ()) for t in hyp_turns.values()) and not allow_empty:
        hyp_name = str(hyp) if isinstance(hyp, (str, PathLike)) else None
        raise InputError(hyp_name, None, "at least one SPEAKER turn in the hypothesis (if the system "
                         "really produced no output, say so: allow_empty=True)")

    notes: list[str] = []
    uem_name = str(uem) if isinstance(uem, (str, PathLike)) else None
    if uem_map is not None:
        lacking = [u for u in ref_turns if u not in uem_map]
        if lacking:
            raise InputError(uem_name, f"file {lacking[0]!r}", "a UEM entry for every reference file")

    for uri, turns in ref_turns.items():
        for m in (metric, jer_metric):
            m.add_file(uri, turns, hyp_turns.get(uri, ()), None if uem_map is None else uem_map[uri])
    missing_hyp = [u for u in ref_turns if u not in hyp_turns]
    extra = [u for u in hyp_turns if u not in ref_turns]
    scored_extra, outside = [], []
    for uri in extra:
        if uem_map is not None and uri not in uem_map:
            outside.append(uri)
            continue
        for m in (metric, jer_metric):
            m.add_file(uri, (), hyp_turns[uri], None if uem_map is None else uem_map[uri])
        scored_extra.append(uri)

    result = metric.compute(bootstrap=bootstrap, seed=seed, ci=ci)
    _fold(result, jer_metric.compute(bootstrap=bootstrap, seed=seed, ci=ci))
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


def _fold(result: ScoreResult, extra: ScoreResult) -> None:
    """Add JER/purity/coverage to the DER result: headline values, notes, per-file components."""
    result.metrics.update(extra.metrics)
    result.notes.extend(n for n in extra.notes if n not in result.notes and not n.startswith("only "))
    by_id = {r["sample_id"]: r for r in extra.records}
    for rec in result.records:
        rec.update({k: v for k, v in by_id.get(rec["sample_id"], {}).items() if k != "sample_id"})


def compare_der(
    ref: str | PathLike[str] | Mapping[str, Any],
    hyp_a: str | PathLike[str] | Mapping[str, Any],
    hyp_b: str | PathLike[str] | Mapping[str, Any],
    *,
    uem: str | PathLike[str] | Mapping[str, Regions] | None = None,
    collar: float = 0.0,
    skip_overlap: bool = False,
    bootstrap: int = intervals.DEFAULT_RESAMPLES,
    seed: int = intervals.DEFAULT_SEED,
    ci: bool = True,
) -> CompareResult:
    """Paired bootstrap over files of DER(A) - DER(B) against the same reference."""
    metrics = []
    for hyp in (hyp_a, hyp_b):
        metric = DERMetric(collar=collar, skip_overlap=skip_overlap)
        ref_turns, hyp_turns = _load_turns(ref, "ref"), _load_turns(hyp, "hyp")
        uem_map = None if uem is None else (
            read_uem(uem) if isinstance(uem, (str, PathLike)) else {str(k): list(v) for k, v in uem.items()})
        for uri in ref_turns:  # the reference's files are the paired units
            if uem_map is not None and uri not in uem_map:
                raise InputError(str(uem), f"file {uri!r}", "a UEM entry for every reference file")
            metric.add_file(uri, ref_turns.get(uri, ()), hyp_turns.get(uri, ()),
                            None if uem_map is None else uem_map[uri])
        metrics.append(metric)
    names = [str(h) if isinstance(h, (str, PathLike)) else label for h, label in ((hyp_a, "A"), (hyp_b, "B"))]
    return compare_metrics(metrics[0], metrics[1], "der", a_label=names[0], b_label=names[1],
                           bootstrap=bootstrap, seed=seed, ci=ci)
