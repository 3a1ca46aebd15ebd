"""Whole-suite cost and stability of `pytest --callflow`.

    PYTHON bench/suite.py [--quick] [--tests N] [--rounds N] [--reruns N]
                          [--json PATH] [--check] [--keep]

1. Generates, in a temporary directory, a small library (loops, classes,
   recursion, comprehensions, json) and a suite of pure-Python tests over it:
   most tests tiny, the rest doing roughly 1-10 ms of work each.
2. Records baselines with `pytest --callflow --callflow-update`.
3. Times, alternating in the same run, `pytest -q -p no:cacheprovider` against
   the same with `--callflow` (subprocesses of this interpreter, wall clock),
   and reports the median of the per-round ratios (target <= 1.3x).
4. Stability: reruns `pytest --callflow --callflow-json=...` and counts the
   findings of any verdict across all runs; calls are deterministic, so the
   target is 0.

--quick: 50 tests, 2 rounds, 3 reruns (a smoke run, not a measurement).
--isolated: load no other pytest plugin than pytest-callflow on either side
(PYTEST_DISABLE_PLUGIN_AUTOLOAD); by default whatever the environment has
installed (pytest-xdist, pytest-asyncio, ...) loads on both sides, as in a
real project, which makes the plain runs slower and the ratio smaller.
--check: exit 1 when a target is missed.  Exit 2 when a pytest run fails,
since its timing would mean nothing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

RATIO_TARGET = 1.3
FINDINGS_TARGET = 0
LIB = "benchlib"
TESTS_PER_MODULE = 20
WORK_SHARE = 0.4  # share of tests doing ~1-10 ms of work; the rest are tiny

# ---------------------------------------------------------------------------
# the generated library

LIBRARY: Dict[str, str] = {
    "__init__.py": '"""A small library for the suite benchmark."""\n',
    "loops.py": '''
        def checksum(data):
            total = 0
            for index, byte in enumerate(data):
                total = (total * 31 + byte + index) & 0xFFFFFFFF
            return total


        def primes_below(limit):
            sieve = bytearray([1]) * limit
            sieve[:2] = b"\\0\\0"
            for n in range(2, int(limit ** 0.5) + 1):
                if sieve[n]:
                    sieve[n * n::n] = bytes(len(range(n * n, limit, n)))
            return [n for n, flag in enumerate(sieve) if flag]


        def collatz_steps(n):
            steps = 0
            while n != 1:
                n = n // 2 if n % 2 == 0 else 3 * n + 1
                steps += 1
            return steps


        def longest_collatz(limit):
            best, best_steps = 1, 0
            for n in range(1, limit):
                steps = collatz_steps(n)
                if steps > best_steps:
                    best, best_steps = n, steps
            return best
    ''',
    "shapes.py": '''
        import math


        class Vec:
            __slots__ = ("x", "y")

            def __init__(self, x, y):
                self.x = x
                self.y = y

            def __add__(self, other):
                return Vec(self.x + other.x, self.y + other.y)

            def __sub__(self, other):
                return Vec(self.x - other.x, self.y - other.y)

            def cross(self, other):
                return self.x * other.y - self.y * other.x

            def length(self):
                return math.hypot(self.x, self.y)


        class Polygon:
            def __init__(self, points):
                self.points = [Vec(x, y) for x, y in points]

            def edges(self):
                for i, a in enumerate(self.points):
                    yield a, self.points[(i + 1) % len(self.points)]

            def area(self):
                return abs(sum(a.cross(b) for a, b in self.edges())) / 2

            def perimeter(self):
                return sum((b - a).length() for a, b in self.edges())


        def regular_polygon(sides, radius=1.0):
            step = 2 * math.pi / sides
            return Polygon([(radius * math.cos(i * step), radius * math.sin(i * step))
                            for i in range(sides)])


        class Ledger:
            def __init__(self):
                self.entries = []

            def post(self, amount):
                if amount == 0:
                    raise ValueError("empty entry")
                self.entries.append(amount)

            def balance(self):
                return sum(self.entries)


        def run_ledger(n):
            ledger = Ledger()
            for i in range(1, n + 1):
                ledger.post(i if i % 3 else -i)
            return ledger.balance()
    ''',
    "recur.py": '''
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)


        def hanoi(n, source="a", target="c", spare="b"):
            if n == 0:
                return 0
            return hanoi(n - 1, source, spare, target) + 1 + hanoi(n - 1, spare, target, source)


        def build_tree(depth, width):
            if depth == 0:
                return depth
            return [build_tree(depth - 1, width) for _ in range(width)]


        def count_leaves(tree):
            if not isinstance(tree, list):
                return 1
            return sum(count_leaves(child) for child in tree)
    ''',
    "comp.py": '''
        def word_histogram(text):
            words = [w.strip(".,").lower() for w in text.split()]
            return {w: words.count(w) for w in sorted(set(words))}


        def make_matrix(n, seed=1):
            return [[(seed * (i + 1) * (j + 3)) % 17 for j in range(n)] for i in range(n)]


        def transpose(matrix):
            return [list(row) for row in zip(*matrix)]


        def matmul(a, b):
            columns = transpose(b)
            return [[sum(x * y for x, y in zip(row, col)) for col in columns] for row in a]


        def trace(matrix):
            return sum(matrix[i][i] for i in range(len(matrix)))
    ''',
    "codec.py": '''
        import json


        def make_records(n):
            return [{"id": i, "name": f"item-{i}", "price": round(i * 1.25, 2),
                     "tags": [f"t{i % 7}", f"g{i % 3}"]} for i in range(n)]


        def roundtrip(records):
            return json.loads(json.dumps(records, sort_keys=True))


        def digest(records):
            return sum(r["id"] * len(r["tags"]) for r in records) + len(records)
    ''',
}

TEXT = "The quick brown fox jumps over the lazy dog. The dog sleeps, the fox runs."


class Kind(NamedTuple):
    module: str
    expr: str  # evaluated with `param` bound; its value becomes the expected literal
    params: Callable[[random.Random], Any]


TINY: List[Kind] = [
    Kind("loops", "checksum({param!r})", lambda r: bytes(r.randrange(256) for _ in range(r.randint(3, 12)))),
    Kind("loops", "collatz_steps({param})", lambda r: r.randint(2, 500)),
    Kind("shapes", "(Vec({param}, 2) + Vec(1, {param})).cross(Vec(3, 4))", lambda r: r.randint(-50, 50)),
    Kind("shapes", "run_ledger({param})", lambda r: r.randint(1, 12)),
    Kind("recur", "fib({param})", lambda r: r.randint(0, 10)),
    Kind("recur", "count_leaves(build_tree(2, {param}))", lambda r: r.randint(1, 4)),
    Kind("comp", "word_histogram(TEXT)[{param!r}]", lambda r: r.choice(["the", "fox", "dog", "lazy"])),
    Kind("comp", "trace(make_matrix({param}))", lambda r: r.randint(2, 5)),
    Kind("codec", "digest(roundtrip(make_records({param})))", lambda r: r.randint(1, 5)),
]

# Sizes chosen for roughly 1-10 ms per test (untraced, one current x86 core).
WORK: List[Kind] = [
    Kind("loops", "checksum(bytes(range(256)) * {param})", lambda r: r.randint(40, 180)),
    Kind("loops", "len(primes_below({param}))", lambda r: r.randint(30_000, 150_000)),
    Kind("loops", "longest_collatz({param})", lambda r: r.randint(400, 1600)),
    Kind("shapes", "round(regular_polygon({param}).perimeter(), 6)", lambda r: r.randint(1000, 8000)),
    Kind("shapes", "run_ledger({param})", lambda r: r.randint(10_000, 60_000)),
    Kind("recur", "fib({param})", lambda r: r.randint(19, 24)),
    Kind("recur", "hanoi({param})", lambda r: r.randint(12, 16)),
    Kind("recur", "count_leaves(build_tree({param}, 4))", lambda r: r.randint(6, 7)),
    Kind("comp", "trace(matmul(make_matrix({param}), make_matrix({param}, 3)))", lambda r: r.randint(20, 40)),
    Kind("codec", "digest(roundtrip(make_records({param})))", lambda r: r.randint(300, 2500)),
]

IMPORTS = "".join(
    f"from {LIB}.{mod} import *  # noqa: F401,F403\n" for mod in ("loops", "shapes", "recur", "comp", "codec")
)


def write_library(root: str) -> None:
    package = os.path.join(root, LIB)
    os.makedirs(package)
    for name, source in LIBRARY.items():
        with open(os.path.join(package, name), "w", encoding="utf-8") as fh:
            fh.write(textwrap.dedent(source).lstrip("\n"))


def load_library(root: str) -> Dict[str, Any]:
    """The generated library's names, imported here to compute expected values."""
    sys.path.insert(0, root)
    try:
        namespace: Dict[str, Any] = {"TEXT": TEXT}
        for mod in ("loops", "shapes", "recur", "comp", "codec"):
            module = importlib.import_module(f"{LIB}.{mod}")
            namespace.update({k: v for k, v in vars(module).items() if not k.startswith("_")})
        return namespace
    finally:
        sys.path.remove(root)
        for name in [m for m in sys.modules if m == LIB or m.startswith(LIB + ".")]:
            del sys.modules[name]


