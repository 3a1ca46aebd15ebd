"""Plain-text views of a call graph: the calling-context tree and the
hottest functions, as printed by ``python -m pytest_callflow``."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, TextIO

if TYPE_CHECKING:
    from .graph import CallGraph, ContextNode


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.3f}"


def format_tree(
    graph: "CallGraph", *, max_depth: int = 12, min_share: float = 0.005, max_children: int = 12
) -> List[str]:
    """The context tree, one line per path: calls, inclusive and self time.
    Paths under ``min_share`` of the total time are folded into a summary line."""
    root = graph.root
    total = sum(child.total_time for child in root.children) or 1e-12
    lines = [f"{'calls':>9} {'total ms':>9} {'self ms':>9}  function"]

    def walk(node: "ContextNode", depth: int) -> None:
        children = sorted(node.children, key=lambda c: (-c.total_time, c.name))
        shown = [c for c in children if c.total_time / total >= min_share][:max_children]
        for child in shown:
            lines.append(
                f"{child.calls:9d} {_ms(child.total_time)} {_ms(child.self_time)}  "
                f"{'  ' * depth}{child.name}"
            )
            if depth + 1 < max_depth:
                walk(child, depth + 1)
        hidden = len(children) - len(shown)
        if hidden:
            calls = sum(c.calls for c in children if c not in shown)
            lines.append(f"{calls:9d} {'':9} {'':9}  {'  ' * depth}... {hidden} smaller paths")

    walk(root, 0)
    return lines


def format_hottest(graph: "CallGraph", limit: int = 15) -> List[str]:
    """Functions by self time, with calls and inclusive time."""
    funcs = sorted(graph.functions(), key=lambda f: (-f.self_time, f.name))[:limit]
    lines = [f"{'calls':>9} {'self ms':>9} {'total ms':>9}  function"]
    for f in funcs:
        lines.append(f"{f.calls:9d} {_ms(f.self_time)} {_ms(f.total_time)}  {f.name}")
    return lines


def print_report(graph: "CallGraph", out: TextIO, top: int = 15, title: Optional[str] = None) -> None:
    meta = graph.meta
    if title:
        out.write(f"{title}\n")
    out.write(
        f"{graph.total_calls} calls of {len(list(graph.functions()))} functions in "
        f"{graph.duration * 1000:.1f} ms (backend {meta.get('backend')}, "
        f"scope {meta.get('scope')}, Python {meta.get('python')})\n"
    )
    if meta.get("truncated_paths"):
        out.write(
            f"note: the context tree reached its cap of {meta['node_cap']} paths; "
            f"{meta['truncated_paths']} paths ({meta['truncated_calls']} calls) are counted "
            "per function and edge only\n"
        )
    out.write("\nCall tree\n")
    out.write("\n".join(format_tree(graph)) + "\n")
    out.write(f"\nHottest functions (self time, top {top})\n")
    out.write("\n".join(format_hottest(graph, top)) + "\n")
