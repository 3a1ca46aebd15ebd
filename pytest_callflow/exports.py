"""Exports of a ``CallGraph`` to the formats other tools read.

- ``speedscope``: speedscope's JSON file format (a "sampled" profile: one
  weighted stack per calling-context path; https://www.speedscope.app).
- ``pstats``: the marshalled stats dict of cProfile, for ``pstats.Stats``,
  snakeviz and gprof2dot.
- ``collapsed``: folded stacks (``a;b;c 42`` per path) for flamegraph.pl,
  inferno and speedscope.
- ``dot``: a Graphviz digraph of functions and caller->callee edges.
- ``chrome``: Chrome's trace event format (complete "X" events), for
  Perfetto and chrome://tracing.

There is no timeline in a call graph, only the calling-context tree: the
speedscope, collapsed and chrome exports lay it out with each path once,
children in tree order.  ``value`` chooses what the widths are: "time" (self
time of each path; inclusive time for chrome), "calls", or "auto" (time when
the graph carries times, else calls: a graph saved with ``times=False``)."""

from __future__ import annotations

import json
import marshal
import os
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, Union

from .baseline import write_atomic
from .graph import CallGraph, untraced

if TYPE_CHECKING:
    from .graph import ContextNode

PathArg = Union[str, "os.PathLike[str]"]

FORMATS = ("speedscope", "pstats", "collapsed", "dot", "chrome")
VALUES = ("auto", "time", "calls")

#: The file name ending each format is usually given.
SUFFIXES = {
    "speedscope": ".speedscope.json",
    "pstats": ".pstats",
    "collapsed": ".folded",
    "dot": ".dot",
    "chrome": ".trace.json",
}

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"

__all__ = [
    "FORMATS",
    "export",
    "export_chrome",
    "export_collapsed",
    "export_dot",
    "export_pstats",
    "export_speedscope",
    "render",
]


# ---------------------------------------------------------------------------
# helpers


def _check_graph(graph: Any) -> CallGraph:
    if isinstance(graph, CallGraph):
        return graph
    core = getattr(graph, "callflow_graph", None)  # a callflow_tracer graph
    if isinstance(core, CallGraph):
        return core
    raise TypeError(f"expected a pytest_callflow CallGraph, got {type(graph).__name__}")


def has_times(graph: CallGraph) -> bool:
    """Whether the graph carries times (a graph saved with ``times=False``
    reads back with every time 0)."""
    return any(f.total_time > 0 for f in graph.functions())


def _value(graph: CallGraph, value: str) -> str:
    if value not in VALUES:
        raise ValueError(f"value must be one of {', '.join(VALUES)}, got {value!r}")
    if value == "auto":
        return "time" if has_times(graph) else "calls"
    return value


def _ns(seconds: float) -> int:
    return int(round(seconds * 1e9))


def _preorder(root: "ContextNode") -> Iterator[Tuple["ContextNode", Tuple[str, ...]]]:
    """Non-root nodes depth first, children in order, with their paths
    (iterative: a 5,000-deep recursion is a 5,000-deep tree)."""
    stack: List[Tuple["ContextNode", Tuple[str, ...]]] = [
        (child, (child.name or "?",)) for child in reversed(root.children)]
    while stack:
        node, path = stack.pop()
        yield node, path
        for child in reversed(node.children):
            stack.append((child, path + (child.name or "?",)))


def write_output(path: PathArg, data: Union[str, bytes]) -> None:
    """Replace ``path`` atomically (``baseline.write_atomic``), creating
    missing parent directories; OSError names the path."""
    target = os.fspath(path)
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {target}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------
# speedscope


