"""Read-only Python view of a recorded call graph (a ``_native.Graph``).

Times are seconds (floats) here; the native layer counts nanoseconds.  A
``CallGraph`` never changes once made: lookups are built lazily on first use
and cached; ``merge`` returns a new graph."""

import difflib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from . import _native
from ._naming import (
    FLAG_ASYNC_GENERATOR,
    FLAG_BUILTIN,
    FLAG_COROUTINE,
    FLAG_EXTERNAL,
    FLAG_GENERATOR,
    namer,
    split_name,
)

PathLike = Union[str, "os.PathLike[str]"]
FunctionRef = Union[str, Callable[..., Any]]

_NS = 1e-9
SUPPORTED_SUFFIXES = (".json",)


class untraced:
    """Keep the calling thread's events out of every running scope while the
    block runs: the tracer's own calls into the standard library (json,
    difflib) must not show up in the graph of the code it is tracing."""

    __slots__ = ("_was",)

    def __enter__(self) -> None:
        self._was = _native.set_paused(True)

    def __exit__(self, *exc: Any) -> None:
        _native.set_paused(self._was)


# The dataclasses below write their own __init__: dataclasses would generate
# one from a string ("<string>" code), and building stats inside a running
# scope would then record those generated functions in the user's graph.

@dataclass(frozen=True, init=False)
class FunctionStats:
    """One function: ``name`` is ``module:qualname``; times in seconds
    (``total_time`` inclusive, recursion counted once; ``self_time``
    excludes recorded callees; ``suspended_time`` is time a generator or
    coroutine spent suspended).  A coroutine's or async generator's
    ``total_time`` is its wall time, ``active_time + suspended_time``."""

    name: str
    module: str = field(compare=False)
    qualname: str = field(compare=False)
    file: Optional[str]
    line: int
    flags: int
    calls: int
    total_time: float
    self_time: float
    suspended_time: float

    def __init__(self, name: str, file: Optional[str], line: int, flags: int, calls: int,
                 total_time: float, self_time: float, suspended_time: float) -> None:
        module, qualname = split_name(name)
        values = (("name", name), ("module", module), ("qualname", qualname), ("file", file),
                  ("line", line), ("flags", flags), ("calls", calls), ("total_time", total_time),
                  ("self_time", self_time), ("suspended_time", suspended_time))
        for key, value in values:
            object.__setattr__(self, key, value)

    @property
    def active_time(self) -> float:
        """Running time, callees included (for a coroutine or async
        generator: ``total_time`` without the time spent awaiting)."""
        if self.is_async:
            return max(0.0, self.total_time - self.suspended_time)
        return self.total_time

    @property
    def is_async(self) -> bool:
        """A coroutine or an async generator."""
        return bool(self.flags & (FLAG_COROUTINE | FLAG_ASYNC_GENERATOR))

    @property
    def avg_time(self) -> float:
        return self.total_time / self.calls if self.calls else 0.0

    @property
    def is_generator(self) -> bool:
        return bool(self.flags & FLAG_GENERATOR)

    @property
    def is_coroutine(self) -> bool:
        return bool(self.flags & FLAG_COROUTINE)

    @property
    def is_async_generator(self) -> bool:
        return bool(self.flags & FLAG_ASYNC_GENERATOR)

    @property
    def is_builtin(self) -> bool:
        return bool(self.flags & FLAG_BUILTIN)

    @property
    def is_external(self) -> bool:
        return bool(self.flags & FLAG_EXTERNAL)


@dataclass(frozen=True, init=False)
class EdgeStats:
    """``caller`` called ``callee`` ``calls`` times; ``total_time`` is the
    callee's inclusive time on those calls, in seconds."""

    caller: str
    callee: str
    calls: int
    total_time: float

    def __init__(self, caller: str, callee: str, calls: int, total_time: float) -> None:
        for key, value in (("caller", caller), ("callee", callee), ("calls", calls),
                           ("total_time", total_time)):
            object.__setattr__(self, key, value)


