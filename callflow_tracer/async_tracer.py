"""The original CallFlow Tracer's async API (``trace_async``,
``trace_scope_async``, ``AsyncCallGraph``, ``gather_traced``,
``get_async_stats``) on pytest_callflow's task-aware C core.

The original measured with wall clocks around decorated coroutines only: its
await time stayed 0 (efficiency always 100%), its "max concurrent tasks" was
a per-function peak and it named asyncio internals as callers.  Here the
core attributes every coroutine frame to its asyncio task and keeps a
concurrency timeline (``pytest_callflow.CallGraph.async_info``); this module
only presents it in the original's names and shapes.

Scope state lives in a ContextVar, never in module globals: scopes running
concurrently in different tasks each keep their own graph, and tasks created
inside a scope inherit it."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import math
import os
import time
from typing import (Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar,
                    Union, cast)

import pytest_callflow.scope as core_scope
from pytest_callflow.graph import CallGraph as CoreGraph
from pytest_callflow.graph import untraced
from pytest_callflow.nesting import Level, Nesting
from pytest_callflow.scope import write_on_exit

from . import tracer as _tracer
from .exporter import SUPPORTED_FORMATS, export_json
from .graph import CallGraph, CallNode, TraceOptions, full_name

__all__ = ["AsyncCallGraph", "AsyncCallNode", "gather_traced", "get_async_stats", "trace_async",
           "trace_scope_async"]

F = TypeVar("F", bound=Callable[..., Any])
PathArg = Union[str, "os.PathLike[str]"]

# The original's to_dict keeps the first 100 timeline events.
TIMELINE_IN_DICT = 100
_NS = 1e-9

_task_names = itertools.count(1)  # next() on a count is atomic: no lock needed


# ---------------------------------------------------------------------------
# graph objects


class AsyncCallNode(CallNode):
    """A function with what the core knows of it as a coroutine:
    ``await_time`` (suspended), ``active_time`` (running, callees
    included; ``total_time = active_time + await_time`` for a coroutine),
    ``max_concurrent`` (peak of its tasks in flight at once, 0 when it never
    was a task's top function) and ``concurrent_calls`` (its tasks still in
    flight when the graph was read)."""

    def __init__(self, name: str, module: str = "") -> None:
        super().__init__(name, module)
        self.is_async = False
        self.await_time = 0.0
        self.active_time = 0.0
        self.max_concurrent = 0
        self.concurrent_calls = 0

    def to_dict(self) -> Dict[str, Any]:
        data = super().to_dict()
        data.update({
            "is_async": self.is_async,
            "concurrent_calls": self.concurrent_calls,
            "max_concurrent": self.max_concurrent,
            "await_time": round(self.await_time, 6),
            "active_time": round(self.active_time, 6),
        })
        return data


class AsyncCallGraph(CallGraph):
    """The facade ``CallGraph`` whose nodes are ``AsyncCallNode`` s, plus
    ``async_info`` (the core's task figures, with ``gather_traced`` groups
    resolved to task ids), ``async_nodes``, ``concurrent_tasks`` and
    ``task_timeline`` in the original's shapes."""

    def __init__(self, trace_options: Optional[TraceOptions] = None) -> None:
        super().__init__(trace_options)
        self._async: Optional[Dict[str, Any]] = None
        self._timeline: Optional[List[Dict[str, Any]]] = None
        # gather_traced groups as task names; ids are known only to the core.
        self._groups: List[Dict[str, Any]] = []

    _node_class = AsyncCallNode

    # -- the original's attributes ---------------------------------------------

    def add_node(self, name: str, module: str = "") -> AsyncCallNode:
        return super().add_node(name, module)  # type: ignore[return-value]

    @property
    def async_nodes(self) -> Dict[str, AsyncCallNode]:
        """Coroutine and async generator functions, by full name."""
        return {k: n for k, n in self.nodes.items() if isinstance(n, AsyncCallNode) and n.is_async}

    @property
    def async_info(self) -> Optional[Dict[str, Any]]:
        """The core's async figures (``pytest_callflow.CallGraph.async_info``: tasks, timeline,
        peak_concurrency, avg_concurrency, per_function_peak, blocking,
        longest_step_ns, groups), or None when no asyncio task ran."""
        self._sync()
        return self._async

    @property
    def concurrent_tasks(self) -> Dict[str, Dict[str, int]]:
        """Per task top function (full name): ``max`` tasks of it in flight
        at once, ``count`` still in flight, ``tasks`` started in all."""
        info = self.async_info
        if not info:
            return {}
        out: Dict[str, Dict[str, int]] = {}
        for name, peak in sorted(info.get("per_function_peak", {}).items()):
            out[full_name(name)] = {"count": 0, "max": int(peak), "tasks": 0}
        for task in info.get("tasks", []):
            entry = out.get(full_name(task.get("function")))
            if entry is not None:
                entry["tasks"] += 1
                entry["count"] += task.get("state") == "pending"
        return out

    @property
    def task_timeline(self) -> List[Dict[str, Any]]:
        """``{"time" (s from the scope's start), "task" (its top function),
        "task_id", "task_name", "event"}`` per recorded event."""
        info = self.async_info
        if not info:
            return []
        if self._timeline is None:
            tasks = {t["id"]: t for t in info.get("tasks", [])}
            timeline = []
            for t_ns, task_id, event in info.get("timeline", []):
                task = tasks.get(task_id, {})
                timeline.append({"time": t_ns * _NS,
                                 "task": full_name(task.get("function")) or task.get("name"),
                                 "task_id": task_id, "task_name": task.get("name"),
                                 "event": event})
            self._timeline = timeline
        return self._timeline

    # -- filling from the core ---------------------------------------------------

    def _fill(self, core: CoreGraph) -> None:
        core = core.snapshot()  # one consistent state for nodes and tasks
        super()._fill(core)  # AsyncCallNodes (_node_class), with their counts and times
        nodes = cast(Dict[str, AsyncCallNode], self._nodes)
        info = core.async_info
        peaks = info.get("per_function_peak", {}) if info else {}
        for stats in core.functions():
            node = nodes.get(full_name(stats.name))
            if node is None:
                continue  # dropped by min_duration_ms
            node.is_async = node.is_async or stats.is_coroutine or stats.is_async_generator
            node.await_time += stats.suspended_time
            node.active_time += stats.active_time
            node.max_concurrent = max(node.max_concurrent, int(peaks.get(stats.name, 0)))
        if info:
            for task in info.get("tasks", []):
                owner = nodes.get(full_name(task.get("function")))
                if owner is not None and task.get("state") == "pending":
                    owner.concurrent_calls += 1
        self._async = self._with_groups(info)
        self._timeline = None

    def _with_groups(self, info: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        """``info`` with the gather_traced groups added, task names resolved
        to the core's task ids (a task the core never saw run is left out)."""
        if info is None:
            return None
        info = dict(info)
        ids: Dict[str, List[int]] = {}
        for task in info.get("tasks", []):
            ids.setdefault(task.get("name"), []).append(task["id"])
        groups = list(info.get("groups") or [])
        for group in self._groups:
            found = [i for name in group["names"] for i in ids.get(name, [])]
            groups.append({"label": group["label"], "tasks": found})
        info["groups"] = groups
        return info

    # -- dicts -------------------------------------------------------------------

    def to_dict(self) -> Dict[str, Any]:
        data = super().to_dict()
        info = self.async_info or {}
        timeline = [dict(e, time=round(e["time"], 6)) for e in self.task_timeline[:TIMELINE_IN_DICT]]
        data["metadata"]["async_info"] = {
            # the original's keys
            "total_async_functions": len(self.async_nodes),
            "concurrent_tasks": self.concurrent_tasks,
            "task_timeline": timeline,
            # the core's figures (times in ns, as recorded)
            **{k: v for k, v in info.items() if k != "timeline"},
            "timeline_events": len(info.get("timeline", [])) + int(info.get("timeline_dropped", 0)),
        }
        return data

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "AsyncCallGraph":
        """Rebuild from ``to_dict`` output (this facade's, the original's or
        a plain facade graph's)."""
        graph = super().from_dict(data)
        assert isinstance(graph, AsyncCallGraph)
        for item in data.get("nodes", []):
            node = graph.add_node(item.get("name", ""), item.get("module", ""))
            node.is_async = bool(item.get("is_async", False))
            node.await_time = float(item.get("await_time", 0.0))
            node.active_time = float(item.get("active_time", node.total_time - node.await_time))
            node.max_concurrent = int(item.get("max_concurrent", 0))
            node.concurrent_calls = int(item.get("concurrent_calls", 0))
        saved = data.get("metadata", {}).get("async_info") or {}
        if "tasks" in saved:  # our own: the core's figures (the timeline beyond 100 is gone)
            info = {k: v for k, v in saved.items()
                    if k not in ("total_async_functions", "concurrent_tasks", "task_timeline",
                                 "timeline_events")}
            info["timeline"] = [[int(round(e["time"] / _NS)), e["task_id"], e["event"]]
                                for e in saved.get("task_timeline", []) if "task_id" in e]
            info["timeline_dropped"] = max(
                0, int(saved.get("timeline_events", 0)) - len(info["timeline"]))
            graph._async = info
        return graph

    def __repr__(self) -> str:
        info = self.async_info
        tasks = len(info["tasks"]) if info else 0
        return f"<AsyncCallGraph {len(self.nodes)} nodes, {len(self.edges)} edges, {tasks} tasks>"


# ---------------------------------------------------------------------------
# scopes


# The running trace_scope_async graphs (where gather_traced puts groups),
# innermost first: the enclosing scopes see the same tasks.
_scope: "Nesting[AsyncCallGraph]" = Nesting("callflow_tracer_async_scope")


def _check_output(output_file: Optional[PathArg]) -> Optional[str]:
    if output_file is None:
        return None
    path = os.fspath(output_file)
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in SUPPORTED_FORMATS:
        raise ValueError(f"trace_scope_async cannot write {path!r}: unsupported format "
                         f"{suffix or '(none)'}; supported formats: {', '.join(SUPPORTED_FORMATS)}")
    return path


def _check_threshold(value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"trace_scope_async: blocking_threshold must be a positive number of "
                         f"seconds, got {value!r}")
    return float(value)


def _export(graph: AsyncCallGraph, path: str) -> None:
    if not path.lower().endswith(".html"):
        export_json(graph, path)
        return
    from pytest_callflow.html import export_html  # imported lazily: only for .html
    core = graph.callflow_graph
    if core is not None:  # the page reads the core graph: give it the groups too
        export_html(CoreGraph(core.to_native(), graph.async_info), path)
    else:
        export_html(graph, path)


class trace_scope_async:
    """``async with trace_scope_async("out.html") as graph:`` records every
    call made in the block, with its asyncio tasks, into ``graph`` (an
    ``AsyncCallGraph``); ``output_file`` (``.json``: the original's JSON
    shape; ``.html``: the report page) is written on exit, also when the
    block raised.  ``blocking_threshold`` (seconds, the core's default 0.1
    when None): a task step running longer counts as blocking the loop.
    The other options are those of ``trace_scope``."""

    def __init__(self, output_file: Optional[PathArg] = None, include_args: bool = False, *,
                 include_modules: Optional[Sequence[str]] = None,
                 exclude_modules: Optional[Sequence[str]] = None,
                 min_duration_ms: float = 0.0,
                 blocking_threshold: Optional[float] = None) -> None:
        self.output_file = _check_output(output_file)
        extra: Dict[str, Any] = {}
        threshold = _check_threshold(blocking_threshold)
        if threshold is not None:
            extra["blocking_threshold"] = threshold
        self.options, self._scope = _tracer.scope_setup(
            include_args=include_args, include_modules=include_modules,
            exclude_modules=exclude_modules, min_duration_ms=min_duration_ms, **extra)
        self._graph: Optional[AsyncCallGraph] = None
        self._levels: "Optional[Tuple[Level[AsyncCallGraph], Level[CallGraph]]]" = None

    async def __aenter__(self) -> AsyncCallGraph:
        if self._levels is not None:
            raise RuntimeError("this trace_scope_async is already running")
        graph = AsyncCallGraph(self.options)
        graph.start_time = time.time()
        self._graph = graph
        self._levels = (_scope.enter(graph), _tracer._active.enter(graph))
        _tracer.start_recording(self._scope, graph, self._leave)
        return graph

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._scope.__exit__(exc_type, exc, tb)
        self._leave()
        graph = self._graph
        if graph is not None and self.output_file is not None:
            write_on_exit(lambda path: _export(graph, path), self.output_file, exc_type)

    def _leave(self) -> None:
        levels, self._levels = self._levels, None
        if levels is not None:  # tasks outliving the scope no longer add to it
            _scope.leave(levels[0])
            _tracer._active.leave(levels[1])

    def __enter__(self) -> None:
        raise TypeError("trace_scope_async is an async context manager: use "
                        "'async with trace_scope_async(...)', or trace_scope for 'with'")

    def __exit__(self, *exc: Any) -> None:
        return None


# ---------------------------------------------------------------------------
# decorator, gather, stats


def trace_async(func: F) -> F:
    """Trace calls of an async function (or async generator function):
    inside a scope the scope records them; outside, the default graph of
    ``get_current_graph()``.  Name, signature, return value and exceptions
    are the function's own.  TypeError for anything else."""
    if not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)):
        name = getattr(func, "__qualname__", None) or repr(func)
        raise TypeError(f"trace_async: {name} is not an async function; "
                        f"use @trace for sync functions")
    return core_scope.trace(func)


