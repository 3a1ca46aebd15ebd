"""Per-test leak assertions (``--callflow-leaks``, ``@pytest.mark.callflow_leaks``).

The protocol (DESIGN.md, "Leak protocol"): the test's call runs
``warmup + runs`` times with its fixtures set up once; after each run the
interpreter's self-growing caches are cleared, garbage is collected until
nothing more is found and the heap is censused in C (_native.census).  A
type leaks when it grows on every measured run (_native.census_growth).
The verdict names each leaking type with its growth per run, the allocation
site of a sample leaked object (tracemalloc, on for the measured runs only)
and a referrer chain from a root to it; threads left running, asyncio tasks
left pending and new uncollectable garbage are reported too.

The first run is the test's real call (its outcome is the test's own); the
repeats call ``item.runtest()`` directly, so no other hook sees them.
Per-call fixture state that would pile up only because fixtures are not set
up again (monkeypatch entries, recorded warnings and logs, captured output)
is rewound before each repeat; growth that only the test's function-scoped
fixture values hold (a fixture's list the test appends to) is freed at
teardown, so it is set apart ("fixture_held" in the verdict), not a leak.

This module holds the checker the plugin registers (LeakChecker), the
protocol around one test (LeakRun) and its verdict; the marker and policy
are in leak_marker.py, the settling between runs in leak_settle.py, the
referrer chains in leak_chain.py and the fixture-held growth in
leak_fixtures.py."""

import array
import asyncio
import gc
import linecache
import os
import sys
import threading
import time
import tracemalloc
import traceback
import warnings
import weakref
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

import pytest

from . import _native
from .leak_chain import CHAIN_BUDGET_S, is_runner_file, referrer_chain
from .leak_fixtures import (MIN_TRACED, fixture_held, fixture_values, region_objects,
                            region_shared, region_tally)
from .leak_marker import MARKER_HELP, LeakMarkerError, LeakPolicy, marker_policy, type_name
from .leak_settle import FixtureRewind, abc_classes, settle
from .report_carry import CarriesReportAttribute

# What the plugin uses; MARKER_HELP, LeakPolicy and LeakMarkerError are leak_marker's.
__all__ = ["MARKER_HELP", "SECTION", "LeakChecker", "LeakMarkerError", "LeakPolicy", "LeakRun",
           "Result", "describe", "json_doc"]

SECTION = "callflow-leaks"

Result = Dict[str, Any]

_RESULT = pytest.StashKey[Result]()

# Task types whose census count triggers the (costly) search for pending tasks.
_TASK_TYPES = ("_asyncio.Task", "asyncio.tasks.Task")
_THREAD_GRACE_S = 0.3      # threads ending right after the test are not leaks
_REPORTED_TYPES = 5        # leaking types explained (site, chain) per test
_SITE_SAMPLES = 5_000      # new objects of a type whose sites are compared
_SHOWN_TYPES = 8           # leaking types listed in the report section
# Before 3.12 tracemalloc finds no traceback of objects with a managed dict.
_NO_DICT_TRACEBACKS = sys.version_info < (3, 12)
_SITE_FALLBACK = "the line that left the most traced memory in the measured runs: " + (
    "3.11's tracemalloc has no traceback of objects with a __dict__"
    if sys.version_info[:2] == (3, 11) else "the sample object has no traceback")
_TRACEMALLOC = os.path.normcase(os.path.abspath(tracemalloc.__file__))


# ---------------------------------------------------------------------------
# one checked test



def _rank(name: str) -> int:
    """Which leaking types are told first: the program's own classes (what
    leaks), then builtin ones (what they hold), then the pseudo figures."""
    if "." not in name:
        return 2
    return 1 if name.startswith("builtins.") else 0


def _ignored(name: str, ignore: Sequence[str]) -> bool:
    return any(name == i or (i.endswith(".") and name.startswith(i)) for i in ignore)


def _per_run(values: Sequence[int], unit: str = "") -> str:
    lo, hi = min(values), max(values)
    fmt = (lambda v: f"+{v:,}{unit}")
    return fmt(lo) if lo == hi else f"{fmt(lo)}..{fmt(hi)}"


