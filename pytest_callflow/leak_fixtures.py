"""Growth held by the test's own fixtures, set apart from leaks.

The repeats share one set-up of the fixtures, so a test that appends to a
function-scoped fixture's list grows on every run although pytest frees
that list at teardown.  The region of such a test is every object its
function-scoped fixture values reach (not going into values of wider
fixtures, modules, classes or the runner's objects); it is tallied after
every run, next to the census.  A type's growth is the fixtures' when the
region grew by at least as much on every measured run, and the region is
not shared: nothing but the region itself refers to its objects (by
reference counts) and no root outside the test runner reaches a fixture
value (by a walk of referrers).  A fixture that returns a module-global
registry is shared; one reached only through a session-scoped fixture is
not in the region."""

import gc
import json
import sys
import time
import tracemalloc
import types
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

import pytest

from . import _native
from .leak_chain import RUNNER_PACKAGES, is_runner_file, modules_by_dict, referrers
from .leak_marker import type_name

# Traced bytes wobble by up to a few hundred bytes a run (thread bookkeeping,
# lazily resized tables): with no floor, 1 of 600 clean checks of
# bench/leaks_stability.py grew on every run, by 64-288 B.  Leaked objects
# of any size show in the allocated blocks (every object-allocator block
# counts), so the floor only hides in-place growth under 1 KiB a run.
MIN_TRACED = 1024
_CENSUS_SCHEMA = "callflow-census/1"
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
    return isinstance(module, str) and module.split(".")[0] in RUNNER_PACKAGES


def fixture_values(item: pytest.Item) -> Tuple[List[Tuple[str, Any]], Dict[int, str]]:
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


def region_objects(scoped: List[Tuple[str, Any]], wider: Iterable[int]) -> Optional[List[Any]]:
    """Every object the function-scoped fixture values reach, or None when
    there are more than _REGION_LIMIT."""
    stop = set(wider)
    stop.update(modules_by_dict())
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


def region_tally(objs: List[Any]) -> "_native.Census":
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
            name = names.get(cls) or names.setdefault(cls, type_name(cls))
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


def region_shared(scoped: List[Tuple[str, Any]], objs: List[Any], wider: Mapping[int, str],
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
            if (type_name(type(o)) in held_types if gc.is_tracked(o)
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
    module_dicts = modules_by_dict()
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
            refs = referrers(frontier, mine)
            nxt: List[Any] = []
            for r in refs:
                rid = id(r)
                if rid in seen or rid in mine:
                    continue
                seen.add(rid)
                if rid in wider:
                    return True
                if isinstance(r, types.FrameType):
                    if is_runner_file(r.f_code.co_filename):  # the checker's own too
                        continue
                    if rid in running:
                        return True
                elif rid in module_dicts:
                    if module_dicts[rid].split(".")[0] not in RUNNER_PACKAGES:
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


def fixture_held(found: List[Dict[str, Any]], tallies: "List[Optional[_native.Census]]",
                  baseline: int) -> Set[str]:
    """The verdicts of ``found`` (census_growth's) whose growth the region
    explains: on every measured run (each pair of consecutive tallies from
    tallies[baseline], the one taken with the last warm-up census) it grew
    by at least as much.  A type by its count; allocated blocks by
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
            ok = all(a.bytes < b.bytes and n <= 2 * (b.bytes - a.bytes) + MIN_TRACED
                     for _, n, (a, b) in runs)
        else:
            ok = sum(leak["count_growth"]) > 0 and \
                all(c <= b.count(name) - a.count(name) for c, _, (a, b) in runs)
        if ok:
            held.add(name)
    return held
