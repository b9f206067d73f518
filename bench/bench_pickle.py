"""Pickle overhead of TimeSeries / Seismogram vs their raw sample bytes.

For several trace lengths: pickled size / raw sample bytes, and pickle
dumps+loads time / a plain copy of the same bytes (ndarray.tobytes +
frombuffer, the least any serializer must do). Objects are serialized in
batches and kept, as PySpark's batched serializer does, so fresh-memory
costs (page faults) count on both sides alike. Uses PySpark's own data
serializer (CPickleSerializer) as well as pickle protocol 5; ObsPy Trace
of the same samples for comparison.

    python bench/bench_pickle.py [--quick]
"""
from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_rev, machine, save, table  # noqa: E402

META = {"net": "NZ", "sta": "BFZ", "loc": "10", "chan": "HHZ", "hang": 0.0, "vang": 0.0,
        "source_id": "5f1e0c2a9b1e8a0001a1b2c3", "site_id": "5f1e0c2a9b1e8a0001a1b2c4",
        "channel_id": "5f1e0c2a9b1e8a0001a1b2c5", "event_id": "2018p130600",
        "dir": "wf/2018p130600", "dfile": "NZ.BFZ.bin", "foff": 0, "nbytes": 80000,
        "iteration": 1, "step_count": 0, "data_tag": "observed"}


def batch_time(dumps, loads, obj, batch: int, repeat: int) -> float:
    """Median seconds per object to dump a batch of ``batch`` objects (kept, as a
    batched serializer does: fresh memory, page faults included) and load them."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        blobs = [dumps(obj) for _ in range(batch)]
        back = [loads(b) for b in blobs]
        times.append((time.perf_counter() - t) / batch)
        del blobs, back
    return statistics.median(times)


def objects(npts: int):
    from obspy import Trace
    from spark_seis.core import Seismogram, TimeSeries
    rng = np.random.default_rng(0)
    ts = TimeSeries(rng.standard_normal(npts), dt=0.01, t0=1.5e9, metadata=META)
    ts.elog.log("bench", "one entry", "Informational")
    seis = Seismogram(rng.standard_normal((3, npts)), dt=0.01, t0=1.5e9,
                      metadata={k: v for k, v in META.items() if k not in ("chan", "hang", "vang")})
    tr = Trace(data=ts.data.copy())
    tr.stats.network, tr.stats.station, tr.stats.location, tr.stats.channel = "NZ", "BFZ", "10", "HHZ"
    tr.stats.delta = 0.01
    return {"TimeSeries": ts, "Seismogram": seis, "obspy Trace": tr}


def run(quick: bool) -> dict:
    from pyspark.serializers import CPickleSerializer
    ser = CPickleSerializer()
    sizes = [1000, 10000] if quick else [1000, 10000, 30000, 100000]
    repeat = 5 if quick else 15
    rows = []
    for npts in sizes:
        for name, obj in objects(npts).items():
            raw = obj.data
            nbytes = raw.nbytes
            batch = max(4, min(200, 8_000_000 // nbytes))
            t_raw = batch_time(lambda o: o.data.tobytes(),
                               lambda b: np.frombuffer(b, dtype=np.float64), obj, batch, repeat)
            blob = pickle.dumps(obj, protocol=5)
            t_p5 = batch_time(lambda o: pickle.dumps(o, protocol=5), pickle.loads, obj,
                              batch, repeat)
            sblob = ser.dumps(obj)
            t_spark = batch_time(ser.dumps, ser.loads, obj, batch, repeat)
            rows.append({"object": name, "npts": npts, "raw_bytes": nbytes,
                         "pickle_bytes": len(blob), "spark_bytes": len(sblob),
                         "size_ratio": len(blob) / nbytes,
                         "overhead_bytes": len(blob) - nbytes,
                         "raw_copy_us": t_raw * 1e6, "pickle_rt_us": t_p5 * 1e6,
                         "spark_rt_us": t_spark * 1e6,
                         "time_ratio": t_p5 / t_raw, "spark_time_ratio": t_spark / t_raw})
    return {"machine": machine(), "git": git_rev(), "rows": rows}


def report(res: dict) -> str:
    return (f"pickle round trip (dumps+loads, us per object, batched) vs copying the raw sample bytes "
            f"({res['machine']}; git {res['git']})\n" +
            table(["object", "npts", "raw bytes", "pickled bytes", "size ratio",
                   "header bytes", "raw copy us", "pickle5 us", "time ratio",
                   "PySpark serializer us", "time ratio (PySpark)"],
                  [[r["object"], r["npts"], r["raw_bytes"], r["pickle_bytes"],
                    r["size_ratio"], r["overhead_bytes"], r["raw_copy_us"],
                    r["pickle_rt_us"], r["time_ratio"], r["spark_rt_us"],
                    r["spark_time_ratio"]] for r in res["rows"]]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    res = run(args.quick)
    save("pickle", res)
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
