"""`spark-seis ingest PATH...`: QuakeML, StationXML, waveforms into the database."""
from __future__ import annotations

import sys
from pathlib import Path

from .common import Progress, load_job, open_database
from .errors import UserError

SPARK_MIN_FILES = 2000  # waveform files from which ingest runs on Spark unless --serial ...
SPARK_MIN_CORES = 4     # ... when the master runs this many tasks at once (or is a cluster)


def run_ingest(args) -> int:
    """0 when every input of a known kind was stored (or already there), 1 when some
    were skipped (listed) or the disk/database filled up (one line: file and cause),
    2 when nothing at all could be ingested."""
    job = load_job(args.config)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:  # before touching the database
        raise UserError(f"{missing[0]} does not exist", "check the path to ingest")
    db = open_database(job)
    if not args.no_progress:  # the imports below take seconds on a busy machine
        print(f"ingest: reading {', '.join(args.paths)}...", file=sys.stderr, flush=True)
    from spark_seis.workflow.ingest import (WAVEFORM_KINDS, IngestOptions, IngestStopped,
                                            collect_files, ingest_paths)

    options = IngestOptions(observed_tag=job.observed_tag,
                            synthetic_tag=args.synthetic_tag or job.synthetic_data_tag,
                            tag=args.tag, event=args.event,
                            window_minutes=args.window_minutes,
                            asdf_tags=args.asdf_tag or None,
                            cut=tuple(args.cut) if args.cut else None)
    listing = collect_files(args.paths)
    waveforms = sum(len(listing[0][k]) for k in WAVEFORM_KINDS)
    spark = _spark_for(args, job, waveforms)
    progress = Progress("ingest", enabled=not args.no_progress)
    try:
        if spark is None:
            summary = ingest_paths(db, args.paths, options, progress=progress, listing=listing)
        else:
            from spark_seis.engine.ingest_spark import StoreNotShared, ingest_paths_spark

            try:
                summary = ingest_paths_spark(spark, db, args.paths, options, progress=progress,
                                             listing=listing)
            except StoreNotShared as exc:
                raise UserError(str(exc), "or run 'spark-seis ingest --serial'") from exc
        stopped = None
    except IngestStopped as exc:
        summary, stopped = exc.summary, exc
    progress.close()
    print(f"ingest into database {db.name!r} (samples below {db.storage_root}); "
          f"data_tag observed={options.tag or options.observed_tag!r}, "
          f"synthetic={options.tag or options.synthetic_tag!r}")
    for line in summary.lines():
        print(line)
    if stopped is not None:
        print(f"spark-seis: error: {stopped} (free space or fix the database, then run the "
              f"same ingest again: what was stored is kept and not added twice)",
              file=sys.stderr)
        return 1
    if summary.files.get("asdf"):  # an inversion's history: windows, misfits per evaluation
        from spark_seis.engine.pyatoa_results import import_results_below

        counts = import_results_below(db, args.paths)
        if counts.get("evaluations") or counts.get("skipped"):
            print(f"misfit results from ASDF Configs: {counts.get('evaluations', 0)} "
                  f"evaluation(s), {counts.get('misfit_windows', 0)} windows, "
                  f"{counts.get('misfit', 0)} component misfits"
                  + (f"; {counts['skipped']} skipped (event not in the database)"
                     if counts.get("skipped") else ""))
    if summary.total_added == 0 and not sum(summary.existing.values()):
        raise UserError(f"nothing ingested from {', '.join(args.paths)}: no QuakeML, "
                        "StationXML or waveform could be used",
                        "see the skipped files above; waveforms need their event "
                        "(QuakeML first, or --event)" if summary.skipped else
                        "the paths hold no files")
    if summary.not_stored:
        print(f"spark-seis: {summary.not_stored} input(s) not stored: see 'skipped' above",
              file=sys.stderr)
        return 1
    return 0


def local_cores(master: str | None) -> int | None:
    """Parallel tasks of a local master (local, local[N], local[*], local[N,F]);
    None for a cluster master (or spark-submit's), whose size is not known here."""
    import os
    import re

    match = re.match(r"^local(?:\[(\*|\d+)(?:,\s*\d+)?\])?$", (master or "").strip())
    if match is None:
        return None
    if match.group(1) is None:  # plain "local": one thread
        return 1
    return (os.cpu_count() or 1) if match.group(1) == "*" else int(match.group(1))


def _spark_for(args, job, waveforms: int):
    """The SparkSession to ingest with, or None for the serial ingest.

    --spark / --serial decide. Otherwise Spark when there are SPARK_MIN_FILES
    waveform files or more and the master runs at least SPARK_MIN_CORES tasks at
    once (a cluster master counts as large enough): on 2 cores the Spark ingest
    was slower than the serial one (JVM start-up, bench/RESULTS.md section 12).
    The master is --master, else the job's spark.master, else
    conf/spark-defaults.conf's, else local[*] (as for `spark-seis run`).
    """
    from spark_seis.engine.session import DEFAULTS_FILE

    from .preflight import read_spark_defaults, resolve_master

    defaults_file = job.spark_defaults_file or DEFAULTS_FILE
    defaults = read_spark_defaults(defaults_file) if defaults_file.exists() else {}
    master = resolve_master(args.master, job, defaults)
    if args.spark is None:
        cores = local_cores(master)
        use = waveforms >= SPARK_MIN_FILES and (cores is None or cores >= SPARK_MIN_CORES)
    else:
        use = args.spark
    if not use or waveforms == 0:
        return None
    from .run import start_spark

    if not args.no_progress:
        why = "" if args.spark else f" (from {SPARK_MIN_FILES} files; --serial to avoid)"
        print(f"ingest: {waveforms} waveform files: reading them on Spark "
              f"({master or 'master from spark-submit'}){why}", file=sys.stderr, flush=True)
    return start_spark(job, args.master, None, quiet=True)
