"""Tracing overhead of callflow vs peers, as traced/untraced ratios.

Run with the interpreter under test, from the repository root:
    PYTHON bench/overhead.py [--rounds 7] [--json PATH] [--check]
Only ratios from the same run are reported, never absolute times: the project
machines are noisy, ratios of interleaved runs are what stays comparable.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, NamedTuple, Optional

import harness
import seed
import tools
import workloads

SEED_KEY = "seed"
SEED_LABEL = "seed 0.7.0*"
ALL_KEYS = [cls.key for cls in tools.ALL_TOOLS] + [SEED_KEY]
# Short workloads are run several times per sample (see harness.repeats_for).
MIN_SAMPLE_S = 0.05
# Untraced samples of one workload differing by more than this flag a busy machine.
NOISY_SPREAD = 1.25


class Targets(NamedTuple):
    scope: str
    fib_max: float  # callflow traced/untraced on fib(25)
    rel_max: float  # (callflow-1)/(cProfile-1), every workload
    async_max: Optional[float] = None  # callflow traced/untraced on the asyncio workload


def targets_for(version: tuple) -> Optional[Targets]:
    if version >= (3, 12):
        return Targets("3.12+", 2.8, 0.5, 1.6)  # asyncio: issue 4, task-aware recording
    if version[:2] == (3, 11):
        return Targets("3.11", 2.6, 0.4)
    return None  # the issue sets no target for older Pythons


def relative_overhead(callflow: Optional[float], cprofile: Optional[float]) -> Optional[float]:
    if callflow is None or cprofile is None or cprofile <= 1.0:
        return None
    return (callflow - 1.0) / (cprofile - 1.0)


def measure(args: argparse.Namespace) -> Dict[str, Any]:
    keys = [k.strip() for k in args.tools.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ALL_KEYS]
    if unknown:
        raise SystemExit(f"unknown tool(s) {unknown}; choose from {ALL_KEYS}")
    loaded, missing = tools.load(keys)
    for key in tools.REQUIRED:
        if key in missing:
            raise SystemExit(f"required tool {key} is unavailable: {missing[key]}")

    chosen = workloads.build()
    problems: List[str] = []
    callflow = loaded.get("callflow")
    if isinstance(callflow, tools.Callflow):
        problems = callflow.verify(chosen)
    project = loaded.get("callflow-project")
    if isinstance(project, tools.CallflowProject):
        problems += project.verify(chosen)

    runners = {key: tool.run for key, tool in loaded.items()}
    samples = harness.paired_rounds(chosen, runners, args.rounds, min_sample_s=MIN_SAMPLE_S)

    seed_result: Dict[str, Any] = {}
    if SEED_KEY in keys:
        seed_result = seed.measure(
            args.seed_rounds, args.seed_realistic_iterations, workloads.ASYNC_TASKS, args.seed_timeout
        )
        seed_result["venv"] = seed.venv_dir().name
        if "error" in seed_result:
            missing[SEED_KEY] = seed_result["error"]

    version = sys.version_info[:3]
    targets = targets_for(version)
    report: Dict[str, Any] = {
        "python": ".".join(map(str, version)),
        "rounds": args.rounds,
        "tools": [k for k in keys if k not in missing],
        "unavailable": missing,
        "callflow_graph_problems": problems,
        "targets": targets._asdict() if targets else None,
        "seed": seed_result,
        "workloads": {},
    }
    met: List[bool] = []
    for workload in chosen:
        ratios: Dict[str, Optional[float]] = {
            key: samples.median_ratio(workload.name, key) if key in loaded else None for key in ALL_KEYS
        }
        if SEED_KEY not in missing and SEED_KEY in keys:
            ratios[SEED_KEY] = seed_result["workloads"][workload.name]["ratio"]
        rel = relative_overhead(ratios["callflow"], ratios["cprofile"])
        checks: Dict[str, Optional[bool]] = {"fib": None, "relative": None, "asyncio": None}
        if targets and ratios["callflow"] is not None and ratios["cprofile"] is not None:
            checks["relative"] = rel is not None and rel <= targets.rel_max
            if workload.name == "fib":
                checks["fib"] = ratios["callflow"] <= targets.fib_max
            if workload.name == "asyncio" and targets.async_max is not None:
                checks["asyncio"] = ratios["callflow"] <= targets.async_max
        met += [c for c in checks.values() if c is not None]
        report["workloads"][workload.name] = {
            "description": workload.description,
            "runs_per_sample": samples.repeats[workload.name],
            # Context only (how long the workload is here), not a result.
            "untraced_median_s": samples.median_untraced(workload.name),
            "untraced_spread": max(samples.untraced[workload.name]) / min(samples.untraced[workload.name]),
            "ratios": ratios,
            "callflow_vs_cprofile": rel,
            "checks": checks,
            "samples": {key: samples.ratios[workload.name][key] for key in loaded},
        }
    # A graph that lost calls fails on any Python; otherwise None means nothing
    # was checked (no target for this Python, or callflow not run).
    report["all_targets_met"] = False if problems else (all(met) if targets and met else None)
    return report


def _cell(value: Optional[float], verdict: Optional[bool] = None, width: int = 12) -> str:
    text = "n/a" if value is None else f"{value:.2f}x"
    if verdict is not None:
        text += " PASS" if verdict else " FAIL"
    return text.rjust(width)


def print_report(report: Dict[str, Any], out=sys.stdout) -> None:
    targets = report["targets"]
    print(
        f"\nOverhead on Python {report['python']}: traced/untraced time ratio, median of "
        f"{report['rounds']} paired rounds (+1 warm-up); lower is better",
        file=out,
    )
    labels = [tools.label_of(k) or SEED_LABEL for k in ALL_KEYS]
    header = "workload".ljust(10) + "".join(lb.rjust(12 if i else 17) for i, lb in enumerate(labels))
    print(header + "(cf-1)/(cP-1)".rjust(19), file=out)
    for name, row in report["workloads"].items():
        cells = []
        for i, key in enumerate(ALL_KEYS):
            verdict = (row["checks"]["fib"] if row["checks"]["fib"] is not None
                       else row["checks"].get("asyncio")) if key == "callflow" else None
            width = 12 if i else 17
            if key not in report["tools"] and key not in report["unavailable"]:
                cells.append("-".rjust(width))  # not requested with --tools
            else:
                cells.append(_cell(row["ratios"][key], verdict, width))
        rel = row["callflow_vs_cprofile"]
        rel_text = ("n/a" if rel is None else f"{rel:.2f}")
        if row["checks"]["relative"] is not None:
            rel_text += " PASS" if row["checks"]["relative"] else " FAIL"
        print(name.ljust(10) + "".join(cells) + rel_text.rjust(19), file=out)
    if targets:
        print(
            f"targets ({targets['scope']}): fib callflow <= {targets['fib_max']:.1f}x; "
            + (f"asyncio callflow <= {targets['async_max']:.1f}x; " if targets.get("async_max") else "")
            + f"(callflow-1) <= {targets['rel_max']:.1f}*(cProfile-1) on every workload -> "
            + {True: "all met", False: "NOT MET", None: "not checked (callflow not measured)"}[
                report["all_targets_met"]
            ],
            file=out,
        )
    else:
        print(f"targets: none set for Python {report['python']}", file=out)
    if "callflow-project" in report["tools"]:
        print("cf(project): scope 'project', as the pytest plugin runs by default (the workloads' "
              "code recorded, the standard library incl. asyncio's event loop as leaves); "
              "the targets are checked on the 'callflow' column (scope 'all')", file=out)
    workload_text = "; ".join(
        f"{n}: {r['description']}" + (f" (x{r['runs_per_sample']} per sample)" if r["runs_per_sample"] > 1 else "")
        for n, r in report["workloads"].items()
    )
    print(f"workloads: {workload_text}", file=out)
    spread = ", ".join(f"{n} {r['untraced_spread']:.2f}" for n, r in report["workloads"].items())
    busy = any(r["untraced_spread"] > NOISY_SPREAD for r in report["workloads"].values())
    print(
        f"noise (slowest/fastest untraced sample): {spread}"
        + ("  <- the machine was busy; ratios are less reliable, rerun when idle" if busy else ""),
        file=out,
    )
    problems = report["callflow_graph_problems"]
    if "callflow" in report["tools"]:
        print("callflow graph check: " + ("; ".join(problems) + " FAIL" if problems else "OK"), file=out)
    sd = report["seed"]
    if sd and "error" not in sd:
        runs = ", ".join(sd["workloads"][n]["description"] for n in sd["workloads"])
        print(
            f"* seed = original callflow-tracer {sd['version']} from PyPI, measured in a separate "
            f"process ({sd['venv']}) against its own untraced runs: {runs}; {sd['rounds']} paired "
            f"rounds (+1 warm-up); it recorded {sd['fib_calls_recorded']} calls on fib({workloads.FIB_N})",
            file=out,
        )
    for key, reason in report["unavailable"].items():
        print(f"n/a {tools.label_of(key) or SEED_LABEL}: {reason}", file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=7, help="counted rounds (default 7, at least 5)")
    parser.add_argument("--tools", default=",".join(ALL_KEYS), help=f"comma list from {ALL_KEYS}")
    parser.add_argument("--seed-rounds", type=int, default=5, help="rounds for the seed tracer (default 5)")
    parser.add_argument(
        "--seed-realistic-iterations",
        type=int,
        default=workloads.REALISTIC_ITERATIONS,
        help="realistic workload size for the slow seed tracer (default: the full size)",
    )
    parser.add_argument("--seed-timeout", type=float, default=300.0, help="seconds for the seed subprocess")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.rounds < 5 or args.seed_rounds < 1:
        parser.error("--rounds must be at least 5 (medians of >= 5 runs), --seed-rounds at least 1")
    report = measure(args)
    print_report(report)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, sort_keys=True)
    return 1 if args.check and report["all_targets_met"] is False else 0


if __name__ == "__main__":
    sys.exit(main())
