"""Calls the garbage collector makes (finalizers) are kept out of a test's
graph: sessions made with skip_collector=True, which mark the collector's
runs in gc.callbacks while they run, record none of them, keep returns
matched and close the generators the collector finalizes."""

import gc
import sys
from typing import List, Optional

import pytest

from cfutil import qn
from plugin_projects import Project, failed_ids, text
from programs import collected
from pytest_callflow import _native, testjudge
from pytest_callflow.graph import CallGraph

BACKENDS: List[Optional[str]] = [None] + (["profile"] if sys.version_info < (3, 12) else [])


def _trace(skip: bool, backend: Optional[str]) -> CallGraph:
    session = _native.Session(scope="all", skip_collector=skip, backend=backend)
    session.start()
    try:
        assert collected.program() == 2
    finally:
        session.stop()
    return CallGraph(session.graph())


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_collectors_calls_are_skipped_and_the_program_kept(backend: Optional[str]) -> None:
    graph = _trace(True, backend)
    assert graph.calls(qn(collected.Node.__del__)) == 0
    assert graph.calls(qn(collected.Reenter.__del__)) == 0
    assert graph.calls(qn(collected.finalize)) == 0  # the generator's finally ran in a collection
    # outer(2) -> outer(1) -> outer(0): the finalizer's outer(0), run while
    # outer(0) waited in gc.collect(), neither counts nor ends that frame.
    assert graph.calls(qn(collected.outer)) == 3
    assert graph.calls(qn(collected.inner)) == 1
    assert graph.edge_calls(qn(collected.outer), qn(collected.inner)) == 1
    assert graph.calls(qn(collected.Node.__init__)) == 5
    gen = graph.function(qn(collected.suspended))
    assert gen.calls == 1
    # Closed by the collector within the program: its wait ended there.
    assert gen.suspended_time <= graph.function(qn(collected.program)).total_time


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_skip_collector_the_finalizers_are_recorded(backend: Optional[str]) -> None:
    graph = _trace(False, backend)
    assert graph.calls(qn(collected.Node.__del__)) == 5
    assert graph.calls(qn(collected.Reenter.__del__)) == 1
    assert graph.calls(qn(collected.finalize)) == 6
    assert graph.calls(qn(collected.outer)) == 4


def test_the_marks_leave_gc_callbacks_as_they_were_and_the_thread_unmarked() -> None:
    def own(phase: str, info: dict) -> None:
        pass

    gc.callbacks.append(own)
    try:
        before = list(gc.callbacks)
        marking = _native.Session(scope="all", skip_collector=True)
        marking.start()
        try:
            assert gc.callbacks[0] is _native.collector_start
            assert gc.callbacks[-1] is _native.collector_stop
        finally:
            marking.stop()
        assert gc.callbacks == before
        plain = _native.Session(scope="all")
        plain.start()
        try:
            assert gc.callbacks == before  # a session that records the collector marks nothing
        finally:
            plain.stop()
        # A program that empties gc.callbacks while a collection is marked
        # (a finalizer can) leaves no thread stuck in the collector.
        marking.start()
        try:
            _native.collector_start("start", {})
            gc.callbacks.clear()
        finally:
            marking.stop()
        gc.callbacks.append(own)
    finally:
        gc.callbacks.remove(own)
    session = _native.Session(scope="all", skip_collector=True)
    session.start()
    try:
        collected.inner()
    finally:
        session.stop()
    assert CallGraph(session.graph()).calls(qn(collected.inner)) == 1


def test_nested_marks_unwind_in_order() -> None:
    """A traced test (the plugin's session) that opens such a session itself."""
    outer = _native.Session(scope="all", skip_collector=True)
    outer.start()
    try:
        before = list(gc.callbacks)
        inner = _native.Session(scope="all", skip_collector=True)
        inner.start()
        try:
            assert gc.callbacks.count(_native.collector_stop) == before.count(_native.collector_stop) + 1
        finally:
            inner.stop()
        assert gc.callbacks == before
    finally:
        outer.stop()


def test_a_callback_that_edits_gc_callbacks_does_not_leave_the_thread_marked() -> None:
    """A one-shot callback removing itself during "stop" shifts the list:
    CPython skips the stop mark after it.  The tracer sees the collection
    is over at the next event and records the rest of the program."""
    def once(phase: str, info: dict) -> None:
        if phase == "stop":
            gc.callbacks.remove(once)

    gc.callbacks.append(once)
    session = _native.Session(scope="all", skip_collector=True)
    try:
        session.start()
        try:
            gc.collect()
            for _ in range(10):
                collected.inner()
        finally:
            session.stop()
    finally:
        if once in gc.callbacks:
            gc.callbacks.remove(once)
    assert CallGraph(session.graph()).calls(qn(collected.inner)) == 10


LOOPS_LEFT_OPEN = """
    import asyncio
    import gc


    def helper(n):
        return n * 2


    class Holder:
        def __init__(self):
            self.loop = asyncio.new_event_loop()  # never closed: the collector finalizes it
            self.me = self


    def test_a_leaves_a_loop():
        gc.collect()  # the collector's count starts from nothing here
        Holder()      # garbage that the next collection finalizes


    def test_b_small():
        data = [[i] for i in range(5000)]  # allocations enough to start a collection
        assert helper(len(data)) == 10000
"""


def test_a_later_tests_baseline_is_not_broken_by_an_earlier_tests_garbage(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The baseline of a small test written alone; in the whole suite the
    collector finalizes the event loops an earlier test left open while the
    small test runs.  asyncio's __del__ is not the small test's call."""
    project = Project(pytester, monkeypatch)
    project.write("test_loops.py", LOOPS_LEFT_OPEN)
    project.update("-k", "test_b_small", "-W", "ignore::ResourceWarning")
    result = project.run("--callflow", "-W", "ignore::ResourceWarning")
    assert failed_ids(result) == set(), text(result)
    assert "__del__" not in text(result)
    result.assert_outcomes(passed=2)


def test_recorded_the_earlier_tests_garbage_would_fail_the_later_test(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same run with the collector's calls recorded: the test above is
    no formality, asyncio's __del__ lands in the small test."""
    monkeypatch.setattr(testjudge, "SKIP_COLLECTOR", False)
    project = Project(pytester, monkeypatch)
    project.write("test_loops.py", LOOPS_LEFT_OPEN)
    project.update("-k", "test_b_small", "-W", "ignore::ResourceWarning")
    result = project.run("--callflow", "-W", "ignore::ResourceWarning")
    assert failed_ids(result) == {"test_loops.py::test_b_small"}, text(result)
    assert "BaseEventLoop.__del__" in text(result)
