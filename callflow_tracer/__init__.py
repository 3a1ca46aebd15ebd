"""Drop-in replacement of the original CallFlow Tracer's basic API, on
pytest_callflow's C core::

    from callflow_tracer import trace, trace_scope

    with trace_scope("trace.json") as graph:
        main()
    print(len(graph.nodes), "functions")

See ``callflow_tracer.graph`` for how names and options map."""

from pytest_callflow import __version__

from .async_tracer import (
    AsyncCallGraph,
    AsyncCallNode,
    gather_traced,
    get_async_stats,
    trace_async,
    trace_scope_async,
)
from .comparison import compare_graphs, export_comparison_html
from .exporter import export_graph, export_html, export_json
from .graph import CallEdge, CallGraph, CallNode, TraceOptions
from .memory_leak_detector import (
    MemoryLeakDetector,
    MemorySnapshot,
    ObjectTracker,
    detect_leaks,
    find_reference_cycles,
    get_memory_growth,
    get_top_memory_consumers,
    track_allocations,
)
from .memory_leak_visualizer import export_leak_report
from .tracer import clear_trace, get_current_graph, trace, trace_scope

__all__ = [
    "AsyncCallGraph",
    "AsyncCallNode",
    "CallEdge",
    "CallGraph",
    "CallNode",
    "MemoryLeakDetector",
    "MemorySnapshot",
    "ObjectTracker",
    "TraceOptions",
    "__version__",
    "clear_trace",
    "compare_graphs",
    "detect_leaks",
    "export_comparison_html",
    "export_graph",
    "export_html",
    "export_json",
    "export_leak_report",
    "find_reference_cycles",
    "gather_traced",
    "get_async_stats",
    "get_current_graph",
    "get_memory_growth",
    "get_top_memory_consumers",
    "trace",
    "trace_async",
    "trace_scope",
    "trace_scope_async",
    "track_allocations",
]
