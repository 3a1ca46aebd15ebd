"""Exports read back by their consumers: pstats.Stats, a JSON-schema check
of speedscope's file format, flamegraph.pl's line format, graphviz's dot,
and the structure of Chrome trace events."""

import io
import json
import os
import pstats
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import jsonschema  # tests/requirements.txt
import pytest

from cfutil import qn, walk
from programs import layered, recursion, timed
from pytest_callflow import CallGraph, export, trace_scope
from pytest_callflow import exports as ex

FIB = qn(recursion.fib)

# speedscope's file format, written down from its documented TypeScript
# types (src/lib/file-format-spec.ts, published as
# https://www.speedscope.app/file-format-schema.json): a file holds shared
# frames and a list of evented or sampled profiles.
_UNIT = {"enum": ["none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"]}
_EVENT = {
    "type": "object",
    "required": ["type", "at", "frame"],
    "properties": {"type": {"enum": ["O", "C"]}, "at": {"type": "number"},
                   "frame": {"type": "integer", "minimum": 0}},
}
SPEEDSCOPE_SCHEMA: Dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["$schema", "shared", "profiles"],
    "properties": {
        "$schema": {"const": "https://www.speedscope.app/file-format-schema.json"},
        "name": {"type": "string"},
        "exporter": {"type": "string"},
        "activeProfileIndex": {"type": "number"},
        "shared": {
            "type": "object",
            "required": ["frames"],
            "properties": {"frames": {"type": "array", "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "file": {"type": "string"},
                               "line": {"type": "number"}, "col": {"type": "number"}},
            }}},
        },
        "profiles": {"type": "array", "minItems": 1, "items": {"anyOf": [
            {"type": "object",
             "required": ["type", "name", "unit", "startValue", "endValue", "events"],
             "properties": {"type": {"const": "evented"}, "name": {"type": "string"},
                            "unit": _UNIT, "startValue": {"type": "number"},
                            "endValue": {"type": "number"},
                            "events": {"type": "array", "items": _EVENT}}},
            {"type": "object",
             "required": ["type", "name", "unit", "startValue", "endValue", "samples", "weights"],
             "properties": {"type": {"const": "sampled"}, "name": {"type": "string"},
                            "unit": _UNIT, "startValue": {"type": "number"},
                            "endValue": {"type": "number"},
                            "samples": {"type": "array", "items": {
                                "type": "array", "items": {"type": "integer", "minimum": 0}}},
                            "weights": {"type": "array", "items": {"type": "number"}}}},
        ]}},
    },
}

# flamegraph.pl's reading of a folded line: the stack, white space, a count.
FOLDED_LINE = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")


# ---------------------------------------------------------------------------
# graphs


def traced() -> CallGraph:
    with trace_scope() as g:
        timed.root_work()
        layered.top(3)
        recursion.fib(6)
    return g


Tree = Tuple[str, int, float, float, Sequence[Any]]  # (name, calls, total s, self s, children)


def from_tree(children: Sequence[Tree], *, files: Optional[Dict[str, str]] = None) -> CallGraph:
    """A callflow/1 graph with the given context tree (functions and edges
    summed from it), for names and shapes no traced program has."""
    functions: Dict[str, Dict[str, Any]] = {}
    ftimes: Dict[str, List[float]] = {}
    edges: Dict[str, Dict[str, int]] = {}
    etimes: Dict[str, Dict[str, float]] = {}
    tree: List[List[Any]] = []
    ttimes: List[List[float]] = []

    def add(node: Tree, parent: int, parent_name: Optional[str]) -> None:
        name, calls, total, self_t, kids = node
        tree.append([name, parent, calls])
        ttimes.append([total, self_t, 0.0])
        me = len(tree)
        entry = functions.setdefault(name, {"calls": 0})
        entry["calls"] += calls
        if files and name in files:
            entry["file"], entry["line"] = files[name], 1
        t = ftimes.setdefault(name, [0.0, 0.0, 0.0])
        t[0] += total
        t[1] += self_t
        if parent_name is not None:
            edges.setdefault(parent_name, {}).setdefault(name, 0)
            edges[parent_name][name] += calls
            etimes.setdefault(parent_name, {}).setdefault(name, 0.0)
            etimes[parent_name][name] += total
        for kid in kids:
            add(kid, me, name)

    for child in children:
        add(child, 0, None)
    doc = {
        "schema": "callflow/1",
        "functions": functions,
        "edges": edges,
        "tree": tree,
        "meta": {"total_calls": sum(f["calls"] for f in functions.values()), "node_cap": 0,
                 "truncated_paths": 0, "truncated_calls": 0},
        "times": {"duration": sum(c[2] for c in children), "functions": ftimes,
                  "edges": etimes, "tree": ttimes},
    }
    return CallGraph.from_dict(doc)


