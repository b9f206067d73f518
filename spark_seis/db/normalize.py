"""Normalization: copy source/site/channel attributes into wf metadata by *_id.

Pure functions over plain dicts of normalizing documents keyed by id (string or
ObjectId), so the Spark engine can read them once and broadcast them. The
database-backed variant is :func:`load_lookups`.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .schema import NORMALIZING_COLLECTIONS, Schema, UnknownCollectionError, default_schema

ALG = "normalize"
Lookups = Mapping[str, Mapping[str, Mapping[str, Any]]]


def build_lookup(docs: Iterable[Mapping[str, Any]]) -> dict[str, dict]:
    """{str(_id): doc} for a broadcastable normalization table."""
    return {str(d["_id"]): dict(d) for d in docs}


def check_collections(collections: Iterable[str]) -> tuple[str, ...]:
    out = tuple(collections)
    for c in out:
        if c not in NORMALIZING_COLLECTIONS:
            raise UnknownCollectionError(
                f"unknown normalizing collection {c!r}; expected one of {NORMALIZING_COLLECTIONS}")
    return out


def missing_required(doc: Mapping[str, Any], required: Iterable[str]) -> list[str]:
    """Required collections whose cross-reference id is absent (the reader returns None)."""
    return [c for c in required if doc.get(f"{c}_id") is None]


def normalize(obj: Any, lookups: Lookups, collections: Iterable[str],
              schema: Schema | None = None) -> bool:
    """Load ``<collection>_<key>`` attributes into ``obj`` from ``lookups``.

    Returns False (and kills the datum, naming the id) when a referenced document
    is not in the lookup. Loaded keys are not marked modified.
    """
    schema = schema or default_schema()
    ok = True
    for coll in check_collections(collections):
        ref = obj.get(f"{coll}_id")
        if ref is None:
            continue
        table = lookups.get(coll, {})
        ndoc = table.get(str(ref))
        if ndoc is None:
            ndoc = table.get(ref)  # type: ignore[call-overload]
        if ndoc is None:
            obj.kill(ALG, f"{coll}_id {ref} not found in collection {coll!r}", "Invalid")
            ok = False
            continue
        for key in schema[coll].normalized_attributes:
            if key in ndoc:
                dict.__setitem__(obj.metadata, f"{coll}_{key}", ndoc[key])
    return ok


def load_lookups(database: Any, collections: Iterable[str],
                 ids: Mapping[str, Iterable[Any]] | None = None) -> dict[str, dict[str, dict]]:
    """Read normalizing documents (all, or only ``ids[collection]``) into lookups."""
    out: dict[str, dict[str, dict]] = {}
    for coll in check_collections(collections):
        query: dict[str, Any] = {}
        if ids is not None and coll in ids:
            query = {"_id": {"$in": list({i for i in ids[coll] if i is not None})}}
        out[coll] = build_lookup(database[coll].find(query))
    return out


def event_name(doc: Mapping[str, Any]) -> str:
    """Human event id used in file names (e.g. 2018p130600), always a safe file stem.

    Ingest stores a safe, unique ``event_id``; a document written otherwise (an
    older database, another tool) is sanitized here, so ``smi:x/../../escaped/``
    can never become ``../../escaped.h5`` (see :mod:`spark_seis.db.safe_names`).
    """
    from .safe_names import UnsafeNameError, resource_id_short_name, safe_file_stem

    for key in ("event_id", "evid", "name"):
        if doc.get(key):
            try:
                return safe_file_stem(doc[key])
            except UnsafeNameError:
                continue
    try:
        return resource_id_short_name(doc.get("resource_id") or doc.get("_id"))
    except UnsafeNameError:
        return safe_file_stem(f"event_{doc.get('_id')}")
