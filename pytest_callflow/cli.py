"""The ``callflow`` command: look at, compare and convert saved graphs
(``callflow/1`` JSON, as written by ``CallGraph.save`` or
``trace_scope("out.json")``).

    callflow show GRAPH [--top N]
    callflow diff BASELINE CURRENT [--json] [--max-calls-increase F] [--strict]
                  [--time] [--time-threshold F] [--time-floor-ms MS] [--ignore NAME]
    callflow export GRAPH --format speedscope|pstats|collapsed|dot|chrome [-o OUT]
    callflow html GRAPH [OTHER] -o OUT [--title T] [--label1 L] [--label2 L]

Exit status: 0, 1 when ``diff`` finds a regression, 2 for bad usage or a
graph file that cannot be read (the message names the file)."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .exports import FORMATS, SUFFIXES, VALUES, has_times, render, write_output
from .baseline import python_minor
from .gate import CallerChains, Policy, compare, finding_lines, finding_record
from .graph import CallGraph
from .textreport import print_report

EXIT_OK, EXIT_REGRESSION, EXIT_ERROR = 0, 1, 2

COMMANDS = ("show", "diff", "export", "html")

class CommandError(Exception):
    """A failure to report as ``error: ...`` with exit status 2."""


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add show, diff, export and html to a subcommand parser (also used
    by ``python -m pytest_callflow``)."""
    show = sub.add_parser("show", help="print a saved graph: call tree and hottest functions")
    show.add_argument("graph", help="callflow/1 JSON file")
    show.add_argument("--top", type=_positive_int, default=15,
                      help="hottest functions to list (default 15)")

    diff = sub.add_parser(
        "diff", help="compare two graphs with the gate's rules; exit status 1 on a regression")
    diff.add_argument("baseline", help="the graph before (callflow/1 JSON)")
    diff.add_argument("current", help="the graph after (callflow/1 JSON)")
    diff.add_argument("--json", action="store_true", help="print the verdict and findings as JSON")
    diff.add_argument("--max-calls-increase", type=_fraction, default=0.0, metavar="FRACTION",
                      help="tolerated rise of calls per function and in total (0.1 = 10%%; "
                           "default 0: calls are deterministic)")
    diff.add_argument("--improvement-threshold", type=_fraction, default=0.2, metavar="FRACTION",
                      help="drop of calls reported as an improvement (default 0.2)")
    diff.add_argument("--strict", action="store_true",
                      help="new and vanished functions and call paths are regressions")
    diff.add_argument("--time", action="store_true",
                      help="also compare inclusive times (noisy for single runs)")
    diff.add_argument("--time-threshold", type=_fraction, default=0.5, metavar="FRACTION",
                      help="relative slow-down that is a regression (default 0.5 = 50%%)")
    diff.add_argument("--time-floor-ms", type=_fraction, default=1.0, metavar="MS",
                      help="time changes below this are noise (default 1.0)")
    diff.add_argument("--ignore", action="append", default=[], metavar="NAME",
                      help="function never reported (module:qualname, or a prefix ending "
                           "in ':' or '.'); repeatable")

    export = sub.add_parser("export", help="convert a graph for another tool")
    export.add_argument("graph", help="callflow/1 JSON file")
    export.add_argument("--format", "-f", required=True, choices=FORMATS)
    export.add_argument("-o", "--output", metavar="OUT",
                        help="output file ('-' for standard output; default: the graph's "
                             "name with the format's ending, e.g. g.speedscope.json)")
    export.add_argument("--value", choices=VALUES, default="auto",
                        help="widths of speedscope, collapsed and chrome: time, calls, or "
                             "auto (time when the graph has times; default)")
    export.add_argument("--title", help="name of the profile (speedscope, chrome, dot)")

    html = sub.add_parser("html", help="write a self-contained HTML report of a graph, "
                                       "or of two graphs compared")
    html.add_argument("graph", help="callflow/1 JSON file")
    html.add_argument("other", nargs="?",
                      help="a second graph: a comparison page (GRAPH before, OTHER after)")
    html.add_argument("-o", "--output", required=True, metavar="OUT", help="HTML file to write")
    html.add_argument("--title")
    html.add_argument("--label1", default="Before", help="label of GRAPH in a comparison")
    html.add_argument("--label2", default="After", help="label of OTHER in a comparison")


def build_parser(prog: str = "callflow") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Look at, compare and convert saved call graphs "
                               "(callflow/1 JSON).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(sub)
    return parser


# ---------------------------------------------------------------------------
# commands