def write_suite(root: str, n_tests: int, seed: int) -> Tuple[int, int]:
    """The library, the tests and a pytest.ini; returns (tiny, working) counts."""
    write_library(root)
    namespace = load_library(root)
    rng = random.Random(seed)
    tests_dir = os.path.join(root, "tests")
    os.makedirs(tests_dir)
    with open(os.path.join(root, "pytest.ini"), "w", encoding="utf-8") as fh:
        fh.write("[pytest]\npythonpath = .\ntestpaths = tests\n")
    counts = [0, 0]
    for start in range(0, n_tests, TESTS_PER_MODULE):
        index = start // TESTS_PER_MODULE
        in_class = index % 4 == 3  # every fourth module groups its tests in a class
        lines = [f'"""Generated tests, module {index}."""\n', IMPORTS, f"TEXT = {TEXT!r}\n"]
        if in_class:
            lines.append(f"\n\nclass TestGroup{index}:\n")
        for number in range(start, min(start + TESTS_PER_MODULE, n_tests)):
            working = rng.random() < WORK_SHARE
            counts[working] += 1
            kind = rng.choice(WORK if working else TINY)
            expr = kind.expr.format(param=kind.params(rng))
            expected = eval(expr, namespace)  # noqa: S307 - our own generated expression
            name = f"test_{kind.module}_{'work' if working else 'tiny'}_{number}"
            body = f"def {name}({'self' if in_class else ''}):\n    assert {expr} == {expected!r}\n"
            lines.append(("\n" + textwrap.indent(body, "    ")) if in_class else "\n\n" + body)
        with open(os.path.join(tests_dir, f"test_gen_{index:03d}.py"), "w", encoding="utf-8") as fh:
            fh.write("".join(lines))
    return counts[0], counts[1]


