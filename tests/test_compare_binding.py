"""The rule engine through the binding: _native.compare, check_budgets and
findings_json on graphs recorded by trace_scope."""

import json
from typing import Any, Callable, Dict, List, Tuple

import pytest

from cfutil import qn
from programs import recursion
from pytest_callflow import _native, trace_scope

FIB = qn(recursion.fib)
EVEN, ODD = qn(recursion.is_even), qn(recursion.is_odd)


def record(*calls: Tuple[Callable[[int], Any], int]) -> "_native.Graph":
    """The graph of the given (function, argument) calls, made directly in
    the scope so that nothing else (no lambda) is recorded."""
    with trace_scope() as g:
        for fn, arg in calls:
            fn(arg)
    return g.to_native()


def summary(findings: List[Dict[str, Any]]) -> List[tuple]:
    return [
        (f["verdict"], f["kind"], f["function"], f["callee"], f["before"], f["after"])
        for f in findings
    ]


def test_more_calls_are_a_regression_naming_the_function() -> None:
    base, cur = record((recursion.fib, 10)), record((recursion.fib, 12))
    findings = _native.compare(base, cur)
    assert summary(findings) == [
        ("regression", "calls", FIB, None, 177.0, 465.0),
        ("regression", "total_calls", None, None, 177.0, 465.0),
        ("note", "edge_calls", FIB, FIB, 176.0, 464.0),
    ]
    assert set(findings[0]) == {"kind", "verdict", "function", "callee", "before", "after"}
    assert isinstance(findings[0]["before"], float)


def test_same_work_gives_no_findings_even_when_strict() -> None:
    base, cur = record((recursion.fib, 10)), record((recursion.fib, 10))
    assert _native.compare(base, cur, strict=True) == []


def test_tolerance_and_improvements() -> None:
    small, big = record((recursion.fib, 10)), record((recursion.fib, 12))
    # 177 -> 465 is +163%: within a 200% tolerance, beyond 150%.
    assert _native.compare(small, big, max_calls_increase=2.0) == []
    assert _native.compare(small, big, max_calls_increase=1.5) != []
    assert _native.compare(small, big, calls_slack=288) == []
    assert summary(_native.compare(big, small)) == [
        ("improvement", "calls", FIB, None, 465.0, 177.0),
        ("improvement", "total_calls", None, None, 465.0, 177.0),
        ("note", "edge_calls", FIB, FIB, 464.0, 176.0),
    ]
    assert _native.compare(big, small, improvement_threshold=0.7) == []


def test_new_code_is_a_note_unless_strict_and_counts_can_be_warnings() -> None:
    base = record((recursion.fib, 5))
    cur = record((recursion.fib, 5), (recursion.is_even, 3))
    loose = summary(_native.compare(base, cur))
    assert loose == [
        ("regression", "total_calls", None, None, 15.0, 19.0),
        ("note", "new_function", EVEN, None, 0.0, 2.0),
        ("note", "new_function", ODD, None, 0.0, 2.0),
        ("note", "new_edge", EVEN, ODD, 0.0, 2.0),
        ("note", "new_edge", ODD, EVEN, 0.0, 1.0),
    ]
    strict = summary(_native.compare(base, cur, strict=True))
    assert [f[0] for f in strict] == ["regression"] * 5
    warned = summary(_native.compare(base, cur, strict=True, counts_are_warnings=True))
    assert [f[0] for f in warned] == ["warning"] * 5
    gone = summary(_native.compare(cur, base, strict=True))
    assert ("regression", "gone_function", EVEN, None, 2.0, 0.0) in gone


def test_ignore_by_name_and_module_prefix() -> None:
    base = record((recursion.fib, 5))
    cur = record((recursion.fib, 7), (recursion.is_even, 3))
    assert _native.compare(base, cur, strict=True, ignore=["programs.recursion:"]) == []
    assert _native.compare(base, cur, strict=True, ignore=("programs.",)) == []
    only_fib = _native.compare(base, cur, strict=True, ignore=[EVEN, ODD])
    assert summary(only_fib) == [
        ("regression", "calls", FIB, None, 15.0, 41.0),
        ("regression", "total_calls", None, None, 15.0, 41.0),
        ("note", "edge_calls", FIB, FIB, 14.0, 40.0),
    ]
    with pytest.raises(TypeError):
        _native.compare(base, cur, ignore="programs.")


def test_time_needs_times_on_both_sides() -> None:
    fast = record((recursion.fib, 5))
    slow = record((recursion.fib, 18))
    kw: Dict[str, Any] = dict(compare_time=True, time_floor_ns=0, time_threshold=0.0,
                              max_calls_increase=float("inf"))
    times = [f for f in _native.compare(fast, slow, **kw) if f["kind"] == "time"]
    assert len(times) == 1
    assert times[0]["verdict"] == "regression" and times[0]["function"] == FIB
    assert 0 < times[0]["before"] < times[0]["after"] < 10  # seconds
    # A baseline written without times carries no time data: no time rule.
    no_times = _native.Graph.loads(fast.dumps(times=False))
    assert [f for f in _native.compare(no_times, slow, **kw) if f["kind"] == "time"] == []
    # Off by default; a huge floor hides everything.
    assert [f for f in _native.compare(fast, slow) if f["kind"] == "time"] == []
    kw["time_floor_ns"] = 10**15
    assert [f for f in _native.compare(fast, slow, **kw) if f["kind"] == "time"] == []


def test_check_budgets() -> None:
    g = record((recursion.fib, 10))
    assert summary(_native.check_budgets(g, {FIB: 176, "no.such:fn": 0})) == [
        ("regression", "budget", FIB, None, 176.0, 177.0)
    ]
    assert _native.check_budgets(g, {FIB: 177}) == []
    assert _native.check_budgets(g, {}) == []
    with pytest.raises(ValueError):
        _native.check_budgets(g, {FIB: -1})
    with pytest.raises(TypeError):
        _native.check_budgets(g, {FIB: 1.5})


def test_findings_json_round_trips() -> None:
    base, cur = record((recursion.fib, 10)), record((recursion.fib, 12))
    findings = _native.compare(base, cur)
    doc = json.loads(_native.findings_json(findings))
    assert doc == {
        "findings": [
            {"kind": "calls", "verdict": "regression", "function": FIB, "callee": None,
             "before": 177, "after": 465},
            {"kind": "total_calls", "verdict": "regression", "function": None,
             "callee": None, "before": 177, "after": 465},
            {"kind": "edge_calls", "verdict": "note", "function": FIB, "callee": FIB,
             "before": 176, "after": 464},
        ]
    }
    assert json.loads(_native.findings_json([])) == {"findings": []}
    with pytest.raises(ValueError, match="unknown kind"):
        _native.findings_json([dict(findings[0], kind="bogus")])
    with pytest.raises(TypeError):
        _native.findings_json([dict(findings[0], before="1")])


def test_policy_is_keyword_only_and_validated() -> None:
    g = record((recursion.fib, 3))
    with pytest.raises(TypeError):
        _native.compare(g, g, 0.1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        _native.compare(g, "not a graph")  # type: ignore[arg-type]
    for bad in ({"max_calls_increase": -0.1}, {"calls_slack": -1},
                {"improvement_threshold": float("nan")}, {"time_floor_ns": -1}):
        with pytest.raises(ValueError):
            _native.compare(g, g, **bad)
