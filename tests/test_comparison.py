"""compare_graphs: the original CallFlow Tracer's comparison shape, judged
by libcallflow's rule engine: the same work traced twice is no change, a
real slowdown and a call increase are found."""

import gc
import time
from pathlib import Path
from typing import Any, Dict

import pytest

import callflow_tracer
from callflow_tracer.comparison import compare_graphs as facade_compare
from cfutil import qn
from programs import layered, recursion, timed
from pytest_callflow import CallGraph, compare_graphs, trace_scope

FIB = qn(recursion.fib)

SUMMARY_KEYS = {"total_time_before", "total_time_after", "time_saved", "time_saved_pct",
                "nodes_before", "nodes_after", "nodes_added", "nodes_removed",
                "nodes_modified", "improvements", "regressions"}
ROW_KEYS = {"name", "status", "time_before", "time_after", "time_diff", "time_diff_pct",
            "calls_before", "calls_after", "calls_diff", "improvement"}


def work() -> None:
    """A real workload: loops, a call tree, recursion, calls into and back
    from another module; a few ms in all, below the 10 ms time floor, so
    that even a preemption in the middle of it is not taken for a change."""
    timed.root_work()
    layered.top(100)
    recursion.fib(12)


def step(delay: float) -> int:
    total = timed.spin(2000)
    if delay:
        time.sleep(delay)  # a C function: recorded neither way, only its time
    return total


def spin_then_fib(n: int) -> None:
    timed.spin(10)
    if n:
        recursion.fib(n)


def traced(fn: Any, *args: Any) -> CallGraph:
    # The collector stays out of the times compared here: after a long test
    # session its full collections take tens of ms under the sanitizers,
    # which would land in whichever function it interrupted.
    gc.collect()
    gc.disable()
    try:
        with trace_scope() as g:
            fn(*args)
    finally:
        gc.enable()
    return g


def row(result: Dict[str, Any], name: str) -> Dict[str, Any]:
    (found,) = [r for r in result["node_comparisons"] if r["name"] == name]
    return found


def statuses(result: Dict[str, Any]) -> Dict[str, str]:
    return {r["name"]: r["status"] for r in result["node_comparisons"]}


def test_the_same_work_traced_twice_is_no_change() -> None:
    traced(work)  # warm-up: first-run effects (caches, instrumentation) are not the code's
    clean, changed = 0, []
    for _ in range(5):
        before, after = traced(work), traced(work)
        result = compare_graphs(before, after)
        s = result["summary"]
        # Counts are deterministic: never a difference, whatever the machine does.
        assert (s["nodes_added"], s["nodes_removed"]) == (0, 0)
        assert s["nodes_before"] == s["nodes_after"] == len(before)
        assert all(r["calls_diff"] == 0 for r in result["node_comparisons"])
        assert [f for f in result["findings"] if f["kind"] != "time"
                and f["verdict"] != "note"] == []
        if (s["regressions"], s["improvements"], s["nodes_modified"]) == (0, 0, 0):
            assert set(statuses(result).values()) == {"unchanged"}
            assert result["top_regressions"] == [] and result["top_improvements"] == []
            assert not any(r["improvement"] for r in result["node_comparisons"])
            clean += 1
        else:
            changed.append([r for r in result["node_comparisons"] if r["status"] != "unchanged"])
    # Times are single traces: a stall of the machine (tens of ms under load,
    # more under the sanitizers) can push a pair past the floor; the noise
    # threshold keeps most clean (a broken one flags every pair).
    assert clean >= 3, changed


def test_a_real_slowdown_is_found() -> None:
    # 0.3 s: far beyond the 10 ms floor and beyond a stall of the fast run.
    fast, slow = traced(step, 0.0), traced(step, 0.3)
    result = compare_graphs(fast, slow, "fast", "slow")
    r = row(result, qn(step))
    assert r["status"] == "modified" and r["improvement"] is False
    assert r["calls_diff"] == 0 and r["time_after"] >= 0.3
    assert r["time_diff_pct"] > 50
    assert result["top_regressions"] == [r]
    assert result["summary"]["regressions"] == 1
    assert row(result, qn(timed.spin))["status"] == "unchanged"  # its time did not move
    (finding,) = [f for f in result["findings"] if f["verdict"] == "regression"]
    assert (finding["kind"], finding["function"]) == ("time", qn(step))
    assert result["summary"]["time_saved"] < 0 and result["summary"]["time_saved_pct"] < 0

    back = compare_graphs(slow, fast)
    r = row(back, qn(step))
    assert r["status"] == "modified" and r["improvement"] is True
    assert back["top_improvements"] == [r] and back["summary"]["regressions"] == 0
    assert back["summary"]["time_saved"] > 0


