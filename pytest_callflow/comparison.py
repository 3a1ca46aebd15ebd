"""Comparison mode: two call graphs side by side, in the shape of the
original CallFlow Tracer's ``compare_graphs``, judged by libcallflow's rule
engine (the one the gate uses) so that noise is not called a change.

Per function (``node_comparisons``), ``status`` is

- ``"added"``: called in the second graph only;
- ``"removed"``: called in the first graph only;
- ``"modified"``: called in both, and the engine found its calls or its
  inclusive time changed: calls rose or fell (calls are deterministic:
  any change counts by default), or the time moved by more than the noise
  threshold (``time_threshold``, a fraction) *and* the noise floor
  (``time_floor_ms``);
- ``"unchanged"``: called in both, no change beyond the tolerances (by
  default: the same calls, the time within the noise); ignored functions
  are always unchanged.

``improvement`` is True for a "modified" function whose every change is
for the better (fewer calls, faster), False otherwise: a "modified"
function that is not an improvement is a regression.  Added and removed
functions are neither (their work shows in the totals).  The engine's
findings themselves are under ``"findings"``."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Set, Tuple

from . import _native
from .gate import CallerChains, finding_record
from .graph import CallGraph, untraced

__all__ = ["compare_graphs", "STATUSES"]

STATUSES = ("added", "removed", "modified", "unchanged")

_TOP = 10


def as_callgraph(graph: Any, what: str = "graph") -> CallGraph:
    """A pytest_callflow ``CallGraph`` from one, or from a callflow_tracer
    graph filled by the tracer (its ``callflow_graph``)."""
    if isinstance(graph, CallGraph):
        return graph.snapshot()
    core = getattr(graph, "callflow_graph", None)
    if isinstance(core, CallGraph):
        return core.snapshot()
    raise TypeError(f"{what}: expected a CallGraph (pytest_callflow or callflow_tracer), "
                    f"got {type(graph).__name__}")


def _pct(diff: float, before: float) -> float:
    return diff / before * 100.0 if before > 0 else 0.0


def compare_graphs(graph1: Any, graph2: Any, label1: str = "Before", label2: str = "After", *,
                   compare_time: bool = True, time_threshold: float = 0.5,
                   time_floor_ms: float = 10.0, max_calls_increase: float = 0.0,
                   improvement_threshold: float = 0.0,
                   ignore: Sequence[str] = ()) -> Dict[str, Any]:
    """Compare ``graph1`` (before) with ``graph2`` (after).

    Returns ``{label1, label2, summary, node_comparisons, top_improvements,
    top_regressions, findings}``; times in seconds.  ``node_comparisons`` is
    sorted by the size of the time change, largest first (then by name);
    the top lists hold up to 10 of them.  The tolerances are the gate's:
    ``max_calls_increase`` (fraction of calls a function may gain; default
    0, any rise), ``improvement_threshold`` (fraction of calls it must lose
    to count as better; default 0, any drop), ``time_threshold`` and
    ``time_floor_ms`` (a time change must exceed both), ``ignore``
    (function names or module prefixes ending in ":" or ".").

    The time floor is 10 ms, not the gate's 1 ms: the gate compares times
    over repeated runs of a test, while here each side is one trace, and a
    trace of the same work can take several milliseconds more or less
    (preemptions, page faults) on a machine that is doing anything else:
    measured on a 2-core machine under a load of 4, a 1 ms floor called 46
    of 80 identical pairs of a 8 ms workload changed, 5 ms 10, 10 ms none.
    No floor helps when the whole machine slows down by more than
    ``time_threshold``: compare times on a quiet machine."""
    g1, g2 = as_callgraph(graph1, "graph1"), as_callgraph(graph2, "graph2")
    with untraced():
        return _compare(g1, g2, label1, label2, compare_time=compare_time,
                        time_threshold=time_threshold, time_floor_ms=time_floor_ms,
                        max_calls_increase=max_calls_increase,
                        improvement_threshold=improvement_threshold, ignore=ignore)


def _compare(g1: CallGraph, g2: CallGraph, label1: str, label2: str, *, compare_time: bool,
             time_threshold: float, time_floor_ms: float, max_calls_increase: float,
             improvement_threshold: float, ignore: Sequence[str]) -> Dict[str, Any]:
    if isinstance(ignore, str):
        raise TypeError("ignore must be a list of names, not a str")
    if not time_floor_ms >= 0:  # also NaN
        raise ValueError(f"time_floor_ms must be >= 0, got {time_floor_ms!r}")
    findings = list(_native.compare(
        g1._view().graph, g2._view().graph,
        max_calls_increase=max_calls_increase,
        improvement_threshold=improvement_threshold,
        compare_time=compare_time,
        time_threshold=time_threshold,
        time_floor_ns=int(round(time_floor_ms * 1e6)),
        ignore=list(ignore),
    ))
    verdicts: Dict[str, Set[str]] = {}
    for f in findings:
        if f["kind"] in ("calls", "time") and f["function"] is not None:
            verdicts.setdefault(f["function"], set()).add(f["verdict"])

    before = {f.name: f for f in g1.functions() if f.calls > 0}
    after = {f.name: f for f in g2.functions() if f.calls > 0}
    rows: List[Dict[str, Any]] = []
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name), after.get(name)
        t_before = b.total_time if b else 0.0
        t_after = a.total_time if a else 0.0
        c_before = b.calls if b else 0
        c_after = a.calls if a else 0
        diff = t_after - t_before
        if b is None:
            status, pct, better = "added", 100.0, False
        elif a is None:
            status, pct, better = "removed", -100.0, False
        else:
            seen = verdicts.get(name, set())
            changed = bool(seen & {"regression", "improvement"})
            status = "modified" if changed else "unchanged"
            better = changed and seen <= {"improvement", "note"}
            pct = _pct(diff, t_before)
        rows.append({
            "name": name,
            "status": status,
            "time_before": t_before,
            "time_after": t_after,
            "time_diff": diff,
            "time_diff_pct": pct,
            "calls_before": c_before,
            "calls_after": c_after,
            "calls_diff": c_after - c_before,
            "improvement": better,
        })
    rows.sort(key=_order)
    improvements = [r for r in rows if r["improvement"]]
    regressions = [r for r in rows if r["status"] == "modified" and not r["improvement"]]
    total_before, total_after = g1.duration, g2.duration
    saved = total_before - total_after
    chains = CallerChains(g2)
    return {
        "label1": label1,
        "label2": label2,
        "summary": {
            "total_time_before": total_before,
            "total_time_after": total_after,
            "time_saved": saved,
            "time_saved_pct": _pct(saved, total_before),
            "nodes_before": len(before),
            "nodes_after": len(after),
            "nodes_added": sum(1 for r in rows if r["status"] == "added"),
            "nodes_removed": sum(1 for r in rows if r["status"] == "removed"),
            "nodes_modified": sum(1 for r in rows if r["status"] == "modified"),
            "improvements": len(improvements),
            "regressions": len(regressions),
            "calls_before": g1.total_calls,
            "calls_after": g2.total_calls,
        },
        "node_comparisons": rows,
        "top_improvements": improvements[:_TOP],
        "top_regressions": regressions[:_TOP],
        "findings": [finding_record(f, chains) for f in findings],
    }


def _order(row: Dict[str, Any]) -> Tuple[float, str]:
    return (-abs(row["time_diff"]), row["name"])
