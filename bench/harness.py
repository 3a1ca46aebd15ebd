"""Interleaved, paired timing of traced vs untraced runs (stdlib only).

Used in-process by overhead.py and inside the seed venv by seed_driver.py, so
both report ratios computed the same way.  Every traced run is paired with an
untraced run of the same workload made just before it; the figure reported
is the median of those per-pair ratios, which cancels slow drifts of a noisy
machine better than a ratio of two separately collected medians.
"""

from __future__ import annotations

import gc
import math
import statistics
import sys
import time
from typing import Callable, Dict, List, Mapping, Sequence

from workloads import Workload

# A runner times one call of a workload under some tool: it does its setup
# untimed, calls gc.collect(), then times start-tracing + workload + stop.
Runner = Callable[[Callable[[], object]], float]


def hooks_in_place() -> List[str]:
    """Tracing hooks that are installed right now (should be none)."""
    found = []
    if sys.getprofile() is not None:
        found.append(f"sys.getprofile() = {sys.getprofile()!r}")
    if sys.gettrace() is not None:
        found.append(f"sys.gettrace() = {sys.gettrace()!r}")
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool_id in range(6):
            if monitoring.get_tool(tool_id) is not None and monitoring.get_events(tool_id):
                found.append(f"sys.monitoring tool {tool_id} ({monitoring.get_tool(tool_id)}) has events on")
    return found


def run_untraced(func: Callable[[], object]) -> float:
    # A hook left behind by a tool would slow the baseline and flatter every
    # ratio, so refuse to measure rather than report a wrong figure.
    left = hooks_in_place()
    if left:
        raise RuntimeError("untraced run with a tracing hook still installed: " + "; ".join(left))
    gc.collect()
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


class Samples:
    """Per workload and tool: the paired traced/untraced ratios."""

    def __init__(self, workloads: Sequence[str], tools: Sequence[str]) -> None:
        self.ratios: Dict[str, Dict[str, List[float]]] = {
            w: {t: [] for t in tools} for w in workloads
        }
        self.untraced: Dict[str, List[float]] = {w: [] for w in workloads}
        self.repeats: Dict[str, int] = {w: 1 for w in workloads}

    def median_ratio(self, workload: str, tool: str) -> float:
        return statistics.median(self.ratios[workload][tool])

    def median_untraced(self, workload: str) -> float:
        return statistics.median(self.untraced[workload])


def repeats_for(workload: Workload, min_sample_s: float) -> int:
    """How many runs one sample sums so it lasts >= min_sample_s untraced.

    A 7 ms fib(25) is at the mercy of scheduler jitter; summing a few
    complete runs (each with its own tracer start/stop) steadies the ratio
    without changing what is measured.
    """
    if min_sample_s <= 0:
        return 1
    fastest = min(run_untraced(workload.func) for _ in range(3))
    return max(1, math.ceil(min_sample_s / max(fastest, 1e-6)))


def paired_rounds(
    workloads: Sequence[Workload],
    runners: Mapping[str, Runner],
    rounds: int,
    warmup: int = 1,
    min_sample_s: float = 0.0,
    label: str = "",
) -> Samples:
    """Run `warmup + rounds` rounds; warm-up rounds are not recorded.

    In each round every workload runs under every tool, each traced run right
    after an untraced one; the tool order rotates from round to round so no
    tool always runs first (cold caches) or last (after the others' garbage).
    """
    names = list(runners)
    samples = Samples([w.name for w in workloads], names)
    samples.repeats = {w.name: repeats_for(w, min_sample_s) for w in workloads}
    for r in range(warmup + rounds):
        counted = r >= warmup
        _progress(f"{label}round {r + 1}/{warmup + rounds}{'' if counted else ' (warm-up)'}")
        for workload in workloads:
            shift = r % len(names) if names else 0
            for name in names[shift:] + names[:shift]:
                base = traced = 0.0
                for _ in range(samples.repeats[workload.name]):
                    base += run_untraced(workload.func)
                    traced += runners[name](workload.func)
                if counted:
                    samples.untraced[workload.name].append(base / samples.repeats[workload.name])
                    samples.ratios[workload.name][name].append(traced / base)
    _progress("")
    return samples


def _progress(text: str) -> None:
    # Progress goes to stderr, on one line, only when a person is watching.
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()
