"""The original CallFlow Tracer's graph objects (``CallNode``, ``CallEdge``,
``CallGraph``), filled from a pytest_callflow graph.

Names.  The original keys a function as ``module.function`` (``__main__``
code as the bare function name), from ``co_name``.  pytest_callflow names
it ``module:qualname``.  Here a node has ``module`` = our module, ``name`` =
our qualname and ``full_name = module + "." + qualname``, so a plain
function is exactly what the original shows (``app.core.parse``), while a
method keeps its class (``app.core.Parser.parse``, where the original says
``app.core.parse``) and a nested function its outer one
(``app.core.outer.<locals>.inner``).  A script run as ``python x.py`` is
module ``x`` (the original: bare names), the same as when ``x`` is imported.
``node.callflow_name`` holds our name.

Differences of substance: counts come from the C core, so every call is
recorded (``sampling_rate`` is kept in ``trace_options`` but not applied),
arguments are not recorded (``include_args`` likewise; ``arguments`` stays
empty), and ``min_duration_ms`` drops functions whose *average* call is
faster than the threshold (the original drops single calls)."""

import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from pytest_callflow._naming import split_name
from pytest_callflow.graph import CallGraph as CoreGraph

__all__ = ["CallEdge", "CallGraph", "CallNode", "TraceOptions"]

_STAT_KEYS = ("total_calls", "recorded_calls", "skipped_sampling", "skipped_filtering",
              "skipped_duration")


@dataclass(frozen=True)
class TraceOptions:
    """Options of a ``trace_scope`` (kept in the exported metadata)."""

    include_args: bool = False
    sampling_rate: float = 1.0
    include_modules: Optional[Tuple[str, ...]] = None
    exclude_modules: Optional[Tuple[str, ...]] = None
    min_duration_ms: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        # By hand, not dataclasses.asdict: inside a running scope that
        # would record the stdlib's helpers into the user's graph.
        return {
            "include_args": self.include_args,
            "sampling_rate": self.sampling_rate,
            "include_modules": list(self.include_modules) if self.include_modules else None,
            "exclude_modules": list(self.exclude_modules) if self.exclude_modules else None,
            "min_duration_ms": self.min_duration_ms,
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "TraceOptions":
        include = data.get("include_modules")
        exclude = data.get("exclude_modules")
        return cls(include_args=bool(data.get("include_args", False)),
                   sampling_rate=float(data.get("sampling_rate", 1.0)),
                   include_modules=tuple(include) if include else None,
                   exclude_modules=tuple(exclude) if exclude else None,
                   min_duration_ms=float(data.get("min_duration_ms", 0.0)))


class CallNode:
    """A function: ``call_count`` calls, ``total_time`` seconds inclusive."""

    def __init__(self, name: str, module: str = "") -> None:
        self.name = name
        self.module = module
        self.full_name = f"{module}.{name}" if module else name
        self.call_count = 0
        self.total_time = 0.0
        self.arguments: List[Dict[str, Optional[str]]] = []
        # Beyond the original: what the C core also knows.
        self.self_time = 0.0
        self.file: Optional[str] = None
        self.line = 0
        self.callflow_name = f"{module}:{name}" if module else name

    @property
    def avg_time(self) -> float:
        return self.total_time / max(self.call_count, 1)

    def add_call(self, duration: float, args: tuple = (), kwargs: Optional[dict] = None) -> None:
        self.call_count += 1
        self.total_time += duration
        if args or kwargs:
            self.arguments.append({"args": str(args)[:100] if args else None,
                                   "kwargs": str(kwargs)[:100] if kwargs else None})

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "full_name": self.full_name,
            "call_count": self.call_count,
            "total_time": round(self.total_time, 6),
            "avg_time": round(self.avg_time, 6),
            "arguments": self.arguments[-5:],
        }

    def __repr__(self) -> str:
        return f"<CallNode {self.full_name} calls={self.call_count}>"


