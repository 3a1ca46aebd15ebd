"""Recording scopes: the ``trace_scope`` context manager and the ``trace``
decorator.

Every scope is its own ``_native.Session``; the hooks feed all running
sessions, so scopes nest.  The innermost scope of the running context is
kept in a context variable (nesting.py), so concurrent asyncio tasks each
see their own (for ``get_current_graph`` and ``@trace``).  Recording itself
is per thread: a scope records every call its threads make while it runs,
including those of other tasks interleaved on the same event loop.  This
module is the tracer's own code (FLAG_SELF): its frames are never recorded,
whatever they call attaches to the caller above them."""

import functools
import inspect
import os
import threading
import warnings
from typing import Any, Callable, Optional, Sequence, Tuple, TypeVar, Union, overload

from . import _native
from .graph import SUPPORTED_SUFFIXES, CallGraph, PathLike, _View, check_suffix
from .nesting import Level, Nesting

F = TypeVar("F", bound=Callable[..., Any])
ScopeSpec = Union[str, Sequence[str]]

SCOPES = ("all", "project")


class LiveCallGraph(CallGraph):
    """The graph of a ``trace_scope``: while the scope runs, every access
    reads a fresh snapshot of what has been recorded so far (calls in
    progress are counted, their times are not final); when the scope exits
    it is frozen and behaves as a plain, immutable ``CallGraph``."""

    __slots__ = ("_session",)

    def __init__(self, session: "_native.Session") -> None:
        super().__init__()
        self._session: Optional[_native.Session] = session

    @property
    def live(self) -> bool:
        """True until the scope has exited."""
        return self._session is not None

    def _view(self) -> _View:
        session = self._session
        if session is not None:
            return session_view(session)
        return self._fixed

    def snapshot(self) -> CallGraph:
        view = self._view()
        return CallGraph(view.graph, view.async_info)

    def _freeze(self) -> None:
        session = self._session
        if session is not None:
            self._fixed = session_view(session)
            self._session = None


def session_view(session: "_native.Session") -> _View:
    """What a session recorded so far: the graph and its asyncio tasks."""
    return _View(session.graph(), session.async_record())


_active: "Nesting[trace_scope]" = Nesting("pytest_callflow_active_scope")


