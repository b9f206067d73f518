"""Writers: our sample-file and ASDF writes vs raw writes of the same bytes;
embedded-store bulk upsert vs single inserts.

Bandwidth (MB/s of float64 samples) of
  raw file         open once, write each trace's bytes, close
  ours sample file spark_seis.db.sample_io.append_many (one open + flock)
  ours ensemble    Database.save_ensemble_data_binary_file (samples + wf documents)
  raw h5py         one dataset per trace in one HDF5 file
  raw h5py chunked the same with chunks=True (the layout pyasdf uses)
  ours ASDF        spark_seis.io.asdf_store.write_waveforms (pyasdf add_waveforms,
                   compression=None); pyasdf's default gzip-3 shown for comparison
  ours event writer spark_seis.io.asdf_writer.EventFileWriter (what the job writes
                   with: h5py, pyasdf's names and attributes, contiguous samples)
(the ObsPy Stream both ASDF writers take is built before the clock starts)
Ratios: ours / raw (target >= 0.70). Writes land in the page cache of a temp dir
(no fsync on either side). Generated data, nothing committed.
DB rates (documents/s): insert_one loop, replace_one(upsert) loop,
crud_create.bulk_upsert (one bulk_write), on the embedded store.

    python bench/bench_writers.py [--quick]
"""
from __future__ import annotations

import argparse
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


def make_traces(n: int, npts: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal(npts) for _ in range(n)]


def best_of(fn, repeat: int) -> float:
    """Median wall time of fn(tmpdir) over fresh temp dirs."""
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench_w_") as tmp:
            t = time.perf_counter()
            fn(Path(tmp))
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def raw_file(arrays):
    def go(tmp: Path):
        with open(tmp / "raw.bin", "wb") as fh:
            for a in arrays:
                fh.write(a.tobytes())
    return go


def ours_sample_file(arrays):
    from spark_seis.db import sample_io

    def go(tmp: Path):
        sample_io.append_many(tmp / "wf" / "data.bin",
                              (sample_io.samples_to_bytes(a) for a in arrays))
    return go


def ours_ensemble(arrays):
    from spark_seis.core import TimeSeries, TimeSeriesEnsemble
    from spark_seis.db.client import get_client
    from spark_seis.db.database import Database

    def go(tmp: Path):
        client = get_client(path=str(tmp / "store"))
        db = Database(client, "bench", storage_root=tmp / "wf")
        ens = TimeSeriesEnsemble(
            TimeSeries(a, dt=0.01, t0=1.5e9, metadata={
                "net": "XX", "sta": f"S{i:04d}", "loc": "", "chan": "BHZ"})
            for i, a in enumerate(arrays))
        db.save_ensemble_data_binary_file(ens, dir="wf", dfile="ens.bin")
        client.close()
    return go


def raw_h5py(arrays):
    import h5py

    def go(tmp: Path):
        with h5py.File(tmp / "raw.h5", "w") as f:
            g = f.create_group("Waveforms")
            for i, a in enumerate(arrays):
                g.create_dataset(f"XX.S{i:04d}/BHZ", data=a)
    return go


def raw_h5py_chunked(arrays):
    """As raw h5py, but chunked datasets as pyasdf creates them (layout cost)."""
    import h5py

    def go(tmp: Path):
        with h5py.File(tmp / "rawc.h5", "w") as f:
            g = f.create_group("Waveforms")
            for i, a in enumerate(arrays):
                g.create_dataset(f"XX.S{i:04d}/BHZ", data=a, chunks=True)
    return go


def _stream(arrays):
    """The writers' input (a Stream), built once outside the timed write."""
    from obspy import Stream, Trace, UTCDateTime

    st = Stream()
    for i, a in enumerate(arrays):
        tr = Trace(data=a)
        tr.stats.update({"network": "XX", "station": f"S{i:04d}", "channel": "BHZ",
                         "delta": 0.01, "starttime": UTCDateTime(1.5e9)})
        st.append(tr)
    return st


def ours_h5py_writer(arrays):
    """spark_seis.io.asdf_writer.EventFileWriter: the job's event writer (h5py,
    pyasdf's dataset layout: chunked, maxshape None, fletcher32)."""
    import h5py
    from spark_seis.io.asdf_writer import EventFileWriter

    st = _stream(arrays)

    def go(tmp: Path):
        with h5py.File(tmp / "event.h5", "w") as h5:
            EventFileWriter(h5).write_waveforms(st, "observed")
    return go


def pyasdf_default_gzip(arrays):
    """pyasdf with its default compression (gzip-3): what not passing
    compression=None costs."""
    return ours_asdf(arrays, compression="gzip-3")


