"""Read: atomic objects, ensembles (grouped by file), and metadata tables.

Readers never raise for bad data: a document whose samples cannot be read gives
a dead object with an elog entry naming the file; a document lacking a required
normalization id is skipped (``read_data`` returns None).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from bson import ObjectId

from ..core import Seismogram, SeismogramEnsemble, TimeSeries, TimeSeriesEnsemble
from . import sample_io
from .documents import document_to_object
from .normalize import check_collections, load_lookups, missing_required, normalize
from .schema import check_wf_collection

if TYPE_CHECKING:
    import pandas
    import pyarrow

    from .database import Database


def _fetch_docs(db: "Database", items: Any, collection: str) -> list[dict]:
    """ObjectIds, documents, or a cursor -> documents (order kept; unknown ids skipped)."""
    if isinstance(items, (ObjectId, Mapping)):
        items = [items]
    docs: list[dict] = []
    pending: list[ObjectId] = []
    for item in items:
        if isinstance(item, Mapping):
            docs.append(dict(item))
        else:
            pending.append(item if isinstance(item, ObjectId) else ObjectId(str(item)))
            docs.append({"_id": pending[-1], "__pending__": True})
    if pending:
        found = {d["_id"]: d for d in db.db[collection].find({"_id": {"$in": pending}})}
        docs = [found.get(d["_id"]) if d.get("__pending__") else d for d in docs]
        docs = [d for d in docs if d is not None]
    return docs


def _build(db: "Database", doc: dict, samples: Any, collection: str, mode: str,
           exclude_keys: Iterable[str], load_history: bool, lookups: Mapping,
           norm: tuple[str, ...]) -> TimeSeries | Seismogram:
    obj = document_to_object(doc, samples, collection=collection, mode=mode, schema=db.schema,
                             exclude_keys=exclude_keys, storage_root=db.storage_root,
                             load_history=load_history)
    if norm:
        normalize(obj, lookups, norm, db.schema)
        obj.metadata.clear_modified()
    return obj


def _gridfs_samples(db: "Database", doc: Mapping[str, Any]) -> bytes | BaseException:
    try:
        return sample_io.gridfs_get(db.db, doc.get("gridfs_id"))
    except sample_io.SampleReadError as exc:
        return exc


def tag_mismatch(doc: Mapping[str, Any], data_tag: str | None) -> bool:
    """MsPASS readers skip a document whose data_tag differs from the one asked for."""
    return bool(data_tag) and doc.get("data_tag") != data_tag


def read_data(db: "Database", id_or_doc: ObjectId | Mapping[str, Any], *,
              mode: str = "promiscuous", collection: str | None = None,
              normalize: Iterable[str] = (), exclude_keys: Iterable[str] = (),
              load_history: bool = False,
              data_tag: str | None = None) -> TimeSeries | Seismogram | None:
    """One object by ObjectId or wf document.

    None if not found, if a required normalization id is missing, or if
    ``data_tag`` is given and the document carries another tag (or none).
    """
    collection = check_wf_collection(collection or db.wf_collection)
    norm = check_collections(normalize)
    docs = _fetch_docs(db, id_or_doc, collection)
    if not docs or missing_required(docs[0], norm) or tag_mismatch(docs[0], data_tag):
        return None
    doc = docs[0]
    lookups = load_lookups(db.db, norm, {c: [doc.get(f"{c}_id")] for c in norm})
    samples = _gridfs_samples(db, doc) if doc.get("storage_mode") == "gridfs" else None
    return _build(db, doc, samples, collection, mode, exclude_keys, load_history, lookups, norm)


def _ensemble_for(collection: str, members: list) -> TimeSeriesEnsemble | SeismogramEnsemble:
    if collection == "wf_Seismogram":
        return SeismogramEnsemble(members)
    return TimeSeriesEnsemble(members)


def read_ensemble_data(db: "Database", ids_or_cursor: Iterable[Any], *,
                       mode: str = "promiscuous", collection: str | None = None,
                       normalize: Iterable[str] = (), exclude_keys: Iterable[str] = (),
                       load_history: bool = False, data_tag: str | None = None,
                       ensemble_metadata: Mapping[str, Any] | None = None,
                       ) -> TimeSeriesEnsemble | SeismogramEnsemble:
    """Ensemble from a list of ObjectIds or a cursor.

    Members lacking a required id, or tagged other than ``data_tag``, are
    skipped; ``ensemble_metadata`` becomes the ensemble's own metadata.
    """
    return read_ensemble_data_group(db, ids_or_cursor, mode=mode, collection=collection,
                                    normalize=normalize, exclude_keys=exclude_keys,
                                    load_history=load_history, group_files=False,
                                    data_tag=data_tag, ensemble_metadata=ensemble_metadata)


def read_ensemble_data_group(db: "Database", ids_or_cursor: Iterable[Any], *,
                             mode: str = "promiscuous", collection: str | None = None,
                             normalize: Iterable[str] = (), exclude_keys: Iterable[str] = (),
                             load_history: bool = False, group_files: bool = True,
                             data_tag: str | None = None,
                             ensemble_metadata: Mapping[str, Any] | None = None,
                             ) -> TimeSeriesEnsemble | SeismogramEnsemble:
    """Like read_ensemble_data, but opens each dir/dfile once and reads members by foff."""
    collection = check_wf_collection(collection or db.wf_collection)
    norm = check_collections(normalize)
    docs = [d for d in _fetch_docs(db, ids_or_cursor, collection)
            if not missing_required(d, norm) and not tag_mismatch(d, data_tag)]
    lookups = load_lookups(db.db, norm, {c: [d.get(f"{c}_id") for d in docs] for c in norm})
    members: list[Any] = [None] * len(docs)
    groups: "OrderedDict[tuple, list[int]]" = OrderedDict()
    for i, doc in enumerate(docs):
        if doc.get("storage_mode") == "gridfs":
            members[i] = _build(db, doc, _gridfs_samples(db, doc), collection, mode,
                                exclude_keys, load_history, lookups, norm)
        elif group_files:
            groups.setdefault((doc.get("dir"), doc.get("dfile")), []).append(i)
        else:
            members[i] = _build(db, doc, None, collection, mode, exclude_keys,
                                load_history, lookups, norm)
    for (dir_, dfile), idx in groups.items():
        idx.sort(key=lambda i: int(docs[i].get("foff") or 0))
        try:
            path = sample_io.resolve_path(db.storage_root, dir_, dfile or "")
            fh = open(path, "rb")
        except (OSError, sample_io.StoragePathError) as exc:
            err: BaseException = sample_io.SampleReadError(
                f"cannot open {dir_}/{dfile}: {exc}")
            for i in idx:
                members[i] = _build(db, docs[i], err, collection, mode, exclude_keys,
                                    load_history, lookups, norm)
            continue
        with fh:
            for i in idx:
                members[i] = _build(db, docs[i], fh, collection, mode, exclude_keys,
                                    load_history, lookups, norm)
    ensemble = _ensemble_for(collection, members)
    if ensemble_metadata:
        ensemble.metadata.update(ensemble_metadata)
        ensemble.metadata.clear_modified()
    return ensemble


def plain_document(doc: Mapping[str, Any], exclude: Iterable[str] = ()) -> dict:
    """A document with ObjectIds as strings (tables, pickling without bson)."""
    skip = set(exclude)
    return {k: (str(v) if isinstance(v, ObjectId) else v)
            for k, v in doc.items() if k not in skip}


def _docs_for(db: Any, query_or_cursor: Any, collection: str | None) -> Iterable[Mapping]:
    if isinstance(query_or_cursor, Mapping):
        database = db.db if hasattr(db, "wf_collection") else db
        coll = collection or getattr(db, "wf_collection", "wf_TimeSeries")
        return database[coll].find(dict(query_or_cursor))
    return query_or_cursor


def read_to_dataframe(db: Any, query_or_cursor: Mapping[str, Any] | Iterable[Mapping],
                      collection: str | None = None,
                      exclude_keys: Iterable[str] = ()) -> "pandas.DataFrame":
    """Metadata of wf documents as a pandas DataFrame; ObjectIds become strings."""
    import pandas as pd

    exclude = set(exclude_keys)
    rows = [plain_document(d, exclude) for d in _docs_for(db, query_or_cursor, collection)]
    return pd.DataFrame.from_records(rows)


def read_to_arrow(db: Any, query_or_cursor: Mapping[str, Any] | Iterable[Mapping],
                  collection: str | None = None,
                  exclude_keys: Iterable[str] = ()) -> "pyarrow.Table":
    """Same as read_to_dataframe, as an Arrow table (missing keys become nulls)."""
    import pyarrow as pa

    exclude = set(exclude_keys)
    rows = [plain_document(d, exclude) for d in _docs_for(db, query_or_cursor, collection)]
    return pa.Table.from_pylist(rows)