# ---------------------------------------------------------------------------
# running pytest


class Run(NamedTuple):
    seconds: float
    code: int
    output: str


ISOLATED = False  # set from --isolated


def pytest_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)  # a developer's defaults would skew one side
    if ISOLATED:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    else:
        env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    return env


def installed_plugins() -> List[str]:
    """The pytest11 entry points of this interpreter's environment: the
    plugins every pytest subprocess loads unless --isolated."""
    from importlib import metadata

    eps = metadata.entry_points()
    group = eps.select(group="pytest11") if hasattr(eps, "select") else eps.get("pytest11", [])
    return sorted({ep.name for ep in group})


def run_pytest(root: str, extra: Sequence[str]) -> Run:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if ISOLATED:
        cmd += ["-p", "pytest_callflow.plugin"]  # the only plugin loaded, on both sides
    cmd += extra
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=pytest_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    return Run(time.perf_counter() - start, proc.returncode, proc.stdout)


def require_ok(run: Run, what: str) -> None:
    if run.code != 0:
        tail = "\n".join(run.output.rstrip().splitlines()[-30:])
        print(f"suite: `pytest {what}` exited {run.code}; its output ends:\n{tail}", file=sys.stderr)
        sys.exit(2)


def count_findings(doc: Dict[str, Any]) -> Tuple[int, Dict[str, int]]:
    """Findings of any verdict in a --callflow-json document, and the verdict
    counts of its tests."""
    tests = doc.get("tests", {})
    entries = tests.values() if isinstance(tests, dict) else tests
    findings = 0
    verdicts: Dict[str, int] = {}
    for entry in entries:
        findings += len(entry.get("findings") or ())
        verdict = str(entry.get("verdict"))
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    return findings, verdicts


# ---------------------------------------------------------------------------


