"""The gate: the policy of a test (ini, command line, marker), the
comparison itself (libcallflow's rule engine through ``_native.compare``
and ``_native.check_budgets``), the findings as text, and the verdict.

Verdicts: "passed" (nothing beyond tolerance), "regressed" (a regression
finding: the test fails), "new" (no baseline yet), "improved" (fewer calls
beyond the improvement threshold), "warning" (findings that do not fail,
e.g. a baseline of another Python minor version), "error" (the baseline
could not be read: the test fails)."""

import math
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from .graph import CallGraph, function_name

Finding = Dict[str, Any]

ARROW = "\N{RIGHTWARDS ARROW}"

MARKER_ARGS = ("ignore", "max_blocking_ms", "max_calls", "max_calls_increase", "strict", "time")

VERDICT_ORDER = ("error", "regressed", "warning", "improved", "new", "passed")


class MarkerError(Exception):
    """A ``@pytest.mark.callflow`` with an unknown argument or a wrong type."""


class Policy:
    """The tolerances one test is judged under."""

    __slots__ = ("max_calls_increase", "strict", "compare_time", "time_threshold",
                 "time_floor_ns", "ignore", "budgets", "improvement_threshold",
                 "max_blocking_ms")

    def __init__(self, *, max_calls_increase: float = 0.0, strict: bool = False,
                 compare_time: bool = False, time_threshold: float = 0.5,
                 time_floor_ns: int = 1_000_000, ignore: Sequence[str] = (),
                 budgets: Optional[Mapping[str, int]] = None,
                 improvement_threshold: float = 0.2,
                 max_blocking_ms: Optional[float] = None) -> None:
        self.max_calls_increase = float(max_calls_increase)
        self.strict = bool(strict)
        self.compare_time = bool(compare_time)
        self.time_threshold = float(time_threshold)
        self.time_floor_ns = int(time_floor_ns)
        self.ignore: Tuple[str, ...] = tuple(ignore)
        self.budgets: Dict[str, int] = dict(budgets or {})
        self.improvement_threshold = float(improvement_threshold)
        # Longest event-loop step allowed (an absolute limit, like budgets).
        self.max_blocking_ms = None if max_blocking_ms is None else float(max_blocking_ms)

    def with_marker(self, overrides: Mapping[str, Any]) -> "Policy":
        """A copy with a marker's (validated) arguments applied."""
        return Policy(
            max_calls_increase=overrides.get("max_calls_increase", self.max_calls_increase),
            strict=overrides.get("strict", self.strict),
            compare_time=overrides.get("time", self.compare_time),
            time_threshold=self.time_threshold,
            time_floor_ns=self.time_floor_ns,
            ignore=self.ignore + tuple(overrides.get("ignore", ())),
            budgets={**self.budgets, **overrides.get("max_calls", {})},
            improvement_threshold=self.improvement_threshold,
            max_blocking_ms=overrides.get("max_blocking_ms", self.max_blocking_ms),
        )


# ---------------------------------------------------------------------------
# the marker


def _names(value: Any, what: str) -> List[str]:
    """Function names (``module:qualname`` strings or function objects)."""
    try:
        return [function_name(v) for v in value]
    except TypeError:
        raise MarkerError(f"{what}: expected function names or functions, got {value!r}") from None


