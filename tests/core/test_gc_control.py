"""The garbage-collector controls: frozen objects are not collected in the block, cycles made in it are."""
from __future__ import annotations

import gc
import weakref

from gapbench.core.gc_control import collect_if_due, quiet_gc


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _cycle_ref() -> weakref.ref:
    probe = _Cycle()
    ref = weakref.ref(probe)
    del probe
    return ref


def test_cycles_made_before_the_block_wait_for_its_end_and_new_ones_are_collected():
    before = _cycle_ref()
    with quiet_gc():
        assert gc.get_freeze_count() > 0 and gc.isenabled()
        made_inside = _cycle_ref()
        gc.collect()
        assert before() is not None  # frozen: no collection traverses it
        assert made_inside() is None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert before() is None


def test_collect_if_due_collects_cycles_between_queries():
    with quiet_gc(collect_between=True):
        assert not gc.isenabled()
        ref = _cycle_ref()
        for _ in range(gc.get_threshold()[0] + 10):  # allocations past the youngest threshold
            _Cycle()
        assert ref() is not None  # automatic collection is off
        collect_if_due()
        assert ref() is None
    assert gc.isenabled()


def test_what_was_frozen_before_stays_frozen():
    """A program that froze its objects (before forking, say) keeps them frozen, nested blocks too."""
    before = _cycle_ref()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with quiet_gc():
            with quiet_gc(collect_between=True):
                pass
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
        gc.collect()
        assert before() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert before() is None
