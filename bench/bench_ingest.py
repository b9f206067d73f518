"""Ingest at scale: `spark-seis ingest` serial vs on Spark, on 10,000+ files.

Run: python bench/bench_ingest.py [--events 20] [--stations 100] [--dir /tmp/bench_ingest]
     [--modes serial,spark] [--master local[2]] [--keep]

Builds a folder as stations and SPECFEM deliver it, from the real NZ data in
tests/data/nz_2018p130600 (as bench/bench_scale.py's ``generate`` derives events
and stations: event times shifted a day per event, station BFZ renamed B0000...):

- MiniSEED in an SDS tree, one file per channel per day:
  ``sds/2018/NZ/B0001/HHZ.D/NZ.B0001.10.HHZ.D.2018.049``. Each file holds the real
  NZ.BFZ record (37,001 samples at 100 Hz, ~66 KB), not a whole day: 10,000
  day-long files at 100 Hz would be ~40 GB, beyond this machine's disk budget.
  Ingest indexes the records as they are, so per-file work (read, identify,
  copy, index) is that of a short day file.
- SPECFEM synthetics, the real ``.semd`` text (single-precision time column as
  SPECFEM writes it), one folder per event: ``syn/<event_id>/NZ.B0001.BXZ.semd``.
- one QuakeML with every event, one StationXML with every station.

Then, for each mode, a fresh project folder and ``spark-seis ingest`` as a
subprocess (first run, then a rerun that must add nothing): wall s, files/s,
stations/s (a station = one event x one station, 6 files), CPU s of the process
tree, peak RSS of the driver and of the Python workers (sampled from /proc) and
the load average before and after. Both modes run one after the other on the
same files, so their ratio is measured side by side. Prints JSON.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
NZ = ROOT / "tests" / "data" / "nz_2018p130600"
BIN = Path(sys.executable).parent
DAY = 86400.0


def generate(folder: Path, events: int, stations: int) -> dict:
    """QuakeML, StationXML, SDS MiniSEED day files and .semd files; counts and bytes."""
    from obspy import read, read_events, read_inventory

    cat0 = read_events(str(NZ / "test_catalog_2018p130600.xml"))
    inv0 = read_inventory(str(NZ / "test_dataless_NZ_BFZ.xml"))
    st0 = read(str(NZ / "mseed" / "*"))
    semd = {c: (NZ / "synthetics_BFZ" / f"NZ.BFZ.BX{c}.semd").read_bytes() for c in "ENZ"}
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
    inv[0].stations = []
    for s in range(stations):
        sta = inv0[0][0].copy()
        sta.code = f"B{s:04d}"
        inv[0].stations.append(sta)
    inv.write(str(data / "stations.xml"), format="STATIONXML")
    counts = {"mseed": 0, "semd": 0}
    for e in range(events):
        syn = data / "syn" / f"bench{e:05d}"
        syn.mkdir(parents=True)
        for s in range(stations):
            for tr in st0:
                t = tr.copy()
                t.stats.station = f"B{s:04d}"
                t.stats.starttime += e * DAY
                day = t.stats.starttime
                sds = (data / "sds" / f"{day.year}" / t.stats.network / t.stats.station /
                       f"{t.stats.channel}.D")
                sds.mkdir(parents=True, exist_ok=True)
                t.write(str(sds / f"{t.id}.D.{day.year}.{day.julday:03d}"), format="MSEED",
                        reclen=4096)
                counts["mseed"] += 1
            for c, text in semd.items():
                (syn / f"NZ.B{s:04d}.BX{c}.semd").write_bytes(text)
                counts["semd"] += 1
    counts["bytes"] = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    return counts


class TreeCpu:
    """CPU seconds (utime + stime) of a process and all its descendants (the JVM, the
    Python workers), sampled from /proc: each pid's last value counts even after it
    exits, which getrusage(RUSAGE_CHILDREN) misses for processes nobody waited for."""

    def __init__(self, pid: int) -> None:
        self.pid, self.last, self.kind, self._stop = pid, {}, {}, threading.Event()
        self._tick = os.sysconf("SC_CLK_TCK")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        todo = [self.pid]
        while todo:
            p = todo.pop()
            try:
                fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
                cmd = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")  # spark-submit execs java
                self.kind[p] = ("jvm" if cmd[0].endswith(b"java") else
                                "workers" if any(b"pyspark" in c for c in cmd) else "driver")
                self.last[p] = (int(fields[11]) + int(fields[12])) / self._tick
                for task in Path(f"/proc/{p}/task").glob("*"):
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, IndexError, ValueError):
                continue

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(0.2)

    def stop(self) -> dict[str, float]:
        """CPU s in total and per kind of process (driver, jvm, workers)."""
        self._stop.set()
        self._thread.join()
        out = {"total": sum(self.last.values())}
        for pid, cpu in self.last.items():
            out[self.kind[pid]] = out.get(self.kind[pid], 0.0) + cpu
        return out


def run_ingest(project: Path, args: list[str]) -> dict:
    """One `spark-seis ingest` subprocess: wall, CPU of its process tree, peak RSS, load."""
    from bench_scale import PeakMemory

    load0 = os.getloadavg()
    t = time.perf_counter()
    proc = subprocess.Popen([str(BIN / "spark-seis"), "ingest", "-c", "conf/job.yaml", *args],
                            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    mem, cpu_meter = PeakMemory(proc.pid), TreeCpu(proc.pid)
    out, _ = proc.communicate()
    wall = time.perf_counter() - t
    mem.stop()
    cpu = cpu_meter.stop()
    if proc.returncode not in (0,):
        raise RuntimeError(f"ingest exited {proc.returncode}:\n{out[-3000:]}")
    return {"seconds": wall, "cpu_s": cpu["total"], "cpu_s_by_process": cpu, "driver_peak_mb": mem.driver / 2 ** 20,
            "workers_peak_mb": mem.workers / 2 ** 20, "load_before": load0,
            "load_after": os.getloadavg(),
            "summary": [ln for ln in out.splitlines() if ln.startswith(("files read", "added",
                                                                        "already", "skipped"))]}


def project(base: Path, name: str) -> Path:
    folder = base / name
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "conf").mkdir(parents=True)
    shutil.copy(ROOT / "conf" / "misfit.yaml", folder / "conf" / "misfit.yaml")
    (folder / "conf" / "job.yaml").write_text(
        "work_dir: work\nmisfit_config: misfit.yaml\niteration: 1\nstep_count: 0\n"
        "output_dir: output\n")
    return folder


def ingest_then_job(base: Path, data: Path, stations: int, master: str) -> dict:
    """Side by side on the same stations: serial ingest of one event's files, then the
    misfit job (`spark-seis run --master MASTER`), each as a subprocess, in stations/s."""
    folder = project(base, "job")
    sub = folder / "data"
    for name in ("catalog.xml", "stations.xml"):
        (sub / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(data / name, sub / name)
    wanted = {f"B{s:04d}" for s in range(stations)}
    files = [f for f in (data / "sds").rglob("*") if f.is_file()
             and f.name.split(".")[1] in wanted and f.name.endswith(".049")]
    files += [f for f in (data / "syn" / "bench00000").iterdir() if f.name.split(".")[1] in wanted]
    for f in files:
        target = sub / f.relative_to(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f, target)
    out = {"stations": stations, "files": len(files)}
    out["ingest"] = run_ingest(folder, ["--no-progress", "--serial", str(sub)])
    load0 = os.getloadavg()
    t = time.perf_counter()
    proc = subprocess.run([str(BIN / "spark-seis"), "run", "conf/job.yaml", "--master", master,
                           "--quiet"], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    wall = time.perf_counter() - t
    if proc.returncode:
        raise RuntimeError(f"spark-seis run exited {proc.returncode}:\n{proc.stdout[-2000:]}"
                           f"{proc.stderr[-2000:]}")
    summary = json.loads((folder / "work" / "output" / "run_summary.json").read_text())
    out["job"] = {"seconds": wall, "job_summary_seconds": summary.get("seconds"),
                  "ok": summary.get("ok"), "load_before": load0,
                  "load_after": os.getloadavg(), "master": master}
    for stage in ("ingest", "job"):
        out[stage]["stations_per_s"] = stations / out[stage]["seconds"]
    out["ingest_over_job_stations_per_s"] = out["job"]["seconds"] / out["ingest"]["seconds"]
    shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--stations", type=int, default=100)
    ap.add_argument("--dir", default="/tmp/bench_ingest")
    ap.add_argument("--modes", default="serial,spark,spark,serial",
                    help="runs in this order (ABBA cancels a drifting machine load)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--job-stations", type=int, default=0,
                    help="also ingest one event x N stations and run the misfit job on them "
                         "(side-by-side stations/s of ingest and job)")
    args = ap.parse_args()
    base = Path(args.dir)
    data = base / "input"
    res: dict = {"events": args.events, "stations": args.stations, "uptime_start":
                 subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    if not (data / "data").exists():
        t = time.perf_counter()
        res["input"] = generate(data, args.events, args.stations)
        res["generate_s"] = time.perf_counter() - t
    else:
        res["input"] = {"bytes": sum(f.stat().st_size for f in (data / "data").rglob("*")
                                     if f.is_file())}
    files = sum(1 for f in (data / "data").rglob("*") if f.is_file())
    res["files"] = files
    stations = args.events * args.stations
    print(json.dumps(res), flush=True)
    runs = []
    for mode in [m for m in args.modes.split(",") if m]:  # e.g. serial,spark,spark,serial
        folder = project(base, mode)
        flags = ["--no-progress", "--serial"] if mode == "serial" else [
            "--no-progress", "--spark", "--master", args.master]
        out = {"mode": mode, "command": f"spark-seis ingest -c conf/job.yaml {' '.join(flags)} "
                                        f"{data / 'data'}"}
        for run in ("first", "rerun"):
            r = run_ingest(folder, [*flags, str(data / "data")])
            r["files_per_s"] = files / r["seconds"]
            r["stations_per_s"] = stations / r["seconds"]
            r["cpu_ms_per_file"] = 1000 * r["cpu_s"] / files
            out[run] = r
        work = folder / "work"
        out["store_mb"] = sum(f.stat().st_size for f in work.rglob("*") if f.is_file()) / 2 ** 20
        runs.append(out)
        print(json.dumps(out), flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    res["runs"] = runs
    best = {m: min(r["first"]["seconds"] for r in runs if r["mode"] == m)
            for m in {r["mode"] for r in runs}}
    if {"serial", "spark"} <= set(best):
        res["spark_over_serial_best_wall"] = best["serial"] / best["spark"]
    if args.job_stations:
        res["ingest_then_job"] = ingest_then_job(base, data / "data", args.job_stations,
                                                 args.master)
        print(json.dumps(res["ingest_then_job"]), flush=True)
    res["uptime_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(json.dumps(res, indent=1))
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
