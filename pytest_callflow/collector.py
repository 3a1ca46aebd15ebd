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
    and are skipped too.
    """
    gc.callbacks.insert(0, _native.collector_start)
    gc.callbacks.append(_native.collector_stop)


def unmark_collector() -> None:
    """Stop marking collections (the marks may already be gone)."""
    for callback in (_native.collector_start, _native.collector_stop):
        try:
            gc.callbacks.remove(callback)
        except ValueError:  # the program emptied gc.callbacks
            pass
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
