"""Project code that calls into the standard library."""

import json
from typing import Any, List


def encode_all(objs: List[Any]) -> List[str]:
    out = []
    for o in objs:
        out.append(json.dumps(o))
    return out


def fallback(o: Any) -> str:
    return "<{}>".format(type(o).__name__)


def encode_odd(objs: List[Any]) -> List[str]:
    """json calls fallback() back for every object it cannot encode."""
    out = []
    for o in objs:
        out.append(json.dumps(o, default=fallback))
    return out
