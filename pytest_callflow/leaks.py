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
teardown, so it is set apart ("fixture_held" in the verdict), not a leak."""

import abc
import array
import asyncio
import bisect
import gc
import json
import linecache
import logging
import os
import re
import sys
import threading
import time
import tracemalloc
import traceback
import types
import warnings
import weakref
from typing import (Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set,
                    Tuple)

import pytest

from . import _native
from .report_carry import CarriesReportAttribute

MARKER = "callflow_leaks"
SECTION = "callflow-leaks"
MARKER_HELP = (f"{MARKER}(runs=5, warmup=2, max_growth=0, ignore_types=[names or types]): "
               "run the test's call repeatedly and fail it when objects, threads or tasks "
               "pile up (works without --callflow-leaks)")

Result = Dict[str, Any]

_POLICY = pytest.StashKey[Optional["LeakPolicy"]]()
_RESULT = pytest.StashKey[Result]()

# Task types whose census count triggers the (costly) search for pending tasks.
_TASK_TYPES = ("_asyncio.Task", "asyncio.tasks.Task")
_THREAD_GRACE_S = 0.3      # threads ending right after the test are not leaks
_CHAIN_BUDGET_S = 1.0      # referrer search: time and size bounds
_CHAIN_DEPTH = 12
_CHAIN_WIDTH = 64
_REPORTED_TYPES = 5        # leaking types explained (site, chain) per test
# Traced bytes wobble by up to a few hundred bytes a run (thread bookkeeping,
# lazily resized tables): with no floor, 1 of 600 clean checks of
# bench/leaks_stability.py grew on every run, by 64-288 B.  Leaked objects
# of any size show in the allocated blocks (every object-allocator block
# counts), so the floor only hides in-place growth under 1 KiB a run.
_MIN_TRACED = 1024
_SHOWN_TYPES = 8           # leaking types listed in the report section
# Before 3.12 tracemalloc finds no traceback of objects with a managed dict.
_NO_DICT_TRACEBACKS = sys.version_info < (3, 12)
_SITE_FALLBACK = "the line that left the most traced memory in the measured runs: " + (
    "3.11's tracemalloc has no traceback of objects with a __dict__"
    if sys.version_info[:2] == (3, 11) else "the sample object has no traceback")
_CENSUS_SCHEMA = "callflow-census/1"
_HERE = os.path.normcase(os.path.abspath(__file__))
_TRACEMALLOC = os.path.normcase(os.path.abspath(tracemalloc.__file__))
_RUNNER_FILE = re.compile(r"[/\\](_pytest|pluggy)[/\\]")


class LeakMarkerError(Exception):
    """A ``callflow_leaks`` marker with an unknown argument or a wrong value."""


class LeakPolicy:
    __slots__ = ("runs", "warmup", "max_growth", "ignore_types")

    def __init__(self, runs: int = 5, warmup: int = 2, max_growth: int = 0,
                 ignore_types: Sequence[str] = ()) -> None:
        self.runs = runs
        self.warmup = warmup
        self.max_growth = max_growth
        self.ignore_types = list(ignore_types)

    def replace(self, **changes: Any) -> "LeakPolicy":
        values = {k: getattr(self, k) for k in self.__slots__}
        values.update(changes)
        return LeakPolicy(**values)


# ---------------------------------------------------------------------------
# the marker


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _count(value: Any, key: str, low: int, test: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise LeakMarkerError(f"{test}: @pytest.mark.{MARKER}({key}=...) must be an integer "
                              f">= {low}, got {value!r}")
    return value


def check_marker(args: Sequence[Any], kwargs: Mapping[str, Any], test: str) -> Dict[str, Any]:
    """The validated arguments of one ``callflow_leaks`` marker."""
    if args:
        raise LeakMarkerError(f"{test}: @pytest.mark.{MARKER} takes keyword arguments only "
                              f"(runs, warmup, max_growth, ignore_types), got {args!r}")
    unknown = sorted(set(kwargs) - set(LeakPolicy.__slots__))
    if unknown:
        raise LeakMarkerError(f"{test}: unknown @pytest.mark.{MARKER} argument"
                              f"{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                              f"(known: {', '.join(LeakPolicy.__slots__)})")
    out: Dict[str, Any] = {}
    for key, low in (("runs", 1), ("warmup", 0), ("max_growth", 0)):
        if key in kwargs:
            out[key] = _count(kwargs[key], key, low, test)
    if "ignore_types" in kwargs:
        names = kwargs["ignore_types"]
        if isinstance(names, (str, type)) or not isinstance(names, (list, tuple, set)):
            names = [names]
        out["ignore_types"] = []
        for n in names:
            if isinstance(n, type):
                out["ignore_types"].append(_type_name(n))
            elif isinstance(n, str) and n:
                out["ignore_types"].append(n)
            else:
                raise LeakMarkerError(f"{test}: @pytest.mark.{MARKER}(ignore_types=...) takes "
                                      f"type names or types, got {n!r}")
    return out


def marker_policy(item: pytest.Item, defaults: LeakPolicy, check_all: bool) -> Optional[LeakPolicy]:
    """The policy ``item`` is checked under, None when it is not checked
    (LeakMarkerError for a wrong marker); computed once per item."""
    if _POLICY in item.stash:
        return item.stash[_POLICY]
    policy: Optional[LeakPolicy] = defaults if check_all else None
    markers = list(item.iter_markers(name=MARKER))
    for m in reversed(markers):  # the closest marker wins per argument
        policy = (policy or defaults).replace(**check_marker(m.args, m.kwargs, item.nodeid))
    item.stash[_POLICY] = policy
    return policy


# ---------------------------------------------------------------------------
# keeping the interpreter steady between runs


def _abc_classes() -> List[type]:
    """Classes with abc caches (walked once per checked test)."""
    found, seen, todo = [], set(), [object]
    while todo:
        cls = todo.pop()
        try:
            subs = type.__subclasses__(cls)
        except TypeError:
            continue
        for sub in subs:
            if id(sub) not in seen:
                seen.add(id(sub))
                todo.append(sub)
                if isinstance(sub, abc.ABCMeta):
                    found.append(sub)
    return found


def _clear_caches(abcs: Iterable[type]) -> None:
    """Caches the interpreter fills by itself (functools caches are the
    test's own and are left alone)."""
    sys._clear_type_cache()
    reset = getattr(abc, "_reset_caches", None)
    if reset is not None:
        for cls in abcs:
            try:
                reset(cls)
            except TypeError:
                pass
    typing_mod = sys.modules.get("typing")
    for clear in list(getattr(typing_mod, "_cleanups", ())):
        clear()
    re.purge()
    linecache.clearcache()


def _settle(abcs: Iterable[type]) -> None:
    _clear_caches(abcs)
    for _ in range(4):  # objects freed by a finalizer may free more
        if gc.collect() == 0:
            break


class _FixtureRewind:
    """Rewinds what per-call fixtures keep before each repeat, so a repeat
    sees what the real call saw and nothing piles up because fixtures are
    set up once: monkeypatch entries made by the call are undone, recorded
    warnings, pytest's log handlers and captured output are reset."""

    def __init__(self, item: pytest.Item) -> None:
        funcargs = getattr(item, "funcargs", {}) or {}
        self.monkeypatch = funcargs.get("monkeypatch")
        self.recwarn = funcargs.get("recwarn")
        self.capture = [funcargs[n] for n in ("capsys", "capfd", "capsysbinary", "capfdbinary")
                        if n in funcargs]
        self.mp_marks = self._mp_marks()
        # pytest's LogCaptureHandlers (caplog's and the report's): records and text
        self.handlers = [h for h in logging.getLogger().handlers
                         if isinstance(getattr(h, "records", None), list)
                         and hasattr(getattr(h, "stream", None), "truncate")]
        self.start = [self._log_state(h) for h in self.handlers]
        self.after_first: List[Tuple[List[Any], str]] = []

    @staticmethod
    def _log_state(h: Any) -> Tuple[List[Any], str]:
        return list(h.records), h.stream.getvalue()

    @staticmethod
    def _set_log_state(h: Any, state: Tuple[List[Any], str]) -> None:
        h.records[:] = state[0]
        h.stream.seek(0)
        h.stream.truncate()
        h.stream.write(state[1])

    def _mp_marks(self) -> Dict[str, int]:
        mp = self.monkeypatch
        return {k: len(getattr(mp, k)) for k in ("_setattr", "_setitem")
                if isinstance(getattr(mp, k, None), list)}

    def first_done(self) -> None:
        self.after_first = [self._log_state(h) for h in self.handlers]

    def before_repeat(self) -> None:
        self._undo_monkeypatch()
        if self.recwarn is not None:
            self.recwarn.clear()
        for cap in self.capture:
            cap.readouterr()
        for h, state in zip(self.handlers, self.start):
            self._set_log_state(h, state)

    def finish(self) -> None:
        self._undo_monkeypatch()
        for h, state in zip(self.handlers, self.after_first):
            self._set_log_state(h, state)

    def _undo_monkeypatch(self) -> None:
        # Undo, newest first, the entries the last run added (MonkeyPatch.undo
        # would also undo what the fixtures patched before the test).
        mp = self.monkeypatch
        if mp is None:
            return
        module = sys.modules.get("_pytest.monkeypatch")
        notset = getattr(module, "NOTSET", getattr(module, "notset", object()))
        entries = getattr(mp, "_setattr", [])
        keep = self.mp_marks.get("_setattr", len(entries))
        for obj, name, value in reversed(entries[keep:]):
            if value is not notset:
                setattr(obj, name, value)
            else:
                delattr(obj, name)
        del entries[keep:]
        entries = getattr(mp, "_setitem", [])
        keep = self.mp_marks.get("_setitem", len(entries))
        for dictionary, key, value in reversed(entries[keep:]):
            if value is notset:
                dictionary.pop(key, None)
            else:
                dictionary[key] = value
        del entries[keep:]


# ---------------------------------------------------------------------------
# who holds a leaked object


def _short(obj: Any) -> str:
    return type(obj).__qualname__


def _key_of(container: Any, child: Any) -> Optional[str]:
    if isinstance(container, dict):
        for k, v in container.items():
            if v is child:
                return k if isinstance(k, str) else repr(k)
    return None


def _root_label(obj: Any, child: Any, module_dicts: Dict[int, str]) -> Optional[str]:
    """The name of a root holding ``child``, or None when ``obj`` is no root."""
    if isinstance(obj, dict) and id(obj) in module_dicts:
        return f"{module_dicts[id(obj)]}.{_key_of(obj, child)} (module global)"
    if isinstance(obj, types.CellType):
        for func in gc.get_referrers(*[t for t in gc.get_referrers(obj) if isinstance(t, tuple)]):
            closure = getattr(func, "__closure__", None)
            if isinstance(func, types.FunctionType) and closure and obj in closure:
                var = func.__code__.co_freevars[closure.index(obj)]
                return f"{func.__module__}.{func.__qualname__} '{var}' (closure cell)"
        return "a closure cell"
    if isinstance(obj, types.FrameType):
        owner = next((t.name for t in threading.enumerate()
                      if _thread_frame_has(t, obj)), None)
        where = f"{obj.f_code.co_name} at {obj.f_code.co_filename}:{obj.f_lineno}"
        return f"{where} (frame of thread {owner})" if owner else f"{where} (frame)"
    return None


def _module_dicts() -> Dict[int, str]:
    """id of each module's globals -> the module's name."""
    return {id(m.__dict__): name for name, m in list(sys.modules.items())
            if isinstance(m, types.ModuleType)}


def _referrers(objs: Sequence[Any], mine: Set[int]) -> List[Any]:
    """gc.get_referrers of ``objs``, adding to ``mine`` the ids of the
    call's own containers.  The arguments go as a tuple of ours: since
    3.13 gc.get_referrers copies its arguments into a tuple of its own (the
    one it leaves out), so the tuple a ``*list`` call builds is a referrer
    of every object asked about, and of the previous step's, one more step
    up at each step of a walk that then never ends."""
    args = tuple(objs)
    mine.add(id(args))
    refs = gc.get_referrers(*args)
    mine.add(id(refs))
    return refs


def _thread_frame_has(thread: threading.Thread, frame: types.FrameType) -> bool:
    f: Optional[types.FrameType] = sys._current_frames().get(thread.ident or -1)
    while f is not None:
        if f is frame:
            return True
        f = f.f_back
    return False


def referrer_chain(target: Any, budget_s: float = _CHAIN_BUDGET_S,
                   fixtures: Optional[Mapping[int, str]] = None,
                   last_resort: Optional[Mapping[int, str]] = None) -> Optional[str]:
    """``root → ... → Type`` for one path from a root (module global, class
    attribute, closure cell, frame) to ``target``, by a breadth-first walk
    of gc referrers, bounded in depth, width and time; None when none found.
    ``fixtures`` labels fixture values by id that are roots too, taken when
    no other root is at the same depth; ``last_resort`` labels values that
    are roots only when the walk finds nothing else (function-scoped
    fixtures: freed at teardown, they are seldom the holder that matters).
    Nothing found is kept alive afterwards."""
    module_dicts = _module_dicts()
    deadline = time.monotonic() + budget_s
    this_frame = sys._getframe()
    nodes: Dict[int, Any] = {id(target): target}   # keeps the walked objects alive meanwhile
    child_of: Dict[int, int] = {}                   # referrer id -> the object it holds
    frontier: List[Any] = [target]
    fixtures = fixtures or {}
    last_resort = last_resort or {}
    weak: Optional[Any] = None                      # the first last-resort root met
    mine = {id(nodes), id(child_of), id(module_dicts), id(fixtures), id(last_resort)}
    try:
        for _ in range(_CHAIN_DEPTH):
            if not frontier or time.monotonic() > deadline:
                break
            mine.add(id(frontier))
            refs = _referrers(frontier, mine)
            ids = {id(o) for o in frontier}
            nxt: List[Any] = []
            fallback: Optional[Any] = None
            stop = False
            for r in refs:
                if id(r) in nodes or id(r) in mine or r is this_frame:
                    continue
                if isinstance(r, types.FrameType) and \
                        os.path.normcase(os.path.abspath(r.f_code.co_filename)) == _HERE:
                    continue
                child = next((c for c in gc.get_referents(r) if id(c) in ids), None)
                if child is None:
                    continue
                nodes[id(r)] = r
                child_of[id(r)] = id(child)
                label = _root_label(r, child, module_dicts)
                if label is None and isinstance(r, type) and r.__dict__ is not None:
                    # a class holding its attribute dict: reached through a dict
                    inner = child_of.get(id(child))
                    if isinstance(child, dict) and inner is not None:
                        key = _key_of(child, nodes[inner])
                        if key is not None and getattr(r, key, None) is nodes[inner]:
                            label = f"{_type_name(r)}.{key} (class attribute)"
                            r = child  # the class dict is part of the root
                if label is not None:
                    if weak is not None and _runner_label(label):
                        stop = True  # the fixture says more than pytest's insides
                        break
                    return _render(label, r, child_of, nodes)
                if fallback is None and id(child) in fixtures:
                    fallback = r
                if weak is None and id(child) in last_resort:
                    weak = r
                nxt.append(r)
                if len(nxt) >= _CHAIN_WIDTH:
                    break
            del refs
            if stop:
                break
            if fallback is not None:
                return _render(fixtures[child_of[id(fallback)]], fallback, child_of, nodes)
            frontier = nxt
        if weak is not None:
            return _render(last_resort[child_of[id(weak)]], weak, child_of, nodes)
        return None
    finally:
        nodes.clear()
        child_of.clear()
        frontier = []
        weak = None


def _runner_label(label: str) -> bool:
    """A root inside the test runner (a global or closure of pytest's)."""
    return label.split(".")[0] in _RUNNER_PACKAGES or bool(_RUNNER_FILE.search(label))


def _render(label: str, root: Any, child_of: Dict[int, int], nodes: Dict[int, Any]) -> str:
    parts = [label]
    cur = nodes[child_of[id(root)]]
    while True:
        nxt_id = child_of.get(id(cur))
        nxt = nodes[nxt_id] if nxt_id is not None else None
        if isinstance(cur, dict) and nxt is not None and parts and \
                getattr(nodes.get(_holder_id(cur, child_of) or 0), "__dict__", None) is cur:
            # an instance dict: "Owner.attr" instead of "Owner → dict"
            key = _key_of(cur, nxt)
            if key is not None and parts[-1] != label:
                parts[-1] = f"{parts[-1]}.{key}"
                cur = nxt
                continue
        if isinstance(cur, types.CellType) or \
                (isinstance(cur, tuple) and parts[-1] == label and "closure cell" in label):
            pass  # the closure machinery is in the label already
        else:
            parts.append(_short(cur))
        if nxt is None:
            break
        cur = nxt
    return " → ".join(parts)


def _holder_id(obj: Any, child_of: Dict[int, int]) -> Optional[int]:
    for holder, child in child_of.items():
        if child == id(obj):
            return holder
    return None


# ---------------------------------------------------------------------------
# growth held by the test's own fixtures
#
# The repeats share one set-up of the fixtures, so a test that appends to a
# function-scoped fixture's list grows on every run although pytest frees
# that list at teardown.  The region of such a test is every object its
# function-scoped fixture values reach (not going into values of wider
# fixtures, modules, classes or the runner's objects); it is tallied after
# every run, next to the census.  A type's growth is the fixtures' when the
# region grew by at least as much on every measured run, and the region is
# not shared: nothing but the region itself refers to its objects (by
# reference counts) and no root outside the test runner reaches a fixture
# value (by a walk of referrers).  A fixture that returns a module-global
# registry is shared; one reached only through a session-scoped fixture is
# not in the region.

_RUNNER_PACKAGES = frozenset({"_pytest", "pytest", "pluggy", "xdist", "execnet",
                              __name__.split(".")[0]})
_REGION_LIMIT = 50_000    # objects in a region; beyond, fixtures are not told apart
_OWNER_DEPTH = 16         # the walk up from a fixture value: depth and objects bounds
_OWNER_NODES = 20_000
_UNTRACKED = "<untracked>"      # region tallies: objects the gc does not track


def _is_runner(obj: Any) -> bool:
    """An object of the test runner (pytest, pluggy, xdist, this plugin)."""
    if isinstance(obj, (types.FunctionType, types.MethodType)):
        module = getattr(obj, "__module__", None)
    else:
        module = getattr(type(obj), "__module__", None)
    return isinstance(module, str) and module.split(".")[0] in _RUNNER_PACKAGES


def _fixture_values(item: pytest.Item) -> Tuple[List[Tuple[str, Any]], Dict[int, str]]:
    """The test's function-scoped fixture values (name, value) and the
    labels of the others by id ("fixture 'db' (session scope)")."""
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}) or {}
    scoped: List[Tuple[str, Any]] = []
    wider: Dict[int, str] = {}
    for name, value in (getattr(item, "funcargs", None) or {}).items():
        fixturedefs = defs.get(name)
        scope = getattr(fixturedefs[-1], "scope", None) if fixturedefs else None
        if _is_runner(value) or isinstance(value, (types.ModuleType, type)):
            continue
        if scope == "function":
            scoped.append((name, value))
        elif isinstance(scope, str):
            wider[id(value)] = f"fixture '{name}' ({scope} scope)"
    return scoped, wider