def measure(args: argparse.Namespace, root: str) -> Dict[str, Any]:
    tiny, working = write_suite(root, args.tests, args.seed)
    plugins = ["callflow"] if ISOLATED else installed_plugins()
    print(f"suite: {args.tests} generated tests ({tiny} tiny, {working} doing ~1-10 ms), "
          f"Python {sys.version.split()[0]}, in {root}")
    print(f"suite: pytest plugins loaded on both sides: {', '.join(plugins) or 'none'}"
          f"{' (--isolated)' if ISOLATED else ''}")
    require_ok(run_pytest(root, []), "(warm-up)")  # also writes the .pyc files
    update = run_pytest(root, ["--callflow", "--callflow-update"])
    require_ok(update, "--callflow --callflow-update")

    plain: List[float] = []
    traced: List[float] = []
    ratios: List[float] = []
    for round_no in range(args.rounds):
        # Alternate which side goes first so a drifting machine favours neither.
        order = [False, True] if round_no % 2 == 0 else [True, False]
        times: Dict[bool, float] = {}
        for with_callflow in order:
            run = run_pytest(root, ["--callflow"] if with_callflow else [])
            require_ok(run, "--callflow" if with_callflow else "(plain)")
            times[with_callflow] = run.seconds
        plain.append(times[False])
        traced.append(times[True])
        ratios.append(times[True] / times[False])
        print(f"  round {round_no + 1}: plain {times[False]:.2f} s, --callflow {times[True]:.2f} s, "
              f"ratio {ratios[-1]:.2f}")

    findings_total = 0
    runs_with_findings = 0
    verdicts: Dict[str, int] = {}
    report = os.path.join(root, "callflow.json")
    for _ in range(args.reruns):
        run = run_pytest(root, ["--callflow", f"--callflow-json={report}"])
        with open(report, encoding="utf-8") as fh:
            found, seen = count_findings(json.load(fh))
        findings_total += found
        runs_with_findings += found > 0
        for verdict, count in seen.items():
            verdicts[verdict] = verdicts.get(verdict, 0) + count
        if run.code != 0 and found == 0:
            require_ok(run, f"--callflow --callflow-json={report}")

    ratio = statistics.median(ratios)
    return {
        "python": sys.version.split()[0],
        "plugins": plugins,
        "tests": args.tests,
        "tiny_tests": tiny,
        "working_tests": working,
        "rounds": args.rounds,
        "plain_seconds": plain,
        "callflow_seconds": traced,
        "ratios": ratios,
        "median_ratio": ratio,
        "ratio_target": RATIO_TARGET,
        "ratio_ok": ratio <= RATIO_TARGET,
        "reruns": args.reruns,
        "findings": findings_total,
        "runs_with_findings": runs_with_findings,
        "verdicts": verdicts,
        "findings_target": FINDINGS_TARGET,
        "findings_ok": findings_total <= FINDINGS_TARGET,
    }


def print_report(result: Dict[str, Any]) -> None:
    mark = {True: "PASS", False: "FAIL"}
    print(f"median ratio pytest --callflow / pytest: {result['median_ratio']:.3f}x "
          f"(target <= {RATIO_TARGET}x) {mark[result['ratio_ok']]}   "
          f"[plain median {statistics.median(result['plain_seconds']):.2f} s, "
          f"--callflow median {statistics.median(result['callflow_seconds']):.2f} s, "
          f"{result['rounds']} rounds]")
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(result["verdicts"].items()))
    print(f"stability: {result['findings']} findings in {result['reruns']} reruns of "
          f"pytest --callflow after --callflow-update (target {FINDINGS_TARGET}) "
          f"{mark[result['findings_ok']]}   [test verdicts: {verdicts}]")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="suite.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 tests, 2 rounds, 3 reruns")
    parser.add_argument("--tests", type=int, help="generated tests (default 500)")
    parser.add_argument("--rounds", type=int, help="timing rounds per side (default 5, at least 5)")
    parser.add_argument("--reruns", type=int, help="stability reruns (default 20)")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the generated suite")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the generated suite")
    parser.add_argument("--isolated", action="store_true",
                        help="load no pytest plugin but pytest-callflow on either side")
    args = parser.parse_args(argv)
    global ISOLATED
    ISOLATED = args.isolated
    defaults = (50, 2, 3) if args.quick else (500, 5, 20)
    args.tests = args.tests if args.tests is not None else defaults[0]
    args.rounds = args.rounds if args.rounds is not None else defaults[1]
    args.reruns = args.reruns if args.reruns is not None else defaults[2]
    if args.tests < 1 or args.reruns < 0 or args.rounds < (1 if args.quick else 5):
        parser.error("--tests must be >= 1, --reruns >= 0, --rounds >= 5 (>= 1 with --quick)")

    root = tempfile.mkdtemp(prefix="callflow-suite-")
    try:
        result = measure(args, root)
    finally:
        if args.keep:
            print(f"suite: kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print_report(result)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, sort_keys=True)
    return 1 if args.check and not (result["ratio_ok"] and result["findings_ok"]) else 0


if __name__ == "__main__":
    sys.exit(main())
