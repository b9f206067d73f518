"""Which events and stations a run covers, one indexed query per event.

Planning a run of a few events (``--event``) must cost those events, not the
catalog: with a selection nothing here reads or scans the wf documents of other
events (at 1M documents a scan of the collection takes the driver seconds to
minutes and grows with every ingest).
"""
from __future__ import annotations

from typing import Any, Collection, Mapping


def _stored_forms(source_id: str) -> list[Any]:
    """The values a source_id given as text may be stored as (ObjectId or text)."""
    from bson import ObjectId

    return [ObjectId(source_id), source_id] if ObjectId.is_valid(source_id) else [source_id]


def event_values(wf, tags: Mapping[str, Any], wanted: Collection[str] = ()) -> list[Any]:
    """source_id values, as stored, of the events with wf documents matching ``tags``.

    ``wanted`` (source ids as text) restricts the events: each is looked up by the
    source_id index; only an id found in neither form (e.g. stored as a number)
    falls back to listing the distinct source ids of the collection.
    """
    if not wanted:
        return [v for v in wf.distinct("source_id", dict(tags)) if v is not None]
    found, missing = [], []
    for sid in sorted(wanted):
        for value in _stored_forms(sid):
            if wf.count_documents({"source_id": value, **tags}):
                found.append(value)
                break
        else:
            missing.append(sid)
    if missing:
        found += [v for v in wf.distinct("source_id", dict(tags))
                  if v is not None and str(v) in missing]
    return found


def event_station_codes(wf, source_id: Any, tags: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(net, sta) of one event's wf documents matching ``tags`` (projected: no samples)."""
    return {(d.get("net", ""), d.get("sta", "")) for d in wf.find(
        {"source_id": source_id, **tags}, {"_id": 0, "net": 1, "sta": 1})}
