"""Type stub of the C extension ``pytest_callflow._native``: a thin binding
of libcallflow.  Times are integer nanoseconds here; the Python layer turns
them into seconds."""

from types import CodeType
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

# Function flags (cf_gfunc.flags in libcallflow/include/callflow/graph.h).
FLAG_GENERATOR: int  # 1
FLAG_COROUTINE: int  # 2
FLAG_ASYNC_GENERATOR: int  # 4
FLAG_BUILTIN: int  # 8
FLAG_EXTERNAL: int  # 16: stdlib, site-packages, a virtualenv, frozen or synthetic code
FLAG_SELF: int  # 32: the tracer's own code; never recorded (callees attach above it)

#: "monitoring" on 3.12+, "evalframe" on 3.9-3.11.
DEFAULT_BACKEND: str
#: Backends usable on this interpreter, e.g. ("evalframe", "profile").
BACKENDS: Tuple[str, ...]

#: Called once per code object the first time the hooks meet it (never on
#: the hot path), with tracing suspended on the calling thread.  Must return
#: (name "module:qualname", file or None, first line, flags).
Namer = Callable[..., Tuple[str, Optional[str], int, int]]
# namer(code, owner=None): owner is the first argument of the frame about to
# run the code, when the hook knows it before the frame is current.

#: Called once per C function (per PyMethodDef) a session that records
#: builtins meets; returns "module:qualname" (e.g. "builtins:len").
BuiltinNamer = Callable[[Any], str]

def set_namer(namer: Namer, builtin_namer: Optional[BuiltinNamer] = None) -> None: ...
def gen_note(gen: object) -> Optional[int]:
    """The note a generator or coroutine carries for the recorder (its
    suspension entry's index + 1), or None where this build keeps none."""
    ...

def ids_hold(sorted_ids: Any, obj: object) -> bool:
    """Whether obj's address (its id) is in sorted_ids, a sorted
    array.array("Q"); allocates nothing."""
    ...

def floor_callback(kind: str) -> Any:
    """A sys.monitoring callback like the tracer's that does nothing
    ("dispatch"), only reads the tracer's clock ("clock"), or enters or
    leaves a frame of the minimal recorder ("enter", "leave"):
    bench/floor.py's floors (Python 3.12+)."""

def floor_reset() -> None:
    """Empty the minimal recorder (bench/floor.py)."""

def floor_calls(code: Any) -> int:
    """The calls the minimal recorder counted for a code object."""

def collector_start(phase: str, info: Any) -> None:
    """gc.callbacks entry, first in the list: on "start", the collector
    runs on this thread (sessions made with skip_collector record none of
    its calls)."""

def collector_stop(phase: str, info: Any) -> None:
    """gc.callbacks entry, last in the list: on "stop", the collector
    stopped running on this thread."""

def set_paused(paused: bool) -> bool:
    """Stop (True) or resume (False) recording the calling thread's events,
    e.g. while the tracer's own helpers run; returns the previous state."""

# The rule engine (libcallflow/include/callflow/compare.h has the rules).
# A finding: {"kind": "calls" | "total_calls" | "new_function" |
# "gone_function" | "new_edge" | "gone_edge" | "edge_calls" | "time" |
# "budget", "verdict": "regression" | "warning" | "improvement" | "note",
# "function": str | None (None for total_calls), "callee": str | None (the
# callee of an edge), "before": float, "after": float}.  before/after are
# calls, seconds for "time", (limit, calls) for "budget".  Lists are ordered:
# regressions, warnings, improvements, notes; then kind, then name.
Finding = Dict[str, Any]

def compare(
    baseline: "Graph",
    current: "Graph",
    *,
    max_calls_increase: float = 0.0,
    calls_slack: int = 0,
    improvement_threshold: float = 0.2,
    strict: bool = False,
    compare_time: bool = False,
    time_threshold: float = 0.5,
    time_floor_ns: int = 1_000_000,
    counts_are_warnings: bool = False,
    ignore: Sequence[str] = (),
) -> List[Finding]:
    """Findings of current against baseline under the policy.  ``ignore``
    holds exact names and module prefixes ending in ":" or "." ("pkg.mod."
    covers pkg.mod and the modules below it).  ValueError for a negative or
    NaN tolerance, a negative calls_slack or time_floor_ns; TypeError when
    ignore is a str."""

