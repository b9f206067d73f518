#!/usr/bin/env bash
# Create the project's virtual environment and make sure Java 17+ is present.
# Usage: scripts/bootstrap.sh [VENV_DIR]   (default: .venv)
set -euo pipefail
venv="${1:-.venv}"
here="$(cd "$(dirname "$0")/.." && pwd)"

step() { echo "bootstrap: [$1/4] $2" >&2; }

java_major() {
  java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'
}

step 1 "checking Java (Spark needs 17+) and Python (3.11+)"
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: Java 17+ not found; installing openjdk-17-jre-headless with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "bootstrap: Spark needs Java 17 or newer and 'java' was not found." >&2
    echo "bootstrap: install it (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless) and rerun." >&2
    exit 1
  fi
fi

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: Python 3.11+ is required ($python is $("$python" --version 2>&1))." >&2
  exit 1
fi
step 2 "virtual environment $venv"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
step 3 "upgrading pip"
"$venv/bin/python" -m pip install -q --upgrade pip
step 4 "installing spark_seis and its dependencies (pyspark, obspy, ...: 1-3 minutes)"
"$venv/bin/python" -m pip install -q -e "$here[test]"
touch "$venv/.installed"
echo "bootstrap: environment ready in $venv"
echo "bootstrap: to type 'spark-seis' directly: export PATH=\"$(cd "$venv" && pwd)/bin:\$PATH\""
