"""A non-recursive call tree doing measurable work."""

import time


def spin(n: int) -> int:
    x = 0
    for i in range(n):
        x += i * i
    return x


def branch_a() -> int:
    return spin(20000) + spin(10000)


def branch_b() -> int:
    return spin(30000)


def root_work() -> int:
    return branch_a() + branch_b() + spin(5000)


def nap(seconds: float) -> None:
    time.sleep(seconds)
