"""Resident-memory growth of a 10-million-call trace (target: under 20 MB).

The program makes 10M calls along a modest, fixed set of distinct call paths
(a 4-level tree of 13 functions, 85 distinct paths below run()), traced with
scope="all".  The tracer must keep memory proportional to distinct paths,
not to calls, so the growth must stay small.

Each measurement runs in a fresh child process (this script with --child),
so nothing the parent allocated counts.  The child warms the program up
untraced, resets the peak-RSS mark (/proc/self/clear_refs), runs the traced
program and reports peak RSS minus RSS before (VmHWM and VmRSS from
/proc/self/status; resource.getrusage's maxrss where /proc is missing).
An untraced child is run as the control.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional

TARGET_MB = 20.0
TOTAL_CALLS = 10_000_000
MB = 1_000_000  # decimal megabytes, the stricter reading of "20 MB"


# --- the traced program -------------------------------------------------------
# f* are leaves; every l* calls every f*; every m* calls every l*; top calls
# every m*.  One top() call is 1 + 4 + 16 + 64 = 85 calls, each on its own
# call path (top/m2/l1/f3 ...).  Loops over tuples call no builtins.

def f0(x: int) -> int:
    return x + 1


def f1(x: int) -> int:
    return x ^ 3


def f2(x: int) -> int:
    return x * 2


def f3(x: int) -> int:
    return x - 1


LEAVES = (f0, f1, f2, f3)


def l0(x: int) -> int:
    s = 0
    for f in LEAVES:
        s += f(x)
    return s


def l1(x: int) -> int:
    s = 1
    for f in LEAVES:
        s ^= f(x)
    return s


def l2(x: int) -> int:
    s = 2
    for f in LEAVES:
        s += f(x + 1)
    return s


def l3(x: int) -> int:
    s = 3
    for f in LEAVES:
        s -= f(x)
    return s


LOWS = (l0, l1, l2, l3)


def m0(x: int) -> int:
    s = 0
    for g in LOWS:
        s += g(x)
    return s


def m1(x: int) -> int:
    s = 0
    for g in LOWS:
        s ^= g(x + 1)
    return s


def m2(x: int) -> int:
    s = 0
    for g in LOWS:
        s += g(x + 2)
    return s


def m3(x: int) -> int:
    s = 0
    for g in LOWS:
        s -= g(x + 3)
    return s


MIDS = (m0, m1, m2, m3)


def top(x: int) -> int:
    s = 0
    for m in MIDS:
        s += m(x)
    return s


CALLS_PER_TOP = 1 + 4 + 16 + 64
ITERATIONS = math.ceil(TOTAL_CALLS / CALLS_PER_TOP)


def run(iterations: int) -> int:
    acc = 0
    for i in range(iterations):
        acc ^= top(i)
    return acc


# --- measuring inside the child -----------------------------------------------

def _status_kib(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    # Writing "5" resets VmHWM to the current RSS (Linux >= 4.0).
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _maxrss_kib() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def child(traced: bool) -> Dict[str, Any]:
    trace_scope: Any = None
    if traced:
        import pytest_callflow

        trace_scope = pytest_callflow.trace_scope
    run(1000)  # warm-up: specialisation and caches are not the tracer's
    gc.collect()
    peak_reset = _reset_peak()
    before = _status_kib("VmRSS")
    source = "/proc/self/status VmHWM-VmRSS"
    if before is None:
        before, source = _maxrss_kib(), "getrusage maxrss"
    recorded = None
    if trace_scope is not None:
        with trace_scope(scope="all") as graph:
            run(ITERATIONS)
        recorded = graph.total_calls  # keeps the graph alive while we measure
    else:
        run(ITERATIONS)
    peak = _status_kib("VmHWM") if source.startswith("/proc") else _maxrss_kib()
    after = _status_kib("VmRSS") if source.startswith("/proc") else None
    return {
        "traced": traced,
        "calls_made": ITERATIONS * CALLS_PER_TOP + 1,
        "calls_recorded": recorded,
        "peak_growth_mb": ((peak or 0) - before) * 1024 / MB,
        "retained_growth_mb": None if after is None else (after - before) * 1024 / MB,
        "source": source,
        "peak_reset": peak_reset,
    }


# --- the parent -----------------------------------------------------------------

def _spawn(traced: bool, timeout: float) -> Dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "traced" if traced else "untraced"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        err = proc.stderr.strip().splitlines()
        return {"error": f"child exited {proc.returncode}: {err[-1] if err else 'no output'}"}
    result: Dict[str, Any] = json.loads(lines[-1])
    return result


def measure(timeout: float = 300.0) -> Dict[str, Any]:
    control = _spawn(False, timeout)
    traced = _spawn(True, timeout)
    report: Dict[str, Any] = {"target_mb": TARGET_MB, "control": control, "traced": traced, "ok": False}
    if "error" in traced:
        return report
    # The trace must hold (at least) the 10M calls, or the figure means nothing.
    recorded_ok = (traced["calls_recorded"] or 0) >= traced["calls_made"] - 1
    report["calls_recorded_ok"] = recorded_ok
    report["ok"] = recorded_ok and traced["peak_growth_mb"] < TARGET_MB
    return report


def print_report(report: Dict[str, Any], out=sys.stdout) -> None:
    traced, control = report["traced"], report["control"]
    if "error" in traced:
        print(f"\nMemory: traced child failed: {traced['error']} FAIL", file=out)
        return
    control_text = (
        f"{control['peak_growth_mb']:.2f} MB" if "error" not in control else f"failed: {control['error']}"
    )
    print(
        f"\nMemory on Python {sys.version.split()[0]}: {traced['calls_made']:,} calls over "
        f"{CALLS_PER_TOP} distinct call paths, traced with scope=\"all\" in a fresh process",
        file=out,
    )
    print(
        f"  resident memory growth (peak): {traced['peak_growth_mb']:.2f} MB "
        f"{'PASS' if report['ok'] else 'FAIL'} (target < {TARGET_MB:.0f} MB; "
        f"retained after the trace {traced['retained_growth_mb']:.2f} MB; "
        f"untraced control {control_text}; 1 MB = 10^6 bytes, {traced['source']})",
        file=out,
    )
    recorded = traced["calls_recorded"]
    verdict = "OK" if report.get("calls_recorded_ok") else "FAIL (trace does not hold the calls)"
    print(f"  graph.total_calls = {recorded:,}: {verdict}", file=out)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="RSS growth of a 10M-call trace")
    parser.add_argument("--child", choices=("traced", "untraced"), help=argparse.SUPPRESS)
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child == "traced")))
        return 0
    report = measure()
    print_report(report)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, sort_keys=True)
    return 1 if args.check and not report["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
