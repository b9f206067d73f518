"""The misfit job as Spark transformations.

Driver: read the wf documents once, plan one task per (event, station), read
the normalization documents once and broadcast them with the Config.
Compute stage (every core): each station reads its samples (grouped by file),
runs ``process_station``, writes its SPECFEM files, and each task stages its
stations' ASDF objects in a small HDF5 file per event. Write stage: results are
shuffled by event so that ONE task per event writes its ASDF file (copy of the
committed file minus this evaluation, staged objects copied in, atomic rename),
and upserts documents whose ids are deterministic. Only small per-station
summaries return to the driver.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from spark_seis.core.errorlog import ErrorLog
from spark_seis.db.safe_names import inside
from spark_seis.engine import output_docs
from spark_seis.engine.commit import atomic_output, task_attempt_tag
from spark_seis.engine.normalization import NormalizationTables
from spark_seis.engine.read import load_streams
from spark_seis.processing.config import Config


@dataclass(frozen=True)
class StationTask:
    event_id: str
    code: str  # NET.STA
    observed: tuple[dict, ...]
    synthetic: tuple[dict, ...]


@dataclass
class StationSummary:
    event_id: str
    code: str
    status: str
    nwin: int
    total_misfit: float | None
    reasons: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # data killed at an "ok" station


@dataclass
class FaultInjection:
    """Test hook: fail the first attempt of one partition at a given point."""

    partition: int = 0
    point: str = "after_asdf_staged"  # or "after_partial_upsert", "after_commit"

    def maybe_fail(self, point: str) -> None:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        if (ctx is not None and point == self.point and ctx.attemptNumber() == 0
                and ctx.partitionId() == self.partition):
            raise RuntimeError(f"injected fault at {point} ({task_attempt_tag()})")


@dataclass
class ExecutorOptions:
    config: dict
    storage_root: str
    output_dir: str
    database: dict
    specfem_dir: str | None
    collection: str = "wf_TimeSeries"  # or wf_Seismogram (three components per datum)
    resume: bool = False
    fault: FaultInjection | None = None
    staging_dir: str = ""  # the job's own folder of per-task staged outputs (commit.job_staging)
    # fix_windows: per source_id, the evaluation whose stored windows are re-used and
    # where they were read ('i01s00 (database)'), and those windows by
    # 'source_id|NET.STA' (engine.fixed_windows); an event not in fixed_from picks
    fixed_from: dict[str, str] | None = None
    fixed_windows: dict[str, dict[str, list[dict]]] | None = None


def plan_station_tasks(observed: Iterable[dict], synthetic: Iterable[dict],
                       events: Iterable[str] = ()) -> dict[str, list[StationTask]]:
    """Group wf documents by (source_id, net.sta); every station with either kind."""
    wanted = set(events)
    groups: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(
        lambda: {"obs": [], "syn": []})
    for kind, docs in (("obs", observed), ("syn", synthetic)):
        for doc in docs:
            event = doc.get("source_id")
            if event is None or (wanted and str(event) not in wanted):
                continue
            code = f"{doc.get('net', '')}.{doc.get('sta', '')}"
            groups[(str(event), code)][kind].append(doc)
    plan: dict[str, list[StationTask]] = defaultdict(list)
    for (event, code), kinds in sorted(groups.items()):
        plan[event].append(StationTask(event, code, tuple(kinds["obs"]), tuple(kinds["syn"])))
    return dict(plan)


def compute_station(task: StationTask, tables: NormalizationTables,
                    options: ExecutorOptions, counters=None, keep_raw: list | None = None):
    """Stage 1 (any executor): read one station's samples and run the workflow.

    Raw streams never go through Spark's shuffle; with ``keep_raw`` (a list) the
    unprocessed observed and synthetic streams are appended to it for staging.
    """
    from spark_seis.io import specfem
    from spark_seis.processing.station import process_station

    config = Config.from_dict(options.config)
    event = tables.event(task.event_id)
    net, sta = task.code.split(".")
    inv = tables.inventory(net, sta)
    st_obs, st_syn, load_log = load_streams(task.observed, task.synthetic,
                                            options.storage_root, event, options.collection)
    if keep_raw is not None:
        keep_raw.extend((st_obs.copy(), st_syn.copy()))
    fixed, fixed_from = None, (options.fixed_from or {}).get(str(task.event_id))
    if fixed_from is not None:
        fixed = (options.fixed_windows or {}).get(f"{task.event_id}|{task.code}")
    result = process_station(st_obs, st_syn, inv, event, config, fixed_windows=fixed)
    if fixed_from is not None:
        result.elog.log("spark_seis.engine.fixed_windows", (
            f"{task.code}: windows fixed from {fixed_from}" if fixed else
            f"{task.code}: no stored windows at {fixed_from}; picked new windows"),
            "Informational" if fixed else "Complaint")
    if len(load_log):  # the read failure is the root cause: log it first
        merged = ErrorLog(load_log)
        merged.extend(result.elog)
        result.elog = merged
        if not result.ok:
            result.status = "failed:read"
    if options.specfem_dir and result.adjoint_sources:
        # per-station files, each renamed into place: written here, on every core
        specfem.write_adjoint_sources(
            inside(options.specfem_dir, tables.event_name(task.event_id), config.eval_tag),
            result.adjoint_sources, result.time_offset_sec)
    if counters is not None:
        counters.processed.add(1)
        if not result.ok:
            counters.dead.add(1)
    return result


def write_events(records: Iterator[tuple[tuple[str, str], tuple]],
                 tables: NormalizationTables, options: ExecutorOptions,
                 counters=None) -> Iterator[StationSummary]:
    """Stage 2: records sorted by (event, station); one ASDF per event, streamed."""
    current: str | None = None
    batch: list[tuple] = []
    for (event_id, _code), computed in records:
        if current is not None and event_id != current:
            yield from write_event(current, batch, tables, options, counters)
            batch = []
        current = event_id
        batch.append(computed)
    if current is not None:
        yield from write_event(current, batch, tables, options, counters)


def compute_partition(tasks: Iterable[StationTask], tables: NormalizationTables,
                      options: ExecutorOptions, counters=None):
    """Stage 1 for a whole partition: compute, then stage this partition's outputs.

    Everything that costs per object (StationXML text, waveform and auxiliary
    datasets with their attributes) is written here, on every core, into one
    staging HDF5 file per (event, task attempt) in the event file's own layout.
    The event's single writer then only copies those objects in (HDF5 copies them
    in C), so writing is no serial tail. Records carry the staging file's path; a
    failed attempt's file is never referenced and goes with the job's staging dir.
    """
    import h5py

    from spark_seis.engine.commit import task_attempt_tag
    from spark_seis.io.asdf_writer import EventFileWriter, stationxml_bytes

    config = Config.from_dict(options.config)
    by_event: dict[str, list] = defaultdict(list)
    for task in tasks:
        raw: list = []
        result = compute_station(task, tables, options, counters, keep_raw=raw)
        by_event[task.event_id].append((task, result, raw))
    tag = task_attempt_tag()
    for event_id, computed in by_event.items():
        staged = inside(options.staging_dir, tables.event_name(event_id), f"{tag}.h5")
        staged.parent.mkdir(parents=True, exist_ok=True)
        with h5py.File(staged, "w") as h5:
            writer = EventFileWriter(h5)
            for task, result, (st_obs, st_syn) in computed:
                inv = tables.inventory(*task.code.split(".", 1))
                writer.write_station_result(
                    result, config, stationxml=stationxml_bytes(inv) if inv else None,
                    st_obs=st_obs or None, st_syn=st_syn or None)
        for task, result, _raw in computed:
            yield (event_id, task.code), (task, result, str(staged))


def write_event(event_id: str, stations: list[tuple],
                tables: NormalizationTables, options: ExecutorOptions,
                counters=None) -> list[StationSummary]:
    """One event -> its ASDF file (staging + rename), stale SPECFEM files, documents.

    ``stations`` holds (task, result, staged HDF5 file) records from
    ``compute_partition``; the staged objects are copied into the event file.
    """
    import h5py

    from spark_seis.io import specfem
    from spark_seis.io.asdf_writer import EventFileWriter, copy_staged
    from spark_seis.io.errors import OutputWriteError

    config = Config.from_dict(options.config)
    event = tables.event(event_id)
    name = tables.event_name(event_id)
    if config.event_id is None:  # one Config per event file: name its event (not 'None')
        config = config.copy(event_id=name)
    final = inside(options.output_dir, f"{name}.h5")  # name is a safe stem; never leave the folder
    codes = [record[0].code for record in stations]
    summaries: list[StationSummary] = []
    documents: list[dict[str, list[dict]]] = []
    try:
        with atomic_output(final) as staging:
            if final.exists():  # other evaluations in the file are the user's history
                _start_from(final, staging, config, codes if options.resume else None)
            with h5py.File(staging, "a") as h5:
                writer = EventFileWriter(h5)
                if event is not None:
                    writer.write_event(event)
                writer.write_config(config)
                # in station order (not by attempt-tagged name): a rerun writes the same bytes
                for staged in dict.fromkeys(record[2] for record in stations):
                    with h5py.File(staged, "r") as source:
                        copy_staged(source, h5)
                for task, result, _staged in stations:
                    documents.append(output_docs.station_documents(
                        event_id, result, config, str(final), name))
                    summaries.append(StationSummary(
                        name, task.code, result.status, result.nwin, result.total_misfit,
                        [e.message for e in result.elog if e.severity <= 2],
                        [e.message for e in result.elog if e.severity <= 1]))
            if options.fault:
                options.fault.maybe_fail("after_asdf_staged")
    except OutputWriteError:
        raise
    except OSError as exc:  # disk full, read-only...: one line naming the file
        raise OutputWriteError.from_os_error(exc, final) from None
    if options.fault:
        options.fault.maybe_fail("after_commit")
    if options.specfem_dir:  # the evaluation's .adj files are replaced as a whole
        specfem.remove_adjoint_sources(
            inside(options.specfem_dir, name, config.eval_tag),
            keep_stations={t.code for t, r, _s in stations if r.adjoint_sources},
            stations=codes if options.resume else None)
    _upsert(options, output_docs.merge_documents(documents), event_id, config, options.fault)
    if counters is not None:
        counters.written.add(len(stations))
    return summaries


def _start_from(final: Path, staging: Path, config: Config, stations: list[str] | None) -> None:
    """Copy the committed file, then drop what this run replaces.

    ``stations=None`` (a plain run) replaces the whole evaluation; a resumed run
    replaces only the stations it writes. Other evaluations and tags stay as they are.
    """
    import shutil

    import h5py

    from spark_seis.io.asdf_evaluation import remove_evaluation

    shutil.copyfile(final, staging)
    with h5py.File(staging, "r+") as h5:
        remove_evaluation(h5, config.aux_path, config.synthetic_tag, stations)


def _upsert(options: ExecutorOptions, docs: dict[str, list[dict]], event_id: str,
            config: Config, fault: FaultInjection | None) -> None:
    from spark_seis.engine.db_writer import upsert_station_documents

    upsert_station_documents(options.database, docs, event_id, config.eval_tag,
                             fault=fault)


def pipeline_from_tasks(tasks, events: list[str], tables_bc, options_bc, counters=None,
                        parallelism: int = 2):
    """Compute each StationTask of the RDD ``tasks``, then write one task per event."""
    event_index = {e: i for i, e in enumerate(events)}
    n_write = max(1, min(len(events), parallelism * 2))
    computed = tasks.mapPartitions(
        lambda part: compute_partition(part, tables_bc.value, options_bc.value, counters))
    # every record of one event goes to one writer partition, sorted by station
    by_event = computed.repartitionAndSortWithinPartitions(
        numPartitions=n_write, partitionFunc=lambda key: event_index[key[0]] % n_write)
    return by_event.mapPartitions(
        lambda it: write_events(it, tables_bc.value, options_bc.value, counters))


@dataclass
class JobSummary:
    events: int
    stations: int
    ok: int
    dead: int
    skipped: int
    output_dir: str
    seconds: float
    stations_by_status: dict[str, int]
    dead_reasons: dict[str, list[str]]
    partial: dict[str, list[str]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"misfit job: {self.stations} stations of {self.events} events in "
               f"{self.seconds:.1f} s: {self.ok} ok, {self.dead} without result, "
               f"{self.skipped} skipped (already done)",
               f"ASDF files (one per event): {self.output_dir}"]
        for code, reasons in sorted(self.dead_reasons.items()):
            out.append(f"  {code}: {reasons[0] if reasons else 'no reason logged'}")
        if self.partial:
            out.append(f"{len(self.partial)} ok station(s) lost some of their data "
                       "(measured on what remained):")
            for code, reasons in sorted(self.partial.items()):
                out.append(f"  {code}: {reasons[0]}")
        return out


def summarize(summaries: list[StationSummary], events: int, skipped: int, output_dir: str,
              started: float) -> JobSummary:
    by_status: dict[str, int] = defaultdict(int)
    for s in summaries:
        by_status[s.status] += 1
    dead = {f"{s.event_id}/{s.code}": s.reasons for s in summaries if s.status != "ok"}
    partial = {f"{s.event_id}/{s.code}": s.invalid for s in summaries
               if s.status == "ok" and s.invalid}
    return JobSummary(events=events, stations=len(summaries), ok=by_status.get("ok", 0),
                      dead=len(dead), skipped=skipped, output_dir=output_dir,
                      seconds=time.time() - started, stations_by_status=dict(by_status),
                      dead_reasons=dead, partial=partial)
