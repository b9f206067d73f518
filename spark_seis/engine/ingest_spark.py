"""Ingest on Spark: waveform files read, identified and stored by the executors.

The same work as :func:`spark_seis.workflow.ingest.ingest_paths`, with the same
per-file functions and the same summary, spread over Spark tasks:

- the driver lists and classifies the files and stores QuakeML and StationXML
  itself (small, and every waveform needs them first);
- MiniSEED, SAC and SPECFEM files are cut into slices of consecutive files (one
  folder of synthetics stays together, so each task appends one block per
  event to its binary file); each task opens the database once, runs
  :func:`~spark_seis.workflow.ingest.ingest_waveforms` on its slice and returns
  its :class:`~spark_seis.workflow.ingest.IngestSummary`;
- ASDF files (which may add events and stations) are read on the driver afterwards.

Identity is the ingest key and its derived ``_id`` (see
``spark_seis.workflow.ingest.identity``), which holds across processes: a rerun
adds nothing, a truncated copy is replaced, a different copy is reported naming
both files, whichever task sees them. A full disk or a database that cannot be
opened or written stops each task at its first such failure; the driver then
raises :class:`IngestStopped` naming the file (or store) and the cause, with
everything the other tasks stored in its summary.

The embedded store is SQLite in WAL mode: every executor must run on the
driver's machine (a shared filesystem is not enough). For a non-local master,
:func:`check_executors_see_store` proves it before any file is read; on a
cluster of several hosts use a MongoDB.
"""
from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from spark_seis.workflow.ingest import (WAVEFORM_KINDS, IngestOptions, IngestStopped,
                                        IngestSummary, Sources, ingest_asdf_files,
                                        ingest_metadata, ingest_waveforms, start_ingest)
from spark_seis.workflow.ingest.common import KIND_ASDF, storage_failure
from spark_seis.workflow.ingest.driver import Listing

Slice = dict[str, list[str]]  # kind -> files of one task
TaskResult = tuple[int, IngestSummary, "tuple[str, str] | None"]  # files done, summary, stop


class StoreNotShared(RuntimeError):
    """Executors of a cluster cannot reach the embedded store the driver uses."""


def slices(found: dict[str, list[Path]], files_per_task: int) -> list[Slice]:
    """Waveform files in listing order, cut into slices of at most ``files_per_task``."""
    out: list[Slice] = []
    for kind in WAVEFORM_KINDS:
        files = [str(p) for p in found.get(kind, ())]
        for start in range(0, len(files), files_per_task):
            out.append({kind: files[start:start + files_per_task]})
    return out


