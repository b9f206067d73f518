"""jobs/misfit.py under spark-submit: its --master decides, outputs as with the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import NZ_DATA
from project_support import ingested_project

ROOT = Path(__file__).resolve().parents[1]


def test_spark_submit_runs_the_misfit_job(tmp_path, capsys):
    job = ingested_project(tmp_path, NZ_DATA / "synthetics_BFZ")
    project = job.parents[1]
    capsys.readouterr()
    submit = Path(sys.executable).with_name("spark-submit")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "PYTHONPATH": str(ROOT)}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    proc = subprocess.run(
        [str(submit), "--master", "local[1]", "--conf", "spark.ui.enabled=false",
         str(ROOT / "jobs" / "misfit.py"), str(job)],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on Spark local[1]" in proc.stdout  # spark-submit's master, not the config's
    assert "misfit job: 1 stations of 1 events" in proc.stdout and "1 ok" in proc.stdout
    assert (project / "work" / "output" / "2018p130600.h5").exists()
