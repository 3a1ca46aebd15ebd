"""Calls into programs.other and is called back from it."""

from . import other


def local(x: int) -> int:
    return x + 1


def cb(x: int) -> int:
    return x * 3


def top(n: int) -> int:
    total = 0
    for i in range(n):
        total += local(i)
    total += other.helper(n)
    total += other.call_back(cb, n)
    return total