def _region_objects(scoped: List[Tuple[str, Any]], wider: Iterable[int]) -> Optional[List[Any]]:
    """Every object the function-scoped fixture values reach, or None when
    there are more than _REGION_LIMIT."""
    stop = set(wider)
    stop.update(_module_dicts())
    seen: Set[int] = set()
    found: List[Any] = []
    todo = [value for _, value in scoped]
    while todo:
        obj = todo.pop()
        oid = id(obj)
        if oid in seen or oid in stop or _is_runner(obj) or \
                isinstance(obj, (types.ModuleType, type)):
            continue
        seen.add(oid)
        found.append(obj)
        if len(found) > _REGION_LIMIT:
            return None
        todo.extend(gc.get_referents(obj))
    return found


def _region_tally(objs: List[Any]) -> "_native.Census":
    """A region as a census: per type name its gc-tracked objects (as the
    heap census counts them) and their bytes, the untracked ones (str,
    int, atomic containers) under _UNTRACKED, so that the totals are all
    its objects and bytes.  A census (made from JSON) lives outside
    Python's allocators: keeping one per run is no growth of the heap."""
    types_: Dict[str, List[int]] = {}
    names: Dict[type, str] = {}
    for obj in objs:
        if gc.is_tracked(obj):
            cls = type(obj)
            name = names.get(cls) or names.setdefault(cls, _type_name(cls))
        else:
            name = _UNTRACKED
        entry = types_.setdefault(name, [0, 0])
        entry[0] += 1
        entry[1] += sys.getsizeof(obj, 0)
    doc = {"schema": _CENSUS_SCHEMA, "blocks": None, "traced": None, "duration": 0,
           "label": None, "objects": len(objs), "bytes": sum(b for _, b in types_.values()),
           "types": types_}
    return _native.Census.loads(json.dumps(doc))


