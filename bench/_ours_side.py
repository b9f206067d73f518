"""Our side of bench_misfit.py: time spark_seis process_station on NZ.BFZ.

Runs in the project's (or the bench) venv. Prints one JSON document on stdout.

    python bench/_ours_side.py --data DIR --n 10 [--tt cold|warm] [--profile OUT.prof]

--tt cold (default) clears every per-process cache in spark_seis.processing
(travel times, instrument responses, ...) before every station, so each timed
call pays what a never-seen station would; only the TauP model stays loaded
(once per worker process, by design).
--tt warm keeps the cache (the same source-receiver path again, e.g. a re-run
of one station with new synthetics, or stations on a shared distance grid).
--tt event: a never-seen station of an event of --event-stations stations:
per-station caches cleared as in cold, the event's TauP tables
(traveltimes.event_table, built once per event per worker) kept; the time to
build them, measured in this process, is added to each station divided by
--event-stations.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--tt", choices=("cold", "warm", "event"), default="cold")
    ap.add_argument("--event-stations", type=int, default=100)
    ap.add_argument("--profile", default=None)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    t_import = time.perf_counter()
    import obspy
    from spark_seis.processing import _pyflex_compat as compat
    from spark_seis.processing.station import process_station
    from spark_seis.processing.config import Config
    t_import = time.perf_counter() - t_import

    from _common import load_nz

    inv, event, st_obs, st_syn = load_nz(args.data)
    config = Config(event_id="2018p130600", min_period=10, max_period=100)

    keep = {"taup_model"}  # loaded once per worker process, by design
    if args.tt == "event":
        keep.add("event_table")  # once per event per worker, by design
    # plain-dict caches keyed by station/channel (lru_caches are found by themselves)
    dict_caches = {"spark_seis.processing.preprocess": ["_EVALRESP"]}

    def clear_station_caches():
        for name, mod in list(sys.modules.items()):
            if not name.startswith("spark_seis.processing"):
                continue
            for attr, value in vars(mod).items():
                if attr not in keep and callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
            for attr in dict_caches.get(name, []):
                getattr(mod, attr, {}).clear()

    def one():
        if args.tt in ("cold", "event"):
            clear_station_caches()
        return process_station(st_obs, st_syn, inv, event, config)

    table_build_s = 0.0
    if args.tt == "event":
        from spark_seis.processing import traveltimes
        from spark_seis.processing.preprocess import event_origin

        depth_km = float(event_origin(event).depth) / 1000.0
        builds = []
        for _ in range(3):
            traveltimes.event_table.cache_clear()
            t = time.perf_counter()
            traveltimes.event_table(config.pyflex_config().earth_model, depth_km)
            builds.append(time.perf_counter() - t)
        table_build_s = statistics.median(builds)

    t0 = time.perf_counter()
    res = one()
    first = time.perf_counter() - t0
    if res.status != "ok":
        print(json.dumps({"tool": "spark_seis", "error": res.status,
                          "elog": str(res.elog.to_list())}))
        return 1

    from _profile_summary import timed_runs

    results, times, profile = timed_runs(one, args.n, args.profile)
    per_station_table = table_build_s / args.event_stations if args.tt == "event" else 0.0
    times = [t + per_station_table for t in times]
    stage_runs = [r.timings for r in results]
    stage_med = {k: statistics.median(s.get(k, 0.0) for s in stage_runs)
                 for k in (stage_runs[0] if stage_runs else {})}

    windows = {c: [{"left_index": int(w["left_index"]), "right_index": int(w["right_index"]),
                    "cc_shift_in_samples": int(w["cc_shift_in_samples"]),
                    "max_cc_value": float(w["max_cc_value"]), "dlnA": float(w["dlnA"])}
                   for w in ws] for c, ws in res.windows.items()}
    import importlib.metadata as md
    doc = {
        "tool": "spark_seis",
        "tt": args.tt,
        "versions": {p: md.version(p) for p in
                     ("numpy", "obspy", "pyflex", "pyadjoint", "scipy")},
        "python": sys.version.split()[0],
        "import_s": t_import,
        "event_table_build_s": table_build_s,
        "first_station_s": first,
        "station_s": times,
        "median_station_s": statistics.median(times) if times else None,
        "stage_median_s": stage_med,
        "profile_per_station_s": profile,
        "nwin": res.nwin,
        "windows": windows,
        "misfit": {c: float(v) for c, v in res.misfit.items()},
        "total_misfit": float(res.total_misfit),
    }
    json.dump(doc, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
