"""The HTML reports without a browser: one self-contained file (no URL, no
external resource, a CSP that allows only the page's own script and
style), the data embedded as JSON that reads back to the graph, every name
escaped (nothing in a name can end the data block or become markup), page
sizes, trace_scope("x.html"), the comparison page, the facade's
export_html and the session report of ``pytest --callflow-html``."""

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from browser.bigprogram import build
from plugin_projects import Project, text
from pytest_callflow import CallGraph, trace_scope
from pytest_callflow.html import (
    comparison_body,
    export_comparison_html,
    export_html,
    render_comparison_html,
    render_html,
    render_session_report,
    result_extras,
    write_session_report,
)
from pytest_callflow.html._payload import EVENT_KINDS, Strings, async_payload

DATA = re.compile(r'<script type="application/json" id="callflow-data">(.*?)</script>', re.S)
HOSTILE = ('evil</script><script>window.__pwned=1</script>:f',
           'x<!--y:<img src=x onerror=alert(1)>',
           "quote\"'&amp;:\u2028line")


def page_data(page: str) -> Dict[str, Any]:
    found = DATA.findall(page)
    assert len(found) == 1, "expected one data block"
    return json.loads(found[0])


def functions_of(doc: Dict[str, Any], n: int = 0) -> Dict[str, int]:
    g = doc["graphs"][n]
    return {doc["strings"][i]: calls for i, calls in zip(g["fn"]["name"], g["fn"]["calls"])}


def graph_doc(names: List[str], edges: Dict[str, Dict[str, int]], async_info: Any = None) -> Dict[str, Any]:
    """A callflow/1 document: one call of each name, a tree of the edges."""
    tree = [[name, 0, 1] for name in names]
    doc: Dict[str, Any] = {
        "schema": "callflow/1", "functions": {n: {"calls": 1} for n in names}, "edges": edges,
        "tree": tree, "meta": {"node_cap": 0, "total_calls": len(names), "truncated_calls": 0,
                               "truncated_paths": 0},
    }
    if async_info is not None:
        doc["async"] = async_info
    return doc


# -- the program traced -------------------------------------------------------


def price(item: int) -> int:
    return item * 2


def total(items: range, repeat: int = 1) -> int:
    return sum(price(i) for i in items for _ in range(repeat))


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def run(repeat: int = 1) -> None:
    total(range(10), repeat)
    fib(6)


def traced(repeat: int = 1) -> CallGraph:
    with trace_scope(scope=[__name__]) as graph:
        run(repeat)
    return graph


# -- one graph ----------------------------------------------------------------


