"""Scale: a catalog generated from the real NZ data, ingested, run, inspected.

Run: python bench/bench_scale.py [--traces 10000,100000] [--job-events 6]
     [--chunk-events 67] [--dir /tmp/bench_scale] [--keep]
     [--plan-sizes 10000,100000] [--plan-store PATH_OF_A_bench_store.py_STORE]
     python bench/bench_scale.py --table OUTPUT.json ...   (markdown of earlier runs)

Part 1, end to end per size: events (2018p130600 moved a day each) x 250 stations of
NZ.BFZ's real MiniSEED records (headers rewritten: station code, start time), one file
per station and day with its three channels, and its SPECFEM synthetics as float32
MiniSEED, one multi-trace file per event; ``spark-seis ingest --spark`` of the whole
catalog (in chunks with --chunk-events, each chunk's input deleted after its ingest),
then ``spark-seis run --master local[2]`` on the SAME first --job-events events at every
size (only the catalog grows) and ``spark-seis inspect``, as subprocesses: stations/s
per stage, peak RSS and CPU seconds of the driver, the pyspark workers and the JVM
(sampled from /proc), store size, query and planning times in a fresh process, disk.
Part 2, the planner alone on metadata-only stores (10k, 100k and, with
--plan-store, the 1M store of bench/bench_store.py): peak Python memory of the
driver's plan (tracemalloc) against materializing the job's wf documents as the
driver did before. Prints JSON (one line per size) and a table; results in
bench/RESULTS.md section 8.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
NZ = ROOT / "tests" / "data" / "nz_2018p130600"
BIN = Path(sys.executable).parent
DAY = 86400.0


RECLEN = 4096
STATIONS_PER_EVENT = 250  # x 6 traces = 1,500 wf documents per event (as bench_store.py)


def _mseed_records(data: bytes) -> np.ndarray:
    """MiniSEED bytes as one row per 4096-byte record (the NZ files and ours use 4096)."""
    if len(data) % RECLEN:
        raise ValueError(f"MiniSEED of {len(data)} bytes is not whole {RECLEN}-byte records")
    return np.frombuffer(data, np.uint8).reshape(-1, RECLEN).copy()


def _shift_records(recs: np.ndarray, seconds: float) -> np.ndarray:
    """The records with their start time (fixed header BTIME, big-endian) moved by ``seconds``."""
    from obspy import UTCDateTime

    out = recs.copy()
    for row in out:
        y, d, h, m, s, _u, frac = struct.unpack(">HHBBBBH", row[20:30].tobytes())
        t = UTCDateTime(year=y, julday=d, hour=h, minute=m, second=s,
                        microsecond=frac * 100) + seconds
        row[20:30] = np.frombuffer(struct.pack(">HHBBBBH", t.year, t.julday, t.hour, t.minute,
                                               t.second, 0, t.microsecond // 100), np.uint8)
    return out


def _with_station(recs: np.ndarray, code: str) -> bytes:
    out = recs.copy()
    out[:, 8:13] = np.frombuffer(code.ljust(5).encode(), np.uint8)
    return out.tobytes()


def _first_records(recs: np.ndarray, keep: int) -> np.ndarray:
    """The first ``keep`` records of every trace (same network/station/location/channel
    header bytes): a shorter trace, still real data, for catalogs beyond the disk."""
    seen: dict[bytes, int] = {}
    rows = []
    for i, row in enumerate(recs):
        key = row[8:20].tobytes()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= keep:
            rows.append(i)
    return recs[rows]


def _synthetic_template(origin) -> np.ndarray:
    """NZ.BFZ's SPECFEM synthetics as float32 MiniSEED records (three traces)."""
    from spark_seis.io.specfem import read_semd

    out = io.BytesIO()
    for c in "ENZ":
        tr = read_semd(NZ / "synthetics_BFZ" / f"NZ.BFZ.BX{c}.semd", origin)[0]
        tr.data = tr.data.astype(np.float32)
        del tr.stats.time_offset
        tr.write(out, format="MSEED", encoding="FLOAT32", reclen=RECLEN)
    return _mseed_records(out.getvalue())


