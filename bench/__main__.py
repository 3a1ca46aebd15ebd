"""`make bench` entry point: overhead ratios, then the 10M-call memory figure.

    PYTHON bench [--rounds 7] [--json PATH] [--check] [--tools ...]
    PYTHON -m bench ...          (from the repository root; same thing)

Either way the repository root is kept off sys.path, so the installed
pytest_callflow (with its compiled extension) is measured, not the source tree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

if __package__:
    # Run as `python -m bench` from the repo root: put bench/ on sys.path and
    # take the root off, or the source tree would shadow the installed package.
    _HERE = os.path.dirname(os.path.abspath(__file__))
    _ROOT = os.path.dirname(_HERE)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
    sys.path.insert(0, _HERE)

import memory  # noqa: E402
import overhead  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    overhead.add_arguments(parser)
    parser.add_argument("--skip-memory", action="store_true", help="only the overhead table")
    args = parser.parse_args(argv)
    if args.rounds < 5 or args.seed_rounds < 1:
        parser.error("--rounds must be at least 5 (medians of >= 5 runs), --seed-rounds at least 1")

    result = {"overhead": overhead.measure(args)}
    overhead.print_report(result["overhead"])
    failed = result["overhead"]["all_targets_met"] is False
    if not args.skip_memory:
        result["memory"] = memory.measure()
        memory.print_report(result["memory"])
        failed = failed or not result["memory"]["ok"]
    sys.stdout.flush()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, sort_keys=True)
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
