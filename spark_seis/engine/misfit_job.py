"""Driver of the misfit job: plan, broadcast, run partitions, summarize."""
from __future__ import annotations

import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from spark_seis.db.crud_read import plain_document
from spark_seis.engine.commit import job_staging
from spark_seis.engine.misfit_pipeline import (
    ExecutorOptions, FaultInjection, JobSummary, StationTask, pipeline_from_tasks, summarize,
)
from spark_seis.engine.normalization import NormalizationTables, stationxml_for
from spark_seis.engine.plan import (  # noqa: F401 - EmptyQueryError is part of this API
    EmptyQueryError, EventPlan, event_tasks, plan_events, read_event_tasks,
)
from spark_seis.engine.progress import Counters, ProgressReporter
from spark_seis.workflow.job_config import JobConfig

def check_writable(folder: Path) -> None:
    """Fail before any Spark work if outputs cannot be written (read-only, full, ...)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-") as probe:
            probe.write(b"x")
            probe.flush()
    except OSError as exc:
        raise OSError(exc.errno, f"output folder {folder} is not writable: "
                                 f"{exc.strerror or exc}") from None


def build_plan(db, job: JobConfig, resume: bool) -> tuple[dict[str, list[StationTask]], int]:
    """The whole plan in memory (tests, serial checks): the job itself streams it."""
    events = plan_events(db, job, resume)
    eval_tag = job.misfit.eval_tag if resume else None
    plan = {event: event_tasks(db, (job.observed_tag, job.synthetic_data_tag),
                               db.wf_collection, value, eval_tag)
            for event, value in events.source_ids.items()}
    return plan, events.skipped


def load_tables(db, plan: dict[str, list[StationTask]] | EventPlan) -> NormalizationTables:
    """Normalization of the planned events and stations, read once (then broadcast)."""
    from bson import ObjectId

    if isinstance(plan, EventPlan):
        events, codes = list(plan.source_ids), plan.codes
    else:
        events = list(plan)
        codes = {tuple(t.code.split(".")) for tasks in plan.values() for t in tasks}
    ids: list[Any] = []
    for sid in events:
        ids.append(sid)
        if ObjectId.is_valid(sid):
            ids.append(ObjectId(sid))
    sources = {str(d["_id"]): plain_document(d) for d in db.db["source"].find({"_id": {"$in": ids}})}
    channel_docs = []
    for net in sorted({c[0] for c in codes}):
        stations = sorted(c[1] for c in codes if c[0] == net)
        channel_docs.extend(db.db["channel"].find({"net": net, "sta": {"$in": stations}}))
    return NormalizationTables(sources=sources, stationxml=stationxml_for(channel_docs))


def _attach_fixed_windows(db, job: JobConfig, plan: EventPlan, tables: NormalizationTables,
                          options: ExecutorOptions) -> None:
    """fix_windows: per event, choose the evaluation to re-use and read its windows once:
    from the database, else (none stored there) from the event's ASDF file in output_dir."""
    from spark_seis.db.safe_names import inside
    from spark_seis.engine import fixed_windows as fw

    current = (job.misfit.iteration or 1, job.misfit.step_count or 0)
    source_ids = sorted(plan.source_ids)
    in_db = fw.stored_evaluations_by_event(db, source_ids)
    by_evaluation: dict[tuple[int, int], list[str]] = {}
    origin: dict[str, str] = {}
    windows: dict[str, dict[str, list[dict]]] = {}
    for sid in source_ids:
        chosen = fw.source_evaluation(in_db.get(sid, []), current, job.fix_windows)
        if chosen is not None:
            by_evaluation.setdefault(chosen, []).append(sid)
            origin[sid] = f"{fw.eval_label(chosen)} (database)"
            continue
        path = inside(job.output_dir, f"{tables.event_name(sid)}.h5")
        if not path.exists():
            continue
        try:
            chosen, found = fw.windows_from_file(path, sid, plan.codes, current,
                                                 job.fix_windows, in_db.get(sid, []))
        except Exception as exc:  # a bad file must not abort the job: stations pick anew
            origin[sid] = (f"the event file {path}, which could not be read "
                           f"({type(exc).__name__}: {exc})")
            continue
        if chosen is not None:
            origin[sid] = (f"{fw.eval_label(chosen)} (ASDF file {path}, "
                           f"MisfitWindows/{fw.aux_path(chosen)})")
            windows.update(found)
    for chosen, sids in by_evaluation.items():
        windows.update(fw.load_fixed_windows(db, sids, chosen))
    options.fixed_from = origin or None
    options.fixed_windows = windows


