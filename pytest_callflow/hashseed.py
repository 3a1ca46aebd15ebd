"""A fixed hash seed for traced runs.

Python randomises the hashes of strings per process (PYTHONHASHSEED unset),
so the order of a set of strings changes from run to run, and with it the
calls of code that stops early while going through one
(``for name in set(names): if in_stock(name): return name``): the gate would
report a regression that is only the seed.  So a ``pytest --callflow`` run
started from the command line without PYTHONHASHSEED runs itself again, once,
at start-up, with PYTHONHASHSEED=0.  Set PYTHONHASHSEED yourself (any value,
or ``random``) and it is left as it is.  A run that cannot start again (pytest
called from another program, under an IDE's debugger, Windows) says so in its
summary.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import pytest

# The restarted process has PYTHONHASHSEED in its environment, so it never
# restarts again; the processes it starts (xdist's workers) inherit the seed.
FIXED_SEED = "0"


def seed_is_random() -> bool:
    """Whether this process hashes strings with a seed of its own."""
    return bool(sys.flags.hash_randomization) and "PYTHONHASHSEED" not in os.environ


def _runs_as_pytest(config: pytest.Config) -> bool:
    """pytest is this process's program, with this process's arguments:
    starting the process again runs the same session."""
    main = os.path.normcase(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else ""
    name = os.path.basename(main)
    is_pytest = name in ("pytest", "py.test") or main.endswith(
        os.path.normcase(os.path.join("pytest", "__main__.py")))
    return is_pytest and tuple(config.invocation_params.args) == tuple(sys.argv[1:])


def restart_with_fixed_seed(config: pytest.Config) -> None:
    """Start this pytest run again with PYTHONHASHSEED fixed, when its seed
    is random and it can be started again (then this does not return)."""
    if seed_is_random() and not os.environ.get("PYTEST_XDIST_WORKER") \
            and _runs_as_pytest(config):
        _exec_with_fixed_seed("pytest" if sys.argv[0].endswith("__main__.py") else None)


def restart_module_with_fixed_seed(module: str) -> None:
    """As restart_with_fixed_seed, for ``python -m module`` (the unittest
    runner's command line)."""
    if seed_is_random():
        _exec_with_fixed_seed(module)


# A debugger attached to this process (an IDE's) would lose it.
DEBUGGERS = ("debugpy", "pydevd")


def _exec_with_fixed_seed(module: Optional[str]) -> None:
    """Replace this process by its own command line with the seed fixed;
    ``module``: the program was run as ``python -m module``."""
    if os.name != "posix" or any(name in sys.modules for name in DEBUGGERS):
        return
    command = _command(module)
    if command is None:
        return
    env = dict(os.environ, PYTHONHASHSEED=FIXED_SEED)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, env)


def _command(module: Optional[str]) -> Optional[List[str]]:
    """The command line that started this process, or None when it is not
    known."""
    orig = getattr(sys, "orig_argv", None)  # 3.10+: the interpreter's own command line
    if orig:
        return list(orig)
    if "coverage" in sys.modules:
        return None  # 3.9: `coverage run -m ...` may be what started it
    flags = [f"-W{w}" for w in sys.warnoptions]
    flags += [f"-X{k}" if v is True else f"-X{k}={v}" for k, v in sys._xoptions.items()]
    if module:
        return [sys.executable, *flags, "-m", module, *sys.argv[1:]]
    return [sys.executable, *flags, *sys.argv]
