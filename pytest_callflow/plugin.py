"""pytest plugin (entry point ``pytest11: callflow``): ``pytest --callflow``.

When the gate is off, only the option parsing, the marker's validation at
collection and the ``callflow`` fixture exist; tests run untouched.  When it
is on, ``CallflowPlugin`` is registered: it records each test's traced
phases in one libcallflow session, judges the graph against the baseline
(testjudge.py, gate.py) in the test's own report, and on the controller
(the only process without xdist) gathers the results, writes baselines and
reports (session_report.py).  A test that uses the
``callflow`` fixture or has a ``max_calls`` budget is traced even when the
gate is off (budgets only, no baselines)."""

import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import pytest

from . import _native
from . import baseline as store_mod
from . import gate
from . import hashseed
from . import leaks
from .graph import CallGraph, _View
from .scope import LiveCallGraph, session_view
from .report_carry import CarriesReportAttribute
from .session_report import SessionResults
from .testjudge import RUNNER_MODULES, TestJudge, new_test_session
from .settings import Settings, add_options

RUNNING_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"

_SETTINGS = pytest.StashKey["Settings"]()
_PLUGIN = pytest.StashKey["CallflowPlugin"]()
_STATE = pytest.StashKey["_TestState"]()
_MARKER = pytest.StashKey[Dict[str, Any]]()
_LEAKS = pytest.StashKey["leaks.LeakChecker"]()

PLUGIN_NAME = "callflow-session"


# ---------------------------------------------------------------------------
# per-test state


class TestCallGraph(LiveCallGraph):
    """A test's graph (the ``callflow`` fixture): one native session across
    the test's traced phases, opened with ``root_outside`` so the runner
    around the test is not in it; live while the test runs, frozen once
    judged.  Frozen, its Python view is built only when read: the gate
    itself needs the counts alone (``entry``)."""

    __slots__ = ("_raw", "_raw_async")
    __test__ = False  # not a test class, whatever its name

    def __init__(self, session: "_native.Session") -> None:
        super().__init__(session)
        self._raw: Optional[_native.Graph] = None
        self._raw_async: Any = None  # a native AsyncRecord, or its dict

    def _view(self) -> _View:
        session = self._session
        if session is not None:
            return session_view(session)
        raw = self._raw
        if raw is not None:
            self._fixed = _View(raw, self._raw_async)
            self._raw = None
        return self._fixed

    def _freeze(self) -> None:
        session = self._session
        if session is not None:
            self._raw = session.graph()
            self._raw_async = session.async_record()
            self._session = None

    @property
    def async_info(self) -> Optional[Dict[str, Any]]:
        if self._session is None and self._raw is not None:
            info = self._raw_async  # without building the Python view
            if info is not None and not isinstance(info, dict):
                info = self._raw_async = info.to_dict()
            return info
        return super().async_info

    def entry(self) -> store_mod.Entry:
        """The baseline entry of the frozen graph."""
        raw = self._raw
        if raw is not None:
            return store_mod.entry_from_native(raw)
        return store_mod.entry_from_graph(self)

    @property
    def duration(self) -> float:
        raw = self._raw
        if raw is not None:
            return float(raw.meta().get("duration_ns", 0)) * 1e-9
        return super().duration


class _TestState:
    """One traced test: its session and graph, and how its phases went."""

    __slots__ = ("session", "graph", "own_failed", "call_done", "skipped", "samples", "policy")

    def __init__(self, session: "_native.Session") -> None:
        self.session = session
        self.graph = TestCallGraph(session)
        self.own_failed = False             # a traced phase failed on its own
        self.call_done = False
        self.skipped = False                # skipped (or xfailed) in the call phase
        self.samples: List[Dict[str, float]] = []  # per-run inclusive times (time mode)
        self.policy: Optional[gate.Policy] = None


# ---------------------------------------------------------------------------
# the marker


