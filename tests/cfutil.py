"""Small helpers to read CallGraph objects in assertions."""

from typing import Any, Dict, Iterator, Set, Tuple


def qn(fn: Any) -> str:
    """The tracer's name of a Python function: ``module:qualname``."""
    return "{}:{}".format(fn.__module__, fn.__qualname__)


def names(graph: Any) -> Set[str]:
    return {f.name for f in graph.functions()}


def counts(graph: Any) -> Dict[str, int]:
    return {f.name: f.calls for f in graph.functions()}


def edge_counts(graph: Any) -> Dict[Tuple[str, str], int]:
    return {(e.caller, e.callee): e.calls for e in graph.edges()}


def module_of(name: str) -> str:
    return name.split(":", 1)[0]


def walk(node: Any, depth: int = 0) -> Iterator[Tuple[int, Any]]:
    """Depth-first (depth, node) pairs of a context tree, root at depth 0.
    Iterative, so a 5000-deep tree does not hit the recursion limit."""
    stack = [(depth, node)]
    while stack:
        d, n = stack.pop()
        yield d, n
        for child in reversed(list(n.children)):
            stack.append((d + 1, child))


def defined_under(name: str, root: str) -> bool:
    """Whether the module of a recorded name was loaded from a file under root."""
    import os
    import sys

    module = sys.modules.get(module_of(name))
    path = getattr(module, "__file__", None)
    if not path:
        return False
    return os.path.abspath(path).startswith(os.path.join(os.path.abspath(root), ""))


def outside_edges(graph: Any, root: str) -> Set[Tuple[str, str]]:
    """Edges from outside code (not under root) to outside code: empty when
    outside code is kept as leaves.  Outside code may still have project
    callees (a callback, a thread body, a coroutine run by asyncio)."""
    return {
        (caller, callee)
        for caller, callee in edge_counts(graph)
        if not defined_under(caller, root) and not defined_under(callee, root)
    }
