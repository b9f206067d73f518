"""Create: save_data, ensembles (one file per ensemble), bulk upserts.

Every write is an upsert on ``_id`` so a retried task rewrites the same documents
instead of adding copies; sample bytes are written before the documents that
point at them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError

from ..core import Seismogram, SeismogramEnsemble, TimeSeries, TimeSeriesEnsemble
from . import sample_io
from .documents import SaveBundle, finalize_saved, object_to_documents
from .schema import check_wf_collection

if TYPE_CHECKING:
    from .database import Database

STORAGE_MODES = ("file", "gridfs")


def bulk_upsert(collection: Any, docs: Iterable[Mapping[str, Any]],
                key_fields: Sequence[str] = ("_id",)) -> int:
    """Replace-or-insert each doc matched on ``key_fields`` (deterministic keys); returns count."""
    docs = [dict(d) for d in docs]
    if not docs:
        return 0
    if tuple(key_fields) == ("_id",) and all("_id" in d for d in docs):
        # Fast path: new keys are plain inserts (the embedded store answers an _id
        # collision from its primary key without a query); only collisions, i.e.
        # a retried task rewriting its own documents, become replacements.
        try:
            collection.insert_many(docs, ordered=False)
            return len(docs)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            docs = [docs[e["index"]] for e in errors]
    ops = []
    for doc in docs:
        missing = [k for k in key_fields if k not in doc]
        if missing:
            raise KeyError(f"bulk_upsert into {collection.name}: document lacks key fields "
                           f"{missing}: {dict(list(doc.items())[:6])}")
        ops.append(ReplaceOne({k: doc[k] for k in key_fields}, dict(doc), upsert=True))
    if ops:
        collection.bulk_write(ops, ordered=False)
    return len(ops)


def upsert_bundles(database: Any, bundles: Sequence[SaveBundle]) -> dict[str, int]:
    """Write the documents of several bundles with one bulk upsert per collection.

    Samples must already be stored and the wf docs carry their dir/dfile/foff or gridfs_id.
    """
    by_coll: dict[str, list[dict]] = {}
    for b in bundles:
        if b.wf_doc is not None:
            by_coll.setdefault(b.collection, []).append(b.wf_doc)
        by_coll.setdefault("elog", []).extend(b.elog_docs)
        by_coll.setdefault("history", []).extend(b.history_docs)
        if b.graveyard_doc is not None:
            by_coll.setdefault("graveyard", []).append(b.graveyard_doc)
    return {c: bulk_upsert(database[c], docs) for c, docs in by_coll.items() if docs}


def _check_storage(storage_mode: str, format: str) -> None:
    if storage_mode not in STORAGE_MODES:
        raise ValueError(f"storage_mode must be one of {STORAGE_MODES}, got {storage_mode!r}")
    if format != sample_io.BINARY:
        raise ValueError(f"writers store format {sample_io.BINARY!r} only, got {format!r} "
                         f"(MiniSEED is read-only: ingest files with ingest.index_mseed)")


def _default_location(collection: str, data_tag: str | None, dir: str | None,
                      dfile: str | None) -> tuple[str, str]:
    return (dir if dir is not None else collection,
            dfile if dfile is not None else f"{data_tag or 'data'}.bin")


def _original(db: "Database", obj: Any, collection: str) -> dict | None:
    if "_id" not in obj.metadata:
        return None
    return db.db[collection].find_one({"_id": obj["_id"]})


def save_data(db: "Database", obj: TimeSeries | Seismogram, *, mode: str = "promiscuous",
              storage_mode: str = "file", dir: str | None = None, dfile: str | None = None,
              format: str = sample_io.BINARY, data_tag: str | None = None,
              save_history: bool = False, collection: str | None = None,
              exclude_keys: Iterable[str] = ()) -> TimeSeries | Seismogram:
    """Save one atomic object as a new wf document (+ samples, elog, history).

    Samples are appended to ``storage_root/dir/dfile`` (default
    ``<collection>/<data_tag or data>.bin``) or stored in GridFS. Dead data are
    saved as an elog tombstone without samples. Without ``data_tag`` the new
    document has no tag, whatever tag the datum was read with (MsPASS's rule).
    ``exclude_keys`` are metadata keys not to save. Returns the object, now linked
    to its document (``_id``) with history reset to ORIGIN when it was saved.
    """
    _check_storage(storage_mode, format)
    from .documents import wf_collection_of

    coll = collection or wf_collection_of(obj)
    check_wf_collection(coll)
    if coll != wf_collection_of(obj):
        raise ValueError(f"a {type(obj).__name__} cannot be saved to {coll}")
    bundle = object_to_documents(obj, schema=db.schema, mode=mode, data_tag=data_tag,
                                 storage_mode=storage_mode, format=format,
                                 wf_id=None if "_id" not in obj.metadata else _new_id(),
                                 save_history=save_history,
                                 original=_original(db, obj, coll),
                                 exclude_keys=exclude_keys)
    _store_samples(db, [bundle], storage_mode, *_default_location(coll, data_tag, dir, dfile))
    upsert_bundles(db.db, [bundle])
    finalize_saved(obj, bundle)
    return obj


def _new_id():
    from bson import ObjectId

    return ObjectId()


def _store_samples(db: "Database", bundles: Sequence[SaveBundle], storage_mode: str,
                   dir: str, dfile: str) -> None:
    live = [b for b in bundles if b.wf_doc is not None]
    if not live:
        return
    if storage_mode == "gridfs":
        for b in live:
            from .documents import derived_id

            b.wf_doc["gridfs_id"] = sample_io.gridfs_put(
                db.db, b.samples or b"", filename=str(b.wf_id),
                file_id=derived_id(b.wf_id, "gridfs"))
        return
    path = sample_io.resolve_path(db.storage_root, dir, dfile)
    offsets = sample_io.append_many(path, [b.samples or b"" for b in live])
    for b, (foff, nbytes) in zip(live, offsets):
        b.wf_doc.update({"dir": dir, "dfile": dfile, "foff": foff, "nbytes": nbytes})


def save_ensemble_data(db: "Database", ens: TimeSeriesEnsemble | SeismogramEnsemble, *,
                       exclude_keys: Iterable[str] = (), **kwargs: Any) -> TimeSeriesEnsemble | SeismogramEnsemble:
    """Copy ensemble metadata into every member (replacing member values), then save each.

    ``exclude_keys`` are neither copied from the ensemble nor saved.
    """
    ens.sync_metadata(exclude_keys)
    for member in ens.members:
        save_data(db, member, exclude_keys=exclude_keys, **kwargs)
    return ens


def save_ensemble_data_binary_file(db: "Database", ens: TimeSeriesEnsemble | SeismogramEnsemble,
                                   *, dir: str | None = None, dfile: str | None = None,
                                   mode: str = "promiscuous", data_tag: str | None = None,
                                   save_history: bool = False,
                                   exclude_keys: Iterable[str] = ()) -> TimeSeriesEnsemble | SeismogramEnsemble:
    """All members' samples into one file, opened once; documents written in one bulk call."""
    ens.sync_metadata(exclude_keys)
    coll = "wf_Seismogram" if isinstance(ens, SeismogramEnsemble) else "wf_TimeSeries"
    bundles = []
    for member in ens.members:
        wf_id = _new_id() if "_id" in member.metadata else None
        bundles.append(object_to_documents(
            member, schema=db.schema, mode=mode, data_tag=data_tag, wf_id=wf_id,
            save_history=save_history, original=_original(db, member, coll),
            exclude_keys=exclude_keys))
    _store_samples(db, bundles, "file", *_default_location(coll, data_tag, dir, dfile))
    upsert_bundles(db.db, bundles)
    for member, bundle in zip(ens.members, bundles):
        finalize_saved(member, bundle)
    return ens
