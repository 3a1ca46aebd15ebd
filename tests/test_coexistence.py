"""Tracing changes nothing about the traced program, and other tools that
hook the interpreter (trace and profile functions, coverage.py, cProfile,
other sys.monitoring tools) go on working while it runs."""

import cProfile
import os
import pstats
import sys
from types import FrameType
from typing import Any, Dict, List, Optional

import pytest

from cfutil import qn
from programs import cov_target, recursion, workers
from pytest_callflow import trace_scope

FIB = qn(recursion.fib)


def test_trace_and_profile_functions_are_unchanged_by_a_scope() -> None:
    before = (sys.gettrace(), sys.getprofile())
    with trace_scope():
        recursion.fib(5)
    assert (sys.gettrace(), sys.getprofile()) == before


def _counting_hook(seen: List[str]) -> Any:
    def hook(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is workers.work.__code__:
            seen.append(event)
        return None

    return hook


@pytest.mark.parametrize("kind", ["settrace", "setprofile"])
def test_a_trace_or_profile_function_set_before_keeps_working(kind: str) -> None:
    getter, setter = {
        "settrace": (sys.gettrace, sys.settrace),
        "setprofile": (sys.getprofile, sys.setprofile),
    }[kind]
    original = getter()
    seen: List[str] = []
    hook = _counting_hook(seen)
    setter(hook)
    try:
        with trace_scope() as g:
            workers.work(5)
            workers.work(5)
        during = len(seen)
        after_scope = getter()
    finally:
        setter(original)
    assert after_scope is hook
    assert during == 2
    assert g.calls(qn(workers.work)) == 2
    assert g.calls(qn(workers.leaf)) == 10


def _fib_ncalls(profile: cProfile.Profile) -> int:
    stats: Dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    for (filename, _line, funcname), row in stats.items():
        if funcname == "fib" and filename == recursion.__file__:
            return int(row[1])
    return 0


def test_cprofile_around_a_scope_still_profiles() -> None:
    profile = cProfile.Profile()
    profile.enable()
    try:
        with trace_scope() as g:
            recursion.fib(15)
    finally:
        profile.disable()
    assert _fib_ncalls(profile) == 1973
    assert g.calls(FIB) == 1973


def test_cprofile_inside_a_scope_still_profiles() -> None:
    profile = cProfile.Profile()
    with trace_scope() as g:
        profile.enable()
        try:
            recursion.fib(15)
        finally:
            profile.disable()
        recursion.fib(3)
    assert _fib_ncalls(profile) == 1973
    assert g.calls(FIB) == 1973 + 5


def _marked_lines(module: Any) -> Dict[str, int]:
    with open(module.__file__) as f:
        lines = f.read().splitlines()
    return {
        line.split("# LINE:")[1].strip(): i
        for i, line in enumerate(lines, start=1)
        if "# LINE:" in line
    }


CORES = ["ctrace", "pytrace", "sysmon"]


def _coverage(core: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    import coverage

    if core == "sysmon" and sys.version_info < (3, 12):
        pytest.skip("coverage's sys.monitoring core needs Python 3.12+")
    monkeypatch.setenv("COVERAGE_CORE", core)
    return coverage.Coverage(data_file=None, include=[cov_target.__file__])


def _covered(cov: Any) -> List[int]:
    data = cov.get_data()
    for measured in data.measured_files():
        if os.path.samefile(measured, cov_target.__file__):
            return sorted(data.lines(measured) or [])
    return []


@pytest.mark.parametrize("core", CORES)
def test_coverage_around_a_scope_still_measures(
    core: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cov = _coverage(core, monkeypatch)
    cov.start()
    try:
        with trace_scope() as g:
            assert cov_target.branchy(1) == "pos"
        # The scope is closed; coverage must still see new lines.
        assert cov_target.branchy(-1) == "neg"
    finally:
        cov.stop()
    marks = _marked_lines(cov_target)
    lines = _covered(cov)
    assert marks["pos"] in lines
    assert marks["neg"] in lines
    assert g.calls(qn(cov_target.branchy)) == 1


@pytest.mark.parametrize("core", CORES)
def test_coverage_inside_a_scope_still_measures(
    core: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cov = _coverage(core, monkeypatch)
    with trace_scope() as g:
        cov.start()
        try:
            assert cov_target.branchy(1) == "pos"
            assert cov_target.branchy(-1) == "neg"
        finally:
            cov.stop()
        cov_target.branchy(2)
    marks = _marked_lines(cov_target)
    lines = _covered(cov)
    assert marks["pos"] in lines
    assert marks["neg"] in lines
    assert g.calls(qn(cov_target.branchy)) == 3


@pytest.mark.parametrize("core", CORES)
def test_coverage_sees_code_the_scope_leaves_out(
    core: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tracer switches off out-of-scope code for itself; coverage.py must
    # still see every line of it, during and after the scope.  other_branchy
    # runs below cov_target.apply (a leaf at most), so the scope leaves it out.
    cov = _coverage(core, monkeypatch)
    cov.start()
    try:
        with trace_scope(scope=[recursion.__name__]) as g:
            recursion.fib(4)
            assert cov_target.apply(cov_target.other_branchy, 1) == "pos"
        cov_target.other_branchy(-1)
    finally:
        cov.stop()
    marks = _marked_lines(cov_target)
    lines = _covered(cov)
    assert marks["other-pos"] in lines
    assert marks["other-neg"] in lines
    assert g.calls(qn(cov_target.other_branchy)) == 0
    assert g.calls(FIB) == 9


def _tools() -> List[Optional[str]]:
    return [sys.monitoring.get_tool(i) for i in range(6)]  # type: ignore[attr-defined]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_monitoring_tool_ids_in_use_are_left_alone() -> None:
    monitoring = sys.monitoring  # type: ignore[attr-defined]
    before = _tools()
    occupied = [i for i, name in enumerate(before) if name is None][0]
    monitoring.use_tool_id(occupied, "cf-test-occupant")
    try:
        with trace_scope() as outer:
            with trace_scope() as inner:
                during = _tools()
                recursion.fib(5)
        after = _tools()
    finally:
        monitoring.free_tool_id(occupied)
    assert during[occupied] == "cf-test-occupant"
    taken = [i for i in range(6) if during[i] != before[i] and i != occupied]
    assert len(taken) <= 1  # nested scopes share one tool id
    expected_after = list(before)
    expected_after[occupied] = "cf-test-occupant"
    assert after == expected_after
    assert inner.calls(FIB) == outer.calls(FIB) == 15


def test_return_values_and_exceptions_pass_through_unchanged() -> None:
    class Marker(Exception):
        pass

    marker = Marker("m")

    def raiser() -> None:
        raise marker

    with trace_scope():
        assert recursion.fib(10) == 55
        assert workers.run_threads(2, 10) == [90, 90]
        with pytest.raises(Marker) as info:
            raiser()
    assert info.value is marker


def test_an_exception_in_the_block_propagates_and_the_graph_is_kept() -> None:
    err = KeyError("k")
    with pytest.raises(KeyError) as info:
        with trace_scope() as g:
            recursion.fib(6)
            raise err
    assert info.value is err
    assert g.calls(FIB) == 25


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
@pytest.mark.parametrize("kind", ["dispatch", "clock", "minimal"])
def test_floor_callbacks_run_beside_a_scope_and_change_nothing(kind: str) -> None:
    """bench/floor.py's callbacks (the dispatch floor, and its minimal
    recorder) sit on their own tool id; the program and a callflow scope
    running at the same time see the same results, and the minimal recorder
    counts what it saw."""
    from pytest_callflow import _native

    mon = sys.monitoring
    tool = next(t for t in (5, 3, 4) if mon.get_tool(t) is None)
    mon.use_tool_id(tool, "floor-test")
    try:
        if kind == "minimal":
            _native.floor_reset()
            start, end = _native.floor_callback("enter"), _native.floor_callback("leave")
        else:
            start = end = _native.floor_callback(kind)
        assert start(recursion.fib.__code__, 0) is None
        assert end(recursion.fib.__code__, 0, None) is None
        mon.register_callback(tool, mon.events.PY_START, start)
        mon.register_callback(tool, mon.events.PY_RETURN, end)
        if kind == "minimal":
            _native.floor_reset()  # the two calls above were not a program
        mon.set_events(tool, mon.events.PY_START | mon.events.PY_RETURN)
        with trace_scope() as graph:
            assert recursion.fib(15) == 610
        assert graph.calls(FIB) == 1973
        mon.set_events(tool, 0)
        if kind == "minimal":
            assert _native.floor_calls(recursion.fib.__code__) == 1973
    finally:
        mon.set_events(tool, 0)
        mon.register_callback(tool, mon.events.PY_START, None)
        mon.register_callback(tool, mon.events.PY_RETURN, None)
        mon.free_tool_id(tool)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_floor_minimal_recorder_counts_resumptions_as_calls_and_refuses_bad_kinds() -> None:
    """The minimal recorder is cProfile-like for generators (each resumption
    a call, each yield a leave), keeps to its own frames when events began
    before its reset, and floor_callback names its kinds."""
    from pytest_callflow import _native

    def gen():
        for i in range(3):
            yield i

    mon = sys.monitoring
    ev = mon.events
    tool = next(t for t in (5, 3, 4) if mon.get_tool(t) is None)
    mon.use_tool_id(tool, "floor-test")
    enter, leave = _native.floor_callback("enter"), _native.floor_callback("leave")
    events = {"PY_START": enter, "PY_RESUME": enter, "PY_RETURN": leave, "PY_YIELD": leave}
    try:
        for name, cb in events.items():
            mon.register_callback(tool, getattr(ev, name), cb)
        _native.floor_reset()
        mon.set_events(tool, ev.PY_START | ev.PY_RESUME | ev.PY_RETURN | ev.PY_YIELD)
        assert list(gen()) == [0, 1, 2]
        mon.set_events(tool, 0)
        assert _native.floor_calls(gen.__code__) == 4  # a start and three resumptions
    finally:
        mon.set_events(tool, 0)
        for name in events:
            mon.register_callback(tool, getattr(ev, name), None)
        mon.free_tool_id(tool)
    with pytest.raises(ValueError, match="unknown kind 'noop'"):
        _native.floor_callback("noop")
    with pytest.raises(TypeError, match="must be a str"):
        _native.floor_callback(True)
    with pytest.raises(TypeError, match="code object"):
        _native.floor_calls(gen)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="before sys.monitoring")
def test_floor_callback_says_it_needs_3_12() -> None:
    from pytest_callflow import _native

    with pytest.raises(NotImplementedError, match="3.12"):
        _native.floor_callback("dispatch")
