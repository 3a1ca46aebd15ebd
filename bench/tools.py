"""The in-process tracers/profilers being compared, each as a timed runner.

Each tool's package is imported when the tool is loaded; a missing optional
package makes the tool unavailable (reported as n/a) instead of failing.
"""

from __future__ import annotations

import gc
import time
from typing import Callable, Dict, List, Optional, Tuple

import workloads

Func = Callable[[], object]


class ToolUnavailable(Exception):
    """The tool's package cannot be imported or used here."""


class Tool:
    key = ""
    label = ""

    def run(self, func: Func) -> float:
        raise NotImplementedError


class Callflow(Tool):
    key = "callflow"
    label = "callflow"

    def __init__(self) -> None:
        try:
            from pytest_callflow import trace_scope
        except ImportError as exc:
            raise ToolUnavailable(f"cannot import pytest_callflow: {exc}") from exc
        self._trace_scope = trace_scope

    def run(self, func: Func) -> float:
        gc.collect()
        start = time.perf_counter()
        with self._trace_scope(scope="all"):
            func()
        return time.perf_counter() - start

    def verify(self, workload_list: List[workloads.Workload]) -> List[str]:
        """Trace each workload once and check the graph holds its calls, so a
        tracer that silently records nothing cannot post a good ratio."""
        fib_id = f"{workloads.fib.__module__}:{workloads.fib.__qualname__}"
        expected_fib = workloads.fib_calls(workloads.FIB_N)
        problems = []
        for workload in workload_list:
            with self._trace_scope(scope="all") as graph:
                workload.func()
            total = graph.total_calls
            if workload.name == "fib":
                got = graph.calls(fib_id)
                if got != expected_fib:
                    problems.append(f"fib: graph.calls({fib_id!r}) = {got}, expected {expected_fib}")
            if total <= 0:
                problems.append(f"{workload.name}: graph.total_calls = {total}")
        return problems


class CallflowProject(Callflow):
    """callflow as the pytest plugin runs it by default: scope "project", the
    workloads' own code recorded, the standard library (asyncio's event loop
    and its internals) kept as leaves."""

    key = "callflow-project"
    label = "cf(project)"

    def __init__(self) -> None:
        super().__init__()
        import os

        # The workloads module is the project: its directory's parent is the root.
        self._root = os.path.dirname(os.path.dirname(os.path.abspath(workloads.__file__)))

    def run(self, func: Func) -> float:
        gc.collect()
        start = time.perf_counter()
        with self._trace_scope(scope="project", root=self._root):
            func()
        return time.perf_counter() - start

    def verify(self, workload_list: List[workloads.Workload]) -> List[str]:
        problems = []
        for workload in workload_list:
            with self._trace_scope(scope="project", root=self._root) as graph:
                workload.func()
            if graph.total_calls <= 0:
                problems.append(f"{workload.name} (project scope): graph.total_calls = 0")
        return problems


class CProfile(Tool):
    key = "cprofile"
    label = "cProfile"

    def __init__(self) -> None:
        import cProfile

        self._profile_class = cProfile.Profile

    def run(self, func: Func) -> float:
        profile = self._profile_class()
        gc.collect()
        start = time.perf_counter()
        profile.enable()
        func()
        profile.disable()
        return time.perf_counter() - start


class Yappi(Tool):
    key = "yappi"
    label = "yappi(wall)"

    def __init__(self) -> None:
        try:
            import yappi
        except ImportError as exc:
            raise ToolUnavailable(f"yappi not installed ({exc})") from exc
        yappi.set_clock_type("wall")
        self._yappi = yappi

    def run(self, func: Func) -> float:
        self._yappi.clear_stats()
        gc.collect()
        start = time.perf_counter()
        self._yappi.start()
        func()
        self._yappi.stop()
        elapsed = time.perf_counter() - start
        self._yappi.clear_stats()
        return elapsed


class VizTracerTool(Tool):
    key = "viztracer"
    label = "VizTracer"

    def __init__(self) -> None:
        try:
            from viztracer import VizTracer
        except ImportError as exc:
            raise ToolUnavailable(f"viztracer not installed ({exc})") from exc
        # One tracer (and its ring buffer) for all runs; nothing is saved.
        self._tracer = VizTracer(verbose=0)
        # On 3.11 the constructor leaves its (idle) profile hook installed
        # until the first stop(), which would slow every untraced run; a
        # start/stop pair detaches it.
        self._tracer.start()
        self._tracer.stop()
        self._tracer.clear()

    def run(self, func: Func) -> float:
        self._tracer.clear()
        gc.collect()
        start = time.perf_counter()
        self._tracer.start()
        func()
        self._tracer.stop()
        elapsed = time.perf_counter() - start
        self._tracer.clear()
        return elapsed


ALL_TOOLS = (Callflow, CallflowProject, CProfile, Yappi, VizTracerTool)
REQUIRED = ("callflow", "cprofile")


def load(keys: List[str]) -> Tuple[Dict[str, Tool], Dict[str, str]]:
    """Instantiate the requested tools: (available tools, key -> reason n/a)."""
    loaded: Dict[str, Tool] = {}
    missing: Dict[str, str] = {}
    for cls in ALL_TOOLS:
        if cls.key not in keys:
            continue
        try:
            loaded[cls.key] = cls()
        except ToolUnavailable as exc:
            missing[cls.key] = str(exc)
    return loaded, missing


def label_of(key: str) -> Optional[str]:
    for cls in ALL_TOOLS:
        if cls.key == key:
            return cls.label
    return None
