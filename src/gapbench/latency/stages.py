"""The pipeline's stage names, stated once: the runner, the cache, the statistics and the report
read them from here.

* ``decode``: reading the sample from its data set (file read, image/audio decode);
* ``shift``: applying the input shift;
* ``preprocess``: the adapter's per-sample preprocessing;
* ``inference``: the model's ``predict`` on the batch (divided evenly over the batch);
* ``postprocess``: the adapter's raw output -> response, then validation and answer extraction;
* ``transport``: time on the wire for remote models (HTTP), when the adapter reports it.
"""
from __future__ import annotations

STAGES: tuple[str, ...] = ("decode", "shift", "preprocess", "inference", "postprocess", "transport")
BATCH_STAGES: tuple[str, ...] = ("decode", "inference", "transport")  # measured per batch
