"""``trace``, ``trace_scope``, ``get_current_graph`` and ``clear_trace`` of
the original CallFlow Tracer, running on pytest_callflow's C core (no
``sys.settrace``)."""

import time
from typing import Any, Callable, Optional, Sequence, Tuple, TypeVar

import pytest_callflow.scope as core_scope
from pytest_callflow.nesting import Level, Nesting
from pytest_callflow.scope import write_on_exit
from pytest_callflow.scope import trace as _core_trace

from .exporter import check_format, export_graph
from .graph import CallGraph, TraceOptions

__all__ = ["clear_trace", "get_current_graph", "trace", "trace_scope"]

F = TypeVar("F", bound=Callable[..., Any])

_active: "Nesting[CallGraph]" = Nesting("callflow_tracer_active_graph")


def trace(func: F) -> F:
    """Trace calls of ``func`` (function, generator or async function).
    Inside a ``trace_scope`` the scope records them; outside, they go to a
    default graph that ``get_current_graph()`` returns."""
    return _core_trace(func)


def scope_setup(*, include_args: bool, include_modules: Optional[Sequence[str]],
                exclude_modules: Optional[Sequence[str]], min_duration_ms: float,
                sampling_rate: float = 1.0, **extra: Any
                ) -> Tuple[TraceOptions, core_scope.trace_scope]:
    """The options of a facade scope and the core scope recording it
    (``extra``: further arguments of the core scope)."""
    options = TraceOptions(
        include_args=include_args,
        sampling_rate=sampling_rate,
        include_modules=tuple(include_modules) if include_modules else None,
        exclude_modules=tuple(exclude_modules) if exclude_modules else None,
        min_duration_ms=min_duration_ms,
    )
    # The original keeps a call when its caller or callee matches
    # include_modules: recording those modules, with their calls out
    # as leaves, is the closest scope.
    scope = core_scope.trace_scope(
        scope=list(options.include_modules) if options.include_modules else "all",
        exclude_modules=options.exclude_modules, **extra)
    return options, scope


def start_recording(scope: core_scope.trace_scope, graph: CallGraph,
                    undo: Callable[[], None]) -> None:
    """Open the core scope and have ``graph`` follow it; when it cannot
    open, ``undo`` takes back the caller's set-up before the error goes on."""
    try:
        live = scope.__enter__()  # recording starts here
    except BaseException:
        undo()
        raise
    graph._follow(live)


class trace_scope:
    """``with trace_scope("out.json") as graph:`` records every call made in
    the block into ``graph`` (a ``CallGraph``) and, when ``output_file`` is
    given, writes it there in the original JSON shape on exit (also when
    the block raised).  ``include_modules``/``exclude_modules`` are module
    prefixes; see ``callflow_tracer.graph`` for how ``include_args``,
    ``sampling_rate`` and ``min_duration_ms`` are handled."""

    def __init__(self, output_file: Optional[str] = None, include_args: bool = False,
                 sampling_rate: float = 1.0, include_modules: Optional[Sequence[str]] = None,
                 exclude_modules: Optional[Sequence[str]] = None,
                 min_duration_ms: float = 0.0) -> None:
        if output_file is not None:
            check_format(output_file)
        self.output_file = output_file
        self.options, self._scope = scope_setup(
            include_args=include_args, sampling_rate=sampling_rate,
            include_modules=include_modules, exclude_modules=exclude_modules,
            min_duration_ms=min_duration_ms)
        self._graph: Optional[CallGraph] = None
        self._level: "Optional[Level[CallGraph]]" = None

    def __enter__(self) -> CallGraph:
        graph = CallGraph(self.options)
        graph.start_time = time.time()
        self._graph = graph
        self._level = _active.enter(graph)
        start_recording(self._scope, graph, self._reset)
        return graph

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._scope.__exit__(exc_type, exc, tb)
        self._reset()
        graph = self._graph
        if graph is not None and self.output_file is not None:
            write_on_exit(lambda path: export_graph(graph, path), self.output_file, exc_type)

    async def __aenter__(self) -> CallGraph:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def _reset(self) -> None:
        level, self._level = self._level, None
        _active.leave(level)


def get_current_graph() -> Optional[CallGraph]:
    """The graph of the innermost running ``trace_scope``; outside any
    scope, what ``@trace``d calls have recorded, or None if nothing."""
    graph = _active.get()
    if graph is not None:
        return graph
    core = core_scope.get_current_graph()
    if core_scope.active_scope() is None and len(core) == 0:
        return None
    return CallGraph.from_callflow(core.snapshot())


def clear_trace() -> None:
    """Forget what ``@trace``d calls made outside any scope recorded."""
    core_scope.clear_trace()