def _prefixes(value: Union[None, str, Sequence[str]], what: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    items = (value,) if isinstance(value, str) else tuple(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise TypeError(f"{what} must be module names (non-empty strings), got {item!r}")
    return items


# What a scope's output_file may be: the graph (JSON) or its HTML report.
OUTPUT_SUFFIXES = SUPPORTED_SUFFIXES + (".html",)


def _output_path(output_file: Optional[PathLike]) -> Optional[str]:
    return None if output_file is None else check_suffix(output_file, OUTPUT_SUFFIXES, "trace_scope")


def save_output(graph: CallGraph, path: str) -> None:
    """Write a scope's output file: the HTML report (``.html``) or the graph."""
    if path.lower().endswith(".html"):
        from .html import export_html  # the report code, loaded only when asked for
        export_html(graph, path)
    else:
        graph.save(path)


class trace_scope:
    """Record every call made inside a ``with`` block (also threads started
    inside it)::

        with trace_scope() as graph:
            run()
        assert graph.calls("app.core:parse") == 3

    ``scope``: ``"all"`` (everything), ``"project"`` (code under ``root``,
    by default the current directory, outside the standard library,
    site-packages and virtualenvs; calls out of it are kept as leaves), or
    a list/tuple of module prefixes to record.  ``include_modules`` prefixes are always
    recorded, ``exclude_modules`` never.  ``node_cap`` bounds the
    calling-context tree (cut paths are counted in ``truncated_paths``).
    ``builtins=True`` also records C functions (``builtins:len``,
    ``math:sqrt``): they count as outside code, so under ``"project"`` they
    are leaves; before Python 3.12 it needs the slower profile hook.
    Asyncio tasks that run inside the scope are followed (``graph.async_info``);
    a task step running longer than ``blocking_threshold`` seconds without
    awaiting is reported as blocking the event loop.
    ``output_file`` (``.json``, or ``.html`` for the report) is written when
    the block exits, also when it raised.  Works with ``async with`` too."""

    def __init__(self, output_file: Optional[PathLike] = None, *, scope: ScopeSpec = "all",
                 include_modules: Union[None, str, Sequence[str]] = None,
                 exclude_modules: Union[None, str, Sequence[str]] = None,
                 node_cap: Optional[int] = None, root: Optional[PathLike] = None,
                 builtins: bool = False, blocking_threshold: float = 0.1) -> None:
        self.output_file = _output_path(output_file)
        include = _prefixes(include_modules, "include_modules")
        if isinstance(scope, str) and scope in SCOPES:
            self._mode = scope
        elif isinstance(scope, (list, tuple)) and scope:
            self._mode = "prefixes"
            include = _prefixes(scope, "scope") + include
        else:
            raise ValueError(
                f"scope must be 'all', 'project' or a list/tuple of module prefixes, got {scope!r}")
        self.scope = scope
        self._include = include
        self._exclude = _prefixes(exclude_modules, "exclude_modules")
        if node_cap is not None and (isinstance(node_cap, bool) or not isinstance(node_cap, int)
                                     or node_cap < 1):
            raise ValueError(f"node_cap must be a positive int or None, got {node_cap!r}")
        self._node_cap = node_cap or 0
        # Resolved when the scope starts (the current directory may change).
        self._root = os.fspath(root) if root is not None else None
        self._builtins = bool(builtins)
        if isinstance(blocking_threshold, bool) or not isinstance(blocking_threshold, (int, float)) \
                or not blocking_threshold > 0:
            raise ValueError(
                f"blocking_threshold must be a positive number of seconds, got {blocking_threshold!r}")
        self._blocking_ns = max(1, int(blocking_threshold * 1e9))
        self.graph: Optional[LiveCallGraph] = None
        self._level: "Optional[Level[trace_scope]]" = None
        self._session: Optional[_native.Session] = None

    def __enter__(self) -> LiveCallGraph:
        if self._session is not None:
            raise RuntimeError("this trace_scope is already running")
        session = _native.Session(
            scope=self._mode,
            root=(self._root or os.getcwd()) if self._mode == "project" else None,
            include=self._include,
            exclude=self._exclude,
            node_cap=self._node_cap,
            builtins=self._builtins,
            blocking_threshold_ns=self._blocking_ns,
        )
        graph = LiveCallGraph(session)
        self._session, self.graph = session, graph
        self._level = _active.enter(self)
        try:
            session.start()  # last: nothing of ours runs after it
        except BaseException:
            self._leave()
            self._session = None
            raise
        return graph

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        session = self._session
        if session is None:
            return
        session.stop()  # first: nothing of ours is recorded
        self._session = None
        self._leave()
        graph = self.graph
        assert graph is not None
        graph._freeze()
        if self.output_file is not None:
            write_on_exit(lambda path: save_output(graph, path), self.output_file, exc_type)

    async def __aenter__(self) -> LiveCallGraph:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def _leave(self) -> None:
        level, self._level = self._level, None
        _active.leave(level)

    @property
    def running(self) -> bool:
        return self._session is not None

    def __repr__(self) -> str:
        state = "running" if self.running else "idle"
        return f"<trace_scope scope={self.scope!r} {state}>"


def write_on_exit(write: Callable[[str], Any], path: str, exc_type: Any) -> None:
    """Write a scope's output file at exit.  When the block raised, its own
    exception is what the caller must see: a failed write is then a warning."""
    try:
        write(path)
    except Exception as err:
        if exc_type is None:
            raise
        warnings.warn(f"trace_scope could not write {path!r}: {err}", RuntimeWarning,
                      stacklevel=3)


def active_scope() -> Optional[trace_scope]:
    """The innermost ``trace_scope`` running in the current context."""
    return _active.get()


# ---------------------------------------------------------------------------
# the default session of ``@trace`` outside any scope


class _DefaultRecorder:
    """A process-wide session that runs while at least one ``@trace``d call
    made outside any scope is in progress.  It records everything those
    calls do (and, while they run, whatever else the traced threads do)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: Optional[_native.Session] = None
        self._depth = 0  # traced calls in progress, all threads
        self._local = threading.local()  # per thread: calls in progress

    def enter(self) -> None:
        with self._lock:
            if self._session is None:
                self._session = _native.Session(scope="all")
            self._depth += 1
            mine = getattr(self._local, "depth", 0)
            self._local.depth = mine + 1
            if mine == 0:
                # Start, or have this thread join a session already running.
                self._session.start()

    def exit(self) -> None:
        with self._lock:
            self._local.depth = max(0, getattr(self._local, "depth", 0) - 1)
            self._depth -= 1
            if self._depth == 0 and self._session is not None:
                self._session.stop()

    def graph(self) -> CallGraph:
        with self._lock:
            session = self._session
            return CallGraph(session.graph()) if session is not None else CallGraph()

    def clear(self) -> None:
        with self._lock:
            if self._depth:
                raise RuntimeError("clear_trace() cannot run while a traced call is in progress")
            if self._session is not None:
                self._session.clear()


_default = _DefaultRecorder()


def get_current_graph() -> CallGraph:
    """The graph of the innermost running ``trace_scope`` (live), else what
    ``@trace``d calls made outside any scope have recorded (a snapshot)."""
    scope = _active.get()
    if scope is not None and scope.graph is not None:
        return scope.graph
    return _default.graph()


def clear_trace() -> None:
    """Forget what ``@trace``d calls made outside any scope have recorded."""
    _default.clear()


# ---------------------------------------------------------------------------
# the decorator


def _wrap_function(func: Callable[..., Any]) -> Callable[..., Any]:
    def traced(*args: Any, **kwargs: Any) -> Any:
        if _active.get() is not None:
            return func(*args, **kwargs)  # the running scope records it
        _default.enter()
        try:
            return func(*args, **kwargs)
        finally:
            _default.exit()
    return traced


def _wrap_generator(func: Callable[..., Any]) -> Callable[..., Any]:
    # One call however often it resumes: the session runs from the first
    # resume to the end (it also sees what the consumer does in between).
    def traced(*args: Any, **kwargs: Any) -> Any:
        if _active.get() is not None:
            return (yield from func(*args, **kwargs))
        _default.enter()
        try:
            return (yield from func(*args, **kwargs))
        finally:
            _default.exit()
    return traced


def _wrap_coroutine(func: Callable[..., Any]) -> Callable[..., Any]:
    async def traced(*args: Any, **kwargs: Any) -> Any:
        if _active.get() is not None:
            return await func(*args, **kwargs)
        _default.enter()
        try:
            return await func(*args, **kwargs)
        finally:
            _default.exit()
    return traced


def _wrap_async_generator(func: Callable[..., Any]) -> Callable[..., Any]:
    async def traced(*args: Any, **kwargs: Any) -> Any:
        agen = func(*args, **kwargs)
        recording = _active.get() is None
        if recording:
            _default.enter()
        try:
            # Forward asend/athrow/aclose by hand (no "yield from" here).
            try:
                item = await agen.__anext__()
            except StopAsyncIteration:
                return
            while True:
                try:
                    sent = yield item
                except GeneratorExit:
                    await agen.aclose()
                    raise
                except BaseException as err:
                    try:
                        item = await agen.athrow(err)
                    except StopAsyncIteration:
                        return
                else:
                    try:
                        item = await agen.asend(sent)
                    except StopAsyncIteration:
                        return
        finally:
            if recording:
                _default.exit()
    return traced


@overload
def trace(func: F) -> F: ...
@overload
def trace(func: None = None) -> Callable[[F], F]: ...


def trace(func: Optional[F] = None) -> Any:
    """Record calls of a function, generator function, async function or
    async generator function.  Inside a running ``trace_scope`` the call is
    simply made (the scope records it); outside any scope it is recorded,
    with everything it calls, in a default session whose graph
    ``get_current_graph()`` returns and ``clear_trace()`` forgets.  Usable
    as ``@trace``, ``@trace()`` and ``trace(func)``; the wrapper keeps the
    name, docstring and signature, returns the function's value and lets
    its exceptions through."""
    if func is None:
        return trace
    if not callable(func):
        raise TypeError(f"trace() expects a function, got {func!r}")
    if inspect.isasyncgenfunction(func):
        wrapper = _wrap_async_generator(func)
    elif inspect.iscoroutinefunction(func):
        wrapper = _wrap_coroutine(func)
    elif inspect.isgeneratorfunction(func):
        wrapper = _wrap_generator(func)
    else:
        wrapper = _wrap_function(func)
    return functools.wraps(func)(wrapper)
