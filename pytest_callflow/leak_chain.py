"""Who holds a leaked object: a referrer chain from a root (module global,
class attribute, closure cell, frame) to it, by a bounded walk of gc
referrers; and what the walks leave out as the test runner's or the leak
checker's own (its packages, files and frames)."""

import gc
import importlib.util
import os
import sys
import threading
import time
import types
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .leak_marker import type_name

CHAIN_BUDGET_S = 1.0       # referrer search: time and size bounds
_CHAIN_DEPTH = 12
_CHAIN_WIDTH = 64
RUNNER_PACKAGES = frozenset({"_pytest", "pytest", "pluggy", "xdist", "execnet",
                             __name__.split(".")[0]})


def _package_dirs(names: Sequence[str]) -> Tuple[str, ...]:
    """Where the packages that can be imported of ``names`` live (found,
    not imported), each ending with a separator."""
    dirs: List[str] = []
    for name in names:
        module = sys.modules.get(name)
        where = getattr(module, "__path__", None)
        if where is None:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            where = spec.submodule_search_locations if spec else None
        for path in where or []:
            dirs.append(os.path.join(os.path.normcase(os.path.abspath(path)), ""))
    return tuple(dirs)


# The runner's source folders: the installed packages themselves, so that a
# project of the same name (a checkout of xdist) is not taken for them.
_RUNNER_DIRS = _package_dirs(sorted(RUNNER_PACKAGES - {"pytest", __name__.split(".")[0]})) + (
    os.path.join(os.path.normcase(os.path.dirname(os.path.abspath(__file__))), ""),)
_runner_files: Dict[str, bool] = {}


def is_runner_file(filename: str) -> bool:
    """Whether a source file belongs to the test runner (pytest, pluggy,
    xdist, execnet, this plugin)."""
    known = _runner_files.get(filename)
    if known is None:
        if len(_runner_files) > 4096:
            _runner_files.clear()
        known = _runner_files[filename] = \
            os.path.normcase(os.path.abspath(filename)).startswith(_RUNNER_DIRS)
    return known


# The leak checker's own modules: the referrer walk steps over their frames
# (is_runner_file covers them with the rest of this plugin).
_CHECKER_MODULES = ("leaks", "leak_marker", "leak_settle", "leak_chain", "leak_fixtures")
CHECKER_FILES = frozenset(
    os.path.normcase(os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{m}.py"))
    for m in _CHECKER_MODULES)


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


def modules_by_dict() -> Dict[int, str]:
    """id of each module's globals -> the module's name."""
    return {id(m.__dict__): name for name, m in list(sys.modules.items())
            if isinstance(m, types.ModuleType)}


def referrers(objs: Sequence[Any], mine: Set[int]) -> List[Any]:
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


def referrer_chain(target: Any, budget_s: float = CHAIN_BUDGET_S,
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
    module_dicts = modules_by_dict()
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
            refs = referrers(frontier, mine)
            ids = {id(o) for o in frontier}
            nxt: List[Any] = []
            fallback: Optional[Any] = None
            stop = False
            for r in refs:
                if id(r) in nodes or id(r) in mine or r is this_frame:
                    continue
                if isinstance(r, types.FrameType) and \
                        os.path.normcase(os.path.abspath(r.f_code.co_filename)) in CHECKER_FILES:
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
                            label = f"{type_name(r)}.{key} (class attribute)"
                            r = child  # the class dict is part of the root
                if label is not None:
                    if weak is not None and _runner_root(r, label):
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


def _runner_root(root: Any, label: str) -> bool:
    """A root inside the test runner: a frame running its code, a global or
    closure of its modules (the label starts with the module's name)."""
    if isinstance(root, types.FrameType):
        return is_runner_file(root.f_code.co_filename)
    return label.split(".")[0] in RUNNER_PACKAGES


def _render(label: str, root: Any, child_of: Dict[int, int], nodes: Dict[int, Any]) -> str:
    parts = [label]
    cur = nodes[child_of[id(root)]]
    while True:
        nxt_id = child_of.get(id(cur))
        nxt = nodes[nxt_id] if nxt_id is not None else None
        if isinstance(cur, dict) and nxt is not None and \
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
