"""``gapbench latency`` as a library call: a task and a model -> a latency run document.

The document is a :class:`~gapbench.core.run_document.RunDocument` with ``kind="latency"``, one
clean ``results`` entry when the task has labels (the scenario's own predictions scored by the
task's metrics, :mod:`gapbench.latency.accuracy`) and the scenario's block (:mod:`gapbench.latency.report`)
as ``latency``; ``spec`` holds the scenario settings, ``provenance`` the model's load time, the
machine and the software that produced the figures.
"""
from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gapbench.core.run_document import DatasetInfo, RunDocument, dataset_fingerprint
from gapbench.core.task import get_task
from gapbench.latency.accuracy import score_queries
from gapbench.latency.scenarios import ScenarioRun, ScenarioSettings, SystemUnderTest, load_pool, run_scenario
from gapbench.models.base import ModelAdapter


def run_latency(task: str, model: str | ModelAdapter | Callable[[list[Any]], Any] | None,
                settings: ScenarioSettings, *, limit: int | None = None, show_progress: bool = True,
                engine: str = "gapbench", log_dir: str = "gapbench-out/mlperf-logs",
                model_options: dict[str, str] | None = None) -> tuple[RunDocument, ScenarioRun]:
    """Load the model (timed: ``load_ms``), load the sample pool, run the scenario, build the document.

    ``model_options`` go to the adapter of a model URI (``--model-option device=cuda``), as in ``gapbench run``.

    ``engine="loadgen"`` lets MLPerf LoadGen issue the queries (:mod:`gapbench.latency.mlperf`), logs
    in ``log_dir``.
    """
    from gapbench.errors import InputError
    from gapbench.models.registry import load_model

    settings.check()
    if engine not in ("gapbench", "loadgen"):
        raise InputError(None, "--engine", "gapbench or loadgen", engine)
    if engine == "loadgen" and settings.find_max_qps:
        raise InputError(None, "--find-max-qps", "--engine gapbench (LoadGen's own search is not wired)", engine)
    if engine == "loadgen" and settings.sut != "thread":
        raise InputError(None, "--sut", "thread with --engine loadgen (LoadGen issues from its own thread)",
                         settings.sut)
    spec = get_task(task)
    target = model if model is not None else spec.default_model
    if target is None:
        raise InputError(spec.source, "field 'default_model'", "a default model (or pass --model)")
    t0 = time.perf_counter()
    adapter = load_model(target, **(model_options or {})) if isinstance(target, str) else load_model(target)
    sut = SystemUnderTest(adapter, spec.type, extract=spec.make_extractor(), num_classes=spec.num_classes)
    load_ms = (time.perf_counter() - t0) * 1e3
    samples, _ = spec.open_samples(limit)
    pool, decode_s = load_pool(samples)
    after = None
    if engine == "loadgen":
        from gapbench.latency.mlperf import run_loadgen

        run = run_loadgen(sut, pool, settings, log_dir, decode_s=decode_s)
    elif show_progress and settings.scenario in ("single-stream", "multi-stream"):
        from gapbench.core.progress import progress

        with progress(None, f"{settings.scenario} {spec.name} x {adapter.name}") as advance:
            run = run_scenario(sut, pool, settings, decode_s=decode_s, after=lambda rec: advance(1))
    else:
        run = run_scenario(sut, pool, settings, decode_s=decode_s, after=after)
    run.block["load_ms"] = load_ms
    acc = score_queries(spec, run.load.records if run.load is not None else [], seed=settings.seed)
    run.block["notes"] += acc.notes
    run.records = acc.records
    doc = RunDocument(
        task=spec.name, model=adapter.name, results=[acc.entry] if acc.entry is not None else [], kind="latency",
        metric_info=acc.metric_info,
        dataset=DatasetInfo(spec.name, len(pool), dataset_fingerprint(s.key for s in pool),
                            {"dataset": spec.dataset.target, **{k: str(v) for k, v in spec.dataset.args.items()}}),
        latency=run.block,
        spec={"task": spec.name, "model": adapter.name, "limit": limit, "engine": engine, **settings.to_json(),
              **({"model_options": dict(model_options)} if model_options else {})},
        provenance={**provenance(), "model_fingerprint": adapter.fingerprint()},
    )
    return doc, run


def run_latency_and_save(task: str, model: str | ModelAdapter | Callable[[list[Any]], Any] | None,
                         settings: ScenarioSettings, *, store_url: str | None = None,
                         out_dir: str | os.PathLike[str] = "gapbench-out", **kw: Any) -> tuple[RunDocument, Path]:
    """What ``gapbench latency`` does: run, then store the run like every other run.

    The run gets an id and the common provenance (``core.provenance.collect_provenance``; the
    latency-specific machine facts stay under ``provenance["latency"]``); ``<out_dir>/<run_id>.json``
    is written first (:func:`gapbench.runner.local.write_document`), then the document and its
    per-sample accuracy rows go to the store (:func:`gapbench.runner.local.save_to_store`), so a
    store failure is one :class:`~gapbench.store.StoreError` line naming the JSON already written.
    """
    from gapbench.core.provenance import collect_provenance, new_run_id
    from gapbench.runner.local import save_to_store, write_document

    doc, run = run_latency(task, model, settings, **kw)
    doc.run_id = new_run_id()
    fingerprint = doc.provenance.get("model_fingerprint")
    doc.provenance = {**collect_provenance(seed=settings.seed, config=doc.spec or {}, model_fingerprint=fingerprint),
                      "latency": doc.provenance}
    json_path = write_document(doc.to_json(), Path(out_dir) / f"{doc.run_id}.json")
    save_to_store(doc, list(run.records), store_url, json_path)
    return doc, json_path


def provenance() -> dict[str, Any]:
    """The machine and software that produced the figures, and the peak resident memory so far (of this
    process, and of the largest child process that finished: ``--sut process`` serves in one per worker)."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy

    try:
        gb_version: str | None = version("gapbench")
    except PackageNotFoundError:
        gb_version = None

    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    # the largest finished child: a --sut process system under test (joined at the end of its run)
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "hardware": {"machine": platform.machine(), "processor": platform.processor() or None,
                     "cpu_count": os.cpu_count()},
        "software": {"python": sys.version.split()[0], "platform": platform.platform(), "numpy": numpy.__version__,
                     "gapbench": gb_version},
        "peak_rss_mb": rss_kb / 1024.0,
        "peak_rss_children_mb": child_kb / 1024.0 if child_kb else None,
        "energy": "see latency.hardware (RAPL powercap / NVML, read around the measured window)",
        "clock": "time.perf_counter_ns",
    }


__all__ = ["provenance", "run_latency", "run_latency_and_save"]
