"""Distributed reads: the driver plans from documents, executors read samples.

The driver reads the wf documents once (no samples) and the normalization
documents once, broadcasts the latter, and ships only document groups to the
executors. Each executor opens every ``dir``/``dfile`` once per group, reads
by ``foff``, and normalizes from the broadcast; it never queries per datum.
"""
from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any, Iterable, Iterator, Mapping

from obspy import Stream

from spark_seis.core.errorlog import ErrorLog
from spark_seis.core.obspy_convert import timeseries_to_trace
from spark_seis.db.crud_read import plain_document
from spark_seis.db.documents import document_to_object
from spark_seis.db.normalize import normalize
from spark_seis.db.sample_io import StoragePathError, resolve_path

ALGORITHM = "spark_seis.engine.read"


def _file_key(doc: Mapping[str, Any]) -> tuple[str, str]:
    if doc.get("storage_mode") == "gridfs":
        return ("", "")
    return (str(doc.get("dir") or ""), str(doc.get("dfile") or ""))


def read_group(docs: Iterable[Mapping[str, Any]], storage_root: str, *,
               collection: str = "wf_TimeSeries", mode: str = "promiscuous") -> list:
    """Objects of ``docs`` in input order; each file is opened once.

    Failures (missing file, truncated range, path outside the storage root)
    give dead objects naming the document and file, never exceptions. Samples
    in GridFS are not read here (executors hold no database connection): such
    data come back dead, saying so.
    """
    docs = list(docs)
    by_file: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, doc in enumerate(docs):
        by_file[_file_key(doc)].append(index)
    out: list = [None] * len(docs)
    for (dir_, dfile), indices in by_file.items():
        indices.sort(key=lambda i: int(docs[i].get("foff") or 0))
        if not dfile:
            for i in indices:
                if docs[i].get("storage_mode") != "gridfs":  # says what is missing
                    out[i] = document_to_object(docs[i], None, collection=collection,
                                                mode=mode, storage_root=storage_root)
                    continue
                out[i] = document_to_object({**docs[i], "npts": 0}, b"", collection=collection,
                                            mode=mode, storage_root=storage_root)
                out[i].kill(ALGORITHM, f"document {docs[i].get('_id')}: samples in GridFS "
                            "are read with Database.read_data, not by the distributed "
                            "reader; save them to files for Spark jobs")
            continue
        with contextlib.ExitStack() as stack:
            try:
                path = resolve_path(storage_root, dir_, dfile)
                handle = stack.enter_context(open(path, "rb"))
            except (OSError, StoragePathError):
                handle = None  # document_to_object reports the precise reason
            for i in indices:
                out[i] = document_to_object(docs[i], handle, collection=collection, mode=mode,
                                            storage_root=storage_root)
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
                     ) -> Iterator:
    lookups = lookups_bc.value if lookups_bc is not None else {}
    for _key, docs in groups:
        for obj in read_group(docs, storage_root, collection=collection, mode=mode):
            if normalize_with and obj.live:
                normalize(obj, lookups, normalize_with)
            yield obj


def read_distributed_data(spark, db, data: Any = None, *, collection: str | None = None,
                          mode: str = "promiscuous", normalize_with: Iterable[str] = (),
                          partition_key: str = "source_id", npartitions: int | None = None,
                          storage_root: str | None = None):
    """RDD of TimeSeries/Seismogram from a query dict, a cursor or a DataFrame.

    Everything with the same ``partition_key`` value lands in one partition.
    """
    import pandas as pd

    from spark_seis.db.normalize import load_lookups

    collection = collection or db.wf_collection
    storage_root = storage_root or db.storage_root
    if data is None or isinstance(data, dict):
        docs = list(db.db[collection].find(data or {}))
    elif isinstance(data, pd.DataFrame):
        # a key missing from some documents is NaN in their rows: leave it out again
        docs = [{k: v for k, v in row.items() if not (isinstance(v, float) and v != v)}
                for row in data.to_dict("records")]
    else:  # a cursor or any iterable of documents
        docs = list(data)
    normalize_with = tuple(normalize_with)
    lookups = None
    if normalize_with:  # ids as stored (ObjectId), before documents are made plain
        ids = {c: {d.get(f"{c}_id") for d in docs} for c in normalize_with}
        ids = {c: {_as_object_id(i) for i in values} for c, values in ids.items()}
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
    return rdd.mapPartitions(lambda it: _group_partition(
        it, storage_root, collection, mode, lookups_bc, normalize_with))


def _as_object_id(value: Any) -> Any:
    from bson import ObjectId

    if isinstance(value, str) and ObjectId.is_valid(value):
        return ObjectId(value)
    return value
