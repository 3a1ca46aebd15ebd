"""The callflow_tracer facade: the original CallFlow Tracer API on top of
the native tracer."""

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from programs import recursion, workers


def node_of(graph: Any, fn: Callable[..., Any]) -> Any:
    """The facade node of a module-level function, found by its attributes."""
    found = [
        n
        for n in graph.nodes.values()
        if n.module == fn.__module__ and n.name in (fn.__name__, fn.__qualname__)
    ]
    assert len(found) == 1, sorted(graph.nodes)
    return found[0]


def test_public_names() -> None:
    import callflow_tracer

    for name in ("trace", "trace_scope", "CallGraph", "get_current_graph", "clear_trace"):
        assert hasattr(callflow_tracer, name), name


def test_nodes_are_keyed_by_full_name_with_counts() -> None:
    from callflow_tracer import trace_scope

    with trace_scope() as graph:
        assert recursion.fib(10) == 55
    fib = node_of(graph, recursion.fib)
    assert graph.nodes[fib.full_name] is fib
    assert fib.full_name.startswith(fib.module)
    assert fib.full_name.endswith(fib.name)
    assert fib.call_count == 177
    assert fib.total_time > 0
    for key, node in graph.nodes.items():
        assert key == node.full_name


def test_edges_are_keyed_by_caller_and_callee() -> None:
    from callflow_tracer import trace_scope

    with trace_scope() as graph:
        recursion.is_even(10)
    even = node_of(graph, recursion.is_even).full_name
    odd = node_of(graph, recursion.is_odd).full_name
    edge = graph.edges[(even, odd)]
    assert edge.call_count == 5
    assert graph.edges[(odd, even)].call_count == 5
    assert edge.total_time > 0
    for (caller, callee), e in graph.edges.items():
        assert (e.caller, e.callee) == (caller, callee)
        assert callee in graph.nodes
        assert e.call_count >= 1


def test_to_dict_has_the_original_layout() -> None:
    from callflow_tracer import trace_scope

    with trace_scope() as graph:
        recursion.fib(8)
        workers.work(4)
    d = graph.to_dict()
    json.dumps(d)
    assert set(d) >= {"nodes", "edges", "metadata"}
    meta = d["metadata"]
    assert meta["total_nodes"] == len(d["nodes"]) == len(graph.nodes)
    assert meta["total_edges"] == len(d["edges"]) == len(graph.edges)
    assert meta["duration"] >= 0
    for n in d["nodes"]:
        assert set(n) >= {"name", "module", "full_name", "call_count", "total_time", "avg_time"}
    for e in d["edges"]:
        assert set(e) >= {"caller", "callee", "call_count", "total_time", "avg_time"}
    by_name = {n["full_name"]: n for n in d["nodes"]}
    assert by_name[node_of(graph, recursion.fib).full_name]["call_count"] == 67
    assert by_name[node_of(graph, workers.leaf).full_name]["call_count"] == 4
    # total_call_time is the sum of the node times (each rounded to 1 us).
    total = sum(n["total_time"] for n in d["nodes"])
    assert abs(meta["total_call_time"] - total) <= 1e-6 * (len(d["nodes"]) + 1)


def test_from_dict_rebuilds_nodes_and_edges() -> None:
    from callflow_tracer import CallGraph, trace_scope

    with trace_scope() as graph:
        recursion.is_even(6)
        recursion.fib(6)
    again = CallGraph.from_dict(graph.to_dict())
    assert set(again.nodes) == set(graph.nodes)
    assert set(again.edges) == set(graph.edges)
    for key, node in graph.nodes.items():
        assert again.nodes[key].call_count == node.call_count
        assert again.nodes[key].name == node.name
        assert again.nodes[key].module == node.module
    for key, edge in graph.edges.items():
        assert again.edges[key].call_count == edge.call_count


def test_trace_scope_writes_the_original_json(tmp_path: Path) -> None:
    from callflow_tracer import trace_scope

    out = tmp_path / "out.json"
    with trace_scope(str(out)) as graph:
        recursion.fib(7)
    data = json.loads(out.read_text())
    assert set(data) >= {"nodes", "edges", "metadata"}
    nodes = {n["full_name"]: n for n in data["nodes"]}
    fib = node_of(graph, recursion.fib)
    assert nodes[fib.full_name]["call_count"] == 41
    assert data["metadata"]["total_nodes"] == len(graph.nodes)


def test_trace_decorator_and_current_graph() -> None:
    from callflow_tracer import clear_trace, get_current_graph, trace, trace_scope

    @trace
    def entry(n: int) -> int:
        return recursion.fib(n)

    with trace_scope() as graph:
        assert get_current_graph() is graph
        assert entry(6) == 8
    assert node_of(graph, recursion.fib).call_count == 25
    entries = [n for n in graph.nodes.values() if n.name.endswith("entry")]
    assert [n.call_count for n in entries] == [1]

    clear_trace()
    try:
        assert entry(4) == 3
        current = get_current_graph()
        assert current is not None
        assert node_of(current, recursion.fib).call_count == 9
    finally:
        clear_trace()


def test_exceptions_pass_through_the_facade() -> None:
    from callflow_tracer import trace_scope

    err = ValueError("v")
    with pytest.raises(ValueError) as info:
        with trace_scope() as graph:
            recursion.fib(3)
            raise err
    assert info.value is err
    assert node_of(graph, recursion.fib).call_count == 5


def test_trace_scope_writes_a_self_contained_html_report(tmp_path: Path) -> None:
    from callflow_tracer import trace_scope

    out = tmp_path / "report.html"
    with trace_scope(str(out)):
        recursion.fib(4)
    page = out.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "programs.recursion" in page and "fib" in page
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing fetched


def test_trace_scope_refuses_an_unknown_format_before_running(tmp_path: Path) -> None:
    from callflow_tracer import trace_scope

    with pytest.raises(ValueError, match="Unsupported format: csv"):
        trace_scope(str(tmp_path / "out.csv"))


def test_trace_scope_writes_a_bare_file_name_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from callflow_tracer import trace_scope

    monkeypatch.chdir(tmp_path)
    with trace_scope("trace.json"):
        recursion.fib(3)
    assert json.loads((tmp_path / "trace.json").read_text(encoding="utf-8"))["nodes"]
