"""Exceptions raised through several frames."""

from typing import List


class Boom(Exception):
    pass


def level1(exc: BaseException) -> None:
    level2(exc)


def level2(exc: BaseException) -> None:
    level3(exc)


def level3(exc: BaseException) -> None:
    raise exc


def cleanup(log: List[str]) -> None:
    log.append("cleanup")


def with_finally(exc: BaseException, log: List[str]) -> None:
    try:
        level1(exc)
    finally:
        cleanup(log)


def swallow(n: int) -> int:
    """Call level3 n times, catching each exception."""
    caught = 0
    for i in range(n):
        try:
            level3(Boom(i))
        except Boom:
            caught += 1
    return caught