def generate(folder: Path, events: int | range, stations: int, short_from: int | None = None,
             short_records: int = 0) -> dict:
    """QuakeML, StationXML and MiniSEED in grouped files, from the real NZ.BFZ data.

    Event e is 2018p130600 moved by e days (arrivals dropped: the catalog carries no
    picks). Observed: NZ.BFZ's real records (Steim2, 37,001 samples per channel) with
    station code and start times rewritten in the record headers, one file per
    station and day holding its three channels, as a data centre delivers them.
    Synthetic: the SPECFEM traces of NZ.BFZ as float32 MiniSEED, one multi-trace file
    per event holding every station. ``events``: how many, or which (a range, for a
    catalog generated and ingested in chunks). From event ``short_from`` on, each trace
    keeps only its first ``short_records`` records (``--short-records``: the largest
    catalog on a small disk; the job's events stay at full length). Returns file counts
    and bytes.
    """
    from obspy import read, read_events, read_inventory

    cat0 = read_events(str(NZ / "test_catalog_2018p130600.xml"))
    inv0 = read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    origin = cat0[0].preferred_origin() or cat0[0].origins[0]
    data = folder / "data"
    data.mkdir(parents=True)
    events = range(events) if isinstance(events, int) else events
    cat = cat0.copy()
    cat.events = []
    for e in events:
        ev = cat0[0].copy()
        ev.resource_id = f"smi:nz.org.geonet/bench{e:05d}"
        for o in ev.origins:
            o.time += e * DAY
            o.arrivals = []
        cat.events.append(ev)
    cat.write(str(data / "catalog.xml"), format="QUAKEML")
    inv = inv0.copy()
    template = inv0[0][0]
    inv[0].stations = []
    codes = [f"B{s:04d}" for s in range(stations)]
    for code in codes:
        sta = template.copy()
        sta.code = code
        inv[0].stations.append(sta)
    inv.write(str(data / "stations.xml"), format="STATIONXML")
    obs0 = _mseed_records(b"".join((NZ / "mseed" / f"NZ.BFZ.10.HH{c}.D.2018.049").read_bytes()
                                   for c in "ENZ"))
    syn0 = _synthetic_template(origin.time)
    files = 0
    obs_short, syn_short = _first_records(obs0, short_records), _first_records(syn0, short_records)
    for e in events:
        short = short_records and short_from is not None and e >= short_from
        obs_e = _shift_records(obs_short if short else obs0, e * DAY)
        syn_e = _shift_records(syn_short if short else syn0, e * DAY)
        day = origin.time + e * DAY
        obs_dir = data / "mseed" / f"{day.year}" / f"{day.julday:03d}"
        obs_dir.mkdir(parents=True)
        for code in codes:
            (obs_dir / f"NZ.{code}.10.HH.D.{day.year}.{day.julday:03d}.mseed").write_bytes(
                _with_station(obs_e, code))
        syn_dir = data / "synthetics"
        syn_dir.mkdir(exist_ok=True)
        with open(syn_dir / f"bench{e:05d}.NZ.BX.mseed", "wb") as fh:
            for code in codes:
                fh.write(_with_station(syn_e, code))
        files += stations + 1
    # the rewritten headers are read back by ObsPy: codes, times and samples as intended
    day = origin.time + events[0] * DAY
    first = read(str(data / "mseed" / f"{day.year}" / f"{day.julday:03d}"
                     / f"NZ.B0000.10.HH.D.{day.year}.{day.julday:03d}.mseed"))
    real = read(str(NZ / "mseed" / "*"))
    assert len(first) == 3 and first[0].stats.station == "B0000", first
    assert all((a.data == b.data[:len(a.data)]).all() and len(a.data) > 0
               for a, b in zip(sorted(first, key=lambda t: t.id), sorted(real, key=lambda t: t.id)))
    if not (short_records and short_from is not None and events[0] >= short_from):
        assert all(len(a.data) == len(b.data) for a, b in zip(first, real))
    syn = read(str(data / "synthetics" / f"bench{events[0]:05d}.NZ.BX.mseed"), headonly=True)
    assert len(syn) == 3 * stations, syn
    return {"files": files + 2, "input_mb": sum(f.stat().st_size for f in data.rglob("*")
                                                if f.is_file()) / 2 ** 20}