def speedscope_dict(graph: CallGraph, *, value: str = "auto",
                    title: Optional[str] = None) -> Dict[str, Any]:
    """The speedscope document: one frame per function, one sample per
    calling-context path weighted by its self time (ns) or its calls."""
    graph = _check_graph(graph)
    kind = _value(graph, value)
    functions = {f.name: f for f in graph.functions()}
    frames: List[Dict[str, Any]] = []
    index: Dict[str, int] = {}
    samples: List[List[int]] = []
    weights: List[int] = []

    def frame(name: str) -> int:
        i = index.get(name)
        if i is None:
            i = index[name] = len(frames)
            entry: Dict[str, Any] = {"name": name}
            stats = functions.get(name)
            if stats is not None and stats.file:
                entry["file"] = stats.file
                if stats.line:
                    entry["line"] = stats.line
            frames.append(entry)
        return i

    for node, path in _preorder(graph.root):
        weight = _ns(node.self_time) if kind == "time" else node.calls
        if weight <= 0:
            continue
        samples.append([frame(name) for name in path])
        weights.append(weight)
    name = title or "callflow"
    return {
        "$schema": SPEEDSCOPE_SCHEMA,
        "exporter": "pytest-callflow",
        "name": name,
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [{
            "type": "sampled",
            "name": f"{name} ({'self time' if kind == 'time' else 'calls'})",
            "unit": "nanoseconds" if kind == "time" else "none",
            "startValue": 0,
            "endValue": sum(weights),
            "samples": samples,
            "weights": weights,
        }],
    }


# ---------------------------------------------------------------------------
# pstats


def _pstats_keys(graph: CallGraph) -> Dict[str, Tuple[str, int, str]]:
    """(file, line, funcname) per function, unique: cProfile's shape, with
    ("~", 0, name) for code without a file (C functions, synthetic code)."""
    keys: Dict[str, Tuple[str, int, str]] = {}
    used: Dict[Tuple[str, int, str], str] = {}
    for f in graph.functions():
        key = (f.file, f.line, f.qualname) if f.file else ("~", 0, f.name)
        if key in used:  # e.g. one file, line and qualname under two names
            key = (key[0], key[1], f.name)
        n = 2
        base = key
        while key in used:
            key = (base[0], base[1], f"{base[2]}#{n}")
            n += 1
        used[key] = f.name
        keys[f.name] = key
    return keys


def pstats_dict(graph: CallGraph) -> Dict[Tuple[str, int, str], Tuple[Any, ...]]:
    """cProfile's stats: {(file, line, funcname): (cc, nc, tt, ct,
    {caller: (nc, cc, tt, ct)})}.  nc = calls, cc = primitive
    (non-recursive) calls, tt = self time, ct = inclusive time (seconds);
    callers from the edges, their self time and primitive calls from the
    context tree."""
    graph = _check_graph(graph)
    keys = _pstats_keys(graph)
    recursive: Dict[str, int] = {}
    edge_self: Dict[Tuple[str, str], float] = {}
    edge_recursive: Dict[Tuple[str, str], int] = {}
    # Enter/exit walk keeping the names on the current path: a node whose
    # function is already on its path is a recursive call.
    active: Dict[str, int] = {}
    stack: List[Tuple["ContextNode", Optional[str], bool]] = [
        (child, None, False) for child in reversed(graph.root.children)]
    while stack:
        node, parent, leaving = stack.pop()
        name = node.name or "?"
        if leaving:
            active[name] -= 1
            continue
        is_rec = active.get(name, 0) > 0
        if is_rec:
            recursive[name] = recursive.get(name, 0) + node.calls
        if parent is not None:
            edge = (parent, name)
            edge_self[edge] = edge_self.get(edge, 0.0) + node.self_time
            if is_rec:
                edge_recursive[edge] = edge_recursive.get(edge, 0) + node.calls
        active[name] = active.get(name, 0) + 1
        stack.append((node, parent, True))
        for child in reversed(node.children):
            stack.append((child, name, False))

    callers: Dict[str, Dict[Tuple[str, int, str], Tuple[int, int, float, float]]] = {
        name: {} for name in keys}
    for e in graph.edges():
        if e.caller not in keys or e.callee not in keys:
            continue
        nc = e.calls
        cc = max(nc - edge_recursive.get((e.caller, e.callee), 0), 0)
        callers[e.callee][keys[e.caller]] = (
            nc, cc, edge_self.get((e.caller, e.callee), 0.0), e.total_time)
    stats: Dict[Tuple[str, int, str], Tuple[Any, ...]] = {}
    for f in graph.functions():
        cc = max(f.calls - recursive.get(f.name, 0), 0)
        stats[keys[f.name]] = (cc, f.calls, f.self_time, f.total_time, callers[f.name])
    return stats


