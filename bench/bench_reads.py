"""Reads: read_data one by one vs read_ensemble_data_group vs read_distributed_data.

N traces (default 10,000 x 2,000 samples; --quick 1,000) are saved into grouped
files (one file per group of 100 traces, one source_id per group) with
Database.save_ensemble_data_binary_file in a temp dir; then the same traces
are read back
  one by one      Database.read_data(id) for every id
  grouped         Database.read_ensemble_data_group(ids of one file) per file
  distributed     spark_seis.engine.read.read_distributed_data(spark, db, {}) on
                  local[2], partitioned by source_id, .map(npts).sum() (samples
                  are read on the executors; only counts come back)
Rates in traces/s and ratios vs one by one.

    python bench/bench_reads.py [--quick] [--traces 10000] [--npts 2000]
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

GROUP = 100


def populate(tmp: Path, ntraces: int, npts: int):
    from bson import ObjectId
    from spark_seis.core import TimeSeries, TimeSeriesEnsemble
    from spark_seis.db.client import get_client
    from spark_seis.db.database import Database
    client = get_client(path=str(tmp / "store"))
    db = Database(client, "bench", storage_root=tmp / "wf")
    rng = np.random.default_rng(2)
    groups = []
    t = time.perf_counter()
    for g in range(0, ntraces, GROUP):
        sid = ObjectId()
        ens = TimeSeriesEnsemble(
            TimeSeries(rng.standard_normal(npts), dt=0.01, t0=1.5e9, metadata={
                "net": "XX", "sta": f"S{i:05d}", "loc": "", "chan": "BHZ",
                "source_id": sid}) for i in range(g, min(g + GROUP, ntraces)))
        db.save_ensemble_data_binary_file(ens, dir="wf", dfile=f"group{g // GROUP:04d}.bin")
        groups.append([m["_id"] for m in ens.members])
    return client, db, groups, time.perf_counter() - t


def run(ntraces: int, npts: int, spark_master: str = "local[2]") -> dict:
    warnings.simplefilter("ignore")
    res = {"machine": machine(), "git": git_rev(), "traces": ntraces, "npts": npts,
           "group": GROUP, "rates": {}, "notes": []}
    with tempfile.TemporaryDirectory(prefix="bench_reads_") as tmpd:
        tmp = Path(tmpd)
        client, db, groups, t_save = populate(tmp, ntraces, npts)
        res["save_s"] = t_save
        ids = [i for g in groups for i in g]

        t = time.perf_counter()
        n = sum(db.read_data(i).npts == npts for i in ids)
        res["rates"]["read_data one by one"] = n / (time.perf_counter() - t)

        t = time.perf_counter()
        n = sum(sum(m.npts == npts for m in db.read_ensemble_data_group(g).members)
                for g in groups)
        res["rates"]["read_ensemble_data_group per file"] = n / (time.perf_counter() - t)

        try:
            from spark_seis.engine.read import read_distributed_data
            from pyspark.sql import SparkSession
            os.environ["PYSPARK_PYTHON"] = sys.executable
            os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
            spark = (SparkSession.builder.master(spark_master).appName("bench_reads")
                     .config("spark.ui.enabled", "false")
                     .config("spark.ui.showConsoleProgress", "false").getOrCreate())
            spark.sparkContext.setLogLevel("ERROR")
            # warm-up: start workers and import on them
            spark.sparkContext.parallelize(range(4), 4).map(lambda x: x).count()
            t = time.perf_counter()
            rdd = read_distributed_data(spark, db, {}, partition_key="source_id")
            total = rdd.map(lambda o: o.npts if o.live else 0).sum()
            dt = time.perf_counter() - t
            spark.stop()
            if total != ntraces * npts:
                res["notes"].append(f"read_distributed_data returned {total} samples, "
                                    f"expected {ntraces * npts}")
            res["rates"][f"read_distributed_data ({spark_master})"] = ntraces / dt
        except Exception as exc:  # a piece not there yet: say so, never invent
            res["notes"].append(f"read_distributed_data not measured: "
                                f"{type(exc).__name__}: {exc}")
        client.close()
    return res


def report(res: dict) -> str:
    base = res["rates"].get("read_data one by one")
    out = [f"reads of {res['traces']} traces x {res['npts']} samples in files of "
           f"{res['group']} ({res['machine']}; git {res['git']})",
           table(["method", "traces/s", "vs one by one"],
                 [[k, v, v / base] for k, v in res["rates"].items()])]
    out += [f"note: {n}" for n in res["notes"]]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--traces", type=int, default=10000)
    ap.add_argument("--npts", type=int, default=2000)
    args = ap.parse_args(argv)
    res = run(1000 if args.quick else args.traces, args.npts)
    save("reads", res)
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
