"""The ``callflow_leaks`` marker and the policy a test is checked under
(runs, warm-up, allowed growth, ignored types), validated once per test."""

from typing import Any, Dict, Mapping, Optional, Sequence

import pytest

MARKER = "callflow_leaks"
MARKER_HELP = (f"{MARKER}(runs=5, warmup=2, max_growth=0, ignore_types=[names or types]): "
               "run the test's call repeatedly and fail it when objects, threads or tasks "
               "pile up (works without --callflow-leaks)")

_POLICY = pytest.StashKey[Optional["LeakPolicy"]]()


class LeakMarkerError(Exception):
    """A ``callflow_leaks`` marker with an unknown argument or a wrong value."""


class LeakPolicy:
    __slots__ = ("runs", "warmup", "max_growth", "ignore_types")

    def __init__(self, runs: int = 5, warmup: int = 2, max_growth: int = 0,
                 ignore_types: Sequence[str] = ()) -> None:
        self.runs = runs
        self.warmup = warmup
        self.max_growth = max_growth
        self.ignore_types = list(ignore_types)

    def replace(self, **changes: Any) -> "LeakPolicy":
        values = {k: getattr(self, k) for k in self.__slots__}
        values.update(changes)
        return LeakPolicy(**values)


def type_name(cls: type) -> str:
    """A type's name as the census and ``ignore_types`` give it: ``module.qualname``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _count(value: Any, key: str, low: int, test: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise LeakMarkerError(f"{test}: @pytest.mark.{MARKER}({key}=...) must be an integer "
                              f">= {low}, got {value!r}")
    return value


def check_marker(args: Sequence[Any], kwargs: Mapping[str, Any], test: str) -> Dict[str, Any]:
    """The validated arguments of one ``callflow_leaks`` marker."""
    if args:
        raise LeakMarkerError(f"{test}: @pytest.mark.{MARKER} takes keyword arguments only "
                              f"(runs, warmup, max_growth, ignore_types), got {args!r}")
    unknown = sorted(set(kwargs) - set(LeakPolicy.__slots__))
    if unknown:
        raise LeakMarkerError(f"{test}: unknown @pytest.mark.{MARKER} argument"
                              f"{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                              f"(known: {', '.join(LeakPolicy.__slots__)})")
    out: Dict[str, Any] = {}
    for key, low in (("runs", 1), ("warmup", 0), ("max_growth", 0)):
        if key in kwargs:
            out[key] = _count(kwargs[key], key, low, test)
    if "ignore_types" in kwargs:
        names = kwargs["ignore_types"]
        if isinstance(names, (str, type)) or not isinstance(names, (list, tuple, set)):
            names = [names]
        out["ignore_types"] = []
        for n in names:
            if isinstance(n, type):
                out["ignore_types"].append(type_name(n))
            elif isinstance(n, str) and n:
                out["ignore_types"].append(n)
            else:
                raise LeakMarkerError(f"{test}: @pytest.mark.{MARKER}(ignore_types=...) takes "
                                      f"type names or types, got {n!r}")
    return out


def marker_policy(item: pytest.Item, defaults: LeakPolicy, check_all: bool) -> Optional[LeakPolicy]:
    """The policy ``item`` is checked under, None when it is not checked
    (LeakMarkerError for a wrong marker); computed once per item."""
    if _POLICY in item.stash:
        return item.stash[_POLICY]
    policy: Optional[LeakPolicy] = defaults if check_all else None
    markers = list(item.iter_markers(name=MARKER))
    for m in reversed(markers):  # the closest marker wins per argument
        policy = (policy or defaults).replace(**check_marker(m.args, m.kwargs, item.nodeid))
    item.stash[_POLICY] = policy
    return policy
