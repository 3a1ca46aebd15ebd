"""Work spread over threads."""

import threading
from typing import List


def leaf(x: int) -> int:
    return x * 2


def work(n: int) -> int:
    total = 0
    for i in range(n):
        total += leaf(i)
    return total


def run_threads(nthreads: int, n: int) -> List[int]:
    """Run work(n) in nthreads threads at once; return their results."""
    results = [0] * nthreads
    barrier = threading.Barrier(nthreads)

    def body(slot: int) -> None:
        barrier.wait()
        results[slot] = work(n)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