def default_files_per_task(n_files: int, parallelism: int) -> int:
    """~8 tasks per core (steady progress, balanced cores), 20-500 files each."""
    return max(20, min(500, -(-n_files // max(1, 8 * parallelism))))


def ingest_slice(database: dict[str, Any], options: IngestOptions, roots: Sequence[str],
                 part: Slice) -> TaskResult:
    """One task: open the database once, ingest the files of ``part``; never raises."""
    from spark_seis.db.client import database_session

    summary = IngestSummary()
    n_files = sum(len(v) for v in part.values())
    where = database.get("mongo_uri") and "MongoDB" or database.get("embedded_path")
    try:
        with database_session(database) as db:
            sources = Sources(db)
            try:
                ingest_waveforms(db, {k: [Path(p) for p in v] for k, v in part.items()},
                                 summary, sources, options, [Path(r) for r in roots],
                                 tick=lambda _label: None)
            except IngestStopped as exc:
                return n_files, summary, (exc.what, exc.cause)
    except Exception as exc:  # noqa: BLE001 - opening, reading or closing the store failed
        cause = storage_failure(exc) or f"{type(exc).__name__}: {exc}"
        return n_files, summary, (f"database {where} (on {socket.gethostname()})",
                                  f"cannot open or read it: {cause}")
    return n_files, summary, None


def ingest_paths_spark(spark, db, paths: Iterable[str | os.PathLike],
                       options: IngestOptions | None = None,
                       progress: Callable[[int, int, str], None] | None = None,
                       listing: Listing | None = None, files_per_task: int | None = None,
                       poll_seconds: float = 0.5) -> IngestSummary:
    """:func:`~spark_seis.workflow.ingest.ingest_paths` with the waveforms read on Spark.

    Same documents, same summary, same :class:`IngestStopped`; ``progress(done,
    total, label)`` is called on the driver as tasks finish.
    """
    options = options or IngestOptions()
    found, root_paths, summary, tick = start_ingest(db, paths, options, progress, listing)
    roots = [str(r) for r in root_paths]
    sc = spark.sparkContext
    database = db.worker_config()
    if not sc.master.startswith("local"):
        check_executors_see_store(sc, database)
    ingest_metadata(db, found, summary, tick)
    parts = slices(found, files_per_task or default_files_per_task(
        sum(len(found.get(k, ())) for k in WAVEFORM_KINDS), sc.defaultParallelism))
    if parts:
        results = _run_tasks(sc, database, options, roots, parts, tick, poll_seconds)
        stopped = None
        for _n, part_summary, stop in results:  # in listing order, as the serial ingest
            summary.merge(part_summary)
            stopped = stopped or stop
        if stopped is not None:
            raise IngestStopped(stopped[0], stopped[1], summary)
    ingest_asdf_files(db, found.get(KIND_ASDF, []), summary, Sources(db), options, tick)
    return summary


def _run_tasks(sc, database: dict, options: IngestOptions, roots: list[str], parts: list[Slice],
               tick: Callable[..., None], poll_seconds: float) -> list[TaskResult]:
    """Run one task per slice; report finished files on the driver while they run."""
    finished = sc.accumulator(0)

    def run(part: Slice) -> TaskResult:
        result = ingest_slice(database, options, roots, part)
        finished.add(result[0])
        return result

    rdd = sc.parallelize(parts, len(parts)).map(run)
    box: dict[str, Any] = {}

    def collect() -> None:
        try:
            box["results"] = rdd.collect()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the driver's thread
            box["error"] = exc

    worker = threading.Thread(target=collect, name="spark-ingest", daemon=True)
    worker.start()
    reported = 0
    while worker.is_alive():
        worker.join(poll_seconds)
        now = finished.value
        if now > reported:
            tick("waveform files", now - reported)
            reported = now
    if "error" in box:
        exc = box["error"]
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise IngestStopped("a Spark task", f"{first} (files stored before it are kept; "
                                            f"run the same ingest again to add the rest)",
                            IngestSummary()) from exc
    results = box["results"]
    rest = sum(r[0] for r in results) - reported
    if rest:
        tick("waveform files", rest)
    return results


def check_executors_see_store(sc, database: dict[str, Any]) -> None:
    """With the embedded store, every executor must run on the driver's machine and see
    its store and sample folder; raise StoreNotShared naming the hosts that do not.

    A shared filesystem is not enough: the store is SQLite in WAL mode, whose
    shared-memory index does not work across hosts (see README, "Sizes the
    embedded default serves").
    """
    if database.get("mongo_uri"):
        return
    store, root = database["embedded_path"], database["storage_root"]
    Path(root).mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    marker = Path(root) / f".spark_seis_ingest_check_{token}"
    marker.write_text(token)
    here = socket.gethostname()
    try:
        n = max(2, sc.defaultParallelism)

        def look(_items: Iterator[Any]) -> Iterator[tuple[str, bool]]:
            seen = marker.exists() and marker.read_text() == token and Path(store).exists()
            yield socket.gethostname(), seen

        answers = sc.parallelize(range(n), n).mapPartitions(look).collect()
    finally:
        marker.unlink(missing_ok=True)
    blind = sorted({host for host, seen in answers if not seen})
    remote = sorted({host for host, seen in answers if seen and host != here})
    fix = ("run the ingest with a local master (--master 'local[*]') or with workers on this "
           "machine, or use a MongoDB (database.mongo_uri / SPARK_SEIS_MONGO_URI)")
    if blind:
        raise StoreNotShared(
            f"executors on {', '.join(blind)} cannot see the embedded store {store} and its "
            f"sample folder {root} of this driver ({here}): {fix}")
    if remote:
        raise StoreNotShared(
            f"executors on {', '.join(remote)} see the embedded store {store} through a "
            f"shared filesystem, but it is SQLite in WAL mode, which cannot be written from "
            f"several hosts safely (the driver runs on {here}): {fix}")
