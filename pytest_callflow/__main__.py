"""``python -m pytest_callflow``: trace a script, or show, compare and
convert saved graphs (the ``callflow`` command's subcommands, see cli.py).

    python -m pytest_callflow run [--scope all|project|MOD[,MOD...]] [-o OUT.json]
                                  [--top N] script.py [args...]
    python -m pytest_callflow show GRAPH.json [--top N]
    python -m pytest_callflow diff|export|html ...
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from typing import List, Optional, Sequence, Union

from . import cli, trace_scope
from .textreport import print_report


def _scope(text: str) -> Union[str, List[str]]:
    if text in ("all", "project"):
        return text
    prefixes = [p.strip() for p in text.split(",") if p.strip()]
    if not prefixes:
        raise argparse.ArgumentTypeError("expected 'all', 'project' or module prefixes")
    return prefixes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pytest_callflow")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="trace a Python script and print its call flow")
    run.add_argument("--scope", type=_scope, default="project",
                     help="all, project (default) or comma-separated module prefixes")
    run.add_argument("-o", "--output", help="also save the graph as callflow/1 JSON")
    run.add_argument("--top", type=int, default=15, help="hottest functions to list")
    run.add_argument("script")
    run.add_argument("args", nargs=argparse.REMAINDER)
    cli.add_commands(sub)  # show, diff, export, html
    return parser


def _run(ns: argparse.Namespace) -> int:
    script = os.path.abspath(ns.script)
    if not os.path.isfile(script):
        print(f"error: no such script: {ns.script}", file=sys.stderr)
        return 2
    sys.argv = [script, *ns.args]
    sys.path.insert(0, os.path.dirname(script))
    status = 0
    with trace_scope(scope=ns.scope) as graph:
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if ns.output:
        graph.save(ns.output)
    print_report(graph, sys.stdout, ns.top, title=f"callflow of {ns.script}")
    if ns.output:
        print(f"\ngraph saved to {ns.output}")
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    ns = _parser().parse_args(argv)
    if ns.command == "run":
        return _run(ns)
    return cli.dispatch(ns)


if __name__ == "__main__":
    sys.exit(main())
