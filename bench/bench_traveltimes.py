"""Arrival times from the event's TauP tables vs TauP per station (issue 13).

For the NZ event 2018p130600 (depth from its QuakeML), at many epicentral
distances, compares ``traveltimes.station_arrivals`` (tables built once per
source depth, arrivals interpolated per station, first arrival refined) with
``TauPyModel.get_travel_times`` (what pyflex calls per component), and times
both in this one process.

    .venv/bin/python bench/bench_traveltimes.py [--regional 240] [--global 45]

Prints the max abs error per phase and overall, checks that the first
arrival is bit-identical and that the phase names and counts agree.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_rev, load_nz, machine, save, table  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regional", type=int, default=240,
                    help="distances in 0.02-12 deg (stations of a regional network)")
    ap.add_argument("--global", dest="glob", type=int, default=45,
                    help="distances in 12-179 deg")
    ap.add_argument("--model", default="ak135")
    args = ap.parse_args(argv)

    from spark_seis.processing import traveltimes as tt
    from spark_seis.processing.preprocess import event_origin

    _inv, event, _obs, _syn = load_nz()
    depth = float(event_origin(event).depth) / 1000.0
    rng = np.random.default_rng(13)
    dists = np.concatenate([rng.uniform(0.02, 12.0, args.regional),
                            rng.uniform(12.0, 179.0, args.glob)])
    model = tt.taup_model(args.model)

    t = time.perf_counter()
    table_ = tt.event_table(args.model, depth)
    build_s = time.perf_counter() - t

    per_phase: dict[str, float] = {}
    first_exact = names_equal = 0
    t_taup, t_ours, n_arrivals = [], [], 0
    for d in dists:
        d = float(d)
        t = time.perf_counter()
        ref = model.get_travel_times(source_depth_in_km=depth, distance_in_degree=d)
        t_taup.append(time.perf_counter() - t)
        t = time.perf_counter()
        ours = tt.station_arrivals(args.model, depth, d).pyflex_ttimes()
        t_ours.append(time.perf_counter() - t)
        ref = [(float(a.time), a.name) for a in ref]
        n_arrivals += len(ref)
        first_exact += bool(ours and ref and (ours[0]["time"], ours[0]["name"]) == ref[0])
        names_equal += sorted(o["name"] for o in ours) == sorted(n for _, n in ref)
        for name in {n for _, n in ref}:
            a = sorted(t for t, n in ref if n == name)
            b = sorted(o["time"] for o in ours if o["name"] == name)
            if len(a) == len(b):
                err = float(np.max(np.abs(np.array(a) - np.array(b))))
                per_phase[name] = max(per_phase.get(name, 0.0), err)
            else:
                per_phase[name] = float("inf")

    regional = dists <= 12.0
    worst = sorted(per_phase.items(), key=lambda kv: -kv[1])
    rows = [[n, e * 1e3, len(next(p for p in table_.phases if p.name == n).dist)]
            for n, e in worst[:12]]
    res = {"machine": machine(), "git": git_rev(), "depth_km": depth,
           "distances": len(dists), "regional": int(regional.sum()),
           "arrivals": n_arrivals, "max_abs_error_s": worst[0][1],
           "per_phase_max_abs_error_s": per_phase,
           "first_arrival_bit_identical": f"{first_exact}/{len(dists)}",
           "names_and_counts_equal": f"{names_equal}/{len(dists)}",
           "table_build_s": build_s,
           "taup_median_s": statistics.median(t_taup),
           "ours_median_s": statistics.median(t_ours)}
    save("traveltimes", res)
    print(f"arrival times, event tables vs TauP per station ({res['machine']}; "
          f"git {res['git']}); depth {depth:.2f} km, {len(dists)} distances "
          f"({res['regional']} in 0.02-12 deg), {n_arrivals} arrivals")
    print(f"max abs error {worst[0][1] * 1e3:.3g} ms ({worst[0][0]}); first arrival "
          f"bit-identical {res['first_arrival_bit_identical']}; names and counts equal "
          f"{res['names_and_counts_equal']}")
    print(f"per station: TauP {res['taup_median_s'] * 1e3:.3g} ms, ours "
          f"{res['ours_median_s'] * 1e3:.3g} ms (x{res['taup_median_s'] / res['ours_median_s']:.3g});"
          f" event table built once in {build_s * 1e3:.3g} ms")
    print(table(["phase", "max abs error ms", "table rows"], rows))
    ok = first_exact == names_equal == len(dists) and worst[0][1] < tt.EXACT_MARGIN_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
