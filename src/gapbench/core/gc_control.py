"""When the cyclic garbage collector may run: never over what a run loaded, never inside a timed region.

A ``gapbench`` process holds a few hundred thousand long-lived objects (the libraries it imported, the
model's session, the data set): every full collection walks all of them, and so does the interpreter's
shutdown, several times. Measured on ``gapbench run ocr-scenes --model rapidocr`` (16 images, 2-core
machine, 2026-11-29): two full collections during the run (~90 ms) and ~0.18 s of collections at exit,
against ~30 ms and ~0.1 s for a plain loop calling the same model. Freezing what is alive
(:func:`gc.freeze`: moved to a generation no collection traverses) removes both; objects freed by
reference counting are freed as before, so only cycles made *before* the freeze wait for the unfreeze.
"""
from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_gc(collect_between: bool = False) -> Iterator[None]:
    """Freeze the objects alive so far (the model, the data, the imported libraries) for the block.

    With ``collect_between`` automatic collection is also disabled, for a loop that calls
    :func:`collect_if_due` itself between timed regions (as MLPerf harnesses keep collection out of
    a query's latency). Without it collection stays automatic but only sees objects made in the
    block. Restored on exit. When objects are frozen already (an outer block, or a program that
    froze before forking to keep its pages shared) they stay frozen: ``gc.unfreeze`` cannot tell
    whose they are, so this block then freezes nothing more and unfreezes nothing.
    """
    was_enabled = gc.isenabled()
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    if collect_between:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        if ours:
            gc.unfreeze()


def collect_if_due() -> None:
    """Collect the young generations if the interpreter would have by now (its own thresholds: the
    middle generation when its count passed its threshold too, else the youngest). The oldest
    generation is left for after the loop (collection is re-enabled on leaving :func:`quiet_gc`):
    a full collection's cost grows with the records the run keeps."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if thresholds[0] and counts[0] > thresholds[0]:
        gc.collect(1 if counts[1] + 1 > thresholds[1] else 0)


def freeze_for_exit() -> None:
    """Called by the ``gapbench`` process just before it exits: the interpreter's shutdown then frees
    objects by reference counting alone instead of walking all of them in repeated collections
    (files and database connections are closed explicitly before this point)."""
    gc.freeze()
