"""Update: write changed Metadata of an object back to its wf document.

Rules (CRUD document): read-only attributes are never overwritten (a changed value
goes to ``READONLYERROR_<key>`` with an elog entry); normalized attributes are
never written; a changed cross-reference id kills the datum and sends it to the
graveyard. Elog documents are only ever inserted, never updated.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from bson import ObjectId

from ..core import Seismogram, TimeSeries
from .documents import (as_object_id, bson_safe, object_to_documents, time_base,
                        wf_collection_of, xref_altered)
from .schema import apply_mode, check_mode, check_wf_collection

if TYPE_CHECKING:
    from .database import Database

ALG = "Database.update_metadata"
NEVER_UPDATED = {"_id"}


def _insert_elog(db: "Database", collection: str, wf_id: Any, entries: list[dict],
                 data_tag: str | None) -> None:
    if entries:
        doc = {"_id": ObjectId(), f"{collection}_id": wf_id, "logdata": entries}
        if data_tag is not None:
            doc["data_tag"] = data_tag
        db.db["elog"].insert_one(doc)


def update_metadata(db: "Database", obj: TimeSeries | Seismogram, *, mode: str = "promiscuous",
                    collection: str | None = None, exclude_keys: Iterable[str] = (),
                    data_tag: str | None = None,
                    ignore_metadata_changed_test: bool = False) -> TimeSeries | Seismogram | None:
    """Write changed (or, if asked, all) metadata keys of ``obj`` to its wf document.

    A dead datum is not updated: None is returned and nothing is written
    (MsPASS's update_metadata). The object's time base (``t0``, ``dt``, ``npts``,
    ``tref``) is written as starttime/delta/sampling_rate/npts/time_standard
    whenever it differs from the document. Adding a cross-reference id the
    document lacks links the datum; changing one the document holds kills it.
    Pedantic mode refuses keys the schema does not define (elog Complaint).
    """
    check_mode(mode)
    collection = check_wf_collection(collection or wf_collection_of(obj))
    cschema = db.schema[collection]
    if not obj.live:
        return None
    if "_id" not in obj.metadata:
        raise ValueError(f"update_metadata needs an object read from or saved to the database "
                         f"(no '_id' in its metadata: {obj!r})")
    wf_id = obj["_id"]
    n_before = len(obj.elog)
    original = db.db[collection].find_one({"_id": wf_id})
    if original is None:
        obj.elog.log(ALG, f"document {wf_id} not found in {collection}; nothing updated",
                     "Complaint")
        _insert_elog(db, collection, wf_id, obj.elog.to_list()[n_before:], data_tag)
        return obj
    md = obj.metadata
    keys = set(md.keys()) | md.modified() if ignore_metadata_changed_test else md.modified()
    exclude = set(exclude_keys)
    keys -= exclude | NEVER_UPDATED

    changed_ids = [k for k in cschema.xref_keys() if k in keys and xref_altered(k, md, original)]
    if changed_ids:
        # object_to_documents applies the same rules as a save: graveyard + tombstone
        bundle = object_to_documents(obj, schema=db.schema, data_tag=data_tag,
                                     original=original, wf_id=wf_id)
        if bundle.graveyard_doc is not None:
            db.db["graveyard"].replace_one({"_id": bundle.graveyard_doc["_id"]},
                                           bundle.graveyard_doc, upsert=True)
        for doc in bundle.elog_docs:
            doc["_id"] = ObjectId()
            db.db["elog"].insert_one(doc)
        return obj

    normalized = db.schema.normalized_keys(collection)
    readonly = cschema.readonly_keys()
    to_set: dict[str, Any] = {}
    to_unset: list[str] = []
    for key in sorted(keys):
        if key in normalized:
            continue  # silently ignored in an update (document, Update section)
        if key not in md:
            to_unset.append(key)
            continue
        if mode == "pedantic" and cschema.get(key) is None:
            obj.elog.log(ALG, f"key {key!r} is not defined in the schema of {collection}; "
                         "pedantic update does not write it", "Complaint")
            continue
        if key in cschema.xref_keys():
            to_set[key] = as_object_id(md[key])
            continue
        if key in readonly and original.get(key) != md[key]:
            to_set[f"READONLYERROR_{key}"] = md[key]
            obj.elog.log(ALG, f"read-only attribute {key!r} changed from {original.get(key)!r} "
                         f"to {md[key]!r}; saved as READONLYERROR_{key}", "Suspect")
            continue
        to_set[key] = md[key]
    to_set, complaints, fatal = apply_mode(to_set, cschema, mode)
    for text in complaints:
        obj.elog.log(ALG, text, "Complaint")
    if fatal:
        obj.kill(ALG, f"{mode} update of {wf_id}: " + "; ".join(fatal), "Invalid")
        _insert_elog(db, collection, wf_id, obj.elog.to_list()[n_before:], data_tag)
        return obj
    for key, value in time_base(obj).items():  # keep the stored time base in sync
        if key not in exclude and original.get(key) != value:
            to_set[key] = value
            dict.__setitem__(md, key, value)
    if data_tag is not None:
        to_set["data_tag"] = data_tag
    update: dict[str, Any] = {}
    if to_set:
        update["$set"] = bson_safe(to_set)
    if to_unset:
        update["$unset"] = {k: "" for k in to_unset}
    if update:
        db.db[collection].update_one({"_id": wf_id}, update)
    _insert_elog(db, collection, wf_id, obj.elog.to_list()[n_before:], data_tag)
    md.clear_modified()
    return obj

