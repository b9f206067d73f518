"""The engine's whole misfit job (read -> compute -> shuffle by event -> one ASDF
writer per event -> database upserts) on local[1] vs local[2].

    python bench/bench_engine.py [--stations 120] [--events 1]

Data: the real NZ event with NZ.BFZ plus generated stations (shifted, scaled,
noised copies of BFZ's observed data; real-length traces) in an embedded database,
built by tests/engine_support.build_database. Each master runs in a fresh process.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(master: str, stations: int, events: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from engine_support import build_database

    from spark_seis.engine.misfit_job import run_misfit_job
    from spark_seis.engine.session import get_spark_session

    db, job = build_database(Path(tempfile.mkdtemp()), n_generated=stations - 1,
                             n_events=events)
    spark = get_spark_session(master=master, app_name="bench_engine")
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.parallelize(range(4), 4).count()  # start the workers
    started = time.perf_counter()
    summary = run_misfit_job(spark, job, db=db, progress=False)
    wall = time.perf_counter() - started
    spark.stop()
    return {"master": master, "events": summary.events, "stations": summary.stations,
            "ok": summary.ok,
            "wall_s": wall, "stations_per_s": summary.stations / wall}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=120, help="stations per event")
    ap.add_argument("--events", type=int, default=1)
    ap.add_argument("--one", nargs=3, metavar=("MASTER", "STATIONS", "EVENTS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one_run(args.one[0], int(args.one[1]), int(args.one[2]))))
        return 0
    env_path = f"{ROOT}:{ROOT / 'tests'}"
    runs = []
    for master in ("local[1]", "local[2]"):
        proc = subprocess.run([sys.executable, __file__, "--one", master, str(args.stations),
                               str(args.events)],
                              capture_output=True, text=True, timeout=3600,
                              env={**__import__("os").environ, "PYTHONPATH": env_path})
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode or not lines:
            print(f"{master}: failed\n{proc.stderr[-2000:]}")
            return 1
        runs.append(json.loads(lines[-1]))
    base = runs[0]["stations_per_s"]
    print("| master | events | stations | ok | wall s | stations/s | vs local[1] |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['master']} | {r['events']} | {r['stations']} | {r['ok']} | {r['wall_s']:.1f} | "
              f"{r['stations_per_s']:.1f} | {r['stations_per_s'] / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
