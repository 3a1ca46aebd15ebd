"""Judging one traced test against the baseline store: shared by the
pytest plugin and ``python -m pytest_callflow.unittest`` (so no pytest
here)."""

import os
import statistics
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import _native
from . import baseline as store_mod
from . import gate
from .graph import CallGraph

Result = Dict[str, Any]


class Verdict:
    """One test at the gate: the judgement, its findings as records, the
    report section ("" when there is nothing to say) and the result the
    session collects."""

    __slots__ = ("judgement", "records", "section", "result")

    def __init__(self, judgement: gate.Judgement, records: List[Dict[str, Any]], section: str,
                 result: Result) -> None:
        self.judgement = judgement
        self.records = records
        self.section = section
        self.result = result

    @property
    def fails(self) -> bool:
        return self.judgement.fails

    def failure_text(self) -> str:
        return gate.failure_text(self.judgement, self.records)


def async_figures(graph: CallGraph) -> Optional[Dict[str, Any]]:
    """The asyncio figures of a test that ran tasks (None otherwise), as the
    JSON result carries them."""
    info = graph.async_info
    if not info or not info.get("tasks"):
        return None
    return {
        "tasks": len(info["tasks"]),
        "peak_concurrency": int(info.get("peak_concurrency", 0)),
        "avg_concurrency": round(float(info.get("avg_concurrency", 0.0)), 3),
        "longest_step_ms": round(int(info.get("longest_step_ns") or 0) / 1e6, 3),
        "longest_step_function": info.get("longest_step_function"),
        "blocking": len(info.get("blocking", [])) + int(info.get("blocking_dropped", 0)),
    }


def median_times(samples: List[Dict[str, float]]) -> Dict[str, float]:
    """Per function, the median of its inclusive times over repeated runs."""
    names = sorted({name for sample in samples for name in sample})
    return {name: statistics.median(s[name] for s in samples if name in s) for name in names}


class TestJudge:
    """Judges tests of one session.  ``use_baseline=False``: budgets only
    (the marker without ``--callflow``)."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, store: store_mod.Store, *, scope_mode: str, rootdir: str, python: str,
                 update: bool = False, require_baseline: bool = False,
                 use_baseline: bool = True) -> None:
        self.store = store
        self.scope_mode = scope_mode
        self.rootdir = rootdir
        self.python = python
        self.update = update
        self.require_baseline = require_baseline
        self.use_baseline = use_baseline

    def judge(self, module: Optional[str], key: str, graph: CallGraph, policy: gate.Policy, *,
              own_passed: bool, samples: Optional[List[Dict[str, float]]] = None,
              entry: Optional[store_mod.Entry] = None,
              duration: Optional[float] = None) -> Verdict:
        """``entry`` and ``duration``: the graph's, when the caller has them
        without reading ``graph`` (which may be built only on demand)."""
        current_times = median_times(samples) if samples else None
        if entry is None:
            entry = store_mod.entry_from_graph(graph)
        if self.use_baseline:
            judgement, shown = self._compare(module, key, graph, entry, policy, current_times)
        else:
            judgement = gate.judge(graph, policy, baseline=None, baseline_python=None,
                                   running_python=self.python, use_baseline=False)
            shown = None
        chains = gate.CallerChains(graph) if judgement.findings else None
        records = [gate.finding_record(f, chains) for f in judgement.findings]
        total = entry["total_calls"]
        if duration is None:
            duration = graph.duration
        section = ""
        if records or judgement.notes or judgement.verdict != "passed":
            section = gate.section_text(judgement.verdict, records, judgement.notes,
                                        baseline_file=shown, total_calls=total, duration=duration)
        result: Result = {
            "module": module, "key": key, "verdict": judgement.verdict,
            "own_passed": own_passed, "findings": records, "notes": judgement.notes,
            "total_calls": total, "time": duration,
        }
        figures = async_figures(graph)
        if figures is not None:
            result["async"] = figures
        if self.use_baseline and self.update and own_passed and module is not None:
            result["entry"] = entry
            if policy.compare_time and current_times is not None:
                result["times"] = current_times
        return Verdict(judgement, records, section, result)

    def _compare(self, module: Optional[str], key: str, graph: CallGraph,
                 entry: store_mod.Entry, policy: gate.Policy,
                 current_times: Optional[Mapping[str, float]]) -> Tuple[gate.Judgement, Optional[str]]:
        bfile, error = self.store.get(module) if module is not None else (None, None)
        old = bfile.tests.get(key) if bfile is not None else None
        baseline: Optional[gate.BaselineSource] = None
        baseline_times = None
        if old is not None and bfile is not None:
            baseline_times = bfile.times.get(key) if policy.compare_time else None
            baseline = self._lazy_graph(old, baseline_times, bfile, key)
        current = graph
        if current_times is not None:
            current = CallGraph(store_mod.graph_with_times(graph, current_times))
        try:
            judgement = gate.judge(
                current, policy, baseline=baseline,
                baseline_python=bfile.python if bfile is not None else None,
                running_python=self.python, baseline_error=error,
                baseline_has_times=bool(baseline_times), require_baseline=self.require_baseline,
                updating=self.update, same_counts=old == entry)
        except ValueError as exc:  # the baseline entry is valid JSON, not a valid graph
            judgement = gate.judge(current, policy, baseline=None, baseline_python=None,
                                   running_python=self.python, baseline_error=str(exc))
        shown = None
        if module is not None and (bfile is not None or error is not None):
            shown = store_mod.to_posix(os.path.relpath(self.store.path_of(module), self.rootdir))
        return judgement, shown

    def _lazy_graph(self, entry: store_mod.Entry, times: Optional[Mapping[str, float]],
                    bfile: store_mod.BaselineFile, key: str) -> "gate.BaselineSource":
        """The baseline entry's graph, made only when the counts differ."""
        def make() -> "_native.Graph":
            return store_mod.entry_to_graph(entry, times, python=bfile.python,
                                            scope=self.scope_mode, source=f"{bfile.shown}:{key}")
        return make


# Test frameworks around a test (and its assertion helpers), never recorded
# so that pytest and the unittest runner record the same calls for a test.
# unittest.mock is not among them: mocks stand in for project code.
RUNNER_MODULES = ("_pytest", "pluggy", "pytest", "py", "unittest.async_case", "unittest.case",
                  "unittest.loader", "unittest.main", "unittest.result", "unittest.runner",
                  "unittest.suite")


SKIP_COLLECTOR = True  # False only to show what the collector's calls do (tests)


def new_test_session(scope: Any, rootdir: str, runner: Sequence[str]) -> "_native.Session":
    """A session for one test: opened from outside the scope (the runner
    calling the test is not recorded, whatever the scope), with the runner's
    modules excluded, so that a test calling a runner helper (pytest.raises)
    records no runner internals either: a baseline holds the project's calls
    only, whatever pytest version or plugins run it.  Calls the garbage
    collector makes are not recorded: they run wherever a collection
    happens to start, often in a later test than the garbage's."""
    if isinstance(scope, list):
        return _native.Session(scope="prefixes", include=scope, exclude=runner, root_outside=True,
                               skip_collector=SKIP_COLLECTOR)
    return _native.Session(scope=scope, root=rootdir if scope == "project" else None,
                           exclude=runner, root_outside=True, skip_collector=SKIP_COLLECTOR)
