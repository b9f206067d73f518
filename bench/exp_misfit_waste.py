"""Measure candidate fixes to our per-station pipeline without editing it.

Each variant monkeypatches spark_seis.processing in this process only, runs
process_station on NZ.BFZ "cold" (every station cache cleared before each
call, as for a never-seen station), interleaved with the unpatched baseline,
and checks windows and misfits against the baseline.

    /work/bench-venv/bin/python bench/exp_misfit_waste.py [--n 20]

Variants:
  resp_by_content  key the evalresp cache by the response's numeric content
                   (stages minus names/ids) instead of the channel id: the three
                   components of one sensor share one evalresp call
  ttp_only         TauP with phase_list=["ttp"] (P family): pyflex uses only the
                   first arrival to select windows; phase_arrivals annotations
                   then list P phases only (windows unchanged, checked here)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_nz, table  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=15)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from spark_seis.processing import _pyflex_compat as compat
    from spark_seis.processing import preprocess as pre
    from spark_seis.processing.station import process_station
    from spark_seis.processing.config import Config

    inv, event, st_obs, st_syn = load_nz()
    config = Config(event_id="2018p130600", min_period=10, max_period=100)

    orig_key = getattr(pre, "_response_key", None)
    orig_tt = compat._travel_times.__wrapped__

    def content_key(tr, resp):
        parts = []
        for stage in resp.response_stages:
            parts.append((type(stage).__name__, tuple(sorted(
                (k, str(v)) for k, v in vars(stage).items()
                if k not in ("name", "resource_id", "resource_id2", "description")))))
        sens = resp.instrument_sensitivity
        return str(hash((tuple(parts), getattr(sens, "value", None),
                         getattr(sens, "frequency", None))))

    import functools

    @functools.lru_cache(maxsize=4096)
    def ttp_only(model, depth_km, dist_deg):
        arr = compat.taup_model(model).get_travel_times(
            source_depth_in_km=depth_km, distance_in_degree=dist_deg, phase_list=["ttp"])
        return tuple((float(a.time), str(a.name)) for a in arr)

    @functools.lru_cache(maxsize=4096)
    def tt_ps(model, depth_km, dist_deg):
        arr = compat.taup_model(model).get_travel_times(
            source_depth_in_km=depth_km, distance_in_degree=dist_deg,
            phase_list=["ttp", "tts"])
        return tuple((float(a.time), str(a.name)) for a in arr)

    baseline_tt = compat._travel_times

    def setup(variant):
        if orig_key is not None:
            pre._response_key = content_key if "resp" in variant else orig_key
        compat._travel_times = (ttp_only if "ttp_only" in variant else
                                tt_ps if "ttp+tts" in variant else baseline_tt)

    def clear():
        baseline_tt.cache_clear()
        ttp_only.cache_clear()
        tt_ps.cache_clear()
        getattr(pre, "_EVALRESP", {}).clear()

    variants = ["baseline", "resp_by_content", "ttp_only", "ttp+tts",
                "resp_by_content+ttp_only", "resp_by_content+ttp+tts"]
    if orig_key is None:
        variants = [v for v in variants if "resp" not in v]
    times = {v: [] for v in variants}
    results = {}
    for i in range(args.n + 1):
        for v in variants:
            setup(v)
            clear()
            t = time.perf_counter()
            res = process_station(st_obs, st_syn, inv, event, config)
            if i:
                times[v].append(time.perf_counter() - t)
            results[v] = res
    setup("baseline")
    base = results["baseline"]
    b = statistics.median(times["baseline"])
    rows = []
    for v in variants:
        r = results[v]
        same_w = ({c: [(w["left_index"], w["right_index"]) for w in ws]
                   for c, ws in r.windows.items()} ==
                  {c: [(w["left_index"], w["right_index"]) for w in ws]
                   for c, ws in base.windows.items()})
        same_m = all(abs(r.misfit[c] - base.misfit[c]) < 1e-9 for c in base.misfit)
        m = statistics.median(times[v])
        rows.append([v, m * 1e3, b / m, same_w, same_m,
                     sorted({p["name"] for ws in r.windows.values() for w in ws
                             for p in w["phase_arrivals"]})])
    print(f"cold per-station time, {args.n} interleaved runs each (in-process)")
    print(table(["variant", "ms/station", "speed-up vs current", "same windows",
                 "same misfit", "phase names in windows"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
