"""Distributed reads: the driver plans from documents, executors read samples.

The driver reads the wf documents once (no samples) and the normalization
documents once, broadcasts the latter, and ships only document groups to the
executors. Each executor opens every ``dir``/``dfile`` once per group, reads
by ``foff``, and normalizes from the broadcast; it never queries per datum.
GridFS samples are fetched per group (two queries) through a client each task
opens itself from the pickleable database configuration.
"""
from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any, Iterable, Iterator, Mapping

from obspy import Stream

from spark_seis.core.errorlog import ErrorLog
from spark_seis.core.obspy_convert import timeseries_to_trace
from spark_seis.db.crud_read import plain_document, tag_mismatch
from spark_seis.db.documents import as_object_id, document_to_object
from spark_seis.db.normalize import check_collections, missing_required, normalize
from spark_seis.db.sample_io import StoragePathError, gridfs_get_many, resolve_path

ALGORITHM = "spark_seis.engine.read"


class GridFSSource:
    """GridFS samples for one task: opens a client on first use, closes it on exit."""

    def __init__(self, database: Mapping[str, Any] | None) -> None:
        self.database = database
        self._stack = contextlib.ExitStack()
        self._db = None

    def fetch(self, docs: list[Mapping[str, Any]]) -> dict[Any, Any]:
        """{gridfs_id as stored in the doc: bytes or the error} for ``docs``."""
        from spark_seis.db.client import database_session
        from spark_seis.db.sample_io import SampleReadError

        if self.database is None:
            error = SampleReadError("samples are in GridFS but the reader was given no "
                                    "database configuration to fetch them")
            return {d.get("gridfs_id"): error for d in docs}
        if self._db is None:
            self._db = self._stack.enter_context(database_session(self.database))
        wanted = {d.get("gridfs_id"): as_object_id(d.get("gridfs_id")) for d in docs}
        found = gridfs_get_many(self._db.db, wanted.values())
        return {key: found[oid] for key, oid in wanted.items()}

    def __enter__(self) -> "GridFSSource":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()


def _file_key(doc: Mapping[str, Any]) -> tuple[str, str]:
    if doc.get("storage_mode") == "gridfs":
        return ("", "")
    return (str(doc.get("dir") or ""), str(doc.get("dfile") or ""))


def read_group(docs: Iterable[Mapping[str, Any]], storage_root: str, *,
               collection: str = "wf_TimeSeries", mode: str = "promiscuous",
               gridfs: GridFSSource | None = None, exclude_keys: Iterable[str] = (),
               load_history: bool = False) -> list:
    """Objects of ``docs`` in input order; each file is opened once.

    Failures (missing file, truncated range, path outside the storage root,
    missing GridFS file) give dead objects naming the document and file, never
    exceptions. GridFS samples come from ``gridfs`` (all of the group at once);
    without one such data are dead, saying why.
    """
    docs = list(docs)
    exclude_keys = tuple(exclude_keys)

    def build(doc, samples):
        return document_to_object(doc, samples, collection=collection, mode=mode,
                                  storage_root=storage_root, exclude_keys=exclude_keys,
                                  load_history=load_history)

    by_file: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, doc in enumerate(docs):
        by_file[_file_key(doc)].append(index)
    out: list = [None] * len(docs)
    for (dir_, dfile), indices in by_file.items():
        indices.sort(key=lambda i: int(docs[i].get("foff") or 0))
        if not dfile:
            in_gridfs = {i for i in indices if docs[i].get("storage_mode") == "gridfs"}
            samples = (gridfs or GridFSSource(None)).fetch([docs[i] for i in sorted(in_gridfs)])
            for i in indices:
                # not in GridFS and no file: document_to_object says what is missing
                out[i] = build(docs[i], samples.get(docs[i].get("gridfs_id"))
                               if i in in_gridfs else None)
            continue
        with contextlib.ExitStack() as stack:
            try:
                path = resolve_path(storage_root, dir_, dfile)
                handle = stack.enter_context(open(path, "rb"))
            except (OSError, StoragePathError):
                handle = None  # document_to_object reports the precise reason
            for i in indices:
                out[i] = build(docs[i], handle)
    return out