def marker_overrides(item: pytest.Item) -> Dict[str, Any]:
    """The validated ``@pytest.mark.callflow`` arguments of ``item``
    (gate.MarkerError when they are wrong), computed once per item."""
    cached = item.stash.get(_MARKER, None)
    if cached is None:
        markers = [(m.args, m.kwargs) for m in item.iter_markers(name="callflow")]
        cached = gate.marker_overrides(markers, item.nodeid) if markers else {}
        item.stash[_MARKER] = cached
    return cached


_MODULES: Dict[Tuple[str, str], Optional[str]] = {}  # (file, rootdir) -> module


def module_and_key(item: pytest.Item, rootdir: str) -> Tuple[Optional[str], str]:
    """(test module relative to the rootdir with "/", or None when the file
    is outside it; the test key: the node id minus "<module>::")."""
    nodeid = item.nodeid
    key = nodeid.split("::", 1)[1] if "::" in nodeid else item.name
    path = getattr(item, "path", None)
    if path is None:
        return None, key
    file = str(path)
    try:
        return _MODULES[(file, rootdir)], key
    except KeyError:
        pass
    rel = os.path.relpath(file, rootdir)
    module: Optional[str] = store_mod.to_posix(rel)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        module = None
    _MODULES[(file, rootdir)] = module
    return module, key


# ---------------------------------------------------------------------------
# always-on hooks: options, marker validation, the fixture


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: List[str]) -> Any:
    """Outermost, before output is captured: a traced run started with a
    random hash seed starts again with a fixed one (hashseed.py)."""
    if _enabled_early(early_config):
        hashseed.restart_with_fixed_seed(early_config)
    return (yield)


def _enabled_early(config: pytest.Config) -> bool:
    """Settings.enabled, from what is known before the conftests load."""
    ns = config.known_args_namespace
    if getattr(ns, "callflow_update", False) or getattr(ns, "callflow_html", None):
        return True
    flag = getattr(ns, "callflow", None)
    if flag is not None:
        return bool(flag)
    try:
        return bool(config.getini("callflow"))
    except (ValueError, KeyError):
        return False  # a wrong ini value is reported once the settings are read


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "callflow(max_calls_increase=, strict=, time=, ignore=[names], max_calls={name: n}, "
        "max_blocking_ms=): per-test call-flow gate policy; max_calls budgets and "
        "max_blocking_ms apply without --callflow too")
    config.addinivalue_line("markers", leaks.MARKER_HELP)
    settings = Settings(config)
    config.stash[_SETTINGS] = settings
    # Before the tracers: its call wrapper must be outside theirs.
    checker = leaks.LeakChecker(config, leaks.LeakPolicy(runs=settings.leaks_runs,
                                                         warmup=settings.leaks_warmup,
                                                         max_growth=settings.leaks_max_growth,
                                                         ignore_types=settings.leaks_ignore_types),
                                check_all=settings.leaks_all, json_path=settings.json_path,
                                gate_on=settings.enabled)
    config.stash[_LEAKS] = checker
    config.pluginmanager.register(checker, PLUGIN_NAME + "-leaks")
    if settings.enabled:
        plugin = CallflowPlugin(config, settings, full=True)
        config.stash[_PLUGIN] = plugin
        config.pluginmanager.register(plugin, PLUGIN_NAME)
        for n, tracer in enumerate(plugin.phase_tracers):
            config.pluginmanager.register(tracer, f"{PLUGIN_NAME}-phase-{n}")


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    """A wrong ``callflow`` marker is a collection error naming the test
    and the argument."""
    report = yield
    if report.passed and report.result:
        problems = []
        for node in report.result:
            if isinstance(node, pytest.Item):
                try:
                    marker_overrides(node)
                except gate.MarkerError as exc:
                    problems.append(str(exc))
                checker = node.config.stash.get(_LEAKS, None)
                try:
                    if checker is not None:
                        checker.policy(node)
                except leaks.LeakMarkerError as exc:
                    problems.append(str(exc))
        if problems:
            report.outcome = "failed"
            report.longrepr = "\n".join(problems)
            report.result = []
    return report


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: List[pytest.Item]) -> None:
    """Gate off: trace only the tests that ask for it (a ``max_calls``
    budget, a ``max_blocking_ms`` limit or the ``callflow`` fixture), if any."""
    if config.stash[_SETTINGS].enabled:
        return
    wanted = []
    for item in items:
        try:
            overrides = marker_overrides(item)
        except gate.MarkerError:
            continue  # reported at collection
        if overrides.get("max_calls") or "max_blocking_ms" in overrides \
                or "callflow" in getattr(item, "fixturenames", ()):
            wanted.append(item)
    if wanted:
        plugin = _light_plugin(config)
        for item in wanted:
            plugin.track(item)