# ---------------------------------------------------------------------------
# collapsed stacks


def _fold_name(name: str) -> str:
    """A frame for folded stacks: ";" separates frames and a line ends at
    a newline, so those (and "%", the escape itself) are %-escaped."""
    return (name.replace("%", "%25").replace(";", "%3B")
            .replace("\n", "%0A").replace("\r", "%0D"))


def collapsed_text(graph: CallGraph, *, value: str = "auto") -> str:
    """One line per calling-context path, ``a;b;c <value>``: the self time
    of the path in whole microseconds, or its calls (flamegraph.pl adds a
    frame's descendants to its width, so with calls a frame is as wide as
    the calls made on and below it)."""
    graph = _check_graph(graph)
    kind = _value(graph, value)
    lines = []
    for node, path in _preorder(graph.root):
        amount = int(round(node.self_time * 1e6)) if kind == "time" else node.calls
        lines.append(f"{';'.join(_fold_name(n) for n in path)} {amount}")
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------------------
# DOT


def _dot_string(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, line
    breaks as DOT's own ``\\n``."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{text}"'


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def _heat(share: float) -> str:
    """White (no self time) to red (all of it)."""
    share = min(max(share, 0.0), 1.0)
    level = int(round(255 - 175 * share))
    return f"#ff{level:02x}{level:02x}"


def dot_text(graph: CallGraph, *, title: Optional[str] = None) -> str:
    """A digraph: a box per function (name, calls, inclusive and self time,
    shaded by its share of the self time), an arrow per edge labelled with
    its calls."""
    graph = _check_graph(graph)
    timed = has_times(graph)
    functions = list(graph.functions())
    total_self = sum(f.self_time for f in functions) or 1.0
    ids = {f.name: f"n{i}" for i, f in enumerate(functions)}
    out = ["digraph callflow {"]
    graph_attrs = ["rankdir=TB", 'fontname="Helvetica"']
    if title:
        graph_attrs += [f"label={_dot_string(title)}", "labelloc=t"]
    out.append(f"  graph [{', '.join(graph_attrs)}];")
    out.append('  node [shape=box, style="rounded,filled", fontname="Helvetica", '
               'fillcolor="#ffffff"];')
    out.append('  edge [fontname="Helvetica", fontsize=10];')
    for f in functions:
        label = f"{f.name}\n{f.calls} call{'s' if f.calls != 1 else ''}"
        attrs = []
        if timed:
            label += f"\ntotal {_ms(f.total_time)}\nself {_ms(f.self_time)}"
            attrs.append(f'fillcolor="{_heat(f.self_time / total_self)}"')
        tooltip = f.name if not f.file else f"{f.name} ({f.file}:{f.line})"
        attrs = [f"label={_dot_string(label)}", f"tooltip={_dot_string(tooltip)}"] + attrs
        out.append(f"  {ids[f.name]} [{', '.join(attrs)}];")
    for e in graph.edges():
        if e.caller in ids and e.callee in ids:
            out.append(f"  {ids[e.caller]} -> {ids[e.callee]} "
                       f"[label={_dot_string(str(e.calls))}];")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Chrome trace events


def chrome_dict(graph: CallGraph, *, value: str = "auto",
                title: Optional[str] = None) -> Dict[str, Any]:
    """Chrome's trace event format: a complete ("X") event per context-tree
    path.  There is no timeline, so the tree is laid out: the root's
    children one after another from 0, each node's children one after
    another from its start, each as long as its inclusive time (or, with
    ``value="calls"``, 1 us per call made on and below it).  Children whose
    lengths add up to more than their parent's (threads that ran in
    parallel) are scaled down to fit: every event nests in its parent's."""
    graph = _check_graph(graph)
    kind = _value(graph, value)
    root = graph.root

    # Lengths in integer ns (calls: 1000 "ns" = 1 us per call), computed
    # bottom-up so that the calls layout can add up subtrees.
    order = [node for node, _path in _preorder(root)]
    length: Dict[int, int] = {}
    for node in reversed(order):
        if kind == "time":
            length[id(node)] = _ns(node.total_time)
        else:
            length[id(node)] = 1000 * node.calls + sum(length[id(c)] for c in node.children)

    events: List[Dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": 1, "tid": 1,
         "args": {"name": title or "callflow"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 1,
         "args": {"name": "calling-context tree"}},
    ]

    def place(children: List["ContextNode"], start: int, room: Optional[int]) -> List[Tuple[
            "ContextNode", int, int]]:
        lengths = [length[id(c)] for c in children]
        total = sum(lengths)
        if room is not None and total > room and total > 0:
            lengths = [n * room // total for n in lengths]
        placed, at = [], start
        for child, n in zip(children, lengths):
            placed.append((child, at, n))
            at += n
        return placed

    stack = list(reversed(place(root.children, 0, None)))
    while stack:
        node, start, dur = stack.pop()
        events.append({
            "ph": "X", "name": node.name or "?", "cat": "function",
            "pid": 1, "tid": 1, "ts": start / 1000, "dur": dur / 1000,
            "args": {"calls": node.calls, "self_us": round(node.self_time * 1e6, 3),
                     "total_us": round(node.total_time * 1e6, 3)},
        })
        stack.extend(reversed(place(node.children, start, dur)))
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "exporter": "pytest-callflow",
            "layout": ("calling-context tree laid out by inclusive time" if kind == "time"
                       else "calling-context tree, 1 us per call"),
        },
    }


