"""write_distributed_data: plain saves of an RDD of objects, exactly once.

Each partition writes all of its samples into ONE file (``dir``/``dfile``
named by data tag and partition), committed by atomic rename, or into GridFS
under ids derived from the documents' ids; then it upserts its documents in
bulk. Document ids derive from the data tag and the datum's identity, so a
retried task or a rerun replaces instead of duplicating, and the rewritten file
has the same offsets. Only metadata comes back to the driver.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from spark_seis.engine.commit import atomic_output

SEED_KEYS = ("net", "sta", "loc", "chan")


def _identity(obj: Any) -> tuple:
    if "_id" in obj.metadata:
        return ("id", str(obj["_id"]))
    return tuple(str(obj.get(k, "")) for k in SEED_KEYS) + (repr(obj.t0), obj.npts)


def _stored_documents(db: Any, objects: list) -> dict[str, dict]:
    """The documents the objects were read from (one query per wf collection).

    Cross-reference checks compare with these: adding an id links, altering a
    stored one kills (Update Rule 2).
    """
    from spark_seis.db.documents import as_object_id, wf_collection_of

    wanted: dict[str, list] = {}
    for obj in objects:
        if "_id" in obj.metadata:
            wanted.setdefault(wf_collection_of(obj), []).append(as_object_id(obj["_id"]))
    found: dict[str, dict] = {}
    for coll, ids in wanted.items():
        for doc in db.db[coll].find({"_id": {"$in": ids}}):
            found[str(doc["_id"])] = doc
    return found


def _write_partition(index: int, objects: Iterator, database: Mapping[str, Any],
                     data_tag: str, dir_: str, mode: str, storage_mode: str,
                     exclude_keys: tuple[str, ...]) -> Iterator[tuple[str, dict]]:
    from spark_seis.db import sample_io
    from spark_seis.db.client import database_session
    from spark_seis.db.crud_create import upsert_bundles
    from spark_seis.db.crud_read import plain_document
    from spark_seis.db.documents import derived_id, finalize_saved, object_to_documents

    objects = list(objects)
    if not objects:
        return
    with database_session(database) as db:
        stored = _stored_documents(db, objects)
        bundles = [object_to_documents(obj, schema=db.schema, mode=mode, data_tag=data_tag,
                                       storage_mode=storage_mode, exclude_keys=exclude_keys,
                                       wf_id=derived_id(data_tag, *_identity(obj)),
                                       original=stored.get(str(obj.get("_id"))))
                   for obj in objects]
        live = [b for b in bundles if b.wf_doc is not None]
        if live and storage_mode == "gridfs":
            for bundle in live:
                bundle.wf_doc["gridfs_id"] = sample_io.gridfs_put(
                    db.db, bundle.samples or b"", filename=str(bundle.wf_id),
                    file_id=derived_id(bundle.wf_id, "gridfs"))
        elif live:
            dfile = f"{data_tag}-part-{index:05d}.bin"
            final = sample_io.resolve_path(db.storage_root, dir_, dfile)
            with atomic_output(final) as staging:
                with open(staging, "wb") as fh:
                    for bundle in live:
                        foff = fh.tell()
                        fh.write(bundle.samples or b"")
                        bundle.wf_doc.update({"dir": dir_, "dfile": dfile, "foff": foff,
                                              "nbytes": len(bundle.samples or b"")})
        counts = upsert_bundles(db.db, bundles)
        for obj, bundle in zip(objects, bundles):
            finalize_saved(obj, bundle)
        for bundle in live:
            yield "doc", plain_document(bundle.wf_doc)
        yield "counts", {"partition": index, "saved": len(live),
                         "dead": len(bundles) - len(live),
                         **{f"docs_{k}": v for k, v in counts.items()}}


def write_distributed_data(rdd, database: Any, *, data_tag: str, dir: str | None = None,
                           mode: str = "promiscuous", storage_mode: str = "file",
                           exclude_keys: Iterable[str] = ()):
    """Save every object of ``rdd``; dead ones become tombstones.

    ``database``: the configuration mapping executors open their client from, or
    a ``Database`` handle (its ``worker_config()``). ``storage_mode``: "file"
    (one file per partition) or "gridfs". Returns a pandas DataFrame of the
    saved wf documents (ids as strings; usable as input of read_distributed_data)
    built from metadata only; ``frame.attrs["counts"]`` holds saved/dead/document
    counts and the number of partitions.
    """
    import pandas as pd

    from spark_seis.db.crud_create import STORAGE_MODES

    if not data_tag:
        raise ValueError("write_distributed_data needs a data_tag: it names files and keys")
    if storage_mode not in STORAGE_MODES:
        raise ValueError(f"write_distributed_data: storage_mode must be one of "
                         f"{STORAGE_MODES}, got {storage_mode!r}")
    if hasattr(database, "worker_config"):
        database = database.worker_config()
    database = dict(database)
    dir_ = dir or data_tag
    exclude_keys = tuple(exclude_keys)
    rows = rdd.mapPartitionsWithIndex(
        lambda i, it: _write_partition(i, it, database, data_tag, dir_, mode, storage_mode,
                                       exclude_keys)).collect()
    docs = [row for kind, row in rows if kind == "doc"]
    stats = [row for kind, row in rows if kind == "counts"]
    totals: dict[str, int] = {}
    for row in stats:
        for key, value in row.items():
            if key != "partition":
                totals[key] = totals.get(key, 0) + value
    totals["partitions"] = len(stats)
    frame = pd.DataFrame.from_records(docs)
    frame.attrs["counts"] = totals
    return frame