async def gather_traced(*aws: Awaitable[Any], return_exceptions: bool = False) -> List[Any]:
    """``asyncio.gather`` whose tasks are recorded as one group in the
    running ``trace_scope_async`` (and the scopes around it): results in
    order, exceptions and cancellation exactly as ``asyncio.gather``.
    Coroutines become tasks named ``callflow-gather-<n>`` so the core's task
    records can be matched to the group."""
    scopes = list(_scope.open_values())
    if not scopes or not aws:
        return await asyncio.gather(*aws, return_exceptions=return_exceptions)
    with untraced():  # our own checks stay out of the user's graph
        bad = [i for i, aw in enumerate(aws) if not inspect.isawaitable(aw)]
        if bad:
            for other in aws:  # nothing started: no "never awaited" warnings either
                if asyncio.iscoroutine(other):
                    other.close()
    if bad:
        raise TypeError(f"gather_traced: argument {bad[0]} is not awaitable: {aws[bad[0]]!r}")
    loop = asyncio.get_running_loop()
    made: Dict[int, "asyncio.Future[Any]"] = {}
    names: List[str] = []
    for aw in aws:
        if id(aw) in made:
            continue  # the same awaitable twice: one task, as gather does
        if asyncio.iscoroutine(aw):
            fut: "asyncio.Future[Any]" = loop.create_task(aw, name=_new_task_name())
        else:
            fut = asyncio.ensure_future(aw, loop=loop)
            if isinstance(fut, asyncio.Task) and fut is not aw:
                fut.set_name(_new_task_name())  # an awaitable wrapped here
        made[id(aw)] = fut
        if isinstance(fut, asyncio.Task):
            names.append(fut.get_name())
    for graph in scopes:
        groups = graph._groups
        groups.append({"label": f"gather_traced #{len(groups) + 1}", "names": names})
    return await asyncio.gather(*(made[id(aw)] for aw in aws),
                                return_exceptions=return_exceptions)


