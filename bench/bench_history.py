"""What writing one evaluation costs when the event file already holds many (issue 11.1).

The job keeps every other evaluation in the event's ASDF file: it copies the
committed file to its staging name (one kernel copy), deletes this evaluation's
entries there, writes the evaluation, fsyncs and renames. Measured side by side in
one run, on files of S stations x E evaluations (NZ.BFZ's real result, windows,
adjoint sources and synthetics replicated per station and evaluation):

  alone      the evaluation written into a fresh file (staging + rename): the floor
  in history the job's path: the evaluation rewritten into the S x E file

    python bench/bench_history.py [--stations 500] [--evaluations 10] [--repeat 3]
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_rev, load_nz, machine, save, table  # noqa: E402


def station_results(n: int):
    """NZ.BFZ's real result (and its synthetics) relabelled as n stations."""
    from spark_seis.processing.config import Config
    from spark_seis.processing.station import process_station

    inv, event, obs, syn = load_nz()
    base = process_station(obs, syn, inv, event, Config(iteration=1, step_count=0))
    out = []
    for k in range(n):
        code = f"G{k:04d}"
        res = copy.deepcopy(base)
        res.code = f"NZ.{code}"
        for wins in res.windows.values():
            for w in wins:
                w["channel_id"] = w["channel_id"].replace(".BFZ.", f".{code}.")
        for adj in res.adjoint_sources.values():
            adj["station"] = code
        st = syn.copy()
        for tr in st:
            tr.stats.station = code
        out.append((res, st))
    return event, out


def write_evaluation(h5, event, results, step: int) -> None:
    from spark_seis.io.asdf_writer import EventFileWriter
    from spark_seis.processing.config import Config

    config = Config(iteration=1, step_count=step)
    writer = EventFileWriter(h5)
    writer.write_event(event)
    writer.write_config(config)
    for res, st in results:
        writer.write_station_result(res, config, st_syn=st)


def job_path(final: Path, event, results, step: int) -> float:
    """The engine's write_event file path: atomic_output + _start_from + writer."""
    import h5py

    from spark_seis.engine.commit import atomic_output
    from spark_seis.engine.misfit_pipeline import _start_from
    from spark_seis.processing.config import Config

    t = time.perf_counter()
    with atomic_output(final) as staging:
        if final.exists():
            _start_from(final, staging, Config(iteration=1, step_count=step), None)
        with h5py.File(staging, "a") as h5:
            write_evaluation(h5, event, results, step)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=500)
    ap.add_argument("--evaluations", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    event, results = station_results(args.stations)
    rows, alone, history = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench_hist_", dir=Path.home()) as tmp:
        big = Path(tmp) / "history" / "event.h5"
        for step in range(args.evaluations):
            job_path(big, event, results, step)
        size = big.stat().st_size
        for r in range(args.repeat):  # alternate: fresh file, then the full history
            fresh = Path(tmp) / f"alone{r}" / "event.h5"
            alone.append(job_path(fresh, event, results, 0))
            history.append(job_path(big, event, results, args.evaluations // 2))
        one = (Path(tmp) / "alone0" / "event.h5").stat().st_size
    a, h = statistics.median(alone), statistics.median(history)
    rows.append([f"{args.stations} x {args.evaluations}", size / 1e6, one / 1e6, a, h, h / a])
    res = {"machine": machine(), "git": git_rev(), "stations": args.stations,
           "evaluations": args.evaluations, "file_MB": size / 1e6, "evaluation_MB": one / 1e6,
           "alone_s": a, "in_history_s": h, "ratio": h / a, "alone_all": alone,
           "history_all": history}
    save("history", res)
    print(f"one evaluation rewritten in an event file ({machine()}; git {git_rev()})")
    print(table(["stations x evaluations", "file MB", "evaluation MB", "alone s",
                 "in history s", "history/alone"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