class CallEdge:
    """``caller`` -> ``callee`` (full names): ``call_count`` calls taking
    ``total_time`` seconds."""

    def __init__(self, caller: str, callee: str) -> None:
        self.caller = caller
        self.callee = callee
        self.call_count = 0
        self.total_time = 0.0

    @property
    def avg_time(self) -> float:
        return self.total_time / max(self.call_count, 1)

    def add_call(self, duration: float) -> None:
        self.call_count += 1
        self.total_time += duration

    def to_dict(self) -> Dict[str, Any]:
        return {
            "caller": self.caller,
            "callee": self.callee,
            "call_count": self.call_count,
            "total_time": round(self.total_time, 6),
            "avg_time": round(self.avg_time, 6),
        }

    def __repr__(self) -> str:
        return f"<CallEdge {self.caller} -> {self.callee} calls={self.call_count}>"


def full_name(callflow_name: Optional[str]) -> str:
    """``module:qualname`` -> the node's ``full_name``, ``module.qualname``
    ("" for no name)."""
    module, qualname = split_name(callflow_name or "")
    return f"{module}.{qualname}" if module else qualname


class CallGraph:
    """``nodes``: full name -> CallNode; ``edges``: (caller, callee) ->
    CallEdge.  A graph yielded by a running ``trace_scope`` follows the
    recording as it goes and is final when the scope exits."""

    _node_class = CallNode  # what add_node and filling from the core make

    def __init__(self, trace_options: Optional[TraceOptions] = None) -> None:
        self._nodes: Dict[str, CallNode] = {}
        self._edges: Dict[Tuple[str, str], CallEdge] = {}
        self.start_time: Optional[float] = None
        self.trace_options = trace_options or TraceOptions()
        self.trace_stats: Dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)
        self._duration: Optional[float] = None
        self._source: Optional[CoreGraph] = None  # a live graph being followed
        self._core: Optional[CoreGraph] = None

    # -- the original's API --------------------------------------------------

    @property
    def nodes(self) -> Dict[str, CallNode]:
        self._sync()
        return self._nodes

    @nodes.setter
    def nodes(self, value: Dict[str, CallNode]) -> None:
        self._nodes = value

    @property
    def edges(self) -> Dict[Tuple[str, str], CallEdge]:
        self._sync()
        return self._edges

    @edges.setter
    def edges(self, value: Dict[Tuple[str, str], CallEdge]) -> None:
        self._edges = value

    def add_node(self, name: str, module: str = "") -> CallNode:
        full_name = f"{module}.{name}" if module else name
        node = self._nodes.get(full_name)
        if node is None:
            node = self._nodes[full_name] = self._node_class(name, module)
        return node

    def add_edge(self, caller: str, callee: str) -> CallEdge:
        edge = self._edges.get((caller, callee))
        if edge is None:
            edge = self._edges[(caller, callee)] = CallEdge(caller, callee)
        return edge

    def record_call(self, caller: str, callee: str, duration: float, args: tuple = (),
                    kwargs: Optional[dict] = None, skip_reason: Optional[str] = None) -> None:
        """Add one call by hand (full names ``module.function``)."""
        self.trace_stats["total_calls"] += 1
        if skip_reason is not None:
            self.trace_stats[skip_reason] = self.trace_stats.get(skip_reason, 0) + 1
            return
        self.trace_stats["recorded_calls"] += 1
        caller_module, _, caller_name = caller.rpartition(".")
        self.add_node(caller_name, caller_module)
        callee_module, _, callee_name = callee.rpartition(".")
        self.add_node(callee_name, callee_module).add_call(duration, args, kwargs)
        self.add_edge(caller, callee).add_call(duration)

    @property
    def duration(self) -> float:
        """Wall time of the recording, in seconds."""
        self._sync()
        if self._duration is not None:
            return self._duration
        return time.time() - self.start_time if self.start_time is not None else 0.0

    def to_dict(self) -> Dict[str, Any]:
        nodes = self.nodes
        edges = self.edges
        return {
            "nodes": [node.to_dict() for node in nodes.values()],
            "edges": [edge.to_dict() for edge in edges.values()],
            "metadata": {
                "total_nodes": len(nodes),
                "total_edges": len(edges),
                "trace_options": self.trace_options.to_dict(),
                "trace_stats": dict(self.trace_stats),
                "duration": round(self.duration, 6),
                "total_call_time": round(sum(n.total_time for n in nodes.values()), 6),
            },
        }

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "CallGraph":
        """Rebuild a graph from ``to_dict`` output (of this facade or of the
        original CallFlow Tracer)."""
        meta = data.get("metadata", {})
        graph = cls(TraceOptions.from_dict(meta.get("trace_options", {})))
        graph.trace_stats.update(meta.get("trace_stats", {}))
        if "duration" in meta:
            graph._duration = float(meta["duration"])
        for item in data.get("nodes", []):
            node = graph.add_node(item.get("name", ""), item.get("module", ""))
            node.call_count = int(item.get("call_count", 0))
            node.total_time = float(item.get("total_time", 0.0))
            node.arguments = list(item.get("arguments", []))
        for item in data.get("edges", []):
            edge = graph.add_edge(item.get("caller", ""), item.get("callee", ""))
            edge.call_count = int(item.get("call_count", 0))
            edge.total_time = float(item.get("total_time", 0.0))
        return graph

    # -- bridge to pytest_callflow -------------------------------------------

    @property
    def callflow_graph(self) -> Optional[CoreGraph]:
        """The pytest_callflow ``CallGraph`` this was filled from (richer:
        self time, the calling-context tree, baselines), if any."""
        self._sync()
        return self._core

    @classmethod
    def from_callflow(cls, core: CoreGraph, trace_options: Optional[TraceOptions] = None) -> "CallGraph":
        graph = cls(trace_options)
        graph._fill(core)
        return graph

    def _follow(self, live: CoreGraph) -> None:
        self._source = live

    def _sync(self) -> None:
        source = self._source
        if source is None:
            return
        if not getattr(source, "live", False):
            self._source = None  # final: fill once more and stop following
        self._fill(source)

    def _fill(self, core: CoreGraph) -> None:
        core = core.snapshot()  # a live graph: read one consistent state
        min_s = self.trace_options.min_duration_ms / 1000.0
        nodes: Dict[str, CallNode] = {}
        full_of: Dict[str, str] = {}
        skipped = 0
        for stats in core.functions():
            if min_s > 0 and stats.avg_time < min_s:
                skipped += stats.calls
                continue
            node = self._node_class(stats.qualname, stats.module)
            known = nodes.get(node.full_name)
            if known is not None:  # e.g. "a:b.c" and "a.b:c": one full name
                node = known
            else:
                nodes[node.full_name] = node
                node.file, node.line, node.callflow_name = stats.file, stats.line, stats.name
            node.call_count += stats.calls
            node.total_time += stats.total_time
            node.self_time += stats.self_time
            full_of[stats.name] = node.full_name
        edges: Dict[Tuple[str, str], CallEdge] = {}
        for e in core.edges():
            caller, callee = full_of.get(e.caller), full_of.get(e.callee)
            if caller is None or callee is None:
                continue
            edge = edges.get((caller, callee))
            if edge is None:
                edge = edges[(caller, callee)] = CallEdge(caller, callee)
            edge.call_count += e.calls
            edge.total_time += e.total_time
        total = core.total_calls
        self._nodes, self._edges, self._core = nodes, edges, core
        self._duration = core.duration
        self.trace_stats = {"total_calls": total, "recorded_calls": total - skipped,
                            "skipped_sampling": 0, "skipped_filtering": 0,
                            "skipped_duration": skipped}

    def __repr__(self) -> str:
        return f"<CallGraph {len(self.nodes)} nodes, {len(self.edges)} edges>"
