"""A generated program of N functions, for the report's scale check
(tests/browser and bench/html_load.py): a random call tree (depth about
20) over ``modules`` modules, with shared leaf helpers, some loops, some
recursion and a few cross calls, so that its graph, context tree and
flame graph look like a large application's.  Deterministic for a seed."""

import random
import sys
import types
from typing import Callable, Dict, List


def build(n_functions: int = 5000, *, modules: int = 50, seed: int = 7,
          package: str = "bigapp") -> Callable[[], None]:
    """Define the program's modules (``package.m0`` ...) and return its
    entry point ``f0``."""
    if n_functions < 50:
        raise ValueError(f"n_functions: expected at least 50, got {n_functions}")
    rng = random.Random(seed)
    helpers = max(10, n_functions // 125)
    tree_n = n_functions - helpers
    children: List[List[int]] = [[] for _ in range(tree_n)]
    for i in range(1, tree_n):
        children[rng.randrange(max(0, i - 400), i)].append(i)
    leaves = [i for i in range(tree_n) if not children[i]]
    bodies: Dict[int, List[str]] = {}
    for i in range(tree_n):
        lines = []
        for c in children[i]:
            call = f"f{c}()"
            lines.append(f"for _ in range(2): {call}" if rng.random() < 0.08 else call)
        if rng.random() < 0.25:
            lines.append(f"h{rng.randrange(helpers)}()")
        if rng.random() < 0.03:
            lines.append(f"f{rng.choice(leaves)}()")
        if rng.random() < 0.02:
            lines.append(f"if d < 2: f{i}(d + 1)")
        bodies[i] = lines or ["pass"]
    sources: List[List[str]] = [[] for _ in range(modules)]
    for i in range(tree_n):
        sources[i % modules].append(f"def f{i}(d=0):\n" +
                                    "".join(f"    {line}\n" for line in bodies[i]))
    for k in range(helpers):
        sources[k % modules].append(f"def h{k}():\n    return sum(range({k % 7 + 1}))\n")
    namespace: Dict[str, object] = {}
    made = []
    for m, parts in enumerate(sources):
        name = f"{package}.m{m}"
        module = types.ModuleType(name)
        module.__file__ = f"{package}/m{m}.py"
        code = compile("\n".join(parts), module.__file__, "exec")
        exec(code, module.__dict__)
        sys.modules[name] = module
        made.append(module)
        namespace.update({k: v for k, v in module.__dict__.items() if k[0] in "fh"})
    for module in made:  # every function calls the others by global name
        for key, value in namespace.items():
            module.__dict__.setdefault(key, value)
    return namespace["f0"]  # type: ignore[return-value]
