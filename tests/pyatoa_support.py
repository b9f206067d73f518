"""Run Pyatoa 0.4.2 itself (its own numpy<2 venv) from the tests.

The interpreter comes from ``SPARK_SEIS_PYATOA_PYTHON``; ``make test`` and
``.ci/run`` build the venv with ``scripts/pyatoa_env.sh`` and export it. When
the variable is unset the interop tests FAIL (never skip) and say how to build
it. Scripts live in tests/interop/ and exchange JSON on stdin/stdout.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

INTEROP = Path(__file__).parent / "interop"
BUILD_HINT = ("build Pyatoa's venv with 'bash scripts/pyatoa_env.sh' and export "
              "SPARK_SEIS_PYATOA_PYTHON=$PWD/.venv-pyatoa/bin/python (make test does both)")


def pyatoa_python() -> str:
    path = os.environ.get("SPARK_SEIS_PYATOA_PYTHON")
    if not path:
        pytest.fail(f"SPARK_SEIS_PYATOA_PYTHON is not set: {BUILD_HINT}", pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail(f"SPARK_SEIS_PYATOA_PYTHON={path} is not an executable: {BUILD_HINT}",
                    pytrace=False)
    return path


def run_pyatoa(script: str, request: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    """Run tests/interop/<script> under Pyatoa's python with ``request`` as JSON
    on stdin; return the JSON it prints last. Pyatoa's log goes to 'log'."""
    proc = subprocess.run([pyatoa_python(), str(INTEROP / script)],
                          input=json.dumps(request), capture_output=True, text=True,
                          timeout=timeout, env={k: v for k, v in os.environ.items()
                                                if k not in ("PYTHONPATH",)})
    if proc.returncode != 0:
        raise AssertionError(f"{script} failed under Pyatoa's python:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["log"] = proc.stderr
    return out
