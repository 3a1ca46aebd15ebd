"""Measure the original callflow-tracer 0.7.0 (runs inside its own venv).

The PyPI package imports as `callflow_tracer`, the same name as this
project's facade, so it cannot share a process with it.  seed.py starts this
script with the seed venv's interpreter (`-E -s`: no PYTHONPATH, no user
site), whose sys.path holds bench/ (for workloads.py and harness.py) and the
venv's site-packages, never the repository root.  Output: one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from typing import Callable

import harness
import workloads

SEED_VERSION = "0.7.0"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--realistic-iterations", type=int, required=True)
    parser.add_argument("--async-tasks", type=int, required=True)
    args = parser.parse_args()

    import callflow_tracer
    from callflow_tracer import trace_scope

    # Guard against measuring the wrong package (e.g. the repo's facade).
    version = getattr(callflow_tracer, "__version__", "?")
    location = os.path.realpath(callflow_tracer.__file__)
    if version != SEED_VERSION or os.path.realpath(sys.prefix) not in location:
        print(json.dumps({"error": f"wrong callflow_tracer {version} at {location}"}))
        return 1

    def run_seed(func: Callable[[], object]) -> float:
        gc.collect()
        start = time.perf_counter()
        with trace_scope():
            func()
        return time.perf_counter() - start

    chosen = workloads.build(args.realistic_iterations, args.async_tasks)

    # Sanity: the seed really records the calls (it counts them per edge).
    with trace_scope() as graph:
        chosen[0].func()
    seed_fib_calls = graph.trace_stats.get("total_calls", -1)

    samples = harness.paired_rounds(chosen, {"seed": run_seed}, args.rounds, label="seed ")
    result = {
        "version": version,
        "python": sys.version.split()[0],
        "rounds": args.rounds,
        "fib_calls_recorded": seed_fib_calls,
        "workloads": {
            w.name: {
                "description": w.description,
                "ratio": samples.median_ratio(w.name, "seed"),
                "ratios": samples.ratios[w.name]["seed"],
            }
            for w in chosen
        },
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
