"""Spark reads and writes: sample files vs GridFS, side by side in one run.

N traces (default 2,000 x 2,000 samples; --quick 400) in one embedded store:
  write  write_distributed_data(rdd, db, storage_mode="file" | "gridfs") on local[2]
  read   read_distributed_data(spark, db, {"data_tag": ...}).map(npts).sum() on
         local[2], partitioned by source_id (20 traces per source)
Each measured `--repeat` times alternating file/GridFS; the best of each is kept.
Rates in traces/s and GridFS/file ratios.

    python bench/bench_gridfs_spark.py [--quick] [--traces 2000] [--npts 2000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_rev, machine, save, table  # noqa: E402

PER_SOURCE = 20
MODES = ("file", "gridfs")


def _series(ntraces: int, npts: int) -> list:
    from bson import ObjectId

    from spark_seis.core import TimeSeries

    rng = np.random.default_rng(3)
    sources = [ObjectId() for _ in range(0, ntraces, PER_SOURCE)]
    return [TimeSeries(rng.standard_normal(npts), dt=0.01, t0=1.5e9 + i,
                       metadata={"net": "XX", "sta": f"S{i:05d}", "loc": "", "chan": "BHZ",
                                 "source_id": sources[i // PER_SOURCE]})
            for i in range(ntraces)]


def run(ntraces: int, npts: int, repeat: int, master: str = "local[2]") -> dict:
    from pyspark.sql import SparkSession

    from spark_seis.db.client import get_database
    from spark_seis.engine.read import read_distributed_data
    from spark_seis.engine.write import write_distributed_data

    warnings.simplefilter("ignore")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    res = {"machine": machine(), "git": git_rev(), "traces": ntraces, "npts": npts,
           "repeat": repeat, "rates": {}, "notes": []}
    spark = (SparkSession.builder.master(master).appName("bench_gridfs_spark")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        with tempfile.TemporaryDirectory(prefix="bench_gridfs_") as tmpd:
            db = get_database({"work_dir": tmpd})
            rdd = spark.sparkContext.parallelize(_series(ntraces, npts), 4).cache()
            rdd.count()  # objects built and cached before any timing
            best: dict[str, float] = {}
            for attempt in range(repeat):
                for mode in MODES:
                    t = time.perf_counter()
                    frame = write_distributed_data(rdd, db, data_tag=mode, storage_mode=mode)
                    dt = time.perf_counter() - t
                    if frame.attrs["counts"]["saved"] != ntraces:
                        res["notes"].append(f"write {mode}: {frame.attrs['counts']}")
                    best[f"write {mode}"] = min(best.get(f"write {mode}", dt), dt)
                for mode in MODES:
                    t = time.perf_counter()
                    total = read_distributed_data(spark, db, {"data_tag": mode}).map(
                        lambda o: o.npts if o.live else 0).sum()
                    dt = time.perf_counter() - t
                    if total != ntraces * npts:
                        res["notes"].append(f"read {mode}: {total} samples, "
                                            f"expected {ntraces * npts}")
                    best[f"read {mode}"] = min(best.get(f"read {mode}", dt), dt)
            db.client.close()
        res["rates"] = {k: ntraces / v for k, v in best.items()}
    finally:
        spark.stop()
    return res


def report(res: dict) -> str:
    rows = []
    for op in ("write", "read"):
        file_rate = res["rates"][f"{op} file"]
        for mode in MODES:
            rate = res["rates"][f"{op} {mode}"]
            rows.append([f"{op} {mode}", rate, rate / file_rate])
    out = [f"Spark local[2], {res['traces']} traces x {res['npts']} samples, embedded store, "
           f"best of {res['repeat']} ({res['machine']}; git {res['git']})",
           table(["operation", "traces/s", "vs file"], rows)]
    out += [f"note: {n}" for n in res["notes"]]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--traces", type=int, default=2000)
    ap.add_argument("--npts", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    res = run(400 if args.quick else args.traces, args.npts, 2 if args.quick else args.repeat)
    save("gridfs_spark", res)
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
