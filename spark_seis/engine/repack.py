"""Repack sample files by gather on Spark: exactly once, resumable.

Order of every step, so that no document ever points at a missing byte range:

1. the driver plans (:func:`spark_seis.db.repack_plan.plan_repack`) and records
   the files it will empty in the ``repack_journal`` collection;
2. one task per group of gathers copies each gather's byte ranges into a staging
   file named with the task attempt, fsyncs it and renames it into place (a
   complete file of that name from an earlier, interrupted run is reused), and
   only then re-points the gather's documents, each update conditional on the
   document still being where it was read from;
3. the driver removes a journalled old file only when no document of either wf
   collection references it any more, and marks the journal entry done.

A rerun after an interruption at any point plans the same target names (they
derive from the layout), skips what is in place, and finishes the journal.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping

from spark_seis.db import sample_io
from spark_seis.db.repack_plan import (
    PROJECTION, TARGET_DIR, FileKey, GatherPlan, RepackPlan, check_by, plan_repack,
)
from spark_seis.db.schema import check_wf_collection
from spark_seis.engine.commit import (
    STAGING_SUFFIX, OutputBusyError, output_lock, renamed_into_place,
)

JOURNAL = "repack_journal"
WF_COLLECTIONS = ("wf_TimeSeries", "wf_Seismogram")
MAX_OPEN_FILES = 64  # source files held open at once by one task


@dataclass
class RepackReport:
    by: str
    collection: str
    gathers: int = 0
    written: int = 0  # gather files written by this run
    reused: int = 0  # complete gather files left by an interrupted run
    moved: int = 0  # documents re-pointed by this run
    in_place: int = 0  # documents already in their gather file
    changed: int = 0  # documents changed by someone else meanwhile: left alone
    bytes_written: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # gather -> reason, left as it was
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # old files other documents still use
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [f"repack by {self.by} ({self.collection}) in {self.seconds:.1f} s: "
               f"{self.gathers} gathers, {self.written} files written "
               f"({self.bytes_written / 1e6:.1f} MB), {self.reused} reused from an earlier run; "
               f"{self.moved} documents moved, {self.in_place} already in place",
               f"old files removed: {len(self.removed)}; kept (still referenced): "
               f"{len(self.kept)}"]
        for reason, count in sorted(self.skipped.items()):
            out.append(f"  not moved: {count} documents: {reason}")
        for name, reason in sorted(self.failed.items()):
            out.append(f"  gather {name} not repacked: {reason}")
        if self.changed:
            out.append(f"  {self.changed} documents changed during the repack were left "
                       "where they are; run repack again to move them")
        return out


class _SourceFiles:
    """Open source files, at most ``limit`` at once (least recently used closed)."""

    def __init__(self, storage_root: str, limit: int = MAX_OPEN_FILES) -> None:
        self.root, self.limit = storage_root, limit
        self.handles: "OrderedDict[FileKey, BinaryIO]" = OrderedDict()

    def get(self, dir_: Any, dfile: str) -> BinaryIO:
        key = (dir_, dfile)
        if key in self.handles:
            self.handles.move_to_end(key)
            return self.handles[key]
        if len(self.handles) >= self.limit:
            self.handles.popitem(last=False)[1].close()
        handle = open(sample_io.resolve_path(self.root, dir_, dfile), "rb")
        self.handles[key] = handle
        return handle

    def close(self) -> None:
        while self.handles:
            self.handles.popitem()[1].close()


def write_gather(gather: GatherPlan, storage_root: str) -> bool:
    """Copy the gather's byte ranges into its file; False if a complete one exists.

    The file appears under its final name only when complete (staging + rename);
    its content is fixed by the plan, so concurrent attempts write the same bytes.
    """
    final = sample_io.resolve_path(storage_root, gather.dir, gather.dfile)
    if final.exists() and final.stat().st_size == gather.size:
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    sources = _SourceFiles(storage_root)
    try:
        with renamed_into_place(final) as staging, open(staging, "wb") as out:
            for m in gather.members:
                where = f"document {m.wf_id}: file {m.src_dir}/{m.src_dfile}"
                out.write(sample_io.read_range(sources.get(m.src_dir, m.src_dfile),
                                               m.read_offset, m.nbytes, where))
    finally:
        sources.close()
    return True


def point_documents(collection: Any, gather: GatherPlan) -> tuple[int, int]:
    """Re-point the gather's documents at its file: (moved, changed meanwhile).

    Each update matches the document only where the plan read it from, so a
    retried task moves nothing twice and a document someone else changed is
    left alone.
    """
    from pymongo import UpdateOne

    ops = [UpdateOne({"_id": m.wf_id, "dir": m.src_dir, "dfile": m.src_dfile,
                      "foff": m.src_foff},
                     {"$set": {"dir": gather.dir, "dfile": gather.dfile, "foff": m.dst_foff,
                               "nbytes": m.nbytes}})
           for m in gather.members if not m.in_place]
    if not ops:
        return 0, 0
    result = collection.bulk_write(ops, ordered=False)
    if result.matched_count == len(ops):
        return len(ops), 0
    # fewer matched: a retried attempt moved some already, or someone changed them
    ids = [m.wf_id for m in gather.members if not m.in_place]
    there = collection.count_documents({"_id": {"$in": ids}, "dir": gather.dir,
                                        "dfile": gather.dfile})
    return result.matched_count, len(ops) - there


def _repack_partition(gathers: Iterator[GatherPlan], storage_root: str,
                      database: Mapping[str, Any], collection: str) -> Iterator[dict]:
    from spark_seis.db.client import database_session

    gathers = list(gathers)
    if not gathers:
        return
    with database_session(database) as db:
        for gather in gathers:
            row = {"gather": gather.name, "written": False, "moved": 0, "changed": 0,
                   "bytes": 0, "error": None}
            try:
                row["written"] = write_gather(gather, storage_root)
            except (sample_io.SampleReadError, sample_io.StoragePathError,
                    FileNotFoundError) as exc:  # bad data: this gather stays as it was
                row["error"] = str(exc)
                yield row
                continue
            row["bytes"] = gather.size if row["written"] else 0
            row["moved"], row["changed"] = point_documents(db.db[collection], gather)
            yield row


def _file_sizes(storage_root: str, keys: set[FileKey]) -> dict[FileKey, int | None]:
    sizes: dict[FileKey, int | None] = {}
    for dir_, dfile in keys:
        try:
            sizes[(dir_, dfile)] = sample_io.resolve_path(storage_root, dir_, dfile).stat().st_size
        except (OSError, sample_io.StoragePathError, TypeError):
            sizes[(dir_, dfile)] = None
    return sizes


def _referenced_paths(db: Any, storage_root: str) -> set[Path]:
    keys: set[FileKey] = set()
    for name in WF_COLLECTIONS:
        for doc in db.db[name].find({"dfile": {"$exists": True}}, {"dir": 1, "dfile": 1}):
            keys.add((doc.get("dir"), doc.get("dfile")))
    paths = set()
    for dir_, dfile in keys:
        with contextlib.suppress(sample_io.StoragePathError, TypeError):
            paths.add(sample_io.resolve_path(storage_root, dir_, dfile))
    return paths


def finish_journal(db: Any, storage_root: str) -> tuple[list[str], list[str]]:
    """Remove old files of unfinished repacks that no document references.

    Returns (removed, kept). Also removes staging files left by killed tasks.
    """
    journal = db.db[JOURNAL]
    entries = list(journal.find({"state": {"$ne": "done"}}))
    if not entries:
        return [], []
    referenced = _referenced_paths(db, storage_root)
    removed, kept = [], []
    for entry in entries:
        for dir_, dfile in entry.get("sources", []):
            try:
                path = sample_io.resolve_path(storage_root, dir_, dfile)
            except sample_io.StoragePathError:
                continue
            name = os.path.join(dir_ or "", dfile)
            if path in referenced:
                kept.append(name)
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(name)
        for target_dir in entry.get("target_dirs", []):
            folder = Path(storage_root) / target_dir
            for stale in folder.glob(f".*{STAGING_SUFFIX}"):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
        journal.update_one({"_id": entry["_id"]},
                           {"$set": {"state": "done", "finished": time.time()}})
    return sorted(set(removed)), sorted(set(kept))


def record_plan(db: Any, plan: RepackPlan, collection: str) -> None:
    """Journal the files a repack will empty, before any task runs (for the cleanup).

    A rerun of an interrupted repack has the same plan id and adds to its entry:
    the files the first run already emptied stay listed until they are removed.
    """
    db.db[JOURNAL].update_one({"_id": plan.plan_id}, {
        "$set": {"by": plan.by, "collection": collection, "state": "moving",
                 "started": time.time()},
        "$addToSet": {"sources": {"$each": [list(k) for k in plan.sources]},
                      "target_dirs": {"$each": sorted({g.dir for g in plan.pending})}}},
        upsert=True)


def repack_sample_files(spark, database: Mapping[str, Any], by: str, *,
                        query: Mapping[str, Any] | None = None, collection: str | None = None,
                        npartitions: int | None = None) -> RepackReport:
    """Rewrite sample files so each gather (``by``: station, event, channel) is one file.

    ``database`` is a database configuration (as for ``write_distributed_data``):
    executors open their own connection. Only documents matching ``query`` are
    moved; old files go only when no document references them. One repack at a
    time per storage root (a second one is refused).
    """
    from spark_seis.db.client import database_session

    started = time.time()
    check_by(by)
    with database_session(database) as db:
        collection = check_wf_collection(collection or db.wf_collection)
        root = db.storage_root
        lock_name = Path(root) / TARGET_DIR / "repack"
        try:
            with output_lock(lock_name):
                report = _repack(spark, db, database, by, dict(query or {}), collection,
                                 npartitions)
        except OutputBusyError:
            raise OutputBusyError(f"another repack is running on {root}; "
                                  "wait for it to finish, then run this one again") from None
    report.seconds = time.time() - started
    return report


def _repack(spark, db: Any, database: Mapping[str, Any], by: str, query: dict,
            collection: str, npartitions: int | None) -> RepackReport:
    root = db.storage_root
    docs = list(db.db[collection].find(query, {k: 1 for k in PROJECTION}))
    sizes = _file_sizes(root, {(d.get("dir"), d.get("dfile")) for d in docs if d.get("dfile")})
    plan = plan_repack(docs, by, sizes)
    report = RepackReport(by=by, collection=collection, gathers=len(plan.gathers),
                          skipped={r: len(ids) for r, ids in plan.skipped.items()},
                          in_place=sum(m.in_place for g in plan.gathers for m in g.members))
    pending = plan.pending
    if pending:
        record_plan(db, plan, collection)
        sc = spark.sparkContext
        n = npartitions or max(1, min(len(pending), sc.defaultParallelism * 4))
        rows = sc.parallelize(pending, n).mapPartitions(
            lambda it: _repack_partition(it, root, database, collection)).collect()
        for row in rows:
            if row["error"]:
                report.failed[row["gather"]] = row["error"]
                continue
            report.written += row["written"]
            report.reused += not row["written"]
            report.moved += row["moved"]
            report.changed += row["changed"]
            report.bytes_written += row["bytes"]
    report.removed, report.kept = finish_journal(db, root)
    return report