def _site_frame(tb: Optional[tracemalloc.Traceback]) -> Optional[tracemalloc.Frame]:
    """The innermost frame of an allocation traceback outside the test
    runner and this plugin (the line of the test's code that asked)."""
    if tb is None:
        return None
    for frame in reversed(list(tb)):
        if not is_runner_file(frame.filename):  # this plugin's files are the runner's
            return frame
    return None


def _site(tb: Optional[tracemalloc.Traceback]) -> Optional[str]:
    """_site_frame as ``file:line: source``."""
    frame = _site_frame(tb)
    if frame is None:
        return None
    line = linecache.getline(frame.filename, frame.lineno).strip()
    return f"{frame.filename}:{frame.lineno}" + (f": {line}" if line else "")


def _sample(made: List[Any], region: Set[int], growth: int) -> Any:
    """The object to explain a leaking type by, among those made in the
    measured runs that are still alive: one from an allocation site
    (outside the runner), since the runner's own new objects of a common
    type (lists, dicts) have none; of the sites, one that made the most,
    counting objects no fixture of the test holds first (their holder is
    news).  A site that made more live objects than the type grew by over
    the runs (``growth``) churns through something bounded (a deque, an
    LRU cache), so sites within that count come first."""
    by_site: Dict[Tuple[str, int], List[Any]] = {}
    for obj in made[:_SITE_SAMPLES]:
        frame = _site_frame(tracemalloc.get_object_traceback(obj))
        if frame is not None:
            by_site.setdefault((frame.filename, frame.lineno), []).append(obj)

    def free(objs: List[Any]) -> List[Any]:
        return [o for o in objs if id(o) not in region]

    def rank(objs: List[Any]) -> Tuple[bool, int, int]:
        return len(objs) <= growth, len(free(objs)), len(objs)

    pool = max(by_site.values(), key=rank) if by_site else made
    chosen = next(iter(free(pool)), pool[0])
    by_site.clear()
    return chosen


def _pending_tasks(before: "Optional[weakref.WeakSet[Any]]") -> List[Any]:
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Task) and not obj.done():
            if before is None or obj not in before:
                found.append(obj)
    return found


def _describe_task(task: Any) -> str:
    coro = task.get_coro() if hasattr(task, "get_coro") else None
    what = getattr(coro, "__qualname__", None) or repr(coro)
    loop = task.get_loop() if hasattr(task, "get_loop") else None
    state = "closed" if loop is not None and loop.is_closed() else "open"
    return f"{task.get_name()} ({what}) pending on an {state} loop"


