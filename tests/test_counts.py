"""Exact call counts on programs whose counts are known."""

import os
import subprocess
import sys
import traceback

import pytest

from cfutil import counts, edge_counts, names, qn
from programs import errors, recursion, workers
from pytest_callflow import trace_scope

FIB = qn(recursion.fib)


def test_fib_20_counts_every_call_and_edge() -> None:
    with trace_scope() as g:
        result = recursion.fib(20)
    assert result == 6765
    assert g.calls(FIB) == 21891
    assert g.edge_calls(FIB, FIB) == 21890
    assert g.function(FIB).calls == 21891


def test_graph_holds_only_what_the_block_called() -> None:
    # Neither the tracer's own frames nor contextlib's appear.
    with trace_scope() as g:
        recursion.fib(10)
    assert names(g) == {FIB}
    assert g.total_calls == 177


def test_total_calls_is_the_sum_over_functions() -> None:
    with trace_scope() as g:
        recursion.fib(12)
        recursion.is_even(7)
    assert g.total_calls == sum(f.calls for f in g.functions())
    assert g.total_calls == 465 + 4 + 4


def test_absent_names_count_zero() -> None:
    with trace_scope() as g:
        recursion.fib(3)
    assert g.calls("no.such.module:nothing") == 0
    assert g.edge_calls(FIB, "no.such.module:nothing") == 0
    assert g.edge_calls("no.such.module:nothing", FIB) == 0


def test_mutual_recursion_counts_both_functions_and_edges() -> None:
    even, odd = qn(recursion.is_even), qn(recursion.is_odd)
    with trace_scope() as g:
        assert recursion.is_even(10) is True
        assert recursion.is_odd(7) is True
    # is_even(10): is_even at 10,8,..,0 (6), is_odd at 9,..,1 (5).
    # is_odd(7): is_odd at 7,5,3,1 (4), is_even at 6,4,2,0 (4).
    assert g.calls(even) == 10
    assert g.calls(odd) == 9
    assert g.edge_calls(even, odd) == 5 + 3
    assert g.edge_calls(odd, even) == 5 + 4
    assert g.edge_calls(even, even) == 0
    assert g.edge_calls(odd, odd) == 0


def test_exception_through_three_frames() -> None:
    exc = errors.Boom("boom")
    with trace_scope() as g:
        with pytest.raises(errors.Boom) as info:
            errors.level1(exc)
    assert info.value is exc
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert frames[-3:] == ["level1", "level2", "level3"]
    for fn in (errors.level1, errors.level2, errors.level3):
        assert g.calls(qn(fn)) == 1
    assert g.edge_calls(qn(errors.level1), qn(errors.level2)) == 1
    assert g.edge_calls(qn(errors.level2), qn(errors.level3)) == 1


def test_traceback_is_the_same_with_and_without_tracing() -> None:
    def run() -> traceback.StackSummary:
        try:
            errors.level1(errors.Boom("x"))
        except errors.Boom as e:
            return traceback.extract_tb(e.__traceback__)
        raise AssertionError("no exception")

    plain = run()
    with trace_scope():
        traced = run()
    key = [(f.filename, f.lineno, f.name) for f in plain]
    assert [(f.filename, f.lineno, f.name) for f in traced] == key


def test_finally_and_caught_exceptions_count_once_per_call() -> None:
    log: list = []
    with trace_scope() as g:
        with pytest.raises(errors.Boom):
            errors.with_finally(errors.Boom(), log)
        assert errors.swallow(100) == 100
    assert log == ["cleanup"]
    assert g.calls(qn(errors.with_finally)) == 1
    assert g.calls(qn(errors.cleanup)) == 1
    assert g.calls(qn(errors.level1)) == 1
    assert g.calls(qn(errors.level3)) == 101
    assert g.edge_calls(qn(errors.swallow), qn(errors.level3)) == 100
    # The graph goes on counting correctly after the unwinds.
    with trace_scope() as g2:
        recursion.fib(5)
    assert counts(g2) == {FIB: 15}


def test_recursion_5000_deep(recursion_limit) -> None:
    recursion_limit(sys.getrecursionlimit() + 5200)
    with trace_scope() as g:
        assert recursion.countdown(5000) == 5000
    name = qn(recursion.countdown)
    assert g.calls(name) == 5001
    assert g.edge_calls(name, name) == 5000


def test_recursion_error_depth_is_unchanged_by_tracing(recursion_limit) -> None:
    recursion_limit(2000)
    plain = recursion.max_depth()
    with trace_scope() as g:
        traced = recursion.max_depth()
    again = recursion.max_depth()
    assert plain == again  # the measure itself is stable
    assert traced == plain
    assert plain > 1500
    # Every frame whose body ran is counted; the frame refused by the
    # limit may or may not be.
    assert g.calls(qn(recursion.probe)) in (traced, traced + 1)
    assert g.calls(qn(recursion.max_depth)) == 1


