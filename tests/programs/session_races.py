"""Sessions started and stopped on several threads at once.  Run as a
script (a crash must not take the test run with it):
``python -m programs.session_races return|start SECONDS``.

return: a thread starts two sessions in a function the tracer has never
seen and returns from it while the main thread stops one; the return
names the function first (Python code, during which the main thread
runs).  start: two threads start the first sessions of the profile
backend at once; installing it runs Python code.  Prints how many rounds
ran and how many sessions were left running after their stop."""

import os
import sys
import threading
import time
from typing import Any, Dict, List

from pytest_callflow import _native


def session(backend: Any = None) -> "_native.Session":
    return _native.Session(scope="all", root=os.getcwd(), include=None, exclude=None,
                           node_cap=1 << 16, backend=backend)


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
    {"return": return_race, "start": start_race}[sys.argv[1]](float(sys.argv[2]))
