"""The data a report page embeds: call graphs as compact column arrays.

A graph payload is a plain dict (JSON-ready) of columns, one list per
field, so that a 5,000-function graph costs numbers and commas rather than
repeated keys::

    {"label": ..., "meta": {...},
     "fn":   {"name": [...], "file": [...], "line": [...], "flags": [...],
              "calls": [...], "total": [...], "self": [...], "susp": [...]},
     "edge": {"from": [fn row], "to": [fn row], "calls": [...], "total": [...]},
     "tree": {"fn": [fn row], "up": [...], "calls": [...], "total": [...],
              "self": [...], "susp": [...]},
     "async": None | {...}}

Times are integer nanoseconds.  ``tree`` leaves out the root; node ``j``'s
parent is ``j - up[j]`` (-1: the root), parents before children.  Names and
files are strings here; ``intern_graph`` swaps them for indices into the
page's one string table, so a name shared by many tests of a session
report is stored once."""

from typing import Any, Dict, List, Mapping, Optional

from ..graph import CallGraph

Payload = Dict[str, Any]

# Timeline event kinds of SPEC_ASYNC, coded as small ints in the page.
EVENT_KINDS = ("start", "suspend", "resume", "finish", "cancel", "fail")


def core_graph(graph: Any, what: str = "graph") -> CallGraph:
    """A ``pytest_callflow.CallGraph`` for ``graph``: one itself (a live one
    snapshotted), or the ``callflow_tracer`` facade's graph (its recorded
    core graph, or one built from its nodes and edges)."""
    if isinstance(graph, CallGraph):
        return graph.snapshot()
    if hasattr(graph, "callflow_graph") and hasattr(graph, "nodes") and hasattr(graph, "edges"):
        core = graph.callflow_graph
        if core is not None:
            return core.snapshot()
        return _from_facade(graph)
    raise TypeError(f"{what}: expected a CallGraph (pytest_callflow or callflow_tracer), "
                    f"got {type(graph).__name__}")


def _from_facade(graph: Any) -> CallGraph:
    """A core graph from a facade graph filled by hand or ``from_dict``:
    functions and edges, no context tree."""
    name_of: Dict[str, str] = {}
    functions: Dict[str, Dict[str, Any]] = {}
    times: Dict[str, List[float]] = {}
    for full, node in graph.nodes.items():
        name = getattr(node, "callflow_name", None) or full
        name_of[full] = name
        functions[name] = {"calls": int(node.call_count)}
        total = float(node.total_time)
        times[name] = [total, float(getattr(node, "self_time", 0.0) or 0.0), 0.0]
    edges: Dict[str, Dict[str, int]] = {}
    for (caller, callee), edge in graph.edges.items():
        for end in (caller, callee):
            if end not in name_of:  # an edge to a node never added
                name_of[end] = end
                functions[end] = {"calls": 0}
                times[end] = [0.0, 0.0, 0.0]
        edges.setdefault(name_of[caller], {})[name_of[callee]] = int(edge.call_count)
    total_calls = sum(f["calls"] for f in functions.values())
    doc = {
        "schema": "callflow/1", "functions": functions, "edges": edges, "tree": [],
        "meta": {"node_cap": 0, "total_calls": total_calls, "truncated_calls": 0,
                 "truncated_paths": 0},
        "times": {"duration": float(graph.duration), "functions": times, "edges": {},
                  "tree": []},
    }
    return CallGraph.from_dict(doc)


def graph_payload(graph: Any, label: Optional[str] = None) -> Payload:
    """The columns of ``graph`` (see the module's doc)."""
    core = core_graph(graph)
    native = core._view().graph
    rows = native.functions()
    index = {row[0]: i for i, row in enumerate(rows)}
    fn: Dict[str, List[Any]] = {k: [] for k in ("name", "file", "line", "flags", "calls",
                                                "total", "self", "susp")}
    for name, file, line, flags, calls, total, self_ns, susp in rows:
        fn["name"].append(name)
        fn["file"].append(file)
        fn["line"].append(line)
        fn["flags"].append(flags)
        fn["calls"].append(calls)
        fn["total"].append(total)
        fn["self"].append(self_ns)
        fn["susp"].append(susp)
    edge: Dict[str, List[int]] = {"from": [], "to": [], "calls": [], "total": []}
    for caller, callee, calls, total in native.edges():
        edge["from"].append(index[caller])
        edge["to"].append(index[callee])
        edge["calls"].append(calls)
        edge["total"].append(total)
    tree: Dict[str, List[int]] = {k: [] for k in ("fn", "up", "calls", "total", "self", "susp")}
    for j, (node_fn, parent, n_calls, t_total, t_self, t_susp) in enumerate(native.nodes()[1:]):
        # native node j + 1; its parent's local index is parent - 1 (-1: root)
        assert node_fn is not None  # only the root is nameless
        tree["fn"].append(index[node_fn])
        tree["up"].append(j - (parent - 1))
        tree["calls"].append(n_calls)
        tree["total"].append(t_total)
        tree["self"].append(t_self)
        tree["susp"].append(t_susp)
    meta = {k: v for k, v in native.meta().items() if isinstance(v, (str, int, float))}
    info = getattr(core, "async_info", None)
    if info is None:
        info = getattr(graph, "async_info", None)
    if not (isinstance(info, Mapping) and isinstance(info.get("tasks"), list)):
        info = None  # none recorded, or another shape (the facade's own summary)
    return {"label": label, "meta": meta, "fn": fn, "edge": edge, "tree": tree,
            "async": async_payload(info) if info is not None else None}


def async_payload(info: Mapping[str, Any]) -> Payload:
    """SPEC_ASYNC's dict with its timeline as columns (times delta-coded,
    event kinds as indices into EVENT_KINDS)."""
    if not isinstance(info, Mapping):
        raise TypeError(f"async_info: expected a dict, got {type(info).__name__}")
    out = {k: v for k, v in info.items() if k != "timeline"}
    t: List[int] = []
    task: List[int] = []
    ev: List[int] = []
    last = 0
    for n, item in enumerate(info.get("timeline") or ()):
        try:
            when, tid, kind = item
            code = EVENT_KINDS.index(kind)
        except ValueError:
            raise ValueError(f"async_info timeline[{n}]: expected [t_ns, task, kind] with kind "
                             f"one of {', '.join(EVENT_KINDS)}, got {item!r}") from None
        t.append(int(when) - last)
        last = int(when)
        task.append(int(tid))
        ev.append(code)
    out["timeline"] = {"dt": t, "task": task, "ev": ev}
    return out


class Strings:
    """The page's string table: each distinct name stored once."""

    def __init__(self) -> None:
        self.items: List[str] = []
        self._index: Dict[str, int] = {}

    def add(self, text: Optional[str]) -> int:
        if text is None:
            return -1
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self.items)
            self.items.append(text)
        return found


def intern_graph(payload: Payload, strings: Strings) -> Payload:
    """``payload`` with its names and files as string-table indices."""
    fn = dict(payload["fn"])
    fn["name"] = [strings.add(n) for n in fn["name"]]
    fn["file"] = [strings.add(f) for f in fn["file"]]
    out = dict(payload)
    out["fn"] = fn
    return out