def test_threads_started_inside_the_scope_are_counted() -> None:
    with trace_scope() as g:
        results = workers.run_threads(4, 2000)
    expected = sum(2 * i for i in range(2000))
    assert results == [expected] * 4
    assert g.calls(qn(workers.work)) == 4
    assert g.calls(qn(workers.leaf)) == 4 * 2000
    assert g.edge_calls(qn(workers.work), qn(workers.leaf)) == 4 * 2000
    assert g.calls(qn(workers.run_threads)) == 1


def test_threads_running_before_the_scope_are_not_traced() -> None:
    # The binding traces the thread that opens a scope and threads created
    # while it runs; a thread that already existed is not part of it.
    import threading

    go, done = threading.Event(), threading.Event()

    def background() -> None:
        go.wait(10)
        workers.work(50)
        done.set()

    t = threading.Thread(target=background)
    t.start()
    try:
        with trace_scope() as g:
            go.set()
            assert done.wait(10)
            workers.work(3)
    finally:
        go.set()
        t.join()
    assert g.calls(qn(workers.work)) == 1
    assert g.calls(qn(workers.leaf)) == 3


def test_edges_iterate_with_counts() -> None:
    with trace_scope() as g:
        recursion.is_even(4)
    even, odd = qn(recursion.is_even), qn(recursion.is_odd)
    assert edge_counts(g) == {(even, odd): 2, (odd, even): 2}


# Deeper than the C stack holds once every call runs on it (the PEP 523
# hook of 3.9-3.11), though the interpreter alone (3.11+) keeps Python
# calls off it: a raised recursion limit must work traced as untraced.
DEEP_PROGRAM = """
import os, sys, threading
sys.setrecursionlimit(60000)
sys.path.insert(0, {tests!r})
from programs.recursion import countdown
out = []
def run():
    if {traced}:
        from pytest_callflow import trace_scope
        with trace_scope() as graph:
            value = countdown(40000)
        out.append((value, graph.calls(countdown)))
    else:
        out.append((countdown(40000), 40001))
run()
worker = threading.Thread(target=run)
worker.start()
worker.join()
print(out)
"""


def run_deep(traced: bool) -> "subprocess.CompletedProcess[str]":
    tests = os.path.dirname(os.path.abspath(__file__))
    code = DEEP_PROGRAM.format(tests=tests, traced=traced)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_recursion_deeper_than_the_c_stack_runs_as_untraced() -> None:
    untraced = run_deep(False)
    if untraced.returncode != 0:  # 3.9/3.10 run Python calls on the C stack
        pytest.skip("this interpreter cannot recurse 40,000 deep untraced")
    traced = run_deep(True)
    assert traced.returncode == 0, traced.stderr[-2000:]
    assert traced.stdout == untraced.stdout == "[(40000, 40001), (40000, 40001)]\n"


MEMORY_PROGRAM = """
import sys
sys.setrecursionlimit(200000)
sys.path.insert(0, {tests!r})
from programs.recursion import countdown
from pytest_callflow import trace_scope
def resident_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
with trace_scope() as graph:
    countdown(1000)
    before = resident_mb()
    countdown(150000)
    after = resident_mb()
print(graph.calls(countdown), round(after - before))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.skipif(sys.version_info >= (3, 12),
                    reason="sys.monitoring: no frame hook, no C stack segments to give back")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="under AddressSanitizer the resident size measures its quarantine")
def test_deep_recursion_gives_its_c_stack_back() -> None:
    # 150,000 frames deep: about 85 MB of C stack where every call runs on
    # it (3.9-3.11); the segments beyond the first go when it returns.  What
    # stays: the graph's 150,000 distinct paths (about 20 MB, as on 3.12+),
    # the thread's own 8 MB stack and at most the first 16 MB segment.
    tests = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([sys.executable, "-c", MEMORY_PROGRAM.format(tests=tests)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0 and sys.version_info < (3, 11):
        pytest.skip("3.9/3.10 run 150,000 Python calls deep on the C stack: no room untraced")
    assert done.returncode == 0, done.stderr[-2000:]
    calls, grown_mb = map(int, done.stdout.split())
    assert calls == 151002
    assert grown_mb < 60, f"{grown_mb} MB kept after the recursion returned"


GREENLET_PROGRAM = """
import sys
sys.setrecursionlimit(100000)
import greenlet
from pytest_callflow import trace_scope
def down(n, fn):
    return fn() if n == 0 else down(n - 1, fn)
main = greenlet.getcurrent()
def deep_then_switch():
    try:
        return down(30000, lambda: main.switch("deep") + 1)
    except RecursionError:
        return "refused"
with trace_scope():
    worker = greenlet.greenlet(deep_then_switch)
    first = worker.switch()
    print(first, worker.switch(41) if first == "deep" else "")
"""


def test_greenlets_going_deep_never_crash_the_process() -> None:
    # A greenlet switch copies the C stack it believes it runs on: the frame
    # hook (3.9-3.11) must not have moved it to a segment.  Refused there
    # with RecursionError, as before segments; 3.12+ has no frame hook.
    pytest.importorskip("greenlet")
    done = subprocess.run([sys.executable, "-c", GREENLET_PROGRAM], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = "deep 42" if sys.version_info >= (3, 12) else "refused"
    assert done.stdout.split() == expected.split()
