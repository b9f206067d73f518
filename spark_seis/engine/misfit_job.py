"""Driver of the misfit job: plan, broadcast, run partitions, summarize."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from spark_seis.db.crud_read import plain_document
from spark_seis.db.normalize import event_name
from spark_seis.engine.misfit_pipeline import (
    ExecutorOptions, FaultInjection, JobSummary, StationTask, build_pipeline,
    plan_station_tasks, summarize,
)
from spark_seis.engine.normalization import NormalizationTables, stationxml_for
from spark_seis.engine.output_docs import STATIONS
from spark_seis.engine.progress import Counters, ProgressReporter
from spark_seis.workflow.job_config import JobConfig

class EmptyQueryError(LookupError):
    """No wf documents matched: nothing to do (the CLI says what to check)."""


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


def _finished_stations(db, eval_tag: str) -> set[tuple[str, str]]:
    done = set()
    for doc in db.db[STATIONS].find({"eval_tag": eval_tag},
                                    {"source_id": 1, "net": 1, "sta": 1, "status": 1}):
        done.add((str(doc["source_id"]), f"{doc['net']}.{doc['sta']}"))
    return done


def build_plan(db, job: JobConfig, resume: bool) -> tuple[dict[str, list[StationTask]], int]:
    wf = db.db[db.wf_collection]
    observed = [plain_document(d) for d in wf.find({"data_tag": job.observed_tag})]
    synthetic = [plain_document(d) for d in wf.find({"data_tag": job.synthetic_data_tag})]
    if not observed and not synthetic:
        raise EmptyQueryError(
            f"no {db.wf_collection} documents with data_tag {job.observed_tag!r} or "
            f"{job.synthetic_data_tag!r}; run 'spark-seis ingest' first or check the tags")
    # events may be named by source_id or by their human event id
    names = {str(d["_id"]): event_name(d) for d in db.db["source"].find({})}
    wanted = {sid for sid, name in names.items() if name in job.events or sid in job.events}
    plan = plan_station_tasks(observed, synthetic, wanted if job.events else ())
    skipped = 0
    if resume:
        done = _finished_stations(db, job.misfit.eval_tag)
        for event in list(plan):
            before = len(plan[event])
            plan[event] = [t for t in plan[event] if (event, t.code) not in done]
            skipped += before - len(plan[event])
            if not plan[event]:
                del plan[event]
    return plan, skipped


def load_tables(db, plan: dict[str, list[StationTask]]) -> NormalizationTables:
    from bson import ObjectId

    ids: list[Any] = []
    for sid in plan:
        ids.append(sid)
        if ObjectId.is_valid(sid):
            ids.append(ObjectId(sid))
    sources = {str(d["_id"]): plain_document(d) for d in db.db["source"].find({"_id": {"$in": ids}})}
    codes = {tuple(t.code.split(".")) for tasks in plan.values() for t in tasks}
    channel_docs = []
    for net in sorted({c[0] for c in codes}):
        stations = sorted(c[1] for c in codes if c[0] == net)
        channel_docs.extend(db.db["channel"].find({"net": net, "sta": {"$in": stations}}))
    return NormalizationTables(sources=sources, stationxml=stationxml_for(channel_docs))


def _attach_fixed_windows(db, job: JobConfig, plan, options: ExecutorOptions) -> None:
    """fix_windows: choose the evaluation to re-use and read its windows once."""
    from spark_seis.engine import fixed_windows as fw

    current = (job.misfit.iteration or 1, job.misfit.step_count or 0)
    source_ids = sorted(plan)
    chosen = fw.source_evaluation(fw.stored_evaluations(db, source_ids), current,
                                  job.fix_windows)
    if chosen is not None:
        options.fixed_from = fw.eval_label(chosen)
        options.fixed_windows = fw.load_fixed_windows(db, source_ids, chosen)


def run_misfit_job(spark, job: JobConfig, *, db=None, resume: bool = False,
                   fault: FaultInjection | None = None, progress: bool = True,
                   npartitions: int | None = None) -> JobSummary:
    """Run one iteration/step of the misfit workflow over every planned event."""
    from spark_seis.db.client import get_database

    started = time.time()
    db = db or get_database(job.database_config())
    plan, skipped = build_plan(db, job, resume)
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
        _attach_fixed_windows(db, job, plan, options)
    total = sum(len(t) for t in plan.values())
    sc = spark.sparkContext
    counters = Counters.create(sc)
    tables_bc, options_bc = sc.broadcast(tables), sc.broadcast(options)
    summaries = []
    if total:
        rdd = build_pipeline(sc, plan, tables_bc, options_bc, counters, npartitions)
        reporter = ProgressReporter(sc, counters, total, label="misfit") if progress else None
        if reporter:
            with reporter:
                summaries = rdd.collect()
        else:
            summaries = rdd.collect()
    tables_bc.unpersist()
    options_bc.unpersist()
    return summarize(summaries, len(plan), skipped, str(output_dir), started)
