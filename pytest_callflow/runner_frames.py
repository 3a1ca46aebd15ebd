"""Take the test runner out of a test's graph.

A scope opened in a pytest hook starts inside pytest's machinery: the hook
implementations pluggy calls next (pytest's runner, its wrappers, other
plugins' hooks) are called from the top of the scope, so they are recorded
like the code of a ``with trace_scope()`` block would be: as leaves of the
root, with the test under one of them.  Here those top-level runner nodes
are dropped (and runner nodes under them, down to the first other frame)
and what they called (the test, its fixtures) moves up to the root, so a
baseline holds the project's calls only, whatever pytest version or
plugins run it.

This walks the graph's nodes, functions and edges once per test (never per
call); a scope that could start "outside the project" in libcallflow would
make it unnecessary."""

import json
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import _native
from .baseline import Entry, make_entry
from ._naming import (
    FLAG_ASYNC_GENERATOR,
    FLAG_BUILTIN,
    FLAG_COROUTINE,
    FLAG_EXTERNAL,
    FLAG_GENERATOR,
)
from .graph import CallGraph, untraced

_FLAG_NAMES = ((FLAG_ASYNC_GENERATOR, "async_generator"), (FLAG_BUILTIN, "builtin"),
               (FLAG_COROUTINE, "coroutine"), (FLAG_EXTERNAL, "external"),
               (FLAG_GENERATOR, "generator"))
_NS = 1e-9

# (function name, file or None, flags) -> True when out of the scope
Outside = Callable[[str, Optional[str], int], bool]


def _module_matcher(prefixes: Sequence[str]) -> Callable[[str], bool]:
    """libcallflow's prefix rule: "a.b" matches a.b:f and a.b.c:f, not a.bc:f."""
    prefixes = tuple(prefixes)

    def matches(name: str) -> bool:
        for p in prefixes:
            if name.startswith(p):
                rest = name[len(p):len(p) + 1]
                if rest in (":", ".") or p.endswith("."):
                    return True
        return False
    return matches


def outside_predicate(scope: Any, rootdir: str, runner: Sequence[str] = ()) -> Outside:
    """Which top-level frames are the runner's: out of the scope (its own
    classification, libcallflow's cf_scope_classify); with scope "all",
    where everything is in, the modules of ``runner`` (pytest, pluggy,
    plugins)."""
    if scope == "all":
        is_runner = _module_matcher(runner)
        return lambda name, file, flags: is_runner(name)
    if scope == "project":
        root = rootdir.rstrip("/") + "/"
        return lambda name, file, flags: bool(flags & FLAG_EXTERNAL) or file is None \
            or not file.startswith(root)
    matches = _module_matcher(scope)
    return lambda name, file, flags: not matches(name)


class _Node:
    __slots__ = ("name", "calls", "times", "children")

    def __init__(self, name: str, calls: int, times: List[int]) -> None:
        self.name = name
        self.calls = calls
        self.times = times  # [total, self, suspended] ns
        self.children: Dict[str, "_Node"] = {}

    def absorb(self, other: "_Node") -> None:
        """Add a node of the same path into this one (subtrees too)."""
        self.calls += other.calls
        self.times = [a + b for a, b in zip(self.times, other.times)]
        for name, child in other.children.items():
            mine = self.children.get(name)
            if mine is None:
                self.children[name] = child
            else:
                mine.absorb(child)


def stripped_entry(native: "_native.Graph", outside: Outside) -> Entry:
    """The baseline entry of ``native`` as ``strip_runner`` would leave it,
    computed from its rows alone (no new graph): the per-test fast path."""
    rows = native.nodes()
    info = {}
    calls = {}
    for row in native.functions():
        info[row[0]] = (row[1], row[3])
        calls[row[0]] = row[4]
    edges: Dict[str, Dict[str, int]] = {}
    for caller, callee, n, _ns in native.edges():
        edges.setdefault(caller, {})[callee] = n
    dropped: Dict[int, str] = {}  # node -> its function
    for i, node in enumerate(rows):
        name, parent, n = node[0], node[1], node[2]
        if name is None:
            continue
        if parent in dropped:
            callees = edges.get(dropped[parent])
            if callees is not None and name in callees:
                callees[name] -= n
        if parent == 0 or parent in dropped:
            file, flags = info[name]
            if outside(name, file, flags):
                dropped[i] = name
                calls[name] -= n
    return make_entry(calls, edges)