def run_misfit_job(spark, job: JobConfig, *, db=None, resume: bool = False,
                   fault: FaultInjection | None = None, progress: bool = True,
                   npartitions: int | None = None,
                   resume_with_changed_config: bool = False) -> JobSummary:
    """Run one iteration/step of the misfit workflow over every planned event."""
    from spark_seis.db.client import get_database

    started = time.time()
    db = db or get_database(job.database_config())
    if resume:  # done = in the database AND in the outputs, under the same Config
        _check_resume(db, job, resume_with_changed_config)
    plan = plan_events(db, job, resume)
    tables = load_tables(db, plan)
    output_dir = Path(job.output_dir)
    check_writable(output_dir)
    options = ExecutorOptions(
        config=job.misfit.to_dict(), storage_root=str(db.storage_root),
        output_dir=str(output_dir), database=job.database_config(),
        specfem_dir=str(output_dir / "adjoint") if job.specfem_adjoint_sources else None,
        collection=db.wf_collection,
        resume=resume, fault=fault)
    if job.fix_windows:
        _attach_fixed_windows(db, job, plan, tables, options)
    total = plan.total
    sc = spark.sparkContext
    counters = Counters.create(sc)
    tables_bc = sc.broadcast(tables)
    summaries = []
    if total:
        with job_staging(output_dir) as staging:  # per-task staged outputs, then gone
            options.staging_dir = str(staging)
            options_bc = sc.broadcast(options)
            rdd = _distributed_pipeline(sc, db, job, plan, tables_bc, options_bc, counters,
                                        npartitions, resume)
            reporter = ProgressReporter(sc, counters, total, label="misfit") if progress else None
            if reporter:
                with reporter:
                    summaries = rdd.collect()
            else:
                summaries = rdd.collect()
            options_bc.unpersist()
    tables_bc.unpersist()
    return summarize(summaries, len(plan.stations), plan.skipped, str(output_dir), started)


def _check_resume(db, job: JobConfig, changed_config_ok: bool) -> None:
    from spark_seis.db.normalize import event_name
    from spark_seis.engine import resume as resume_check

    names = {str(d["_id"]): event_name(d) for d in db.db["source"].find({}, {"quakeml": 0})}
    files = {sid: Path(job.output_dir) / f"{name}.h5" for sid, name in names.items()}
    if not changed_config_ok:
        resume_check.check_same_config(files, job.misfit)
    resume_check.forget_unbacked_stations(
        db, job.misfit, files,
        Path(job.output_dir) / "adjoint" if job.specfem_adjoint_sources else None, names)


def _distributed_pipeline(sc, db, job: JobConfig, plan: EventPlan, tables_bc, options_bc,
                          counters, npartitions: int | None, resume: bool):
    """Executors read their events' wf documents; tasks are spread over every core."""
    events = list(plan.source_ids)
    config, collection = job.database_config(), db.wf_collection
    tags = (job.observed_tag, job.synthetic_data_tag)
    eval_tag = job.misfit.eval_tag if resume else None
    n_read = max(1, min(len(events), sc.defaultParallelism * 4))
    n_compute = npartitions or max(1, min(plan.total, sc.defaultParallelism * 4))
    tasks = sc.parallelize([plan.source_ids[e] for e in events], n_read).mapPartitions(
        lambda ids: read_event_tasks(config, tags, collection, ids, eval_tag))
    if n_compute > 1:  # one event's stations over every core (task metadata only)
        tasks = tasks.keyBy(lambda t: f"{t.event_id}|{t.code}").partitionBy(
            n_compute, lambda key: zlib.crc32(key.encode())).values()
    return pipeline_from_tasks(tasks, events, tables_bc, options_bc, counters,
                               sc.defaultParallelism)