def _light_plugin(config: pytest.Config) -> "CallflowPlugin":
    plugin = config.stash.get(_PLUGIN, None)
    if plugin is None:
        plugin = CallflowPlugin(config, config.stash[_SETTINGS], full=False)
        config.stash[_PLUGIN] = plugin
        config.pluginmanager.register(plugin, PLUGIN_NAME)
        for n, tracer in enumerate(plugin.phase_tracers):
            config.pluginmanager.register(tracer, f"{PLUGIN_NAME}-phase-{n}")
    return plugin


@pytest.fixture
def callflow(request: pytest.FixtureRequest) -> LiveCallGraph:
    """The running test's call graph (a LiveCallGraph of its call phase):
    ``callflow.calls("pkg.mod:fn")``, ``callflow.edge_calls(a, b)``, ..."""
    item = request.node
    plugin = item.config.stash.get(_PLUGIN, None)
    if plugin is None:
        plugin = _light_plugin(item.config)
    plugin.track(item)
    return plugin._state(item).graph


# ---------------------------------------------------------------------------
# the plugin proper


class CallflowPlugin(CarriesReportAttribute):
    """Traces and judges tests.  ``full``: the gate is on (every test,
    baselines, reports); else only tracked tests, budgets only."""

    carried_attribute = "callflow"

    def __init__(self, config: pytest.Config, settings: Settings, *, full: bool) -> None:
        self.config = config
        self.settings = settings
        self.full = full
        self.is_worker = hasattr(config, "workerinput")
        self.store = store_mod.Store(settings.directory, settings.rootdir)
        self.judge_phase = "teardown" if "teardown" in settings.phases else "call"
        self._tracked: Set[int] = set()
        self._runner: Optional[List[str]] = None
        self._held: Optional[_native.Session] = None
        # collection, for unused-baseline detection (full mode)
        self.collected_modules: Set[str] = set()
        self.collected_tests: Set[Tuple[str, str]] = set()
        self.results = SessionResults(settings, self.store, RUNNING_PYTHON)
        self.phase_tracers: List[_PhaseTracer] = []
        if "setup" in settings.phases:
            self.phase_tracers.append(_SetupTracer(self))
        if "teardown" in settings.phases:
            self.phase_tracers.append(_TeardownTracer(self))
        self.judge = TestJudge(self.store, scope_mode=settings.scope_mode,
                               rootdir=settings.rootdir, python=RUNNING_PYTHON,
                               update=settings.update, require_baseline=settings.require_baseline,
                               use_baseline=full)

    # -- which tests -------------------------------------------------------

    def track(self, item: pytest.Item) -> None:
        self._tracked.add(id(item))

    def _traced(self, item: pytest.Item) -> bool:
        return self.full or id(item) in self._tracked

    @property
    def runner(self) -> List[str]:
        """The test runner's modules, never recorded (made on first use, when
        every plugin is registered)."""
        if self._runner is None:
            self._runner = _runner_modules(self.config, self.settings.rootdir)
        return self._runner

    # -- collection (full mode) --------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        report = yield
        if self.full and isinstance(collector, pytest.File) and report.passed:
            # --lf reports files it skips as collected with no items: those
            # were not looked at, so they cannot prove a baseline unused.
            if report.result or not self.config.getoption("lf", False):
                module, _ = module_and_key(collector, self.settings.rootdir)  # type: ignore[arg-type]
                if module is not None:
                    self.collected_modules.add(module)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: List[pytest.Item]) -> None:
        # First, so that items deselected later (-k, -m) still count as existing.
        self._note_collected(items)

    def pytest_deselected(self, items: List[pytest.Item]) -> None:
        self._note_collected(items)

    def _note_collected(self, items: List[pytest.Item]) -> None:
        if not self.full:
            return
        rootdir = self.settings.rootdir
        for item in items:
            module, key = module_and_key(item, rootdir)
            if module is not None:
                self.collected_tests.add((module, key))

    # -- tracing -----------------------------------------------------------

    def _new_session(self) -> "_native.Session":
        if self._held is None:
            # Keep the hooks installed from test to test (see hold_backend).
            self._held = new_test_session(self.settings.scope, self.settings.rootdir, self.runner)
            _native.hold_backend(self._held)
        return new_test_session(self.settings.scope, self.settings.rootdir, self.runner)

    def release_backend(self) -> None:
        if self._held is not None:
            _native.hold_backend(None)
            self._held = None

    def _state(self, item: pytest.Item) -> _TestState:
        state = item.stash.get(_STATE, None)
        if state is None:
            state = item.stash[_STATE] = _TestState(self._new_session())
        return state

    def _policy(self, item: pytest.Item, state: _TestState) -> gate.Policy:
        if state.policy is None:
            state.policy = self.settings.policy.with_marker(marker_overrides(item))
        return state.policy

    # The wrappers are the innermost (trylast): the session records the
    # phase and little else.  One session serves all phases of a test, so a
    # generator fixture set up and finished in two phases is one call.
    # Setup and teardown are traced by _PhaseTracer, registered only when
    # --callflow-phases asks for them.

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        if not self._traced(item):
            return (yield)
        state = self._state(item)
        policy = self._policy(item, state)
        state.session.start()
        try:
            result = yield
        finally:
            state.session.stop()
            state.call_done = True
        if self.full and policy.compare_time:
            self._repeat_for_times(item, state)
        return result

    def _repeat_for_times(self, item: pytest.Item, state: _TestState) -> None:
        """Run the test body again for steadier times (counts come from
        the first run)."""
        state.samples.append(store_mod.times_from_graph(state.graph.snapshot()))
        for _ in range(self.settings.time_repeats - 1):
            session = self._new_session()
            session.start()
            try:
                item.runtest()
            finally:
                session.stop()
            run = CallGraph(session.graph())
            state.samples.append(store_mod.times_from_graph(run))

    # -- judging -----------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        report = yield
        state = item.stash.get(_STATE, None)
        if state is None or not self._traced(item):
            return report
        if report.failed and report.when in self.settings.phases:
            state.own_failed = True
        if report.when == "call" and report.skipped:
            state.skipped = True  # an unfinished run: nothing to judge
        if report.when == self.judge_phase and state.call_done and not state.skipped:
            try:
                self._judge(item, state, report)
            finally:
                if report.when == "teardown":
                    del item.stash[_STATE]
        elif report.when == "teardown":
            del item.stash[_STATE]
        return report

    def _judge(self, item: pytest.Item, state: _TestState, report: pytest.TestReport) -> None:
        try:
            policy = self._policy(item, state)
        except gate.MarkerError as exc:  # a marker added after collection
            report.outcome = "failed"
            report.longrepr = str(exc)
            return
        module, key = module_and_key(item, self.settings.rootdir)
        graph = state.graph
        graph._freeze()
        verdict = self.judge.judge(module, key, graph, policy, own_passed=not state.own_failed,
                                   samples=state.samples, entry=graph.entry(),
                                   duration=graph.duration)
        if verdict.section and (self.full or verdict.records or verdict.fails):
            report.sections.append(("callflow", verdict.section))
        if verdict.fails and report.passed and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = verdict.failure_text()
        if not self.full:
            return
        result = verdict.result
        result["outcome"] = report.outcome
        if self.settings.html_path:
            result["html"] = self._html_extras(module, key, graph)
        report.callflow = result  # type: ignore[attr-defined]
        props = [("callflow_verdict", result["verdict"]),
                 ("callflow_total_calls", result["total_calls"]),
                 ("callflow_time", f"{result['time']:.6f}"),
                 ("callflow_findings", sum(1 for r in verdict.records if r["verdict"] != "note"))]
        item.user_properties.extend(props)
        if report.user_properties is not item.user_properties:
            report.user_properties.extend(props)

    def _html_extras(self, module: Optional[str], key: str, graph: CallGraph) -> Dict[str, Any]:
        """What --callflow-html shows of a test besides its verdict: its
        graph and the baseline counts it was judged against."""
        from .html import result_extras  # only when the report is asked for

        bfile = self.store.get(module)[0] if module is not None else None
        return result_extras(graph, bfile.tests.get(key) if bfile is not None else None)

    # -- xdist: carrying results, collected ids ------------------------------

    # (report.callflow crosses to the controller: CarriesReportAttribute)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        if not self.full:
            return
        output = getattr(node, "workeroutput", None) or {}
        sent = output.get("callflow")
        if error is not None or not isinstance(sent, dict):
            self.results.collection_incomplete = True
            return
        self.results.workers_reported += 1
        self.collected_modules.update(sent.get("modules", ()))
        self.collected_tests.update((m, k) for m, k in sent.get("tests", ()))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.release_backend()

    # -- the controller --------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker or not self.full:
            return
        result = getattr(report, "callflow", None)
        if isinstance(result, dict):
            self.results.add(report.nodeid, result)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.full:
            return
        if self.is_worker:
            self.config.workeroutput["callflow"] = {  # type: ignore[attr-defined]
                "modules": sorted(self.collected_modules),
                "tests": sorted(self.collected_tests),
            }
            return
        checker = self.config.stash.get(_LEAKS, None)
        if checker is not None:
            self.results.leaks = leaks.json_doc(checker.results)
        distributed = self.config.pluginmanager.has_plugin("dsession")
        if distributed and not self.results.workers_reported:
            self.results.collection_incomplete = True
        self.results.finish(self.collected_modules, self.collected_tests,
                            _partial_modules(self.config, self.settings.rootdir))
        if self.results.failed_writes and session.exitstatus in (0, 5):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int,
                                config: pytest.Config) -> None:
        if self.full and not self.is_worker:
            self.results.summary(terminalreporter.write_line, terminalreporter.write_sep,
                                 verbose=config.getoption("verbose") > 0)