NASTY = ['m:say "hi"', "m:back\\slash", "m:semi;colon", "m:two\nlines", "m:<script>alert(1)</script>",
         "m:100%"]


def nasty_graph() -> CallGraph:
    """Names that need escaping in one format or another, nested."""
    node: Tree = (NASTY[-1], 1, 0.001, 0.001, [])
    for name in reversed(NASTY[:-1]):
        node = (name, 2, node[2] + 0.002, 0.002, [node])
    return from_tree([node])


@pytest.fixture(scope="module")
def live() -> CallGraph:
    return traced()


@pytest.fixture(params=["live", "saved"])
def graph(request: pytest.FixtureRequest, live: CallGraph,
          tmp_path_factory: pytest.TempPathFactory) -> CallGraph:
    """The traced graph, as recorded and as read back from graph.save()."""
    if request.param == "live":
        return live
    path = tmp_path_factory.mktemp("saved") / "graph.json"
    live.save(path)
    return CallGraph.load(path)


def preorder(graph: CallGraph) -> Iterator[Tuple[Any, Tuple[str, ...]]]:
    for depth, node in walk(graph.root):
        if depth:
            yield node, node.path


# ---------------------------------------------------------------------------
# pstats


def test_pstats_loads_with_pstats_stats(graph: CallGraph, tmp_path: Path) -> None:
    path = tmp_path / "out.pstats"
    ex.export_pstats(graph, path)
    stats = pstats.Stats(str(path))
    by_name = {key[2]: value for key, value in stats.stats.items()}  # type: ignore[attr-defined]
    assert len(by_name) == len(graph)
    for f in graph.functions():
        cc, nc, tt, ct, _callers = by_name[f.qualname]
        assert nc == f.calls
        assert tt == pytest.approx(f.self_time)
        assert ct == pytest.approx(f.total_time)
    # fib recursed: one primitive call, as cProfile counts it.
    assert by_name["fib"][:2] == (1, graph.calls(FIB))
    assert stats.total_calls == graph.total_calls  # type: ignore[attr-defined]
    assert stats.prim_calls == graph.total_calls - (graph.calls(FIB) - 1)  # type: ignore[attr-defined]


def test_pstats_callers_come_from_the_edges(graph: CallGraph, tmp_path: Path) -> None:
    path = tmp_path / "out.pstats"
    export(graph, path, "pstats")
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    key = {f.name: (f.file, f.line, f.qualname) for f in graph.functions()}
    for e in graph.edges():
        nc, cc, tt, ct = stats[key[e.callee]][4][key[e.caller]]
        assert nc == e.calls
        assert ct == pytest.approx(e.total_time)
        assert 0 <= cc <= nc
    spin = qn(timed.spin)
    assert set(stats[key[spin]][4]) == {key[qn(timed.branch_a)], key[qn(timed.branch_b)],
                                        key[qn(timed.root_work)]}
    # fib -> fib: every call through that edge is a recursive one.
    assert stats[key[FIB]][4][key[FIB]][:2] == (graph.calls(FIB) - 1, 0)


def test_pstats_reports_print(graph: CallGraph, tmp_path: Path) -> None:
    path = tmp_path / "out.pstats"
    export(graph, path, "pstats")
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("cumulative").print_stats()
    stats.print_callers("spin")
    stats.print_callees("root_work")
    text = out.getvalue()
    assert "timed.py:" in text and "(root_work)" in text and "(branch_a)" in text
    assert f"{graph.calls(FIB)}/1" in text  # ncalls of a recursive function


