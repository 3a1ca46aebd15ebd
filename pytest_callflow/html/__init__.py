"""Self-contained HTML reports: one file each, no network, its own vanilla
JS, CSS and SVG (the files of this package, inlined).

- ``export_html(graph, path)``: a call graph (layered layout, pan/zoom,
  search, details on hover, coloured by self time), the flame graph of its
  calling-context tree, a function table, and the asyncio task timeline
  when the graph has ``async_info``.
- ``export_comparison_html(g1, g2, path)``: both graphs side by side,
  coloured by the diff, with the summary cards and the detailed table.
- ``write_session_report(path, results)``: ``pytest --callflow
  --callflow-html=PATH``: an index of the tests linking to each test's
  graph, flame graph, baseline diff and leak verdict.

Every name is escaped: the data travels as JSON and reaches the page as
text nodes only (see ``_page``)."""

from typing import Any, Dict, List, Mapping, Optional

from ..graph import untraced
from ._page import render_page, write_page
from ._payload import Strings, core_graph, graph_payload, intern_graph
from ._session import HTML_KEY, finding_fields, result_extras, session_body

__all__ = [
    "HTML_KEY",
    "comparison_body",
    "export_comparison_html",
    "export_html",
    "render_comparison_html",
    "render_html",
    "render_session_report",
    "result_extras",
    "write_session_report",
]

Result = Dict[str, Any]

_COMPARISON_COLUMNS = ("status", "time_before", "time_after", "time_diff", "time_diff_pct",
                       "calls_before", "calls_after", "calls_diff", "improvement")


def _title(title: Optional[str], default: str) -> str:
    if title is None:
        return default
    if not isinstance(title, str):
        raise TypeError(f"title: expected a str, got {type(title).__name__}")
    return title


def render_html(graph: Any, title: Optional[str] = None) -> str:
    """The report page of one graph, as text."""
    with untraced():
        strings = Strings()
        payload = intern_graph(graph_payload(graph), strings)
        return render_page("graph", _title(title, "Call graph"),
                           {"strings": strings.items, "graphs": [payload]})


def export_html(graph: Any, path: Any, title: Optional[str] = None) -> str:
    """Write the report of ``graph`` (a ``pytest_callflow`` or
    ``callflow_tracer`` CallGraph) to ``path``, atomically; returns the path."""
    text = render_html(graph, title)
    with untraced():
        return write_page(path, text)


def _classify(row: Mapping[str, Any]) -> str:
    """A comparison row's colour class (added, removed, worse, better,
    same), by ``compare_graphs``' rules: "unchanged" is within the noise;
    a "modified" function is an improvement or else a regression."""
    status = row.get("status")
    if status in ("added", "removed"):
        return str(status)
    if status == "modified":
        return "better" if row.get("improvement") else "worse"
    return "same"


def comparison_body(comparison: Mapping[str, Any], strings: Strings) -> Result:
    """``compare_graphs``' dict for the page: its node comparisons as
    columns (names as string indices), each with its colour class."""
    for key in ("summary", "node_comparisons"):
        if key not in comparison:
            raise ValueError(f"comparison: missing {key!r} (expected compare_graphs' result)")
    cols: Dict[str, List[Any]] = {"name": [], "cls": []}
    cols.update({k: [] for k in _COMPARISON_COLUMNS})
    for n, row in enumerate(comparison["node_comparisons"]):
        if not isinstance(row, Mapping) or "name" not in row:
            raise ValueError(f"comparison: node_comparisons[{n}] is not a row with a name")
        cols["name"].append(strings.add(str(row["name"])))
        cols["cls"].append(_classify(row))
        for key in _COMPARISON_COLUMNS:
            cols[key].append(row.get(key))
    findings = [finding_fields(f) for f in comparison.get("findings", ())
                if isinstance(f, Mapping) and f.get("verdict") != "note"]
    return {"label1": str(comparison.get("label1", "Before")),
            "label2": str(comparison.get("label2", "After")),
            "summary": dict(comparison["summary"]), "rows": cols, "findings": findings}


def render_comparison_html(g1: Any, g2: Any, comparison: Mapping[str, Any],
                           title: Optional[str] = None) -> str:
    """The comparison page of ``g1`` and ``g2`` for ``comparison`` (the dict
    ``compare_graphs`` returns)."""
    with untraced():
        strings = Strings()
        body = comparison_body(comparison, strings)
        graphs = [intern_graph(graph_payload(g1, body["label1"]), strings),
                  intern_graph(graph_payload(g2, body["label2"]), strings)]
        default = f"Call graph comparison: {body['label1']} vs {body['label2']}"
        return render_page("comparison", _title(title, default),
                           {"strings": strings.items, "graphs": graphs, "comparison": body})


def export_comparison_html(g1: Any, g2: Any, path: Any, label1: str = "Before",
                           label2: str = "After", title: Optional[str] = None) -> str:
    """Compare ``g1`` with ``g2`` (``compare_graphs``, the gate's rule
    engine) and write the split-screen page to ``path``; returns the path."""
    from ..comparison import compare_graphs  # the comparison mode (issue 6)

    core1, core2 = core_graph(g1, "g1"), core_graph(g2, "g2")
    comparison = compare_graphs(core1, core2, label1, label2)
    text = render_comparison_html(core1, core2, comparison, title)
    with untraced():
        return write_page(path, text)


def render_session_report(results: Mapping[str, Result], *,
                          leaks: Optional[Mapping[str, Result]] = None,
                          python: Optional[str] = None, title: Optional[str] = None) -> str:
    with untraced():
        body = session_body(results, leaks, python)
        return render_page("session", _title(title, "pytest-callflow session report"), body)


def write_session_report(path: Any, results: Mapping[str, Result], *,
                         leaks: Optional[Mapping[str, Result]] = None,
                         python: Optional[str] = None, title: Optional[str] = None) -> str:
    """Write the session report: ``results`` maps node ids to the plugin's
    per-test results (with their ``"html"`` extras, see ``result_extras``),
    ``leaks`` node ids to leak verdicts.  Returns the path written."""
    text = render_session_report(results, leaks=leaks, python=python, title=title)
    with untraced():
        return write_page(path, text)