def strip_runner(graph: CallGraph, outside: Outside) -> CallGraph:
    """``graph`` without its top-level out-of-scope nodes (see above)."""
    native = graph._view().graph
    rows = native.nodes()
    functions = {row[0]: row for row in native.functions()}
    drop: set = set()
    for i, (name, parent, *_rest) in enumerate(rows):
        if (parent == 0 or parent in drop) and name is not None:
            row = functions.get(name)
            if row is not None and outside(name, row[1], row[3]):
                drop.add(i)
    if not drop:
        return graph
    with untraced():
        return CallGraph(_rebuild(native, rows, functions, drop))


def _rebuild(native: "_native.Graph", rows: Sequence[Tuple[Any, ...]],
             functions: Dict[str, Tuple[Any, ...]], drop: set) -> "_native.Graph":
    built: List[Optional[_Node]] = [None] * len(rows)
    root = _Node("", 0, [0, 0, 0])
    built[0] = root
    calls = {name: row[4] for name, row in functions.items()}
    ftimes = {name: [row[5], row[6], row[7]] for name, row in functions.items()}
    edges = {(c, e): [n, t] for c, e, n, t in native.edges()}
    for i in range(1, len(rows)):
        name, parent, n, total, self_ns, susp = rows[i]
        if parent in drop:
            # A child of a dropped runner frame: its edge goes, it moves up.
            edge = edges.get((rows[parent][0], name))
            if edge is not None:
                edge[0] -= n
                edge[1] = max(0, edge[1] - total)
        if i in drop:
            calls[name] -= n
            ft = ftimes[name]
            ftimes[name] = [max(0, ft[0] - total), max(0, ft[1] - self_ns), max(0, ft[2] - susp)]
            continue
        node = _Node(name, n, [total, self_ns, susp])
        built[i] = node
        if parent in drop:
            target = root
        else:
            target = built[parent]
            assert target is not None
        mine = target.children.get(name)
        if mine is None:
            target.children[name] = node
        else:
            mine.absorb(node)
            built[i] = mine  # later children of this row attach to the merged node
    kept_edges = {k: v for k, v in edges.items() if v[0] > 0}
    used = {name for name, n in calls.items() if n > 0}
    for (caller, callee) in kept_edges:
        used.add(caller)
        used.add(callee)
    tree: List[List[Any]] = []
    tree_times: List[List[float]] = []
    stack: List[Tuple[_Node, int]] = [(c, 0) for c in sorted(root.children.values(),
                                                               key=lambda c: c.name, reverse=True)]
    while stack:
        node, parent_index = stack.pop()
        tree.append([node.name, parent_index, node.calls])
        tree_times.append([t * _NS for t in node.times])
        used.add(node.name)
        index = len(tree)
        stack.extend((c, index) for c in sorted(node.children.values(),
                                                 key=lambda c: c.name, reverse=True))
    out_functions: Dict[str, Any] = {}
    out_ftimes: Dict[str, Any] = {}
    for name in used:
        row = functions[name]
        entry: Dict[str, Any] = {"calls": max(0, calls[name])}
        if row[1] is not None:
            entry["file"] = row[1]
        if row[2] > 0:
            entry["line"] = row[2]
        names = [label for bit, label in _FLAG_NAMES if row[3] & bit]
        if names:
            entry["flags"] = names
        out_functions[name] = entry
        out_ftimes[name] = [t * _NS for t in ftimes[name]]
    out_edges: Dict[str, Dict[str, int]] = {}
    out_etimes: Dict[str, Dict[str, float]] = {}
    for (caller, callee), (n, t) in kept_edges.items():
        out_edges.setdefault(caller, {})[callee] = n
        out_etimes.setdefault(caller, {})[callee] = t * _NS
    meta = dict(native.meta())
    meta["total_calls"] = sum(e["calls"] for e in out_functions.values())
    duration = meta.pop("duration_ns", 0)
    doc = {
        "schema": "callflow/1",
        "functions": out_functions,
        "edges": out_edges,
        "tree": tree,
        "meta": {k: v for k, v in meta.items() if v is not None},
        "times": {"duration": duration * _NS, "functions": out_ftimes, "edges": out_etimes,
                  "tree": tree_times},
    }
    return _native.Graph.loads(json.dumps(doc), "<test graph>")
