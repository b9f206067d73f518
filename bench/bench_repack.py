"""Common-receiver gather reads before and after `spark-seis repack --by station`.

The MsPASS case (mspass-team/mspass#660): traces stored one file per event, read
as common-receiver (station) gathers, so every gather opens one file per event.
A catalog of E events x S stations (one channel, float64 samples, one file per
event, written with Database.save_ensemble_data_binary_file) is built once and
copied; the copy is repacked by station on Spark. Then the two are read
alternately, R rounds:

  group        Database.read_ensemble_data_group(documents of one station), every
               station in turn
  distributed  read_distributed_data(spark, db, documents, partition_key="sta")
               on local[2], samples summed on the executors

cold = the page cache of every sample file is dropped before each read
(posix_fadvise DONTNEED after a sync: what a gather read of data not read
recently costs); warm = files read just before. File opens are counted with an
audit hook (sys.addaudithook) in the process that reads: the driver for group,
the Python workers for distributed. "distributed (in tasks)" is the time the
tasks spent reading (summed over tasks), without the job's fixed driver and
scheduling cost. Medians of R rounds; ratios within one run.

    python bench/bench_repack.py [--quick] [--events 2500] [--stations 2] [--npts 2000]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_rev, machine, save, table  # noqa: E402

_OPENS = {"root": None, "count": 0}
_EXECUTOR_SECONDS: list[float] = []  # read time inside the tasks, summed over tasks


def _driver_hook(event, args):
    if event == "open" and _OPENS["root"] and args and isinstance(args[0], (str, os.PathLike)):
        if os.fspath(args[0]).startswith(_OPENS["root"]):
            _OPENS["count"] += 1


def config(work: Path) -> dict:
    return {"work_dir": str(work), "embedded_path": str(work / "store"),
            "storage_root": str(work / "wf"), "database_name": "bench"}


def build(work: Path, events: int, stations: int, npts: int) -> float:
    from bson import ObjectId

    from spark_seis.core import TimeSeries, TimeSeriesEnsemble
    from spark_seis.db.client import get_database

    db = get_database(config(work))
    rng = np.random.default_rng(3)
    started = time.perf_counter()
    for e in range(events):
        sid = db.db["source"].insert_one({"_id": ObjectId(), "event_id": f"ev{e:05d}"}).inserted_id
        ens = TimeSeriesEnsemble(
            TimeSeries(rng.standard_normal(npts), dt=0.05, t0=1.5e9 + 3600.0 * e,
                       metadata={"net": "XX", "sta": f"S{s:03d}", "loc": "", "chan": "BHZ",
                                 "source_id": sid})
            for s in range(stations))
        db.save_ensemble_data_binary_file(ens, dir="events", dfile=f"ev{e:05d}.bin",
                                          data_tag="observed")
    db.client.close()
    return time.perf_counter() - started


def drop_cache(root: Path) -> None:
    os.sync()
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def read_group(db, gathers: list[list[dict]]) -> tuple[int, int]:
    _OPENS["root"], _OPENS["count"] = str(Path(db.storage_root).resolve()), 0
    samples = 0
    for docs in gathers:
        samples += sum(m.npts for m in db.read_ensemble_data_group(docs).members if m.live)
    opens, _OPENS["root"] = _OPENS["count"], None
    return samples, opens


def read_distributed(spark, db, docs: list[dict]) -> tuple[int, int]:
    from spark_seis.engine.read import read_distributed_data

    root = str(Path(db.storage_root).resolve())

    def count(objects):
        opened = [0]

        def hook(event, args):
            if event == "open" and args and isinstance(args[0], (str, os.PathLike)) \
                    and os.fspath(args[0]).startswith(root):
                opened[0] += 1

        sys.addaudithook(hook)
        started = time.perf_counter()
        samples = sum(o.npts for o in objects if o.live)
        yield samples, opened[0], time.perf_counter() - started

    rows = read_distributed_data(spark, db, docs, partition_key="sta").mapPartitions(
        count).collect()
    _EXECUTOR_SECONDS.append(sum(r[2] for r in rows))
    return sum(r[0] for r in rows), sum(r[1] for r in rows)


def run(events: int, stations: int, npts: int, rounds: int) -> dict:
    warnings.simplefilter("ignore")
    from spark_seis.db.client import get_database
    from spark_seis.engine.repack import repack_sample_files
    from spark_seis.engine.session import get_spark_session

    os.environ["PYSPARK_PYTHON"] = sys.executable
    res = {"machine": machine(), "git": git_rev(), "events": events, "stations": stations,
           "npts": npts, "rounds": rounds, "rows": {}, "opens": {}}
    with tempfile.TemporaryDirectory(prefix="bench_repack_") as tmpd:
        tmp = Path(tmpd)
        res["build_s"] = build(tmp / "per_event", events, stations, npts)
        shutil.copytree(tmp / "per_event", tmp / "by_station")
        spark = get_spark_session(master="local[2]", app_name="bench_repack",
                                  conf={"spark.ui.enabled": "false"})
        spark.sparkContext.setLogLevel("ERROR")
        spark.sparkContext.parallelize(range(4), 4).map(lambda x: x).count()  # warm-up
        t = time.perf_counter()
        report = repack_sample_files(spark, config(tmp / "by_station"), "station")
        res["repack_s"] = time.perf_counter() - t
        res["repack"] = report.lines()
        sides = {}
        for name in ("per_event", "by_station"):
            db = get_database(config(tmp / name))
            docs = [dict(d) for d in db.db["wf_TimeSeries"].find({})]
            gathers = [[d for d in docs if d["sta"] == f"S{s:03d}"] for s in range(stations)]
            sides[name] = (db, docs, gathers)
            res["opens"][name] = len({(d["dir"], d["dfile"]) for d in docs})
        sys.addaudithook(_driver_hook)
        expected = events * stations * npts
        times: dict[tuple[str, str, str], list[float]] = {}
        opens: dict[tuple[str, str], int] = {}
        for _ in range(rounds):
            for cache in ("cold", "warm"):
                for method in ("group", "distributed"):
                    for name, (db, docs, gathers) in sides.items():
                        if cache == "cold":
                            drop_cache(Path(db.storage_root))
                        else:  # warm: read once untimed
                            read_group(db, gathers)
                        t = time.perf_counter()
                        samples, n_open = (read_group(db, gathers) if method == "group"
                                           else read_distributed(spark, db, docs))
                        times.setdefault((method, cache, name), []).append(
                            time.perf_counter() - t)
                        if method == "distributed":
                            times.setdefault(("distributed (in tasks)", cache, name),
                                             []).append(_EXECUTOR_SECONDS.pop())
                        opens[(method, name)] = n_open
                        if samples != expected:
                            raise RuntimeError(f"{method} {name}: {samples} samples, "
                                               f"expected {expected}")
        spark.stop()
    for method in ("group", "distributed", "distributed (in tasks)"):
        for cache in ("cold", "warm"):
            before = statistics.median(times[(method, cache, "per_event")])
            after = statistics.median(times[(method, cache, "by_station")])
            counted = method.split()[0]
            res["rows"][f"{method} {cache}"] = {
                "opens_before": opens[(counted, "per_event")],
                "opens_after": opens[(counted, "by_station")],
                "s_before": before, "s_after": after}
    return res


def report(res: dict) -> str:
    rows = []
    for key, r in res["rows"].items():
        rows.append([key, r["opens_before"], r["opens_after"],
                     r["opens_before"] / max(1, r["opens_after"]), r["s_before"],
                     r["s_after"], r["s_before"] / r["s_after"]])
    head = (f"common-receiver gather reads of {res['events']} events x {res['stations']} "
            f"stations x {res['npts']} samples, one file per event vs repacked by station "
            f"(median of {res['rounds']} alternating rounds; {res['machine']}; git {res['git']})")
    return "\n".join([head, table(
        ["read (all station gathers)", "file opens before", "after", "fewer opens",
         "s before", "s after", "faster"], rows),
        f"build {res['build_s']:.1f} s; repack on local[2] {res['repack_s']:.1f} s:",
        *[f"    {line}" for line in res["repack"]]])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="300 events, 2 rounds")
    ap.add_argument("--events", type=int, default=2500)
    ap.add_argument("--stations", type=int, default=2)
    ap.add_argument("--npts", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    res = run(300 if args.quick else args.events, args.stations, args.npts,
              2 if args.quick else args.rounds)
    save("repack", res)
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