def _region_graph(objs: List[Any]) -> Tuple[Dict[int, int], Dict[int, List[int]]]:
    """id -> how many references the region's objects hold to it, and id
    -> the ids of the region's objects that refer to it."""
    ids = {id(o) for o in objs}
    inner: Dict[int, int] = {}
    parents: Dict[int, List[int]] = {}
    for obj in objs:
        for ref in gc.get_referents(obj):
            rid = id(ref)
            if rid in ids:
                inner[rid] = inner.get(rid, 0) + 1
                parents.setdefault(rid, []).append(id(obj))
    return inner, parents


def _region_shared(scoped: List[Tuple[str, Any]], objs: List[Any], wider: Mapping[int, str],
                   held_types: Set[str], deadline: float) -> bool:
    """Whether anything but the region and the test runner holds the part
    of the region that grew (or that cannot be told in time): the objects
    of ``held_types``, the untracked ones made in the measured runs (those
    with a traceback), and every object of the region on a path from a
    fixture value to them.  Other objects the fixtures reach (a module's
    sentinel, a shared default) may well be shared: they are no growth."""
    inner, parents = _region_graph(objs)
    by_id = {id(o): o for o in objs}
    todo = [id(o) for o in objs
            if (_type_name(type(o)) in held_types if gc.is_tracked(o)
                else tracemalloc.get_object_traceback(o) is not None)]
    part: Set[int] = set()
    while todo:
        oid = todo.pop()
        if oid not in part:
            part.add(oid)
            todo.extend(parents.get(oid, ()))
    values = {id(v) for _, v in scoped}
    for oid in part:
        # getrefcount's argument and by_id's and objs' entries hold 3.
        if oid not in values and sys.getrefcount(by_id[oid]) - 3 > inner.get(oid, 0):
            return True
    by_id.clear()
    return any(_held_outside_runner([v], deadline, wider) is not False
               for _, v in scoped if id(v) in part)


