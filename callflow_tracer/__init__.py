"""Drop-in replacement of the original CallFlow Tracer's basic API, on
pytest_callflow's C core::

    from callflow_tracer import trace, trace_scope

    with trace_scope("trace.json") as graph:
        main()
    print(len(graph.nodes), "functions")

See ``callflow_tracer.graph`` for how names and options map."""

from pytest_callflow import __version__

from .exporter import export_graph, export_json
from .graph import CallEdge, CallGraph, CallNode, TraceOptions
from .tracer import clear_trace, get_current_graph, trace, trace_scope

__all__ = [
    "CallEdge",
    "CallGraph",
    "CallNode",
    "TraceOptions",
    "__version__",
    "clear_trace",
    "export_graph",
    "export_json",
    "get_current_graph",
    "trace",
    "trace_scope",
]