def ours_asdf(arrays, compression=None):
    import pyasdf
    from spark_seis.io.asdf_store import write_waveforms

    st = _stream(arrays)

    def go(tmp: Path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pyasdf.ASDFDataSet(str(tmp / "ours.h5"), mode="w", compression=compression)
            write_waveforms(ds, st, "observed")
            del ds
    return go


def db_rates(ndocs: int) -> dict:
    from spark_seis.db.client import get_client
    from spark_seis.db.crud_create import bulk_upsert
    from bson import ObjectId

    def docs():
        return [{"_id": ObjectId(), "net": "XX", "sta": f"S{i:05d}", "loc": "", "chan": "BHZ",
                 "npts": 10000, "delta": 0.01, "starttime": 1.5e9 + i, "dir": "wf",
                 "dfile": "data.bin", "foff": i * 80000, "nbytes": 80000,
                 "storage_mode": "file", "format": "binary", "data_tag": "observed",
                 "source_id": ObjectId(), "channel_id": ObjectId(), "site_id": ObjectId(),
                 "iteration": 1, "step_count": 0} for i in range(ndocs)]

    out = {}
    for name in ("insert_one loop", "replace_one(upsert) loop", "bulk_upsert"):
        with tempfile.TemporaryDirectory(prefix="bench_db_") as tmp:
            client = get_client(path=str(Path(tmp) / "store"))
            coll = client["bench"]["wf_TimeSeries"]
            batch = docs()
            t = time.perf_counter()
            if name == "insert_one loop":
                for d in batch:
                    coll.insert_one(d)
            elif name.startswith("replace_one"):
                for d in batch:
                    coll.replace_one({"_id": d["_id"]}, d, upsert=True)
            else:
                bulk_upsert(coll, batch)
            dt = time.perf_counter() - t
            assert coll.count_documents({}) == ndocs, name
            client.close()
        out[name] = ndocs / dt
    return out


def run(quick: bool) -> dict:
    cases = [(200, 10000), (20, 100000)] if quick else [(2000, 10000), (200, 100000)]
    repeat = 3 if quick else 5
    rows = []
    for n, npts in cases:
        arrays = make_traces(n, npts)
        mb = n * npts * 8 / 1e6
        t = {}
        for name, fac in (("raw file", raw_file), ("ours sample file", ours_sample_file),
                          ("ours ensemble (file+docs)", ours_ensemble),
                          ("raw h5py", raw_h5py), ("raw h5py, chunked", raw_h5py_chunked),
                          ("ours ASDF (pyasdf, compression=None)", ours_asdf),
                          ("ours ASDF event writer (h5py)", ours_h5py_writer),
                          ("pyasdf default gzip-3 (not ours)", pyasdf_default_gzip)):
            try:
                t[name] = best_of(fac(arrays), repeat)
            except Exception as exc:  # a piece not there yet: say so, never invent
                t[name] = None
                print(f"{name}: not measured ({type(exc).__name__}: {exc})")
        for name, secs in t.items():
            base = t["raw h5py"] if ("asdf" in name.lower() or "h5py" in name) else t["raw file"]
            rows.append({"traces": n, "npts": npts, "MB": mb, "writer": name,
                         "s": secs, "MB_per_s": (mb / secs) if secs else None,
                         "traces_per_s": (n / secs) if secs else None,
                         "ratio_vs_raw": (base / secs) if (secs and base) else None})
    ndocs = 300 if quick else 2000
    try:
        rates = db_rates(ndocs)
    except Exception as exc:
        print(f"db rates: not measured ({type(exc).__name__}: {exc})")
        rates = {}
    return {"machine": machine(), "git": git_rev(), "rows": rows, "db_docs": ndocs,
            "db_rates": rates}


def report(res: dict) -> str:
    out = [f"write bandwidth, ours vs raw of the same bytes ({res['machine']}; git {res['git']})",
           table(["traces x npts", "writer", "MB", "s", "MB/s", "traces/s", "ours/raw"],
                 [[f"{r['traces']} x {r['npts']}", r["writer"], r["MB"], r["s"] or "n/a",
                   r["MB_per_s"] or "n/a", r["traces_per_s"] or "n/a",
                   r["ratio_vs_raw"] if r["ratio_vs_raw"] else "n/a"] for r in res["rows"]])]
    if res["db_rates"]:
        single = res["db_rates"].get("insert_one loop")
        out.append(f"\nembedded store, {res['db_docs']} wf documents")
        out.append(table(["method", "docs/s", "vs insert_one loop"],
                         [[k, v, v / single] for k, v in res["db_rates"].items()]))
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    res = run(args.quick)
    save("writers", res)
    print(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
