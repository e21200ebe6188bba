"""Evaluate models on a spectro build: every model x condition, plus the blind-bias audit.

Each (model, condition) is one ordinary run of the ``spectrogram-mcq`` task through the shared
pipeline (response cache, answer extraction, per-item failures recorded with their reason and
the run continuing: ``on_error="skip"``). Models are loaded once by
:func:`gapbench.models.registry.load_model`, so any scheme works: ``baseline:``, ``python:``,
and the ``openai:`` / ``hf:`` adapters when present.

The returned document::

    {"eval_id", "data", "design", "split", "audit": {...},
     "results": [{"model", "condition", "split", "scoring", "n", "n_skipped", "skipped",
                  "metrics": {"accuracy"|"mean_ped"|"unparseable": {"value", "ci95"}}, "notes"}]}

``audit`` is the blind rule (smallest total PED to the other options) scored on the same items
without any model: how far an option-only prior gets (the paper's suspected dataset bias). It is
the same for every condition (the options are the same words), so it is reported once.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gapbench.spectro.prompts import CONDITIONS

SCORINGS: tuple[str, ...] = ("generate", "loglik")
_ANSWERING = ("baseline:", "python:")  # models that answer the same way under either scoring


def blind_audit(data: str | os.PathLike[str], split: str | None = None) -> dict[str, Any]:
    """Accuracy of the option-only centrality rule on the build's items (no model, no image)."""
    from gapbench.spectro.build import load_items
    from gapbench.spectro.distractors import centrality_pick

    items = load_items(data, split)
    hits = 0
    for it in items:
        segs = [tuple(s) for s in it.get("options_segments") or []]
        if segs and "ABCDEFGH"[centrality_pick(segs)] == it["answer"]:
            hits += 1
    n = len(items)
    return {"rule": "smallest total PED to the other options", "items": n,
            "accuracy": hits / n if n else None, "chance": 1.0 / len(items[0]["options"]) if n else None}


def evaluate(data: str | os.PathLike[str], models: Sequence[Any], *, conditions: Sequence[str] = CONDITIONS,
             split: str | None = None, blank: bool = False, limit: int | None = None, cache: Any = False,
             prompt: str | None = None, seed: int = 0, bootstrap: int = 1000, batch_size: int = 8,
             circular: bool = False, hints: bool = False, show_progress: bool = True, scoring: str = "generate"
             ) -> tuple[dict[str, Any], list[Any]]:
    """Run every model on every condition; returns ``(document, run outcomes)``.

    ``circular``: also show every item with its options rotated 1..3 places (CircularEval, Liu et
    al. 2024, MMBench): ``circular_accuracy`` counts an item right only when every rotation is
    answered right (Wilson interval); it removes a model's gain from a preferred letter position.

    ``scoring``: ``generate`` (generate, then extract the answer) or ``loglik`` -- local ``hf:``
    models pick the option whose text is most likely after the prompt and images (see
    :mod:`gapbench.models.hf`); models that cannot be scored that way (``openai:``) are refused,
    and the offline baselines and ``python:`` callables answer as they always do. Each result
    says which scoring it used.
    """
    import json

    from gapbench.models.registry import load_model
    from gapbench.runner.local import run_task
    from gapbench.spectro.dataset import spectro_task
    from gapbench.spectro.prompts import check_condition

    for c in conditions:
        check_condition(c)
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
    loglik = [m for m in models if scoring == "loglik" and isinstance(m, str) and not m.startswith(_ANSWERING)]
    bad = [m for m in loglik if not m.startswith("hf:")]
    if bad:
        raise ValueError(f"--scoring loglik needs local hf: models (token log-probabilities); {bad[0]} is not one")
    manifest = json.loads((Path(data) / "manifest.json").read_text()) if (Path(data) / "manifest.json").is_file() \
        else {}
    eval_id = uuid.uuid4().hex[:12]
    doc: dict[str, Any] = {"eval_id": eval_id, "data": str(data), "design": manifest.get("params", {}).get("design"),
                           "split": split, "blank": blank, "hints": hints, "audit": blind_audit(data, split),
                           "results": []}
    outcomes = []
    for m in models:
        adapter = load_model(m, scoring="loglik") if m in loglik else load_model(m)
        used = "loglik" if m in loglik else "generate"
        for cond in conditions:
            task = spectro_task(str(data), cond, split, blank=blank, prompt=prompt, hints=hints)
            out = run_task(task, adapter, cache=cache, show_progress=show_progress, limit=limit, seed=seed,
                           bootstrap=bootstrap, batch_size=batch_size, on_error="skip",
                           options={"eval_id": eval_id, "condition": cond})
            entry = out.document.results[0]
            result = {
                "model": adapter.name, "condition": cond, "split": split or "all", "scoring": used, "n": entry.n,
                "n_skipped": len(entry.skipped), "skipped": list(entry.skipped),
                "metrics": {k: v.to_json() for k, v in entry.metrics.items()}, "notes": list(entry.notes),
            }
            outcomes.append(out)
            if circular:
                runs = [out]
                for rot in range(1, _n_options(data, split)):
                    task = spectro_task(str(data), cond, split, blank=blank, prompt=prompt, rotation=rot,
                                        hints=hints)
                    runs.append(run_task(task, adapter, cache=cache, show_progress=show_progress, limit=limit,
                                         seed=seed, bootstrap=bootstrap, batch_size=batch_size, on_error="skip",
                                         options={"eval_id": eval_id, "condition": cond, "rotation": rot}))
                outcomes += runs[1:]
                result["metrics"]["circular_accuracy"] = circular_accuracy(runs)
            doc["results"].append(result)
    return doc, outcomes


def _n_options(data: str | os.PathLike[str], split: str | None) -> int:
    from gapbench.spectro.build import load_items

    items = load_items(data, split)
    return len(items[0]["options"]) if items else 1


def circular_accuracy(runs: Sequence[Any]) -> dict[str, Any]:
    """Share of items answered right under every rotation (a skipped rotation counts wrong)."""
    from gapbench.metrics.intervals import wilson_interval

    right: dict[str, bool] = {}
    for k, out in enumerate(runs):
        seen = set()
        for rec in out.records:
            item = str(rec.meta.get("item", rec.sample_id))
            seen.add(item)
            ok = bool(rec.values.get("correct"))
            right[item] = ok if k == 0 else (right.get(item, False) and ok)
        for item in set(right) - seen:
            right[item] = False
    n, hits = len(right), sum(right.values())
    return {"value": hits / n if n else None, "ci95": list(wilson_interval(hits, n) or ()) or None}


def save_runs(outcomes: Sequence[Any], *, store_url: str | None = None,
              out_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Save each (model, condition[, rotation]) run like ``gapbench run`` does: JSON file first, then
    the store; each run's spec carries the ``eval_id`` and ``condition`` in its options, which is
    how one evaluation's runs are found again. Returns the run ids."""
    from gapbench.core.provenance import collect_provenance, new_run_id
    from gapbench.runner.local import DEFAULT_OUT_DIR, save_to_store, write_document

    out = Path(out_dir) if out_dir is not None else Path(DEFAULT_OUT_DIR)
    ids = []
    for o in outcomes:
        doc = o.document
        doc.run_id = new_run_id()
        doc.provenance = collect_provenance(seed=o.spec.seed, config=o.spec.to_json(),
                                            model_fingerprint=o.model_fingerprint)
        path = write_document(doc.to_json(), out / f"{doc.run_id}.json")
        save_to_store(doc, o.records, store_url, path)
        ids.append(doc.run_id)
    return ids
