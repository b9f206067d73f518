"""Per-station misfit pipeline: ours (process_station) vs Pyatoa's Manager.flow().

Same NZ.BFZ inputs, Config(event_id="2018p130600", min_period=10, max_period=100),
response removed to displacement, serial. Pyatoa runs in its own venv
(numpy<2, see setup_env.sh), ours in this one; the two are run as subprocesses
on this machine in alternating rounds (order rotated every round), and the
ratio is taken over all rounds, so machine noise hits both sides alike.

    /work/bench-venv/bin/python bench/bench_misfit.py [--quick] [--rounds 5 --n 6]
        [--write-reference]   # also (re)write bench/reference_pyatoa.json

Asserts identical windows (left/right index per component) and misfits
within 1e-4; prints a table of ratios and the per-stage breakdown.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (BENCH, git_rev, machine, nz_data_dir, pyatoa_python,  # noqa: E402
                     run_json, save, table)

EXPECTED = {"E": (976, 2746), "N": (907, 3011), "Z": (833, 1401)}


def bounds(doc: dict) -> dict:
    return {c: [(w["left_index"], w["right_index"]) for w in ws]
            for c, ws in sorted(doc["windows"].items())}


def run(rounds: int, n: int, pyatoa_py: str | None, write_reference: bool,
        profile: bool = True, ours_python: str | None = None) -> dict:
    data = str(nz_data_dir())
    ours_py = ours_python or sys.executable
    sides = {
        "ours_cold": [ours_py, str(BENCH / "_ours_side.py"), "--data", data,
                      "--n", str(n), "--tt", "cold"],
        "ours_warm": [ours_py, str(BENCH / "_ours_side.py"), "--data", data,
                      "--n", str(n), "--tt", "warm"],
        # a never-seen station of a 100-station event (issue 13 item 1)
        "ours_event100": [ours_py, str(BENCH / "_ours_side.py"), "--data", data,
                          "--n", str(n), "--tt", "event", "--event-stations", "100"],
    }
    if pyatoa_py:
        sides["pyatoa"] = [pyatoa_py, str(BENCH / "_pyatoa_side.py"), "--data", data,
                           "--n", str(n)]
    names = list(sides)
    runs: dict[str, list[dict]] = {k: [] for k in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            runs[name].append(run_json(sides[name]))
    # one profiled run per side, after the timed rounds
    profiles = {}
    if profile:
        with tempfile.TemporaryDirectory() as tmp:
            for name in names:
                prof = str(Path(tmp) / f"{name}.prof")
                profiles[name] = run_json(sides[name] + ["--profile", prof])[
                    "profile_per_station_s"]

    result = {"machine": machine(), "git": git_rev(), "rounds": rounds, "n": n,
              "sides": {}}
    for name in names:
        times = [t for doc in runs[name] for t in doc["station_s"]]
        last = runs[name][-1]
        stages = {k: statistics.median(d["stage_median_s"][k] for d in runs[name])
                  for k in last["stage_median_s"]}
        result["sides"][name] = {
            "median_station_s": statistics.median(times),
            "min_station_s": min(times),
            "first_station_s": statistics.median(d["first_station_s"] for d in runs[name]),
            "import_s": statistics.median(d["import_s"] for d in runs[name]),
            "event_table_build_s": statistics.median(d.get("event_table_build_s", 0.0)
                                                     for d in runs[name]),
            "stations_timed": len(times),
            "stage_median_s": stages,
            "profile_per_station_s": profiles.get(name),
            "windows": last["windows"], "misfit": last["misfit"],
            "total_misfit": last["total_misfit"], "nwin": last["nwin"],
            "versions": last["versions"],
        }

    # correctness: same windows, same misfits
    checks = {}
    ref = result["sides"].get("pyatoa", None)
    for name in names:
        side = result["sides"][name]
        got = bounds(side)
        checks[name] = {
            "windows_match_expected": got == {c: [v] for c, v in EXPECTED.items()},
            "windows_match_pyatoa": (got == bounds(ref)) if ref else None,
            "misfit_match_pyatoa": (all(abs(side["misfit"][c] - ref["misfit"][c]) < 1e-4
                                        for c in ref["misfit"]) if ref else None),
        }
    result["checks"] = checks
    if ref:
        p = ref["median_station_s"]
        result["ratios"] = {
            "pyatoa/ours_cold": p / result["sides"]["ours_cold"]["median_station_s"],
            "pyatoa/ours_warm": p / result["sides"]["ours_warm"]["median_station_s"],
            "pyatoa/ours_event100": p / result["sides"]["ours_event100"]["median_station_s"],
        }
    if write_reference and ref:
        write_ref(ref, result)
    return result


def write_ref(ref: dict, result: dict) -> None:
    doc = {
        "what": "Pyatoa 0.4.2 Manager.flow() on NZ.BFZ / event 2018p130600",
        "command": "bench/setup_env.sh; <bench-venv>/bin/python bench/bench_misfit.py "
                   "--write-reference",
        "call": "Manager(config=Config(event_id='2018p130600'), event=event, st_obs=st_obs, "
                "st_syn=st_syn, inv=inv).flow(remove_response=True, output='DISP')",
        "inputs": ["test_obs_data_NZ_BFZ_2018p130600.ascii",
                   "test_syn_data_NZ_BFZ_2018p130600.ascii",
                   "test_dataless_NZ_BFZ.xml", "test_catalog_2018p130600.xml"],
        "config": {"event_id": "2018p130600", "min_period": 10, "max_period": 100,
                   "unit_output": "DISP", "adj_src_type": "cc_traveltime",
                   "pyflex_parameters": "default", "standardize_to": "syn"},
        "versions": ref["versions"],
        "machine": result["machine"],
        "nwin": ref["nwin"],
        "windows": ref["windows"],
        "misfit": ref["misfit"],
        "total_misfit": ref["total_misfit"],
        "median_station_s": ref["median_station_s"],
        "first_station_s": ref["first_station_s"],
        "stage_median_s": ref["stage_median_s"],
        "profile_per_station_s": ref["profile_per_station_s"],
        "note": "window indices are samples of the standardized (synthetic) time base, "
                "dt=0.03 s, 10000 samples; misfit = 0.5*(dT/sigma_dt)^2 per window "
                "(pyadjoint 0.2.3, sigma_dt=1.0); times are machine-dependent",
    }
    (BENCH / "reference_pyatoa.json").write_text(json.dumps(doc, indent=1) + "\n")


def report(res: dict) -> str:
    sides = res["sides"]
    rows = []
    p = sides.get("pyatoa", {}).get("median_station_s")
    for name, s in sides.items():
        rows.append([name, s["median_station_s"] * 1e3, s["first_station_s"] * 1e3,
                     (p / s["median_station_s"]) if p else "n/a", s["nwin"],
                     round(s["total_misfit"], 4),
                     res["checks"][name]["windows_match_pyatoa"]])
    out = [f"misfit pipeline per station (median of {sides[next(iter(sides))]['stations_timed']}"
           f" stations per side, {res['rounds']} alternating rounds; {res['machine']}; "
           f"git {res['git']})",
           table(["side", "ms/station", "first call ms", "speed-up vs Pyatoa", "nwin",
                  "total misfit", "same windows as Pyatoa"], rows)]
    stage_keys = sorted({k for s in sides.values() for k in s["stage_median_s"]},
                        key=["init", "standardize", "geometry", "preprocess", "window",
                             "measure"].index)
    out.append("\nstage medians (ms/station; ours' 'geometry' = distance + TauP once "
               "per station, Pyatoa does TauP inside 'window', once per component):")
    out.append(table(["side"] + stage_keys,
                     [[n] + [s["stage_median_s"].get(k, float("nan")) * 1e3
                             for k in stage_keys] for n, s in sides.items()]))
    if all(s.get("profile_per_station_s") for s in sides.values()):
        keys = list(next(iter(sides.values()))["profile_per_station_s"])
        out.append("\ncProfile buckets (ms/station, cumulative, under the profiler; "
                   "indented rows are part of the row above):")
        out.append(table(["bucket"] + list(sides),
                         [[k] + [s["profile_per_station_s"][k] * 1e3 for s in sides.values()]
                          for k in keys]))
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--quick", action="store_true", help="2 rounds x 3 stations")
    ap.add_argument("--pyatoa-python", default=None)
    ap.add_argument("--write-reference", action="store_true")
    ap.add_argument("--ours-python", default=None,
                    help="interpreter for our side (default: this one)")
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.n = 2, 3
    py = pyatoa_python(args.pyatoa_python)
    if py is None:
        print("Pyatoa venv not found: run bench/setup_env.sh (Pyatoa side skipped)")
    res = run(args.rounds, args.n, py, args.write_reference,
              profile=not args.no_profile, ours_python=args.ours_python)
    save("misfit", res)
    print(report(res))
    bad = [n for n, c in res["checks"].items()
           if c["windows_match_expected"] is False or c["windows_match_pyatoa"] is False
           or c["misfit_match_pyatoa"] is False]
    if bad:
        print(f"MISMATCH: {bad} {res['checks']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