class ContextNode:
    """A node of the calling-context tree: one distinct call path.  The root
    stands for the scope itself (``name`` None); its children are the
    functions called directly from the traced block."""

    __slots__ = ("name", "calls", "total_time", "self_time", "suspended_time",
                 "children", "parent", "__weakref__")

    def __init__(self, name: Optional[str], calls: int, total_time: float, self_time: float,
                 suspended_time: float, parent: Optional["ContextNode"] = None) -> None:
        self.name = name
        self.calls = calls
        self.total_time = total_time
        self.self_time = self_time
        self.suspended_time = suspended_time
        self.children: List[ContextNode] = []
        self.parent = parent

    @property
    def is_root(self) -> bool:
        return self.parent is None

    @property
    def path(self) -> Tuple[str, ...]:
        """Function names from the outermost call down to this node."""
        names: List[str] = []
        node: Optional[ContextNode] = self
        while node is not None and node.name is not None:
            names.append(node.name)
            node = node.parent
        return tuple(reversed(names))

    @property
    def depth(self) -> int:
        return len(self.path)

    def child(self, name: str) -> "ContextNode":
        """The child for function ``name``; KeyError when there is none."""
        for node in self.children:
            if node.name == name:
                return node
        raise KeyError(f"{name!r} is not called from {self._label()}")

    def walk(self) -> Iterator["ContextNode"]:
        """This node and its descendants, depth first, children in order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def _label(self) -> str:
        return " -> ".join(self.path) or "the root"

    def __repr__(self) -> str:
        return (f"<ContextNode {self._label()} calls={self.calls} "
                f"total={self.total_time:.6f}s children={len(self.children)}>")


class _View:
    """Lazily built lookups over one native graph."""

    __slots__ = ("graph", "_async", "_functions", "_edges", "_root", "_meta")

    def __init__(self, graph: "_native.Graph", async_info: Any = None) -> None:
        """async_info: a dict, a native AsyncRecord (made a dict when first
        read) or None."""
        self.graph = graph
        self._async = async_info
        self._functions: Optional[Dict[str, FunctionStats]] = None
        self._edges: Optional[Dict[Tuple[str, str], EdgeStats]] = None
        self._root: Optional[ContextNode] = None
        self._meta: Optional[Dict[str, Any]] = None

    @property
    def async_info(self) -> Optional[Dict[str, Any]]:
        info = self._async
        if info is not None and not isinstance(info, dict):
            with untraced():
                info = self._async = info.to_dict()
        return info

    @property
    def functions(self) -> Dict[str, FunctionStats]:
        if self._functions is None:
            self._functions = {
                row[0]: FunctionStats(row[0], row[1], row[2], row[3], row[4],
                                      row[5] * _NS, row[6] * _NS, row[7] * _NS)
                for row in self.graph.functions()
            }
        return self._functions

    @property
    def edges(self) -> Dict[Tuple[str, str], EdgeStats]:
        if self._edges is None:
            self._edges = {
                (caller, callee): EdgeStats(caller, callee, calls, total_ns * _NS)
                for caller, callee, calls, total_ns in self.graph.edges()
            }
        return self._edges

    @property
    def root(self) -> ContextNode:
        if self._root is None:
            built: List[ContextNode] = []
            for name, parent, calls, total_ns, self_ns, susp_ns in self.graph.nodes():
                up = built[parent] if parent >= 0 else None
                node = ContextNode(name, calls, total_ns * _NS, self_ns * _NS, susp_ns * _NS, up)
                if up is not None:
                    up.children.append(node)
                built.append(node)
            self._root = built[0] if built else ContextNode(None, 0, 0.0, 0.0, 0.0)
        return self._root

    @property
    def meta(self) -> Dict[str, Any]:
        if self._meta is None:
            self._meta = dict(self.graph.meta())
        return self._meta


def check_suffix(path: PathLike, suffixes: Tuple[str, ...] = SUPPORTED_SUFFIXES,
                 who: str = "") -> str:
    """``path`` as a str; ValueError when its file type is not one of ``suffixes``."""
    text = os.fspath(path)
    suffix = os.path.splitext(text)[1].lower()
    if suffix not in suffixes:
        raise ValueError(
            f"{who + ' ' if who else ''}cannot write {text!r}: unsupported file type "
            f"{suffix or '(none)'!r}; supported: {', '.join(suffixes)}")
    return text


def function_name(ref: FunctionRef) -> str:
    """``module:qualname`` of a function given by name or as a function
    object (decorated functions are unwrapped, bound methods resolved)."""
    if isinstance(ref, str):
        return ref
    seen = set()
    obj: Any = ref
    while id(obj) not in seen:
        seen.add(id(obj))
        obj = getattr(obj, "__func__", obj)
        inner = getattr(obj, "__wrapped__", None)
        if inner is None:
            break
        obj = inner
    code = getattr(obj, "__code__", None)
    if code is None:
        raise TypeError(f"expected a function name or a Python function, got {ref!r}")
    return namer(code)[0]


ASYNC_KEY = "async"
ASYNC_KEY_JSON = '"async"'


def _async_part(data: Dict[str, Any], source: str) -> Optional[Dict[str, Any]]:
    """The ``"async"`` member of a graph document, checked for shape."""
    info = data.get(ASYNC_KEY)
    if info is None:
        return None
    if not isinstance(info, dict) or not isinstance(info.get("tasks"), list) \
            or not isinstance(info.get("timeline", []), list):
        raise ValueError(f"{source}: \"async\" must be an object with a \"tasks\" list "
                         f"(as written by CallGraph.save)")
    return info


class CallGraph:
    """A recorded call graph: functions, caller->callee edges and the
    calling-context tree, with counts and times.  Functions are named
    ``module:qualname``; methods taking a function also accept the function
    object itself."""

    __slots__ = ("_fixed",)

    def __init__(self, native: Optional["_native.Graph"] = None,
                 async_info: Optional[Dict[str, Any]] = None) -> None:
        """Wrap ``native`` (which the new object owns: do not change it
        afterwards); without it, an empty graph.  ``async_info``: the
        asyncio tasks recorded with it (see ``async_info``)."""
        self._fixed = _View(native if native is not None else _native.Graph(), async_info)

    def _view(self) -> _View:
        return self._fixed

    # -- functions ---------------------------------------------------------

    def calls(self, function: FunctionRef) -> int:
        """Calls of ``function``; 0 when it was never called."""
        stats = self._view().functions.get(function_name(function))
        return stats.calls if stats is not None else 0

    def function(self, function: FunctionRef) -> FunctionStats:
        """Stats of ``function``; KeyError (naming close matches) if absent."""
        name = function_name(function)
        functions = self._view().functions
        stats = functions.get(name)
        if stats is None:
            raise KeyError(self._missing(name, functions))
        return stats

    def functions(self) -> Iterator[FunctionStats]:
        """Every function, sorted by name."""
        return iter(list(self._view().functions.values()))

    def __iter__(self) -> Iterator[FunctionStats]:
        return self.functions()

    def __len__(self) -> int:
        return len(self._view().functions)

    def __contains__(self, function: object) -> bool:
        try:
            name = function_name(function)  # type: ignore[arg-type]
        except TypeError:
            return False
        return name in self._view().functions

    @property
    def total_calls(self) -> int:
        return int(self._view().meta.get("total_calls", 0))

    @staticmethod
    def _missing(name: str, functions: Dict[str, FunctionStats]) -> str:
        names = list(functions)
        with untraced():
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        # "fib" or "C.m" given without its module: offer the full names.
        close += [n for n, s in functions.items()
                  if name in (s.qualname, s.qualname.rpartition(".")[2]) and n not in close]
        message = f"function {name!r} is not in the call graph"
        if close:
            message += f"; close matches: {', '.join(close[:5])}"
        elif not names:
            message += " (the graph is empty)"
        return message

    # -- edges -------------------------------------------------------------

    def edge_calls(self, caller: FunctionRef, callee: FunctionRef) -> int:
        """Calls from ``caller`` to ``callee``; 0 when there were none."""
        edge = self._view().edges.get((function_name(caller), function_name(callee)))
        return edge.calls if edge is not None else 0

    def edges(self) -> Iterator[EdgeStats]:
        """Every caller->callee edge, sorted by (caller, callee)."""
        return iter(list(self._view().edges.values()))

    def callees(self, function: FunctionRef) -> List[EdgeStats]:
        name = function_name(function)
        return [e for e in self._view().edges.values() if e.caller == name]

    def callers(self, function: FunctionRef) -> List[EdgeStats]:
        name = function_name(function)
        return [e for e in self._view().edges.values() if e.callee == name]

    # -- context tree ------------------------------------------------------

    @property
    def root(self) -> ContextNode:
        """Root of the calling-context tree (the scope itself)."""
        return self._view().root

    @property
    def tree(self) -> ContextNode:
        """Same as ``root``."""
        return self._view().root

    # -- metadata ----------------------------------------------------------

    @property
    def meta(self) -> Dict[str, Any]:
        """total_calls, duration_ns, node_cap, truncated_paths,
        truncated_calls, python, backend, scope (a copy)."""
        return dict(self._view().meta)

    @property
    def duration(self) -> float:
        """Wall time of the recording, in seconds."""
        return float(self._view().meta.get("duration_ns", 0)) * _NS

    @property
    def truncated_paths(self) -> int:
        """Distinct call paths refused at the context-tree node cap."""
        return int(self._view().meta.get("truncated_paths", 0))

    @property
    def truncated_calls(self) -> int:
        """Calls made on refused paths (counted per function all the same)."""
        return int(self._view().meta.get("truncated_calls", 0))

    @property
    def async_info(self) -> Optional[Dict[str, Any]]:
        """The asyncio tasks the scope saw, or None when none ran: ``tasks``
        (id, name, function, parent, thread, start_ns, end_ns, state, steps,
        active_ns, longest_step_ns), ``timeline`` ([t_ns, task id, event]
        rows, capped: ``timeline_dropped`` counts the rest),
        ``peak_concurrency``, ``avg_concurrency``, ``per_function_peak``,
        ``blocking`` (task steps longer than ``blocking_threshold_ns``, with
        the function that ran them), ``longest_step_ns`` and
        ``longest_step_function``, ``groups`` (``gather_traced``).  Times
        are nanoseconds from the scope's start.  Read-only."""
        return self._view().async_info

    # -- conversion and files ----------------------------------------------

    def snapshot(self) -> "CallGraph":
        """An immutable graph of the current state (this graph itself,
        unless it is the live graph of a running scope)."""
        return self

    def to_native(self) -> "_native.Graph":
        """A copy of the underlying native graph."""
        return self._view().graph.copy()

    def to_json(self, *, indent: bool = True, times: bool = True) -> str:
        """The ``callflow/1`` JSON document; ``times=False`` leaves out the
        volatile timings."""
        return self._view().graph.dumps(times=times, indent=indent)

    def to_dict(self, *, times: bool = True) -> Dict[str, Any]:
        """The ``callflow/1`` JSON document as a dict (with ``"async"`` when
        tasks ran and ``times`` is on: the task figures are all timings)."""
        view = self._view()
        text = view.graph.dumps(times=times, indent=False)
        with untraced():
            doc = json.loads(text)
        if times and view.async_info is not None:
            doc[ASYNC_KEY] = view.async_info
        return doc

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "CallGraph":
        """Inverse of ``to_dict``; ValueError when ``data`` is not a valid
        ``callflow/1`` document."""
        return cls._from_data(data, "<dict>")

    @classmethod
    def _from_data(cls, data: Any, source: str) -> "CallGraph":
        """A parsed document: its ``"async"`` part kept in Python, the rest
        read (and checked) by the native loader."""
        info = _async_part(data, source) if isinstance(data, dict) else None
        if info is not None:
            data = {key: value for key, value in data.items() if key != ASYNC_KEY}
        try:
            with untraced():
                text = json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: not JSON-serialisable: {exc}") from None
        return cls(_native.Graph.loads(text, source), info)

    @classmethod
    def from_json(cls, text: str, source: Optional[str] = None) -> "CallGraph":
        if ASYNC_KEY_JSON in text:
            try:
                with untraced():
                    data = json.loads(text)
            except ValueError:
                data = None  # the native loader's error names the place
            if isinstance(data, dict):
                return cls._from_data(data, source or "<string>")
        return cls(_native.Graph.loads(text, source))

    def save(self, path: PathLike, *, times: bool = True) -> None:
        """Write the graph to ``path`` (``.json``) atomically, creating
        missing parent directories."""
        target = check_suffix(path)
        parent = os.path.dirname(os.path.abspath(target))
        os.makedirs(parent, exist_ok=True)
        view = self._view()
        if not times or view.async_info is None:
            view.graph.dump(target, times=times)
            return
        from .baseline import write_atomic  # baseline imports this module

        with untraced():
            text = json.dumps(self.to_dict(), indent=1, sort_keys=True, ensure_ascii=False)
        write_atomic(target, text + "\n")

    @classmethod
    def load(cls, path: PathLike) -> "CallGraph":
        """Read a graph written by ``save``; ValueError naming the file and
        place when it is malformed, OSError when it cannot be read."""
        path = os.fspath(path)
        with open(path, "rb") as probe:
            head = probe.read()
        if ASYNC_KEY_JSON.encode() not in head:
            return cls(_native.Graph.load(path))
        return cls.from_json(head.decode("utf-8", "replace"), path)

    def merge(self, *others: "CallGraph") -> "CallGraph":
        """A new graph adding ``others`` into this one (functions, edges and
        paths matched by name and summed; durations add)."""
        merged = self._view().graph.copy()
        for other in others:
            merged.merge(other._view().graph)
        return CallGraph(merged)

    def __repr__(self) -> str:
        view = self._view()
        return (f"<{type(self).__name__}: {len(view.functions)} functions, "
                f"{int(view.meta.get('total_calls', 0))} calls, "
                f"{float(view.meta.get('duration_ns', 0)) * _NS:.6f}s>")
