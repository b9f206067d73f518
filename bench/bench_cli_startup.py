"""How soon the `spark-seis` command answers: CPU seconds of each step a user waits
for, measured side by side in one run (CPU time, not wall time, so a loaded machine
does not decide the figure).

* preflight: `spark-seis run --event <unknown>` on an ingested project (answers from
  the database, before Spark), against importing what the job's driver imports
  (engine.misfit_job: obspy, pyflex, ...) and against a Spark session start-up, the
  costs the same mistake paid before the checks moved in front of Spark.
* `spark-seis --help`, `inspect --level event`, `plot --no-stations`.

Usage: python bench/bench_cli_startup.py [--no-spark]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import nz_data_dir  # noqa: E402

BIN = Path(sys.executable).parent / "spark-seis"


def cpu_and_wall(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """Child CPU seconds (user+sys), wall seconds and exit code of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark start-up")
    args = parser.parse_args()
    data = nz_data_dir()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "p"
        subprocess.run([str(BIN), "init", str(project)], check=True, capture_output=True)
        subprocess.run([str(BIN), "ingest", "--no-progress", str(data)], cwd=project,
                       check=True, capture_output=True)
        subprocess.run([str(BIN), "run", "--quiet", "--master", "local[1]"], cwd=project,
                       check=True, capture_output=True)  # inspect/plot need results
        py = sys.executable
        steps = {
            "help": [str(BIN), "--help"],
            "run_unknown_event_preflight": [str(BIN), "run", "--event", "nope"],
            "import_engine_misfit_job": [py, "-c", "import spark_seis.engine.misfit_job"],
            "inspect_level_event": [str(BIN), "inspect", "--level", "event"],
            "plot_no_stations": [str(BIN), "plot", "--no-stations", "--no-progress",
                                 "--out", str(project / "f")],
        }
        if not args.no_spark:
            steps["spark_session_start"] = [py, "-c", (
                "from spark_seis.engine.session import get_spark_session as g;"
                "g(master='local[1]').stop()")]
        results = {}
        for name, argv in steps.items():
            cpu, wall, code = cpu_and_wall(argv, project)
            results[name] = {"cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "exit": code}
        pre = results["run_unknown_event_preflight"]["cpu_s"]
        results["ratio_engine_import_over_preflight_cpu"] = round(
            results["import_engine_misfit_job"]["cpu_s"] / pre, 2)
        if "spark_session_start" in results:
            results["ratio_spark_start_over_preflight_wall"] = round(
                results["spark_session_start"]["wall_s"]
                / results["run_unknown_event_preflight"]["wall_s"], 1)
        results["load_average"] = os.getloadavg()[0]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
