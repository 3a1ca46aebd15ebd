"""Functions whose qualified names are easy to get wrong."""

import functools
from typing import Any, Callable


class Alpha:
    def run(self) -> int:
        return 1

    @staticmethod
    def make() -> "Alpha":
        return Alpha()

    @classmethod
    def build(cls) -> "Alpha":
        return cls()

    @property
    def value(self) -> int:
        return 2

    class Inner:
        def run(self) -> int:
            return 3


class Beta:
    def run(self) -> int:
        return 10


square = lambda x: x * x  # noqa: E731 - a module-level lambda on purpose


def make_adder(k: int) -> Callable[[int], int]:
    def add(x: int) -> int:
        return x + k

    return add


def make_scaler(k: int) -> Callable[[int], int]:
    return lambda x: x * k


def outer() -> int:
    def middle() -> int:
        def inner() -> int:
            return 1

        return inner()

    return middle()


def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


@deco
def decorated(x: int) -> int:
    return x + 1


def gen_total(n: int) -> int:
    return sum(i for i in range(n))


def local_class() -> int:
    class Local:
        def go(self) -> int:
            return 5

    return Local().go()


# Methods generated from strings (dataclasses, namedtuple) are named after
# their class, in this module.
import dataclasses  # noqa: E402
from collections import namedtuple  # noqa: E402


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@dataclasses.dataclass
class Point3(Point):
    z: int = 0


Pair = namedtuple("Pair", "left right")


def make_generated() -> bool:
    return Point(1) == Point(1) and Point3(1, 2, 3).z == 3 and Pair(1, 2).left == 1
