"""A second module, out of scope in the prefix and exclude tests."""

from typing import Callable


def deep(x: int) -> int:
    return x - 1


def helper(n: int) -> int:
    total = 0
    for i in range(n):
        total += deep(i)
    return total


def call_back(fn: Callable[[int], int], n: int) -> int:
    total = 0
    for i in range(n):
        total += fn(i)
    return total
