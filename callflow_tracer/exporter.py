"""Export a facade ``CallGraph`` to a file: the original's JSON shape, or
the self-contained HTML report (``pytest_callflow.html``)."""

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from pytest_callflow.baseline import write_atomic

if TYPE_CHECKING:
    from .graph import CallGraph

__all__ = ["export_graph", "export_html", "export_json"]

SUPPORTED_FORMATS = ("json", "html")  # what export_graph and trace_scope(output_file) write

PathArg = Union[str, "os.PathLike[str]"]


def check_format(output_path: PathArg, format: str = "auto") -> str:
    """The export format for ``output_path``; ValueError naming the
    supported ones when it has another."""
    if format == "auto":
        format = Path(output_path).suffix.lower().lstrip(".")
    if format not in SUPPORTED_FORMATS:
        raise ValueError(f"Unsupported format: {format or '(none)'}. "
                         f"Supported formats: {', '.join(SUPPORTED_FORMATS)}")
    return format


def export_json(graph: "CallGraph", output_path: PathArg) -> None:
    """Write ``graph.to_dict()`` as JSON (atomically; parent directories
    are created)."""
    write_atomic(os.fspath(output_path), json.dumps(graph.to_dict(), indent=2,
                                                    ensure_ascii=False))


def export_html(graph: "CallGraph", output_path: PathArg, title: str = "Call Flow Graph",
                include_vis_js: bool = True, profiling_stats: Optional[dict] = None,
                layout: str = "hierarchical") -> None:
    """Write the interactive report of ``graph`` as one self-contained HTML
    file (atomically; parent directories are created).  The original's
    ``include_vis_js``, ``profiling_stats`` and ``layout`` are accepted and
    ignored: the page never loads anything from the network and lays the
    graph out itself."""
    from pytest_callflow.html import export_html as write_report  # loaded only when used

    write_report(graph, output_path, title=title)


def export_graph(graph: "CallGraph", output_path: PathArg, format: str = "auto",
                 **kwargs: Any) -> None:
    """Export by format, ``"json"`` or ``"html"`` (``"auto"``: from the
    file's suffix); ``kwargs`` go to ``export_html``."""
    if check_format(output_path, format) == "html":
        export_html(graph, output_path, **kwargs)
    else:
        export_json(graph, output_path)
