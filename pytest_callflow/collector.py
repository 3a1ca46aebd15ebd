"""Keeping the garbage collector's calls out of a test's graph.

A collection starts wherever allocations cross a threshold, often in a later
test than the one that made the garbage, and runs the garbage's finalizers
there (``__del__`` methods, weakref callbacks, asyncio's ``__del__`` of an
event loop left open).  Recorded, those calls would land in whichever test
the collector happened to interrupt and move from run to run, and the gate
would report them as that test's regression.  So the plugin's sessions skip
them (``Session(skip_collector=True)``), and while a test is traced two
``gc.callbacks`` entries tell the tracer when a collection starts and ends.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

from pytest_callflow import _native


def mark_collector() -> None:
    """Start marking collections for the tracer (until unmark_collector).

    The start mark goes first in ``gc.callbacks`` and the stop mark last, so
    that the program's own callbacks run inside the window in both phases
    and are skipped too.  The stop mark is added first: a collection
    between the two additions must not see a start without its stop.  (If
    a program's callback edits ``gc.callbacks`` during "stop", CPython skips
    the entries after it; the tracer then notices that no collection runs
    any more, libcallflow/src/gcstate.c.)
    """
    gc.callbacks.append(_native.collector_stop)
    gc.callbacks.insert(0, _native.collector_start)


def unmark_collector() -> None:
    """Stop marking collections: the marks mark_collector added go (the
    first start mark and the last stop mark, so that nested marks unwind in
    order; either may be gone already)."""
    callbacks = gc.callbacks
    if _native.collector_start in callbacks:
        callbacks.remove(_native.collector_start)
    for i in range(len(callbacks) - 1, -1, -1):
        if callbacks[i] is _native.collector_stop:
            del callbacks[i]
            break
    # Never leave the thread marked, even if a finalizer removed the stop
    # mark while its collection ran.
    _native.collector_stop("stop", {})


@contextmanager
def collector_marked() -> Iterator[None]:
    """Mark the collections that run inside the block for the tracer."""
    mark_collector()
    try:
        yield
    finally:
        unmark_collector()
