"""Recursive programs whose exact call counts are known."""

from typing import List


def fib(n: int) -> int:
    """fib(n) makes 2*F(n+1)-1 calls of itself: 21891 for n=20."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def is_even(n: int) -> bool:
    return True if n == 0 else is_odd(n - 1)


def is_odd(n: int) -> bool:
    return False if n == 0 else is_even(n - 1)


def countdown(n: int) -> int:
    """n+1 calls, n+1 frames deep."""
    return 0 if n == 0 else 1 + countdown(n - 1)


def probe(box: List[int], depth: int) -> None:
    """Recurse until RecursionError, noting the deepest frame that ran."""
    box[0] = depth
    probe(box, depth + 1)


def max_depth() -> int:
    box = [0]
    try:
        probe(box, 1)
    except RecursionError:
        pass
    return box[0]