def test_pstats_keys_are_unique_without_files() -> None:
    g = from_tree([("a:f", 1, 0.002, 0.001, [("b:f", 1, 0.001, 0.001, [])])])
    stats = ex.pstats_dict(g)
    assert set(stats) == {("~", 0, "a:f"), ("~", 0, "b:f")}
    assert stats[("~", 0, "b:f")][4] == {("~", 0, "a:f"): (1, 1, 0.001, 0.001)}


# ---------------------------------------------------------------------------
# speedscope


def test_speedscope_follows_the_file_format(graph: CallGraph, tmp_path: Path) -> None:
    path = tmp_path / "out.speedscope.json"
    ex.export_speedscope(graph, path, title="my run")
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, SPEEDSCOPE_SCHEMA)
    frames = doc["shared"]["frames"]
    (profile,) = doc["profiles"]
    assert profile["type"] == "sampled" and profile["unit"] == "nanoseconds"
    assert len(profile["samples"]) == len(profile["weights"])
    assert profile["endValue"] - profile["startValue"] == sum(profile["weights"])
    assert all(0 <= i < len(frames) for stack in profile["samples"] for i in stack)
    # One sample per path with self time, its stack the path from the top.
    expected = {path: round(node.self_time * 1e9) for node, path in preorder(graph)
                if round(node.self_time * 1e9) > 0}
    got = {tuple(frames[i]["name"] for i in stack): w
           for stack, w in zip(profile["samples"], profile["weights"])}
    assert got == expected
    spin = next(f for f in frames if f["name"] == qn(timed.spin))
    assert spin["file"].endswith("timed.py") and spin["line"] == graph.function(timed.spin).line
    assert doc["name"] == "my run"


def test_speedscope_by_calls(graph: CallGraph) -> None:
    doc = ex.speedscope_dict(graph, value="calls")
    jsonschema.validate(doc, SPEEDSCOPE_SCHEMA)
    (profile,) = doc["profiles"]
    assert profile["unit"] == "none"
    names = [f["name"] for f in doc["shared"]["frames"]]
    got = {tuple(names[i] for i in s): w for s, w in zip(profile["samples"], profile["weights"])}
    assert got == {path: node.calls for node, path in preorder(graph)}


def test_a_schema_violation_is_caught() -> None:
    # The schema above is not vacuous: a wrong unit and a string frame fail.
    doc = ex.speedscope_dict(traced())
    doc["profiles"][0]["unit"] = "furlongs"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SPEEDSCOPE_SCHEMA)
    doc = ex.speedscope_dict(traced())
    doc["profiles"][0]["samples"][0][0] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SPEEDSCOPE_SCHEMA)


# ---------------------------------------------------------------------------
# collapsed stacks


def parse_folded(text: str) -> List[Tuple[List[str], int]]:
    rows = []
    for line in text.splitlines():
        m = FOLDED_LINE.match(line)
        assert m, f"flamegraph.pl would skip {line!r}"
        rows.append((m.group(1).split(";"), int(m.group(2))))
    return rows


def test_collapsed_one_line_per_path(graph: CallGraph, tmp_path: Path) -> None:
    path = tmp_path / "out.folded"
    ex.export_collapsed(graph, path)
    rows = parse_folded(path.read_text())
    expected = [(list(p), round(node.self_time * 1e6)) for node, p in preorder(graph)]
    assert sorted(rows) == sorted(expected)
    calls = parse_folded(ex.collapsed_text(graph, value="calls"))
    assert sorted(calls) == sorted((list(p), node.calls) for node, p in preorder(graph))
    fib_depths = [len(stack) for stack, _ in calls if stack[-1] == FIB]
    assert max(fib_depths) == 6  # fib(6) recurses 6 deep: each level its own path


def test_collapsed_escapes_separators() -> None:
    rows = parse_folded(ex.collapsed_text(nasty_graph(), value="calls"))
    assert len(rows) == len(NASTY)
    deepest = max(rows, key=lambda r: len(r[0]))[0]
    assert len(deepest) == len(NASTY)
    assert "m:semi%3Bcolon" in deepest and "m:two%0Alines" in deepest and "m:100%25" in deepest


