"""Summarize a cProfile dump into the buckets the misfit benchmark reports.

Stdlib only (used in both the Pyatoa and our venv). Buckets are cumulative
times of named functions, divided by the number of profiled stations; they
overlap where one calls another (e.g. TauP inside pyflex), as labelled.
"""
from __future__ import annotations

import pstats

# bucket -> list of (path fragment, function name)
BUCKETS = {
    "total": [("_pyatoa_side.py", "one"), ("_ours_side.py", "one")],
    "standardize (resample/trim)": [("pyatoa/core/manager.py", "standardize"),
                                    ("processing/standardize.py", "standardize")],
    "preprocess (all)": [("pyatoa/core/manager.py", "preprocess"),
                         ("processing/preprocess.py", "preprocess")],
    "response removal (evalresp+fft)": [("obspy/core/trace.py", "remove_response")],
    "  of which evalresp": [("inventory/response.py", "get_evalresp_response")],
    "filter (bandpass)": [("obspy/core/trace.py", "filter")],
    "detrend+taper": [("obspy/core/trace.py", "detrend"), ("obspy/core/trace.py", "taper")],
    "obspy entry-point lookups (waste)": [("obspy/core/util/base.py",
                                          "_get_function_from_entry_point")],
    "pyflex window selection": [("pyflex/window_selector.py", "select_windows"),
                                ("processing/window.py", "select_windows"),
                                ("processing/window.py", "station_geometry")],
    "  of which TauP travel times": [("obspy/taup/tau.py", "get_travel_times"),
                                     ("processing/traveltimes.py", "station_arrivals"),
                                     ("processing/traveltimes.py", "refined_for_windows")],
    "  of which TauP model load": [("obspy/taup/tau.py", "__init__")],
    "pyflex STA/LTA precompute (Pyatoa)": [("pyflex/stalta.py", "sta_lta")],
    "pyadjoint measure": [("pyadjoint/main.py", "calculate_adjoint_source")],
}


def summarize(path: str, n: int) -> dict[str, float]:
    stats = pstats.Stats(path).stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
    out = {}
    for bucket, targets in BUCKETS.items():
        total = 0.0
        for key, (_cc, _nc, _tt, ct, _callers) in stats.items():
            fname, _line, func = key
            for frag, name in targets:
                if func == name and frag in fname.replace("\\", "/"):
                    total += ct
                    break
        out[bucket] = total / max(n, 1)
    return out


def timed_runs(call, n: int, profile_path: str | None = None):
    """Run ``call`` n times: (results, seconds per call, profile summary or None)."""
    import time

    prof = None
    if profile_path:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    results, times = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        results.append(call())
        times.append(time.perf_counter() - t0)
    if prof is None:
        return results, times, None
    prof.disable()
    prof.dump_stats(profile_path)
    return results, times, summarize(profile_path, n)
