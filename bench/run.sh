#!/usr/bin/env bash
# Usage: bench/run.sh PYTHON [bench options: --rounds N --json PATH --check ...]
# Installs the peers (bench/requirements.txt) into PYTHON's environment, then
# runs the overhead table and the 10M-call memory figure for that interpreter.
# The seed tracer gets its own venv (bench/.venv-seed-X.Y), made on first use.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 PYTHON [bench options]" >&2
    exit 2
fi
python=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
# A peer that cannot be installed is reported as n/a by the bench, not fatal.
"$python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" 2>/dev/null \
    || echo "bench: could not install $here/requirements.txt; missing peers will show n/a" >&2
# Run the directory, not `-m bench`: keeps the repo root off sys.path.
exec "$python" "$here" "$@"
