"""pytest-callflow: call-flow tracing (calls, edges, calling-context tree,
times) on a C core, as a library and a pytest plugin.

    from pytest_callflow import trace_scope

    with trace_scope() as graph:
        run()
    graph.calls("app.core:parse")
"""

from . import _native
from ._naming import (
    FLAG_ASYNC_GENERATOR,
    FLAG_BUILTIN,
    FLAG_COROUTINE,
    FLAG_EXTERNAL,
    FLAG_GENERATOR,
    FLAG_SELF,
    builtin_namer,
    namer,
)
from .graph import CallGraph, ContextNode, EdgeStats, FunctionStats
from .scope import LiveCallGraph, clear_trace, get_current_graph, trace, trace_scope
from .comparison import compare_graphs
from .exports import (
    export,
    export_chrome,
    export_collapsed,
    export_dot,
    export_pstats,
    export_speedscope,
)

__version__ = "0.1.0"

__all__ = [
    "CallGraph",
    "ContextNode",
    "EdgeStats",
    "FunctionStats",
    "LiveCallGraph",
    "__version__",
    "clear_trace",
    "compare_graphs",
    "export",
    "export_chrome",
    "export_collapsed",
    "export_dot",
    "export_pstats",
    "export_speedscope",
    "get_current_graph",
    "trace",
    "trace_scope",
]


def _check_flags() -> None:
    # _naming mirrors the C flag values so it can stay free of the
    # extension; a mismatch would silently mislabel every function.
    mine = {
        "FLAG_GENERATOR": FLAG_GENERATOR,
        "FLAG_COROUTINE": FLAG_COROUTINE,
        "FLAG_ASYNC_GENERATOR": FLAG_ASYNC_GENERATOR,
        "FLAG_BUILTIN": FLAG_BUILTIN,
        "FLAG_EXTERNAL": FLAG_EXTERNAL,
        "FLAG_SELF": FLAG_SELF,
    }
    for key, value in mine.items():
        if getattr(_native, key) != value:
            raise ImportError(
                f"pytest_callflow._native.{key} is {getattr(_native, key)}, "
                f"the Python layer expects {value}: rebuild the extension")


_check_flags()
_native.set_namer(namer, builtin_namer)
