"""`spark-seis ingest PATH...`: QuakeML, StationXML, waveforms into the database."""
from __future__ import annotations

from pathlib import Path

from .common import Progress, load_job, open_database
from .errors import UserError


def run_ingest(args) -> int:
    from spark_seis.workflow.ingest import IngestOptions, ingest_paths

    job = load_job(args.config)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:  # before touching the database
        raise UserError(f"{missing[0]} does not exist", "check the path to ingest")
    db = open_database(job)
    options = IngestOptions(observed_tag=job.observed_tag,
                            synthetic_tag=args.synthetic_tag or job.synthetic_data_tag,
                            tag=args.tag, event=args.event,
                            window_minutes=args.window_minutes,
                            asdf_tags=args.asdf_tag or None,
                            cut=tuple(args.cut) if args.cut else None)
    progress = Progress("ingest", enabled=not args.no_progress)
    summary = ingest_paths(db, args.paths, options, progress=progress)
    progress.close()
    print(f"ingest into database {db.name!r} (samples below {db.storage_root}); "
          f"data_tag observed={options.tag or options.observed_tag!r}, "
          f"synthetic={options.tag or options.synthetic_tag!r}")
    for line in summary.lines():
        print(line)
    if summary.files.get("asdf"):  # an inversion's history: windows, misfits per evaluation
        from spark_seis.engine.pyatoa_results import import_results_below

        counts = import_results_below(db, args.paths)
        if counts.get("evaluations") or counts.get("skipped"):
            print(f"misfit results from ASDF Configs: {counts.get('evaluations', 0)} "
                  f"evaluation(s), {counts.get('misfit_windows', 0)} windows, "
                  f"{counts.get('misfit', 0)} component misfits"
                  + (f"; {counts['skipped']} skipped (event not in the database)"
                     if counts.get("skipped") else ""))
    return 0