@pytest.mark.skipif(shutil.which("flamegraph.pl") is None,
                    reason="flamegraph.pl is not installed")
def test_flamegraph_pl_renders_it(graph: CallGraph, tmp_path: Path) -> None:
    path = tmp_path / "out.folded"
    ex.export_collapsed(graph, path)
    svg = subprocess.run(["flamegraph.pl", str(path)], capture_output=True, text=True, check=True)
    assert "programs.timed:spin" in svg.stdout


# ---------------------------------------------------------------------------
# DOT


def test_dot_lists_functions_and_edges(graph: CallGraph) -> None:
    text = ex.dot_text(graph)
    assert text.startswith("digraph callflow {") and text.rstrip().endswith("}")
    assert text.count(" -> ") == len(list(graph.edges()))
    spin = graph.function(timed.spin)
    assert f'label="{spin.name}\\n{spin.calls} calls\\ntotal ' in text
    assert re.search(r'-> n\d+ \[label="%d"\]' % graph.edge_calls(FIB, FIB), text)


def test_dot_escapes_labels() -> None:
    text = ex.dot_text(nasty_graph(), title='a "title"')
    assert 'label="m:say \\"hi\\"\\n2 calls' in text
    assert 'label="m:back\\\\slash\\n' in text
    assert 'label="m:two\\nlines\\n' in text  # the newline is DOT's \n, not a raw one
    assert "\nlines" not in text
    assert 'label="a \\"title\\""' in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz (dot) is not installed")