def _running_frames() -> Dict[int, Any]:
    frames: Dict[int, Any] = {}
    for top in sys._current_frames().values():
        f: Optional[types.FrameType] = top
        while f is not None:
            frames[id(f)] = f
            f = f.f_back
    return frames


def _held_outside_runner(targets: List[Any], deadline: float,
                         wider: Mapping[int, str]) -> Optional[bool]:
    """Whether a root outside the test runner (a module global, a class, a
    running frame, a value of a fixture wider than the test: ``wider``)
    holds one of ``targets``: by a breadth-first walk of gc referrers that
    does not go through the runner's objects.  False when a complete walk
    finds none, None when it ran out of bounds."""
    module_dicts = _module_dicts()
    running = _running_frames()
    seen = {id(t) for t in targets}
    frontier: List[Any] = list(targets)
    mine = {id(seen), id(module_dicts), id(running), id(targets)}
    try:
        for _ in range(_OWNER_DEPTH):
            if not frontier:
                return False
            if time.monotonic() > deadline or len(seen) > _OWNER_NODES:
                return None
            mine.add(id(frontier))
            refs = _referrers(frontier, mine)
            nxt: List[Any] = []
            for r in refs:
                rid = id(r)
                if rid in seen or rid in mine:
                    continue
                seen.add(rid)
                if rid in wider:
                    return True
                if isinstance(r, types.FrameType):
                    code_file = os.path.normcase(os.path.abspath(r.f_code.co_filename))
                    if code_file == _HERE or _RUNNER_FILE.search(r.f_code.co_filename):
                        continue
                    if rid in running:
                        return True
                elif rid in module_dicts:
                    if module_dicts[rid].split(".")[0] not in _RUNNER_PACKAGES:
                        return True
                    continue
                elif _is_runner(r):
                    continue
                elif isinstance(r, type):
                    return True  # a class attribute
                nxt.append(r)
            del refs
            frontier = nxt
        return None if frontier else False
    finally:
        frontier = []
        running.clear()


