"""The baseline store: one JSON file per test module under ``.callflow/``.

    .callflow/tests/test_cart.py.json
    {
     "python": "3.12",
     "schema": "callflow-baseline/1",
     "tests": {"TestCart::test_total[2]": {"calls": {...}, "edges": {...},
                                            "total_calls": 11}},
     "times": {"TestCart::test_total[2]": {"shop.cart:Cart.total": 0.00012}}
    }

Everything under "tests" is deterministic (calls, edges); "times" holds the
volatile inclusive seconds, written only by runs that measured time.  Files
are sorted and indented one space per level, so a one-call change is a
one-line diff.  A file that cannot be read is never rewritten."""

import errno
import json
import os
import tempfile
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Set, Tuple, Union

from . import _native
from .graph import CallGraph

SCHEMA = "callflow-baseline/1"
_SCHEMA_PREFIX = "callflow-baseline/"
SUFFIX = ".json"

# A test's deterministic entry: {"calls": {fn: n}, "edges": {caller: {callee: n}},
# "total_calls": n}.
Entry = Dict[str, Any]
Times = Dict[str, float]


class BaselineError(Exception):
    """A baseline file that cannot be used; the message names the file and
    the place (line:column for malformed JSON, the field otherwise)."""


def python_minor(version: str) -> str:
    """"3.12.1" -> "3.12"."""
    return ".".join(version.split(".")[:2])


def to_posix(path: str) -> str:
    return path.replace(os.sep, "/")


# ---------------------------------------------------------------------------
# entries <-> graphs


def make_entry(calls: Mapping[str, int], edges: Mapping[str, Mapping[str, int]]) -> Entry:
    """An entry from raw counts: edges without calls and functions neither
    called nor part of an edge are left out."""
    kept_edges: Dict[str, Dict[str, int]] = {}
    for caller, callees in edges.items():
        row = {callee: n for callee, n in callees.items() if n > 0}
        if row:
            kept_edges[caller] = row
    needed = {name for name, n in calls.items() if n > 0}
    for caller, callees in kept_edges.items():
        needed.add(caller)
        needed.update(callees)
    kept = {name: max(0, calls.get(name, 0)) for name in needed}
    return {"calls": kept, "edges": kept_edges, "total_calls": sum(kept.values())}


def entry_from_graph(graph: CallGraph) -> Entry:
    """The deterministic content of a recorded graph."""
    return entry_from_native(graph._view().graph)


def entry_from_native(native: "_native.Graph") -> Entry:
    """``entry_from_graph`` straight from the native rows, without building
    the Python view (the per-test fast path)."""
    calls = {row[0]: row[4] for row in native.functions()}
    edges: Dict[str, Dict[str, int]] = {}
    for caller, callee, n, _ns in native.edges():
        edges.setdefault(caller, {})[callee] = n
    return make_entry(calls, edges)


def times_from_graph(graph: CallGraph) -> Times:
    """Inclusive seconds per function (rounded to the microsecond: the
    digits beyond are noise and would only bloat diffs)."""
    return {f.name: round(f.total_time, 6) for f in graph.functions()}


def entry_to_graph(entry: Entry, times: Optional[Mapping[str, float]], *, python: str,
                   scope: str, source: str) -> "_native.Graph":
    """A ``callflow/1`` graph of a baseline entry (no context tree), for the
    rule engine; ``times`` (inclusive seconds) when there are any."""
    functions = {name: {"calls": n} for name, n in entry["calls"].items()}
    doc: Dict[str, Any] = {
        "schema": "callflow/1",
        "functions": functions,
        "edges": entry["edges"],
        "tree": [],
        "meta": {"node_cap": 0, "total_calls": entry["total_calls"], "truncated_calls": 0,
                 "truncated_paths": 0, "python": python, "scope": scope},
    }
    if times:
        doc["times"] = {
            "duration": 0.0,
            "functions": {name: [float(t), 0.0, 0.0] for name, t in times.items()
                          if name in functions},
            "edges": {},
            "tree": [],
        }
    return _native.Graph.loads(json.dumps(doc), source)


# ---------------------------------------------------------------------------
# validation


def _where(key: str, *fields: str) -> str:
    return "tests" + "".join(f"[{json.dumps(f, ensure_ascii=False)}]" for f in (key,) + fields)