def test_a_call_increase_is_found() -> None:
    small, big = traced(recursion.fib, 10), traced(recursion.fib, 12)
    result = compare_graphs(small, big)
    r = row(result, FIB)
    assert (r["calls_before"], r["calls_after"], r["calls_diff"]) == (177, 465, 288)
    assert r["status"] == "modified" and r["improvement"] is False
    assert r in result["top_regressions"]
    kinds = {(f["kind"], f["verdict"]) for f in result["findings"]}
    assert ("calls", "regression") in kinds and ("total_calls", "regression") in kinds
    assert result["summary"]["calls_before"] == 177 and result["summary"]["calls_after"] == 465

    back = compare_graphs(big, small)
    r = row(back, FIB)
    assert r["status"] == "modified" and r["improvement"] is True
    assert r in back["top_improvements"] and back["summary"]["regressions"] == 0


def test_one_call_more_is_a_change_and_tolerances_apply() -> None:
    a, b = traced(layered.top, 10), traced(layered.top, 11)
    local = qn(layered.local)
    assert row(compare_graphs(a, b), local)["status"] == "modified"
    assert row(compare_graphs(b, a), local)["improvement"] is True
    assert row(compare_graphs(a, b, max_calls_increase=0.2), local)["status"] == "unchanged"
    assert row(compare_graphs(b, a, improvement_threshold=0.2), local)["status"] == "unchanged"
    result = compare_graphs(a, b, ignore=[local])
    assert row(result, local)["status"] == "unchanged"  # the engine never looked at it
    slow = traced(step, 0.08)
    assert row(compare_graphs(traced(step, 0.0), slow, time_floor_ms=1000.0),
               qn(step))["status"] == "unchanged"
    assert row(compare_graphs(traced(step, 0.0), slow, compare_time=False),
               qn(step))["status"] == "unchanged"


def test_added_and_removed_functions() -> None:
    a, b = traced(spin_then_fib, 0), traced(spin_then_fib, 3)
    result = compare_graphs(a, b)
    r = row(result, FIB)
    assert r["status"] == "added" and r["improvement"] is False
    assert (r["calls_before"], r["calls_after"], r["time_before"]) == (0, 5, 0.0)
    assert r["time_diff_pct"] == 100.0
    s = result["summary"]
    assert (s["nodes_added"], s["nodes_removed"], s["nodes_before"], s["nodes_after"]) == \
        (1, 0, 2, 3)
    back = compare_graphs(b, a)
    r = row(back, FIB)
    assert r["status"] == "removed" and r["improvement"] is False and r["time_diff_pct"] == -100.0
    assert back["summary"]["nodes_removed"] == 1
    # The work done through the new function still shows in the totals.
    assert ("total_calls", "regression") in {(f["kind"], f["verdict"]) for f in result["findings"]}


def test_the_result_has_the_original_shape() -> None:
    result = compare_graphs(traced(recursion.fib, 8), traced(recursion.fib, 9), "v1", "v2")
    assert {"label1", "label2", "summary", "node_comparisons", "top_improvements",
            "top_regressions"} <= set(result)
    assert (result["label1"], result["label2"]) == ("v1", "v2")
    assert SUMMARY_KEYS <= set(result["summary"])
    for r in result["node_comparisons"]:
        assert set(r) == ROW_KEYS
        assert r["status"] in ("added", "removed", "modified", "unchanged")
        assert isinstance(r["improvement"], bool)
        assert isinstance(r["calls_before"], int) and isinstance(r["time_diff"], float)
    diffs = [abs(r["time_diff"]) for r in result["node_comparisons"]]
    assert diffs == sorted(diffs, reverse=True)
    for f in result["findings"]:
        assert {"kind", "verdict", "function", "before", "after", "message"} <= set(f)


