"""``python -m pytest_callflow.unittest``: a plain unittest suite under the
call-flow gate, with the same baselines as ``pytest --callflow``.

    python -m pytest_callflow.unittest [--callflow-update] [--callflow-dir DIR]
        [--callflow-strict] [--callflow-max-calls-increase F]
        [--callflow-require-baseline] [--callflow-scope S] [--callflow-json PATH]
        [unittest arguments, e.g. discover -s tests -v]

Each test method is traced from ``startTest`` to ``stopTest`` (setUp, the
test, tearDown, cleanups) and judged against ``.callflow/<module file
relative to the current directory>.json`` under the key
``Class::method``, as pytest would name it.  Exits non-zero when a test
fails on its own or at the gate, or baselines cannot be written."""

import argparse
import os
import sys
import unittest
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from . import _native
from . import baseline as store_mod
from . import gate
from . import hashseed
from .graph import CallGraph
from .session_report import SessionResults
from .testjudge import RUNNER_MODULES, TestJudge, new_test_session

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"

# unittest leaves frames of modules with this global out of tracebacks (as
# its own): a gate failure shows the findings, not this runner's code.
__unittest = True


class CallflowRegression(AssertionError):
    """A test that passed but regressed at the call-flow gate."""


class RunnerSettings:
    """What SessionResults needs to know about the run (the pytest plugin
    has its own, from options and ini)."""

    def __init__(self, ns: argparse.Namespace, rootdir: str) -> None:
        self.rootdir = rootdir
        self.directory = os.path.join(rootdir, ns.callflow_dir)
        self.update: bool = ns.callflow_update
        self.json_path: Optional[str] = (os.path.abspath(ns.callflow_json)
                                         if ns.callflow_json else None)
        self.require_baseline: bool = ns.callflow_require_baseline
        scope = ns.callflow_scope.strip()
        self.scope: Any = scope if scope in ("project", "all") else \
            [p.strip() for p in scope.split(",") if p.strip()]
        self.scope_mode = self.scope if isinstance(self.scope, str) else "prefixes"
        self.policy = gate.Policy(max_calls_increase=ns.callflow_max_calls_increase,
                                  strict=ns.callflow_strict)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_callflow.unittest", add_help=False,
        description="Run a unittest suite under the call-flow gate; the other arguments "
                    "go to unittest (e.g. discover -s tests).")
    parser.add_argument("--callflow-update", action="store_true",
                        help="write new and changed baselines, remove unused ones")
    parser.add_argument("--callflow-dir", default=".callflow", metavar="DIR",
                        help="baseline directory, relative to the current directory")
    parser.add_argument("--callflow-strict", action="store_true",
                        help="fail on new and vanished call paths too")
    parser.add_argument("--callflow-max-calls-increase", type=float, default=0.0,
                        metavar="FRACTION", help="tolerated rise of calls (0.1 = 10%%)")
    parser.add_argument("--callflow-require-baseline", action="store_true",
                        help="fail tests that have no baseline")
    parser.add_argument("--callflow-scope", default="project", metavar="SCOPE",
                        help="project (default), all, or comma-separated module prefixes")
    parser.add_argument("--callflow-json", default=None, metavar="PATH",
                        help="write per-test verdicts, findings, calls and times")
    parser.add_argument("--callflow-help", action="help", help="show this help")
    return parser


def test_identity(test: unittest.TestCase, rootdir: str) -> Tuple[Optional[str], str]:
    """(module file relative to ``rootdir`` with "/", or None; the key
    pytest would give the test: ``Class::method``)."""
    cls = type(test)
    method = getattr(test, "_testMethodName", None)
    key = (cls.__qualname__.replace(".", "::") + "::" + method) if method else test.id()
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return None, key
    rel = os.path.relpath(os.path.abspath(file), rootdir)
    if rel.startswith(os.pardir) or os.path.isabs(rel):
        return None, key
    return store_mod.to_posix(rel), key


def _markers(test: unittest.TestCase) -> List[Tuple[Sequence[Any], Dict[str, Any]]]:
    """``@pytest.mark.callflow(...)`` on the test method or its classes
    (closest first), read without importing pytest."""
    found: List[Tuple[Sequence[Any], Dict[str, Any]]] = []
    method = getattr(type(test), getattr(test, "_testMethodName", ""), None)
    for owner in [method, *type(test).__mro__]:
        marks = getattr(owner, "pytestmark", None) if owner is method else \
            vars(owner).get("pytestmark") if owner is not None else None
        if marks is None:
            continue
        for mark in marks if isinstance(marks, list) else [marks]:
            if getattr(mark, "name", None) == "callflow":
                found.append((tuple(mark.args), dict(mark.kwargs)))
    return found


def iter_tests(suite: Any) -> Iterator[unittest.TestCase]:
    if isinstance(suite, unittest.TestSuite):
        for test in suite:
            yield from iter_tests(test)
    elif isinstance(suite, unittest.TestCase):
        yield suite