def _fixture_held(found: List[Dict[str, Any]], tallies: "List[Optional[_native.Census]]",
                  baseline: int) -> Set[str]:
    """The verdicts of ``found`` (census_growth's) whose growth the region
    explains: on every measured run (tallies[baseline + 1:], one per census)
    it grew by at least as much.  A type by its count; allocated blocks by
    the region's objects (an object is one to three blocks: 4x leaves room);
    traced memory by the region's bytes (twice, plus the traced floor)."""
    series = [t for t in tallies[baseline:] if t is not None]
    if len(series) < 2 or len(series) < len(tallies) - baseline:
        return set()
    pairs = list(zip(series, series[1:]))
    held: Set[str] = set()
    for leak in found:
        name = leak["name"]
        runs = list(zip(leak["count_growth"], leak["bytes_growth"], pairs))
        if name == _native.CENSUS_BLOCKS:
            ok = all(0 < a.objects < b.objects and c <= 4 * (b.objects - a.objects)
                     for c, _, (a, b) in runs)
        elif name == _native.CENSUS_TRACED:
            ok = all(a.bytes < b.bytes and n <= 2 * (b.bytes - a.bytes) + _MIN_TRACED
                     for _, n, (a, b) in runs)
        else:
            ok = sum(leak["count_growth"]) > 0 and \
                all(c <= b.count(name) - a.count(name) for c, _, (a, b) in runs)
        if ok:
            held.add(name)
    return held