def test_graphs_read_back_from_files_compare_like_the_originals(tmp_path: Path) -> None:
    a, b = traced(recursion.fib, 10), traced(recursion.fib, 12)
    a.save(tmp_path / "a.json")
    b.save(tmp_path / "b.json")
    live = compare_graphs(a, b)
    loaded = compare_graphs(CallGraph.load(tmp_path / "a.json"), CallGraph.load(tmp_path / "b.json"))
    assert [(r["name"], r["status"], r["calls_diff"]) for r in loaded["node_comparisons"]] == \
        [(r["name"], r["status"], r["calls_diff"]) for r in live["node_comparisons"]]
    # Saved without times: counts still compare, times are simply absent.
    a.save(tmp_path / "a0.json", times=False)
    b.save(tmp_path / "b0.json", times=False)
    bare = compare_graphs(CallGraph.load(tmp_path / "a0.json"), CallGraph.load(tmp_path / "b0.json"))
    r = row(bare, FIB)
    assert (r["status"], r["calls_diff"], r["time_before"]) == ("modified", 288, 0.0)


def test_bad_arguments_are_named() -> None:
    g = traced(recursion.fib, 3)
    with pytest.raises(TypeError, match="graph2: expected a CallGraph"):
        compare_graphs(g, {"nodes": []})
    with pytest.raises(ValueError, match="time_threshold"):
        compare_graphs(g, g, time_threshold=-1.0)
    with pytest.raises(ValueError, match="time_floor_ms"):
        compare_graphs(g, g, time_floor_ms=float("nan"))
    with pytest.raises(TypeError, match="ignore"):
        compare_graphs(g, g, ignore="pkg.mod:")


# ---------------------------------------------------------------------------
# the callflow_tracer facade


def facade_traced(n: int) -> callflow_tracer.CallGraph:
    with callflow_tracer.trace_scope() as g:
        recursion.fib(n)
    return g


def test_facade_names_are_the_originals_full_names() -> None:
    a, b = facade_traced(10), facade_traced(12)
    result = callflow_tracer.compare_graphs(a, b)
    (r,) = [r for r in result["node_comparisons"] if r["name"] in b.nodes]
    assert r["name"] == "programs.recursion.fib"
    assert (r["status"], r["calls_diff"], r["improvement"]) == ("modified", 288, False)
    assert result["top_regressions"][0]["name"] == "programs.recursion.fib"
    assert result["graph1_data"] == a.to_dict() and result["graph2_data"] == b.to_dict()


def test_facade_accepts_either_kind_of_graph_and_original_json() -> None:
    a, b = facade_traced(10), traced(recursion.fib, 12)
    mixed = facade_compare(a, b)
    assert row(mixed, "programs.recursion.fib")["calls_diff"] == 288
    core_only = facade_compare(a.callflow_graph, b)
    assert row(core_only, FIB)["calls_diff"] == 288  # no facade graph: module:qualname
    # Rebuilt from the original's JSON: no context tree, still comparable.
    old = callflow_tracer.CallGraph.from_dict(a.to_dict())
    new = callflow_tracer.CallGraph.from_dict(facade_traced(12).to_dict())
    assert old.callflow_graph is None
    result = facade_compare(old, new)
    r = row(result, "programs.recursion.fib")
    assert (r["status"], r["calls_before"], r["calls_after"]) == ("modified", 177, 465)
    same = facade_compare(old, callflow_tracer.CallGraph.from_dict(a.to_dict()))
    assert same["summary"]["nodes_modified"] == 0 and same["summary"]["regressions"] == 0
    with pytest.raises(TypeError, match="graph1: expected a callflow_tracer or pytest_callflow"):
        facade_compare([], b)


def test_facade_comparison_html(tmp_path: Path) -> None:
    pytest.importorskip("pytest_callflow.html", reason="the HTML reports are not built yet")
    out = tmp_path / "cmp.html"
    callflow_tracer.export_comparison_html(facade_traced(10), facade_traced(12), out,
                                           label1="old <b>", label2="new")
    text = out.read_text()
    assert text.lstrip().lower().startswith("<!doctype html")
    assert "old <b>" not in text  # the label is escaped wherever it is shown
