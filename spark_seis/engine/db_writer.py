"""Bulk upserts of pipeline documents from executors.

Each call opens its own client and closes it before returning: no database
cursor or connection is held across a long task. Deterministic ``_id`` values
make every write an idempotent replace.
"""
from __future__ import annotations

from typing import Any, Mapping

from spark_seis.db.retry import retrying_upsert, with_retry
from spark_seis.engine import output_docs


def upsert_station_documents(database: Mapping[str, Any], docs: dict[str, list[dict]],
                             event_id: str, eval_tag: str, fault=None) -> dict[str, int]:
    """Replace the documents of these stations; drop their stale windows.

    Every write is idempotent (deterministic ids), so a database blip is retried
    with bounded backoff before the task fails.
    """
    from spark_seis.db.client import database_session

    uri = database.get("mongo_uri")
    written: dict[str, int] = {}
    with database_session(database) as db:
        stations = {(d["net"], d["sta"]) for d in docs.get(output_docs.STATIONS, [])}
        for collection in (output_docs.WINDOWS, output_docs.MISFITS, output_docs.STATIONS,
                           output_docs.ELOG):
            batch = docs.get(collection, [])
            handle = db.db[collection]
            if collection in (output_docs.WINDOWS, output_docs.MISFITS):
                # a rerun may find fewer windows than before: remove what is gone
                keep = [d["_id"] for d in batch]
                for net in sorted({net for net, _sta in stations}):
                    stale = {"source_id": event_id, "net": net, "eval_tag": eval_tag,
                             "sta": {"$in": sorted(s for n, s in stations if n == net)},
                             "_id": {"$nin": keep}}
                    with_retry(lambda: handle.delete_many(stale),
                               what=f"removing stale {collection} of {event_id}", uri=uri)
            retrying_upsert(handle, batch, what=f"{collection} of event {event_id}", uri=uri)
            written[collection] = len(batch)
            if fault is not None and collection == output_docs.WINDOWS:
                fault.maybe_fail("after_partial_upsert")
    return written
