"""Comparison mode of the original CallFlow Tracer: ``compare_graphs`` and
``export_comparison_html``, on pytest_callflow's rule engine.

Both take this package's ``CallGraph`` (from ``trace_scope``, or rebuilt
with ``CallGraph.from_dict`` from the original's JSON) or a
pytest_callflow ``CallGraph``, in any mix.  Given graphs of this package,
function names are the original's full names (``module.qualname``, as in
``graph.nodes``); given pytest_callflow graphs only, ``module:qualname``.
What ``status`` and ``improvement`` mean is in
``pytest_callflow.comparison``; beyond the original's keys the result holds
the engine's ``findings`` (named ``module:qualname``), and, as the
original did, ``graph1_data`` and ``graph2_data`` (each graph's
``to_dict()``)."""

import os
from typing import Any, Dict, Optional, Tuple, Union

from pytest_callflow.comparison import compare_graphs as _compare_core
from pytest_callflow.graph import CallGraph as CoreGraph

from .graph import CallGraph, full_name

__all__ = ["compare_graphs", "export_comparison_html"]

PathArg = Union[str, "os.PathLike[str]"]


def _from_nodes(graph: CallGraph) -> CoreGraph:
    """A core graph holding a facade graph's functions and edges (no
    context tree: the original's JSON has none)."""
    names = {full: node.callflow_name for full, node in graph.nodes.items()}
    functions: Dict[str, Dict[str, int]] = {}
    function_times: Dict[str, list] = {}
    for full, node in graph.nodes.items():
        if node.call_count <= 0:
            continue
        functions[names[full]] = {"calls": int(node.call_count)}
        function_times[names[full]] = [float(node.total_time), float(node.self_time), 0.0]
    edges: Dict[str, Dict[str, int]] = {}
    edge_times: Dict[str, Dict[str, float]] = {}
    for (caller, callee), edge in graph.edges.items():
        a, b = names.get(caller), names.get(callee)
        if a not in functions or b not in functions or edge.call_count <= 0:
            continue
        edges.setdefault(a, {})[b] = int(edge.call_count)
        edge_times.setdefault(a, {})[b] = float(edge.total_time)
    document = {
        "schema": "callflow/1",
        "functions": functions,
        "edges": edges,
        "tree": [],
        "meta": {"total_calls": sum(f["calls"] for f in functions.values()),
                 "node_cap": 0, "truncated_paths": 0, "truncated_calls": 0},
        "times": {"duration": max(float(graph.duration), 0.0), "functions": function_times,
                  "edges": edge_times, "tree": []},
    }
    return CoreGraph.from_dict(document)


def _core(graph: Any, what: str) -> Tuple[CoreGraph, Optional[CallGraph]]:
    """(the core graph, the facade graph or None)."""
    if isinstance(graph, CoreGraph):
        return graph.snapshot(), None
    if isinstance(graph, CallGraph):
        core = graph.callflow_graph
        return (core.snapshot() if core is not None else _from_nodes(graph)), graph
    raise TypeError(f"{what}: expected a callflow_tracer or pytest_callflow CallGraph, "
                    f"got {type(graph).__name__}")


def compare_graphs(graph1: Any, graph2: Any, label1: str = "Before", label2: str = "After",
                   **tolerances: Any) -> Dict[str, Any]:
    """Compare two graphs (before, after): ``{label1, label2, summary,
    node_comparisons, top_improvements, top_regressions, findings,
    graph1_data, graph2_data}``.  ``tolerances``: those of
    ``pytest_callflow.compare_graphs`` (``time_threshold``,
    ``time_floor_ms``, ``max_calls_increase``, ...)."""
    core1, facade1 = _core(graph1, "graph1")
    core2, facade2 = _core(graph2, "graph2")
    result = _compare_core(core1, core2, label1, label2, **tolerances)
    if facade1 is not None or facade2 is not None:
        full: Dict[str, str] = {}
        for facade in (facade1, facade2):
            if facade is not None:
                full.update({n.callflow_name: n.full_name for n in facade.nodes.values()})
        for row in result["node_comparisons"]:  # the top lists hold the same dicts
            row["name"] = full.get(row["name"], full_name(row["name"]))
    result["graph1_data"] = (facade1 or CallGraph.from_callflow(core1)).to_dict()
    result["graph2_data"] = (facade2 or CallGraph.from_callflow(core2)).to_dict()
    return result


def export_comparison_html(graph1: Any, graph2: Any, output_path: PathArg,
                           label1: str = "Before", label2: str = "After",
                           title: Optional[str] = "Call Graph Comparison") -> None:
    """One self-contained HTML page: both graphs side by side, the diff
    coloured (green better, red worse, grey unchanged), the summary and
    the table of functions."""
    from pytest_callflow.html import export_comparison_html as export_page

    core1, _ = _core(graph1, "graph1")
    core2, _ = _core(graph2, "graph2")
    export_page(core1, core2, output_path, label1=label1, label2=label2, title=title)
