"""The plugin's options and ini values, read once per session.

Precedence: command line, then ini, then the default."""

import math
import os
from typing import Any, FrozenSet, List, Optional, Union

import pytest

from .gate import Policy

PHASES = ("setup", "call", "teardown")

ScopeSpec = Union[str, List[str]]


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("callflow", "call-flow gate (pytest-callflow)")
    group.addoption("--callflow", action="store_true", default=None,
                    help="trace every test and compare its call flow with the baselines "
                         "under .callflow/ (ini: callflow = true)")
    group.addoption("--no-callflow", action="store_false", dest="callflow",
                    help="turn the gate off even when the ini turns it on")
    group.addoption("--callflow-update", action="store_true", default=False,
                    help="write new and changed baselines, remove those of tests that no "
                         "longer exist (implies --callflow)")
    group.addoption("--callflow-dir", default=None, metavar="DIR",
                    help="baseline directory, relative to the rootdir (default .callflow; "
                         "ini: callflow_dir)")
    group.addoption("--callflow-scope", default=None, metavar="SCOPE",
                    help="project (default: code under the rootdir), all, or comma-separated "
                         "module prefixes (ini: callflow_scope)")
    group.addoption("--callflow-phases", default=None, metavar="PHASES",
                    help="test phases to trace, e.g. setup,call,teardown (default call; "
                         "ini: callflow_phases)")
    group.addoption("--callflow-max-calls-increase", default=None, type=float, metavar="FRACTION",
                    help="tolerated rise of calls per function and in total (0.1 = 10%%; "
                         "default 0.0: calls are deterministic; ini: "
                         "callflow_max_calls_increase)")
    group.addoption("--callflow-strict", action="store_true", default=None,
                    help="fail on new and vanished call paths too (ini: callflow_strict)")
    group.addoption("--callflow-require-baseline", action="store_true", default=None,
                    help="fail tests that have no baseline (ini: callflow_require_baseline)")
    group.addoption("--callflow-time", action="store_true", default=False,
                    help="also compare inclusive times, over repeated runs of each test")
    group.addoption("--callflow-time-repeats", default=5, type=int, metavar="N",
                    help="runs per test when comparing times (default 5)")
    group.addoption("--callflow-time-floor-ms", default=1.0, type=float, metavar="MS",
                    help="time changes below this are noise (default 1.0)")
    group.addoption("--callflow-time-threshold", default=0.5, type=float, metavar="FRACTION",
                    help="relative slow-down that fails a test (default 0.5 = 50%%)")
    group.addoption("--callflow-html", default=None, metavar="PATH",
                    help="write a self-contained HTML report of the session: every test's "
                         "verdict, call graph, flame graph, baseline diff and leaks "
                         "(implies --callflow)")
    group.addoption("--callflow-json", default=None, metavar="PATH",
                    help="write the session's per-test verdicts, findings, calls and times")
    group.addoption("--callflow-leaks", action="store_true", default=False,
                    help="run each test's call repeatedly and fail tests that leak objects, "
                         "threads or asyncio tasks (defaults: ini callflow_leaks_runs, "
                         "callflow_leaks_warmup, callflow_leaks_max_growth, "
                         "callflow_leaks_ignore_types)")

    parser.addini("callflow", "turn the call-flow gate on", type="bool", default=False)
    parser.addini("callflow_dir", "baseline directory relative to the rootdir",
                  default=".callflow")
    parser.addini("callflow_scope", "project, all, or comma-separated module prefixes",
                  default="project")
    parser.addini("callflow_phases", "test phases to trace (comma-separated)", default="call")
    parser.addini("callflow_max_calls_increase",
                  "tolerated rise of calls (fraction; 0.0 = exact, calls are deterministic)",
                  default="0.0")
    parser.addini("callflow_strict", "fail on new and vanished call paths", type="bool",
                  default=False)
    parser.addini("callflow_require_baseline", "fail tests without a baseline", type="bool",
                  default=False)
    parser.addini("callflow_leaks_runs", "measured runs per leak-checked test", default="5")
    parser.addini("callflow_leaks_warmup", "warm-up runs per leak-checked test", default="2")
    parser.addini("callflow_leaks_max_growth", "objects per run a type may grow by and still "
                  "not leak (default 0)", default="0")
    parser.addini("callflow_leaks_ignore_types", "type names (module.qualname) never reported "
                  "as leaking, one per line", type="linelist", default=[])
    parser.addini("callflow_ignore", "function names (or module prefixes ending in ':' or '.') "
                  "the gate never reports", type="linelist", default=[])