@pytest.mark.parametrize("which", ["traced", "nasty"])
def test_dot_renders_with_graphviz(which: str, graph: CallGraph, tmp_path: Path) -> None:
    g = graph if which == "traced" else nasty_graph()
    path = tmp_path / "out.dot"
    ex.export_dot(g, path)
    run = subprocess.run(["dot", "-Tsvg", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    svg = run.stdout
    assert svg.count('class="node"') == len(g)
    assert svg.count('class="edge"') == len(list(g.edges()))
    if which == "nasty":
        # Shown as text (escaped by graphviz), never as markup.
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "<script>" not in svg
        assert "m:say &quot;hi&quot;" in svg and "m:back\\slash" in svg


# ---------------------------------------------------------------------------
# Chrome trace events


def x_events(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def ns(value: float) -> int:
    return round(value * 1000)


def check_nesting(graph: CallGraph, events: List[Dict[str, Any]]) -> None:
    """Each event lies within its parent's, siblings one after another."""
    nodes = list(preorder(graph))
    assert len(events) == len(nodes)
    span: Dict[int, Tuple[int, int]] = {}
    last_end: Dict[int, int] = {}
    for (node, path), e in zip(nodes, events):
        assert e["name"] == path[-1]
        start, end = ns(e["ts"]), ns(e["ts"]) + ns(e["dur"])
        span[id(node)] = (start, end)
        if node.parent is not None and node.parent.name is not None:
            p_start, p_end = span[id(node.parent)]
            assert p_start <= start <= end <= p_end, f"{path} outside its parent"
        assert start >= last_end.get(id(node.parent), 0), f"{path} overlaps a sibling"
        last_end[id(node.parent)] = end


def test_chrome_trace_structure(graph: CallGraph, tmp_path: Path) -> None:
    path = tmp_path / "out.trace.json"
    ex.export_chrome(graph, path)
    doc = json.loads(path.read_text())
    assert doc["displayTimeUnit"] in ("ms", "ns")
    events = x_events(doc)
    for e in events:
        assert {"ts", "dur", "ph", "name", "pid", "tid"} <= set(e)
        assert isinstance(e["ts"], (int, float)) and e["dur"] >= 0
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
    check_nesting(graph, events)
    for (node, _), e in zip(preorder(graph), events):
        assert ns(e["dur"]) == round(node.total_time * 1e9)  # nothing had to be scaled
        assert e["args"]["calls"] == node.calls
    meta = [e for e in doc["traceEvents"] if e["ph"] == "M"]
    assert {e["name"] for e in meta} == {"process_name", "thread_name"}


def test_chrome_children_longer_than_their_parent_are_scaled_to_fit() -> None:
    # Work in two threads under one caller: 30 ms of children in 20 ms.
    g = from_tree([("m:main", 1, 0.020, 0.0, [("m:a", 1, 0.015, 0.015, []),
                                                ("m:b", 1, 0.015, 0.010, [
                                                    ("m:c", 1, 0.005, 0.005, [])])])])
    events = x_events(ex.chrome_dict(g))
    check_nesting(g, events)
    assert [ns(e["dur"]) for e in events] == [20_000_000, 10_000_000, 10_000_000, 5_000_000]


def test_chrome_by_calls_and_without_times(tmp_path: Path, live: CallGraph) -> None:
    path = tmp_path / "g.json"
    live.save(path, times=False)
    g = CallGraph.load(path)
    assert not ex.has_times(g)
    doc = ex.chrome_dict(g)  # auto: calls, for there are no times
    events = x_events(doc)
    check_nesting(g, events)
    for (node, _), e in zip(preorder(g), events):
        subtree = sum(n.calls for _d, n in walk(node))
        assert e["dur"] == subtree  # 1 us per call on and below the path
    assert "1 us per call" in doc["otherData"]["layout"]


# ---------------------------------------------------------------------------
# all formats


def test_a_graph_saved_without_times_exports_calls(tmp_path: Path, live: CallGraph) -> None:
    path = tmp_path / "g.json"
    live.save(path, times=False)
    g = CallGraph.load(path)
    doc = ex.speedscope_dict(g)
    jsonschema.validate(doc, SPEEDSCOPE_SCHEMA)
    assert doc["profiles"][0]["unit"] == "none"
    assert sum(doc["profiles"][0]["weights"]) == g.total_calls
    assert ex.collapsed_text(g) == ex.collapsed_text(live, value="calls")
    assert "total " not in ex.dot_text(g)
    for fmt in ex.FORMATS:
        export(g, tmp_path / f"out.{fmt}", fmt)
        assert (tmp_path / f"out.{fmt}").stat().st_size > 0


def test_saved_and_live_graphs_export_the_same_calls(live: CallGraph, tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    live.save(path)
    loaded = CallGraph.load(path)
    assert ex.collapsed_text(loaded, value="calls") == ex.collapsed_text(live, value="calls")
    assert {k: v[:2] for k, v in ex.pstats_dict(loaded).items()} == \
        {k: v[:2] for k, v in ex.pstats_dict(live).items()}


def test_export_checks_format_and_value(live: CallGraph, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format 'svg'.*speedscope, pstats"):
        export(live, tmp_path / "x", "svg")
    with pytest.raises(ValueError, match="value must be one of auto, time, calls"):
        ex.export_collapsed(live, tmp_path / "x", value="bytes")
    with pytest.raises(TypeError, match="expected a pytest_callflow CallGraph"):
        export({"nodes": []}, tmp_path / "x", "dot")  # type: ignore[arg-type]
    assert not (tmp_path / "x").exists()


def test_export_creates_directories_and_names_an_unwritable_path(
        live: CallGraph, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.dot"
    ex.export_dot(live, target)
    assert target.read_text().startswith("digraph")
    with pytest.raises(OSError, match=re.escape(str(tmp_path / "a"))):
        ex.export_dot(live, tmp_path / "a")  # a directory
    assert sorted(os.listdir(tmp_path / "a" / "b")) == ["out.dot"]  # no temporary left


def test_exporting_inside_a_scope_records_nothing_of_the_exporter(
        live: CallGraph, tmp_path: Path) -> None:
    targets = [(str(tmp_path / f"o.{fmt}"), fmt) for fmt in ex.FORMATS]
    with trace_scope() as outer:
        for target, fmt in targets:
            export(live, target, fmt)
    assert len(outer) == 0, sorted(f.name for f in outer.functions())


def test_the_facade_graph_exports_too(tmp_path: Path) -> None:
    import callflow_tracer

    with callflow_tracer.trace_scope() as g:
        recursion.fib(5)
    export(g, tmp_path / "f.folded", "collapsed", value="calls")
    assert (tmp_path / "f.folded").read_text().startswith(f"{FIB} 1\n")