def check_marker(args: Sequence[Any], kwargs: Mapping[str, Any], test: str) -> Dict[str, Any]:
    """Validate one marker's arguments; MarkerError naming the test and the
    argument.  Returns the arguments normalised (names as strings)."""
    where = f"{test}: @pytest.mark.callflow"
    if args:
        raise MarkerError(f"{where}: takes keyword arguments only "
                          f"({', '.join(MARKER_ARGS)}), got positional {args[0]!r}")
    unknown = sorted(set(kwargs) - set(MARKER_ARGS))
    if unknown:
        raise MarkerError(f"{where}: unknown argument {unknown[0]!r} "
                          f"(known: {', '.join(MARKER_ARGS)})")
    out: Dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "max_calls_increase":
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise MarkerError(f"{where}: max_calls_increase must be a non-negative number "
                                  f"(0.1 = 10%), got {value!r}")
            out[key] = float(value)
        elif key == "max_blocking_ms":
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise MarkerError(f"{where}: max_blocking_ms must be a positive number of "
                                  f"milliseconds, got {value!r}")
            out[key] = float(value)
        elif key in ("strict", "time"):
            if not isinstance(value, bool):
                raise MarkerError(f"{where}: {key} must be True or False, got {value!r}")
            out[key] = value
        elif key == "ignore":
            if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
                raise MarkerError(f"{where}: ignore must be a list of function names "
                                  f"(\"pkg.mod:fn\", or a prefix \"pkg.mod:\"), got {value!r}")
            names = _names(value, f"{where}: ignore")
            if any(not n for n in names):
                raise MarkerError(f"{where}: ignore: empty name")
            out[key] = sorted(set(names))
        elif key == "max_calls":
            if not isinstance(value, dict):
                raise MarkerError(f"{where}: max_calls must be a dict of function name to "
                                  f"a call budget, e.g. {{\"pkg.db:query\": 1}}, got {value!r}")
            budgets: Dict[str, int] = {}
            for name, limit in value.items():
                fn = _names([name], f"{where}: max_calls")[0]
                if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                    raise MarkerError(f"{where}: max_calls[{fn!r}] must be a non-negative int, "
                                      f"got {limit!r}")
                budgets[fn] = limit
            out[key] = budgets
    return out


def marker_overrides(markers: Iterable[Tuple[Sequence[Any], Mapping[str, Any]]],
                     test: str) -> Dict[str, Any]:
    """Merge the ``callflow`` markers of a test, closest first (as
    ``item.iter_markers`` yields them): the closest wins per argument;
    ``ignore`` lists add up and ``max_calls`` budgets merge per name."""
    merged: Dict[str, Any] = {}
    for args, kwargs in reversed(list(markers)):
        for key, value in check_marker(args, kwargs, test).items():
            if key == "ignore":
                merged[key] = sorted(set(merged.get(key, [])) | set(value))
            elif key == "max_calls":
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
    return merged


# ---------------------------------------------------------------------------
# comparing


def compare(baseline: "_native.Graph", current: "_native.Graph", policy: Policy, *,
            counts_are_warnings: bool = False, compare_time: Optional[bool] = None) -> List[Finding]:
    return list(_native.compare(
        baseline, current,
        max_calls_increase=policy.max_calls_increase,
        improvement_threshold=policy.improvement_threshold,
        strict=policy.strict,
        compare_time=policy.compare_time if compare_time is None else compare_time,
        time_threshold=policy.time_threshold,
        time_floor_ns=policy.time_floor_ns,
        counts_are_warnings=counts_are_warnings,
        ignore=policy.ignore,
    ))


def check_budgets(current: "_native.Graph", budgets: Mapping[str, int]) -> List[Finding]:
    if not budgets:
        return []
    return list(_native.check_budgets(current, dict(budgets)))


class Judgement:
    """The outcome of one test at the gate."""

    __slots__ = ("verdict", "findings", "notes", "fails", "failure")

    def __init__(self, verdict: str, findings: List[Finding], notes: List[str],
                 fails: bool, failure: str = "") -> None:
        self.verdict = verdict
        self.findings = findings
        self.notes = notes
        self.fails = fails          # the gate fails the test
        self.failure = failure      # one-line reason when it does


def check_blocking(current: CallGraph, max_blocking_ms: Optional[float]) -> List[Finding]:
    """A "blocking" regression when the longest step of an asyncio task (a
    run of the event loop's callback without yielding) exceeded the limit;
    before/after in seconds."""
    if max_blocking_ms is None:
        return []
    info = current.async_info
    longest = int(info.get("longest_step_ns") or 0) if info else 0
    if longest <= max_blocking_ms * 1e6:
        return []
    return [{"kind": "blocking", "verdict": "regression",
             "function": info.get("longest_step_function") if info else None, "callee": None,
             "before": max_blocking_ms / 1000.0, "after": longest * 1e-9}]


BaselineSource = Union["_native.Graph", Callable[[], "_native.Graph"]]


