"""Spark scaling of the misfit pipeline: serial vs local[1] vs local[2].

Data are generated from the real NZ.BFZ records, on the executors (never
shipped from the driver): observed displacement (response removed once) and
synthetics, standardized and cut to NPTS samples, then per generated
station a random time shift (+-0.6 s), amplitude scale (0.5-2x) and 1% noise.
One "trace" = one observed component with its synthetic; a station = 3 traces.
Each station goes through spark_seis process_station (preprocess -> window
-> measure; remove_response off because the generated data are already
displacement; travel times cached per worker since the generated stations
share BFZ's geometry). Only small summaries return to the driver.

Every (mode, size) runs in a fresh subprocess so peak memory is per run:
driver = Python driver ru_maxrss + JVM VmHWM; executor = max ru_maxrss over
the Python workers. Spark overhead share = 1 - (sum of in-task compute time)
/ (job wall time x cores): serialization, scheduling, task launch, worker
pipes and the idle tail of the last wave.

    python bench/bench_spark.py [--quick] [--sizes 1000,5000,10000,20000,50000] [--npts 4000]

All sizes use 4000-sample traces (120 s at 0.03 s; the NZ.BFZ windows end by
sample 3011) so that 50k traces finish in minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_rev, load_nz, machine, save, table  # noqa: E402

_BASE = None  # per-process cache of the base records


def base_records(npts: int):
    """(obs DISP stream, syn stream, inv, event) of NZ.BFZ cut to npts samples."""
    global _BASE
    if _BASE is not None and _BASE[0] == npts:
        return _BASE[1]
    from spark_seis.processing.preprocess import remove_response
    from spark_seis.processing.standardize import standardize
    warnings.simplefilter("ignore")
    inv, event, st_obs, st_syn = load_nz()
    obs, syn = standardize(st_obs, st_syn)
    remove_response(obs, inv, "DISP")
    for st in (obs, syn):
        for tr in st:
            tr.data = tr.data[:npts].copy()
    _BASE = (npts, (obs, syn, inv, event))
    return _BASE[1]


def station(i: int, npts: int):
    """Generated station i: shifted, scaled, noisy copy of BFZ (deterministic)."""
    import numpy as np
    obs, syn, inv, event = base_records(npts)
    rng = np.random.default_rng(i)
    shift = int(rng.integers(-20, 21))
    scale = float(rng.uniform(0.5, 2.0))
    o = obs.copy()
    for tr in o:
        data = np.roll(tr.data, shift) * scale
        tr.data = data + rng.standard_normal(data.size) * 0.01 * data.std()
    return o, syn.copy(), inv, event


def run_station(i: int, npts: int, config) -> tuple:
    from spark_seis.processing.station import process_station
    t = time.perf_counter()
    o, s, inv, event = station(i, npts)
    res = process_station(o, s, inv, event, config)
    return (res.status, res.nwin, res.total_misfit, time.perf_counter() - t)


def bench_config():
    from spark_seis.processing.config import Config
    return Config(event_id="2018p130600", min_period=10, max_period=100,
                  remove_response=False)


def partition_fn(npts: int, config_doc: dict):
    def fn(it):
        from spark_seis.processing.config import Config
        config = Config.from_dict(config_doc)
        t0 = time.perf_counter()
        out = [run_station(i, npts, config) for i in it]
        busy = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        yield {"n": len(out), "ok": sum(r[0] == "ok" for r in out),
               "nwin": sum(r[1] for r in out), "busy_s": busy, "rss": rss}
    return fn


def jvm_peak_rss() -> int | None:
    """VmHWM of the Java child of this driver (local mode: driver + executors)."""
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().split()
            if int(stat[3]) != me:
                continue
            if "java" not in Path(f"/proc/{pid}/cmdline").read_text():
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue
    return None


def one_run(mode: str, traces: int, npts: int) -> dict:
    """Executed in a fresh subprocess (see main): one (mode, size)."""
    n_st = traces // 3
    config = bench_config()
    out = {"mode": mode, "traces": n_st * 3, "stations": n_st, "npts": npts,
           "loadavg_before": os.getloadavg()[0]}
    if mode == "serial":
        base_records(npts)
        run_station(0, npts, config)  # warm: imports, TauP model, caches
        t = time.perf_counter()
        results = [run_station(i, npts, config) for i in range(n_st)]
        wall = time.perf_counter() - t
        out.update(wall_s=wall, ok=sum(r[0] == "ok" for r in results),
                   busy_s=sum(r[3] for r in results), cores=1,
                   driver_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                   jvm_rss=None, executor_rss=None)
    else:
        os.environ["PYSPARK_PYTHON"] = sys.executable
        os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
        here = Path(__file__).resolve().parent
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(here), str(here.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        from pyspark.sql import SparkSession
        cores = int(mode[len("local["):-1])
        spark = (SparkSession.builder.master(mode).appName("bench_spark")
                 .config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false")
                 .config("spark.python.worker.reuse", "true")
                 .config("spark.driver.memory", "2g").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        sc = spark.sparkContext
        doc = config.to_dict()
        # partitions as the engine's compute stage makes them (4 per core): PySpark
        # pays ~70 ms per task here, so tasks of ~40 stations (0.5 s) lost 10-14%
        nparts = cores * 4
        fn = partition_fn(npts, doc)
        # warm-up: start the Python workers, import, load TauP, build base records
        sc.parallelize(range(cores * 2), cores * 2).mapPartitions(fn).collect()
        t = time.perf_counter()
        parts = sc.parallelize(range(n_st), nparts).mapPartitions(fn).collect()
        wall = time.perf_counter() - t
        out.update(wall_s=wall, ok=sum(p["ok"] for p in parts),
                   busy_s=sum(p["busy_s"] for p in parts), cores=cores,
                   partitions=nparts,
                   driver_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                   jvm_rss=jvm_peak_rss(), executor_rss=max(p["rss"] for p in parts))
        spark.stop()
    out["traces_per_s"] = out["traces"] / out["wall_s"]
    out["overhead_share"] = 1.0 - out["busy_s"] / (out["wall_s"] * out["cores"])
    return out


def run(sizes: list[int], npts: int, modes: list[str]) -> dict:
    runs = []
    for traces in sizes:
        for mode in modes:
            cmd = [sys.executable, __file__, "--one", mode, str(traces), str(npts)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
            if proc.returncode or not lines:
                print(f"{mode} {traces}: failed\n{proc.stderr[-3000:]}")
                continue
            r = json.loads(lines[-1])
            runs.append(r)
            print(f"  {mode:9s} {traces:6d} traces: {r['traces_per_s']:.0f} traces/s, "
                  f"overhead {r['overhead_share']:.1%}", flush=True)
    return {"machine": machine(), "git": git_rev(), "npts": npts, "runs": runs}


def report(res: dict) -> str:
    serial = {r["traces"]: r["traces_per_s"] for r in res["runs"] if r["mode"] == "serial"}
    first = {}
    rows = []
    mb = 1 / 2**20
    for r in res["runs"]:
        first.setdefault(r["mode"], r["traces_per_s"])
        rows.append([r["mode"], r["traces"], r.get("partitions", "-"), r["wall_s"],
                     r["traces_per_s"], r["traces_per_s"] / serial.get(r["traces"], float("nan")),
                     r["traces_per_s"] / first[r["mode"]], f"{r['overhead_share']:.1%}",
                     r["driver_rss"] * mb, (r["jvm_rss"] or 0) * mb or "-",
                     (r["executor_rss"] or 0) * mb or "-", r["ok"] / max(r["stations"], 1),
                     r.get("loadavg_before", "-")])
    return (f"Spark scaling of the misfit pipeline ({res['npts']}-sample traces; "
            f"{res['machine']}; git {res['git']})\n" +
            table(["mode", "traces", "partitions", "wall s", "traces/s", "vs serial",
                   "vs smallest size", "overhead share", "driver Python MB",
                   "JVM peak MB", "executor Python MB", "ok fraction",
                   "load avg before"], rows))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="300 and 1500 traces")
    ap.add_argument("--sizes", default="1000,5000,10000,20000,50000")
    ap.add_argument("--npts", type=int, default=4000)
    ap.add_argument("--modes", default="serial,local[1],local[2]")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        warnings.simplefilter("ignore")
        print(json.dumps(one_run(args.one[0], int(args.one[1]), int(args.one[2]))))
        return 0
    sizes = [300, 1500] if args.quick else [int(s) for s in args.sizes.split(",")]
    res = run(sizes, args.npts, args.modes.split(","))
    save("spark", res)
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
