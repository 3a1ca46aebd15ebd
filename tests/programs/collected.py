"""Programs whose garbage the collector finalizes while they run
(tests/test_collector.py)."""

import gc


class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it

    def __del__(self):
        finalize()


def finalize():
    return 1


def inner():
    return 2


def outer(depth):
    if depth:
        return outer(depth - 1)
    gc.collect()
    return inner()


class Reenter:
    """Its finalizer calls outer, which is running below the collection:
    outer's return there must not end the frame below."""

    def __init__(self):
        self.me = self

    def __del__(self):
        outer(0)


def suspended():
    try:
        yield 1
        yield 2
    finally:
        finalize()


def program():
    for _ in range(5):
        Node()
    gen = suspended()
    next(gen)
    box = [gen]
    box.append(box)  # the suspended generator in a cycle: closed by the collector
    del gen, box
    Reenter()
    return outer(2)
