"""A program that calls C functions (builtins, math, bound str methods)."""

import math
from typing import Iterable, List


def longest_first(words: Iterable[str]) -> List[str]:
    return sorted(words, key=lambda w: -len(w))


def report(xs: Iterable[int]) -> str:
    total = sum(len(str(x)) for x in xs)
    return ",".join(longest_first(map(str, xs))) + f" {math.sqrt(total):.1f}"


def safe_sqrt(values: Iterable[float]) -> List[float]:
    out = []
    for v in values:
        try:
            out.append(math.sqrt(v))
        except ValueError:
            out.append(float("nan"))
    return out
