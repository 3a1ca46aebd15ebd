"""Code measured by coverage.py while the tracer runs."""


def branchy(x: int) -> str:
    if x > 0:
        return "pos"  # LINE:pos
    return "neg"  # LINE:neg


def other_branchy(x: int) -> str:
    if x > 0:
        return "pos"  # LINE:other-pos
    return "neg"  # LINE:other-neg


def apply(fn, x):  # type: ignore[no-untyped-def]
    return fn(x)
