"""verify (report only) and clean (repair) of a wf or normalizing collection against the schema."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from . import sample_io
from .schema import NORMALIZING_COLLECTIONS, WF_COLLECTIONS, ConversionError, UnknownCollectionError

if TYPE_CHECKING:
    from .database import Database

REQUIRED = ("npts", "delta", "starttime", "storage_mode")  # wf collections only


def check_collection(name: str) -> str:
    """wf_TimeSeries, wf_Seismogram, source, site or channel (what clean/verify handle)."""
    if name not in WF_COLLECTIONS + NORMALIZING_COLLECTIONS:
        raise UnknownCollectionError(
            f"clean/verify: unknown collection {name!r}; expected one of "
            f"{WF_COLLECTIONS + NORMALIZING_COLLECTIONS}")
    return name


def _doc_problems(db: "Database", doc: Mapping[str, Any], collection: str,
                  id_cache: dict[str, set]) -> list[str]:
    cschema = db.schema[collection]
    required = REQUIRED if collection in WF_COLLECTIONS else ()
    problems = [f"missing required attribute {k!r}" for k in required if k not in doc]
    for key, value in doc.items():
        canon = cschema.canonical(key)
        if canon != key:
            problems.append(f"alias {key!r} used for {canon!r}")
        attr = cschema.attributes.get(canon)
        if attr is not None and not attr.matches(value):
            try:
                attr.convert(value)
                problems.append(f"attribute {canon!r}: {type(value).__name__} {value!r} "
                                f"should be {attr.type} (convertible)")
            except ConversionError as exc:
                problems.append(f"{exc} (not convertible)")
    for coll in cschema.normalize:
        ref = doc.get(f"{coll}_id")
        if ref is None:
            continue
        if coll not in id_cache:
            id_cache[coll] = {str(d["_id"]) for d in db.db[coll].find({}, {"_id": 1})}
        if str(ref) not in id_cache[coll]:
            problems.append(f"{coll}_id {ref} not found in {coll}")
    if doc.get("storage_mode", "file") == "file" and doc.get("dfile"):
        try:
            path = sample_io.resolve_path(db.storage_root, doc.get("dir"), doc["dfile"])
            end = int(doc.get("foff") or 0) + int(doc.get("nbytes") or 0)
            if not path.exists():
                problems.append(f"sample file {doc.get('dir')}/{doc['dfile']} not found")
            elif path.stat().st_size < end:
                problems.append(f"sample file {doc.get('dir')}/{doc['dfile']} truncated: "
                                f"{path.stat().st_size} bytes < foff+nbytes={end}")
        except (sample_io.StoragePathError, TypeError, ValueError) as exc:
            problems.append(str(exc))
    elif doc.get("storage_mode") == "gridfs":
        if db.db["fs.files"].find_one({"_id": doc.get("gridfs_id")}) is None:
            problems.append(f"GridFS file {doc.get('gridfs_id')} not found")
    return problems


def verify(db: "Database", collection: str | None = None,
           query: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """{str(_id): [problems]} for every document with a problem; changes nothing."""
    collection = check_collection(collection or db.wf_collection)
    cache: dict[str, set] = {}
    out: dict[str, list[str]] = {}
    for doc in db.db[collection].find(dict(query or {})):
        problems = _doc_problems(db, doc, collection, cache)
        if problems:
            out[str(doc["_id"])] = problems
    return out


def clean(db: "Database", collection: str | None = None, query: Mapping[str, Any] | None = None,
          *, rename_aliases: bool = True, unset_unconvertible: bool = False) -> dict[str, Any]:
    """Convert mismatched types in place, rename aliases; report what cannot be fixed.

    Unconvertible values are left alone (and reported) unless ``unset_unconvertible``.
    """
    collection = check_collection(collection or db.wf_collection)
    cschema = db.schema[collection]
    report: dict[str, Any] = {"fixed": 0, "unfixable": {}}
    for doc in db.db[collection].find(dict(query or {})):
        to_set: dict[str, Any] = {}
        to_unset: dict[str, str] = {}
        bad: list[str] = []
        for key, value in doc.items():
            canon = cschema.canonical(key)
            attr = cschema.attributes.get(canon)
            if canon != key and rename_aliases and canon not in doc:
                to_unset[key] = ""
                to_set[canon] = value
            if attr is None or attr.matches(value):
                continue
            try:
                to_set[canon] = attr.convert(value)
            except ConversionError as exc:
                bad.append(str(exc))
                if unset_unconvertible:
                    to_unset[key] = ""
                    to_set.pop(canon, None)
        if to_set or to_unset:
            update: dict[str, Any] = {}
            if to_set:
                update["$set"] = to_set
            if to_unset:
                update["$unset"] = to_unset
            db.db[collection].update_one({"_id": doc["_id"]}, update)
            report["fixed"] += 1
        if bad:
            report["unfixable"][str(doc["_id"])] = bad
    return report