class LeakRun:
    """The leak protocol around one test's call phase."""

    def __init__(self, item: pytest.Item, policy: LeakPolicy) -> None:
        self.item = item
        self.policy = policy
        self.abcs = abc_classes()
        self.rewind = FixtureRewind(item)
        self.censuses: List[_native.Census] = []
        self.repeat_failure: Optional[str] = None
        self.stopped_early: Optional[str] = None
        self.started_tracing = False
        self.threads_before: Dict[int, str] = {}
        self.garbage_before = 0
        self.tasks_before: "Optional[weakref.WeakSet[Any]]" = None
        self.tasks_counted_before = 0
        self.old_ids: "array.array[int]" = array.array("Q")
        # The test's function-scoped fixtures and their region, one tally
        # per census (see leak_fixtures.py).
        self.scoped, self.wider = fixture_values(item)
        self.tallies: "List[Optional[_native.Census]]" = []

    # -- the runs --------------------------------------------------------------

    def _census(self) -> None:
        self.censuses.append(_native.census())
        if self.scoped:
            objs = region_objects(self.scoped, self.wider)
            if objs is None:
                self.scoped = []  # too big to tell apart: judged as the rest
            self.tallies.append(region_tally(objs) if objs is not None else None)
            del objs

    def begin(self) -> None:
        """Before the real call: without warm-up a census here is the
        baseline, and tracing starts here."""
        if self.policy.warmup == 0:
            settle(self.abcs)
            self._start_tracing()
            self._census()
            self._before_measuring()

    def run(self) -> Result:
        """After the real call (run 1): the repeats, then the verdict."""
        total = self.policy.warmup + self.policy.runs
        self.rewind.first_done()
        try:
            self._after_run(1)
            for n in range(2, total + 1):
                self.rewind.before_repeat()
                if not self._repeat(n):
                    break
                self._after_run(n)
            self.rewind.finish()
            return self._verdict()
        finally:
            self.censuses = []
            if self.started_tracing:
                tracemalloc.stop()

    def _repeat(self, n: int) -> bool:
        # Warnings of a repeat are dropped (pytest would keep one per run),
        # unless the test records them itself (recwarn).
        with warnings.catch_warnings(record=self.rewind.recwarn is None):
            try:
                self.item.runtest()
            except (pytest.skip.Exception, pytest.xfail.Exception) as exc:
                self.stopped_early = f"not checked: run {n} was skipped ({exc})"
                return False
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # a repeat's failure is a verdict
                text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__,
                                                          limit=-8))
                total = self.policy.warmup + self.policy.runs
                self.repeat_failure = f"run {n} of {total} failed:\n{text.rstrip()}"
                del exc
                return False
        return True

    def _after_run(self, n: int) -> None:
        settle(self.abcs)
        if n == self.policy.warmup:
            # tracemalloc traces the measured runs only: started after the
            # warm-up, before the baseline census (which thus has traced
            # bytes, as every later one).  An untraced object that a
            # measured run replaces reads as traced growth of that run
            # only, never of every run.
            self._start_tracing()
        self._census()
        if n == self.policy.warmup:
            self._before_measuring()

    def _start_tracing(self) -> None:
        """Right before the baseline census."""
        if _NO_DICT_TRACEBACKS:
            # To tell leaked objects from older ones of their type.  Taken
            # before tracing (traced, the 100,000s of ints of ids cost 0.3 s)
            # and kept in an array (one block, not one per id).
            self.old_ids = array.array("Q", sorted(map(id, gc.get_objects())))
        if not tracemalloc.is_tracing():
            tracemalloc.start(16)
            self.started_tracing = True

    def _before_measuring(self) -> None:
        self.threads_before = {t.ident or 0: t.name for t in threading.enumerate()}
        self.garbage_before = len(gc.garbage)
        last = self.censuses[-1] if self.censuses else _native.census()
        self.tasks_counted_before = sum(last.count(n) for n in _TASK_TYPES)
        if self.tasks_counted_before:
            self.tasks_before = weakref.WeakSet(_pending_tasks(None))

    # -- the verdict -------------------------------------------------------------

    def _verdict(self) -> Result:
        policy = self.policy
        result: Result = {"runs": policy.runs, "warmup": policy.warmup, "leaks": [],
                          "threads": [], "tasks": [], "garbage": None, "problems": [],
                          "fixture_held": [], "verdict": "clean"}
        try:
            if self.repeat_failure is not None or self.stopped_early is not None:
                result["verdict"] = "failed" if self.repeat_failure else "unchecked"
                result["problems"].append(self.repeat_failure or self.stopped_early)
                return result
            self._judge_types(result)
            self._judge_threads(result)
            self._judge_tasks(result)
            self._judge_garbage(result)
        finally:
            self.censuses = []
        if result["leaks"] or result["threads"] or result["tasks"] or result["garbage"]:
            result["verdict"] = "leaked"
        result["problems"] = describe(result)
        return result

    def _judge_types(self, result: Result) -> None:
        policy = self.policy
        warmup = policy.warmup if policy.warmup >= 1 else 1  # census 0 is the baseline
        floor = policy.max_growth + 1
        found = _native.census_growth(
            self.censuses, warmup=warmup, min_count=floor,
            min_bytes=1 if policy.max_growth == 0 else 0,
            min_blocks=floor, min_traced=MIN_TRACED if policy.max_growth == 0 else 0)
        leaks = [leak for leak in found if not _ignored(leak["name"], policy.ignore_types)]
        leaks.sort(key=lambda leak: _rank(leak["name"]))  # stable: the census's order within
        region_deadline = time.monotonic() + CHAIN_BUDGET_S  # for the fixture-region walk
        scoped, wider = self.scoped, self.wider
        objs = region_objects(scoped, wider) if scoped and leaks else None
        held = fixture_held(leaks, self.tallies, warmup - 1) if objs is not None else set()
        if any("." in leak["name"] and leak["name"] not in held for leak in leaks):
            held = {n for n in held if "." in n}  # the memory grew with the rest too
        if held and region_shared(scoped, objs or [], wider, {n for n in held if "." in n},
                                   region_deadline):
            held = set()
        region = {id(o) for o in objs or ()}
        objs = None
        if held:
            names = ", ".join(n for n, _ in scoped)
            result["fixture_held"] = [
                {"type": leak["name"], "fixture": names, "count_growth": list(leak["count_growth"]),
                 "bytes_growth": list(leak["bytes_growth"])}
                for leak in leaks if leak["name"] in held]
            leaks = [leak for leak in leaks if leak["name"] not in held]
        if len(leaks) < len(found):
            # The memory of an ignored (or fixture-held) type is not a leak
            # of the whole heap.
            leaks = [leak for leak in leaks if "." in leak["name"]]
        typed = [leak["name"] for leak in leaks if "." in leak["name"]][:_REPORTED_TYPES]
        new, older = self._scan(typed)
        growth = {leak["name"]: sum(leak["count_growth"]) for leak in leaks}
        samples = {n: _sample(made, region, growth.get(n, 0)) if made else older.get(n)
                   for n, made in new.items()}
        # The referrer searches' own budget, for all of them: the scan above
        # takes long on a big heap (common types, before 3.12 the id check).
        chain_deadline = time.monotonic() + CHAIN_BUDGET_S
        new.clear()
        older.clear()
        scoped_labels = {id(v): f"fixture '{n}' (function scope)" for n, v in scoped}
        if not leaks:
            samples.clear()
            return
        types_ = [leak["name"] for leak in leaks if "." in leak["name"]]
        # What is left of the traced runs, taken before anything else
        # allocates: the site of untracked growth, and of the first type
        # when its sample has no traceback (before 3.12, see _NO_DICT_TRACEBACKS).
        traced_site = self._traced_site() if not types_ or _NO_DICT_TRACEBACKS else None
        for leak in leaks:
            name = leak["name"]
            entry: Result = {"type": name, "by": list(leak["by"]),
                             "count_growth": list(leak["count_growth"]),
                             "bytes_growth": list(leak["bytes_growth"]),
                             "count": leak["count"], "site": None, "chain": None}
            obj = samples.pop(name, None)
            if obj is not None:
                entry["site"] = _site(tracemalloc.get_object_traceback(obj))
                left = chain_deadline - time.monotonic()
                entry["chain"] = (referrer_chain(obj, left, wider, scoped_labels)
                                  if left > 0.05 else None)
                del obj
                if entry["site"] is None and name == types_[0] and traced_site:
                    # Not the object's own traceback (before 3.12 tracemalloc
                    # has none for objects with a __dict__): said so.
                    entry["site"] = traced_site
                    entry["site_fallback"] = _SITE_FALLBACK
            elif name == _native.CENSUS_TRACED or (name == _native.CENSUS_BLOCKS
                                                   and not types_):
                entry["site"] = traced_site
            result["leaks"].append(entry)
        samples.clear()

    def _scan(self, names: List[str], cap: int = 20_000
              ) -> Tuple[Dict[str, List[Any]], Dict[str, Any]]:
        """One pass over the live objects of the given type names: those
        made in the measured runs (traced ones, and before 3.12 those not
        alive at the baseline), up to ``cap`` per type, and one older
        object per type for a type with none of those."""
        new: Dict[str, List[Any]] = {n: [] for n in names}
        older: Dict[str, Any] = {}
        if not names:
            return new, older
        old = self.old_ids
        named: Dict[type, Tuple[str, Optional[List[Any]]]] = {}  # no new string per object
        for obj in gc.get_objects():
            cls = type(obj)
            entry = named.get(cls)
            if entry is None:
                name = type_name(cls)
                entry = named[cls] = (name, new.get(name))
            name, made = entry
            if made is None or len(made) >= cap:
                continue
            if tracemalloc.get_object_traceback(obj) is not None or \
                    (old and not _native.ids_hold(old, obj)):
                made.append(obj)
            elif not made:
                older.setdefault(name, obj)
        named.clear()
        return new, older

    def _traced_site(self) -> Optional[str]:
        """For growth the type census cannot see (str, int, bytes): the
        line that allocated most of what is left of the traced runs."""
        if not tracemalloc.is_tracing():
            return None
        stats = tracemalloc.take_snapshot().statistics("lineno")
        for stat in stats[:20]:
            frame = stat.traceback[0]
            if frame.filename.startswith("<frozen") or is_runner_file(frame.filename) \
                    or os.path.normcase(os.path.abspath(frame.filename)) == _TRACEMALLOC:
                continue
            line = linecache.getline(frame.filename, frame.lineno).strip()
            return (f"{frame.filename}:{frame.lineno}" + (f": {line}" if line else "") +
                    f" ({stat.size:,} B in {stat.count} blocks)")
        return None

    def _judge_threads(self, result: Result) -> None:
        new = [t for t in threading.enumerate()
               if (t.ident or 0) not in self.threads_before and t is not threading.current_thread()]
        deadline = time.monotonic() + _THREAD_GRACE_S
        for t in new:
            t.join(max(0.0, deadline - time.monotonic()))
        result["threads"] = sorted(f"{t.name} ({'daemon' if t.daemon else 'non-daemon'})"
                                   for t in new if t.is_alive())

    def _judge_tasks(self, result: Result) -> None:
        last = _native.census()
        if not sum(last.count(n) for n in _TASK_TYPES):
            return
        tasks = _pending_tasks(self.tasks_before)
        result["tasks"] = sorted(_describe_task(t) for t in tasks)
        tasks.clear()

    def _judge_garbage(self, result: Result) -> None:
        new = gc.garbage[self.garbage_before:]
        if new:
            counts: Dict[str, int] = {}
            for obj in new:
                name = type_name(type(obj))
                counts[name] = counts.get(name, 0) + 1
            result["garbage"] = {"count": len(new), "types": dict(sorted(counts.items()))}