def load_streams(observed: Iterable[Mapping[str, Any]], synthetic: Iterable[Mapping[str, Any]],
                 storage_root: str, event: Any = None,
                 collection: str = "wf_TimeSeries") -> tuple[Stream, Stream, ErrorLog]:
    """Observed and synthetic traces of one station; dead data go to the log.

    Documents of ``wf_Seismogram`` give three traces each (split by component).
    """
    from spark_seis.core.obspy_convert import seismogram_to_stream

    elog = ErrorLog()
    streams = []
    for docs in (list(observed), list(synthetic)):
        stream = Stream()
        for obj in read_group(docs, storage_root, collection=collection):
            if not obj.live:
                elog.extend(obj.elog)
            elif collection == "wf_Seismogram":
                stream += seismogram_to_stream(obj)
            else:
                stream.append(timeseries_to_trace(obj))
        streams.append(stream)
    return streams[0], streams[1], elog


def _group_partition(groups: Iterator[tuple[Any, list[dict]]], storage_root: str,
                     collection: str, mode: str, lookups_bc, normalize_with: tuple[str, ...],
                     database: Mapping[str, Any] | None, exclude_keys: tuple[str, ...],
                     load_history: bool) -> Iterator:
    lookups = lookups_bc.value if lookups_bc is not None else {}
    with GridFSSource(database) as gridfs:
        for _key, docs in groups:
            for obj in read_group(docs, storage_root, collection=collection, mode=mode,
                                  gridfs=gridfs, exclude_keys=exclude_keys,
                                  load_history=load_history):
                if normalize_with and obj.live:
                    normalize(obj, lookups, normalize_with)
                yield obj


def read_distributed_data(spark, db, data: Any = None, *, collection: str | None = None,
                          mode: str = "promiscuous", normalize_with: Iterable[str] = (),
                          partition_key: str = "source_id", npartitions: int | None = None,
                          storage_root: str | None = None, exclude_keys: Iterable[str] = (),
                          load_history: bool = False, data_tag: str | None = None,
                          database: Mapping[str, Any] | None = None):
    """RDD of TimeSeries/Seismogram from a query dict, a cursor or a DataFrame.

    Everything with the same ``partition_key`` value lands in one partition.
    As ``read_data`` does, a document lacking an id of a ``normalize_with``
    collection, or tagged other than ``data_tag``, is skipped (never read).
    GridFS samples are read on the executors, each task opening its own client
    from ``database`` (default: ``db.worker_config()``).
    """
    import pandas as pd

    from spark_seis.db.normalize import load_lookups

    collection = collection or db.wf_collection
    storage_root = storage_root or db.storage_root
    normalize_with = check_collections(normalize_with)
    if data is None or isinstance(data, dict):
        query = dict(data or {})
        if data_tag and "data_tag" not in query:
            query["data_tag"] = data_tag
        docs = list(db.db[collection].find(query))
    elif isinstance(data, pd.DataFrame):
        # a key missing from some documents is NaN in their rows: leave it out again
        docs = [{k: v for k, v in row.items() if not (isinstance(v, float) and v != v)}
                for row in data.to_dict("records")]
    else:  # a cursor or any iterable of documents
        docs = list(data)
    docs = [d for d in docs
            if not missing_required(d, normalize_with) and not tag_mismatch(d, data_tag)]
    if database is None and any(d.get("storage_mode") == "gridfs" for d in docs):
        database = db.worker_config()
    lookups = None
    if normalize_with:  # ids as stored (ObjectId), before documents are made plain
        ids = {c: {d.get(f"{c}_id") for d in docs} for c in normalize_with}
        ids = {c: {as_object_id(i) for i in values} for c, values in ids.items()}
        lookups = load_lookups(db.db, normalize_with, ids)
    docs = [plain_document(d) for d in docs]
    groups: dict[Any, list[dict]] = defaultdict(list)
    for doc in docs:
        groups[str(doc.get(partition_key))].append(doc)
    sc = spark.sparkContext
    lookups_bc = sc.broadcast(lookups) if lookups is not None else None
    items = sorted(groups.items())
    n = npartitions or max(1, min(len(items), sc.defaultParallelism * 4))
    rdd = sc.parallelize(items, n) if items else sc.parallelize([], 1)
    exclude_keys = tuple(exclude_keys)
    return rdd.mapPartitions(lambda it: _group_partition(
        it, storage_root, collection, mode, lookups_bc, normalize_with, database,
        exclude_keys, load_history))