class PeakMemory:
    """Peak RSS, sampled from /proc every 0.2 s: the process itself (driver), its Python
    workers (pyspark daemon and workers) and its JVM (in local mode the JVM is both
    Spark's driver side and the executor)."""

    def __init__(self, pid: int) -> None:
        self.pid, self._stop = pid, threading.Event()
        self.peak = {"driver": 0, "workers": 0, "jvm": 0}
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (kind, CPU seconds)
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

    @staticmethod
    def _cpu(pid: int) -> float:
        """User + system CPU seconds of a process so far."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        while not self._stop.is_set():
            now = {"driver": self._rss(self.pid), "workers": 0, "jvm": 0}
            self.cpu[self.pid] = ("driver", max(self.cpu.get(self.pid, ("", 0.0))[1],
                                                self._cpu(self.pid)))
            for pid in self._children():
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                kind = ("jvm" if b"java" in cmd.split(b"\0")[0] else
                        "workers" if b"pyspark" in cmd else None)
                if kind:
                    now[kind] += self._rss(pid)
                    self.cpu[pid] = (kind, max(self.cpu.get(pid, ("", 0.0))[1], self._cpu(pid)))
            for key, value in now.items():
                self.peak[key] = max(self.peak[key], value)
            time.sleep(0.2)

    def stop(self) -> dict:
        """Peak MB per kind, and CPU seconds per kind (as last sampled: a process's final
        0.2 s may be missing)."""
        self._stop.set()
        self._thread.join()
        out = {f"{k}_peak_mb": round(v / 2 ** 20, 1) for k, v in self.peak.items()}
        for kind in self.peak:
            out[f"{kind}_cpu_s"] = round(sum(c for k, c in self.cpu.values() if k == kind), 1)
        return out


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def timed_run(cmd: list[str], cwd: Path) -> dict:
    load = load_average()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    mem = PeakMemory(proc.pid)
    out, _ = proc.communicate()
    peaks = mem.stop()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    return {"seconds": round(time.perf_counter() - t, 2), **peaks, "load_before": load,
            "load_after": load_average(), "tail": out.strip().splitlines()[-4:]}


PROBE = """
import json, sys, time
t = time.perf_counter()
from spark_seis.db.client import get_database
from spark_seis.engine.misfit_job import load_tables
from spark_seis.engine.plan import plan_events
from spark_seis.workflow.job_config import JobConfig
imports = time.perf_counter() - t
job = JobConfig.load(sys.argv[1], {"events": sys.argv[2].split(",")})
out = {"imports_s": imports}
t = time.perf_counter()
db = get_database(job.database_config())
wf = db.db[db.wf_collection]
src = db.db["source"].find_one({"event_id": job.events[0]}, {"_id": 1})["_id"]
docs = list(wf.find({"source_id": src}))
out["open_first_find_s"], out["first_find_docs"] = time.perf_counter() - t, len(docs)
t = time.perf_counter()
docs = list(wf.find({"source_id": src}))
out["find_event_s"] = time.perf_counter() - t
t = time.perf_counter()
out["wf_documents"] = wf.count_documents({})
out["count_all_s"] = time.perf_counter() - t
t = time.perf_counter()
out["event_count"] = wf.count_documents({"source_id": src})
out["count_event_s"] = time.perf_counter() - t
t = time.perf_counter()
plan = plan_events(db, job, False)
load_tables(db, plan)
out["plan_s"], out["plan_stations"] = time.perf_counter() - t, plan.total
print(json.dumps(out))
"""


def probe_store(folder: Path, events: list[str]) -> dict:
    """Query times and the driver's plan of the job's events, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", PROBE, "conf/job.yaml", ",".join(events)],
                         cwd=folder, capture_output=True, text=True, check=True)
    return {k: round(v, 4) if isinstance(v, float) else v
            for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2 ** 20


def end_to_end(base: Path, traces: int, job_events: int, keep: bool = False,
               stations: int = STATIONS_PER_EVENT, chunk_events: int = 0,
               short_records: int = 0) -> dict:
    """One catalog size: generate, ingest (all), run + inspect (the first ``job_events``)."""
    events = max(job_events, round(traces / (6 * stations)))
    folder = base / f"t{traces}"
    shutil.rmtree(folder, ignore_errors=True)
    res: dict = {"traces": 6 * events * stations, "events": events,
                 "stations_per_event": stations, "load_start": load_average(),
                 "short_records": short_records}
    (folder / "conf").mkdir(parents=True)
    shutil.copy(ROOT / "conf" / "misfit.yaml", folder / "conf" / "misfit.yaml")
    (folder / "conf" / "job.yaml").write_text(
        "work_dir: work\nmisfit_config: misfit.yaml\niteration: 1\nstep_count: 0\n"
        "output_dir: output\nspecfem_adjoint_sources: false\n")
    spark_seis = str(BIN / "spark-seis")
    # the Spark ingest at every size (its default only from 2,000 files), so sizes compare
    ingest = [spark_seis, "ingest", "-c", "conf/job.yaml", "--no-progress", "--spark",
              "--master", "local[2]"]
    chunk = chunk_events or events
    res.update(files=0, input_mb=0.0, generate_s=0.0, ingest_s=0.0, chunks=[])
    for first in range(0, events, chunk):
        # a chunk: generated, ingested, and (when chunked) its input deleted, as new data
        # arrive and are ingested day by day; the store keeps growing
        t = time.perf_counter()
        got = generate(folder, range(first, min(events, first + chunk)), stations,
                       short_from=job_events, short_records=short_records)
        res["generate_s"] += time.perf_counter() - t
        res["files"] += got["files"]
        res["input_mb"] += got["input_mb"]
        step = {"events": f"{first}-{min(events, first + chunk) - 1}",
                "store_docs_before": 6 * first * stations}
        step["observed"] = timed_run(ingest + ["data/catalog.xml", "data/stations.xml",
                                               "data/mseed"], folder)
        step["synthetic"] = timed_run(ingest + ["--tag", "synthetic_i01s00",
                                                "data/synthetics"], folder)
        seconds = step["observed"]["seconds"] + step["synthetic"]["seconds"]
        step["traces_per_s"] = round(6 * stations * (min(events, first + chunk) - first)
                                     / seconds, 1)
        res["ingest_s"] += seconds
        res["chunks"].append(step)
        res["disk_peak_mb"] = max(res.get("disk_peak_mb", 0.0), round(du_mb(folder), 1))
        if chunk_events:
            shutil.rmtree(folder / "data")
    res["input_mb"] = round(res["input_mb"], 1)
    res["generate_s"] = round(res["generate_s"], 1)
    res["ingest_observed"] = res["chunks"][0]["observed"]
    res["ingest_synthetic"] = res["chunks"][0]["synthetic"]
    ingest_s = res["ingest_s"]
    res["ingest_stations_per_s"] = round(events * stations / ingest_s, 2)
    res["ingest_traces_per_s"] = round(res["traces"] / ingest_s, 1)
    store = folder / "work" / "mongo_store"
    res["store_mb"] = round(du_mb(store), 1)
    res["sample_files_mb"] = round(du_mb(folder / "work" / "wf_data"), 1)
    chosen = [f"bench{e:05d}" for e in range(job_events)]
    res["probe"] = probe_store(folder, chosen)
    subset = job_events * stations
    run = [spark_seis, "run", "conf/job.yaml", "--master", "local[2]", "--quiet"]
    for name in chosen:
        run += ["--event", name]
    res["run"] = timed_run(run, folder)
    summary = json.loads((folder / "work" / "output" / "run_summary.json").read_text()) \
        if (folder / "work" / "output" / "run_summary.json").exists() else \
        json.loads(next(folder.rglob("run_summary.json")).read_text())
    res["run"]["summary"] = {k: summary.get(k) for k in ("seconds", "stations", "ok", "dead",
                                                         "events", "dead_reasons")}
    res["run"]["stations_per_s"] = round(subset / res["run"]["seconds"], 3)
    job_line = next(line for line in res["run"]["tail"] if line.startswith("misfit job:"))
    res["run"]["job_s"] = float(re.search(r" in ([0-9.]+) s", job_line).group(1))
    res["run"]["job_stations_per_s"] = round(subset / res["run"]["job_s"], 3)
    cpu = sum(res["run"][f"{k}_cpu_s"] for k in ("driver", "workers", "jvm"))
    res["run"]["stations_per_cpu_s"] = round(subset / cpu, 3) if cpu else None
    if res["run"]["summary"]["ok"] != subset:
        raise RuntimeError(f"the job did not finish every station: {res['run']['summary']}")
    res["inspect"] = timed_run([spark_seis, "inspect", "--config", "conf/job.yaml",
                                "--level", "station", "--max-rows", "5"], folder)
    res["inspect"]["stations_per_s"] = round(subset / res["inspect"]["seconds"], 2)
    res["disk_mb"] = round(du_mb(folder), 1)
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
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


def _chunks(r: dict) -> list[dict]:
    return r.get("chunks") or [{"observed": r["ingest_observed"],
                                "synthetic": r["ingest_synthetic"]}]


ROWS = [  # (label, how to get it from one size's result)
    ("wf documents", lambda r: r["probe"]["wf_documents"]),
    ("events x stations in the catalog", lambda r: f"{r['events']} x {r['stations_per_event']}"),
    ("input files / MB", lambda r: f"{r['files']:,} / {r['input_mb']:,.0f}"),
    ("ingest: traces/s (stations/s)",
     lambda r: f"{r['ingest_traces_per_s']:.0f} ({r['ingest_stations_per_s']:.1f})"),
    ("ingest: driver / workers / JVM peak MB", lambda r: "{:.0f} / {:.0f} / {:.0f}".format(
        *(max(c[k][f"{m}_peak_mb"] for c in _chunks(r) for k in ("observed", "synthetic"))
          for m in ("driver", "workers", "jvm")))),
    ("store MB / sample files MB", lambda r: f"{r['store_mb']:,.0f} / {r['sample_files_mb']:,.0f}"),
    ("open store + first find (1,500 docs), fresh process, s",
     lambda r: f"{r['probe']['open_first_find_s']:.3f}"),
    ("find 1,500 docs (warm), s", lambda r: f"{r['probe']['find_event_s']:.3f}"),
    ("count_documents({}) / by source_id, ms", lambda r: "{:.1f} / {:.1f}".format(
        1000 * r["probe"]["count_all_s"], 1000 * r["probe"]["count_event_s"])),
    ("plan of the job's events (driver), s", lambda r: f"{r['probe']['plan_s']:.3f}"),
    ("job: stations/s (job's own seconds)",
     lambda r: f"{r['run']['job_stations_per_s']:.2f} ({r['run']['job_s']:.0f} s)"),
    ("run command: stations per CPU-second (driver + workers + JVM)",
     lambda r: r["run"].get("stations_per_cpu_s") or "not sampled"),
    ("run command: stations/s (wall, with Spark start)",
     lambda r: f"{r['run']['stations_per_s']:.2f} ({r['run']['seconds']:.0f} s)"),
    ("run: driver / Python workers / JVM peak MB", lambda r: "{:.0f} / {:.0f} / {:.0f}".format(
        r["run"]["driver_peak_mb"], r["run"]["workers_peak_mb"], r["run"]["jvm_peak_mb"])),
    ("inspect s (driver peak MB)",
     lambda r: f"{r['inspect']['seconds']:.1f} ({r['inspect']['driver_peak_mb']:.0f})"),
    ("disk: peak / at the end, GB", lambda r: "{:.1f} / {:.1f}".format(
        r.get("disk_peak_mb", r["disk_mb"]) / 1024, r["disk_mb"] / 1024)),
    ("load average (start of run; 1 min)", lambda r: r["run"]["load_before"].split("'")[1]),
]


def table(results: list[dict]) -> str:
    """Markdown: one column per size, then each size's job and memory over the first's."""
    head = "| | " + " | ".join(f"{r['probe']['wf_documents']:,} docs" for r in results) + " |"
    lines = [head, "|---" * (len(results) + 1) + "|"]
    for label, get in ROWS:
        lines.append(f"| {label} | " + " | ".join(str(get(r)) for r in results) + " |")
    base = results[0]
    for r in results[1:]:
        n = r["probe"]["wf_documents"] / base["probe"]["wf_documents"]
        lines.append(
            f"\n{n:.1f}x the documents: job throughput x"
            f"{r['run']['job_stations_per_s'] / base['run']['job_stations_per_s']:.3f}, "
            f"run driver peak x{r['run']['driver_peak_mb'] / base['run']['driver_peak_mb']:.3f}, "
            f"plan time x{r['probe']['plan_s'] / base['probe']['plan_s']:.2f}, "
            f"ingest traces/s x{r['ingest_traces_per_s'] / base['ingest_traces_per_s']:.3f}, "
            f"open+first find x{r['probe']['open_first_find_s'] / base['probe']['open_first_find_s']:.2f}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traces", default="10000", help="catalog sizes end to end (wf documents)")
    ap.add_argument("--job-events", type=int, default=6,
                    help="events the job runs at every size (x 250 stations)")
    ap.add_argument("--plan-sizes", default="", help="part 2: planner alone on these sizes")
    ap.add_argument("--plan-store", default=None)
    ap.add_argument("--dir", default="/tmp/bench_scale")
    ap.add_argument("--keep", action="store_true", help="keep each size's folder")
    ap.add_argument("--table", nargs="+", metavar="JSON",
                    help="only print the markdown table of earlier runs' output lines")
    ap.add_argument("--chunk-events", type=int, default=0,
                    help="generate and ingest this many events at a time, deleting each "
                         "chunk's input after its ingest (catalogs larger than the disk)")
    ap.add_argument("--short-records", type=int, default=0,
                    help="events beyond the job's keep only this many 4 KB records per "
                         "trace (the largest catalog on a small disk; say so with the results)")
    ap.add_argument("--stations", type=int, default=STATIONS_PER_EVENT,
                    help="stations per event (a smoke test may use fewer)")
    args = ap.parse_args()
    if args.table:
        found = []
        for path in args.table:
            for line in Path(path).read_text().splitlines():
                if line.startswith('{"traces"'):
                    found.append(json.loads(line))
        print(table(sorted(found, key=lambda r: r["traces"])))
        return
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)

    res: dict = {"plan": [], "end_to_end": []}
    for n in [int(x) for x in args.plan_sizes.split(",") if x]:
        from bench_store import fill

        path = str(base / f"plan{n}")
        shutil.rmtree(path, ignore_errors=True)
        fill(path, n)
        res["plan"].append(plan_memory(path))
        print(json.dumps(res["plan"][-1]), flush=True)
    if args.plan_store:
        res["plan"].append(plan_memory(args.plan_store))
        print(json.dumps(res["plan"][-1]), flush=True)
    for traces in [int(x) for x in args.traces.split(",") if x]:
        res["end_to_end"].append(end_to_end(base, traces, args.job_events, args.keep,
                                                 args.stations, args.chunk_events,
                                                 args.short_records))
        print(json.dumps(res["end_to_end"][-1], default=str), flush=True)
    print(json.dumps(res, indent=1, default=str))
    if res["end_to_end"]:
        print(table(res["end_to_end"]))


if __name__ == "__main__":
    main()
