"""Export a facade ``CallGraph`` to a file, in the original's JSON shape."""

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Union

from pytest_callflow.baseline import write_atomic

if TYPE_CHECKING:
    from .graph import CallGraph

__all__ = ["export_graph", "export_json"]

SUPPORTED_FORMATS = ("json",)

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
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(str(path), json.dumps(graph.to_dict(), indent=2, ensure_ascii=False))


def export_graph(graph: "CallGraph", output_path: PathArg, format: str = "auto") -> None:
    """Export by format (``"auto"``: from the file's suffix)."""
    check_format(output_path, format)
    export_json(graph, output_path)
