"""Where callflow's overhead goes on Python 3.12+ (sys.monitoring).

    PYTHON bench/floor.py [--rounds 7]

Every traced event costs at least CPython's dispatch of a sys.monitoring
callback, and every recorded one at least one read of the tracer's clock.
This measures, in the same paired rounds as bench/ (harness.paired_rounds,
medians of traced/untraced ratios): fib(25) and the asyncio workload under
callbacks of the tracer's own kind on the same events that do nothing
("dispatch"), that only read the clock ("dispatch+clock"), that feed the
least a calling-context recorder can do ("minimal": one thread, a node per
(parent, code) with its count and times, a resumption counted as a call;
libcallflow/src/floorrec.h), and under callflow itself (scope "all").
callflow minus dispatch+clock is the tracer's own bookkeeping; callflow
minus minimal is what its features (threads, sessions, generators told
apart, tasks, the node cap) cost beyond that.  Ratios, never times.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from typing import Callable, Dict, List, Optional

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
# The installed package is measured: the repository root stays off sys.path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
sys.path.insert(0, _HERE)

import harness  # noqa: E402
import tools  # noqa: E402
import workloads  # noqa: E402

# The events callflow listens to while recording Python functions.
EVENTS = ("PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "PY_UNWIND", "PY_THROW")


class Floor:
    """A runner with the floor callbacks of one kind on a free tool id:
    "dispatch", "clock" or "minimal" (the minimal recorder)."""

    ENTER = ("PY_START", "PY_RESUME", "PY_THROW")

    def __init__(self, kind: str) -> None:
        from pytest_callflow import _native

        mon = sys.monitoring
        self._mon = mon
        self._native = _native
        self._minimal = kind == "minimal"
        # 3 and 4 are left to callflow, which runs in the same rounds; the
        # debugger's and coverage's ids (0, 1) are free in this process.
        self._tool = next(t for t in (5, 0, 1) if mon.get_tool(t) is None)
        mon.use_tool_id(self._tool, "callflow-floor")
        self._mask = 0
        for name in EVENTS:
            if self._minimal:
                callback = _native.floor_callback("enter" if name in self.ENTER else "leave")
            else:
                callback = _native.floor_callback(kind)
            bit = getattr(mon.events, name)
            mon.register_callback(self._tool, bit, callback)
            self._mask |= bit

    def run(self, func: Callable[[], object]) -> float:
        if self._minimal:
            self._native.floor_reset()
        gc.collect()
        start = time.perf_counter()
        self._mon.set_events(self._tool, self._mask)
        func()
        self._mon.set_events(self._tool, 0)
        return time.perf_counter() - start

    def close(self) -> None:
        for name in EVENTS:
            self._mon.register_callback(self._tool, getattr(self._mon.events, name), None)
        self._mon.free_tool_id(self._tool)


def measure(rounds: int) -> Dict[str, Dict[str, float]]:
    chosen = [w for w in workloads.build() if w.name in ("fib", "asyncio")]
    callflow = tools.Callflow()
    floors = {"dispatch": Floor("dispatch"), "dispatch+clock": Floor("clock"),
              "minimal": Floor("minimal")}
    runners = {name: f.run for name, f in floors.items()}
    runners["callflow"] = callflow.run
    try:
        samples = harness.paired_rounds(chosen, runners, rounds, min_sample_s=0.05)
    finally:
        for f in floors.values():
            f.close()
    return {w.name: {t: samples.median_ratio(w.name, t) for t in runners} for w in chosen}


def print_report(result: Dict[str, Dict[str, float]]) -> None:
    v = sys.version_info
    print(f"\nWhere the overhead goes on Python {v.major}.{v.minor}.{v.micro}: traced/untraced, "
          "median of paired rounds")
    print(f"{'workload':<10} {'dispatch':>9} {'+clock':>9} {'minimal':>9} {'callflow':>9} "
          f"{'bookkeeping':>12} {'beyond minimal':>15}")
    for name, r in result.items():
        own = r["callflow"] - r["dispatch+clock"]
        beyond = r["callflow"] - r["minimal"]
        print(f"{name:<10} {r['dispatch']:>8.2f}x {r['dispatch+clock']:>8.2f}x "
              f"{r['minimal']:>8.2f}x {r['callflow']:>8.2f}x {own:>+11.2f}x {beyond:>+14.2f}x")
    print("dispatch: sys.monitoring callbacks of the tracer's kind doing nothing; +clock: the same "
          "reading the tracer's clock once per event; minimal: the least recorder of a calling-"
          "context tree (one thread, resumptions as calls); bookkeeping: callflow minus +clock; "
          "beyond minimal: callflow minus minimal")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="counted rounds (default 7)")
    args = parser.parse_args(argv)
    if sys.version_info < (3, 12):
        print("bench/floor.py: sys.monitoring needs Python 3.12 or later; nothing measured")
        return 0
    print_report(measure(args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
