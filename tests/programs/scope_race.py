"""Scopes opened and closed on one thread while another runs an event loop
that keeps starting and cancelling tasks: a coroutine's start asks asyncio
which task runs, which may let the first thread run and stop the scope the
start is being recorded in.  Run as a script (a crash must not take the
test run with it): ``python -m programs.scope_race SECONDS plain|builtins``."""
import asyncio
import sys
import threading
import time
from typing import List

from pytest_callflow import trace_scope


async def victim() -> None:
    await asyncio.sleep(10)


async def churn(stop: List[int]) -> int:
    rounds = 0
    while not stop:
        tasks = [asyncio.create_task(victim()) for _ in range(20)]
        await asyncio.sleep(0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        rounds += 1
    return rounds


def main(seconds: float, builtins: bool) -> None:
    sys.setswitchinterval(1e-5)
    opened = 0
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
            opened += 1
    print("opened", opened)


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2] == "builtins")