class _PhaseTracer:
    """Traces the setup and/or teardown phase into the test's session."""

    def __init__(self, plugin: "CallflowPlugin") -> None:
        self.plugin = plugin


class _SetupTracer(_PhaseTracer):
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Any:
        plugin = self.plugin
        if not plugin._traced(item):
            return (yield)
        session = plugin._state(item).session
        session.start()
        try:
            return (yield)
        finally:
            session.stop()


class _TeardownTracer(_PhaseTracer):
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> Any:
        if not self.plugin._traced(item):
            return (yield)
        state = item.stash.get(_STATE, None)
        if state is None or not state.call_done:
            return (yield)
        state.session.start()
        try:
            return (yield)
        finally:
            state.session.stop()


def _runner_modules(config: pytest.Config, rootdir: str) -> List[str]:
    """Modules of the test runner: pytest, pluggy and the plugins installed
    outside the project."""
    names = set(RUNNER_MODULES)
    root = os.path.join(os.path.abspath(rootdir), "")
    for plugin in config.pluginmanager.get_plugins():
        name = plugin.__name__ if isinstance(plugin, type(os)) else type(plugin).__module__
        if not isinstance(name, str) or name.startswith("pytest_callflow"):
            continue
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str) and os.path.abspath(file).startswith(root) \
                and "site-packages" not in file:
            continue  # a conftest or plugin of the project: its own code
        names.add(name)
    return sorted(names)


def _partial_modules(config: pytest.Config, rootdir: str) -> Set[str]:
    """Modules named with "::" on the command line: only some of their
    tests were collected, so the others are not unused."""
    partial = set()
    base = str(config.invocation_params.dir)
    for arg in config.args:
        if "::" not in arg:
            continue
        path = os.path.normpath(os.path.join(base, arg.split("::", 1)[0]))
        rel = os.path.relpath(path, rootdir)
        if not rel.startswith(os.pardir):
            partial.add(store_mod.to_posix(rel))
    return partial