def describe(result: Result) -> List[str]:
    """The verdict's lines: threads, tasks and garbage first (the plainest),
    then the leaking types with site and holder; the pseudo figures
    (allocated blocks, traced memory) only when no type explains them."""
    lines: List[str] = list(p for p in result.get("problems", ()) if p)
    if lines:
        return lines
    runs = result["runs"]
    for what, items in (("thread left running", result["threads"]),
                        ("asyncio task left pending", result["tasks"])):
        counts: Dict[str, int] = {}
        for t in items:
            counts[t] = counts.get(t, 0) + 1
        for t, n in counts.items():
            lines.append(f"{what}: {t}" + (f" (x{n})" if n > 1 else ""))
    garbage = result.get("garbage")
    if garbage:
        kinds = ", ".join(f"{n} x{c}" for n, c in garbage["types"].items())
        lines.append(f"uncollectable garbage: {garbage['count']} new objects in gc.garbage "
                     f"({kinds})")
    typed = [leak for leak in result["leaks"] if "." in leak["type"]]
    shown = typed or result["leaks"]
    for leak in shown[:_SHOWN_TYPES]:
        name = leak["type"]
        if name == _native.CENSUS_TRACED:
            text = f"{name}: {_per_run(leak['bytes_growth'], ' B')} per run over {runs} runs"
        elif "count" in leak["by"]:
            text = f"{name}: {_per_run(leak['count_growth'])} per run over {runs} runs"
        else:
            text = f"{name}: {_per_run(leak['bytes_growth'], ' B')} per run over {runs} runs " \
                   f"(size only)"
        lines.append(text)
        if leak.get("site"):
            lines.append(f"    allocated at {leak['site']}")
            if leak.get("site_fallback"):
                lines.append(f"      ({leak['site_fallback']})")
        if leak.get("chain"):
            lines.append(f"    held by {leak['chain']}")
    if len(shown) > _SHOWN_TYPES:
        lines.append(f"... and {len(shown) - _SHOWN_TYPES} more growing types")
    return lines