# ---------------------------------------------------------------------------
# entry points


def render(graph: CallGraph, format: str, *, value: str = "auto",
           title: Optional[str] = None) -> Union[str, bytes]:
    """The export as text (bytes for pstats)."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; choose from {', '.join(FORMATS)}")
    graph = _check_graph(graph)
    with untraced():  # the tracer's own work stays out of a running scope
        if format == "speedscope":
            return json.dumps(speedscope_dict(graph, value=value, title=title),
                              separators=(",", ":"))
        if format == "pstats":
            return marshal.dumps(pstats_dict(graph))
        if format == "collapsed":
            return collapsed_text(graph, value=value)
        if format == "dot":
            return dot_text(graph, title=title)
        return json.dumps(chrome_dict(graph, value=value, title=title), separators=(",", ":"))


def export(graph: CallGraph, path: PathArg, format: str, *, value: str = "auto",
           title: Optional[str] = None) -> None:
    """Write ``graph`` to ``path`` in ``format`` (one of FORMATS),
    atomically."""
    data = render(graph, format, value=value, title=title)
    with untraced():
        write_output(path, data)


def export_speedscope(graph: CallGraph, path: PathArg, *, value: str = "auto",
                      title: Optional[str] = None) -> None:
    export(graph, path, "speedscope", value=value, title=title)


def export_pstats(graph: CallGraph, path: PathArg) -> None:
    export(graph, path, "pstats")


def export_collapsed(graph: CallGraph, path: PathArg, *, value: str = "auto") -> None:
    export(graph, path, "collapsed", value=value)


def export_dot(graph: CallGraph, path: PathArg, *, title: Optional[str] = None) -> None:
    export(graph, path, "dot", title=title)


def export_chrome(graph: CallGraph, path: PathArg, *, value: str = "auto",
                  title: Optional[str] = None) -> None:
    export(graph, path, "chrome", value=value, title=title)