def load_graph(path: str) -> CallGraph:
    """Read a graph file; CommandError naming the file when it cannot be
    read or is not a callflow/1 graph."""
    try:
        return CallGraph.load(path)
    except OSError as exc:
        raise CommandError(f"cannot read graph file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        message = str(exc)
        if path not in message:
            message = f"{path}: {message}"
        if _is_facade_json(path):
            message += (" (this looks like a callflow_tracer export: nodes, edges, metadata; "
                        "callflow reads callflow/1 graphs, written by CallGraph.save() or "
                        "pytest_callflow.trace_scope(\"out.json\"))")
        raise CommandError(f"not a callflow graph: {message}") from None


def _is_facade_json(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"nodes", "edges"} <= set(data) and "schema" not in data


def _show(ns: argparse.Namespace) -> int:
    graph = load_graph(ns.graph)
    print_report(graph, sys.stdout, ns.top, title=ns.graph)
    return EXIT_OK


def _minor(version: Any) -> Optional[str]:
    return python_minor(version) if isinstance(version, str) and version else None


def _verdict(findings: Sequence[Dict[str, Any]]) -> str:
    kinds = {f["verdict"] for f in findings}
    for verdict, name in (("regression", "regressed"), ("warning", "warning"),
                          ("improvement", "improved")):
        if verdict in kinds:
            return name
    return "passed"


def diff_graphs(baseline: CallGraph, current: CallGraph, ns: argparse.Namespace
                ) -> Tuple[str, List[Dict[str, Any]], List[str]]:
    """(verdict, finding records, notes) of ``current`` against
    ``baseline`` under the command's tolerances: the gate's rule engine
    and, like the gate, count changes only warned about when the graphs
    come from different Python minor versions."""
    notes: List[str] = []
    py_base = _minor(baseline.meta.get("python"))
    py_cur = _minor(current.meta.get("python"))
    other_python = py_base is not None and py_cur is not None and py_base != py_cur
    if other_python:
        notes.append(f"baseline recorded on Python {py_base}, current on {py_cur}: "
                     "count changes are warnings, not regressions")
    policy = Policy(max_calls_increase=ns.max_calls_increase,
                    improvement_threshold=ns.improvement_threshold, strict=ns.strict,
                    compare_time=ns.time, time_threshold=ns.time_threshold,
                    time_floor_ns=int(round(ns.time_floor_ms * 1e6)), ignore=ns.ignore)
    try:
        findings = compare(baseline._view().graph, current._view().graph, policy,
                           counts_are_warnings=other_python)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if ns.time and not (has_times(baseline) and has_times(current)):
        notes.append("times not compared: a graph was saved without times")
    chains = CallerChains(current)
    records = [finding_record(f, chains) for f in findings]
    return _verdict(findings), records, notes


def _diff(ns: argparse.Namespace) -> int:
    baseline = load_graph(ns.baseline)
    current = load_graph(ns.current)
    verdict, records, notes = diff_graphs(baseline, current, ns)
    regressions = sum(1 for r in records if r["verdict"] == "regression")
    if ns.json:
        document = {
            "baseline": ns.baseline,
            "current": ns.current,
            "verdict": verdict,
            "regressions": regressions,
            "notes": notes,
            "findings": records,
            "calls": {"baseline": baseline.total_calls, "current": current.total_calls},
            "policy": {
                "max_calls_increase": ns.max_calls_increase,
                "improvement_threshold": ns.improvement_threshold,
                "strict": ns.strict,
                "time": ns.time,
                "time_threshold": ns.time_threshold,
                "time_floor_ms": ns.time_floor_ms,
                "ignore": list(ns.ignore),
            },
        }
        sys.stdout.write(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        counts: Dict[str, int] = {}
        for r in records:
            counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
        tally = ", ".join(f"{n} {v}{'s' if n != 1 else ''}" for v, n in counts.items())
        print(f"{ns.baseline} -> {ns.current}: {verdict}"
              f"{f' ({tally})' if tally else ''}; calls {baseline.total_calls} -> "
              f"{current.total_calls}")
        for note in notes:
            print(f"note: {note}")
        for text in finding_lines(records):
            print(text)
    return EXIT_REGRESSION if regressions else EXIT_OK


def _default_output(graph_path: str, fmt: str) -> str:
    stem = graph_path[:-5] if graph_path.lower().endswith(".json") else graph_path
    return stem + SUFFIXES[fmt]


def _export(ns: argparse.Namespace) -> int:
    graph = load_graph(ns.graph)
    title = ns.title or os.path.basename(ns.graph)
    data = render(graph, ns.format, value=ns.value, title=title)
    out = ns.output or _default_output(ns.graph, ns.format)
    if out == "-":
        if isinstance(data, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(data)
        return EXIT_OK
    try:
        write_output(out, data)
    except OSError as exc:
        raise CommandError(str(exc)) from None
    print(f"wrote {out} ({ns.format})")
    return EXIT_OK


def _html(ns: argparse.Namespace) -> int:
    graph = load_graph(ns.graph)
    other = load_graph(ns.other) if ns.other else None
    try:
        from . import html as reports
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.html":
            raise
        raise CommandError("HTML reports are not available: the pytest_callflow.html module "
                           "is missing from this installation") from None
    try:
        if other is None:
            reports.export_html(graph, ns.output, title=ns.title or os.path.basename(ns.graph))
        else:
            reports.export_comparison_html(graph, other, ns.output, label1=ns.label1,
                                           label2=ns.label2, title=ns.title)
    except OSError as exc:
        raise CommandError(f"cannot write {ns.output}: {exc.strerror or exc}") from None
    except RuntimeError as exc:  # e.g. the report's assets missing from the installation
        raise CommandError(str(exc)) from None
    print(f"wrote {ns.output}")
    return EXIT_OK


_HANDLERS = {"show": _show, "diff": _diff, "export": _export, "html": _html}


def dispatch(ns: argparse.Namespace) -> int:
    """Run a parsed show/diff/export/html command; errors are printed as
    ``error: ...`` and give exit status 2."""
    try:
        return _HANDLERS[ns.command](ns)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `callflow show g.json | head`: the reader left; say nothing more
        # (and let the interpreter's final flush go to /dev/null).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13  # as a shell reports SIGPIPE


def main(argv: Optional[Sequence[str]] = None) -> int:
    ns = build_parser().parse_args(argv)
    return dispatch(ns)


if __name__ == "__main__":
    sys.exit(main())
