"""Scale: a catalog generated from the real NZ data, ingested, run, inspected.

Run: python bench/bench_scale.py [--traces 600,6000] [--dir /tmp/bench_scale]
     [--plan-sizes 10000,100000] [--plan-store PATH_OF_A_bench_store.py_STORE]

Part 1, end to end per size: E events x S stations of NZ.BFZ's real observed
MiniSEED (station renamed, event times shifted by a day per event) and SPECFEM
synthetics (three components each, so 6 traces per station), QuakeML and
StationXML to match; then ``spark-seis ingest``, ``spark-seis run --master local[2]``
and ``spark-seis inspect`` as subprocesses, with stations/s per stage, peak memory of
the driver and of the Python workers (sampled from /proc), store size and query times.
Part 2, the planner alone on metadata-only stores (10k, 100k and, with
--plan-store, the 1M store of bench/bench_store.py): peak Python memory of the
driver's plan (tracemalloc) against materializing the job's wf documents as the
driver did before. Prints JSON; results in bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
NZ = ROOT / "tests" / "data" / "nz_2018p130600"
BIN = Path(sys.executable).parent
DAY = 86400.0


def generate(folder: Path, events: int, stations: int) -> int:
    """QuakeML, StationXML, MiniSEED and .semd files; returns the number of waveform files."""
    from obspy import read, read_events, read_inventory

    cat0, inv0 = read_events(str(NZ / "test_catalog_2018p130600.xml")), read_inventory(
        str(NZ / "test_dataless_NZ_BFZ.xml"))
    st0 = read(str(NZ / "mseed" / "*"))
    semd = {c: (NZ / "synthetics_BFZ" / f"NZ.BFZ.BX{c}.semd").read_text() for c in "ENZ"}
    data = folder / "data"
    data.mkdir(parents=True)
    cat = cat0.copy()
    cat.events = []
    for e in range(events):
        ev = cat0[0].copy()
        ev.resource_id = f"smi:nz.org.geonet/bench{e:05d}"
        for o in ev.origins:
            o.time += e * DAY
        cat.events.append(ev)
    cat.write(str(data / "catalog.xml"), format="QUAKEML")
    inv = inv0.copy()
    template = inv0[0][0]
    inv[0].stations = []
    for s in range(stations):
        sta = template.copy()
        sta.code = f"B{s:04d}"
        inv[0].stations.append(sta)
    inv.write(str(data / "stations.xml"), format="STATIONXML")
    files = 0
    for e in range(events):
        obs, syn = data / "mseed" / f"bench{e:05d}", data / "syn" / f"bench{e:05d}"
        obs.mkdir(parents=True)
        syn.mkdir(parents=True)
        for s in range(stations):
            for tr in st0:
                t = tr.copy()
                t.stats.station = f"B{s:04d}"
                t.stats.starttime += e * DAY
                t.write(str(obs / f"{t.id}.D"), format="MSEED")
            for c, text in semd.items():
                (syn / f"NZ.B{s:04d}.BX{c}.semd").write_text(text)
            files += 6
    return files


class PeakMemory:
    """Peak RSS of a process (driver) and of its pyspark worker descendants, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid, self.driver, self.workers, self._stop = pid, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _children(self) -> list[int]:
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            kids = []
            for task in Path(f"/proc/{pid}/task").glob("*"):  # the JVM forks from any thread
                try:
                    kids += (task / "children").read_text().split()
                except OSError:
                    continue
            out.extend(map(int, kids))
            todo.extend(map(int, kids))
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            self.driver = max(self.driver, self._rss(self.pid))
            workers = 0
            for pid in self._children():
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"pyspark" in cmd and b"java" not in cmd:
                    workers += self._rss(pid)
            self.workers = max(self.workers, workers)
            time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def timed_run(cmd: list[str], cwd: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    mem = PeakMemory(proc.pid)
    out, _ = proc.communicate()
    mem.stop()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return {"seconds": time.perf_counter() - t, "driver_peak_mb": mem.driver / 2 ** 20,
            "workers_peak_mb": mem.workers / 2 ** 20, "tail": out.strip().splitlines()[-3:]}


def end_to_end(base: Path, traces: int) -> dict:
    stations = max(1, min(50, traces // 6))
    events = max(1, traces // (6 * stations))
    folder = base / f"t{traces}"
    shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    files = generate(folder, events, stations)
    gen_s = time.perf_counter() - t
    (folder / "conf").mkdir()
    shutil.copy(ROOT / "conf" / "misfit.yaml", folder / "conf" / "misfit.yaml")
    (folder / "conf" / "job.yaml").write_text(
        "work_dir: work\nmisfit_config: misfit.yaml\niteration: 1\nstep_count: 0\n"
        "output_dir: output\nspecfem_adjoint_sources: false\n")
    n = events * stations
    res = {"traces": 6 * n, "events": events, "stations": n, "files": files,
           "generate_s": gen_s,
           "input_mb": sum(f.stat().st_size for f in (folder / "data").rglob("*")
                           if f.is_file()) / 2 ** 20}
    res["ingest"] = timed_run([str(BIN / "spark-seis"), "ingest", "-c", "conf/job.yaml",
                               "--no-progress", "data"], folder)
    res["run"] = timed_run([str(BIN / "spark-seis"), "run", "conf/job.yaml", "--master",
                            "local[2]", "--quiet"], folder)
    res["inspect"] = timed_run([str(BIN / "spark-seis"), "inspect", "--config", "conf/job.yaml",
                                "--level", "station", "--max-rows", "5"], folder)
    for stage in ("ingest", "run", "inspect"):
        res[stage]["stations_per_s"] = n / res[stage]["seconds"]
    store = folder / "work" / "mongo_store"
    res["store_mb"] = sum(f.stat().st_size for f in store.iterdir()) / 2 ** 20
    from spark_seis.db import Database, get_client

    db = Database(get_client(path=store), "spark_seis", storage_root=folder / "work" / "wf_data")
    src = db.source.find_one({})
    wf = db.wf_TimeSeries
    t = time.perf_counter()
    got = len(list(wf.find({"source_id": src["_id"]})))
    res["query_one_event_s"], res["query_one_event_docs"] = time.perf_counter() - t, got
    t = time.perf_counter()
    res["wf_documents"] = wf.count_documents({})
    res["count_s"] = time.perf_counter() - t
    return res


def plan_memory(store: str, observed_tag: str = "observed") -> dict:
    """Driver memory of the plan (peak, tracemalloc) vs. materializing every wf document."""
    from bench_store import open_db

    from spark_seis.db.crud_read import plain_document
    from spark_seis.engine.misfit_job import load_tables
    from spark_seis.engine.plan import plan_events
    from spark_seis.workflow.job_config import JobConfig

    job = JobConfig.from_dict({"misfit": {"iteration": 1, "step_count": 0},
                               "observed_tag": observed_tag,
                               "work_dir": "/tmp/unused"}, base=Path("/tmp"))
    db = open_db(store)
    out = {"documents": db.wf_TimeSeries.count_documents({})}
    steps = [("plan_events", lambda: load_tables(db, plan_events(db, job, False)))]
    if out["documents"] <= 200_000:  # the old way needs GBs at 1M: measured up to 200k only
        steps.append(("materialize_all", lambda: [plain_document(d) for d in
                                                  db.wf_TimeSeries.find({"data_tag": observed_tag})]))
    for name, fn in steps:
        tracemalloc.start()
        t = time.perf_counter()
        fn()
        out[f"{name}_s"] = time.perf_counter() - t
        out[f"{name}_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", default="600,6000")
    ap.add_argument("--plan-sizes", default="10000,100000")
    ap.add_argument("--plan-store", default=None)
    ap.add_argument("--dir", default="/tmp/bench_scale")
    args = ap.parse_args()
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    from bench_store import fill

    res: dict = {"plan": [], "end_to_end": []}
    for n in [int(x) for x in args.plan_sizes.split(",") if x]:
        path = str(base / f"plan{n}")
        shutil.rmtree(path, ignore_errors=True)
        fill(path, n)
        res["plan"].append(plan_memory(path))
        print(json.dumps(res["plan"][-1]), flush=True)
    if args.plan_store:
        res["plan"].append(plan_memory(args.plan_store))
        print(json.dumps(res["plan"][-1]), flush=True)
    for traces in [int(x) for x in args.traces.split(",") if x]:
        res["end_to_end"].append(end_to_end(base, traces))
        print(json.dumps(res["end_to_end"][-1], default=str), flush=True)
    print(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    main()