def judge(current: CallGraph, policy: Policy, *, baseline: Optional[BaselineSource],
          baseline_python: Optional[str], running_python: str,
          baseline_error: Optional[str] = None, baseline_has_times: bool = False,
          require_baseline: bool = False, updating: bool = False,
          use_baseline: bool = True, same_counts: bool = False) -> Judgement:
    """Judge ``current`` against ``baseline`` (None: no baseline entry; a
    callable: made on demand) under ``policy``.  ``updating``: baselines are
    being rewritten, so only absolute budgets and unreadable baselines fail.
    ``use_baseline=False`` checks the budgets alone (the marker without
    ``--callflow``).  ``same_counts``: the caller found the calls and edges
    identical to the baseline's, so the rules cannot find anything unless
    times are compared (the common case, spared a comparison)."""
    notes: List[str] = []
    findings = check_budgets(current._view().graph, policy.budgets) if policy.budgets else []
    findings += check_blocking(current, policy.max_blocking_ms)
    if use_baseline and baseline_error is not None:
        return Judgement("error", findings, [baseline_error], True,
                         f"unusable baseline: {baseline_error}")
    if use_baseline and baseline is not None:
        other_python = baseline_python is not None and baseline_python != running_python
        if other_python:
            notes.append(f"baseline recorded on Python {baseline_python}, running "
                         f"{running_python}: count changes are warnings, not regressions")
        compare_time = policy.compare_time
        if compare_time and not baseline_has_times:
            compare_time = False
            notes.append("no baseline times for this test: record them with "
                         "--callflow-update --callflow-time")
        if compare_time or not same_counts:
            graph = baseline() if callable(baseline) else baseline
            findings = findings + compare(graph, current._view().graph, policy,
                                          counts_are_warnings=other_python,
                                          compare_time=compare_time)
    kinds = {f["verdict"] for f in findings}
    budget_hit = any(f["kind"] == "budget" for f in findings)
    blocked = any(f["kind"] == "blocking" for f in findings)
    if "regression" in kinds:
        verdict = "regressed"
    elif use_baseline and baseline is None:
        verdict = "new"
    elif "warning" in kinds:
        verdict = "warning"
    elif "improvement" in kinds:
        verdict = "improved"
    else:
        verdict = "passed"
    failure = ""
    if budget_hit:
        failure = "calls above the max_calls budget"
    elif blocked:
        failure = "the event loop was blocked longer than max_blocking_ms"
    elif verdict == "regressed" and not updating:
        failure = "call-flow regression against the baseline"
    elif use_baseline and baseline is None and require_baseline and not updating:
        failure = ("no baseline for this test (--callflow-require-baseline); "
                   "record one with --callflow-update")
        notes.append("no baseline: record one with --callflow-update")
    return Judgement(verdict, findings, notes, bool(failure), failure)


# ---------------------------------------------------------------------------
# text


def _num(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:g}"


def _percent(before: float, after: float) -> str:
    if before == 0:
        return "new" if after else "0%"
    change = (after - before) / before * 100.0
    return f"{change:+.0f}%"


def _seconds(value: float) -> str:
    if value >= 1.0:
        return f"{value:.2f} s"
    if value >= 0.001:
        return f"{value * 1000:.2f} ms"
    return f"{value * 1e6:.0f} \N{MICRO SIGN}s"


def describe(f: Finding) -> str:
    """One finding as a line, e.g. ``shop.cart:price calls 10 → 30 (+200%)``."""
    kind, fn, callee = f["kind"], f.get("function"), f.get("callee")
    before, after = float(f["before"]), float(f["after"])
    if kind == "calls":
        return f"{fn} calls {_num(before)} {ARROW} {_num(after)} ({_percent(before, after)})"
    if kind == "total_calls":
        return f"total calls {_num(before)} {ARROW} {_num(after)} ({_percent(before, after)})"
    if kind == "new_function":
        return f"{fn} is new: {_num(after)} calls (none in the baseline)"
    if kind == "gone_function":
        return f"{fn} is no longer called (baseline: {_num(before)} calls)"
    if kind == "new_edge":
        return f"new call path {fn} {ARROW} {callee} ({_num(after)} calls)"
    if kind == "gone_edge":
        return f"vanished call path {fn} {ARROW} {callee} (baseline: {_num(before)} calls)"
    if kind == "edge_calls":
        return (f"{fn} {ARROW} {callee} calls {_num(before)} {ARROW} {_num(after)} "
                f"({_percent(before, after)})")
    if kind == "time":
        return (f"{fn} time {_seconds(before)} {ARROW} {_seconds(after)} "
                f"({_percent(before, after)})")
    if kind == "budget":
        return f"{fn} calls {_num(after)} > max_calls budget {_num(before)}"
    if kind == "blocking":
        return (f"{fn or 'a task'} blocked the event loop for {_seconds(after)} "
                f"> max_blocking_ms {_num(before * 1000)}")
    return f"{kind} {fn or ''} {_num(before)} {ARROW} {_num(after)}".strip()


