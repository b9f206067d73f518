#!/usr/bin/env bash
# Build the Pyatoa 0.4.2 virtual environment the interoperability suite
# (tests/test_interop_pyatoa.py) runs Pyatoa itself in. Never a runtime
# dependency: Pyatoa needs numpy<2 (pyflex 0.2.0 calls ndarray.ptp()).
#
#   bash scripts/pyatoa_env.sh [DIR]     # default DIR=.venv-pyatoa (git-ignored)
#   export SPARK_SEIS_PYATOA_PYTHON=$PWD/.venv-pyatoa/bin/python
#
# Idempotent: returns at once when DIR/.installed is newer than this script.
# Versions that must equal the project's (obspy, pyasdf, pyflex, pyadjoint)
# are pinned to what the project's venv has, so numbers compare to 1e-9.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:-$ROOT/.venv-pyatoa}"
OURS="${OURS_PYTHON:-$ROOT/.venv/bin/python}"
PY="${PYTHON:-python3}"

if [ -f "$DIR/.installed" ] && [ "$DIR/.installed" -nt "$0" ]; then
  exit 0
fi
version() { "$OURS" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || echo "$2"; }
OBSPY=$(version obspy 1.5.1)
PYASDF=$(version pyasdf 0.8.2)

if [ ! -x "$DIR/bin/python" ]; then "$PY" -m venv "$DIR"; fi
"$DIR/bin/python" -m pip install -q --upgrade pip
# pyatoa 0.4.2 declares unpinned deps; pin the numerics to what the project
# validates against. pysep-adjtomo provides read_sem (Pyatoa's .semd reader).
"$DIR/bin/python" -m pip install -q "numpy<2" "pandas<3" "obspy==$OBSPY" \
    "pyasdf==$PYASDF" "pyflex==0.2.0" "pyadjoint==0.2.3" pyyaml pypdf \
    "matplotlib<3.12" cartopy
"$DIR/bin/python" -m pip install -q --no-deps "pyatoa==0.4.2" "pysep-adjtomo==0.7.1"
"$DIR/bin/python" - <<'PYEOF'
import numpy, pyatoa, pyflex, pyadjoint, obspy, pyasdf
from pysep.utils.io import read_sem
print(f"pyatoa env ok: numpy {numpy.__version__}, obspy {obspy.__version__}")
PYEOF
touch "$DIR/.installed"
echo "pyatoa env ready: export SPARK_SEIS_PYATOA_PYTHON=$DIR/bin/python"