# ---------------------------------------------------------------------------
# the plugin


class LeakChecker(CarriesReportAttribute):
    """Registered at configure, before the call-flow tracers (so its call
    wrapper is outside theirs and its repeats are never traced); checks
    the tests that ask for it and reports them."""

    carried_attribute = "callflow_leaks"

    def __init__(self, config: pytest.Config, defaults: LeakPolicy, check_all: bool, *,
                 json_path: Optional[str] = None, gate_on: bool = False) -> None:
        self.config = config
        self.defaults = defaults
        self.check_all = check_all
        self.json_path = json_path     # written here only when the gate is off
        self.gate_on = gate_on         # else session_report.py writes it, leaks included
        self.is_worker = hasattr(config, "workerinput")
        self.results: Dict[str, Result] = {}
        self.json_error: Optional[str] = None

    def policy(self, item: pytest.Item) -> Optional[LeakPolicy]:
        return marker_policy(item, self.defaults, self.check_all)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        try:
            policy = self.policy(item)
        except LeakMarkerError:
            policy = None  # reported at collection
        if policy is None:
            return (yield)
        probe = LeakRun(item, policy)
        probe.begin()
        try:
            result = yield
        except (pytest.skip.Exception, pytest.xfail.Exception):
            raise
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            # The test failed on its own: keep its failure, still check it.
            item.stash[_RESULT] = self._check(probe, own_failed=True)
            raise
        item.stash[_RESULT] = self._check(probe, own_failed=False)
        return result

    def _check(self, probe: LeakRun, own_failed: bool) -> Result:
        result = probe.run()
        if own_failed and result["verdict"] == "failed":
            # a failing test fails again: nothing new to say
            result["verdict"] = "unchecked"
            result["problems"] = ["not checked: the test failed"]
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        report = yield
        if report.when != "call" or _RESULT not in item.stash:
            return report
        result = item.stash[_RESULT]
        del item.stash[_RESULT]
        result = dict(result)  # the report's own; its outcome is set below
        lines = result["problems"]
        if result["verdict"] in ("leaked", "failed"):
            text = "\n".join(lines)
            report.sections.append((SECTION, text))
            if report.passed and not hasattr(report, "wasxfail"):
                # One line, as the gate's (pytest's short summary shows it);
                # the details are in the section, once.
                report.outcome = "failed"
                what = "leaks found" if result["verdict"] == "leaked" else "a repeat failed"
                first = lines[0].strip() if lines else ""
                report.longrepr = (f"{SECTION}: {what}" + (f": {first}" if first else "") +
                                   f"; see the {SECTION} section")
        result["outcome"] = report.outcome
        report.callflow_leaks = result  # type: ignore[attr-defined]
        return report

    # -- xdist ---------------------------------------------------------------

    # (report.callflow_leaks crosses to the controller: CarriesReportAttribute)

    # -- the controller ----------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = getattr(report, "callflow_leaks", None)
        if not self.is_worker and isinstance(result, dict):
            self.results[report.nodeid] = result

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker or self.gate_on or not self.json_path:
            return
        if self.results or self.check_all:
            from .session_report import write_leaks_json
            python = "{}.{}".format(*sys.version_info[:2])
            self.json_error = write_leaks_json(self.json_path, python, json_doc(self.results))

    def leaking(self) -> List[str]:
        return [n for n in sorted(self.results)
                if self.results[n]["verdict"] in ("leaked", "failed")]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not (self.results or self.json_error):
            return
        line, sep = terminalreporter.write_line, terminalreporter.write_sep
        sep("=", SECTION)
        bad = self.leaking()
        n = len(self.results)
        held = sum(1 for r in self.results.values()
                   if r.get("fixture_held") and r["verdict"] == "clean")
        note = (f" ({held} with growth only function-scoped fixtures hold: freed at "
                f"teardown, not counted)" if held else "")
        line(f"{n} test{'' if n == 1 else 's'} checked for leaks: "
             f"{len(bad)} leaking or failing on repeat{note}", red=bool(bad))
        for nodeid in bad[:20]:
            line(f"  {nodeid}")
            for text in self.results[nodeid]["problems"][:6]:
                line(f"      {text.splitlines()[0] if text else text}")
        if len(bad) > 20:
            line(f"  ... and {len(bad) - 20} more")
        if self.json_error:
            line(f"callflow error: {self.json_error}", red=True)


def json_doc(results: Mapping[str, Result]) -> Dict[str, Result]:
    """The ``leaks`` part of --callflow-json: node id -> leak verdict."""
    return {nodeid: results[nodeid] for nodeid in sorted(results)}