class CallerChains:
    """Caller chains from a graph's calling-context tree: the path to the
    node of a function with the most calls (built on first use)."""

    def __init__(self, graph: CallGraph) -> None:
        self._graph = graph
        self._rows: Optional[List[Tuple[Optional[str], int, int]]] = None
        self._best: Dict[str, int] = {}

    def _build(self) -> None:
        rows = [(r[0], r[1], r[2]) for r in self._graph._view().graph.nodes()]
        best: Dict[str, int] = {}
        for i, (name, _parent, calls) in enumerate(rows):
            if name is None:
                continue
            j = best.get(name)
            if j is None or calls > rows[j][2]:
                best[name] = i
        self._rows, self._best = rows, best

    def chain(self, function: Optional[str]) -> Optional[str]:
        if function is None:
            return None
        if self._rows is None:
            self._build()
        assert self._rows is not None
        i = self._best.get(function)
        if i is None:
            return None
        names: List[str] = []
        while i > 0:
            name, parent, _calls = self._rows[i]
            if name is not None:
                names.append(name)
            i = parent
        if len(names) < 2:
            return None  # a root-level call: no caller to show
        # Direct recursion shows once, with its depth: "pkg:f (×9 deep)".
        shown: List[str] = []
        depth = 0
        for k, name in enumerate(reversed(names)):
            depth += 1
            if k + 1 < len(names) and names[len(names) - k - 2] == name:
                continue
            shown.append(name if depth == 1 else f"{name} (×{depth} deep)")
            depth = 0
        return f" {ARROW} ".join(shown)


_LABELS = {"regression": "REGRESSION", "warning": "warning", "improvement": "improvement",
           "note": "note"}


def finding_record(f: Finding, chains: Optional[CallerChains]) -> Dict[str, Any]:
    """A finding as carried in reports and JSON: the engine's fields plus
    ``message`` and ``chain``."""
    record = dict(f)
    record["message"] = describe(f)
    chain = None
    if chains is not None and f["kind"] not in ("gone_function", "gone_edge", "total_calls"):
        chain = chains.chain(f.get("callee") or f.get("function"))
    record["chain"] = chain
    return record


def section_text(verdict: str, records: Sequence[Mapping[str, Any]], notes: Sequence[str], *,
                 baseline_file: Optional[str], total_calls: int, duration: float) -> str:
    """The ``callflow`` report section of a test."""
    head = f"verdict: {verdict}; {total_calls} calls in {_seconds(duration)}"
    if baseline_file:
        head += f"; baseline {baseline_file}"
    lines = [head]
    lines.extend(f"note: {n}" for n in notes)
    lines.extend(finding_lines(records))
    return "\n".join(lines)


def finding_lines(records: Sequence[Mapping[str, Any]]) -> List[str]:
    """Finding records as text lines: label and message, then the caller
    chain (also the ``callflow diff`` output)."""
    lines = []
    for r in records:
        lines.append(f"{_LABELS.get(r['verdict'], r['verdict']):<12}{r['message']}")
        if r.get("chain"):
            lines.append(f"{'':<12}  via {r['chain']}")
    return lines


def failure_text(judgement: Judgement, records: Sequence[Mapping[str, Any]]) -> str:
    """The longrepr of a test the gate fails although it passed on its own:
    one line (pytest's short summary shows it); the details are in the
    test's callflow section."""
    failing = [r for r in records if r["verdict"] == "regression"]
    if failing:
        text = f"callflow: {failing[0]['message']}"
        if len(failing) > 1:
            text += f" (and {len(failing) - 1} more)"
        return text + "; see the callflow section"
    return f"callflow: {judgement.failure}"