def check_budgets(current: "Graph", budgets: Mapping[str, int]) -> List[Finding]:
    """A "budget" regression for each name called more than its limit (a
    name never called is within budget).  ValueError for a negative limit."""

def findings_json(findings: Sequence[Finding]) -> str:
    """{"findings": [...]} as JSON text, keys sorted, indent 1; counts as
    integers, seconds as reals.  TypeError/ValueError on a malformed finding."""

def hold_backend(template: Optional["Session"]) -> None:
    """Keep the sys.monitoring hooks installed between sessions (3.12+; a
    no-op before), for a runner that starts one session per test:
    reinstalling them makes CPython re-instrument all the code it runs next.
    Between sessions, code that ``template`` (a session of the runner's
    scope, never started) excludes is switched off.  None releases."""

class AsyncRecord:
    """A copy of a session's asyncio tasks, timeline, concurrency and blocking."""

    def to_dict(self) -> Dict[str, Any]: ...

class Session:
    """One recording scope.  ``scope`` is "all", "project" (IN: code that is
    not FLAG_EXTERNAL and whose file is under ``root``) or "prefixes" (IN:
    modules matching ``include``).  ``include`` prefixes are always IN,
    ``exclude`` prefixes never recorded.  Sessions nest: every running
    session sees every event.  Threads whose Python thread state is created
    while the session runs are traced, as is the thread that starts it.
    ``builtins`` also records C functions (``builtins:len``): through CALL
    events on 3.12+, through the "profile" backend before 3.12.
    ``root_outside``: the scope is opened by code outside it (a test
    runner), so the top level's calls into outside code are not recorded
    (in-scope code they call attaches to the root).  ``skip_collector``:
    calls the garbage collector makes (finalizers, weakref callbacks) are
    not recorded: while the session runs, collector_start (first) and
    collector_stop (last) in gc.callbacks mark the collector's runs."""

    def __init__(
        self,
        scope: str = "all",
        root: Optional[str] = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        node_cap: int = 0,
        backend: Optional[str] = None,
        builtins: bool = False,
        root_outside: bool = False,
        blocking_threshold_ns: int = 0,
        skip_collector: bool = False,
    ) -> None:
        """``blocking_threshold_ns``: an asyncio task step longer than this is
        reported as blocking the event loop (0: the default, 100 ms)."""
    def async_record(self) -> Optional["AsyncRecord"]:
        """The asyncio tasks seen so far (see CallGraph.async_info), copied
        now and made a dict only by AsyncRecord.to_dict(); None without tasks."""
    def start(self) -> None:
        """Start (or continue) recording; on a running session, start
        recording the calling thread as well.  ValueError for an unknown backend,
        RuntimeError when no sys.monitoring tool id is free."""
    def stop(self) -> None:
        """Stop recording; frames still open are closed at this instant."""
    @property
    def running(self) -> bool: ...
    @property
    def node_count(self) -> int: ...
    def graph(self) -> "Graph":
        """A materialised copy of what has been recorded so far."""
    def clear(self) -> None:
        """Forget what was recorded (RuntimeError while running)."""

FunctionRow = Tuple[str, Optional[str], int, int, int, int, int, int]
# (name, file, line, flags, calls, total_ns, self_ns, suspended_ns)
EdgeRow = Tuple[str, str, int, int]
# (caller, callee, calls, total_ns)
NodeRow = Tuple[Optional[str], int, int, int, int, int]
# (function name or None for the root, parent index or -1, calls, total_ns,
#  self_ns, suspended_ns); node 0 is the root, parents precede children.

class Graph:
    """A materialised, canonical call graph (libcallflow's cf_graph)."""

    def __init__(self) -> None: ...
    @staticmethod
    def loads(text: str, source: Optional[str] = None) -> "Graph":
        """Parse callflow/1 JSON; ValueError "source:line:column: what"."""
    @staticmethod
    def load(path: str) -> "Graph":
        """Read a file; ValueError naming the file and place, OSError when
        it cannot be read."""
    def dumps(self, times: bool = True, indent: bool = True) -> str: ...
    def dump(self, path: str, times: bool = True) -> None:
        """Atomic write (temporary file + rename); OSError naming path."""
    def functions(self) -> List[FunctionRow]: ...
    def edges(self) -> List[EdgeRow]: ...
    def nodes(self) -> List[NodeRow]: ...
    def meta(self) -> Dict[str, Any]:
        """total_calls, duration_ns, node_cap, truncated_paths,
        truncated_calls, python, backend, scope."""
    def merge(self, other: "Graph") -> None: ...
    def copy(self) -> "Graph": ...
    def set_meta(self, python: Optional[str] = None,
                 backend: Optional[str] = None,
                 scope: Optional[str] = None,
                 duration_ns: Optional[int] = None) -> None: ...