# ---------------------------------------------------------------------------
# one checked test


def _holds(sorted_ids: "array.array[int]", key: int) -> bool:
    i = bisect.bisect_left(sorted_ids, key)
    return i < len(sorted_ids) and sorted_ids[i] == key


def _ignored(name: str, ignore: Sequence[str]) -> bool:
    return any(name == i or (i.endswith(".") and name.startswith(i)) for i in ignore)


def _per_run(values: Sequence[int], unit: str = "") -> str:
    lo, hi = min(values), max(values)
    fmt = (lambda v: f"+{v:,}{unit}")
    return fmt(lo) if lo == hi else f"{fmt(lo)}..{fmt(hi)}"


def _site(tb: Optional[tracemalloc.Traceback]) -> Optional[str]:
    """The innermost frame of an allocation traceback outside this plugin."""
    if tb is None:
        return None
    for frame in reversed(list(tb)):
        if os.path.normcase(os.path.abspath(frame.filename)) == _HERE or \
                _RUNNER_FILE.search(frame.filename):
            continue
        line = linecache.getline(frame.filename, frame.lineno).strip()
        return f"{frame.filename}:{frame.lineno}" + (f": {line}" if line else "")
    return None


def _pending_tasks(before: "Optional[weakref.WeakSet[Any]]") -> List[Any]:
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Future) and isinstance(obj, asyncio.Task) and not obj.done():
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
        self.abcs = _abc_classes()
        self.rewind = _FixtureRewind(item)
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
        # per census (see "growth held by the test's own fixtures").
        self.scoped, self.wider = _fixture_values(item)
        self.tallies: "List[Optional[_native.Census]]" = []

    # -- the runs --------------------------------------------------------------

    def _census(self) -> None:
        self.censuses.append(_native.census())
        if self.scoped:
            objs = _region_objects(self.scoped, self.wider)
            if objs is None:
                self.scoped = []  # too big to tell apart: judged as the rest
            self.tallies.append(_region_tally(objs) if objs is not None else None)
            del objs

    def begin(self) -> None:
        """Before the real call: without warm-up a census here is the
        baseline, and tracing starts here."""
        if self.policy.warmup == 0:
            _settle(self.abcs)
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
        _settle(self.abcs)
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
            min_blocks=floor, min_traced=_MIN_TRACED if policy.max_growth == 0 else 0)
        leaks = [leak for leak in found if not _ignored(leak["name"], policy.ignore_types)]
        chain_deadline = time.monotonic() + _CHAIN_BUDGET_S  # for all the searches
        scoped, wider = self.scoped, self.wider
        objs = _region_objects(scoped, wider) if scoped and leaks else None
        held = _fixture_held(leaks, self.tallies, warmup - 1) if objs is not None else set()
        if any("." in leak["name"] and leak["name"] not in held for leak in leaks):
            held = {n for n in held if "." in n}  # the memory grew with the rest too
        if held and _region_shared(scoped, objs or [], wider, {n for n in held if "." in n},
                                   chain_deadline):
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
        # A sample no fixture holds when there is one: its holder is news.
        samples = {n: next((o for o in made if id(o) not in region), made[0])
                   if made else older.get(n) for n, made in new.items()}
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
                name = _type_name(cls)
                entry = named[cls] = (name, new.get(name))
            name, made = entry
            if made is None or len(made) >= cap:
                continue
            if tracemalloc.get_object_traceback(obj) is not None or \
                    (old and not _holds(old, id(obj))):
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
            if os.path.normcase(os.path.abspath(frame.filename)) in (_HERE, _TRACEMALLOC) \
                    or frame.filename.startswith("<frozen") or _RUNNER_FILE.search(frame.filename):
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
                name = _type_name(type(obj))
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
        result = dict(result, outcome=report.outcome)
        lines = result["problems"]
        if result["verdict"] in ("leaked", "failed"):
            text = "\n".join(lines)
            report.sections.append((SECTION, text))
            if report.passed and not hasattr(report, "wasxfail"):
                report.outcome = "failed"
                what = "leaks found" if result["verdict"] == "leaked" else "a repeat failed"
                report.longrepr = f"{SECTION}: {what}\n{text}"
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
