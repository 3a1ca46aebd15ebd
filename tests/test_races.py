"""Sessions started and stopped on several threads at once, where the
tracer runs Python code (asking asyncio which task runs, naming a
function, installing the profile hook)
and another thread may run meanwhile.  Each race runs in a subprocess
(tests/programs/session_races.py): a crash fails the test, not the run."""

import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))


def race(kind: str, seconds: float = 1.5) -> "tuple[int, int]":
    done = subprocess.run([sys.executable, "-m", "programs.session_races", kind, str(seconds)],
                          capture_output=True, text=True, timeout=120, cwd=TESTS)
    assert done.returncode == 0, f"rc {done.returncode}: {done.stderr[-2000:]}"
    rounds, orphaned = map(int, done.stdout.split())
    return rounds, orphaned


@pytest.mark.parametrize("kind", ["tasks", "tasks-builtins"])
def test_scopes_closed_while_another_thread_starts_tasks(kind: str) -> None:
    # Before the fix: a segfault within a second on 3.10 and 3.11 (both
    # hooks; builtins=True takes the profile hook there).
    rounds, _ = race(kind)
    assert rounds > 10


def test_a_return_named_while_another_thread_stops_a_session() -> None:
    # Before the fix: a segfault within a quarter second on 3.12 and 3.13.
    rounds, _ = race("return")
    assert rounds > 10


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the profile backend is 3.9-3.11")
def test_two_threads_starting_the_first_sessions_get_a_slot_each() -> None:
    # Before the fix: a few sessions in a thousand left running after stop().
    rounds, orphaned = race("start", 2.0)
    assert rounds > 10 and orphaned == 0