def _new_task_name() -> str:
    return f"callflow-gather-{next(_task_names)}"


def _as_async_graph(graph: Any) -> AsyncCallGraph:
    if isinstance(graph, AsyncCallGraph):
        return graph
    if isinstance(graph, CoreGraph):
        return cast(AsyncCallGraph, AsyncCallGraph.from_callflow(graph))
    if isinstance(graph, CallGraph):
        core = graph.callflow_graph
        if core is not None:
            return cast(AsyncCallGraph, AsyncCallGraph.from_callflow(core, graph.trace_options))
        return AsyncCallGraph.from_dict(graph.to_dict())
    raise TypeError(f"get_async_stats expects a call graph (callflow_tracer.CallGraph or "
                    f"pytest_callflow.CallGraph), got {type(graph).__name__}")


def get_async_stats(graph: Any) -> Dict[str, Any]:
    """``{total_async_functions, total_async_time, total_await_time,
    total_active_time, efficiency, max_concurrent_tasks, concurrent_tasks,
    timeline_events}`` (seconds; efficiency = active / (active + await) in
    %).  Times are summed over the tasks (each task's wall time in the
    scope, split into running and suspended), so a coroutine awaiting
    another is not counted twice; without tasks, over the async functions.
    ``max_concurrent_tasks`` is the peak of tasks in flight at once, across
    all functions; ``concurrent_tasks`` per function as the original."""
    g = _as_async_graph(graph)
    async_nodes = g.async_nodes
    info = g.async_info
    tasks = info.get("tasks", []) if info else []
    if tasks:
        end_ns = int(round(g.duration / _NS))
        active_ns = sum(int(t.get("active_ns", 0)) for t in tasks)
        wall_ns = sum(max(0, (t["end_ns"] if t.get("end_ns") is not None else end_ns)
                          - int(t.get("start_ns", 0))) for t in tasks)
        active = active_ns * _NS
        awaited = max(0, wall_ns - active_ns) * _NS
    else:
        active = sum(n.active_time for n in async_nodes.values())
        awaited = sum(n.await_time for n in async_nodes.values())
    total = active + awaited
    peak = int(info.get("peak_concurrency", 0)) if info else max(
        (n.max_concurrent for n in async_nodes.values()), default=0)
    events = (len(info.get("timeline", [])) + int(info.get("timeline_dropped", 0))) if info else 0
    return {
        "total_async_functions": len(async_nodes),
        "total_async_time": round(total, 6),
        "total_await_time": round(awaited, 6),
        "total_active_time": round(active, 6),
        "efficiency": round(active / total * 100.0, 2) if total > 0 else 0.0,
        "max_concurrent_tasks": peak,
        "concurrent_tasks": g.concurrent_tasks,
        "timeline_events": events,
    }
