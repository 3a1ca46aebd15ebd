"""Sessions started and stopped on several threads at once.  Run as a
script (a crash must not take the test run with it):
``python -m programs.session_races tasks|tasks-builtins|return|start SECONDS``.

tasks: scopes opened and closed on one thread while another runs an event
loop that keeps starting and cancelling tasks; a coroutine's start asks
asyncio which task runs, which may let the first thread run and stop the
scope the start is being recorded in (tasks-builtins: under the profile
hook before 3.12).

return: a thread starts two sessions in a function the tracer has never
seen and returns from it while the main thread stops one; the return
names the function first (Python code, during which the main thread
runs).  start: two threads start the first sessions of the profile
backend at once; installing it runs Python code.  Prints how many rounds
ran and how many sessions were left running after their stop."""

import asyncio
import os
import sys
import threading
import time
from typing import Any, Dict, List

from pytest_callflow import _native, trace_scope


def session(backend: Any = None) -> "_native.Session":
    return _native.Session(scope="all", root=os.getcwd(), include=None, exclude=None,
                           node_cap=1 << 16, backend=backend)


async def victim() -> None:
    await asyncio.sleep(10)


async def churn(stop: List[int]) -> None:
    while not stop:
        tasks = [asyncio.create_task(victim()) for _ in range(20)]
        await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def tasks_race(seconds: float, builtins: bool = False) -> None:
    rounds = 0
    with trace_scope(scope="project", builtins=builtins):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            stop: List[int] = []
            loop_thread = threading.Thread(target=lambda: asyncio.run(churn(stop)))
            inner = trace_scope(scope="project", builtins=builtins)
            inner.__enter__()
            loop_thread.start()
            time.sleep(0.005)
            inner.__exit__(None, None, None)
            del inner
            stop.append(1)
            loop_thread.join()
            rounds += 1
    print(rounds, 0)


def return_race(seconds: float) -> None:
    rounds = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shared: Dict[str, Any] = {"a": session(), "b": session(), "started": []}
        space: Dict[str, Any] = {}
        # A fresh code object each round: its return needs the namer.
        exec(compile(f"def opens_{rounds}(shared):\n"
                     "    shared['a'].start()\n"
                     "    shared['b'].start()\n"
                     "    shared['started'].append(1)\n"
                     "    return 1\n", f"<round {rounds}>", "exec"), space)
        thread = threading.Thread(target=space[f"opens_{rounds}"], args=(shared,))
        thread.start()
        while not shared["started"]:
            pass
        shared["b"].stop()
        thread.join()
        shared["a"].stop()
        rounds += 1
    print(rounds, 0)


def start_race(seconds: float) -> None:
    backend = "profile" if sys.version_info < (3, 12) else None
    rounds = orphaned = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pair: List[Any] = [session(backend), session(backend)]
        barrier = threading.Barrier(2)

        def start(s: Any) -> None:
            barrier.wait()
            s.start()

        threads = [threading.Thread(target=start, args=(s,)) for s in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for s in pair:
            s.stop()
        orphaned += sum(1 for s in pair if s.running)
        rounds += 1
    print(rounds, orphaned)


if __name__ == "__main__":
    sys.setswitchinterval(1e-6)
    races = {"tasks": tasks_race, "tasks-builtins": lambda s: tasks_race(s, builtins=True),
             "return": return_race, "start": start_race}
    races[sys.argv[1]](float(sys.argv[2]))
