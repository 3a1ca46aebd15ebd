"""No false alarms: a clean suite of 200 varied tests run under
``pytest --callflow-leaks`` N times (default 10) must give zero leak
verdicts.  Prints the number of leak verdicts (target 0) and the time.

    python bench/leaks_stability.py [--reruns 10] [--tests 200] [-n WORKERS]"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import List

# Ten kinds of clean test body, each parametrized to make the suite varied.
BODIES = [
    "items = [Entry(i) for i in range({n} * 10)]\n    assert len(items) == {n} * 10",
    "assert cached({n} % 7) == ({n} % 7) ** 2",
    "d = {{str(i): [i] * 3 for i in range({n})}}\n    assert len(d) == {n}",
    "s = sys.intern('name-%d' % {n})\n    assert s.startswith('name')",
    "a, b = Node(), Node()\n    a.other, b.other = b, a\n    assert a.other is b",
    "t = threading.Thread(target=lambda: None)\n    t.start()\n    t.join()",
    "assert asyncio.run(work({n})) == {n}",
    "assert json.loads(json.dumps({{'k': [{n}, 'x', 1.5]}}))['k'][0] == {n}",
    "import colorsys\n    assert colorsys.rgb_to_hsv(0, 0, {n} % 2)[2] == {n} % 2",
    "assert re.match(r'a+\\d', 'aaa%d' % {n})",
]

HEADER = '''
import asyncio
import functools
import json
import re
import sys
import threading


class Entry:
    def __init__(self, i):
        self.i = i


class Node:
    other = None


@functools.lru_cache(maxsize=None)
def cached(n):
    return n * n


async def work(n):
    await asyncio.sleep(0)
    return n
'''


def write_suite(root: str, tests: int) -> None:
    per_file = 20
    for f in range(0, tests, per_file):
        body = [HEADER]
        for n in range(f, min(f + per_file, tests)):
            code = BODIES[n % len(BODIES)].format(n=n)
            body.append(f"\ndef test_{n}():\n    {code}\n")
        with open(os.path.join(root, f"test_clean_{f // per_file:02d}.py"), "w") as out:
            out.write("".join(body))


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reruns", type=int, default=10)
    ap.add_argument("--tests", type=int, default=200)
    ap.add_argument("-n", dest="workers", default=None, help="pytest-xdist workers")
    args = ap.parse_args(argv)
    verdicts = 0
    checked = 0
    with tempfile.TemporaryDirectory(prefix="callflow-leaks-") as root:
        write_suite(root, args.tests)
        started = time.perf_counter()
        for rerun in range(args.reruns):
            out = os.path.join(root, f"run{rerun}.json")
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "--callflow-leaks", f"--callflow-json={out}", root]
            if args.workers:
                cmd += ["-n", args.workers]
            proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
            with open(out, encoding="utf-8") as f:
                leaks = json.load(f)["leaks"]
            bad = {n: v for n, v in leaks.items() if v["verdict"] != "clean"}
            checked += len(leaks)
            verdicts += len(bad)
            for nodeid, v in sorted(bad.items()):
                print(f"  run {rerun + 1}: {nodeid}: {v['verdict']}: "
                      f"{(v['problems'] or ['?'])[0]}", file=sys.stderr)
            if proc.returncode not in (0, 1):
                print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                return 2
        elapsed = time.perf_counter() - started
    print(f"leak verdicts on a clean suite of {args.tests} tests in {args.reruns} reruns: "
          f"{verdicts} (target 0); {checked} checks, {elapsed / args.reruns:.1f} s per run")
    return 0 if verdicts == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
