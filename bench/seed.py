"""The original callflow-tracer 0.7.0, measured in a separate process.

Its venv is bench/.venv-seed-<major>.<minor> (git-ignored), created on first
use from the interpreter running the benchmark and reused afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

BENCH_DIR = Path(__file__).resolve().parent
SEED_REQUIREMENT = "callflow-tracer==0.7.0"
SEED_VERSION = "0.7.0"


def venv_dir() -> Path:
    return BENCH_DIR / f".venv-seed-{sys.version_info[0]}.{sys.version_info[1]}"


def _clean_env() -> Dict[str, str]:
    # Nothing from the outer venv or the repository may leak into the seed.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(cmd: List[str], timeout: float) -> Tuple[int, str, str]:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=_clean_env(), cwd=str(BENCH_DIR)
        )
    except subprocess.TimeoutExpired:
        return -1, "", f"timed out after {timeout:.0f} s: {' '.join(cmd[:3])} ..."
    except OSError as exc:
        return -1, "", str(exc)
    return proc.returncode, proc.stdout, proc.stderr


def _last_error_line(text: str) -> str:
    # pip prints harmless "WARNING: Location ... is ignored" lines here.
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    return lines[-1] if lines else "no output"


def _probe(python: Path) -> Optional[str]:
    """None if the venv imports callflow_tracer 0.7.0, else the reason."""
    code, out, err = _run(
        [str(python), "-E", "-s", "-c", "import callflow_tracer as c; print(c.__version__)"], timeout=120
    )
    if code != 0:
        return f"import callflow_tracer failed: {_last_error_line(err)}"
    if out.strip() != SEED_VERSION:
        return f"seed venv has callflow_tracer {out.strip()}, want {SEED_VERSION}"
    return None


def ensure_venv() -> Tuple[Optional[Path], str]:
    """(seed venv python, "") or (None, reason it is not available)."""
    vdir = venv_dir()
    python = vdir / "bin" / "python"
    if python.exists() and _probe(python) is None:
        return python, ""
    if not python.exists():
        code, _, err = _run([sys.executable, "-m", "venv", str(vdir)], timeout=300)
        if code != 0:
            return None, f"cannot create {vdir.name}: {_last_error_line(err)}"
    code, _, err = _run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", SEED_REQUIREMENT],
        timeout=600,
    )
    if code != 0:
        return None, f"pip install {SEED_REQUIREMENT} failed: {_last_error_line(err)}"
    reason = _probe(python)
    return (None, reason) if reason else (python, "")


def measure(rounds: int, realistic_iterations: int, async_tasks: int, timeout: float) -> Dict[str, Any]:
    """The driver's JSON result, or {"error": reason}."""
    python, reason = ensure_venv()
    if python is None:
        return {"error": reason}
    cmd = [
        str(python), "-E", "-s", str(BENCH_DIR / "seed_driver.py"),
        "--rounds", str(rounds),
        "--realistic-iterations", str(realistic_iterations),
        "--async-tasks", str(async_tasks),
    ]
    code, out, err = _run(cmd, timeout=timeout)
    lines = out.strip().splitlines()
    if not lines:
        return {"error": f"seed driver exited {code}: {_last_error_line(err)}"}
    try:
        result: Dict[str, Any] = json.loads(lines[-1])
    except ValueError:
        return {"error": f"seed driver printed no result (exit {code}): {_last_error_line(err)}"}
    if code != 0 and "error" not in result:
        result = {"error": f"seed driver exited {code}"}
    return result