def _parse_scope(text: str, where: str) -> ScopeSpec:
    text = text.strip()
    if text in ("project", "all"):
        return text
    prefixes = [p.strip() for p in text.split(",") if p.strip()]
    if not prefixes:
        raise pytest.UsageError(f"{where}: expected project, all or module prefixes, got {text!r}")
    return prefixes


def _parse_phases(text: str, where: str) -> FrozenSet[str]:
    phases = {p.strip() for p in text.split(",") if p.strip()}
    unknown = sorted(phases - set(PHASES))
    if unknown:
        raise pytest.UsageError(f"{where}: unknown phase {unknown[0]!r} "
                                f"(choose from {', '.join(PHASES)})")
    return frozenset(phases | {"call"})  # the call phase is always traced


def _whole(value: Any, low: int, where: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise pytest.UsageError(f"{where}: expected a whole number, got {value!r}") from None
    if number < low:
        raise pytest.UsageError(f"{where}: expected at least {low}, got {number}")
    return number


def _fraction(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise pytest.UsageError(f"{where}: expected a non-negative number, got {value!r}")
    return number


class Settings:
    """Everything the plugin was asked to do, validated."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.getoption
        flag = opt("callflow")
        self.update: bool = bool(opt("callflow_update"))
        html_path: Optional[str] = opt("callflow_html")
        self.html_path = (os.path.join(str(config.invocation_params.dir), html_path)
                          if html_path else None)
        self.enabled: bool = self.update or bool(self.html_path) or (
            bool(config.getini("callflow")) if flag is None else bool(flag))
        self.rootdir = str(config.rootpath)
        directory = opt("callflow_dir") or config.getini("callflow_dir") or ".callflow"
        self.directory = os.path.join(self.rootdir, os.path.expanduser(directory))

        scope = opt("callflow_scope")
        where = "--callflow-scope" if scope is not None else "ini callflow_scope"
        self.scope: ScopeSpec = _parse_scope(scope if scope is not None
                                             else config.getini("callflow_scope"), where)
        phases = opt("callflow_phases")
        where = "--callflow-phases" if phases is not None else "ini callflow_phases"
        self.phases = _parse_phases(phases if phases is not None
                                    else config.getini("callflow_phases"), where)

        increase = opt("callflow_max_calls_increase")
        if increase is None:
            increase = _fraction(config.getini("callflow_max_calls_increase"),
                                 "ini callflow_max_calls_increase")
        increase = _fraction(increase, "--callflow-max-calls-increase")
        strict = opt("callflow_strict")
        strict = bool(config.getini("callflow_strict")) if strict is None else bool(strict)
        require = opt("callflow_require_baseline")
        self.require_baseline = (bool(config.getini("callflow_require_baseline"))
                                 if require is None else bool(require))
        repeats = opt("callflow_time_repeats")
        if repeats < 1:
            raise pytest.UsageError(f"--callflow-time-repeats: expected at least 1, got {repeats}")
        self.time_repeats: int = repeats
        floor_ms = _fraction(opt("callflow_time_floor_ms"), "--callflow-time-floor-ms")
        threshold = _fraction(opt("callflow_time_threshold"), "--callflow-time-threshold")
        ignore = [n.strip() for n in config.getini("callflow_ignore") if n.strip()]
        self.policy = Policy(max_calls_increase=increase, strict=strict,
                             compare_time=bool(opt("callflow_time")), time_threshold=threshold,
                             time_floor_ns=int(floor_ms * 1_000_000), ignore=ignore)
        self.leaks_all: bool = bool(opt("callflow_leaks"))
        self.leaks_runs = _whole(config.getini("callflow_leaks_runs"), 1, "ini callflow_leaks_runs")
        self.leaks_warmup = _whole(config.getini("callflow_leaks_warmup"), 0,
                                   "ini callflow_leaks_warmup")
        self.leaks_max_growth = _whole(config.getini("callflow_leaks_max_growth"), 0,
                                       "ini callflow_leaks_max_growth")
        self.leaks_ignore_types: List[str] = [
            str(name).strip() for name in config.getini("callflow_leaks_ignore_types")
            if str(name).strip()]
        json_path: Optional[str] = opt("callflow_json")
        self.json_path = (os.path.join(str(config.invocation_params.dir), json_path)
                          if json_path else None)

    @property
    def scope_mode(self) -> str:
        return self.scope if isinstance(self.scope, str) else "prefixes"
