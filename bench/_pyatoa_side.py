"""Pyatoa's side of bench_misfit.py: time Pyatoa's own Manager.flow() on NZ.BFZ.

Runs inside the Pyatoa venv (numpy<2; see setup_env.sh) and imports nothing
from spark_seis. Prints one JSON document on stdout.

    python bench/_pyatoa_side.py --data DIR --n 10 [--profile OUT.prof]
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def load(data: Path):
    from _common import load_nz

    return load_nz(data)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--n", type=int, default=10, help="timed stations (after 1 warm-up)")
    ap.add_argument("--profile", default=None, help="write cProfile stats here")
    args = ap.parse_args(argv)

    t_import = time.perf_counter()
    import numpy as np
    import obspy
    import pyadjoint
    import pyatoa
    from pyatoa import Config, Manager
    t_import = time.perf_counter() - t_import
    pyatoa.logger.setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")

    inv, event, st_obs, st_syn = load(args.data)

    def one():
        # exactly Pyatoa's own test of the full workflow: Config(event_id),
        # defaults (10-100 s), response removed to displacement
        mgmt = Manager(config=Config(event_id="2018p130600"), event=event,
                       st_obs=st_obs, st_syn=st_syn, inv=inv)
        mgmt.flow(remove_response=True, output="DISP")
        return mgmt

    # stage timings of one run, through the public steps flow() calls
    def staged():
        out = {}
        t = time.perf_counter()
        mgmt = Manager(config=Config(event_id="2018p130600"), event=event,
                       st_obs=st_obs, st_syn=st_syn, inv=inv)
        out["init"] = time.perf_counter() - t; t = time.perf_counter()
        mgmt.standardize(standardize_to="syn")
        out["standardize"] = time.perf_counter() - t; t = time.perf_counter()
        mgmt.preprocess(remove_response=True, output="DISP")
        out["preprocess"] = time.perf_counter() - t; t = time.perf_counter()
        mgmt.window()
        out["window"] = time.perf_counter() - t; t = time.perf_counter()
        mgmt.measure()
        out["measure"] = time.perf_counter() - t
        return out

    t0 = time.perf_counter()
    mgmt = one()
    first = time.perf_counter() - t0

    from _profile_summary import timed_runs

    _results, times, profile = timed_runs(one, args.n, args.profile)
    stages = [staged() for _ in range(max(1, min(3, args.n)))]
    stage_med = {k: statistics.median(s[k] for s in stages) for k in stages[0]}

    windows = {c: [{"left_index": int(w.left), "right_index": int(w.right),
                    "cc_shift_in_samples": int(w.cc_shift),
                    "max_cc_value": float(w.max_cc_value), "dlnA": float(w.dlnA)}
                   for w in ws] for c, ws in mgmt.windows.items()}
    misfit = {c: float(a.misfit) for c, a in mgmt.adjsrcs.items()}
    import importlib.metadata as md
    doc = {
        "tool": "pyatoa",
        "versions": {p: md.version(p) for p in
                     ("pyatoa", "numpy", "obspy", "pyflex", "pyadjoint", "scipy")},
        "python": sys.version.split()[0],
        "import_s": t_import,
        "first_station_s": first,
        "station_s": times,
        "median_station_s": statistics.median(times) if times else None,
        "stage_median_s": stage_med,
        "profile_per_station_s": profile,
        "nwin": int(mgmt.stats.nwin),
        "windows": windows,
        "misfit": misfit,
        "total_misfit": float(sum(misfit.values())),
        "event_misfit": float(mgmt.stats.misfit) if mgmt.stats.misfit is not None else None,
    }
    json.dump(doc, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