# Heap census (libcallflow/include/callflow/census.h has the rules).
# A type is named "module.qualname" ("builtins.dict", "app.f.<locals>.C");
# bytes = what sys.getsizeof() reports on the common types (struct, GC
# header and pre-header, plus the storage of lists, sets and dicts).

#: Names of the pseudo entries of census_growth (never a type name: no dot).
CENSUS_BLOCKS: str  # "<allocated blocks>": sys.getallocatedblocks()
CENSUS_TRACED: str  # "<traced memory>": tracemalloc's traced bytes

class Census:
    """A heap census: the live gc-tracked objects (those gc.get_objects()
    lists) counted by type name, as a read-only mapping name -> (count,
    bytes), names in sorted order.  Kept outside Python's allocators and
    untracked: censuses kept alive never count as growth themselves."""

    @property
    def objects(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def blocks(self) -> Optional[int]:
        """sys.getallocatedblocks() when taken (None without pymalloc)."""
    @property
    def traced(self) -> Optional[int]:
        """tracemalloc's traced bytes when taken, None when not tracing."""
    @property
    def duration_ns(self) -> int: ...
    @property
    def label(self) -> Optional[str]: ...
    def types(self) -> Dict[str, Tuple[int, int]]:
        """{type name: (count, bytes)}, sorted by name."""
    def count(self, name: str) -> int:
        """Live objects of that type name (0 when none)."""
    def __getitem__(self, name: str) -> Tuple[int, int]: ...
    def __contains__(self, name: object) -> bool: ...
    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...
    def dumps(self, indent: bool = True) -> str:
        """callflow-census/1 JSON, keys sorted."""
    @staticmethod
    def loads(text: str, source: Optional[str] = None) -> "Census":
        """Parse callflow-census/1 JSON; ValueError naming source and place."""

def census(label: Optional[str] = None) -> Census:
    """Census the live heap: one C pass, no Python code per object (about
    10 ms per million objects, 20 ms when they are scattered in memory).
    RuntimeError when called while the collector runs (3.9-3.11)."""

#: {"types": {name: (count change, bytes change)} for the types that
#: changed, biggest count growth first; "objects", "bytes": total changes;
#: "blocks", "traced": changes, None when either census lacks the figure}.
CensusDiff = Dict[str, Any]

def census_diff(before: Census, after: Census) -> CensusDiff: ...

#: {"name": type name or CENSUS_BLOCKS / CENSUS_TRACED, "by": ["count"] and/or
#: ["bytes"] (what grew on every measured run), "count_growth": [per run],
#: "bytes_growth": [per run], "count": int, "bytes": int (in the last census)}.
Leak = Dict[str, Any]

def census_growth(
    censuses: Sequence[Census],
    *,
    warmup: int = 1,
    min_count: int = 1,
    min_bytes: int = 1,
    min_blocks: int = 1,
    min_traced: int = 1,
    ignore: Sequence[str] = (),
) -> List[Leak]:
    """The growth rule: censuses[i] is taken after run i; the first
    ``warmup`` runs are warm-up and censuses[warmup - 1] the baseline (a
    census taken before run 1 is one more leading census: add 1 to
    warmup).  A type leaks when on every measured run its count grows by
    >= min_count or its bytes by >= min_bytes (a floor of 0 turns that
    test off); CENSUS_BLOCKS with min_blocks, CENSUS_TRACED with
    min_traced.  ``ignore``: exact names, or prefixes ending in ".".
    Ordered by total count growth, then bytes, then name; pseudo entries
    last.  ValueError for warmup < 1, fewer than warmup + 1 censuses or a
    negative floor; TypeError for a non-Census or a str ignore."""

def census_growth_json(
    censuses: Sequence[Census],
    *,
    warmup: int = 1,
    min_count: int = 1,
    min_bytes: int = 1,
    min_blocks: int = 1,
    min_traced: int = 1,
    ignore: Sequence[str] = (),
) -> str:
    """The verdicts of census_growth as callflow-census/1 JSON:
    {"leaks": [...], "policy": {...}, "runs": n, "schema": ...}."""