def _count(value: Any, place: str, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BaselineError(f"{path}: {place}: expected a non-negative integer, got {value!r}")
    return value


def _check_entry(path: str, key: str, entry: Any) -> Entry:
    if not isinstance(entry, dict):
        raise BaselineError(f"{path}: {_where(key)}: expected an object")
    extra = sorted(set(entry) - {"calls", "edges", "total_calls"})
    if extra:
        raise BaselineError(f"{path}: {_where(key)}: unknown field {extra[0]!r}")
    for field in ("calls", "edges", "total_calls"):
        if field not in entry:
            raise BaselineError(f"{path}: {_where(key)}: missing field {field!r}")
    calls = entry["calls"]
    if not isinstance(calls, dict):
        raise BaselineError(f"{path}: {_where(key, 'calls')}: expected an object")
    for name, n in calls.items():
        _count(n, _where(key, "calls", name), path)
    edges = entry["edges"]
    if not isinstance(edges, dict):
        raise BaselineError(f"{path}: {_where(key, 'edges')}: expected an object")
    for caller, callees in edges.items():
        if caller not in calls:
            raise BaselineError(f"{path}: {_where(key, 'edges', caller)}: "
                                "caller not listed in \"calls\"")
        if not isinstance(callees, dict):
            raise BaselineError(f"{path}: {_where(key, 'edges', caller)}: expected an object")
        for callee, n in callees.items():
            if callee not in calls:
                raise BaselineError(f"{path}: {_where(key, 'edges', caller, callee)}: "
                                    "callee not listed in \"calls\"")
            _count(n, _where(key, "edges", caller, callee), path)
    total = _count(entry["total_calls"], _where(key, "total_calls"), path)
    if total != sum(calls.values()):
        raise BaselineError(f"{path}: {_where(key, 'total_calls')}: is {total}, "
                            f"but the calls add up to {sum(calls.values())}")
    return entry


def _check_times(path: str, times: Any) -> Dict[str, Times]:
    if not isinstance(times, dict):
        raise BaselineError(f"{path}: times: expected an object")
    for key, per_test in times.items():
        if not isinstance(per_test, dict):
            raise BaselineError(f"{path}: times[{json.dumps(key)}]: expected an object")
        for name, t in per_test.items():
            if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
                raise BaselineError(f"{path}: times[{json.dumps(key)}][{json.dumps(name)}]: "
                                    f"expected seconds (a non-negative number), got {t!r}")
    return times


def parse(text: str, path: str) -> "BaselineFile":
    """Validate a baseline document; BaselineError naming ``path`` and the place."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise BaselineError(f"{path}: expected a JSON object at the top level")
    schema = data.get("schema")
    if schema != SCHEMA:
        if isinstance(schema, str) and schema.startswith(_SCHEMA_PREFIX):
            raise BaselineError(
                f"{path}: written with schema {schema!r} by a newer pytest-callflow; this "
                f"version reads {SCHEMA!r}: upgrade pytest-callflow (the file is left as is)")
        raise BaselineError(f"{path}: schema: expected {SCHEMA!r}, got {schema!r}")
    extra = sorted(set(data) - {"schema", "python", "tests", "times"})
    if extra:
        raise BaselineError(f"{path}: unknown field {extra[0]!r}")
    python = data.get("python")
    if not isinstance(python, str) or not python:
        raise BaselineError(f"{path}: python: expected a version string such as \"3.12\"")
    tests = data.get("tests")
    if not isinstance(tests, dict):
        raise BaselineError(f"{path}: tests: expected an object")
    entries = {key: _check_entry(path, key, entry) for key, entry in tests.items()}
    times = _check_times(path, data.get("times", {}))
    return BaselineFile(path, python, entries, times, text)


# ---------------------------------------------------------------------------
# files


class BaselineFile:
    """The baseline of one test module as read (or about to be written)."""

    __slots__ = ("path", "shown", "python", "tests", "times", "text")

    def __init__(self, path: str, python: str, tests: Dict[str, Entry],
                 times: Dict[str, Times], text: Optional[str] = None) -> None:
        self.path = path
        self.shown = path  # the name in messages
        self.python = python
        self.tests = tests
        self.times = times
        self.text = text  # as read from disk; None for a new file

    def render(self) -> str:
        doc: Dict[str, Any] = {"python": self.python, "schema": SCHEMA, "tests": self.tests}
        times = {k: v for k, v in self.times.items() if k in self.tests and v}
        if times:
            doc["times"] = times
        return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def read(path: str, shown: Optional[str] = None) -> Optional[BaselineFile]:
    """The file at ``path``; None when it does not exist; BaselineError
    (naming the file as ``shown``, by default ``path``) when it cannot be
    read or is not a valid baseline."""
    name = shown or path
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (FileNotFoundError, NotADirectoryError):
        return None  # (a file where a directory of the path should be: see write)
    except UnicodeDecodeError as exc:
        raise BaselineError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise BaselineError(f"{name}: cannot read: {exc.strerror or exc}") from None
    result = parse(text, name)
    result.path = path
    result.shown = name
    return result


def _file_mode(path: str) -> int:
    """The mode ``path`` has, or a new file would get (mkstemp makes 0600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _blocker(directory: str) -> Optional[str]:
    """The first existing part of ``directory`` that is not a directory."""
    probe = directory
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return None
        probe = parent
    return probe if probe and not os.path.isdir(probe) else None


def _write_temp(path: str, data: Union[str, bytes]) -> str:
    """Write ``data`` (text as UTF-8) to a new temporary file beside
    ``path`` (fsync'd), making missing parent directories; returns its name."""
    directory = os.path.dirname(os.path.abspath(path))  # "" for a bare file name
    blocker = _blocker(directory)
    if blocker is not None:
        raise NotADirectoryError(errno.ENOTDIR, f"{blocker} is a file, not a directory")
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        os.chmod(tmp, _file_mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp


def write_atomic(path: str, data: Union[str, bytes]) -> None:
    """Replace ``path`` by ``data`` (text as UTF-8) in one step, making
    missing parent directories: a reader sees the old file or the new one,
    never a mix."""
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def commit(writes: Mapping[str, str], removals: Iterable[str]) -> None:
    """Write every file of ``writes`` and remove ``removals``, as nearly
    all-or-nothing as a file system allows: every new file is written to a
    temporary file first, and nothing is replaced or removed unless all of
    them could be written.  OSError names the file that failed."""
    temps: List[Tuple[str, str]] = []
    try:
        for path, text in sorted(writes.items()):
            try:
                temps.append((_write_temp(path, text), path))
            except OSError as exc:
                raise OSError(exc.errno, f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        for tmp, _ in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    for tmp, path in temps:
        os.replace(tmp, path)
    for path in sorted(removals):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


# ---------------------------------------------------------------------------
# the store


class Store:
    """The ``.callflow`` directory of a project: paths, cached reads, and
    the module files whose baselines it holds."""

    def __init__(self, directory: str, rootdir: str) -> None:
        self.directory = os.path.abspath(directory)
        self.rootdir = os.path.abspath(rootdir)
        self._cache: Dict[str, Tuple[Optional[BaselineFile], Optional[str]]] = {}

    def path_of(self, module: str) -> str:
        """Baseline file of a module given relative to the rootdir with "/"."""
        return os.path.join(self.directory, *module.split("/")) + SUFFIX

    def get(self, module: str) -> Tuple[Optional[BaselineFile], Optional[str]]:
        """(file or None, error text or None), read once per module."""
        cached = self._cache.get(module)
        if cached is None:
            path = self.path_of(module)
            try:
                cached = (read(path, self.shown(path)), None)
            except BaselineError as exc:
                cached = (None, str(exc))
            self._cache[module] = cached
        return cached

    def shown(self, path: str) -> str:
        """``path`` as shown to people: relative to the rootdir when inside it."""
        rel = os.path.relpath(path, self.rootdir)
        return path if rel.startswith(os.pardir) else to_posix(rel)

    def forget(self, module: str) -> None:
        self._cache.pop(module, None)

    def modules(self) -> Iterator[str]:
        """Every module with a baseline file, relative to the rootdir."""
        if not os.path.isdir(self.directory):
            return
        for top, dirs, files in os.walk(self.directory):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(SUFFIX) and not name.startswith("."):
                    rel = os.path.relpath(os.path.join(top, name), self.directory)
                    yield to_posix(rel[: -len(SUFFIX)])

    def module_exists(self, module: str) -> bool:
        return os.path.isfile(os.path.join(self.rootdir, *module.split("/")))


def merge_module(old: Optional[BaselineFile], path: str, python: str, *,
                 recorded: Mapping[str, Entry], timed: Mapping[str, Times],
                 stale: Set[str]) -> BaselineFile:
    """The new baseline of one module: ``recorded`` entries (tests that
    passed this run) replace theirs when the deterministic content changed,
    ``timed`` replaces the times of tests run with time measurement (other
    times are kept as they were), ``stale`` keys are removed.  The file's
    Python version becomes the running one when every entry left was
    recorded by this run (or the file is new)."""
    tests: Dict[str, Entry] = dict(old.tests) if old is not None else {}
    times: Dict[str, Times] = dict(old.times) if old is not None else {}
    for key in stale:
        tests.pop(key, None)
        times.pop(key, None)
    for key, entry in recorded.items():
        if tests.get(key) != entry:
            tests[key] = entry
    for key, per_test in timed.items():
        if key in tests:
            times[key] = dict(per_test)
    if old is None or all(key in recorded for key in tests):
        version = python
    else:
        version = old.python
    return BaselineFile(path, version, tests, times, old.text if old is not None else None)


def graph_with_times(graph: CallGraph, totals: Mapping[str, float]) -> "_native.Graph":
    """A copy of ``graph`` whose functions' inclusive times are ``totals``
    (seconds; e.g. medians over repeated runs)."""
    doc = graph.to_dict()
    functions = doc.get("times", {}).get("functions", {})
    for name, triple in functions.items():
        if name in totals:
            total = float(totals[name])
            functions[name] = [total, min(float(triple[1]), total), float(triple[2])]
    return _native.Graph.loads(json.dumps(doc), "<median times>")
