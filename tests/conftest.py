"""Shared fixtures of the pytest-callflow API suite.

Every test must leave the interpreter as it found it: the trace and profile
functions, the recursion limit and (3.12+) the sys.monitoring tool ids.  The
autouse fixture below checks that after each test, so a tracer that leaks a
hook fails the test that leaked it."""

import os
import sys
from typing import Callable, Iterator, Optional, Tuple

import pytest

pytest_plugins = ["pytester"]

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

# The helper programs are imported as the package ``programs`` (and the
# helpers as ``cfutil``) whatever --import-mode is used.
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)


def _monitoring_tools() -> Tuple[Optional[str], ...]:
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        return ()
    return tuple(monitoring.get_tool(i) for i in range(6))


@pytest.fixture(autouse=True)
def _interpreter_state_unchanged() -> Iterator[None]:
    before = (
        sys.gettrace(),
        sys.getprofile(),
        sys.getrecursionlimit(),
        _monitoring_tools(),
    )
    yield
    after = (
        sys.gettrace(),
        sys.getprofile(),
        sys.getrecursionlimit(),
        _monitoring_tools(),
    )
    assert after == before, "the test left a hook, limit or tool id behind"


@pytest.fixture
def recursion_limit() -> Iterator[Callable[[int], None]]:
    """Set the recursion limit for one test; the old one comes back after."""
    old = sys.getrecursionlimit()

    def set_limit(limit: int) -> None:
        sys.setrecursionlimit(limit)

    yield set_limit
    sys.setrecursionlimit(old)


@pytest.fixture
def in_tests_dir(monkeypatch: pytest.MonkeyPatch) -> str:
    """Make tests/ the current directory, so that scope="project" takes the
    helper programs (and these tests) as the project's own code."""
    monkeypatch.chdir(TESTS_DIR)
    return TESTS_DIR
