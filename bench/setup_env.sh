#!/usr/bin/env bash
# Create the benchmark environments (never a project dependency).
#
#   bash bench/setup_env.sh [DIR]        # default DIR=bench/.bench-venv (git-ignored)
#
# Makes two venvs, because Pyatoa cannot run under the project's numpy 2:
#   DIR          ours: the project (`pip install -e .`, numpy 2) + psutil
#   DIR-pyatoa   Pyatoa's side: pyatoa 0.4.2 with numpy<2 (pyflex 0.2.0 calls
#                ndarray.ptp(), removed in numpy 2, and Pyatoa does not shim it),
#                the same pyflex 0.2.0 / pyadjoint 0.2.3 / obspy as ours.
# bench/bench_misfit.py runs both sides as subprocesses, alternating, in one run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:-$ROOT/bench/.bench-venv}"
PY="${PYTHON:-python3.11}"

# --- ours --------------------------------------------------------------
if [ ! -x "$DIR/bin/python" ]; then "$PY" -m venv "$DIR"; fi
"$DIR/bin/pip" install -q --upgrade pip
"$DIR/bin/pip" install -q -e "$ROOT" psutil

# versions that must match on both sides
OBSPY=$("$DIR/bin/python" -c 'import obspy; print(obspy.__version__)')
PYASDF=$("$DIR/bin/python" -c 'import importlib.metadata as m; print(m.version("pyasdf"))')

# --- Pyatoa's side -----------------------------------------------------
PDIR="$DIR-pyatoa"
if [ ! -x "$PDIR/bin/python" ]; then "$PY" -m venv "$PDIR"; fi
"$PDIR/bin/pip" install -q --upgrade pip
# pyatoa 0.4.2 declares unpinned deps (obspy, pyasdf, pandas, cartopy, pyyaml,
# pypdf, pyflex, pyadjoint); pin the numerics to what ours validates against.
"$PDIR/bin/pip" install -q "numpy<2" "pandas<3" "obspy==$OBSPY" "pyasdf==$PYASDF" \
    "pyflex==0.2.0" "pyadjoint==0.2.3" cartopy pyyaml pypdf psutil
"$PDIR/bin/pip" install -q --no-deps "pyatoa==0.4.2"
"$PDIR/bin/python" - <<'PYEOF'
import numpy, pyatoa, pyflex, pyadjoint, obspy
print(f"pyatoa side ok: numpy {numpy.__version__}, obspy {obspy.__version__}")
PYEOF
"$DIR/bin/python" - <<'PYEOF'
import numpy, spark_seis, obspy
print(f"ours side ok: numpy {numpy.__version__}, obspy {obspy.__version__}")
PYEOF
echo "bench envs: $DIR and $PDIR"