class _Session:
    """The gate's side of a run: judge each test, collect the results."""

    def __init__(self, settings: RunnerSettings) -> None:
        self.settings = settings
        self.store = store_mod.Store(settings.directory, settings.rootdir)
        self.results = SessionResults(settings, self.store, PYTHON)  # type: ignore[arg-type]
        self.judge = TestJudge(self.store, scope_mode=settings.scope_mode,
                               rootdir=settings.rootdir, python=PYTHON, update=settings.update,
                               require_baseline=settings.require_baseline)
        self.collected_modules: Set[str] = set()
        self.collected_tests: Set[Tuple[str, str]] = set()
        self.complete = True  # whole modules were loaded (discover), not single tests

    def new_session(self) -> "_native.Session":
        return new_test_session(self.settings.scope, self.settings.rootdir, RUNNER_MODULES)

    def collect(self, suite: Any) -> None:
        for test in iter_tests(suite):
            module, key = test_identity(test, self.settings.rootdir)
            if module is not None:
                self.collected_modules.add(module)
                self.collected_tests.add((module, key))


def _make_result_class(session: _Session) -> type:
    class CallflowResult(unittest.TextTestResult):
        """Traces each test between startTest and stopTest."""

        def startTest(self, test: unittest.TestCase) -> None:
            super().startTest(test)
            self._cf_marks = self._marks()
            recording = session.new_session()
            self._cf_session: Optional[_native.Session] = recording
            recording.start()  # last: nothing of ours is recorded

        def stopTest(self, test: unittest.TestCase) -> None:
            recording = getattr(self, "_cf_session", None)
            if recording is not None:
                recording.stop()  # first
                self._cf_session = None
                self._judge(test, recording)
            super().stopTest(test)

        def _marks(self) -> Tuple[int, ...]:
            return (len(self.failures), len(self.errors), len(self.skipped),
                    len(self.expectedFailures), len(self.unexpectedSuccesses))

        def _judge(self, test: unittest.TestCase, recording: "_native.Session") -> None:
            marks = self._marks()
            own_failed = marks[:2] != self._cf_marks[:2]
            if marks[2:4] != self._cf_marks[2:4]:
                return  # skipped or an expected failure: an unfinished run
            graph = CallGraph(recording.graph())
            module, key = test_identity(test, session.settings.rootdir)
            try:
                policy = session.settings.policy.with_marker(
                    gate.marker_overrides(_markers(test), test.id()))
            except gate.MarkerError:
                self.addError(test, sys.exc_info())  # type: ignore[arg-type]
                return
            verdict = session.judge.judge(module, key, graph, policy, own_passed=not own_failed)
            if verdict.records or verdict.fails:
                self.stream.write(f"\ncallflow: {test.id()}\n{verdict.section}\n")
                self.stream.flush()
            failed_here = False
            if verdict.fails and not own_failed:
                try:
                    raise CallflowRegression(f"{verdict.failure_text()}\n{verdict.section}")
                except CallflowRegression:
                    self.addFailure(test, sys.exc_info())  # type: ignore[arg-type]
                failed_here = True
            result = verdict.result
            result["outcome"] = "failed" if own_failed or failed_here else "passed"
            session.results.add(test.id() if module is None else f"{module}::{key}", result)

    return CallflowResult


def _finish(session: _Session, result: unittest.TestResult) -> int:
    session.results.finish(session.collected_modules, session.collected_tests,
                           set() if session.complete else set(session.collected_modules))
    out = sys.stderr

    def line(text: str = "", **_markup: bool) -> None:
        out.write(text + "\n")

    def sep(char: str, title: str) -> None:
        out.write(f" {title} ".center(70, char) + "\n")

    session.results.summary(line, sep, verbose=False)
    if session.results.failed_writes:
        return 1
    return 0 if result.wasSuccessful() else 1


def _complete(rest: Sequence[str]) -> bool:
    """Whether whole modules are loaded (discovery without -k), so that a
    baseline entry no test matches is unused."""
    if "-k" in rest:
        return False
    if rest and rest[0] == "discover":
        return True
    return not any(not arg.startswith("-") for arg in rest)


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    ns, rest = _parser().parse_known_args(list(args))
    rootdir = os.getcwd()
    if rootdir not in sys.path:
        sys.path.insert(0, rootdir)
    session = _Session(RunnerSettings(ns, rootdir))
    result_class = _make_result_class(session)

    class Runner(unittest.TextTestRunner):
        resultclass = result_class  # type: ignore[assignment]

    class Program(unittest.TestProgram):
        def runTests(self) -> None:
            session.collect(self.test)  # type: ignore[attr-defined]
            super().runTests()

    session.complete = _complete(rest)
    program = Program(module=None, argv=["python -m pytest_callflow.unittest", *rest],
                      testRunner=Runner, exit=False)
    return _finish(session, program.result)


if __name__ == "__main__":
    # Run from the command line: with a fixed hash seed, as the plugin (hashseed.py).
    hashseed.restart_module_with_fixed_seed("pytest_callflow.unittest")
    sys.exit(main())