def test_the_page_embeds_the_graph(tmp_path: Path) -> None:
    graph = traced()
    path = export_html(graph, tmp_path / "sub" / "graph.html", title="My run")
    doc = page_data(Path(path).read_text(encoding="utf-8"))
    assert doc["kind"] == "graph" and doc["title"] == "My run"
    assert functions_of(doc) == {f.name: f.calls for f in graph.functions()}
    g = doc["graphs"][0]
    names = [doc["strings"][i] for i in g["fn"]["name"]]
    edges = {(names[a], names[b]): n for a, b, n in zip(g["edge"]["from"], g["edge"]["to"],
                                                        g["edge"]["calls"])}
    assert edges == {(e.caller, e.callee): e.calls for e in graph.edges()}
    # the context tree: parent = index - up, -1 the root; same paths and calls
    tree = g["tree"]
    paths: List[tuple] = []
    for j, (fn, up) in enumerate(zip(tree["fn"], tree["up"])):
        parent = j - up
        paths.append((paths[parent] if parent >= 0 else ()) + (names[fn],))
    got = {p: c for p, c in zip(paths, tree["calls"])}
    want = {node.path: node.calls for node in graph.root.walk() if node.name is not None}
    assert got == want
    fib_total = graph.function(f"{__name__}:fib").total_time
    assert g["fn"]["total"][names.index(f"{__name__}:fib")] == pytest.approx(fib_total * 1e9, abs=2)
    assert g["async"] is None


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    page = render_html(traced())
    # the only URL is the SVG namespace the script names elements with
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(link|img|iframe|object|embed|base)\b", page, re.I)
    assert not re.search(r"\b(src|href)\s*=", page, re.I)
    assert not re.search(r"@import|url\((?!#)", page)  # url(#id): a marker in the page
    assert not re.search(r"\b(fetch|XMLHttpRequest|WebSocket|importScripts|EventSource)\b", page)
    # a policy allowing no network, and only our own script and style
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert csp.startswith("default-src &#x27;none&#x27;") or csp.startswith("default-src 'none'")
    script = re.findall(r"<script>(.*?)</script>", page, re.S)
    style = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(script) == 1 and len(style) == 1

    def sha(body: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()

    assert sha(script[0]) in csp and sha(style[0]) in csp


def test_names_and_titles_are_escaped() -> None:
    graph = CallGraph.from_dict(graph_doc(list(HOSTILE), {HOSTILE[0]: {HOSTILE[1]: 1}}))
    title = '<script>window.__pwned="title"</script>'
    page = render_html(graph, title=title)
    # nothing in the data ends its element or opens a comment
    assert page.count("<script") == 2 and page.lower().count("</script") == 2
    assert "<!--" not in page and "\u2028" not in page
    assert "<img" not in page
    assert "<title>&lt;script&gt;window.__pwned=&quot;title&quot;&lt;/script&gt;</title>" in page
    doc = page_data(page)
    assert set(functions_of(doc)) == set(HOSTILE)  # read back unchanged
    assert doc["title"] == title


def test_a_5000_function_report_stays_compact(tmp_path: Path) -> None:
    entry = build(5000, package="sizeapp")
    with trace_scope(scope=["sizeapp"]) as graph:
        entry()
    assert len(graph) == 5000
    path = Path(export_html(graph, tmp_path / "big.html"))
    size = path.stat().st_size
    # measured 0.66 MB: numbers in columns, each name stored once
    assert size < 1_000_000, f"{size} bytes"
    page = path.read_text(encoding="utf-8")
    assert page.count('"sizeapp.m7:f7"') == 1


def test_trace_scope_writes_the_report(tmp_path: Path) -> None:
    path = tmp_path / "out.html"
    with trace_scope(path, scope=[__name__]):
        run()
    assert functions_of(page_data(path.read_text(encoding="utf-8")))[f"{__name__}:price"] == 10
    failed = tmp_path / "failed.html"
    with pytest.raises(KeyError, match="boom"):
        with trace_scope(str(failed), scope=[__name__]):
            run()
            raise KeyError("boom")
    assert f"{__name__}:fib" in functions_of(page_data(failed.read_text(encoding="utf-8")))
    with pytest.raises(ValueError, match=r"\.txt.*supported: \.json, \.html"):
        trace_scope(tmp_path / "out.txt")


def test_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="graph: expected a CallGraph"):
        export_html(42, tmp_path / "x.html")
    with pytest.raises(TypeError, match="title: expected a str"):
        render_html(traced(), title=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing 'node_comparisons'"):
        render_comparison_html(traced(), traced(), {"summary": {}})
    with pytest.raises(ValueError, match=r"timeline\[1\].*kind one of start"):
        async_payload({"tasks": [], "timeline": [[0, 1, "start"], [5, 1, "jump"]]})
    with pytest.raises(TypeError, match=r"results\['t::a'\]: expected a dict"):
        render_session_report({"t::a": 3})  # type: ignore[dict-item]
    assert not list(tmp_path.iterdir())  # nothing written where rendering failed


# -- async ----------------------------------------------------------------------


ASYNC_INFO = {
    "tasks": [
        {"id": 1, "name": "Task-1", "function": "app:main", "parent": None, "thread": 1,
         "start_ns": 0, "end_ns": 9000, "state": "finished", "steps": 2, "active_ns": 3000,
         "longest_step_ns": 2000},
        {"id": 2, "name": "Task-2", "function": "app:worker", "parent": 1, "thread": 1,
         "start_ns": 1000, "end_ns": None, "state": "pending", "steps": 1, "active_ns": 4000,
         "longest_step_ns": 4000},
    ],
    "timeline": [[0, 1, "start"], [1000, 1, "suspend"], [1000, 2, "start"], [5000, 2, "suspend"],
                 [7000, 1, "resume"], [9000, 1, "finish"]],
    "timeline_dropped": 0, "peak_concurrency": 2, "avg_concurrency": 1.4,
    "per_function_peak": {"app:main": 1, "app:worker": 1}, "blocking_threshold_ns": 3000,
    "blocking": [{"task": 2, "function": "app:worker", "start_ns": 1000, "duration_ns": 4000}],
    "blocking_dropped": 0, "longest_step_ns": 4000, "longest_step_function": "app:worker",
    "groups": [{"label": "gather_traced #1", "tasks": [2]}],
}


def test_async_info_travels_as_columns() -> None:
    out = async_payload(ASYNC_INFO)
    t, at = [], 0
    for dt in out["timeline"]["dt"]:
        at += dt
        t.append(at)
    rows = [[when, task, EVENT_KINDS[ev]] for when, task, ev in
            zip(t, out["timeline"]["task"], out["timeline"]["ev"])]
    assert rows == ASYNC_INFO["timeline"]
    assert {k: v for k, v in out.items() if k != "timeline"} == \
        {k: v for k, v in ASYNC_INFO.items() if k != "timeline"}
    graph = CallGraph.from_dict(graph_doc(["app:main", "app:worker"], {}, ASYNC_INFO))
    doc = page_data(render_html(graph))
    assert doc["graphs"][0]["async"]["blocking"] == ASYNC_INFO["blocking"]


# -- comparison -----------------------------------------------------------------


def test_comparison_page(tmp_path: Path) -> None:
    before, after = traced(1), traced(3)
    path = export_comparison_html(before, after, tmp_path / "cmp.html", label1="v1 <b>",
                                  label2="v2")
    page = Path(path).read_text(encoding="utf-8")
    assert "<title>Call graph comparison: v1 &lt;b&gt; vs v2</title>" in page
    doc = page_data(page)
    cmp = doc["comparison"]
    assert (cmp["label1"], cmp["label2"]) == ("v1 <b>", "v2")
    rows = {doc["strings"][n]: cls for n, cls in zip(cmp["rows"]["name"], cmp["rows"]["cls"])}
    assert rows[f"{__name__}:price"] == "worse"  # 10 -> 30 calls
    assert rows[f"{__name__}:fib"] == "same"
    assert cmp["summary"]["regressions"] >= 1
    assert functions_of(doc, 0)[f"{__name__}:price"] == 10
    assert functions_of(doc, 1)[f"{__name__}:price"] == 30
    assert any("price" in f["message"] for f in cmp["findings"])


def test_comparison_classes() -> None:
    rows = [{"name": "a", "status": "unchanged", "improvement": False},
            {"name": "b", "status": "modified", "improvement": True},
            {"name": "c", "status": "modified", "improvement": False},
            {"name": "d", "status": "added", "improvement": False},
            {"name": "e", "status": "removed", "improvement": False}]
    body = comparison_body({"summary": {}, "node_comparisons": rows}, Strings())
    assert body["rows"]["cls"] == ["same", "better", "worse", "added", "removed"]


# -- the facade -----------------------------------------------------------------


def test_facade_export_html(tmp_path: Path) -> None:
    from callflow_tracer import CallGraph as FacadeGraph
    from callflow_tracer.exporter import export_graph
    from callflow_tracer.exporter import export_html as facade_export_html

    graph = FacadeGraph.from_dict({
        "nodes": [{"name": "parse", "module": "app.core", "call_count": 3, "total_time": 0.5},
                  {"name": "main", "module": "app", "call_count": 1, "total_time": 1.0}],
        "edges": [{"caller": "app.main", "callee": "app.core.parse", "call_count": 3,
                   "total_time": 0.5}],
        "metadata": {"duration": 1.0},
    })
    facade_export_html(graph, tmp_path / "facade.html", title="Facade")
    doc = page_data((tmp_path / "facade.html").read_text(encoding="utf-8"))
    assert functions_of(doc) == {"app.core:parse": 3, "app:main": 1}
    assert doc["graphs"][0]["edge"]["calls"] == [3]
    export_graph(graph, tmp_path / "auto.html")
    assert page_data((tmp_path / "auto.html").read_text(encoding="utf-8"))["kind"] == "graph"
    with pytest.raises(ValueError, match="Supported formats: json, html"):
        export_graph(graph, tmp_path / "x.svg")


# -- the session report ---------------------------------------------------------


def test_session_report_stores_each_name_once(tmp_path: Path) -> None:
    graph = traced()
    results = {f"t.py::test_{n}": {"verdict": "passed", "total_calls": graph.total_calls,
                                    "time": 0.1, "findings": [], "notes": [],
                                    "html": result_extras(graph, None)} for n in range(30)}
    page = Path(write_session_report(tmp_path / "s.html", results)).read_text(encoding="utf-8")
    doc = page_data(page)
    assert len(doc["tests"]) == 30 and len(doc["graphs"]) == 30
    assert len(doc["strings"]) == len(set(doc["strings"]))
    assert page.count(f'"{__name__}:price"') == 1


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(pytester, monkeypatch)


def test_callflow_html_writes_the_session_report(project: Project) -> None:
    project.regressed_with_new_test()
    path = project.root / "out" / "report.html"
    result = project.run("--callflow-html=out/report.html")  # implies --callflow
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert f"HTML report: {path}" in "\n".join(result.outlines)
    page = path.read_text(encoding="utf-8")
    doc = page_data(page)
    tests = {t["id"]: t for t in doc["tests"]}
    total = tests["test_cart.py::test_total"]
    assert total["verdict"] == "regressed"
    assert any(f["verdict"] == "regression" and f.get("function") == "shop.cart:price"
               for f in total["findings"])
    base = dict(zip((doc["strings"][i] for i in total["base"]["fn"]), total["base"]["calls"]))
    assert base["shop.cart:price"] == 10
    assert functions_of(doc, total["g"])["shop.cart:price"] == 30
    fresh = tests["test_new.py::test_fresh[<script>window.__pwned=1</script>]"]
    assert fresh["verdict"] == "new" and fresh["base"] is None and fresh["g"] >= 0
    assert page.lower().count("</script") == 2


def test_callflow_html_under_xdist(project: Project) -> None:
    pytest.importorskip("xdist")
    project.cart_project(repeat=1)
    result = project.run_subprocess("-n", "2", "--callflow", "--callflow-html=r.html")
    assert result.ret == 0, text(result)
    doc = page_data((project.root / "r.html").read_text(encoding="utf-8"))
    assert {t["id"] for t in doc["tests"]} == {"test_cart.py::test_total",
                                               "test_cart.py::test_other"}
    assert all(t["g"] >= 0 for t in doc["tests"])  # graphs crossed from the workers
